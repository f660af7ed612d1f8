"""Open documents and their tree-sitter trees, kept up to date incrementally.

One tree per open document. Each change arrives as an LSP range (line and column in the
negotiated position encoding, UTF-16 code units by default) plus the new text. The byte offsets
and points tree-sitter needs are computed from the text *before* the change, the old tree is
edited with ``Tree.edit`` and the document is reparsed with the old tree, so tree-sitter only
re-lexes the edited region (tree-sitter docs, "Using Parsers" → "Editing").

Trees handed out in a :class:`Snapshot` are never edited afterwards (a change edits a copy), so a
worker thread may read a snapshot while the event loop applies newer changes. Documents in a
language lfcode has no grammar for get ``tree=None`` (plain-text context).

Documents longer than :data:`MAX_PARSE_CHARS` characters get no tree and no UTF-8 copy either
(``Snapshot.oversized``): a full parse costs about 140 ms per MB on the event loop, and such files
(generated code, data, minified bundles) are not completed anyway. Their text is kept as given
and replaced whole; see :meth:`DocumentStore.change`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tree_sitter import Parser, Point, Tree

from lfcode.context.languages import LanguageSpec, language_for
from lfcode.context.positions import column_offset

#: ``(line, column)`` in the position encoding's code units, 0-based (an LSP ``Position``).
Position = tuple[int, int]
#: ``(start, end)`` positions of a change; ``None`` replaces the whole document.
ChangeRange = tuple[Position, Position] | None

#: Largest document parsed, in characters (code points, i.e. bytes for ASCII text): 2 MB.
MAX_PARSE_CHARS = 2 * 1024 * 1024

#: Bytes handed to tree-sitter per read callback during a budgeted parse.
_READ_CHUNK = 1 << 16

_ENCODINGS = ("utf-8", "utf-16", "utf-32")


@dataclass(frozen=True)
class Snapshot:
    """One version of a document: ``text``, its UTF-8 ``source`` and ``tree`` (``None`` for
    unknown languages), the language ``spec`` (or ``None``), the LSP ``version`` and ``path``.

    ``oversized`` documents (over :data:`MAX_PARSE_CHARS` characters) have ``tree=None`` and an
    empty ``source``; ``pending`` ones have ``tree=None`` until a budgeted parse finishes
    (:meth:`DocumentStore.resume`)."""

    uri: str
    text: str
    source: bytes
    tree: Tree | None
    spec: LanguageSpec | None
    version: int = 0
    path: str = ""
    oversized: bool = False
    pending: bool = False


@dataclass(frozen=True)
class Located:
    """Where a position falls: code-point ``offset``, ``byte`` offset and tree-sitter ``point``
    (row, byte column)."""

    offset: int
    byte: int
    point: Point


#: A known line start: ``(line, code-point offset, byte offset)``.
Anchor = tuple[int, int, int]


def _line_start(text: str, line: int, anchor: Anchor) -> Anchor | None:
    """The start of 0-based ``line``, walking from ``anchor`` (a known line start); ``None``
    when the text has fewer lines."""
    row, offset, byte = anchor
    while row < line:
        found = text.find("\n", offset)
        if found < 0:
            return None
        byte += len(text[offset : found + 1].encode("utf-8"))
        offset, row = found + 1, row + 1
    while row > line:
        found = text.rfind("\n", 0, offset - 1)
        start = found + 1
        byte -= len(text[start:offset].encode("utf-8"))
        offset, row = start, row - 1
    return row, offset, byte


def locate(text: str, position: Position, encoding: str = "utf-16", anchor: Anchor = (0, 0, 0)) -> Located:
    """Map an LSP position in ``text`` to code-point, byte and point coordinates.

    Clamped like the LSP spec allows: a line past the end maps to the end of the text, a column
    past the end of its line to the line's end (before the line break). Lines end at ``\n``
    (``\r\n`` works; a lone ``\r`` is not treated as a line break). ``anchor``, a known line
    start of ``text``, makes looking up nearby lines cheap (edits cluster where the user types).
    Raises ``KeyError`` for an unknown ``encoding`` (``utf-8``, ``utf-16`` or ``utf-32``). The
    column is converted by :func:`lfcode.context.positions.column_offset`, the one converter.
    """
    if encoding not in _ENCODINGS:
        raise KeyError(encoding)
    line, column = max(0, position[0]), position[1]
    found = _line_start(text, line, anchor)
    if found is None:  # past the last line: the end of the text
        row, start, byte = anchor
        while (nl := text.find("\n", start)) >= 0:
            byte += len(text[start : nl + 1].encode("utf-8"))
            start, row = nl + 1, row + 1
        tail = len(text[start:].encode("utf-8"))
        return Located(len(text), byte + tail, Point(row, tail))
    _row, start, start_byte = found
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    if end > start and text[end - 1] == "\r":
        end -= 1
    offset = start + column_offset(text[start:end], column, encoding)
    line_bytes = len(text[start:offset].encode("utf-8"))
    return Located(offset, start_byte + line_bytes, Point(line, line_bytes))


def _end_point(start: Point, inserted: str) -> Point:
    """The point after inserting ``inserted`` at ``start``."""
    newlines = inserted.count("\n")
    if not newlines:
        return Point(start.row, start.column + len(inserted.encode("utf-8")))
    return Point(start.row + newlines, len(inserted[inserted.rfind("\n") + 1 :].encode("utf-8")))


class _Document:
    """Mutable state of one open document (only touched under the store's lock).

    ``base`` is the last complete tree, edited (``Tree.edit``) to match the current text: the
    old tree of the next parse. With a time budget a parse may stop half-way (``pending``); the
    parser keeps its state and :meth:`resume` carries on from there (tree-sitter's
    ``ts_parser_parse`` resumes a cancelled parse unless reset).
    """

    def __init__(self, uri: str, text: str, spec: LanguageSpec | None, version: int, path: str) -> None:
        self.parser: Parser | None = spec.parser() if spec else None
        self.spec = spec
        self.path = path
        self.anchor: Anchor = (0, 0, 0)
        self.base: Tree | None = None
        self.resuming = False
        self.snapshot = Snapshot(uri, text, b"", None, spec, version, path)

    def parse(self, budget_ms: float | None) -> None:
        """Parse the current text (incrementally from ``base``), for at most ``budget_ms``."""
        snap = self.snapshot
        if self.resuming and self.parser is not None:
            self.parser.reset()
            self.resuming = False
        if len(snap.text) > MAX_PARSE_CHARS:
            self.base = None
            self.snapshot = replace(snap, source=b"", tree=None, oversized=True, pending=False)
            return
        self.snapshot = replace(snap, source=snap.text.encode("utf-8"), tree=None, oversized=False, pending=self.parser is not None)
        self.resume(budget_ms)

    def resume(self, budget_ms: float | None) -> None:
        """Carry on with a pending parse for at most ``budget_ms`` (``None``: to the end)."""
        snap = self.snapshot
        if not snap.pending or self.parser is None:
            return
        tree = self._run(snap.source, budget_ms)
        self.resuming = tree is None
        if tree is not None:
            self.base = tree
            self.snapshot = replace(snap, tree=tree, pending=False)

    def _run(self, source: bytes, budget_ms: float | None) -> Tree | None:
        assert self.parser is not None
        old = {"old_tree": self.base} if self.base is not None else {}
        if budget_ms is None:
            return self.parser.parse(source, **old)
        deadline = time.perf_counter() + budget_ms / 1000

        def read(offset: int, _point: Point) -> bytes:
            return source[offset : offset + _READ_CHUNK]

        try:
            return self.parser.parse(read, **old, encoding="utf8", progress_callback=lambda *_: time.perf_counter() > deadline)
        except ValueError:  # "Parsing failed": cancelled by the budget (or a real failure)
            if time.perf_counter() > deadline:
                return None
            raise

    def edit(self, change: ChangeRange, new_text: str, encoding: str) -> None:
        """Apply one change to the text and to ``base``; no parse (see :meth:`parse`)."""
        current = self.snapshot
        if change is None:
            self.anchor, self.base = (0, 0, 0), None
            self.snapshot = replace(current, text=new_text)
            return
        text = current.text
        if current.oversized:
            # No tree to keep in step: apply the edit to the text only (callers that know the
            # resulting text use DocumentStore.reset instead, which is O(1) here).
            self.anchor = (0, 0, 0)
            start, end = locate(text, change[0], encoding), locate(text, change[1], encoding)
            low, high = sorted((start.offset, end.offset))
            self.snapshot = replace(current, text=text[:low] + new_text + text[high:])
            return
        start, end = locate(text, change[0], encoding, self.anchor), locate(text, change[1], encoding, self.anchor)
        if end.offset < start.offset:
            start, end = end, start
        # The start of the edit's first line stays a line start after the edit.
        self.anchor = (start.point.row, text.rfind("\n", 0, start.offset) + 1, start.byte - start.point.column)
        if self.base is not None:
            old = self.base.copy()  # snapshots handed out keep their trees unedited
            old.edit(
                start_byte=start.byte,
                old_end_byte=end.byte,
                new_end_byte=start.byte + len(new_text.encode("utf-8")),
                start_point=start.point,
                old_end_point=end.point,
                new_end_point=_end_point(start.point, new_text),
            )
            self.base = old
        self.snapshot = replace(current, text=text[: start.offset] + new_text + text[end.offset :])


class DocumentStore:
    """The open documents, one incrementally parsed tree each. Thread-safe.

    ``encoding`` is the LSP position encoding negotiated with the client (``utf-16`` unless the
    client chose ``utf-8`` or ``utf-32``). ``parse_budget_ms`` bounds the parsing done by one
    call (``None``: parse to the end); a parse over budget leaves the snapshot ``pending`` until
    enough :meth:`resume` calls finish it. tree-sitter holds the GIL while it parses, so a
    budget is the only way to keep the event loop responsive on big documents.
    """

    def __init__(self, encoding: str = "utf-16", parse_budget_ms: float | None = None) -> None:
        self.encoding = encoding
        self.parse_budget_ms = parse_budget_ms
        self._docs: dict[str, _Document] = {}
        self._lock = threading.Lock()

    def open(self, uri: str, text: str, language_id: str = "", path: str = "", version: int = 0) -> Snapshot:
        """Start tracking ``uri`` (a full parse, within the budget); returns its first snapshot."""
        spec = language_for(path or uri, language_id)
        with self._lock:
            doc = _Document(uri, text, spec, version, path)
            doc.parse(self.parse_budget_ms)
            self._docs[uri] = doc
            return doc.snapshot

    def change(self, uri: str, changes: Iterable[tuple[ChangeRange, str]], version: int = 0) -> Snapshot | None:
        """Apply LSP content changes in order (each a range or ``None`` for the whole text, and
        the new text); returns the new snapshot, or ``None`` when ``uri`` is not open.

        A document crossing :data:`MAX_PARSE_CHARS` loses its tree (bigger) or gets a full parse
        (smaller again)."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return None
            for change, new_text in changes:
                doc.edit(change, new_text, self.encoding)
            doc.snapshot = replace(doc.snapshot, version=version)
            doc.parse(self.parse_budget_ms)
            return doc.snapshot

    def resume(self, uri: str) -> Snapshot | None:
        """One more budgeted slice of ``uri``'s pending parse; returns the snapshot (``pending``
        False once the tree is there), or ``None`` when ``uri`` is not open."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return None
            doc.resume(self.parse_budget_ms)
            return doc.snapshot

    def reset(self, uri: str, text: str, version: int = 0) -> Snapshot | None:
        """Replace the whole text of an open document (full reparse), e.g. after a mismatch."""
        return self.change(uri, [(None, text)], version)

    def close(self, uri: str) -> Snapshot | None:
        """Stop tracking ``uri``; returns its last snapshot (or ``None``)."""
        with self._lock:
            doc = self._docs.pop(uri, None)
            return doc.snapshot if doc else None

    def get(self, uri: str) -> Snapshot | None:
        """The current snapshot of ``uri``, or ``None`` when it is not open."""
        with self._lock:
            doc = self._docs.get(uri)
            return doc.snapshot if doc else None

    def snapshots(self) -> list[Snapshot]:
        """Every open document's current snapshot."""
        with self._lock:
            return [doc.snapshot for doc in self._docs.values()]
