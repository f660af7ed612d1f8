"""Explain a function, method or class: prompt, generation, clean-up and the Markdown document.

The model sees the symbol's source, the file's imports and the signatures of what it calls and
of what calls it (:func:`lfcode.context.index.related`). A model with a chat template gets
``prompts/explain_chat.txt`` through :meth:`Backend.chat`; a base model (the embedded Gemma 3
270M) gets the few-shot completion prompt ``prompts/explain.txt``, which ends with the start of
the answer (``**Summary.** `name```) so the model only has to continue it. Small base models
repeat themselves: :func:`tidy` drops repeated lines and stops after the ``**Returns.**``
paragraph.

The document (:func:`render_markdown`) adds the facts lfcode knows without a model (location,
signature, docstring, callers, callees), and :func:`write_explanation` stores it under
``$XDG_CACHE_HOME/lfcode/explanations/``, never inside the project.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from lfcode.backends.base import Backend, BackendError, ChatMessage, GenerationRequest
from lfcode.backends.generation import fit, generate_text  # noqa: F401 - re-exported
from lfcode.context.index import Related, SymbolIndex, related
from lfcode.context.symbols import Symbol, imports
from lfcode.errors import CancelToken, Cancelled, LfcodeError
from lfcode.templates import render

#: Tokens the model may write for one explanation.
EXPLAIN_MAX_TOKENS = 320
#: Tokens kept free in the context window besides the answer (template overhead, safety).
PROMPT_SLACK = 64


#: The historical name of :class:`lfcode.errors.Cancelled` (raised when ``cancel`` is set).
GenerationCancelled = Cancelled


class ExplainError(LfcodeError, ValueError):
    """The model produced no usable explanation; the message is shown to the user."""


@dataclass
class ExplainContext:
    """What the model is told: the ``symbol``, its file's ``path`` (as shown to the user), the
    file's ``imports`` and the ``related`` signatures."""

    symbol: Symbol
    path: str
    imports: list[str] = field(default_factory=list)
    related: Related = field(default_factory=Related)


def build_context(
    text: str, symbol: Symbol, path: str, root: Path | None = None, index: SymbolIndex | None = None
) -> ExplainContext:
    """Collect the context for ``symbol`` found in ``text`` (the file at ``path``); ``index`` is
    the language server's workspace index, if there is one (see :func:`related`)."""
    related_ = related(symbol, text, path, root, index=index)
    return ExplainContext(symbol=symbol, path=path, imports=imports(text, path), related=related_)


def _listing(items: list[str], wrap: str = "`") -> str:
    return ", ".join(f"{wrap}{item}{wrap}" for item in items) if items else "none"


def prompt_values(backend: Backend, ctx: ExplainContext, max_tokens: int) -> dict[str, str]:
    """Template values for ``explain.txt``/``explain_chat.txt``, the source cut to fit ``n_ctx``."""
    values = {
        "signature": ctx.symbol.signature,
        "path": ctx.path,
        "language": ctx.symbol.language,
        "imports": _listing(ctx.imports[:12]),
        "callees": _listing(ctx.related.callees),
        "callers": _listing(ctx.related.callers),
        "symbol": ctx.symbol.name,
        "source": "",
    }
    overhead = len(backend.tokenize(render("explain.txt", **values)))
    budget = backend.capabilities.n_ctx - max_tokens - overhead - PROMPT_SLACK
    values["source"] = fit(backend, ctx.symbol.source, budget)
    return values


def tidy(text: str) -> str:
    """Clean a small model's answer: drop repeated lines, stop after the ``**Returns.**`` paragraph,
    cut runaway lines (over 400 characters) and trailing blank lines."""
    kept: list[str] = []
    seen: set[str] = set()
    for line in text.split("\n"):
        key = line.strip()
        if len(key) > 400 or (len(key) >= 8 and key in seen):
            break
        if len(key) >= 8:
            seen.add(key)
        kept.append(line)
        if not key and any(k.startswith("**Returns.**") for k in kept[:-1]):
            break
    return "\n".join(kept).strip()


def _enough(text: str) -> bool:
    lines = [line.strip() for line in text.split("\n") if len(line.strip()) >= 8]
    repeated = len(lines) != len(set(lines))
    returns_done = "**Returns.**" in text and "\n\n" in text[text.index("**Returns.**") :]
    return repeated or returns_done


def explain(
    backend: Backend,
    ctx: ExplainContext,
    cancel: CancelToken,
    max_tokens: int = EXPLAIN_MAX_TOKENS,
) -> str:
    """The model's explanation of ``ctx.symbol`` as Markdown (without lfcode's own sections).

    Raises:
        GenerationCancelled: ``cancel`` was set.
        BackendError: the model failed.
        ExplainError: the model wrote nothing usable.
    """
    values = prompt_values(backend, ctx, max_tokens)
    request = GenerationRequest(prompt="", max_tokens=max_tokens, temperature=0.0, stop=["\n## ", "\n# ", "\n### "])
    if backend.capabilities.chat_template:
        messages = [ChatMessage(role="user", content=render("explain_chat.txt", **values))]
        body = tidy(generate_text(backend, messages, request, cancel))
        start = ""
    else:
        start = f"**Summary.** `{ctx.symbol.name}`"
        body = tidy(start + generate_text(backend, render("explain.txt", **values).rstrip("\n"), request, cancel, _enough))
    if len(re.sub(r"\W", "", body[len(start):])) < 3:
        raise ExplainError(f"the model wrote no explanation for `{ctx.symbol.qualname}`")
    return body


def render_markdown(ctx: ExplainContext, body: str) -> str:
    """The whole document: title, location, signature, docstring, the model's text, context."""
    symbol = ctx.symbol
    parts = [
        f"# {symbol.kind.capitalize()} `{symbol.qualname}`",
        f"`{ctx.path}`, lines {symbol.start_line + 1}–{symbol.end_line + 1}",
        f"```{symbol.language}\n{symbol.signature}\n```",
    ]
    if symbol.docstring:
        parts.append("> " + "\n> ".join(symbol.docstring.splitlines()))
    parts.append(body)
    context = ["## Context", f"- **Calls:** {_listing(ctx.related.callees)}", f"- **Called by:** {_listing(ctx.related.callers)}"]
    if ctx.imports:
        context.append(f"- **Imports:** {_listing(ctx.imports[:12])}")
    parts.append("\n".join(context))
    parts.append("*Written by lfcode with a local model; check it against the code.*")
    return "\n\n".join(parts) + "\n"


def explanation_path(ctx: ExplainContext, cache: Path | None = None) -> Path:
    """``<cache>/explanations/<file stem>-<qualname>-<8 hex of the file path>.md``.

    ``cache`` defaults to :func:`lfcode.backends.embedded.cache_dir` (``$XDG_CACHE_HOME/lfcode``).
    """
    if cache is None:
        from lfcode.backends.embedded import cache_dir

        cache = cache_dir()
    digest = hashlib.sha256(ctx.path.encode("utf-8")).hexdigest()[:8]
    safe = re.sub(r"[^\w.-]", "_", f"{Path(ctx.path).stem}-{ctx.symbol.qualname}")
    return cache / "explanations" / f"{safe}-{digest}.md"


def write_explanation(ctx: ExplainContext, markdown: str, cache: Path | None = None) -> Path:
    """Write ``markdown`` to :func:`explanation_path` and return the path.

    Raises:
        OSError: the cache folder cannot be written.
    """
    target = explanation_path(ctx, cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown, encoding="utf-8")
    return target


__all__ = [
    "BackendError",
    "ExplainContext",
    "ExplainError",
    "GenerationCancelled",
    "build_context",
    "explain",
    "explanation_path",
    "fit",
    "generate_text",
    "render_markdown",
    "tidy",
    "write_explanation",
]
