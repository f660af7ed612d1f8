"""First-cut completion prompt: FIM when the model has FIM tokens, else prefix-only.

The prefix and suffix are cut to the token budget at line boundaries, keeping the text nearest to
the cursor. Budgets are model tokens counted with the backend's own tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfcode.backends.base import Backend, FimTokens

#: Characters per token used only to pre-cut very long texts before exact counting.
CHARS_PER_TOKEN_MAX = 6
#: The prefix is cut on a grid of this many lines (KV-cache friendly; see :func:`tail_within`).
ANCHOR_LINES = 16
#: Share of the budget given to the prefix when the model also sees the suffix.
PREFIX_SHARE = 0.75


@dataclass(frozen=True)
class Prompt:
    """The prompt ``text``, the ``stop`` strings its template implies and its size in ``tokens``."""

    text: str
    stop: tuple[str, ...]
    tokens: int


def tail_within(backend: Backend, text: str, budget: int) -> str:
    """A tail of ``text`` of at most ``budget`` tokens that starts at a line start.

    The start is chosen on a grid of :data:`ANCHOR_LINES` lines, so that while the user types at
    the end of the prefix the cut stays where it was and the model's KV cache for the shared
    beginning is reused (llama.cpp matches the longest common token prefix).
    """
    if budget <= 0 or not text:
        return ""
    lines = text.splitlines(keepends=True)
    low = 0
    # Skip lines that certainly cannot fit (each token is at least one character), on the grid.
    chars, cut = 0, len(lines)
    while cut > 0 and chars + len(lines[cut - 1]) <= budget * CHARS_PER_TOKEN_MAX:
        cut -= 1
        chars += len(lines[cut])
    low = -(-cut // ANCHOR_LINES) * ANCHOR_LINES if cut else 0
    for start in range(low, len(lines), ANCHOR_LINES):
        tail = "".join(lines[start:])
        if len(backend.tokenize(tail)) <= budget:
            return tail
    # The last grid cell alone is too long: fall back to the longest fitting tail of lines.
    for start in range(max(0, len(lines) - ANCHOR_LINES), len(lines)):
        tail = "".join(lines[start:])
        if len(backend.tokenize(tail)) <= budget:
            return tail
    return ""


def head_within(backend: Backend, text: str, budget: int) -> str:
    """The longest head of ``text`` (ending at a line end) of at most ``budget`` tokens."""
    if budget <= 0 or not text:
        return ""
    text = text[: budget * CHARS_PER_TOKEN_MAX]
    while text and len(backend.tokenize(text)) > budget:
        cut = text.rfind("\n", 0, len(text) - max(1, len(text) // 8))
        text = text[:cut] if cut >= 0 else text[: len(text) * 3 // 4]
    return text


def resolve_fim(backend: Backend, override: str | None) -> FimTokens | None:
    """The FIM tokens to use: a user override by family name, else what the model has.

    Raises ``ValueError`` for an unknown family name.
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
) -> Prompt:
    """Build the completion prompt for the cursor between ``prefix`` and ``suffix``.

    ``budget`` is in model tokens. Returns a :class:`Prompt`; raises ``ValueError`` for a bad
    ``fim_override``.
    """
    fim = resolve_fim(backend, fim_override)
    if fim is None:
        text = tail_within(backend, prefix, budget)
        return Prompt(text=text, stop=backend.capabilities.eos, tokens=len(backend.tokenize(text)))
    from lfcode.backends.fim import format_fim

    pre = tail_within(backend, prefix, int(budget * PREFIX_SHARE))
    suf = head_within(backend, suffix, budget - int(budget * PREFIX_SHARE))
    text = format_fim(fim, pre, suf)
    return Prompt(text=text, stop=tuple(fim.stop) + backend.capabilities.eos, tokens=len(backend.tokenize(text)))
