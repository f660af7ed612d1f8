"""Open documents and their tree-sitter trees, kept up to date incrementally.

One tree per open document. Each change arrives as an LSP range (line and column in the
negotiated position encoding, UTF-16 code units by default) plus the new text. The byte offsets
and points tree-sitter needs are computed from the text *before* the change, the old tree is
edited with ``Tree.edit`` and the document is reparsed with the old tree, so tree-sitter only
re-lexes the edited region (tree-sitter docs, "Using Parsers" → "Editing").

Trees handed out in a :class:`Snapshot` are never edited afterwards (a change edits a copy), so a
worker thread may read a snapshot while the event loop applies newer changes. Documents in a
language lfcode has no grammar for get ``tree=None`` (plain-text context).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tree_sitter import Parser, Point, Tree

from lfcode.context.languages import LanguageSpec, language_for

#: ``(line, column)`` in the position encoding's code units, 0-based (an LSP ``Position``).
Position = tuple[int, int]
#: ``(start, end)`` positions of a change; ``None`` replaces the whole document.
ChangeRange = tuple[Position, Position] | None

_UNITS = {"utf-8": lambda c: len(c.encode("utf-8")), "utf-16": lambda c: 2 if ord(c) > 0xFFFF else 1, "utf-32": lambda c: 1}


@dataclass(frozen=True)
class Snapshot:
    """One version of a document: ``text``, its UTF-8 ``source`` and ``tree`` (``None`` for
    unknown languages), the language ``spec`` (or ``None``), the LSP ``version`` and ``path``."""

    uri: str
    text: str
    source: bytes
    tree: Tree | None
    spec: LanguageSpec | None
    version: int = 0
    path: str = ""


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
    Raises ``KeyError`` for an unknown ``encoding`` (``utf-8``, ``utf-16`` or ``utf-32``).
    """
    units_for = _UNITS[encoding]
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
    offset, units = start, 0
    while offset < end and units < column:
        units += units_for(text[offset])
        offset += 1
    line_bytes = len(text[start:offset].encode("utf-8"))
    return Located(offset, start_byte + line_bytes, Point(line, line_bytes))


def _end_point(start: Point, inserted: str) -> Point:
    """The point after inserting ``inserted`` at ``start``."""
    newlines = inserted.count("\n")
    if not newlines:
        return Point(start.row, start.column + len(inserted.encode("utf-8")))
    return Point(start.row + newlines, len(inserted[inserted.rfind("\n") + 1 :].encode("utf-8")))


class _Document:
    """Mutable state of one open document (only touched under the store's lock)."""

    def __init__(self, uri: str, text: str, spec: LanguageSpec | None, version: int, path: str) -> None:
        self.parser: Parser | None = spec.parser() if spec else None
        self.spec = spec
        self.path = path
        self.anchor: Anchor = (0, 0, 0)
        self.snapshot = self._parse(uri, text, version, None)

    def _parse(self, uri: str, text: str, version: int, old: Tree | None) -> Snapshot:
        source = text.encode("utf-8")
        tree = None
        if self.parser is not None:
            tree = self.parser.parse(source, old) if old is not None else self.parser.parse(source)
        return Snapshot(uri, text, source, tree, self.spec, version, self.path)

    def apply(self, change: ChangeRange, new_text: str, encoding: str) -> None:
        current = self.snapshot
        if change is None:
            self.anchor = (0, 0, 0)
            self.snapshot = self._parse(current.uri, new_text, current.version, None)
            return
        text = current.text
        start, end = locate(text, change[0], encoding, self.anchor), locate(text, change[1], encoding, self.anchor)
        if end.offset < start.offset:
            start, end = end, start
        # The start of the edit's first line stays a line start after the edit.
        self.anchor = (start.point.row, text.rfind("\n", 0, start.offset) + 1, start.byte - start.point.column)
        updated = text[: start.offset] + new_text + text[end.offset :]
        old = None
        if current.tree is not None:
            old = current.tree.copy()
            old.edit(
                start_byte=start.byte,
                old_end_byte=end.byte,
                new_end_byte=start.byte + len(new_text.encode("utf-8")),
                start_point=start.point,
                old_end_point=end.point,
                new_end_point=_end_point(start.point, new_text),
            )
        self.snapshot = self._parse(current.uri, updated, current.version, old)


class DocumentStore:
    """The open documents, one incrementally parsed tree each. Thread-safe.

    ``encoding`` is the LSP position encoding negotiated with the client (``utf-16`` unless the
    client chose ``utf-8`` or ``utf-32``).
    """

    def __init__(self, encoding: str = "utf-16") -> None:
        self.encoding = encoding
        self._docs: dict[str, _Document] = {}
        self._lock = threading.Lock()

    def open(self, uri: str, text: str, language_id: str = "", path: str = "", version: int = 0) -> Snapshot:
        """Start tracking ``uri`` (a full parse); returns its first snapshot."""
        spec = language_for(path or uri, language_id)
        with self._lock:
            doc = _Document(uri, text, spec, version, path)
            self._docs[uri] = doc
            return doc.snapshot

    def change(self, uri: str, changes: Iterable[tuple[ChangeRange, str]], version: int = 0) -> Snapshot | None:
        """Apply LSP content changes in order (each a range or ``None`` for the whole text, and
        the new text); returns the new snapshot, or ``None`` when ``uri`` is not open."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return None
            for change, new_text in changes:
                doc.apply(change, new_text, self.encoding)
            doc.snapshot = replace(doc.snapshot, version=version)
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
