"""The one token fitter: counting model tokens and cutting texts to a token budget.

Every budget is in model tokens counted with the backend's own tokenizer (``tokenize``:
text → token ids). Two ways of counting, and the cuts built on them:

- **By line, cached** (:class:`LineCounter`): a text's tokens are the sum of its lines' tokens,
  each line tokenized once and memoized. For the merge-based tokenizers of GGUF models the sum
  is never below the count of the joined text (checked on standard library files with the
  embedded model: 0 of 90 windows below, at most 2% above), so a budget it says holds, holds.
  Completion uses it on every keystroke: :func:`tail_within` (the text before the cursor, cut
  on a grid of :data:`ANCHOR_LINES` lines), :func:`head_within` (the text after it) and the
  context builder's part costs (:func:`count_lines`).
- **Exact, by binary search** (:func:`fit_head`): the longest head of whole lines whose joined
  text, tokenized as a whole, fits; used for the source put into Explain and test-generation
  prompts. :func:`first_within` picks the first of a list of candidate prompts that fits (the
  review's context variants and line cuts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

Tokenize = Callable[[str], list[int]]
T = TypeVar("T")

#: Characters per token used only to pre-cut very long texts before exact counting.
CHARS_PER_TOKEN_MAX = 6
#: The tail is cut on a grid of this many lines (KV-cache friendly; see :func:`tail_within`).
ANCHOR_LINES = 16
#: Lines remembered by a :class:`LineCounter` before its cache is cleared.
CACHE_LINES = 65536


class LineCounter:
    """Tokens of one line (``counter(line)``), memoized in ``cache`` (a dict that may be shared
    and kept between calls: lines rarely change between keystrokes, and the model's tokenizer
    costs about 3 µs per character). The cache is cleared past :data:`CACHE_LINES` lines."""

    def __init__(self, tokenize: Tokenize, cache: dict[str, int] | None = None) -> None:
        self.tokenize = tokenize
        self.cache = {} if cache is None else cache

    def __call__(self, line: str) -> int:
        cached = self.cache.get(line)
        if cached is None:
            if len(self.cache) > CACHE_LINES:
                self.cache.clear()
            cached = self.cache[line] = len(self.tokenize(line))
        return cached


def count_lines(count: Callable[[str], int], text: str) -> int:
    """Tokens of ``text`` summed over its lines (``count`` gives one line's; an upper bound of
    the whole text's count, see the module docstring)."""
    return sum(count(line) for line in text.splitlines(keepends=True))


def tail_within(text: str, budget: int, count: Callable[[str], int]) -> str:
    """A tail of ``text`` of at most ``budget`` tokens that starts at a line start.

    Tokens are counted line by line with ``count`` (tokens of one line, e.g. a
    :class:`LineCounter`). The start is chosen on a grid of :data:`ANCHOR_LINES` lines (counted
    from the start of ``text``), so that while the user types at the end of the text the cut
    stays where it was and the model's KV cache for the shared beginning is reused (llama.cpp
    matches the longest common token prefix). Only the last ``budget * CHARS_PER_TOKEN_MAX``
    characters are split into lines (a token is at most that many characters), so long files
    cost little.
    """
    if budget <= 0 or not text:
        return ""
    first = 0
    if len(text) > budget * CHARS_PER_TOKEN_MAX:
        first = text.find("\n", len(text) - budget * CHARS_PER_TOKEN_MAX) + 1
    base = text.count("\n", 0, first)
    lines = text[first:].splitlines(keepends=True)
    after = [0] * (len(lines) + 1)  # after[i]: tokens of lines[i:]
    for i in range(len(lines) - 1, -1, -1):
        after[i] = after[i + 1] + count(lines[i])
    for start in range((-base) % ANCHOR_LINES, len(lines), ANCHOR_LINES):
        if after[start] <= budget:
            return "".join(lines[start:])
    # The last grid cell alone is too long: fall back to the longest fitting tail of lines.
    for start in range(max(0, len(lines) - ANCHOR_LINES), len(lines)):
        if after[start] <= budget:
            return "".join(lines[start:])
    return ""


def head_within(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest head of ``text`` (ending at a line end) of at most ``budget`` tokens, counted
    line by line with ``count`` as in :func:`tail_within`."""
    if budget <= 0 or not text:
        return ""
    used, kept = 0, []
    for line in text[: budget * CHARS_PER_TOKEN_MAX].splitlines(keepends=True):
        used += count(line)
        if used > budget:
            break
        kept.append(line)
    return "".join(kept)


def fit_head(tokenize: Tokenize, text: str, budget: int, marker: str = "    ...", reserve: int = 4) -> str:
    """``text`` cut to at most ``budget`` tokens (counted exactly, the whole text at once),
    keeping whole lines from the start.

    The cut is found by binary search on the number of ``\\n``-separated lines kept, each
    candidate costing ``reserve`` tokens more (for the ``marker`` line that ends a cut text).
    Counts are cached for the duration of the call. Raises whatever ``tokenize`` raises.
    """
    if budget <= 0:
        return ""
    cache: dict[str, int] = {}

    def tokens(candidate: str) -> int:
        if candidate not in cache:
            cache[candidate] = len(tokenize(candidate))
        return cache[candidate]

    if tokens(text) <= budget:
        return text
    lines = text.split("\n")
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        if tokens("\n".join(lines[:middle])) + reserve <= budget:
            low = middle
        else:
            high = middle - 1
    return "\n".join([*lines[:low], marker])


def first_within(candidates: Iterable[T], render: Callable[[T], str], tokenize: Tokenize, budget: int) -> tuple[T, str] | None:
    """The first of ``candidates`` whose rendering (``render(candidate)``) is at most ``budget``
    tokens, with that text; ``None`` when none fits. Candidates are rendered and counted lazily,
    in order (put the preferred, largest ones first)."""
    for candidate in candidates:
        text = render(candidate)
        if (len(tokenize(text)) if text else 0) <= budget:
            return candidate, text
    return None
