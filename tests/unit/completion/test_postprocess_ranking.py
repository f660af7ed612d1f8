"""Choosing among answers: names the suffix needs, fallback samples, comment-only lines."""

from __future__ import annotations

from lfcode.backends.fake import FakeBackend
from lfcode.completion.names import NameContext, defined_names, used_names
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete

DOC = "def f(numbers):\n    total = 0\n<|>\n        total += n\n    return total\n"


def run(doc: str, *responses: str, **options) -> tuple[list[str], FakeBackend]:
    offset = doc.index("<|>")
    backend = FakeBackend(list(responses))
    source = CompletionInput(doc.replace("<|>", ""), offset, "/ws/m.py", "python")
    result = complete(backend, source, CompletionOptions(multiline=False, **options))
    return result.items, backend


def test_names_used_and_defined_skip_strings_comments_and_attributes() -> None:
    code = "x = obj.attr + f('y z')  # w\nfor i, j in pairs: pass\ny += 1\nf(k=2) == z\n"
    assert used_names(code) == {"x", "obj", "f", "for", "i", "j", "in", "pairs", "pass", "y", "k", "z"}
    assert defined_names(code) == {"x", "i", "j", "k"}


def test_free_names_are_used_by_the_suffix_and_defined_nowhere() -> None:
    names = NameContext("def f(numbers):\n", "        total += n\n    return total\n", "python")
    assert names.free == {"n", "total"}  # "total +=" needs total bound already
    assert names.score("    for n in numbers:") > names.score("    for x in numbers:")
    assert names.score("    for x in undefined_thing:") < 0


def test_greedy_answer_that_misses_the_needed_name_gets_fallback_samples() -> None:
    items, backend = run(DOC, "    for x in numbers:\n", "    for n in numbers:\n", "    while True:\n", guided=False)
    assert items == ["    for n in numbers:"]
    assert len(backend.requests) == 2
    assert [r.temperature for r in backend.requests] == [0.0, 0.7]


def test_greedy_answer_is_kept_when_no_sample_is_better() -> None:
    items, backend = run(DOC, "    for x in numbers:\n", "    print(1)\n", "    pass\n", guided=False)
    assert items == ["    for x in numbers:"]
    assert len(backend.requests) == 3


def test_no_fallback_when_the_greedy_answer_looks_right() -> None:
    items, backend = run("x = 1\n<|>\n", "y = x\n", "never\n")
    assert items == ["y = x"]
    assert len(backend.requests) == 1


def test_dropped_greedy_answer_is_replaced_by_a_sample_that_parses() -> None:
    items, backend = run("def f(a):\n    return <|>\n", "a +\n", "a + 1\n")
    assert items == ["a + 1"]
    assert len(backend.requests) == 2


def test_a_comment_only_line_is_followed_by_the_code_it_announces() -> None:
    items, backend = run("def rev(s):\n<|>\n", "    # reverse the string\n", "    return s[::-1]\n")
    assert items == ["    return s[::-1]"]
    assert backend.requests[1].prompt.endswith("def rev(s):\n    # reverse the string\n")


def test_guided_answer_starts_a_line_defining_the_needed_name() -> None:
    # The greedy answer ignores "n"; the next line is deeper, so the line must open a block.
    items, backend = run(DOC, "    for x in numbers:\n", " in numbers:\n", "never\n")
    assert items == ["    for n in numbers:"]
    assert backend.requests[1].prompt.endswith("def f(numbers):\n    total = 0\n    for n")
    assert backend.requests[1].temperature == 0.0
    assert len(backend.requests) == 2  # the guided answer is good enough: no sampling


def test_guided_assignment_when_the_next_line_is_not_deeper() -> None:
    doc = "def f(xs):\n<|>\n    return flag\n"
    items, backend = run(doc, "    pass\n", " = len(xs) > 2\n")
    assert items == ["    flag = len(xs) > 2"]


def test_guided_start_shapes() -> None:
    loop = NameContext("def f(pairs):\n", "        print(a, b)\n", "python")
    assert loop.guided_start("    ", True, "        print(a, b)") == "    for a, b"
    helper = NameContext("def f(x):\n", "        return 1\n    return check(x)\n", "python")
    assert helper.guided_start("    ", True, "        return 1") == "    def check"
    plain = NameContext("def f(x):\n", "    return flag\n", "python")
    assert plain.guided_start("    ", False) == "    flag"
    assert NameContext("x = 1\n", "print(x)\n", "python").guided_start("", False) is None
