"""The review analyzer interface: the built-in analyzers are registered, another one added with
one ``register`` call is run by the service and named in the SARIF rules, one analyzer failing is
a note (unless it is required: then the review fails closed), and a model finding its own
probabilities do not support keeps its severity only when another analyzer corroborates it."""

from __future__ import annotations

import threading
from pathlib import Path

import git
import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.errors import Cancelled
from lfcode.review import service
from lfcode.review.analyzers import registry
from lfcode.review.analyzers.base import Analysis, DiffContext, ReviewIncomplete, Rule, settle_corroboration
from lfcode.review.diff import ReviewError
from lfcode.review.findings import CATEGORIES, Finding, merge_duplicates
from lfcode.review.model import MODEL, ReviewOptions
from lfcode.review.report_sarif import to_sarif
from tests.unit.review.gitutil import commit, isolated_git, make_repo, write  # noqa: F401


class LineCounter:
    """A made-up analyzer: one finding on the first changed line of every hunk."""

    id = "lines"
    name = "Line counter"
    description = "Flags the first changed line of each hunk."
    rules = (Rule("model/bug", "Other bug", "not used: the model's bug rule comes first", "note"),
             Rule("lines/changed", "Lines", "A changed line.", "note", "style"))
    required = False

    def __init__(self) -> None:
        self.checked = 0

    def check(self, options: ReviewOptions) -> None:
        self.checked += 1

    def analyze(self, context: DiffContext) -> Analysis:
        out = Analysis(notes=["lines: done"])
        for f in context.diff.files:
            for h in f.hunks:
                out.findings.append(Finding(path=f.path, line=h.changed_lines[0], severity="info", category="style",
                                            message="changed", analyzer="lines", rule="lines/changed"))
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


def test_the_built_in_analyzers_are_registered_with_the_model_last() -> None:
    assert set(registry.ANALYZERS) == {"secrets", "rules", "ruff", "behaviour", "coroutines", "model"}
    assert list(registry.ANALYZERS)[-1] == "model" and registry.ANALYZERS["model"] is MODEL
    assert registry.ANALYZERS["secrets"].required and not registry.ANALYZERS["model"].required
    ids = [r.id for r in registry.rules()]
    assert {f"model/{c}" for c in CATEGORIES} <= set(ids) and len(ids) == len(set(ids))


def test_the_service_runs_the_registered_analyzers(repo: git.Repo, extra: LineCounter) -> None:
    root = Path(repo.working_tree_dir)
    result = service.review_changes(root, ReviewOptions(), FakeBackend(["[]"]), analyzers=["model", "lines"])
    assert extra.checked == 1
    assert [(f.path, f.line, f.rule) for f in result.findings] == [("a.py", 2, "lines/changed")]
    assert result.notes == ["lines: done"] and result.analyzers == ["model", "lines"]
    assert (result.files_reviewed, result.hunks_reviewed, result.paths) == (1, 1, ["a.py"])
    sarif = to_sarif(result, "0")["runs"][0]
    rules = sarif["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids.count("model/bug") == 1 and rules[ids.index("model/bug")]["name"] == "Bug"
    assert rules[ids.index("lines/changed")]["properties"]["analyzer"] == "lines"
    assert sarif["results"][0]["ruleIndex"] == ids.index("lines/changed")
    assert sarif["results"][0]["properties"]["analyzer"] == "lines"


def test_the_service_runs_only_the_chosen_analyzers(repo: git.Repo, extra: LineCounter) -> None:
    root = Path(repo.working_tree_dir)
    backend = FakeBackend(["[]"])
    result = service.review_changes(root, ReviewOptions(), backend, analyzers=["model"])
    assert result.findings == [] and extra.checked == 0 and result.analyzers == ["model"]
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
    # The model runs beside the others: whether it answered first or saw the cancel, no result
    # (and none of its findings) is returned.
    with pytest.raises(Cancelled):
        service.review_changes(root, ReviewOptions(), backend, cancel=threading.Event(), analyzers=["model", "impatient"])
    assert len(backend.requests) <= 1


class Broken(LineCounter):
    """An analyzer whose tool is missing."""

    id = "broken"

    def analyze(self, context: DiffContext) -> Analysis:
        raise ReviewError("the tool is not installed")


class BrokenRequired(Broken):
    id = "broken-required"
    required = True


def test_one_analyzer_failing_is_a_note_and_the_others_still_run(repo: git.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "ANALYZERS", dict(registry.ANALYZERS))
    registry.register(Broken())
    registry.register(LineCounter())
    root = Path(repo.working_tree_dir)
    result = service.review_changes(root, ReviewOptions(), FakeBackend(["[]"]), analyzers=["broken", "lines"])
    assert result.analyzers == ["lines"] and [f.rule for f in result.findings] == ["lines/changed"]
    assert "the broken analyzer did not run: the tool is not installed" in result.notes


def test_the_review_fails_closed_when_a_required_analyzer_or_every_analyzer_fails(
    repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "ANALYZERS", dict(registry.ANALYZERS))
    registry.register(Broken())
    registry.register(BrokenRequired())
    registry.register(LineCounter())
    root = Path(repo.working_tree_dir)
    with pytest.raises(ReviewIncomplete, match="broken-required analyzer failed"):
        service.review_changes(root, ReviewOptions(), FakeBackend(["[]"]), analyzers=["broken-required", "lines"])
    with pytest.raises(ReviewIncomplete, match="no analyzer could review"):
        service.review_changes(root, ReviewOptions(), FakeBackend(["[]"]), analyzers=["broken"])


def test_a_model_finding_without_support_is_lowered_to_info_unless_another_analyzer_reports_the_line() -> None:
    unsure = Finding(path="a.py", line=3, severity="error", category="bug", message="wrong bound", needs_corroboration=True)
    sure = Finding(path="a.py", line=9, severity="error", category="bug", message="wrong bound", confidence=0.9)
    alone = settle_corroboration(merge_duplicates([unsure, sure]))
    assert [(f.line, f.severity) for f in alone] == [(3, "info"), (9, "error")]
    ruff = Finding(path="a.py", line=3, severity="warning", category="style", message="F841", analyzer="ruff", rule="ruff/F841")
    together = settle_corroboration(merge_duplicates([unsure, ruff]))
    model = next(f for f in together if f.analyzer == "model")
    assert model.severity == "error" and model.corroborated_by == ["ruff"]


def test_merging_keeps_the_evidence_and_names_the_corroborating_analyzer() -> None:
    from lfcode.review.findings import Evidence

    tool = Finding(path="a.py", line=4, severity="warning", category="security", message="eval() added", analyzer="rules",
                   rule="rules/eval", evidence=Evidence(kind="quote", text='quotes "eval(x)"', quote="eval(x)", line=4))
    lint = Finding(path="a.py", line=4, severity="warning", category="security", message="Use of possibly insecure function",
                   analyzer="ruff", rule="ruff/S307", evidence=Evidence(kind="tool", text="ruff S307 (suspicious-eval-usage)", line=4))
    (merged,) = merge_duplicates([tool, lint])
    assert merged.evidence is not None and merged.corroborated_by in (["ruff"], ["rules"])
    assert merged.rule in ("rules/eval", "ruff/S307")
