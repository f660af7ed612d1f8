"""Tree-sitter context for a hunk: the enclosing definition and the signatures it calls.

Every grammar lfcode parses is supported, through the shared symbol model
(:mod:`lfcode.context.symbols`): definitions, their headers and the calls come from the language
profiles and the tags queries, as for completion and Explain. For a file in no known language,
or when its grammar is not installed, :func:`context_for_hunk` returns ``None`` and the review
sees the hunk alone. Nothing here reads files: the caller passes the new-side source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from lfcode.context.languages import LanguageSpec, get_language, language_name
from lfcode.context.symbols import header, is_definition, name_of, one_line, walk
from lfcode.context.tags import calls
from lfcode.review.hunks import Hunk

__all__ = ["HunkContext", "ParsedSource", "context_for_hunk", "language_for", "parse_source"]


@dataclass
class HunkContext:
    """What surrounds a hunk.

    ``enclosing`` is the text of the innermost function or class around the changed lines with
    their 1-based new-file line numbers (``"  12  text"``), the hunk's own lines replaced by one
    ``...`` marker and long bodies cut to the lines nearest the hunk; ``outer`` are the header
    lines of the definitions around that one (a method's class); ``signatures`` are one-line
    headers of functions and classes, defined in the same file, that the changed lines call.
    """

    language: str
    enclosing: str | None = None
    enclosing_name: str | None = None
    outer: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)


def language_for(path: str) -> str | None:
    """The grammar name for ``path`` (``"python"``, ``"rust"``, ...), else ``None``."""
    return language_name(path)


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")


class ParsedSource:
    """One file parsed once: its tree, its bytes and lines (tree-sitter columns are byte
    offsets) and its function/class definitions by name. Build with :func:`parse_source`."""

    def __init__(self, spec: LanguageSpec, source: str) -> None:
        self.spec = spec
        self.language = spec.name
        self.data = source.encode("utf-8", errors="replace")
        self.lines = self.data.split(b"\n")
        self.root = spec.parser().parse(self.data).root_node
        self.definitions: dict[str, list[Node]] = {}
        for node in walk(self.root):
            if is_definition(node, spec):
                self.definitions.setdefault(name_of(node), []).append(node)

    def line(self, row: int) -> str:
        return _text(self.lines[row]) if 0 <= row < len(self.lines) else ""

    def header(self, node: Node) -> str:
        """``node``'s header on one line (``def f(a, b) -> int:``)."""
        return one_line(header(node, self.data))


def parse_source(path: str, source: str | None) -> ParsedSource | None:
    """Parse ``source`` (the text of ``path``) for :func:`context_for_hunk`.

    Returns ``None`` for an unknown language, a grammar that is not installed, or no source.
    """
    language = language_for(path)
    spec = get_language(language) if language is not None and source is not None else None
    return ParsedSource(spec, source) if spec is not None and source is not None else None


def _enclosing(parsed: ParsedSource, first: int, last: int) -> list[Node]:
    """Definitions containing rows ``first..last`` (0-based), outermost first."""
    chain: list[Node] = []
    node = parsed.root
    while True:
        inner = next((c for c in node.children
                      if c.start_point[0] <= first and c.end_point[0] >= last), None)
        if inner is None:
            return chain
        if is_definition(inner, parsed.spec):
            chain.append(inner)
        node = inner


def _called_names(parsed: ParsedSource, rows: set[int]) -> list[str]:
    """Names called (``f(...)``, ``x.f(...)``) on ``rows``, each once, in order."""
    if not rows:
        return []
    found = calls(parsed.root, parsed.spec, (min(rows), max(rows)))
    return list(dict.fromkeys(name for name, node in found if node.start_point[0] in rows))


def _excerpt(node: Node, parsed: ParsedSource, hunk_rows: tuple[int, int], max_lines: int) -> str:
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
    chain = _enclosing(parsed, first, last)
    if chain:
        inner = chain[-1]
        ctx.enclosing_name = name_of(inner) or None
        hunk_rows = (hunk.new_start - 1, hunk.new_start + max(hunk.new_lines, 1) - 2)
        ctx.enclosing = _excerpt(inner, parsed, hunk_rows, max_lines)
        ctx.outer = [f"{n.start_point[0] + 1}: {parsed.header(n)}" for n in chain[:-1]]
    called = _called_names(parsed, {n - 1 for n in hunk.added_lines})
    signatures = [f"{node.start_point[0] + 1}: {parsed.header(node)}"
                  for name in called for node in parsed.definitions.get(name, [])[:2]]
    ctx.signatures = signatures[:max_signatures]
    return ctx
