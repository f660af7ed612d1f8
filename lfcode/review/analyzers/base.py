"""The review analyzer interface and the loop that runs analyzers over one diff.

An analyzer is given a :class:`DiffContext` (the collected :class:`~lfcode.review.diff.DiffResult`,
the options, the backend, progress and cancel) and returns an :class:`Analysis`: findings plus
notes and which hunks and files it covered. It declares the SARIF reporting descriptors of the
categories it reports as :class:`Rule` records (``tool.driver.rules``, see
:mod:`lfcode.review.report_sarif`). :func:`run_analyzers` collects the diff once, runs the
analyzers in order and merges their answers into one :class:`~lfcode.review.result.ReviewResult`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lfcode.backends.base import Backend
from lfcode.errors import CancelToken, raise_if_cancelled
from lfcode.review.diff import DiffResult, collect_diff
from lfcode.review.findings import Finding, merge_duplicates
from lfcode.review.result import ProgressCallback, ReviewOptions, ReviewResult

__all__ = ["Analysis", "Analyzer", "DiffContext", "Rule", "run_analyzers"]


@dataclass(frozen=True)
class Rule:
    """One SARIF reporting descriptor: findings of ``category`` (rule id ``lfcode/<category>``),
    its ``name``, one-sentence ``description`` and default SARIF ``level``
    (``error``, ``warning`` or ``note``)."""

    category: str
    name: str
    description: str
    level: str


@dataclass
class DiffContext:
    """What an analyzer reviews.

    Attributes:
        repo_path: the directory the review was started in (relative ``options.paths`` start here).
        diff: the collected diff (files, hunks, new-side sources; :func:`~lfcode.review.diff.collect_diff`).
        options: the review options.
        backend: the model, for analyzers that ask one.
        progress: ``progress(done, total)`` counted in hunks, or ``None``.
        cancel: set when the user cancelled; an analyzer stops and raises
            :class:`~lfcode.errors.Cancelled` (:func:`~lfcode.errors.raise_if_cancelled`) instead
            of returning what it has.
    """

    repo_path: Path
    diff: DiffResult
    options: ReviewOptions
    backend: Backend
    progress: ProgressCallback | None
    cancel: CancelToken


@dataclass
class Analysis:
    """What one analyzer found: ``findings`` (not yet merged), human-readable ``notes``, and the
    number of hunks and the repo-relative ``paths`` it reviewed (in review order)."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hunks_reviewed: int = 0
    paths: list[str] = field(default_factory=list)


class Analyzer(Protocol):
    """A review analyzer (register one with :func:`lfcode.review.analyzers.registry.register`).

    Attributes:
        id: the registry key, e.g. ``"model"``.
        name: a short human name.
        description: one sentence on what it looks for.
        rules: the :class:`Rule` of each finding category it reports.
    """

    id: str
    name: str
    description: str
    rules: tuple[Rule, ...]

    def check(self, options: ReviewOptions) -> None:
        """Validate ``options`` before the diff is collected (git runs); raise
        :class:`~lfcode.review.diff.ReviewError` when they cannot work."""
        ...

    def analyze(self, context: DiffContext) -> Analysis:
        """Review ``context.diff`` (blocking); raise a :class:`~lfcode.errors.LfcodeError`
        subclass when the review failed, and :class:`~lfcode.errors.Cancelled` once
        ``context.cancel`` is set."""
        ...


def run_analyzers(
    repo_path: str | Path,
    options: ReviewOptions | None,
    backend: Backend,
    analyzers: Sequence[Analyzer],
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ReviewResult:
    """Check the options with every analyzer, collect the diff once, run ``analyzers`` in order
    and merge their answers.

    The result's notes are the diff's notes followed by each analyzer's; its findings are all
    analyzers' findings through :func:`~lfcode.review.findings.merge_duplicates`; ``paths``
    is the union in first-reviewed order and ``hunks_reviewed`` the most any analyzer reviewed.
    ``cancel`` is checked before the diff is collected and after every analyzer as well, so a
    cancelled review never returns a result, even when an analyzer ignores the token.

    Raises:
        lfcode.review.diff.ReviewError: not a repository, bad revision or options, or whatever an
            analyzer raises (see :func:`lfcode.review.model.review` for the model's).
        lfcode.errors.Cancelled: ``cancel`` was set (raised by the analyzer that saw it, else here).
    """
    options = options or ReviewOptions()
    cancel = cancel or threading.Event()
    for analyzer in analyzers:
        analyzer.check(options)
    raise_if_cancelled(cancel, "review cancelled before it started")
    diff = collect_diff(repo_path, options)
    context = DiffContext(Path(repo_path), diff, options, backend, progress, cancel)
    result = ReviewResult(root=diff.root, description=diff.description)
    notes, found = list(diff.notes), []
    for analyzer in analyzers:
        analysis = analyzer.analyze(context)
        raise_if_cancelled(cancel, f"review cancelled during the {analyzer.id} analyzer")
        found.extend(analysis.findings)
        notes.extend(analysis.notes)
        result.hunks_reviewed = max(result.hunks_reviewed, analysis.hunks_reviewed)
        for path in analysis.paths:
            if path not in result.paths:
                result.paths.append(path)
    result.findings = merge_duplicates(found)
    result.files_reviewed = len(result.paths)
    result.notes = notes
    return result
