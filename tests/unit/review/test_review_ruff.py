"""The ruff analyzer: what a change adds, on added lines, with the curated rules or the project's."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.review.analyzers.base import run_analyzers
from lfcode.review.analyzers.ruff import RUFF, has_project_config, severity_of
from lfcode.review.result import ReviewOptions
from tests.unit.review.gitutil import commit, isolated_git, make_repo, snapshot, write  # noqa: F401

BEFORE = """import os


def area(width, height):
    scale = 1
    return width * height
"""


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"shapes.py": BEFORE}, "first")
    yield r
    r.close()


def review(repo: git.Repo):
    return run_analyzers(repo.working_tree_dir, ReviewOptions(), FakeBackend(default="[]"), [RUFF])


def test_an_undefined_name_on_an_added_line_is_an_error_with_the_rule_as_evidence(repo: git.Repo) -> None:
    write(repo, {"shapes.py": BEFORE + "\n\ndef volume(width, height, depth):\n    return area(width, height) * dept\n"})
    result = review(repo)
    (finding,) = result.findings
    assert (finding.line, finding.severity, finding.rule, finding.analyzer) == (10, "error", "ruff/F821", "ruff")
    assert "dept" in finding.message
    assert finding.evidence is not None and finding.evidence.kind == "tool" and finding.evidence.text == "ruff F821 (undefined-name)"
    assert result.paths == ["shapes.py"]


def test_what_the_file_already_had_is_not_reported_even_on_reformatted_lines(repo: git.Repo) -> None:
    # The unused import and variable were there before: rewriting their lines adds nothing.
    write(repo, {"shapes.py": BEFORE.replace("scale = 1", "scale = 2  # bigger").replace("import os", "import os  # for later")})
    assert review(repo).findings == []


def test_a_second_copy_of_an_existing_problem_is_reported_once(repo: git.Repo) -> None:
    write(repo, {"shapes.py": BEFORE + "\n\ndef ratio(a, b):\n    scale = 1\n    return a / b\n"})
    findings = review(repo).findings
    assert [(f.rule, f.line, f.severity) for f in findings] == [("ruff/F841", 10, "warning")]


def test_a_rename_only_change_gives_nothing(repo: git.Repo) -> None:
    write(repo, {"shapes.py": BEFORE.replace("width", "w")})
    assert review(repo).findings == []


def test_the_projects_own_ruff_configuration_is_used(repo: git.Repo) -> None:
    commit(repo, {"ruff.toml": 'lint.select = ["E501"]\nline-length = 40\n'}, "config")
    write(repo, {"shapes.py": BEFORE + "\n\nLONG_NAME = 'a string that makes this line longer than forty'\nundefined_thing\n"})
    assert has_project_config(Path(repo.working_tree_dir), "shapes.py")
    findings = review(repo).findings
    assert [(f.rule, f.severity, f.category) for f in findings] == [("ruff/E501", "info", "style")]


def test_ruff_never_changes_the_repository(repo: git.Repo) -> None:
    write(repo, {"shapes.py": BEFORE + "import sys\n"})
    root = Path(repo.working_tree_dir)
    before = snapshot(root)
    review(repo)
    assert snapshot(root) == before and not (root / ".ruff_cache").exists()


@pytest.mark.parametrize(("code", "expected"), [
    ("F821", ("error", "bug")), ("PLE0101", ("error", "bug")), ("F841", ("warning", "bug")),
    ("B006", ("warning", "bug")), ("S602", ("warning", "security")), ("E501", ("info", "style")),
    ("PERF401", ("info", "performance")), ("syntax-error", ("error", "bug")),
])
def test_severity_follows_the_kind_of_rule(code: str, expected: tuple[str, str]) -> None:
    assert severity_of(code) == expected
