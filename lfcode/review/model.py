"""Review a git diff hunk by hunk with a local model: the ``model`` analyzer.

For each hunk the model gets a prompt (:mod:`lfcode.review.model_prompt`: a completion prompt
for a base model such as the embedded Gemma 3 270M, chat messages for a model with a chat
template) and answers under the JSON schema :data:`~lfcode.review.findings.FINDINGS_SCHEMA` (a
llama.cpp grammar, so the answer always parses); answers that still fail to validate count as
no findings plus a note. A finding is kept only when it shows evidence: a ``quote`` found on an
added line of the hunk (:func:`lfcode.review.grounding.ground`). Its confidence comes from the
model's own token probabilities; a ``warning`` or ``error`` the probabilities do not support
(or that a backend without probabilities reported) is marked ``needs_corroboration``, and the
review lowers it to ``info`` unless another analyzer reports the same line. Findings that copy
an example's message from the prompt are dropped too (small models parrot them).

The diff is data: nothing in it is executed and the repository is only read (see
:mod:`lfcode.review.diff`). Pure and synchronous; a caller may run it in a worker thread and stop it
with ``cancel`` (it then raises :class:`~lfcode.errors.Cancelled`, like every other feature).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lfcode.backends.base import Backend, GenerationRequest
from lfcode.errors import CancelToken, raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, ReviewIncomplete, Rule, run_analyzers
from lfcode.review.context import HunkContext, ParsedSource, context_for_hunk, language_for, parse_source
from lfcode.review.diff import DiffResult, ReviewError
from lfcode.review.findings import CATEGORIES, FINDINGS_SCHEMA, Finding, drop_parroted
from lfcode.review.grounding import CONFIDENCE_THRESHOLD, Candidate, ground, read_answer
from lfcode.review.hunks import Hunk
from lfcode.review.model_prompt import (
    COMPLETION_TEMPLATE,
    CHAT_TEMPLATE,
    ReviewPrompt,
    build_prompt,
    check_fits,
    example_messages,
    load_template,
    plan,
    prompt_for,
    render_hunk,
)
from lfcode.review.result import ProgressCallback, ReviewOptions, ReviewResult
from lfcode.review.sources import read_new_source, syntax_unchanged

__all__ = [
    "ModelAnalyzer",
    "PieceReview",
    "ProgressCallback",
    "ReviewError",
    "ReviewIncomplete",
    "ReviewOptions",
    "ReviewResult",
    "build_prompt",
    "example_messages",
    "load_template",
    "render_hunk",
    "review",
    "review_piece",
]

_STOP = ["\n### "]


@dataclass
class PieceReview:
    """What the model said about one hunk piece.

    Attributes:
        answer: the model's raw answer text.
        findings: the findings kept: grounded by their quote, confidence set (see :func:`ground`).
        problem: what was wrong with the answer (``None`` when it read cleanly).
        readable: the answer could be read (findings, or no problem).
        candidates: every finding read from the answer, before the checks.
        parroted: findings dropped for copying a prompt example's message.
        ungrounded: findings dropped for a quote missing from the added lines near the cited line.
        probabilities: the ``(text, probability)`` pairs the backend reported per token (none
            when it has no probabilities).
    """

    answer: str
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None
    readable: bool = True
    candidates: list[Candidate] = field(default_factory=list)
    parroted: int = 0
    ungrounded: int = 0
    probabilities: list[tuple[str, float]] = field(default_factory=list)


def review_piece(
    backend: Backend,
    prompt: ReviewPrompt,
    piece: Hunk,
    text: str,
    options: ReviewOptions,
    cancel: CancelToken,
    examples: list[str] | None = None,
) -> PieceReview:
    """Ask the model about one hunk ``piece`` with the filled prompt ``text`` (from
    :func:`~lfcode.review.model_prompt.plan`) and keep what it can show.

    The answer is read (:func:`~lfcode.review.grounding.read_answer`), findings copying one of
    ``examples`` (example messages of the prompt) are dropped, and the rest are grounded on the
    piece's added lines (``options.clamp_distance``) with their confidence. The caller checks
    ``cancel`` afterwards: a cancelled generation returns what it had.

    Raises:
        lfcode.backends.base.BackendError: the model failed.
    """
    probabilities: list[tuple[str, float]] = []
    request = GenerationRequest(prompt="" if prompt.chat else text, json_schema=FINDINGS_SCHEMA,
                                max_tokens=options.max_tokens, temperature=0.0, stop=list(_STOP),
                                on_token=lambda token, p: probabilities.append((token, p)), feature="review")
    stream = backend.chat(prompt.messages(text), request, cancel) if prompt.chat else backend.complete(request, cancel)
    answer = "".join(stream)
    candidates, problem = read_answer(answer, piece.path, probabilities)
    result = PieceReview(answer, problem=problem, readable=bool(candidates) or not problem,
                         candidates=candidates, probabilities=probabilities)
    kept, result.parroted = drop_parroted([c.finding for c in candidates], examples or [])
    for candidate in candidates:
        if any(candidate.finding is k for k in kept):
            grounded = ground(candidate, piece, options.clamp_distance)
            if grounded is None:
                result.ungrounded += 1
            else:
                result.findings.append(grounded)
    return result


def review(
    repo_path: str | Path,
    options: ReviewOptions | None,
    backend: Backend,
    progress_callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ReviewResult:
    """Review the changes in the repository containing ``repo_path`` with the model analyzer
    alone (:func:`lfcode.review.service.review_changes` runs every registered analyzer).

    Args:
        repo_path: a directory inside the working tree; relative ``options.paths`` start here.
        options: which diff and how (defaults: :class:`ReviewOptions`).
        backend: any :class:`~lfcode.backends.base.Backend`; it is called once per hunk piece.
        progress_callback: ``callback(done, total)`` counted in hunks.
        cancel: the :data:`~lfcode.errors.CancelToken`; when set, the running generation
            stops, no further hunk is reviewed and :class:`~lfcode.errors.Cancelled` is raised
            (nothing is returned: a front end shows no partial findings).

    Returns:
        A :class:`ReviewResult`; findings the model's probabilities do not support are ``info``.

    Raises:
        ReviewError: not a repository, bad revision or options, unusable prompt template, or a
            context window too small for the prompt.
        ReviewIncomplete: there were hunks, but no answer for any of them could be read (the
            review fails closed).
        lfcode.errors.Cancelled: ``cancel`` was set; the message says where the review stopped
            (``review cancelled after N of M hunks``).
        lfcode.backends.base.BackendError: the model failed.
    """
    return run_analyzers(repo_path, options, backend, [MODEL], progress_callback, cancel)


#: The SARIF rule text of each category the model reports: name, description, default level.
_RULE_TEXT = {
    "bug": ("Bug", "A change that makes the code behave incorrectly.", "error"),
    "security": ("Security", "A change that introduces a vulnerability.", "error"),
    "performance": ("Performance", "A change that makes the code needlessly slow or wasteful.",
                    "warning"),
    "style": ("Style", "A readability or convention problem in the change.", "note"),
    "test": ("Test", "Missing, wrong or weakened tests for the change.", "warning"),
}


def _rule(category: str) -> Rule:
    # A category without a rule text still gets a rule (no KeyError when one is added).
    name, text, level = _RULE_TEXT.get(category, (category.capitalize(), f"Findings of the {category} category.", "warning"))
    return Rule(f"model/{category}", name, text, level, category)


class ModelAnalyzer:
    """The model as a review analyzer (id ``model``; see the module docstring for what it does).

    Stateless: one instance serves concurrent reviews.
    """

    id = "model"
    name = "Model review"
    description = ("Asks the local model about each changed hunk, with its tree-sitter context; keeps "
                   "findings that quote an added line, at info unless its token probabilities support them.")
    rules: tuple[Rule, ...] = tuple(_rule(category) for category in CATEGORIES)
    required = False

    def check(self, options: ReviewOptions) -> None:
        """Load the prompt templates before git runs (raises :class:`ReviewError` when unusable)."""
        load_template(options.template, COMPLETION_TEMPLATE)
        load_template(options.template, CHAT_TEMPLATE)

    def analyze(self, context: DiffContext) -> Analysis:
        """Ask the model about every hunk of ``context.diff`` (see :func:`review` for the errors).

        The cancel token is checked before each hunk and after each generation (the backend
        checks it after every token); once it is set, :class:`~lfcode.errors.Cancelled` is raised.
        """
        options, backend, cancel = context.options, context.backend, context.cancel
        progress_callback, diff = context.progress, context.diff
        prompt = prompt_for(backend, options.template)
        notes: list[str] = []
        budget = backend.capabilities.n_ctx - options.max_tokens - 8
        check_fits(prompt, backend, budget, options.max_tokens)
        files = context.files()
        # Formatting or comments only: the syntax tree proves nothing the code does changed.
        same = [f for f in files if syntax_unchanged(diff, f)]
        if same:
            notes.append(f"{len(same)} file(s) whose syntax tree did not change (formatting or comments only) "
                         "were not sent to the model")
        jobs = [(f.path, h) for f in files if f not in same for h in f.hunks]
        notes.extend(f"{f.path}: deleted file, not reviewed" for f in diff.files
                     if f.status == "deleted" and not f.skipped)
        sources = _SourceCache(diff, options.use_context)
        result = Analysis()
        examples = example_messages(prompt.template)
        ungrounded = parroted = readable = weak = 0

        def stop_if_cancelled() -> None:
            raise_if_cancelled(cancel, f"review cancelled after {result.hunks_reviewed} of {len(jobs)} hunks")

        if progress_callback:
            progress_callback(0, len(jobs))
        for done, (path, hunk) in enumerate(jobs, 1):
            stop_if_cancelled()
            for piece, text in plan(hunk, prompt, backend, budget, sources.context, notes):
                answer = review_piece(backend, prompt, piece, text, options, cancel, examples)
                stop_if_cancelled()
                if answer.problem:
                    notes.append(f"{path}:{piece.new_start}: {answer.problem}; no findings kept from it")
                readable += answer.readable
                parroted += answer.parroted
                ungrounded += answer.ungrounded
                weak += sum(f.needs_corroboration for f in answer.findings)
                result.findings.extend(answer.findings)
            result.hunks_reviewed += 1
            if path not in result.paths:
                result.paths.append(path)
            if progress_callback:
                progress_callback(done, len(jobs))
        stop_if_cancelled()  # set during the last progress report: still a cancelled review
        if jobs and not readable:
            raise ReviewIncomplete(f"the model gave no readable answer for any of the {len(jobs)} hunk(s)")
        if ungrounded:
            notes.append(f"{ungrounded} finding(s) that quoted no added line near the cited one were dropped")
        if parroted:
            notes.append(f"{parroted} finding(s) that only repeated the prompt's examples were dropped")
        if weak:
            notes.append(f"{weak} model finding(s) below confidence {CONFIDENCE_THRESHOLD} (the model's own "
                         "token probabilities) stay warnings or errors only if another analyzer reports "
                         "the same line, otherwise info")
        result.notes = notes
        return result


#: The one model analyzer (registered as ``model`` in :mod:`lfcode.review.analyzers.registry`).
MODEL = ModelAnalyzer()


class _SourceCache:
    """New-side files, read and parsed once per file, for tree-sitter context."""

    def __init__(self, diff: DiffResult, enabled: bool) -> None:
        self.diff, self.enabled = diff, enabled
        self._parsed: dict[str, ParsedSource | None] = {}

    def context(self, hunk: Hunk) -> HunkContext | None:
        if not self.enabled or language_for(hunk.path) is None:
            return None
        if hunk.path not in self._parsed:
            source = read_new_source(self.diff, hunk.path)
            self._parsed[hunk.path] = parse_source(hunk.path, source)
        return context_for_hunk(self._parsed[hunk.path], hunk)
