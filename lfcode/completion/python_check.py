"""The CPython parse check of rule 4 (:mod:`lfcode.completion.postprocess`) for Python.

tree-sitter-python accepts what CPython rejects around indentation (an empty block, a statement
dedented out of its function), so a Python completion must also leave the code around the cursor
parsing with :func:`ast.parse`. Only one region is parsed, not the whole file.
"""

from __future__ import annotations

import ast
import warnings
from typing import TYPE_CHECKING

from lfcode.context.symbols import enclosing_scopes

if TYPE_CHECKING:
    from lfcode.completion.postprocess import SyntaxDocument


#: Python regions longer than this (lines) are narrowed to the innermost definition around the cursor.
PYTHON_REGION_LINES = 400


def _python_region(doc: SyntaxDocument) -> tuple[str, int, bool]:
    """The Python code :func:`python_compiles` parses: ``(text, cursor offset in it, parses)``.

    The top-level statement holding or preceding the cursor, through the cursor line (and a
    statement starting on the next line); when that spans more than
    :data:`PYTHON_REGION_LINES` lines, the innermost enclosing definition that is shorter, put
    under ``if 1:`` when it is indented. Computed once per document.
    """
    if doc._region is not None:
        return doc._region
    tree = doc.syntax_tree()
    row = doc.prefix.count("\n")
    start, end = row, row + 1
    if tree is not None:
        children = tree.root_node.children
        preceding = [c for c in children if c.start_point.row <= row]
        if preceding:
            start = preceding[-1].start_point.row
        end = max([end] + [c.end_point.row + 1 for c in children if start <= c.start_point.row <= row + 1])
        if end - start > PYTHON_REGION_LINES:
            byte = len(doc.prefix.encode("utf-8"))
            for scope in reversed(enclosing_scopes(tree, byte, doc.source[:byte])):
                if scope.end_point.row - scope.start_point.row < PYTHON_REGION_LINES:
                    start, end = scope.start_point.row, scope.end_point.row + 1
                    break
            else:
                start, end = max(0, row - PYTHON_REGION_LINES // 2), row + PYTHON_REGION_LINES // 2
    lines = doc.text.split("\n", end)[:end]
    region = lines[start:end]
    column = len(doc.prefix) - (doc.prefix.rfind("\n") + 1)
    lead = "if 1:\n" if region and region[0][:1] in (" ", "\t") else ""
    cursor = len(lead) + sum(len(ln) + 1 for ln in region[: row - start]) + column
    text = lead + "\n".join(region)
    doc._region = (text, cursor, _ast_ok(text))
    return doc._region


def python_compiles(doc: SyntaxDocument, insert: str) -> tuple[bool, bool]:
    """``(with insert, before)``: whether the code around the cursor parses as Python
    (``ast.parse``) with ``insert`` typed, and without it.

    tree-sitter-python accepts what CPython rejects around indentation (an empty block, a
    statement dedented out of its function), so this catches the indentation mistakes of a
    prefix-only model. Only the region of :func:`_python_region` is parsed, not the whole file.
    """
    text, cursor, before = _python_region(doc)
    return _ast_ok(text[:cursor] + insert + text[cursor:]), before


def _ast_ok(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes
            ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True
