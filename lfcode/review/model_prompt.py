"""The model analyzer's prompt: templates, the hunk as the model sees it, and fitting a hunk to
the context window.

A base model (the embedded Gemma 3 270M) gets a completion prompt, ``prompts/review.txt``, that
ends where the JSON answer begins. A model with a chat template gets ``prompts/review_chat.txt``
as one user message through :meth:`~lfcode.backends.base.Backend.chat`. Both are
``string.Template`` files with exactly the placeholders ``$path``, ``$context`` and ``$hunk``;
``ReviewOptions.template`` replaces whichever one would be used. The diff text is inserted
verbatim and never interpreted.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lfcode import templates
from lfcode.backends.base import Backend, ChatMessage, count_tokens
from lfcode.context.budget import first_within
from lfcode.review.context import HunkContext
from lfcode.review.diff import ReviewError
from lfcode.review.hunks import Hunk, split_hunk

__all__ = [
    "CHAT_OVERHEAD",
    "ReviewPrompt",
    "build_prompt",
    "check_fits",
    "example_messages",
    "load_template",
    "plan",
    "prompt_for",
    "render_context",
    "render_hunk",
]

COMPLETION_TEMPLATE = "review.txt"
CHAT_TEMPLATE = "review_chat.txt"
#: Tokens a chat template adds around one user message and the assistant turn (Gemma's adds 9;
#: kept generous for others).
CHAT_OVERHEAD = 32
_PLACEHOLDERS = {"path", "context", "hunk"}
_MAX_LINE_CHARS = 400
_EXAMPLE_MESSAGE = re.compile(r'"message":\s*("(?:[^"\\]|\\.)*")')


def example_messages(template: string.Template) -> list[str]:
    """The ``"message"`` texts of the examples written in ``template`` (for
    :func:`~lfcode.review.findings.drop_parroted`)."""
    out = []
    for m in _EXAMPLE_MESSAGE.finditer(template.template):
        try:
            out.append(json.loads(m.group(1)))
        except json.JSONDecodeError:
            continue
    return out


def load_template(path: str | Path | None = None, name: str = COMPLETION_TEMPLATE) -> string.Template:
    """Load and check a review prompt template: ``path``, or the shipped one called ``name``
    (``review.txt``, or ``review_chat.txt`` for chat models), found through :mod:`lfcode.templates`
    (wheel or source tree).

    Raises:
        ReviewError: the file cannot be read, lacks one of ``$path``, ``$context``, ``$hunk``,
            or uses another placeholder.
    """
    file = Path(path) if path else name
    try:
        template = (string.Template(Path(path).read_text(encoding="utf-8")) if path
                    else templates.load_template(name)[0])
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


def render_context(ctx: HunkContext | None, signatures: bool = True) -> str:
    """The tree-sitter context shown above a hunk: enclosing definitions, and with
    ``signatures`` the signatures of what the hunk calls; ``"(none)"`` when there is none."""
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


@dataclass(frozen=True)
class ReviewPrompt:
    """The template the analyzer fills, and how the text is sent: as a completion prompt, or
    (``chat``) as the one user message of :meth:`~lfcode.backends.base.Backend.chat`."""

    template: string.Template
    chat: bool = False

    def text(self, hunk: Hunk, context: str = "(none)") -> str:
        """The filled template for ``hunk`` (:func:`build_prompt`)."""
        return build_prompt(self.template, hunk, context)

    def messages(self, text: str) -> list[ChatMessage]:
        """``text`` as the chat messages sent to a chat model."""
        return [ChatMessage(role="user", content=text)]

    def overhead(self) -> int:
        """Tokens sent besides the filled template (the chat template's markup), an estimate."""
        return CHAT_OVERHEAD if self.chat else 0


def prompt_for(backend: Backend, template: str | Path | None = None) -> ReviewPrompt:
    """The prompt for ``backend``: chat when its GGUF has a chat template
    (``capabilities.chat_template``), completion otherwise; ``template`` (a file) replaces the
    shipped one. Raises :class:`ReviewError` as :func:`load_template` does."""
    chat = backend.capabilities.chat_template
    return ReviewPrompt(load_template(template, CHAT_TEMPLATE if chat else COMPLETION_TEMPLATE), chat)


def _truncate_line(hunk: Hunk, keep: int) -> Hunk:
    line = hunk.lines[0]
    return hunk.model_copy(update={"lines": [line[: keep + 1] + " [...]"]})


def plan(
    hunk: Hunk,
    prompt: ReviewPrompt,
    backend: Backend,
    budget: int,
    ctx_for: Callable[[Hunk], HunkContext | None],
    notes: list[str],
) -> list[tuple[Hunk, str]]:
    """``(piece, text)`` pairs covering ``hunk`` whose texts (:meth:`ReviewPrompt.text`, plus
    :meth:`ReviewPrompt.overhead`) fit ``budget`` tokens: the richest context that fits, else the
    hunk split in halves recursively, else a single line cut to fit (a note says so), else
    nothing (a note says the hunk was not reviewed)."""
    room = budget - prompt.overhead()
    ctx = ctx_for(hunk)
    variants = [render_context(ctx), render_context(ctx, signatures=False), "(none)"]
    chosen = first_within(dict.fromkeys(variants), lambda context: prompt.text(hunk, context), backend.tokenize, room)
    if chosen is not None:
        return [(hunk, chosen[1])]
    if len(hunk.lines) > 1:
        pieces = [p for p in split_hunk(hunk, 2) if p.changed_lines]
        return [pair for p in pieces for pair in plan(p, prompt, backend, budget, ctx_for, notes)]
    # One line too long: halve it (not a longest-fitting cut; kept as the review always cut).
    keep, keeps = len(hunk.lines[0]), []
    while keep > 16:
        keep //= 2
        keeps.append(keep)
    cut = first_within(keeps, lambda keep: prompt.text(_truncate_line(hunk, keep)), backend.tokenize, room)
    if cut is not None:
        notes.append(f"{hunk.path}:{hunk.new_start}: line too long for the model, cut to {cut[0]} characters")
        return [(hunk, cut[1])]
    notes.append(f"{hunk.path}:{hunk.new_start}: too long for the model's context: not reviewed")
    return []


def check_fits(prompt: ReviewPrompt, backend: Backend, budget: int, max_tokens: int) -> None:
    """Raise :class:`ReviewError` when even an empty hunk's prompt does not fit ``budget``
    tokens (``max_tokens`` is named in the message)."""
    empty = prompt.template.substitute(path="", context="", hunk="")
    if count_tokens(backend, empty) + prompt.overhead() >= budget:
        raise ReviewError(f"the model's context ({backend.capabilities.n_ctx} tokens) is too small "
                          f"for the review prompt and a {max_tokens}-token answer")
