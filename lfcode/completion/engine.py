"""Inline completion: prefix/suffix at a position → prompt → model → cleaned suggestions.

Pure and synchronous; shared by ``lfcode complete`` and the LSP server (which runs it in a
worker thread). Offsets are Python ``str`` indices (code points); converting from LSP's UTF-16
positions happens in the LSP layer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Tree

from lfcode.backends.base import Backend, GenerationRequest
from lfcode.completion.names import NameContext
from lfcode.completion.postprocess import SyntaxDocument, postprocess
from lfcode.completion.prompt import build_prompt
from lfcode.completion.stopping import LINE_MAX_TOKENS, CompletionShape, indent_of, shape_at
from lfcode.context.builder import ContextSources
from lfcode.context.languages import comment_prefix, language_for
from lfcode.errors import CancelToken
from lfcode.settings import Settings

#: Temperature of the sampled answers (extra Invoked items and fallback samples).
SAMPLED_TEMPERATURE = 0.7


@dataclass
class CompletionInput:
    """A document and a cursor.

    ``offset`` is a code-point index into ``text``; ``path`` is used only for the prompt header and
    language detection; ``language_id`` is the LSP language identifier (may be empty); ``tree`` is
    ``text`` already parsed by tree-sitter (the server's incremental tree), or ``None`` to parse
    it here when the language is known.
    """

    text: str
    offset: int
    path: str = ""
    language_id: str = ""
    tree: Tree | None = None

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]


@dataclass
class CompletionOptions:
    """``n`` suggestions wanted (1 greedy, the rest sampled); token limits are model tokens.

    ``multiline`` forces one line (False) or a block (True); ``None`` decides from the syntax.
    ``fallback_samples``: at most this many extra answers, sampled only while every answer was
    dropped or the best one ignores the names the suffix needs (see :func:`complete`);
    ``check_syntax`` False turns off the tree-sitter parse check and ``guided`` False the
    suffix-guided answer (both for benchmarks).

    ``budget_ms`` (or ``None``) is the request's decoding time budget, counted from its first
    generated token, over all its model calls, with the semantics of llama-server's
    ``t_max_predict_ms`` (``tools/server/README.md``): once it is spent *and* a line is complete,
    decoding stops, the answer keeps its complete lines and is still post-processed, and no
    further model call starts. ``uncached_max`` (tokens, or ``None``) bounds the prompt
    evaluation: when the model's cache lacks more than that many tokens of the prompt (a
    backend with an ``uncached_tokens(prompt)`` method says), the prompt is rebuilt with a
    budget of ``uncached_max`` tokens. ``extra_calls`` False (the automatic path) allows no further
    call (guided answer, fallback samples, comment follow-up) once ``progress`` has shown a
    line of the first answer, or once the model's first answer was empty (it stopped at once,
    as llama-server's empty answer): extra calls then only run while nothing was shown and the
    budget has room.
    """

    n: int = 1
    max_tokens: int = 128
    temperature: float = 0.0
    context_tokens: int = 1024
    fim_template: str | None = None
    seed: int = 0
    multiline: bool | None = None
    fallback_samples: int = 2
    check_syntax: bool = True
    guided: bool = True
    budget_ms: float | None = None
    extra_calls: bool = True
    uncached_max: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, n: int = 1) -> CompletionOptions:
        """Options for ``n`` suggestions from lfcode's :class:`~lfcode.settings.Settings`."""
        return cls(
            n=n,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            context_tokens=settings.context_tokens,
            fim_template=settings.fim_template,
        )


@dataclass
class CompletionResult:
    """``items`` are distinct, non-blank insert texts, best first; ``shape`` tells how they were
    cut; ``raw`` holds every model answer before cleaning (for benchmarks and logs); ``reused``
    is True when the items are the rest of an earlier suggestion the user typed into;
    ``prompt_cut`` when the prompt was cut to ``CompletionOptions.uncached_max`` tokens."""

    items: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    shape: CompletionShape | None = None
    prompt_tokens: int = 0
    cancelled: bool = False
    reused: bool = False
    timed_out: bool = False
    model_calls: int = 0
    prompt_cut: bool = False


def generate_one(
    backend: Backend,
    request: GenerationRequest,
    shape: CompletionShape,
    cancel: CancelToken,
    budget_s: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> tuple[str, bool, float]:
    """Stream one generation and stop it as soon as ``shape`` says the suggestion is complete,
    or once ``budget_s`` seconds passed since its first piece and a line is complete (checked
    after every piece; llama-server's ``t_max_predict_ms`` also waits for a newline), or when
    one line runs past :data:`~lfcode.completion.stopping.LINE_MAX_TOKENS` pieces (tokens, for
    the llama.cpp backend: a one-line answer's cap, as llama-server's ``n_predict``).

    ``on_line(text)`` is called with the raw text of the complete lines each time a line ends.
    Returns ``(raw text, timed_out, seconds decoding)``; a generation stopped by the budget keeps
    only its complete lines (:func:`postprocess` cleans the rest).
    """
    text = ""
    stream = backend.complete(request, cancel)
    timed_out = False
    first: float | None = None
    line_pieces = 0
    try:
        for piece in stream:
            if first is None:
                first = time.monotonic()
            text += piece
            line_pieces = 0 if "\n" in piece else line_pieces + 1
            if on_line is not None and "\n" in piece:
                on_line(text[: text.rindex("\n")])
            if shape.is_finished(text):
                break
            if line_pieces > LINE_MAX_TOKENS:  # a runaway line (a repetition loop): cut it off
                timed_out = True
                break
            if budget_s is not None and "\n" in text and time.monotonic() - first >= budget_s:
                timed_out = True
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    if timed_out:
        text = text[: text.rfind("\n") + 1]
    return text, timed_out, (time.monotonic() - first) if first is not None else 0.0


def _guided_start(names: NameContext, prefix: str, suffix: str, scored: list[tuple[int, str]]) -> str | None:
    """The forced start of a line defining the suffix's first free name (see
    :meth:`NameContext.guided_start`), at the indentation of the best answer so far, else of
    the suffix's next code line; the white space already typed is left out."""
    typed = prefix.rsplit("\n", 1)[-1]
    following = next((ln for ln in suffix.split("\n")[1:] if ln.strip()), "")
    model = max(scored, key=lambda pair: pair[0])[1] if scored else ""
    reference = typed + model if model.strip() else following
    indent = reference[: indent_of(reference)]
    start = names.guided_start(indent, indent_of(following) > len(indent), following)
    if start is None or not start.startswith(typed):
        return None
    return start[len(typed) :]


def _comment_only(text: str, comment: str | None) -> bool:
    return bool(comment) and all(not ln.strip() or ln.strip().startswith(comment) for ln in text.split("\n"))


def prompt_for(
    backend: Backend, source: CompletionInput, options: CompletionOptions | None = None, context: ContextSources | None = None
) -> str:
    """The prompt :func:`complete` would send for ``source`` (to evaluate it into the model's KV
    cache ahead of the request: :meth:`lfcode.session.Session.prefill`)."""
    options = options or CompletionOptions()
    spec = language_for(source.path, source.language_id)
    tree = SyntaxDocument(source.text, source.offset, spec, source.tree).syntax_tree()
    prompt = build_prompt(
        backend, source.prefix, source.suffix, options.context_tokens, options.fim_template, source.path,
        language=spec.name if spec else None, tree=tree, sources=context,
    )
    return prompt.text


def complete(
    backend: Backend,
    source: CompletionInput,
    options: CompletionOptions | None = None,
    cancel: CancelToken | None = None,
    context: ContextSources | None = None,
    progress: Callable[[str], None] | None = None,
) -> CompletionResult:
    """Suggest up to ``options.n`` completions at ``source.offset``.

    ``progress(item)``, when given, is called from the decoding thread with the greedy answer
    cleaned so far each time one of its lines is complete (the first call carries the first
    line; ``"\n"`` when a block's first line is blank, that is, nothing goes on the cursor's
    line): a front end can answer with it at once while the block goes on decoding (see
    :class:`lfcode.completion.continuation.Continuation`).

    The first answer is greedy, the others sampled at :data:`SAMPLED_TEMPERATURE`. Each raw
    answer goes through :func:`lfcode.completion.postprocess.postprocess`. A one-line answer that is
    only a comment, at the start of a line, is taken as the model's plan: the line after it is
    generated and offered instead.

    For one item, when no answer survived or the best one mentions none of the names the suffix
    needs but nothing defines (:class:`~lfcode.completion.names.NameContext`), lfcode first asks
    for a *guided* answer, greedy from a forced start that defines such a name
    (:meth:`NameContext.guided_start`; the model still never sees the suffix), then samples up to
    ``options.fallback_samples`` more answers while that condition holds. The best answer by
    :meth:`NameContext.score` wins, the earliest on ties (so the greedy one when nothing is
    better). ``context`` holds the workspace sources (ring buffer, symbol index); without it the
    prompt uses this file only.

    Raises:
        BackendError: the model failed (the caller turns it into a message and an empty result).
    """
    options = options or CompletionOptions()
    cancel = cancel or threading.Event()
    spec = language_for(source.path, source.language_id)
    language = spec.name if spec else None
    doc = SyntaxDocument(source.text, source.offset, spec, source.tree)
    tree = doc.syntax_tree()
    prefix, suffix = source.prefix, source.suffix
    shape = shape_at(prefix, suffix, tree, options.multiline)
    prompt = build_prompt(
        backend, prefix, suffix, options.context_tokens, options.fim_template, source.path,
        language=language, tree=tree, sources=context,
    )
    uncached, cut = getattr(backend, "uncached_tokens", None), False
    if options.uncached_max is not None and options.uncached_max < prompt.tokens and uncached is not None:
        if uncached(prompt.text) > options.uncached_max:
            prompt = build_prompt(
                backend, prefix, suffix, options.uncached_max, options.fim_template, source.path,
                language=language, tree=tree, sources=context,
            )
            cut = True
    stops = list(prompt.stop) + shape.stop_strings()
    result = CompletionResult(shape=shape, prompt_tokens=prompt.tokens, prompt_cut=cut)
    names = NameContext(prefix, suffix, language)
    comment = comment_prefix(language)
    at_line_start = not prefix.rsplit("\n", 1)[-1].strip()
    scored: list[tuple[int, str]] = []
    wanted = max(1, options.n)

    spent = [0.0]  # seconds of decoding so far, over every call

    def remaining() -> float | None:
        return None if options.budget_ms is None else options.budget_ms / 1000 - spent[0]

    shown = [False]  # progress reported a line: the front end answered with it

    def report(raw: str) -> None:
        if progress is None:
            return
        if not shown[0] and shape.multiline and "\n" not in raw and not raw.strip():
            # The block's first line is blank: nothing to show on the cursor's line, now.
            shown[0] = True
            progress("\n")
            return
        item = postprocess(raw, doc, shape, options.check_syntax, partial=True)
        if item:
            shown[0] = True
            progress(item)

    def generate(start: str, index: int, stream: bool = False) -> str | None:
        """One model call on the prompt followed by ``start`` (a forced beginning, or "")."""
        request = GenerationRequest(
            prompt=prompt.text + start,
            infill=prompt.infill.started(start) if prompt.infill is not None else None,
            max_tokens=min(options.max_tokens, shape.max_tokens),
            temperature=options.temperature if index == 0 else max(options.temperature, SAMPLED_TEMPERATURE),
            stop=stops,
            seed=options.seed + index,
            feature="completion",
        )
        result.model_calls += 1
        raw, timed_out, seconds = generate_one(backend, request, shape, cancel, remaining(), report if stream else None)
        spent[0] += seconds
        result.timed_out |= timed_out
        if cancel.is_set():
            return None
        result.raw.append(raw)
        return raw

    def may_call() -> bool:
        """Another model call is allowed: the budget is not spent, and extra calls are on or
        nothing was shown yet and the model did not answer "nothing" (stop at once)."""
        left = remaining()
        silent = bool(result.raw) and not result.raw[0]
        return (options.extra_calls or not (shown[0] or silent)) and not result.timed_out and (left is None or left > 0)

    def consider(item: str) -> None:
        if item and item not in (text for _, text in scored):
            penalty = 1 if _comment_only(item, comment) else 0
            scored.append((names.score(item) - penalty, item))

    def best_is_suspicious() -> bool:
        return not scored or names.suspicious(max(scored, key=lambda pair: pair[0])[1])

    guided = options.guided and wanted == 1 and at_line_start
    for index in range(wanted + max(0, options.fallback_samples) + 1):
        if index >= wanted and not may_call():
            break
        if index == wanted and guided and best_is_suspicious() and may_call():
            start = _guided_start(names, prefix, suffix, scored)
            if start is not None:
                raw = generate(start, 0)
                if raw is None:
                    result.cancelled = True
                    break
                consider(postprocess(start + raw, doc, shape, options.check_syntax))
        if index >= wanted and scored and (wanted > 1 or not best_is_suspicious()):
            break
        if index >= wanted + max(0, options.fallback_samples):
            break
        if index > 0 and (remaining() or 1) <= 0:
            break
        raw = generate("", index, stream=index == 0)
        if raw is None:
            result.cancelled = True
            break
        item = postprocess(raw, doc, shape, options.check_syntax, partial=result.timed_out)
        if item and not shape.multiline and at_line_start and _comment_only(item, comment) and may_call():
            follow = generate(raw.split("\n", 1)[0] + "\n", index)
            if follow is None:
                result.cancelled = True
                break
            item = postprocess(follow, doc, shape, options.check_syntax) or item
        consider(item)
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][0], i))
    result.items = [scored[i][1] for i in order][:wanted] if wanted == 1 else [text for _, text in scored][:wanted]
    return result
