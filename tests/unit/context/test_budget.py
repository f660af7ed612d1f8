"""The one token fitter (``lfcode.context.budget``) with a toy tokenizer: one token per word."""

from __future__ import annotations

from lfcode.context.budget import LineCounter, count_lines, first_within, fit_head, head_within, tail_within


def words(text: str) -> list[int]:
    return [0] * len(text.split())


def test_fit_head_keeps_the_longest_head_of_lines_that_fits_with_the_marker() -> None:
    text = "\n".join(f"w{i} x" for i in range(10))  # 2 tokens a line
    assert fit_head(words, text, 100) == text
    assert fit_head(words, text, 10) == "w0 x\nw1 x\nw2 x\n    ..."  # 6 + 4 reserved
    assert fit_head(words, text, 0) == ""


def test_line_counts_are_cached_and_summed() -> None:
    calls: list[str] = []

    def tokenize(text: str) -> list[int]:
        calls.append(text)
        return words(text)

    cache: dict[str, int] = {}
    count = LineCounter(tokenize, cache)
    assert count_lines(count, "a b\nc\na b\n") == 5
    assert calls == ["a b\n", "c\n"] and cache == {"a b\n": 2, "c\n": 1}


def test_tail_and_head_cut_at_line_boundaries() -> None:
    text = "".join(f"l{i} y\n" for i in range(40))
    tail = tail_within(text, 20, LineCounter(words))
    assert tail == "".join(f"l{i} y\n" for i in range(32, 40))  # the 16-line grid: lines 32..39
    assert head_within(text, 5, LineCounter(words)) == "l0 y\nl1 y\n"


def test_first_within_returns_the_first_candidate_that_fits() -> None:
    assert first_within([3, 2, 1], lambda n: "w " * n, words, 2) == (2, "w w ")
    assert first_within([5], lambda n: "w " * n, words, 2) is None
