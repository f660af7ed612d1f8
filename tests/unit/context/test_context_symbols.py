"""Symbol index: tags.scm definitions with headers and docstrings, background indexing, mtime cache."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from lfcode.context import index as index_module
from lfcode.context.documents import DocumentStore
from lfcode.context.index import SymbolIndex, workspace_files
from lfcode.context.languages import get_language
from lfcode.context.tags import extract


@pytest.fixture
def short_debounce(monkeypatch: pytest.MonkeyPatch) -> float:
    """A 50 ms document debounce instead of the editor-paced 0.5 s: these tests check that
    wait_idle waits for a debounced document, not how long the debounce is."""
    monkeypatch.setattr(index_module, "DOCUMENT_DEBOUNCE_S", 0.05)
    return index_module.DOCUMENT_DEBOUNCE_S


def definitions(name: str, source: str) -> dict[str, object]:
    spec = get_language(name)
    data = source.encode()
    return {d.name: d for d in extract(spec, spec.parser().parse(data), data, f"x.{name}").definitions}


def test_python_signature_and_docstring() -> None:
    found = definitions("python", 'class Shape(Base):\n    """A shape."""\n\n    def area(self, scale: float = 1.0) -> float:\n        """Area in m².\n\n        More.\n        """\n        return 0.0\n')
    assert found["Shape"].header == "class Shape(Base):"
    assert found["Shape"].docstring == "A shape."
    area = found["area"]
    assert area.kind == "method" and area.start_line == 3 and area.qualname == "Shape.area"
    assert area.header == "    def area(self, scale: float = 1.0) -> float:"
    assert area.signature == "def area(self, scale: float = 1.0) -> float"
    assert area.docstring == "Area in m².\n\nMore."  # the index keeps the first DOC_LINES lines
    assert area.source == ""  # the index keeps no bodies


@pytest.mark.parametrize("name,source,symbol,signature", [
    ("go", "package m\n// Add adds.\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n", "Add", "func Add(a int, b int) int"),
    ("rust", "/// Adds.\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n", "add", "fn add(a: i32, b: i32) -> i32"),
    ("java", "class M {\n    int add(int a, int b) { return a + b; }\n}\n", "add", "    int add(int a, int b)"),
    ("javascript", "/** Adds. */\nfunction add(a, b) {\n  return a + b;\n}\n", "add", "function add(a, b)"),
])
def test_signatures_stop_at_the_body(name: str, source: str, symbol: str, signature: str) -> None:
    found = definitions(name, source)
    assert found[symbol].header == signature


def test_go_doc_comment_comes_from_the_tags_query() -> None:
    found = definitions("go", "package m\n// Add adds two ints.\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n")
    assert "Add adds two ints." in found["Add"].docstring


def test_workspace_files_skip_hidden_and_dependency_folders(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def a(): pass\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "b.js").write_text("function b() {}\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.py").write_text("def c(): pass\n")
    (tmp_path / "notes.txt").write_text("x")
    assert workspace_files(tmp_path) == [tmp_path / "src" / "a.py"]


def test_background_index_finds_workspace_definitions_and_honours_mtime(tmp_path: Path) -> None:
    module = tmp_path / "util.py"
    module.write_text("def helper(x, y):\n    return x\n")
    index = SymbolIndex()
    index.start(tmp_path)
    assert index.wait_idle()
    assert [d.header for d in index.lookup(["helper", "missing"])] == ["def helper(x, y):"]
    # Same mtime: the cached definitions stay, even though the content changed.
    stat = module.stat()
    module.write_text("def other(z):\n    return z\n")
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    index.refresh_file(str(module))
    assert index.wait_idle()
    assert index.lookup(["helper"]) and not index.lookup(["other"])
    # A new mtime: re-indexed.
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    index.refresh_file(str(module))
    assert index.wait_idle()
    assert not index.lookup(["helper"]) and index.lookup(["other"])


def test_open_documents_override_their_file(tmp_path: Path, short_debounce: float) -> None:
    path = tmp_path / "m.py"
    path.write_text("def old(): pass\n")
    index = SymbolIndex()
    index.start(tmp_path)
    assert index.wait_idle()
    store = DocumentStore()
    snap = store.open(path.as_uri(), "def new(a): pass\n", "python", str(path))
    index.update_document(snap)
    assert index.wait_idle()
    assert index.lookup(["new"])[0].header == "def new(a):"
    assert not index.lookup(["old"])
    index.forget_document(path.as_uri())
    assert index.lookup(["old"]) and not index.lookup(["new"])


class HandOffQueue(queue.Queue):
    """A job queue whose ``put`` returns only once the worker ran the job and came back for
    the next one, so that whatever the caller does next happens after the job finished: the
    widest possible window for a lost wake-up in :meth:`SymbolIndex.wait_idle`."""

    def __init__(self) -> None:
        super().__init__()
        self.turns = threading.Condition()
        self.puts = 0  # jobs put (the n-th put is the n-th got: FIFO, one putter)
        self.taken = 0  # jobs the worker took
        self.in_get = False  # the worker is inside get() again

    def get(self, block: bool = True, timeout: float | None = None):
        with self.turns:
            self.in_get = True
            self.turns.notify_all()
        try:
            item = super().get(block, timeout)
        finally:
            with self.turns:
                self.in_get = False
        with self.turns:
            self.taken += 1
        return item

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        with self.turns:
            self.puts += 1
            mine = self.puts
        super().put(item, block, timeout)
        if item[0] == "stop":
            return
        with self.turns:
            assert self.turns.wait_for(lambda: self.taken >= mine and self.in_get, timeout=10), "the worker never took the job"


def test_wait_idle_does_not_miss_work_that_finished_before_it_waited(tmp_path: Path) -> None:
    module = tmp_path / "util.py"
    module.write_text("def helper(x, y):\n    return x\n")
    index = SymbolIndex()
    index._jobs = HandOffQueue()
    index.start(None)
    try:
        # The job has run completely before wait_idle looks: it must still say idle, at once
        # (the old wait_idle queued a tick, which the worker could run before it cleared the
        # event it then waited on forever).
        index.refresh_file(str(module))
        assert index.wait_idle(timeout=2)
        assert [d.name for d in index.lookup(["helper"])] == ["helper"]
        # Nothing queued: idle at once.
        assert index.wait_idle(timeout=0)
        # The same when wait_idle itself is the first to look after a walk.
        index.start(tmp_path)
        assert index.wait_idle(timeout=2)
        assert index.idle.is_set()
    finally:
        index.close()


def test_wait_idle_waits_for_queued_work_and_debounced_documents(tmp_path: Path, short_debounce: float) -> None:
    path = tmp_path / "m.py"
    path.write_text("def old(): pass\n")
    index = SymbolIndex()
    # Not started: the queued job cannot run, so the index is not idle.
    index.refresh_file(str(path))
    assert not index.idle.is_set()
    assert not index.wait_idle(timeout=0.05)
    index.start(None)
    try:
        assert index.wait_idle()
        assert index.lookup(["old"])
        # A document edit is not indexed before its debounce: wait_idle must wait for it.
        snap = DocumentStore().open(path.as_uri(), "def new(a): pass\n", "python", str(path))
        index.update_document(snap)
        assert index.wait_idle()
        assert [d.header for d in index.lookup(["new"])] == ["def new(a):"]
    finally:
        index.close()


def test_concurrent_waiters_all_see_the_index_idle(tmp_path: Path) -> None:
    for n in range(20):
        (tmp_path / f"m{n}.py").write_text(f"def f{n}(): pass\n")
    index = SymbolIndex()
    index.start(None)
    results: list[bool] = []

    def waiter() -> None:
        results.append(index.wait_idle(timeout=5))

    try:
        for round_ in range(20):
            for n in range(20):
                index.refresh_file(str(tmp_path / f"m{n}.py"))
            threads = [threading.Thread(target=waiter) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert results == [True] * 80
        assert len(index.lookup([f"f{n}" for n in range(20)])) == 20
    finally:
        index.close()
