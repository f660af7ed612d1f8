"""The completion prompt: FIM when the model has FIM tokens, else prefix-only.

The context parts come from :func:`lfcode.context.builder.build_context`; the text before the
cursor is cut to the token budget at line boundaries on a 16-line grid, keeping the text nearest
to the cursor (:mod:`lfcode.context.budget`, the one token fitter). Budgets are model tokens
counted with the backend's own tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Tree

from lfcode.backends.base import Backend, FimTokens, Infill
from lfcode.context import budget as budget_
from lfcode.context.budget import ANCHOR_LINES, CHARS_PER_TOKEN_MAX  # noqa: F401 (re-exported)
from lfcode.context.builder import ContextParts, ContextSources, build_context, display_path

#: Share of the budget given to the prefix when the model also sees the suffix.
PREFIX_SHARE = 0.75


@dataclass(frozen=True)
class Prompt:
    """The prompt ``text``, the ``stop`` strings its template implies, its size in ``tokens``
    (summed line by line, see :func:`tail_within`) and the context ``parts`` it was built from.
    ``infill`` is a FIM prompt's parts for a server that formats FIM itself (:func:`infill_of`),
    ``None`` for a prefix-only prompt."""

    text: str
    stop: tuple[str, ...]
    tokens: int
    parts: ContextParts | None = None
    infill: Infill | None = None


def infill_of(parts: ContextParts, file_path: str) -> Infill:
    """``parts`` as an :class:`Infill`: the comment parts (header, symbols, ring chunks) as one
    extra chunk named ``file_path`` (each chunk inside names its own file), and the code parts
    (imports, scopes, window) as the prefix, so a server's ``/infill`` sees the same text, in
    the same order, as :func:`lfcode.backends.fim.format_fim` would lay out."""
    comments = parts.header + parts.symbols + parts.ring
    extra = ((file_path or "context", comments),) if comments else ()
    return Infill(prefix=parts.imports + parts.scopes + parts.window, suffix=parts.suffix, extra=extra)


def tail_within(backend: Backend, text: str, budget: int, count: Callable[[str], int] | None = None) -> str:
    """A tail of ``text`` of at most ``budget`` tokens that starts at a line start, on the
    :data:`ANCHOR_LINES` grid: :func:`lfcode.context.budget.tail_within` with ``count`` (tokens
    of one line; by default the backend's tokenizer, the builder passes a cached one)."""
    return budget_.tail_within(text, budget, count or budget_.LineCounter(backend.tokenize, {}))


def head_within(backend: Backend, text: str, budget: int, count: Callable[[str], int] | None = None) -> str:
    """The longest head of ``text`` (ending at a line end) of at most ``budget`` tokens:
    :func:`lfcode.context.budget.head_within`."""
    return budget_.head_within(text, budget, count or budget_.LineCounter(backend.tokenize, {}))


def resolve_fim(backend: Backend, override: str | None) -> FimTokens | None:
    """The FIM tokens to use: a user override by family name, else what the model has.

    Raises :class:`lfcode.backends.fim.FimError` (a ``ValueError``) for an unknown family name.
    """
    if override:
        if override in ("none", "off", "prefix-only"):
            return None
        from lfcode.backends.fim import get_fim

        return get_fim(override)
    return backend.capabilities.fim


def build_prompt(
    backend: Backend,
    prefix: str,
    suffix: str,
    budget: int,
    fim_override: str | None = None,
    path: str = "",
    *,
    language: str | None = None,
    tree: Tree | None = None,
    sources: ContextSources | None = None,
) -> Prompt:
    """Build the completion prompt for the cursor between ``prefix`` and ``suffix``.

    ``budget`` is in model tokens. The context (header, symbols, ring chunks, imports, scopes,
    window; see :mod:`lfcode.context.builder`) goes before the file text as comments for
    prefix-only models, and into the FIM prefix for FIM models, which also get the head of the
    suffix (a quarter of the budget). ``language`` is the grammar name and ``tree`` the document
    parsed with it (both optional); ``sources`` the workspace's ring buffer and symbol index.
    Returns a :class:`Prompt`; raises :class:`~lfcode.backends.fim.FimError` for a bad ``fim_override``.
    """
    fim = resolve_fim(backend, fim_override)
    sources = sources or ContextSources()
    tokenize = backend.tokenize
    count = sources.line_counter(tokenize)
    prefix_budget = budget if fim is None else int(budget * PREFIX_SHARE)
    parts = build_context(
        tokenize, prefix + suffix, len(prefix), prefix_budget,
        path=path, language=language, tree=tree, sources=sources,
        suffix_budget=0 if fim is None else budget - prefix_budget,
        tail=lambda text, tokens: tail_within(backend, text, tokens, count),
        head=lambda text, tokens: head_within(backend, text, tokens, count),
    )
    if fim is None:
        text = parts.prefix
        return Prompt(text=text, stop=backend.capabilities.eos, tokens=sources.count(tokenize, text), parts=parts)
    from lfcode.backends.fim import format_fim

    shown_path = display_path(path, sources.root)
    text = format_fim(fim, parts.prefix, parts.suffix, file_path=shown_path or None)
    return Prompt(text=text, stop=tuple(fim.stop) + backend.capabilities.eos, tokens=sources.count(tokenize, text), parts=parts,
                  infill=infill_of(parts, shown_path))
