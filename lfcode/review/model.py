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
with ``cancel``.
"""

from __future__ import annotations

import json
import re
import string
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from lfcode import templates
from lfcode.backends.base import Backend, GenerationRequest, count_tokens
from lfcode.context.budget import first_within
from lfcode.errors import CancelToken
from lfcode.review.diff import DiffResult, DiffSpec, ReviewError, collect_diff, read_new_source
from lfcode.review.findings import (
    FINDINGS_SCHEMA,
    Finding,
    clamp_to_hunk,
    drop_parroted,
    merge_duplicates,
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

__all__ = [
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

#: ``callback(done, total)`` after each hunk (and once with ``done=0`` before the first).
ProgressCallback = Callable[[int, int], None]

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


class ReviewOptions(DiffSpec):
    """What to review (the :class:`~lfcode.review.diff.DiffSpec` fields) and how.

    ``max_tokens`` caps each answer, in model tokens; ``use_context`` turns the tree-sitter
    context on; ``template`` is a prompt template file (default ``prompts/review.txt``);
    ``clamp_distance`` is how many lines a finding may miss the changed lines by and still be
    moved onto them.
    """

    max_tokens: int = Field(default=256, ge=16)
    use_context: bool = True
    template: str | None = None
    clamp_distance: int = Field(default=3, ge=0)


class ReviewResult(BaseModel):
    """The outcome of :func:`review`.

    ``findings`` are merged and sorted by path and line; ``notes`` are human-readable remarks
    (skipped files, unreadable answers, cancellation); ``paths`` are the repo-relative files whose
    hunks were reviewed (an editor clears diagnostics on them); ``root`` is the absolute working
    tree; ``description`` says what was compared.
    """

    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    files_reviewed: int = 0
    hunks_reviewed: int = 0
    paths: list[str] = Field(default_factory=list)
    root: str = ""
    description: str = ""


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
    """Review the changes in the repository containing ``repo_path``.

    Args:
        repo_path: a directory inside the working tree; relative ``options.paths`` start here.
        options: which diff and how (defaults: :class:`ReviewOptions`).
        backend: any :class:`~lfcode.backends.base.Backend`; it is called once per hunk piece.
        progress_callback: ``callback(done, total)`` counted in hunks.
        cancel: the :data:`~lfcode.errors.CancelToken`; when set, the running generation
            stops and no further hunk is reviewed. Unlike the other features, a cancelled
            review does not raise :class:`~lfcode.errors.Cancelled`: the result holds what was
            found so far and a note ``review cancelled after N of M hunks`` (partial findings
            are still useful, and ``tests/unit/test_review_core.py`` asserts this).

    Returns:
        A :class:`ReviewResult`.

    Raises:
        ReviewError: not a repository, bad revision or options, unusable prompt template, or a
            context window too small for the prompt.
        ReviewIncomplete: there were hunks, but no answer for any of them could be read (the
            review fails closed).
        lfcode.backends.base.BackendError: the model failed.
    """
    options = options or ReviewOptions()
    cancel = cancel or threading.Event()
    template = load_template(options.template)
    diff = collect_diff(repo_path, options)
    notes = list(diff.notes)
    budget = backend.capabilities.n_ctx - options.max_tokens - 8
    if count_tokens(backend, template.substitute(path="", context="", hunk="")) >= budget:
        raise ReviewError(f"the model's context ({backend.capabilities.n_ctx} tokens) is too small "
                          f"for the review prompt and a {options.max_tokens}-token answer")
    jobs = [(f.path, h) for f in diff.files if not f.skipped and f.status != "deleted" for h in f.hunks]
    notes.extend(f"{f.path}: deleted file, not reviewed" for f in diff.files
                 if f.status == "deleted" and not f.skipped)
    sources = _SourceCache(diff, options.use_context)
    result = ReviewResult(root=diff.root, description=diff.description)
    found: list[Finding] = []
    examples = example_messages(template)
    dropped = parroted = readable = 0
    if progress_callback:
        progress_callback(0, len(jobs))
    for done, (path, hunk) in enumerate(jobs, 1):
        if cancel.is_set():
            break
        for piece, prompt in _plan(hunk, template, backend, budget, sources.context, notes):
            answer = _ask(backend, prompt, options, cancel)
            if cancel.is_set():
                break
            findings, problem = parse_model_output(answer, path)
            if problem:
                notes.append(f"{path}:{piece.new_start}: {problem}; no findings kept from it")
            if findings or not problem:
                readable += 1
            findings, copies = drop_parroted(findings, examples)
            parroted += copies
            kept = clamp_to_hunk(findings, piece, options.clamp_distance)
            dropped += len(findings) - len(kept)
            found.extend(kept)
        if cancel.is_set():
            break
        result.hunks_reviewed += 1
        if path not in result.paths:
            result.paths.append(path)
        if progress_callback:
            progress_callback(done, len(jobs))
    if cancel.is_set():
        notes.append(f"review cancelled after {result.hunks_reviewed} of {len(jobs)} hunks")
    elif jobs and not readable:
        raise ReviewIncomplete(f"the model gave no readable answer for any of the {len(jobs)} hunk(s)")
    if dropped:
        notes.append(f"{dropped} finding(s) outside the changed lines were dropped")
    if parroted:
        notes.append(f"{parroted} finding(s) that only repeated the prompt's examples were dropped")
    result.findings = merge_duplicates(found)
    result.files_reviewed = len(result.paths)
    result.notes = notes
    return result


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
