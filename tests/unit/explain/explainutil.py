"""Helpers of the explain tests: facts by name, lines by content (the ``colorsys_copy`` fixture is
in ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path

from lfcode.context.symbols import find_symbol
from lfcode.explain.facts import Facts, build_facts


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle`` (fails when none does)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


def facts_of(file: Path, name: str, root: Path | None) -> Facts:
    """The facts of the symbol ``name`` (``func`` or ``Class.method``) of ``file`` in project ``root``."""
    text = file.read_text()
    symbol = find_symbol(text, name, str(file))
    assert symbol is not None, f"{name} is not defined in {file}"
    return build_facts(text, symbol, str(file), root)
