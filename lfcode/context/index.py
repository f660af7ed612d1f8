"""The one workspace index: every file's symbols and calls, by name, for every feature.

As aider's repo map does (``aider/repomap.py``), a file's definitions are its ``tags.scm``
``@definition.*`` captures (:func:`lfcode.context.tags.extract`). Files are indexed in a
background thread and cached by modification time, so the keystroke path only does dictionary
look-ups. Open documents are indexed from their current snapshot (debounced), and override the
file on disk. Completion looks names up (:meth:`SymbolIndex.lookup`); Explain asks for what a
symbol calls and what calls it (:func:`related`), from the index when the language server has
one and from the same per-file extraction, cached by modification time, when the CLI has none.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lfcode.context.documents import Snapshot
from lfcode.context.files import files_with_suffix
from lfcode.context.languages import EXTENSIONS, PROFILES, get_language, language_for
from lfcode.context.symbols import Symbol
from lfcode.context.tags import FileSymbols, calls, extract

log = logging.getLogger(__name__)

#: Workspace files indexed at most, and the largest file indexed (bytes).
MAX_FILES = 5000
MAX_FILE_BYTES = 512 * 1024
#: Wait after the last change of an open document before re-indexing it, seconds.
DOCUMENT_DEBOUNCE_S = 0.5
#: Files of the symbol's language :func:`related` reads when there is no index.
RELATED_FILES = 300


def workspace_files(root: Path, limit: int = MAX_FILES, suffixes: Iterable[str] | None = None) -> list[Path]:
    """Source files under ``root`` in a language lfcode parses (or with one of ``suffixes``),
    skipping hidden, dependency and build folders; at most ``limit``."""
    return files_with_suffix(root, set(suffixes) if suffixes is not None else EXTENSIONS, limit)


def index_file(path: str) -> tuple[int, FileSymbols] | None:
    """``(mtime_ns, symbols)`` of the file at ``path`` read from disk, or ``None`` when it cannot
    be read; a file over :data:`MAX_FILE_BYTES` or in no known language has no symbols."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, _file_symbols(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _file_symbols(path: str, mtime_ns: int, size: int) -> FileSymbols:
    spec = language_for(path)
    if spec is None or size > MAX_FILE_BYTES:
        return FileSymbols()
    try:
        source = Path(path).read_bytes()
    except OSError:
        return FileSymbols()
    return extract(spec, spec.parser().parse(source), source, path)


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
        self._files: dict[str, tuple[int, FileSymbols]] = {}
        self._documents: dict[str, tuple[str, FileSymbols]] = {}  # uri → (path, symbols)
        self._by_name: dict[str, list[Symbol]] = {}
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

    def lookup(self, names: Iterable[str]) -> list[Symbol]:
        """Definitions of ``names``, in the order of ``names``; open documents before files."""
        with self._lock:
            by_name = self._by_name
        result: list[Symbol] = []
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

    def file_symbols(self, suffixes: Iterable[str], exclude: str | None = None) -> list[FileSymbols]:
        """The symbols of every indexed file with one of ``suffixes`` (open documents first, then
        files in walk order), leaving out the file ``exclude`` (a path)."""
        wanted = set(suffixes)
        with self._lock:
            open_paths = {path: symbols for path, symbols in self._documents.values()}
            files = [(path, symbols) for path, (_mtime, symbols) in self._files.items() if path not in open_paths]
        return [
            symbols for path, symbols in [*open_paths.items(), *files]
            if Path(path).suffix.lower() in wanted and (exclude is None or str(Path(path).resolve()) != exclude)
        ]

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
            defs = extract(snap.spec, snap.tree, snap.source, path)  # type: ignore[arg-type]
            with self._lock:
                self._documents[snap.uri] = (path, defs)
                self._rebuild()

    def _index_file(self, path: str, rebuild: bool) -> None:
        cached = self._files.get(path)
        try:
            if cached is not None and cached[0] == os.stat(path).st_mtime_ns:
                return
        except OSError:
            return
        indexed = index_file(path)
        if indexed is None:
            return
        with self._lock:
            self._files[path] = indexed
            if rebuild:
                self._rebuild()

    def _rebuild(self) -> None:
        """Recompute the by-name table (caller holds the lock); open documents come first."""
        open_paths = {path for path, _defs in self._documents.values()}
        by_name: dict[str, list[Symbol]] = {}
        for _path, symbols in self._documents.values():
            for d in symbols.definitions:
                by_name.setdefault(d.name, []).append(d)
        for path, (_mtime, symbols) in self._files.items():
            if path in open_paths:
                continue
            for d in symbols.definitions:
                by_name.setdefault(d.name, []).append(d)
        self._by_name = by_name


@dataclass
class Related:
    """Signatures around a symbol: ``callees`` (what it calls), ``callers`` (what calls it)."""

    callees: list[str] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)


def _suffixes(language: str) -> set[str]:
    """File suffixes of the grammars sharing ``language``'s symbols (TypeScript sees JavaScript)."""
    family = PROFILES[language].symbol_family
    return {ext for p in PROFILES.values() if p.symbol_family == family for ext in p.extensions}


def project_sources(
    symbol: Symbol, text: str, path: str | None = None, root: Path | None = None, index: SymbolIndex | None = None,
) -> tuple[FileSymbols, list[FileSymbols]] | None:
    """The symbols and calls of ``symbol``'s own file (``text``, at ``path``) and of the other
    files of its language family: from ``index`` once it has walked ``root`` (see
    :meth:`SymbolIndex.files`), else from up to :data:`RELATED_FILES` files under ``root`` read
    from disk (each extracted once per modification time); no ``root``, no other files.
    ``None`` for a language lfcode does not parse. Blocking when it reads files."""
    spec = language_for(path, None) or get_language(symbol.language)
    if spec is None:
        return None
    data = text.encode("utf-8", errors="replace")
    own_symbols = extract(spec, spec.parser().parse(data), data, path or "")
    others: list[FileSymbols] = []
    if root is not None:
        suffixes = _suffixes(spec.name)
        own = str(Path(path).resolve()) if path else None
        if index is not None and index.files(root) is not None:
            others += index.file_symbols(suffixes, exclude=own)
        else:
            for file in workspace_files(root, RELATED_FILES, suffixes):
                indexed = index_file(str(file)) if str(file.resolve()) != own else None
                if indexed is not None:
                    others.append(indexed[1])
    return own_symbols, others


def related(
    symbol: Symbol, text: str, path: str | None = None, root: Path | None = None, limit: int = 8,
    index: SymbolIndex | None = None,
) -> Related:
    """Signatures of what ``symbol`` calls and of what calls it (at most ``limit`` of each).

    ``text`` is the symbol's file as the editor has it (its own definitions and calls come
    first); the other files are those of :func:`project_sources`. Blocking when it reads files.
    """
    found = project_sources(symbol, text, path, root, index)
    if found is None:
        return Related()
    spec = language_for(path, None) or get_language(symbol.language)
    assert spec is not None
    tree = spec.parser().parse(text.encode("utf-8", errors="replace"))
    sources = [found[0], *found[1]]
    inside = [name for name, node in calls(tree.root_node, spec) if symbol.start_line <= node.start_point.row <= symbol.end_line]
    result = Related()
    for name in dict.fromkeys(n for n in inside if n != symbol.name):
        signature = next((d.signature for s in sources for d in s.definitions if d.name == name and d.kind != "constant"), None)
        if signature and signature not in result.callees and len(result.callees) < limit:
            result.callees.append(signature)
    for source in sources:
        for signature in source.calls.get(symbol.name, []):
            if signature != symbol.signature and signature not in result.callers and len(result.callers) < limit:
                result.callers.append(signature)
    return result
