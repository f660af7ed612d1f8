"""Review a git diff hunk by hunk with a local model.

For each hunk a completion-style prompt is built from ``prompts/review.txt`` (``string.Template``
placeholders ``$path``, ``$context``, ``$hunk``; it ends where the JSON answer begins, because
the embedded model is a base model without a chat template). The model answers under the JSON
schema :data:`~lfcode.review.findings.FINDINGS_SCHEMA` (a llama.cpp grammar, so the answer always
parses); answers that still fail to validate count as no findings plus a note. Findings that
copy a few-shot example's message are dropped (small models parrot them), the rest are kept only
on the hunk's changed lines, then merged.

The diff is data: nothing in it is executed and the repository is only read (see
:mod:`lfcode.review.diff`). Pure and synchronous; a caller may run it in a worker thread and stop it
with ``cancel`` (it then raises :class:`~lfcode.errors.Cancelled`, like every other feature).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from pathlib import Path

from lfcode import templates
from lfcode.backends.base import Backend, GenerationRequest, count_tokens
from lfcode.context.budget import first_within
from lfcode.errors import CancelToken, raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule, run_analyzers
from lfcode.review.diff import DiffResult, ReviewError, read_new_source
from lfcode.review.findings import (
    CATEGORIES,
    FINDINGS_SCHEMA,
    clamp_to_hunk,
    drop_parroted,
    parse_model_output,
)
from lfcode.review.hunks import Hunk, split_hunk
from lfcode.review.context import (
    HunkContext,
    ParsedSource,
    context_for_hunk,
    language_for,
    parse_source,
)
from lfcode.review.result import ProgressCallback, ReviewOptions, ReviewResult

__all__ = [
    "ModelAnalyzer",
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
]

_PLACEHOLDERS = {"path", "context", "hunk"}
_MAX_LINE_CHARS = 400
_STOP = ["\n### "]
_EXAMPLE_MESSAGE = re.compile(r'"message":\s*("(?:[^"\\]|\\.)*")')


class ReviewIncomplete(ReviewError):
    """The diff has hunks but the model gave no readable answer for any of them: nothing was
    reviewed, and a gate must not pass (the CLI exits 2)."""


def example_messages(template: string.Template) -> list[str]:
    """The ``"message"`` texts of the few-shot examples written in ``template``."""
    out = []
    for m in _EXAMPLE_MESSAGE.finditer(template.template):
        try:
            out.append(json.loads(m.group(1)))
        except json.JSONDecodeError:
            continue
    return out


def load_template(path: str | Path | None = None) -> string.Template:
    """Load and check a review prompt template: ``path``, or the shipped ``review.txt``.

    The shipped one is found through :mod:`lfcode.templates` (wheel or source tree).

    Raises:
        ReviewError: the file cannot be read, lacks one of ``$path``, ``$context``, ``$hunk``,
            or uses another placeholder.
    """
    file = Path(path) if path else "review.txt"
    try:
        template = (string.Template(Path(path).read_text(encoding="utf-8")) if path
                    else templates.load_template("review.txt")[0])
    except OSError as exc:
        raise ReviewError(f"cannot read prompt template {file}: {exc.strerror}") from exc
    except templates.TemplateError as exc:
        raise ReviewError(str(exc)) from exc
    names = set()
    for m in template.pattern.finditer(template.template):
        if m.group("invalid") is not None:
            raise ReviewError(f"prompt template {file}: stray '$' (write $$ for a dollar sign)")
        names.add(m.group("named") or m.group("braced"))
    names.discard(None)
    if names != _PLACEHOLDERS:
        missing, extra = _PLACEHOLDERS - names, names - _PLACEHOLDERS
        raise ReviewError(f"prompt template {file}: missing {sorted(missing)}, unknown {sorted(extra)}")
    return template


def render_hunk(hunk: Hunk, max_line_chars: int = _MAX_LINE_CHARS) -> str:
    """The hunk as the prompt shows it: ``"   12 + text"`` (new line number; none for ``-``)."""
    out = []
    for _old, new, line in hunk.numbered():
        tag, text = line[:1] or " ", line[1:]
        if len(text) > max_line_chars:
            text = text[:max_line_chars] + " [...]"
        number = f"{new:>5}" if tag != "-" else "     "
        out.append(f"{number} {tag} {text}")
    return "\n".join(out)


def _render_context(ctx: HunkContext | None, signatures: bool = True) -> str:
    if ctx is None or (ctx.enclosing is None and not (signatures and ctx.signatures)):
        return "(none)"
    parts = [f"(inside {h})" for h in ctx.outer]
    if ctx.enclosing:
        parts.append(ctx.enclosing)
    if signatures and ctx.signatures:
        parts.append("Called here (same file):")
        parts.extend(f"  {sig}" for sig in ctx.signatures)
    return "\n".join(parts)


def build_prompt(template: string.Template, hunk: Hunk, context: str = "(none)") -> str:
    """Fill ``template`` for ``hunk``; the diff text is inserted verbatim, never interpreted."""
    return template.substitute(path=hunk.path, context=context, hunk=render_hunk(hunk))


def _truncate_line(hunk: Hunk, keep: int) -> Hunk:
    line = hunk.lines[0]
    return hunk.model_copy(update={"lines": [line[: keep + 1] + " [...]"]})


def _plan(
    hunk: Hunk,
    template: string.Template,
    backend: Backend,
    budget: int,
    ctx_for: Callable[[Hunk], HunkContext | None],
    notes: list[str],
) -> list[tuple[Hunk, str]]:
    """``(piece, prompt)`` pairs whose prompts fit ``budget`` tokens, splitting when needed."""
    ctx = ctx_for(hunk)
    variants = [_render_context(ctx), _render_context(ctx, signatures=False), "(none)"]
    chosen = first_within(dict.fromkeys(variants), lambda context: build_prompt(template, hunk, context), backend.tokenize, budget)
    if chosen is not None:
        return [(hunk, chosen[1])]
    if len(hunk.lines) > 1:
        pieces = [p for p in split_hunk(hunk, 2) if p.changed_lines]
        return [pair for p in pieces for pair in _plan(p, template, backend, budget, ctx_for, notes)]
    # One line too long: halve it (not a longest-fitting cut; kept as the review always cut).
    keep, keeps = len(hunk.lines[0]), []
    while keep > 16:
        keep //= 2
        keeps.append(keep)
    cut = first_within(keeps, lambda keep: build_prompt(template, _truncate_line(hunk, keep)), backend.tokenize, budget)
    if cut is not None:
        notes.append(f"{hunk.path}:{hunk.new_start}: line too long for the model, cut to {cut[0]} characters")
        return [(hunk, cut[1])]
    notes.append(f"{hunk.path}:{hunk.new_start}: too long for the model's context: not reviewed")
    return []


def _ask(backend: Backend, prompt: str, options: ReviewOptions, cancel: CancelToken) -> str:
    request = GenerationRequest(prompt=prompt, json_schema=FINDINGS_SCHEMA,
                                max_tokens=options.max_tokens, temperature=0.0, stop=list(_STOP))
    return "".join(backend.complete(request, cancel))


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
        A :class:`ReviewResult`.

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
    return Rule(category, name, text, level)


class ModelAnalyzer:
    """The model as a review analyzer (id ``model``; see the module docstring for what it does).

    Stateless: one instance serves concurrent reviews.
    """

    id = "model"
    name = "Model review"
    description = "Asks the local model about each changed hunk, with its tree-sitter context."
    rules: tuple[Rule, ...] = tuple(_rule(category) for category in CATEGORIES)

    def check(self, options: ReviewOptions) -> None:
        """Load the prompt template before git runs (raises :class:`ReviewError` when unusable)."""
        load_template(options.template)

    def analyze(self, context: DiffContext) -> Analysis:
        """Ask the model about every hunk of ``context.diff`` (see :func:`review` for the errors).

        The cancel token is checked before each hunk and after each generation (the backend
        checks it after every token); once it is set, :class:`~lfcode.errors.Cancelled` is raised.
        """
        options, backend, cancel = context.options, context.backend, context.cancel
        progress_callback, diff = context.progress, context.diff
        template = load_template(options.template)
        notes: list[str] = []
        budget = backend.capabilities.n_ctx - options.max_tokens - 8
        if count_tokens(backend, template.substitute(path="", context="", hunk="")) >= budget:
            raise ReviewError(f"the model's context ({backend.capabilities.n_ctx} tokens) is too small "
                              f"for the review prompt and a {options.max_tokens}-token answer")
        jobs = [(f.path, h) for f in diff.files if not f.skipped and f.status != "deleted" for h in f.hunks]
        notes.extend(f"{f.path}: deleted file, not reviewed" for f in diff.files
                     if f.status == "deleted" and not f.skipped)
        sources = _SourceCache(diff, options.use_context)
        result = Analysis()
        examples = example_messages(template)
        dropped = parroted = readable = 0

        def stop_if_cancelled() -> None:
            raise_if_cancelled(cancel, f"review cancelled after {result.hunks_reviewed} of {len(jobs)} hunks")

        if progress_callback:
            progress_callback(0, len(jobs))
        for done, (path, hunk) in enumerate(jobs, 1):
            stop_if_cancelled()
            for piece, prompt in _plan(hunk, template, backend, budget, sources.context, notes):
                answer = _ask(backend, prompt, options, cancel)
                stop_if_cancelled()
                findings, problem = parse_model_output(answer, path)
                if problem:
                    notes.append(f"{path}:{piece.new_start}: {problem}; no findings kept from it")
                if findings or not problem:
                    readable += 1
                findings, copies = drop_parroted(findings, examples)
                parroted += copies
                kept = clamp_to_hunk(findings, piece, options.clamp_distance)
                dropped += len(findings) - len(kept)
                result.findings.extend(kept)
            result.hunks_reviewed += 1
            if path not in result.paths:
                result.paths.append(path)
            if progress_callback:
                progress_callback(done, len(jobs))
        stop_if_cancelled()  # set during the last progress report: still a cancelled review
        if jobs and not readable:
            raise ReviewIncomplete(f"the model gave no readable answer for any of the {len(jobs)} hunk(s)")
        if dropped:
            notes.append(f"{dropped} finding(s) outside the changed lines were dropped")
        if parroted:
            notes.append(f"{parroted} finding(s) that only repeated the prompt's examples were dropped")
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
