"""Explain, as one service shared by ``lfcode explain`` and the ``lfcode.explain`` LSP command.

Two phases, so that a front end can run each where it belongs and report progress in between:

1. :func:`prepare` reads the project (imports, callers, callees: disk reads and parses), so the
   LSP runs it in a worker thread, never on the event loop;
2. :func:`explain_symbol` asks the model (the LSP runs it in the inference worker) and renders
   the Markdown document.

Both front ends therefore send the model the same prompt for the same file and symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lfcode.backends.base import Backend
from lfcode.context.index import SymbolIndex
from lfcode.context.symbols import Symbol, module_symbol, symbol_at
from lfcode.errors import CancelToken
from lfcode.explain.generate import (
    EXPLAIN_MAX_TOKENS,
    ExplainContext,
    build_context,
    explain,
    render_markdown,
    write_explanation,
)


@dataclass
class Explanation:
    """The result: the ``context`` the model saw, its ``body`` and the whole ``markdown`` document."""

    context: ExplainContext
    body: str
    markdown: str


def symbol_for_line(text: str, path: str, line: int | None) -> Symbol | None:
    """The symbol ``lfcode explain FILE[:LINE]`` means.

    Args:
        text: the file's text.
        path: its path (chooses the grammar).
        line: 1-based line, or ``None`` for the whole file.

    Returns:
        The innermost function, method or class holding the first non-blank character of
        ``line``; the whole file as a ``module`` symbol when ``line`` is ``None``; ``None`` when
        the line is outside every symbol.
    """
    if line is None:
        return module_symbol(text, path)
    row = text.split("\n")[line - 1]
    return symbol_at(text, line - 1, len(row) - len(row.lstrip()), path)


def prepare(text: str, symbol: Symbol, path: str, root: Path | None, index: SymbolIndex | None = None) -> ExplainContext:
    """What the model is told about ``symbol`` of the file ``path`` (text ``text``) in project ``root``.

    Blocking: reads and parses files of the project (callers, callees; each file parsed once
    per modification time). ``index``, the language server's workspace index, gives the other
    files' symbols once it has walked ``root``, so nothing is walked or parsed again.
    """
    return build_context(text, symbol, path, root, index)


def explain_symbol(
    backend: Backend, ctx: ExplainContext, cancel: CancelToken, max_tokens: int = EXPLAIN_MAX_TOKENS
) -> Explanation:
    """Ask the model and render the document (blocking; seconds of model time).

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
        lfcode.errors.BackendError: the model failed.
        lfcode.explain.generate.ExplainError: the model wrote nothing usable.
    """
    body = explain(backend, ctx, cancel, max_tokens)
    return Explanation(context=ctx, body=body, markdown=render_markdown(ctx, body))


def save(explanation: Explanation) -> Path:
    """Write the document under ``$XDG_CACHE_HOME/lfcode/explanations/`` (never into the
    project) and return its path.

    Raises:
        OSError: the cache folder cannot be written.
    """
    return write_explanation(explanation.context, explanation.markdown)


__all__ = ["Explanation", "explain_symbol", "prepare", "save", "symbol_for_line"]
