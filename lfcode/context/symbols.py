"""Definitions (signature + docstring) found with each grammar's ``queries/tags.scm``.

As aider's repo map does (``aider/repomap.py``), definitions are the ``@definition.*`` captures
with their ``@name``; files are indexed in a background thread and cached by modification time,
so the keystroke path only does dictionary look-ups. Open documents are indexed from their
current snapshot (debounced), and override the file on disk.

A definition's *signature* is its text from the start of its line up to its body (a function's
parameters and return type, a class's bases), at most :data:`SIGNATURE_CHARS` characters; its
*doc* is the first lines of a Python docstring or of the comments the tags query captures as
``@doc`` just above it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node, QueryCursor, Tree

from lfcode.context.documents import Snapshot
from lfcode.context.files import files_with_suffix
from lfcode.context.languages import EXTENSIONS, LanguageSpec, language_for

log = logging.getLogger(__name__)

SIGNATURE_CHARS = 200
DOC_LINES = 3
#: Workspace files indexed at most, and the largest file indexed (bytes).
MAX_FILES = 5000
MAX_FILE_BYTES = 512 * 1024
#: Wait after the last change of an open document before re-indexing it, seconds.
DOCUMENT_DEBOUNCE_S = 0.5


@dataclass(frozen=True)
class Definition:
    """``name`` defined in ``path`` at 0-based ``line``: ``kind`` (``function``, ``class``, ...),
    its ``signature`` and ``doc`` (may be empty)."""

    name: str
    kind: str
    path: str
    line: int
    signature: str
    doc: str = ""


def _line_start(source: bytes, byte: int) -> int:
    return source.rfind(b"\n", 0, byte) + 1


def _body(node: Node) -> Node | None:
    body = node.child_by_field_name("body")
    if body is None and node.parent is not None and node.parent.type.endswith(("definition", "declaration")):
        body = node.parent.child_by_field_name("body")
    return body


def _python_doc(body: Node | None) -> str:
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_child_count and first.named_children[0].type == "string":
        return (first.text or b"").decode("utf-8", "replace")
    return ""


def _clip_lines(text: str, lines: int) -> str:
    kept = [ln.rstrip() for ln in text.strip().splitlines()[:lines]]
    return "\n".join(kept)


def extract_definitions(spec: LanguageSpec, tree: Tree, source: bytes, path: str) -> list[Definition]:
    """Every ``@definition.*`` of ``tree`` (parsed from ``source``) with its signature and doc."""
    if spec.tags is None:
        return []
    found: list[Definition] = []
    for _pattern, captures in QueryCursor(spec.tags).matches(tree.root_node):
        kinds = [k for k in captures if k.startswith("definition.")]
        names = captures.get("name")
        if not kinds or not names:
            continue
        node = captures[kinds[0]][0]
        name = (names[0].text or b"").decode("utf-8", "replace")
        body = _body(node)
        start = _line_start(source, node.start_byte)
        end = body.start_byte if body is not None and body.start_byte > start else node.end_byte
        signature = source[start:end].decode("utf-8", "replace").rstrip()
        if body is None or len(signature) > SIGNATURE_CHARS:
            signature = signature.split("\n", 1)[0][:SIGNATURE_CHARS]
        doc = _python_doc(body) if spec.name == "python" else "\n".join(
            (d.text or b"").decode("utf-8", "replace") for d in captures.get("doc", [])
        )
        found.append(Definition(name, kinds[0].split(".", 1)[1], path, node.start_point.row, signature, _clip_lines(doc, DOC_LINES)))
    return found


def workspace_files(root: Path, limit: int = MAX_FILES) -> list[Path]:
    """Source files under ``root`` in a language lfcode parses, skipping hidden, dependency and
    build folders; at most ``limit``."""
    return files_with_suffix(root, EXTENSIONS, limit)


class SymbolIndex:
    """Definitions of the workspace and the open documents, by name. Thread-safe.

    Indexing runs in a daemon thread (:meth:`start`); :meth:`lookup` only reads dictionaries.
    Every queued job is counted, under the one lock, before it is queued and uncounted once it
    ran: the index is idle when that count is zero and no open document waits for its debounce.
    :attr:`idle` is cleared when work is queued and set when it drains; :meth:`wait_idle` waits
    on the condition of that same lock, so a job that finishes between checking and waiting
    cannot be missed.
    """

    def __init__(self) -> None:
        self._files: dict[str, tuple[int, list[Definition]]] = {}
        self._documents: dict[str, tuple[str, list[Definition]]] = {}  # uri → (path, definitions)
        self._by_name: dict[str, list[Definition]] = {}
        self._lock = threading.Lock()
        #: Notified (under ``_lock``) whenever the index may have become idle.
        self._drained = threading.Condition(self._lock)
        #: Jobs queued and not yet done (under ``_lock``).
        self._outstanding = 0
        self._jobs: queue.Queue[tuple[str, object]] = queue.Queue()
        self._pending_docs: dict[str, tuple[float, Snapshot]] = {}
        self._thread: threading.Thread | None = None
        self.root: Path | None = None
        #: The root whose walk finished (under ``_lock``), and whether it stopped at MAX_FILES.
        self._walked: Path | None = None
        self._capped = False
        #: Set while nothing is queued, running or waiting for its debounce.
        self.idle = threading.Event()
        self.idle.set()

    def start(self, root: Path | None) -> None:
        """Start the background thread and index ``root``'s files (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="lfcode-index", daemon=True)
            self._thread.start()
        if root is not None and root != self.root:
            self.root = root
            self._queue("walk", root)

    def refresh_file(self, path: str) -> None:
        """Re-index one file from disk if its mtime changed (after a save)."""
        self._queue("file", path)

    def update_document(self, snapshot: Snapshot) -> None:
        """Re-index an open document from ``snapshot`` after :data:`DOCUMENT_DEBOUNCE_S`."""
        if snapshot.tree is None or snapshot.spec is None:
            return
        with self._lock:
            self._pending_docs[snapshot.uri] = (time.monotonic() + DOCUMENT_DEBOUNCE_S, snapshot)
        self._queue("tick", None)

    def forget_document(self, uri: str) -> None:
        """Drop an open document's definitions (its file on disk stays indexed)."""
        with self._lock:
            self._pending_docs.pop(uri, None)
            if self._documents.pop(uri, None) is not None:
                self._rebuild()
            self._notify_if_idle()

    def lookup(self, names: Iterable[str]) -> list[Definition]:
        """Definitions of ``names``, in the order of ``names``; open documents before files."""
        with self._lock:
            by_name = self._by_name
        result: list[Definition] = []
        for name in names:
            result.extend(by_name.get(name, ()))
        return result

    def files(self, root: Path) -> list[Path] | None:
        """The workspace files indexed under ``root``, in walk order (files found later, after a
        save, come last), so that a feature can use them instead of walking the folder again;
        ``None`` while ``root``'s walk has not finished, when the index walks another root, or
        when the walk stopped at :data:`MAX_FILES` (the caller then walks itself)."""
        with self._lock:
            if self._walked is None or self._capped or Path(root).resolve() != Path(self._walked).resolve():
                return None
            return [Path(path) for path in self._files]

    def close(self) -> None:
        """Stop the background thread (pending jobs are dropped)."""
        if self._thread is not None:
            self._jobs.put(("stop", None))
            self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every job queued so far ran and no open document waits for its
        debounce (tests and benchmarks); True when idle, False after ``timeout`` seconds."""
        with self._drained:
            return self._drained.wait_for(self._is_idle, timeout)

    def _queue(self, kind: str, arg: object) -> None:
        """Count a job, then queue it: the worker can only uncount what was counted."""
        with self._lock:
            self._outstanding += 1
            self.idle.clear()
        self._jobs.put((kind, arg))

    def _is_idle(self) -> bool:
        """Nothing queued, running or debouncing (caller holds the lock)."""
        return self._outstanding == 0 and not self._pending_docs

    def _notify_if_idle(self) -> None:
        """Set :attr:`idle` and wake :meth:`wait_idle` when the index is idle (caller holds the lock)."""
        if self._is_idle():
            self.idle.set()
            self._drained.notify_all()

    # -- background thread -------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            wait = self._next_due()
            try:
                kind, arg = self._jobs.get(timeout=wait)
            except queue.Empty:
                # A debounced document is due. Count this run like a queued job: it takes the
                # document out of the pending ones before its definitions are in.
                with self._lock:
                    self._outstanding += 1
                kind, arg = "tick", None
            if kind == "stop":
                return
            try:
                self._run(kind, arg)
            finally:
                with self._lock:
                    self._outstanding -= 1
                    self._notify_if_idle()

    def _run(self, kind: str, arg: object) -> None:
        try:
            if kind == "walk":
                paths = workspace_files(arg)  # type: ignore[arg-type]
                for path in paths:
                    self._index_file(str(path), rebuild=False)
                with self._lock:
                    self._rebuild()
                    self._walked, self._capped = arg, len(paths) >= MAX_FILES  # type: ignore[assignment]
            elif kind == "file":
                self._index_file(str(arg), rebuild=True)
            self._run_due_documents()
        except Exception:  # noqa: BLE001 - the index must never take the server down
            log.exception("indexing failed")

    def _next_due(self) -> float | None:
        with self._lock:
            if not self._pending_docs:
                return None
            return max(0.0, min(due for due, _ in self._pending_docs.values()) - time.monotonic())

    def _run_due_documents(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [snap for when, snap in self._pending_docs.values() if when <= now]
            for snap in due:
                del self._pending_docs[snap.uri]
        for snap in due:
            path = snap.path or snap.uri
            defs = extract_definitions(snap.spec, snap.tree, snap.source, path)  # type: ignore[arg-type]
            with self._lock:
                self._documents[snap.uri] = (path, defs)
                self._rebuild()

    def _index_file(self, path: str, rebuild: bool) -> None:
        try:
            stat = os.stat(path)
        except OSError:
            return
        cached = self._files.get(path)
        if cached is not None and cached[0] == stat.st_mtime_ns:
            return
        spec = language_for(path)
        defs: list[Definition] = []
        if spec is not None and stat.st_size <= MAX_FILE_BYTES:
            try:
                source = Path(path).read_bytes()
            except OSError:
                return
            defs = extract_definitions(spec, spec.parser().parse(source), source, path)
        with self._lock:
            self._files[path] = (stat.st_mtime_ns, defs)
            if rebuild:
                self._rebuild()

    def _rebuild(self) -> None:
        """Recompute the by-name table (caller holds the lock); open documents come first."""
        open_paths = {path for path, _defs in self._documents.values()}
        by_name: dict[str, list[Definition]] = {}
        for _path, defs in self._documents.values():
            for d in defs:
                by_name.setdefault(d.name, []).append(d)
        for path, (_mtime, defs) in self._files.items():
            if path in open_paths:
                continue
            for d in defs:
                by_name.setdefault(d.name, []).append(d)
        self._by_name = by_name
