"""The coverage-guided search: inputs drawn from type hints, behaviour names, the model's call
proposals, and the search on the real sandbox (rounds, the model reaching a line nothing else
reaches, calls that cannot run there)."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.context.symbols import find_symbol
from lfcode.execution.engine import CallOutcome
from lfcode.testgen.generate import TestgenError, TestPlan
from lfcode.testgen.frameworks import detect_framework
from lfcode.testgen.inputs import MAX_CALL_CHARS, Constants, draw_calls
from lfcode.testgen.model_calls import marked_source, model_calls, parse_calls
from lfcode.testgen.observed import existing_calls, find_function
from lfcode.testgen.search import assertable, behaviour_names, constructors, observed_tests, search_calls, statement_lines
from lfcode.testgen.service import model_proposer

SOURCE = '''\
from typing import List, Optional


def cells(grid: List[List[int]], limit: "Optional[int]", name: str) -> int:
    """How many cells exceed the limit."""
    if limit is None:
        return -1
    count = 0
    for row in grid:
        for cell in row:
            if cell > limit:
                count += 1
    if name == "total":
        return count * 2
    return count


def secret(code: int) -> str:
    if code * 7 == 337491:
        return "open"
    return "closed"


class Account:
    def __init__(self, owner: str, balance: int):
        self.owner = owner
        self.balance = balance

    def withdraw(self, amount: int) -> int:
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        return self.balance


def fetch(port: int) -> bytes:
    if port < 0:
        raise ValueError("negative port")
    import socket

    return socket.create_connection(("127.0.0.1", port), timeout=1).recv(10)


def ping() -> bytes:
    import socket

    return socket.create_connection(("example.org", 80), timeout=1).recv(10)
'''


def function(name: str) -> ast.FunctionDef:
    return find_function(ast.parse(SOURCE), name)


def outcome(call: str, arcs: tuple[tuple[int, int], ...], exc: str | None = None) -> CallOutcome:
    return CallOutcome(call, None if exc else "1", None if exc else "int", not exc, exc, "m" if exc else None, "", (), arcs, 1.0, True, False)


def test_hint_driven_calls_have_the_hinted_shapes_and_are_reproducible() -> None:
    calls = draw_calls(function("cells"), "cells", False, 40, 0)
    assert len(calls) >= 20 and len(calls) == len(set(calls))
    assert calls == draw_calls(function("cells"), "cells", False, 40, 0)
    assert calls != draw_calls(function("cells"), "cells", False, 40, 1)
    for call in calls:
        assert len(call) <= MAX_CALL_CHARS
        grid, limit, name = (ast.literal_eval(arg) for arg in ast.parse(call, mode="eval").body.args)
        assert isinstance(grid, list) and all(isinstance(row, list) and all(isinstance(c, int) for c in row) for row in grid)
        assert limit is None or isinstance(limit, int)
        assert isinstance(name, str)
    assert any(ast.literal_eval(ast.parse(c, mode="eval").body.args[2]) == "total" for c in calls)  # the compared constant
    assert any(ast.parse(c, mode="eval").body.args[1].value is None for c in calls)


def test_constants_come_from_the_body_never_the_docstring_or_annotations() -> None:
    constants = Constants(function("cells"))
    assert constants.strings == ["total"]
    assert {-1, 0, 1, 2} <= set(constants.ints)


def test_an_annotation_is_never_evaluated() -> None:
    source = "def f(x: __import__('os').system('touch /tmp/lfcode-pwned')) -> int:\n    return 1\n"
    calls = draw_calls(find_function(ast.parse(source), "f"), "f", False, 5, 0)
    assert calls == ["f(None)"]
    assert not Path("/tmp/lfcode-pwned").exists()


def test_statement_lines_leave_out_the_def_and_the_docstring() -> None:
    lines = statement_lines(function("cells"))
    assert 4 not in lines and 5 not in lines
    assert {6, 7, 8, 9, 10, 11, 12, 13, 14, 15} == set(lines)


def test_tests_are_named_after_the_branch_their_call_was_first_to_take() -> None:
    chosen = [
        outcome("cells([], None, '')", ((6, 7),)),
        outcome("cells([[5]], 1, 'total')", ((6, 8), (11, 12), (13, 14))),
        outcome("cells([[0]], 1, '')", ((6, 8), (11, 10), (13, 15))),
        outcome("cells(1, 1, '')", ((6, 8),), exc="TypeError"),
    ]
    names = behaviour_names(function("cells"), chosen)
    assert names == {
        "cells([], None, '')": "when_limit_is_none",
        "cells([[5]], 1, 'total')": "when_name_eq_total",
        "cells([[0]], 1, '')": "when_not_name_eq_total",
        "cells(1, 1, '')": "raises_typeerror",
    }


def test_environment_failures_are_never_asserted() -> None:
    assert assertable(outcome("f()", (), exc="ValueError"))
    for kind in ("ConnectionRefusedError", "socket.gaierror", "FileNotFoundError", "PermissionError", "ModuleNotFoundError"):
        assert not assertable(outcome("f()", (), exc=kind))


def test_constructors_with_arguments_are_drawn_from_the_hints() -> None:
    tree = ast.parse(SOURCE)
    built = constructors(tree, "Account.withdraw")
    assert 1 <= len(built) <= 3
    for call in built:
        node = ast.parse(call, mode="eval").body
        assert node.func.id == "Account" and len(node.args) == 2
        assert isinstance(ast.literal_eval(node.args[0]), str) and isinstance(ast.literal_eval(node.args[1]), int)
    assert constructors(tree, "secret") == [None]


def test_model_proposals_are_parsed_as_calls_of_the_function_only() -> None:
    text = "secret(48213)\nprint('x')\nsecret(1, \nimport os\nother(2)\nsecret( 7 )\nsecret(48213)"
    assert parse_calls(text, "secret") == ["secret(48213)", "secret(7)"]
    assert parse_calls("obj.withdraw(5)\nwithdraw(5)", "obj.withdraw") == ["obj.withdraw(5)"]
    marked = marked_source(SOURCE, 18, 21, {20})
    assert marked.splitlines()[2].endswith('return "open"  # not run yet')
    assert "not run yet" not in marked.splitlines()[3]


def test_the_model_sees_the_marked_lines_and_its_calls_come_back() -> None:
    backend = FakeBackend(["secret(48213)\nsecret(0)\n"])
    marked = marked_source(SOURCE, 18, 21, {20})
    calls = model_calls(backend, "m.py", threading.Event(), marked, "secret", ["secret(0)"], 1)
    assert calls == ["secret(48213)"]  # secret(0) already ran
    prompt = backend.requests[0].prompt
    assert '### File: m.py\ndef secret(code: int) -> str:' in prompt and 'return "open"  # not run yet' in prompt
    assert prompt.endswith("run the lines marked \"not run yet\":\nsecret(0)\n")
    assert backend.requests[0].temperature > 0 and backend.requests[0].seed == 1


def plan_for(root: Path, qualname: str) -> TestPlan:
    path = root / "m.py"
    path.write_text(SOURCE, encoding="utf-8")
    symbol = find_symbol(SOURCE, qualname, str(path))
    return TestPlan(symbol=symbol, source_path=path.resolve(), source_text=SOURCE, root=root,
                    framework=detect_framework(path, root, "python"), existing=None)


@pytest.mark.sandbox
@pytest.mark.model
def test_the_search_asks_the_model_for_a_line_nothing_else_reaches(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "secret")
    backend = FakeBackend(default="secret(48213)\n")
    loads = []

    def get_backend():
        loads.append(1)
        return backend

    generated = observed_tests(plan, propose_more=model_proposer(get_backend, plan, threading.Event()))
    assert generated is not None and loads == [1]
    assert "# call proposed by the model; the expected value was observed\n    assert secret(48213) == 'open'" in generated.code
    assert "def test_secret_when_code_7_eq_337491():" in generated.code
    assert generated.coverage_summary("secret") == f"{len(generated.tests)} tests, 100% line coverage of `secret`"
    assert backend.requests and 'return "open"  # not run yet' in backend.requests[0].prompt


@pytest.mark.sandbox
@pytest.mark.model
def test_without_the_model_the_search_stops_when_coverage_stops_growing(tmp_path: Path) -> None:
    plan_for(tmp_path, "secret")
    found = search_calls(tmp_path, tmp_path / "m.py", SOURCE, "secret", round_size=10)
    assert found.rounds == 3  # round 0, then two rounds that add nothing (PATIENCE)
    assert found.covered() == {19, 21}
    assert found.from_model == set()


@pytest.mark.sandbox
@pytest.mark.model
def test_a_method_gets_an_object_built_with_drawn_arguments(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "Account.withdraw")
    generated = observed_tests(plan)
    assert generated is not None
    assert "obj = Account(" in generated.code and "pytest.raises(ValueError)" in generated.code
    assert generated.coverage_summary("withdraw").endswith("100% line coverage of `withdraw`")


@pytest.mark.sandbox
@pytest.mark.model
def test_calls_that_need_the_network_get_no_test_and_are_named_in_a_note(tmp_path: Path) -> None:
    generated = observed_tests(plan_for(tmp_path, "fetch"))
    assert generated is not None  # a negative port raises ValueError: a behaviour, tested
    assert "pytest.raises(ValueError)" in generated.code
    assert "Error):" not in generated.code.replace("ValueError):", "")
    assert generated.notes and "could not run in the sandbox (no network" in generated.notes[0]
    assert "ConnectionRefusedError" in generated.notes[0] or "OSError" in generated.notes[0]
    with pytest.raises(TestgenError, match=r"`ping` could not run in the sandbox: 1 call could not run in the sandbox \(no network.*ping\(\)"):
        observed_tests(plan_for(tmp_path, "ping"))


@pytest.mark.sandbox
@pytest.mark.model
def test_an_object_without_a_literal_repr_is_checked_by_type_and_public_attributes(tmp_path: Path) -> None:
    source = (
        "class Point:\n    def __init__(self, x, y):\n        self.x, self.y, self._cache = x, y, object()\n\n\n"
        "def origin_shift(dx: int) -> Point:\n    if dx < 0:\n        raise ValueError('negative')\n    return Point(dx, 0.5)\n"
    )
    (tmp_path / "geo.py").write_text(source, encoding="utf-8")
    found = search_calls(tmp_path, tmp_path / "geo.py", source, "origin_shift", round_size=10)
    value = next(o for o in found.chosen if o.exception_type is None)
    assert value.stable and not value.literal and value.value_type == "geo.Point"
    assert value.attributes == {"x": value.call[len("origin_shift("):-1], "y": "0.5"}  # not _cache


def test_calls_of_existing_tests_are_reused_when_their_arguments_are_literals() -> None:
    tests = (
        "from m import secret, Account\n\n"
        "def test_one():\n    assert secret(3) == 'closed'\n    value = 4\n    assert secret(value) == 'closed'\n"
        "    assert secret(*[1]) and secret(code=-1)\n\n"
        "def test_two():\n    assert Account('a', 5).withdraw(2) == 3\n"
    )
    assert existing_calls(tests, "secret") == ["secret(3)", "secret(code=-1)"]
    assert existing_calls(tests, "Account.withdraw") == ["obj.withdraw(2)"]
    assert existing_calls("def broken(:\n", "secret") == []


@pytest.mark.sandbox
@pytest.mark.model
def test_what_existing_tests_cover_gets_no_second_test(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "cells")
    plan.existing = "from m import cells\n\ndef test_none():\n    assert cells([], None, '') == -1\n"
    generated = observed_tests(plan)
    assert generated is not None
    assert "cells([], None, '')" not in generated.code and "when_limit_is_none" not in generated.code
    assert "when_not_limit_is_none" in generated.code or "when_name_eq_total" in generated.code


def test_a_parameter_without_a_hint_gets_numbers_text_and_lists_of_either() -> None:
    calls = draw_calls(find_function(ast.parse("def f(items):\n    return items\n"), "f"), "f", False, 60, 0)
    values = [ast.literal_eval(ast.parse(c, mode="eval").body.args[0]) for c in calls]
    assert any(isinstance(v, int) for v in values) and any(isinstance(v, str) for v in values)
    assert any(isinstance(v, list) and v and all(isinstance(i, int) for i in v) for v in values)
    assert any(isinstance(v, list) and v and all(isinstance(i, str) for i in v) for v in values)
