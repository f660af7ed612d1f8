"""Review, as one service shared by ``lfcode review`` and the ``lfcode.review`` LSP command.

The steps: find the repository (:func:`repository_root`), choose the diff and ask the model per
hunk (:func:`review_changes`, blocking: git and the model), then report (:func:`report` for the
CLI's text/JSON/SARIF, :func:`exit_code`; the LSP publishes diagnostics instead).
:func:`review_changes` runs the registered analyzers (:mod:`lfcode.review.analyzers.registry`):
secrets, tree-sitter rules, ruff, the behaviour diff and the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lfcode.backends.base import Backend
from lfcode.errors import CancelToken
from lfcode.review import findings
from lfcode.review.analyzers import registry
from lfcode.review.analyzers.base import run_analyzers
from lfcode.review.diff import open_repo
from lfcode.review.result import ProgressCallback, ReviewOptions, ReviewResult
from lfcode.review.report_text import format_result


def repository_root(here: Path) -> Path:
    """The working tree holding ``here``.

    Raises:
        lfcode.review.diff.ReviewError: ``here`` is not inside a git repository.
    """
    return Path(open_repo(here).working_tree_dir or here)


def review_changes(
    root: Path,
    options: ReviewOptions | None,
    backend: Backend,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    analyzers: Sequence[str] | None = None,
    sandbox: str = "required",
) -> ReviewResult:
    """Review the changes ``options`` choose in the repository at ``root`` with the analyzers
    named by ``analyzers`` (ids in :data:`lfcode.review.analyzers.registry.ANALYZERS`; all when
    ``None``). Blocking: git, ruff, sandboxed runs, and for the model one call per hunk piece;
    ``progress(done, total)`` counts hunks; ``sandbox`` is the machine-level setting
    (``"required"`` or ``"off"``) for the behaviour diff.

    Raises:
        lfcode.review.diff.ReviewError: not a repository, bad revision, unusable template,
            unknown analyzer id, ...
        lfcode.review.analyzers.base.ReviewIncomplete: the secrets analyzer failed, or no
            analyzer could run (fail closed).
        lfcode.errors.Cancelled: ``cancel`` was set (no partial result is returned).
    """
    return run_analyzers(root, options, backend, registry.select(analyzers), progress, cancel, sandbox)


def combine(results: Sequence[ReviewResult]) -> ReviewResult:
    """One result for several reviews of the same repository (the ranges of one push): findings,
    notes, paths and analyzers joined in order, counts added, descriptions joined with ``"; "``.

    Raises:
        ValueError: ``results`` is empty.
    """
    if not results:
        raise ValueError("no review results to combine")
    first = results[0].model_copy(deep=True)
    for other in results[1:]:
        first.findings += [f for f in other.findings if f not in first.findings]
        first.notes += [n for n in other.notes if n not in first.notes]
        first.paths += [p for p in other.paths if p not in first.paths]
        first.analyzers += [a for a in other.analyzers if a not in first.analyzers]
        first.hunks_reviewed += other.hunks_reviewed
        first.description += f"; {other.description}"
    first.files_reviewed = len(first.paths)
    first.findings = findings.sort_findings(first.findings)
    return first


def report(result: ReviewResult, fmt: str, *, color: bool = False, tool_version: str = "0") -> str:
    """The result as ``text``, ``json`` or ``sarif`` (see :func:`lfcode.review.report_text.format_result`)."""
    return format_result(result, fmt, color=color, tool_version=tool_version)


def exit_code(result: ReviewResult, fail_on: findings.FailOn) -> int:
    """1 when a finding is at or above ``fail_on`` (``never`` never), else 0."""
    return findings.exit_code(result.findings, fail_on)


__all__ = ["ReviewOptions", "ReviewResult", "combine", "exit_code", "report", "repository_root", "review_changes"]
