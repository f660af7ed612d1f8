"""The completion context under a token budget, ordered stable-first.

Parts, in prompt order (stable first, so llama.cpp reuses the KV cache of the shared beginning
while the user types; it matches the longest common token prefix):

1. ``header``: a path/language comment;
2. ``symbols``: signatures and docstrings of names used near the cursor, from the
   :class:`~lfcode.context.index.SymbolIndex` (other files, and definitions of this file the
   window does not show);
3. ``ring``: recently edited or viewed chunks (:class:`~lfcode.context.ring.RingBuffer`);
4. ``imports``: this file's imports that the window does not show;
5. ``scopes``: headers of the enclosing definitions that the window does not show, then
   ``window``: the text before the cursor, cut on a 16-line grid (:func:`lfcode.context.budget.tail_within`);
6. ``suffix``: the text after the cursor, only for FIM models.

Parts 1–3 are comments in the file's comment syntax (prefix-only models read them as part of the
file); 4–5 are code. Budgets are model tokens counted with the backend's own tokenizer. Names near
the cursor are taken from whole 16-line grid cells above the cursor line, and the symbols part is
rebuilt only after a pause in typing (``ContextSources.refresh_symbols``): while the user types it
stays as it was, so the prompt's start, hence llama.cpp's cache of it, holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from tree_sitter import Tree

from lfcode.context.budget import LineCounter, count_lines
from lfcode.context.ring import RingBuffer, chunk_similarity
from lfcode.context.index import SymbolIndex
from lfcode.context.languages import comment_prefix
from lfcode.context.symbols import Symbol, enclosing_scopes, import_nodes
from lfcode.context.symbols import header as header_of
from lfcode.context.syntax import identifiers

#: Context parts that can be switched on or off (benchmarks measure each one).
PARTS = ("header", "symbols", "ring", "imports", "scopes")
#: Parts used by default. The header comment is off: on HumanEval-Infilling it cost the embedded
#: model 5 points of pass@1 (benchmarks/quality.py --ablate); FIM models with repository-level
#: tokens still get the path through the FIM template.
DEFAULT_PARTS = frozenset(PARTS) - {"header"}
#: Largest share of the budget each extra part may take.
SHARES = {"symbols": 0.15, "ring": 0.25, "imports": 0.10, "scopes": 0.05}
#: Grid of the near-cursor region names are taken from, and its height in lines.
GRID_LINES = 16
NEAR_LINES = 48
MAX_SYMBOLS = 12
#: Ring chunks of this file this similar to the lines before the cursor are left out.
SAME_FILE_SIMILARITY = 0.5


@dataclass
class ContextSources:
    """Workspace-wide sources (any may be ``None``) and which ``parts`` to use.

    ``root`` makes paths relative in the header. ``token_cache`` memoizes the token count of
    each line seen, so the keystroke path only tokenizes the lines that changed.
    ``symbols_cache``/``refresh_symbols`` keep the symbols part stable while the user types.
    """

    ring: RingBuffer | None = None
    index: SymbolIndex | None = None
    root: Path | None = None
    parts: frozenset[str] = DEFAULT_PARTS
    token_cache: dict[str, int] = field(default_factory=dict)
    #: The symbols part last built for each file path, and whether this request may rebuild it.
    #: A new symbols part changes the prompt near its start, so llama.cpp evaluates nearly the
    #: whole prompt again (about 0.6 s for 350 tokens on 2 cores): the keystroke path keeps the
    #: last one and only a request after a pause (or a prefill) builds it anew.
    symbols_cache: dict[str, str] = field(default_factory=dict)
    refresh_symbols: bool = True

    def line_counter(self, tokenize: Callable[[str], list[int]]) -> Callable[[str], int]:
        """Tokens of one line, memoized in :attr:`token_cache`
        (a :class:`lfcode.context.budget.LineCounter`)."""
        return LineCounter(tokenize, self.token_cache)

    def count(self, tokenize: Callable[[str], list[int]], text: str) -> int:
        """Tokens of ``text``, summed over its lines (an upper bound; see
        :mod:`lfcode.context.budget`)."""
        return count_lines(self.line_counter(tokenize), text)


@dataclass(frozen=True)
class ContextParts:
    """The prompt's parts (see the module docstring); ``prefix`` joins parts 1–5."""

    header: str = ""
    symbols: str = ""
    ring: str = ""
    imports: str = ""
    scopes: str = ""
    window: str = ""
    suffix: str = ""

    @property
    def prefix(self) -> str:
        return self.header + self.symbols + self.ring + self.imports + self.scopes + self.window


def comment_block(prefix: str, text: str) -> str:
    """``text`` as line comments (``prefix`` is ``#`` or ``//``), ending with a newline."""
    return "".join(f"{prefix} {line}".rstrip() + "\n" for line in text.split("\n"))


def display_path(path: str, root: Path | None) -> str:
    """``path`` relative to ``root`` when inside it, else its file name."""
    if not path:
        return ""
    if root is not None:
        try:
            return PurePath(path).relative_to(root).as_posix()
        except ValueError:
            pass
    return PurePath(path).name


def _render_definitions(comment: str, defs: list[Symbol], root: Path | None) -> str:
    out, last_path = [], None
    for d in defs:
        if d.path != last_path:
            out.append(comment_block(comment, f"{display_path(d.path, root)}:"))
            last_path = d.path
        out.append(comment_block(comment, d.header + ("\n" + d.docstring if d.docstring else "")))
    return "".join(out)


def _symbols(
    sources: ContextSources, tokenize: Callable[[str], list[int]], comment: str, path: str,
    recent: list[str], recent_start: int, cursor_line: int, window_start: int, budget: int,
) -> str:
    """Signatures of definitions named in the whole grid cells just above the cursor line;
    ``recent`` are the lines from 0-based ``recent_start`` to the cursor line. Dunder names
    (``__all__``, ``__init__``) are left out: every module has them. Without
    ``sources.refresh_symbols`` the part last built for ``path`` is kept while it fits."""
    if sources.index is None or budget <= 0:
        return ""
    kept = sources.symbols_cache.get(path)
    if kept is not None and not sources.refresh_symbols and sources.count(tokenize, kept) <= budget:
        return kept
    text = _build_symbols(sources, tokenize, comment, path, recent, recent_start, cursor_line, window_start, budget)
    sources.symbols_cache[path] = text
    return text


def _build_symbols(
    sources: ContextSources, tokenize: Callable[[str], list[int]], comment: str, path: str,
    recent: list[str], recent_start: int, cursor_line: int, window_start: int, budget: int,
) -> str:
    assert sources.index is not None
    grid = cursor_line // GRID_LINES * GRID_LINES
    near = "\n".join(recent[max(0, grid - NEAR_LINES - recent_start) : max(0, grid - recent_start)])
    chosen: list[Symbol] = []
    names = [name for name in identifiers(near) if not (name.startswith("__") and name.endswith("__"))]
    for d in sources.index.lookup(names):
        if d.path == path and window_start <= d.start_line <= cursor_line:
            continue  # the window shows it
        if d not in chosen:
            chosen.append(d)
        if len(chosen) >= MAX_SYMBOLS:
            break
    chosen.sort(key=lambda d: (d.path, d.start_line))
    while chosen:
        text = _render_definitions(comment, chosen, sources.root)
        if sources.count(tokenize, text) <= budget:
            return text
        chosen.pop()
    return ""


def _ring(
    sources: ContextSources, tokenize: Callable[[str], list[int]], comment: str, path: str,
    near: list[str], budget: int,
) -> str:
    if sources.ring is None or budget <= 0:
        return ""
    picked: list[str] = []
    used = 0
    for chunk in reversed(sources.ring.chunks()):
        if chunk.path == path and chunk_similarity(chunk.lines, near) > SAME_FILE_SIMILARITY:
            continue
        text = comment_block(comment, f"{display_path(chunk.path, sources.root)}:\n{chunk.text}")
        cost = sources.count(tokenize, text)
        if used + cost > budget:
            continue
        picked.append(text)
        used += cost
    return "".join(reversed(picked))


def build_context(
    tokenize: Callable[[str], list[int]],
    text: str,
    offset: int,
    budget: int,
    *,
    path: str = "",
    language: str | None = None,
    tree: Tree | None = None,
    sources: ContextSources | None = None,
    suffix_budget: int = 0,
    tail: Callable[[str, int], str],
    head: Callable[[str, int], str],
) -> ContextParts:
    """Assemble the context for the cursor at code-point ``offset`` of ``text``.

    ``budget`` (tokens) covers parts 1–5; ``suffix_budget`` (tokens, 0 for prefix-only models)
    the suffix. ``tree`` must be ``text`` parsed as ``language`` (a grammar name), or ``None``.
    ``tail(text, tokens)``/``head(text, tokens)`` cut texts to a budget on line boundaries.
    Returns the :class:`ContextParts`; never raises for odd input (parts are just left empty).
    """
    sources = sources or ContextSources()
    parts = sources.parts
    prefix, suffix = text[:offset], text[offset:]
    comment = comment_prefix(language)
    header = ""
    if comment and "header" in parts and path:
        header = comment_block(comment, f"{display_path(path, sources.root)} ({language})")
    cursor_line = prefix.count("\n")
    # The last lines before the cursor: the ring's "near" text and the symbols' grid cells.
    recent = prefix.rsplit("\n", NEAR_LINES + GRID_LINES)
    recent_start = cursor_line - (len(recent) - 1)
    ring = ""
    if comment and "ring" in parts:
        ring = _ring(sources, tokenize, comment, path, recent, int(budget * SHARES["ring"]))
    rest = budget - sources.count(tokenize, header) - sources.count(tokenize, ring)
    window = tail(prefix, rest)
    window_start = cursor_line - window.count("\n")
    imports = scopes = symbols = ""
    if comment and "symbols" in parts:
        spare = rest - sources.count(tokenize, window) if window_start == 0 else int(budget * SHARES["symbols"])
        symbols = _symbols(sources, tokenize, comment, path, recent, recent_start, cursor_line, window_start,
                           min(spare, int(budget * SHARES["symbols"])))
    if window_start > 0 and tree is not None:
        source = prefix.encode("utf-8")
        cut = len(prefix[: len(prefix) - len(window)].encode("utf-8"))
        if "imports" in parts:
            found = "".join((node.text or b"").decode("utf-8", "replace") + "\n" for node in import_nodes(tree, cut))
            imports = head(found, int(budget * SHARES["imports"]))
        if "scopes" in parts:
            headers = [header_of(n, source, brace=True) + "\n" for n in enclosing_scopes(tree, len(source), source) if n.start_byte < cut]
            scopes = "".join(headers)
            while headers and sources.count(tokenize, scopes) > int(budget * SHARES["scopes"]):
                headers.pop(0)
                scopes = "".join(headers)
        extra = sources.count(tokenize, symbols) + sources.count(tokenize, imports) + sources.count(tokenize, scopes)
        if extra:
            window = tail(prefix, rest - extra)
    elif window_start > 0:
        extra = sources.count(tokenize, symbols)
        if extra:
            window = tail(prefix, rest - extra)
    tail_suffix = head(suffix, suffix_budget) if suffix_budget > 0 else ""
    return ContextParts(header, symbols, ring, imports, scopes, window, tail_suffix)
