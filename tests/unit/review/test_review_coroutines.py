"""The unawaited-coroutine check: calls to an async def of the same file that are never awaited."""

from __future__ import annotations

from pathlib import Path


from lfcode.backends.fake import FakeBackend
from lfcode.review.analyzers.base import run_analyzers
from lfcode.review.analyzers.coroutines import COROUTINES, unawaited_calls
from lfcode.review.result import ReviewOptions
from tests.unit.review.gitutil import commit, isolated_git, make_repo, write  # noqa: F401

SOURCE = '''import asyncio


async def fetch(n):
    return n


class Client:
    async def connect(self):
        return 1

    async def run(self):
        self.connect()                     # 13: dropped
        conn = self.connect()              # 14: stored, never used
        task = self.connect()              # 15: awaited below: fine
        await task
        asyncio.ensure_future(self.connect())   # 17: passed on: fine
        fetch(1)                           # 18: dropped
        value = await fetch(2)             # 19: awaited: fine
        return self.connect()              # 20: returned from an async def: its caller awaits a coroutine

    def sync(self):
        self.run()                         # 23: dropped
        self.close()                       # 24: not an async def here: fine
        return self.connect()              # 25: returned from a plain function: fine
'''


def test_only_dropped_or_unused_coroutines_of_this_file_are_reported() -> None:
    assert unawaited_calls(SOURCE) == [(13, "self.connect"), (14, "self.connect"), (18, "fetch"), (20, "self.connect"), (23, "self.run")]


def test_nothing_without_async_defs_in_the_file() -> None:
    assert unawaited_calls("import asyncio\n\nasync_thing = 1\n\ndef f(loop):\n    loop.run()\n") == []


def test_the_analyzer_reports_a_removed_await_on_the_added_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "work")
    before = SOURCE.replace("        fetch(1)                           # 18: dropped\n", "        await fetch(1)\n")
    commit(repo, {"client.py": before}, "first")
    write(repo, {"client.py": SOURCE})
    result = run_analyzers(repo.working_tree_dir, ReviewOptions(), FakeBackend(default="[]"), [COROUTINES])
    (finding,) = result.findings  # lines 13, 14, 20 and 23 were already there
    assert (finding.line, finding.rule, finding.severity) == (18, "coroutines/unawaited", "warning")
    assert finding.evidence is not None and finding.evidence.quote.startswith("fetch(1)")
    repo.close()
