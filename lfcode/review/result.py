"""What a review is asked to do and what it returns, shared by every analyzer.

:class:`ReviewOptions` (which diff and how), :class:`ReviewResult` (findings, notes and what was
covered) and :data:`ProgressCallback`. They live apart from :mod:`lfcode.review.model` so that the
analyzer interface (:mod:`lfcode.review.analyzers.base`) and the reports can use them without
importing the model analyzer.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from lfcode.review.diff import DiffSpec
from lfcode.review.findings import Finding

__all__ = ["ProgressCallback", "ReviewOptions", "ReviewResult"]

#: ``callback(done, total)`` after each hunk (and once with ``done=0`` before the first).
ProgressCallback = Callable[[int, int], None]


class ReviewOptions(DiffSpec):
    """What to review (the :class:`~lfcode.review.diff.DiffSpec` fields) and how.

    ``max_tokens`` caps each answer, in model tokens; ``use_context`` turns the tree-sitter
    context on; ``template`` is a prompt template file (default ``prompts/review.txt``);
    ``clamp_distance`` is how many lines away from the line a model finding cites the added line
    holding its quote may be (the finding then moves there; see
    :func:`lfcode.review.grounding.ground`); ``model_calls`` lets the behaviour diff ask the model
    for calls reaching changed lines nothing else ran (off by default: with the embedded model it
    found nothing more and cost seconds per hunk, see the README).
    """

    max_tokens: int = Field(default=256, ge=16)
    use_context: bool = True
    template: str | None = None
    clamp_distance: int = Field(default=3, ge=0)
    model_calls: bool = False


class ReviewResult(BaseModel):
    """The outcome of a review (:func:`lfcode.review.service.review_changes`).

    ``findings`` are merged and sorted by path and line; ``notes`` are human-readable remarks
    (skipped files, unreadable answers, hunks too long for the model); ``paths`` are the
    repo-relative files whose hunks were reviewed (an editor clears diagnostics on them);
    ``root`` is the absolute working tree; ``description`` says what was compared;
    ``analyzers`` the ids of the analyzers that ran to the end.
    """

    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    files_reviewed: int = 0
    hunks_reviewed: int = 0
    paths: list[str] = Field(default_factory=list)
    root: str = ""
    description: str = ""
    analyzers: list[str] = Field(default_factory=list)
