"""The review analyzer registry: the model is one registered analyzer, and another one added
with one ``register`` call is run by the service and named in the SARIF rules."""

from __future__ import annotations

import threading
from pathlib import Path

import git
import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.errors import Cancelled
from lfcode.review import service
from lfcode.review.analyzers import registry
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.diff import ReviewError
from lfcode.review.findings import CATEGORIES, Finding
from lfcode.review.model import MODEL, ReviewOptions
from lfcode.review.report_sarif import to_sarif
from tests.unit.review.gitutil import commit, isolated_git, make_repo, write  # noqa: F401


class LineCounter:
    """A made-up analyzer: one finding on the first changed line of every hunk."""

    id = "lines"
    name = "Line counter"
    description = "Flags the first changed line of each hunk."
    rules = (Rule("bug", "Other bug", "not used: the model's bug rule comes first", "note"),
             Rule("lines", "Lines", "A changed line.", "note"))

    def __init__(self) -> None:
        self.checked = 0

    def check(self, options: ReviewOptions) -> None:
        self.checked += 1

    def analyze(self, context: DiffContext) -> Analysis:
        out = Analysis(notes=["lines: done"])
        for f in context.diff.files:
            for h in f.hunks:
                out.findings.append(Finding.model_construct(
                    path=f.path, line=h.changed_lines[0], end_line=None, severity="info",
                    category="lines", message="changed", suggestion=None))
                out.hunks_reviewed += 1
                if f.path not in out.paths:
                    out.paths.append(f.path)
        return out


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"a.py": "x = 1\ny = 2\n"}, "first")
    write(r, {"a.py": "x = 1\ny = 3\n"})
    yield r
    r.close()


@pytest.fixture
def extra(monkeypatch: pytest.MonkeyPatch) -> LineCounter:
    monkeypatch.setattr(registry, "ANALYZERS", dict(registry.ANALYZERS))
    return registry.register(LineCounter())


def test_the_model_is_the_one_built_in_analyzer() -> None:
    assert list(registry.ANALYZERS) == ["model"]
    assert registry.ANALYZERS["model"] is MODEL
    assert [r.category for r in registry.rules()] == list(CATEGORIES)


def test_the_service_runs_every_registered_analyzer_by_default(repo: git.Repo, extra: LineCounter) -> None:
    root = Path(repo.working_tree_dir)
    result = service.review_changes(root, ReviewOptions(), FakeBackend(["[]"]))
    assert extra.checked == 1
    assert [(f.path, f.line, f.category) for f in result.findings] == [("a.py", 2, "lines")]
    assert result.notes == ["lines: done"]
    assert (result.files_reviewed, result.hunks_reviewed, result.paths) == (1, 1, ["a.py"])
    sarif = to_sarif(result, "0")["runs"][0]
    rules = sarif["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f"lfcode/{c}" for c in (*CATEGORIES, "lines")]
    assert rules[0]["name"] == "Bug"
    assert sarif["results"][0]["ruleIndex"] == len(CATEGORIES)


def test_the_service_runs_only_the_chosen_analyzers(repo: git.Repo, extra: LineCounter) -> None:
    root = Path(repo.working_tree_dir)
    backend = FakeBackend(["[]"])
    result = service.review_changes(root, ReviewOptions(), backend, analyzers=["model"])
    assert result.findings == [] and extra.checked == 0
    with pytest.raises(ReviewError, match="unknown review analyzer"):
        service.review_changes(root, ReviewOptions(), backend, analyzers=["nope"])


class Impatient(LineCounter):
    """An analyzer that ignores the cancel token (the user cancels while it runs)."""

    id = "impatient"

    def analyze(self, context: DiffContext) -> Analysis:
        context.cancel.set()
        return super().analyze(context)


def test_a_cancelled_review_raises_even_when_an_analyzer_ignores_the_token(
    repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "ANALYZERS", dict(registry.ANALYZERS))
    registry.register(Impatient())
    root = Path(repo.working_tree_dir)
    backend = FakeBackend(["[]"])
    with pytest.raises(Cancelled, match="during the impatient analyzer"):
        service.review_changes(root, ReviewOptions(), backend, cancel=threading.Event(), analyzers=["impatient"])
    # After the model (registered first) answered: its findings are not returned either.
    with pytest.raises(Cancelled, match="during the impatient analyzer"):
        service.review_changes(root, ReviewOptions(), backend, cancel=threading.Event())
    assert len(backend.requests) == 1
