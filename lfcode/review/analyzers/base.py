"""The review analyzer interface and the loop that runs analyzers over one diff.

An analyzer is given a :class:`DiffContext` (the collected :class:`~lfcode.review.diff.DiffResult`,
the options, the backend, progress and cancel) and returns an :class:`Analysis`: findings plus
notes and which hunks and files it covered. It declares the SARIF reporting descriptors of the
rules it reports as :class:`Rule` records (``tool.driver.rules``, see
:mod:`lfcode.review.report_sarif`). :func:`run_analyzers` collects the diff once, runs the
analyzers (the model beside the others), merges their answers into one
:class:`~lfcode.review.result.ReviewResult`, keeps unsupported model findings at ``info`` unless
another analyzer corroborates them, and masks any credential in the findings' texts. One
analyzer failing is a note; a required one failing, or all of them, fails the review closed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lfcode.backends.base import Backend
from lfcode.errors import Cancelled, CancelToken, LfcodeError, raise_if_cancelled
from lfcode.review.diff import DiffResult, FileDiff, ReviewError, collect_diff
from lfcode.review.findings import Finding, merge_duplicates
from lfcode.review.hunks import Hunk
from lfcode.review.result import ProgressCallback, ReviewOptions, ReviewResult

__all__ = ["Analysis", "Analyzer", "DiffContext", "ReviewIncomplete", "Rule", "run_analyzers", "settle_corroboration"]


class ReviewIncomplete(ReviewError):
    """The review could not establish that the changes are safe to push: a required analyzer
    failed, no analyzer ran, or the model gave no readable answer for any hunk. A gate must not
    pass (the CLI exits 2)."""


@dataclass(frozen=True)
class Rule:
    """One SARIF reporting descriptor (SARIF 2.1.0 §3.49): the rule ``id`` findings carry as
    :attr:`~lfcode.review.findings.Finding.rule` (``"<analyzer>/<name>"``), its ``name``,
    one-sentence ``description``, default SARIF ``level`` (``error``, ``warning`` or ``note``)
    and the finding ``category`` it reports."""

    id: str
    name: str
    description: str
    level: str
    category: str = "bug"


@dataclass
class DiffContext:
    """What an analyzer reviews.

    Attributes:
        repo_path: the directory the review was started in (relative ``options.paths`` start here).
        diff: the collected diff (files, hunks, new-side sources; :func:`~lfcode.review.diff.collect_diff`).
        options: the review options.
        backend: the model, for analyzers that ask one; an
            :class:`~lfcode.backends.base.UnavailableBackend` when it could not be loaded (such
            an analyzer fails with a note, and the others run).
        sandbox: ``"required"`` or ``"off"`` (the machine-level setting) for analyzers that run
            project code (:mod:`lfcode.execution`).
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
    sandbox: str = "required"

    def files(self, suffixes: tuple[str, ...] = (), modified_only: bool = False) -> list[FileDiff]:
        """The reviewed files with hunks: not skipped, not deleted (with ``modified_only``, only
        modified or renamed ones, which have an old side), ending with one of ``suffixes`` when
        given (``(".py",)``)."""
        wanted = ("modified", "renamed") if modified_only else ("added", "modified", "renamed")
        return [f for f in self.diff.files if not f.skipped and f.status in wanted and f.hunks
                and (not suffixes or f.path.endswith(suffixes))]

    def jobs(self) -> list[tuple[FileDiff, Hunk]]:
        """``(file, hunk)`` for every hunk of every reviewed (not skipped, not deleted) file."""
        return [(f, h) for f in self.files() for h in f.hunks]


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
        rules: the :class:`Rule` of each rule it reports (an analyzer whose rules are open-ended,
            like ruff's, lists a few; the SARIF report describes the others from their findings).
        required: its failure fails the whole review closed (the secrets analyzer); any other
            analyzer's failure is a note and the rest still run.
    """

    id: str
    name: str
    description: str
    rules: tuple[Rule, ...]
    required: bool

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
    sandbox: str = "required",
) -> ReviewResult:
    """Check the options with every analyzer, collect the diff once, run ``analyzers`` (the
    model in a thread beside the others: :func:`_run_all`) and merge their answers in order.

    The result's notes are the diff's notes followed by each analyzer's; its findings are all
    analyzers' findings through :func:`~lfcode.review.findings.merge_duplicates`, then
    :func:`settle_corroboration`, with every credential in their texts masked; ``paths`` is the
    union in first-reviewed order and ``hunks_reviewed`` the most any analyzer reviewed; ``analyzers`` the ids that ran to the
    end. ``cancel`` is checked before the diff is collected and after every analyzer as well, so
    a cancelled review never returns a result, even when an analyzer ignores the token.

    An analyzer that raises :class:`~lfcode.errors.LfcodeError` (its model is missing, ruff is not
    installed, no sandbox, ...) leaves a note and the others still run; the review fails closed
    only when a ``required`` analyzer failed or, with changes to review, none ran to the end.

    Raises:
        lfcode.review.diff.ReviewError: not a repository, bad revision or options.
        ReviewIncomplete: a required analyzer failed, or every analyzer did (the message says why).
        lfcode.errors.Cancelled: ``cancel`` was set (raised by the analyzer that saw it, else here).
    """
    options = options or ReviewOptions()
    cancel = cancel or threading.Event()
    for analyzer in analyzers:
        analyzer.check(options)
    raise_if_cancelled(cancel, "review cancelled before it started")
    diff = collect_diff(repo_path, options)
    context = DiffContext(Path(repo_path), diff, options, backend, progress, cancel, sandbox)
    result = ReviewResult(root=diff.root, description=diff.description)
    notes, found, failures = list(diff.notes), [], []
    for analyzer, outcome in zip(analyzers, _run_all(analyzers, context)):
        if isinstance(outcome, Cancelled):
            raise outcome
        if isinstance(outcome, LfcodeError):
            raise_if_cancelled(cancel, f"review cancelled during the {analyzer.id} analyzer")
            if analyzer.required:
                raise ReviewIncomplete(f"the {analyzer.id} analyzer failed ({outcome}); it must run for a review to pass") from outcome
            failures.append(f"{analyzer.id}: {outcome}")
            notes.append(f"the {analyzer.id} analyzer did not run: {outcome}")
            continue
        raise_if_cancelled(cancel, f"review cancelled during the {analyzer.id} analyzer")
        result.analyzers.append(analyzer.id)
        found.extend(outcome.findings)
        notes.extend(outcome.notes)
        result.hunks_reviewed = max(result.hunks_reviewed, outcome.hunks_reviewed)
        for path in outcome.paths:
            if path not in result.paths:
                result.paths.append(path)
    if failures and not result.analyzers and context.jobs():
        raise ReviewIncomplete("no analyzer could review the changes: " + "; ".join(failures))
    result.findings = [_redacted(f) for f in settle_corroboration(merge_duplicates(found))]
    result.files_reviewed = len(result.paths)
    result.notes = notes
    return result


#: The analyzer that runs in its own thread beside the others: it is bound by the model, they by
#: subprocesses (ruff, the sandbox), so on a laptop the two overlap.
_BESIDE = "model"


def _run_all(analyzers: Sequence[Analyzer], context: DiffContext) -> list[Analysis | LfcodeError]:
    """Each analyzer's :class:`Analysis`, or the :class:`~lfcode.errors.LfcodeError` it raised
    (:class:`~lfcode.errors.Cancelled` included), in order. The model analyzer runs in a thread
    beside the others; every use of the backend is serialised (:class:`_Serialized`), as a
    behaviour diff may ask the model too."""
    beside = [a for a in analyzers if a.id == _BESIDE]
    if beside and len(analyzers) > 1:
        context = dataclasses.replace(context, backend=_Serialized(context.backend))
    with ThreadPoolExecutor(max_workers=1) as pool:
        futures = {id(a): pool.submit(_run_one, a, context) for a in beside}
        outcomes = {id(a): _run_one(a, context) for a in analyzers if a.id != _BESIDE}
        outcomes.update({key: future.result() for key, future in futures.items()})
    return [outcomes[id(a)] for a in analyzers]


def _run_one(analyzer: Analyzer, context: DiffContext) -> Analysis | LfcodeError:
    try:
        return analyzer.analyze(context)
    except LfcodeError as exc:
        return exc


class _Serialized:
    """A backend whose calls take turns (llama.cpp models are not thread-safe): a generation
    holds the lock until its stream is exhausted or closed."""

    def __init__(self, inner: Backend) -> None:
        self.inner, self._lock = inner, threading.Lock()

    @property
    def capabilities(self):
        return self.inner.capabilities

    def tokenize(self, text: str) -> list[int]:
        with self._lock:
            return self.inner.tokenize(text)

    def complete(self, request, cancel):
        with self._lock:
            yield from self.inner.complete(request, cancel)

    def chat(self, messages, request, cancel):
        with self._lock:
            yield from self.inner.chat(messages, request, cancel)

    def close(self) -> None:
        self.inner.close()


def _redacted(finding: Finding) -> Finding:
    """``finding`` with any credential in its texts masked (a model may quote one, a behaviour
    diff may show one returned): a secret never reaches a report, whichever analyzer saw it."""
    from lfcode.review.analyzers.secrets import redact_secrets

    update: dict = {"message": redact_secrets(finding.message)}
    if finding.suggestion:
        update["suggestion"] = redact_secrets(finding.suggestion)
    if finding.evidence is not None:
        fields = ("text", "quote", "call", "before", "after")
        update["evidence"] = finding.evidence.model_copy(update={
            name: redact_secrets(value) for name in fields if isinstance(value := getattr(finding.evidence, name), str)})
    return finding.model_copy(update=update)


def settle_corroboration(findings: Sequence[Finding]) -> list[Finding]:
    """Lower to ``info`` every finding marked ``needs_corroboration`` (a model finding its own
    token probabilities do not support) that no other analyzer reported on the same place
    (``corroborated_by`` is filled by :func:`~lfcode.review.findings.merge_duplicates`, and a
    finding of another analyzer on an overlapping line range counts too)."""
    out = []
    for f in findings:
        if f.needs_corroboration and f.severity != "info" and not f.corroborated_by:
            others = [g for g in findings if g is not f and g.path == f.path and g.analyzer != f.analyzer
                      and g.line <= (f.end_line or f.line) and f.line <= (g.end_line or g.line)]
            if others:
                f = f.model_copy(update={"corroborated_by": sorted({g.analyzer for g in others})})
            else:
                f = f.model_copy(update={"severity": "info"})
        out.append(f)
    return out
