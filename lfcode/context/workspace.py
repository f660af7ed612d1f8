"""Everything the server knows about the workspace for completion context, fed by document events.

:class:`Workspace` ties together the open documents (:class:`~lfcode.context.documents.DocumentStore`,
one incremental tree each), the ring buffer of recent chunks and the background symbol index. The
LSP layer calls :meth:`Workspace.opened`/:meth:`changed`/:meth:`saved`/:meth:`closed` on the event
loop (each is cheap: an incremental reparse at most) and :meth:`Workspace.sources` for a request.

Ring buffer feeding follows llama.vim: a chunk around the last edit when a document is opened,
saved or closed, and chunks around the cursor when it moved far since the last pick; queued
chunks enter the ring only at those pauses or after :data:`IDLE_FLUSH_S` without edits, so the
prompt's beginning stays put while the user types.

Oversized documents (:data:`~lfcode.context.documents.MAX_PARSE_CHARS`) are tracked without a
tree and stay out of the ring and the index; with the editor's text at hand (``expected``) a
change to one costs O(1) here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path

from lfcode.context.builder import ContextSources
from lfcode.context.documents import MAX_PARSE_CHARS, ChangeRange, DocumentStore, Snapshot
from lfcode.context.ring import CHUNK_LINES, RingBuffer, chunk_around
from lfcode.context.index import SymbolIndex

#: Seconds without an edit after which queued ring chunks enter the ring.
IDLE_FLUSH_S = 3.0
#: The cursor must move this many lines from the last pick before new chunks are picked.
PICK_DISTANCE = 32


class Workspace:
    """Open documents, ring buffer and symbol index of one server connection.

    Args:
        index: start a background symbol index (tests and the CLI may not want a thread).
    """

    def __init__(self, index: bool = True) -> None:
        self.documents = DocumentStore()
        self.ring = RingBuffer()
        self.index: SymbolIndex | None = SymbolIndex() if index else None
        self.root: Path | None = None
        self._last_edit_line: dict[str, int] = {}
        self._last_pick_line: dict[str, int] = {}
        self._last_change = 0.0
        #: URIs of oversized documents the user was already told about (once per document).
        self.oversized_warned: set[str] = set()
        #: URIs whose pending parse has its next slice scheduled (by the LSP layer).
        self.parse_scheduled: set[str] = set()
        self._sources = ContextSources(ring=self.ring, index=self.index)

    def start(self, root: Path | None) -> None:
        """Index ``root``'s files in the background (idempotent)."""
        self.root = root
        if self.index is not None:
            self.index.start(root)

    def opened(self, uri: str, text: str, language_id: str, path: str, version: int) -> Snapshot:
        """A document was opened: parse it, index it, and note the chunk at its top."""
        snap = self.documents.open(uri, text, language_id, path, version)
        if snap.oversized:
            return snap
        if self.index is not None:
            self.index.update_document(snap)
        self.ring.pick(chunk_around(path or uri, text, CHUNK_LINES // 2))
        self.ring.flush()
        return snap

    def changed(self, uri: str, changes: Iterable[tuple[ChangeRange, str]], version: int, expected: str | None = None) -> Snapshot | None:
        """Apply content changes incrementally; ``expected`` is the editor's text after them (a
        mismatch, which should not happen, resets the document with a full parse)."""
        changes = list(changes)
        current = self.documents.get(uri)
        if current is None:
            return None
        if expected is not None and (current.oversized or len(expected) > MAX_PARSE_CHARS):
            # Into, within or out of the oversized range: take the editor's text as it is (no
            # per-change work on a huge text; a full parse when it shrinks back under the cap).
            snap = self.documents.reset(uri, expected, version)
        else:
            snap = self.documents.change(uri, changes, version)
        if snap is None:
            return None
        if snap.oversized and not current.oversized and self.index is not None:
            self.index.forget_document(uri)
        if expected is not None and snap.text != expected:
            snap = self.documents.reset(uri, expected, version)
        last = next((r for r, _ in reversed(changes) if r is not None), None)
        if last is not None:
            self._last_edit_line[uri] = last[0][0]
        self._last_change = time.monotonic()
        if self.index is not None and snap is not None:
            self.index.update_document(snap)
        return snap

    def saved(self, uri: str) -> None:
        """A document was saved: re-index its file and keep a chunk of it."""
        snap = self.documents.get(uri)
        if snap is not None and not snap.oversized:
            self.ring.pick(chunk_around(snap.path or uri, snap.text, self._last_edit_line.get(uri, 0)))
            self.ring.flush()
            if self.index is not None and snap.path:
                self.index.refresh_file(snap.path)

    def closed(self, uri: str) -> None:
        """A document was closed: keep a chunk around its last edit, forget its tree."""
        snap = self.documents.close(uri)
        if snap is not None and not snap.oversized:
            self.ring.pick(chunk_around(snap.path or uri, snap.text, self._last_edit_line.get(uri, 0)))
            self.ring.flush()
        if self.index is not None:
            self.index.forget_document(uri)
        self._last_edit_line.pop(uri, None)
        self._last_pick_line.pop(uri, None)
        self.oversized_warned.discard(uri)

    def requested(self, uri: str, line: int) -> None:
        """A completion was asked at 0-based ``line``: pick chunks when the cursor moved far, and
        let queued chunks in when the user has been idle."""
        snap = self.documents.get(uri)
        if snap is not None and not snap.oversized and abs(line - self._last_pick_line.get(uri, line - PICK_DISTANCE - 1)) > PICK_DISTANCE:
            self._last_pick_line[uri] = line
            self.ring.pick(chunk_around(snap.path or uri, snap.text, line - CHUNK_LINES))
            self.ring.pick(chunk_around(snap.path or uri, snap.text, line + CHUNK_LINES))
        if time.monotonic() - self._last_change >= IDLE_FLUSH_S:
            self.ring.flush()

    def resume_parse(self, uri: str) -> bool:
        """One more budgeted slice of ``uri``'s pending parse (see
        :attr:`DocumentStore.parse_budget_ms`); indexes the document once its tree is there.
        Returns True while the parse is still pending."""
        snap = self.documents.resume(uri)
        if snap is None:
            return False
        if snap.pending:
            return True
        if self.index is not None and snap.tree is not None:
            self.index.update_document(snap)
        return False

    def close(self) -> None:
        """Stop the background indexing."""
        if self.index is not None:
            self.index.close()

    def sources(self, refresh: bool = False) -> ContextSources:
        """The context sources for one request (sharing the token-count and symbols caches
        between requests). The symbols part is rebuilt when ``refresh`` (a prefill) or after
        :data:`IDLE_FLUSH_S` seconds without an edit, else kept (see
        :attr:`ContextSources.refresh_symbols`)."""
        self._sources.root = self.root
        idle = time.monotonic() - self._last_change >= IDLE_FLUSH_S
        return dataclasses.replace(self._sources, refresh_symbols=refresh or idle)
