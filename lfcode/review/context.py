"""Tree-sitter context for a hunk: the enclosing definition and the signatures it calls.

Only Python is supported for now: the grammar and its definition node types come from the
shared language profiles (:mod:`lfcode.context.languages`), the call walk is Python's. For
another language, or when the grammar is not installed, :func:`context_for_hunk` returns
``None`` and the review sees the hunk alone. Nothing here reads files: the caller passes the
new-side source text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lfcode.context.languages import definition_types, get_language
from lfcode.review.hunks import Hunk

__all__ = ["HunkContext", "ParsedSource", "context_for_hunk", "language_for", "parse_source"]

_LANGUAGES = {".py": "python", ".pyi": "python", ".pyw": "python"}
#: Function and class node types, from the Python language profile.
_DEFINITIONS = definition_types("python")


@dataclass
class HunkContext:
    """What surrounds a hunk.

    ``enclosing`` is the text of the innermost function or class around the changed lines with
    their 1-based new-file line numbers (``"  12  text"``), the hunk's own lines replaced by one
    ``...`` marker and long bodies cut to the lines nearest the hunk; ``outer`` are the header
    lines of the definitions around that one (a method's class); ``signatures`` are one-line
    signatures of functions and classes, defined in the same file, that the changed lines call.
    """

    language: str
    enclosing: str | None = None
    enclosing_name: str | None = None
    outer: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)


def language_for(path: str) -> str | None:
    """``"python"`` for ``.py``/``.pyi``/``.pyw`` paths, else ``None``."""
    dot = path.rfind(".")
    return _LANGUAGES.get(path[dot:].lower()) if dot >= 0 else None


@lru_cache(maxsize=4)
def _parser(language: str) -> Any | None:
    spec = get_language(language) if language == "python" else None
    return spec.parser() if spec is not None else None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class ParsedSource:
    """One file parsed once: its tree, its lines (bytes, as tree-sitter columns are byte offsets)
    and its function/class definitions by name. Build with :func:`parse_source`."""

    def __init__(self, language: str, source: str, parser: Any) -> None:
        data = source.encode("utf-8", errors="replace")
        self.language = language
        self.lines = data.split(b"\n")
        self.root = parser.parse(data).root_node
        self.definitions: dict[str, list[Any]] = {}
        for node in _walk(self.root, lambda n: True):
            if node.type in _DEFINITIONS and (name := node.child_by_field_name("name")) is not None:
                self.definitions.setdefault(_text(name.text), []).append(node)

    def line(self, row: int) -> str:
        return _text(self.lines[row]) if 0 <= row < len(self.lines) else ""


def parse_source(path: str, source: str | None) -> ParsedSource | None:
    """Parse ``source`` (the text of ``path``) for :func:`context_for_hunk`.

    Returns ``None`` for an unsupported language, a missing parser package or no source.
    """
    language = language_for(path)
    parser = _parser(language) if language is not None and source is not None else None
    return ParsedSource(language, source, parser) if parser is not None else None


def _header(node: Any, parsed: ParsedSource) -> str:
    """The definition's text up to its body, on one line (``def f(a, b) -> int:``)."""
    body = node.child_by_field_name("body")
    (row, col), end = node.start_point, body.start_point if body is not None else node.end_point
    raw = b"\n".join(parsed.lines[row:end[0] + 1])
    cut = len(raw) - len(parsed.lines[end[0]]) + end[1] if body is not None else len(raw)
    return " ".join(_text(raw[col:cut]).split())


def _walk(node: Any, keep: Callable[[Any], bool]):
    """Pre-order walk that descends only into nodes for which ``keep`` is true."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in reversed(current.children) if keep(c))


def _enclosing(root: Any, first: int, last: int) -> list[Any]:
    """Definitions containing rows ``first..last`` (0-based), outermost first."""
    chain: list[Any] = []
    node = root
    while True:
        inner = next((c for c in node.children
                      if c.start_point[0] <= first and c.end_point[0] >= last), None)
        if inner is None:
            return chain
        if inner.type in _DEFINITIONS:
            chain.append(inner)
        node = inner


def _called_names(root: Any, rows: set[int]) -> list[str]:
    """Names called (``f(...)``, ``x.f(...)``) by calls that start on ``rows``, in order."""
    if not rows:
        return []
    lo, hi = min(rows), max(rows)
    names: list[str] = []
    for node in _walk(root, lambda n: n.start_point[0] <= hi and n.end_point[0] >= lo):
        if node.type != "call" or node.start_point[0] not in rows:
            continue
        fn = node.child_by_field_name("function")
        if fn is not None and fn.type == "attribute":
            fn = fn.child_by_field_name("attribute")
        if fn is not None and fn.type == "identifier" and _text(fn.text) not in names:
            names.append(_text(fn.text))
    return names


def _excerpt(node: Any, parsed: ParsedSource, hunk_rows: tuple[int, int], max_lines: int) -> str:
    start, end = node.start_point[0], node.end_point[0]
    lo, hi = hunk_rows
    rows = [r for r in range(start, end + 1) if not lo <= r <= hi]
    if len(rows) > max_lines:
        body = node.child_by_field_name("body") or node
        header_rows = [r for r in rows if r < body.start_point[0]] or [start]
        rest = [r for r in rows if r not in header_rows]
        rest.sort(key=lambda r: min(abs(r - lo), abs(r - hi)))
        rows = sorted(header_rows + rest[: max(max_lines - len(header_rows), 0)])
    mark = "  ...  (the changed lines, shown below)"
    inside = lo <= end and hi >= start
    out: list[str] = []
    prev: int | None = None
    for r in rows:
        if inside and mark not in out and r > hi:
            out.append(mark)
        elif prev is not None and r != prev + 1:
            out.append("  ...")
        out.append(f"{r + 1:>5}  {parsed.line(r)}")
        prev = r
    if inside and mark not in out:
        out.append(mark)
    return "\n".join(out)


def context_for_hunk(
    parsed: ParsedSource | None, hunk: Hunk, *, max_lines: int = 40, max_signatures: int = 8
) -> HunkContext | None:
    """Context for ``hunk`` in the file ``parsed`` (from :func:`parse_source`; ``None`` gives
    ``None``).

    Args:
        parsed: the new-side file, parsed.
        hunk: the hunk; its :attr:`Hunk.changed_lines` locate it.
        max_lines: most lines of the enclosing definition to show.
        max_signatures: most called-symbol signatures to list (two per name at most).

    Returns:
        A :class:`HunkContext`. Never raises on unparsable code (tree-sitter recovers).
    """
    if parsed is None:
        return None
    changed = hunk.changed_lines or [hunk.new_start]
    first, last = min(changed) - 1, max(changed) - 1
    ctx = HunkContext(language=parsed.language)
    chain = _enclosing(parsed.root, first, last)
    if chain:
        inner = chain[-1]
        name = inner.child_by_field_name("name")
        ctx.enclosing_name = _text(name.text) if name is not None else None
        hunk_rows = (hunk.new_start - 1, hunk.new_start + max(hunk.new_lines, 1) - 2)
        ctx.enclosing = _excerpt(inner, parsed, hunk_rows, max_lines)
        ctx.outer = [f"{n.start_point[0] + 1}: {_header(n, parsed)}" for n in chain[:-1]]
    called = _called_names(parsed.root, {n - 1 for n in hunk.added_lines})
    signatures = [f"{node.start_point[0] + 1}: {_header(node, parsed)}"
                  for name in called for node in parsed.definitions.get(name, [])[:2]]
    ctx.signatures = signatures[:max_signatures]
    return ctx
