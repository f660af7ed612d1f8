"""Worked examples: which observed calls are shown, the notes when there are none, and real runs
in the bubblewrap sandbox checked by running each call again outside lfcode."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lfcode.errors import Cancelled
from lfcode.execution import sandbox as sandboxing
from lfcode.execution.engine import CallOutcome
from lfcode.explain import service
from lfcode.explain.examples import RESULT_CHARS, Example, Examples, as_example, choose, showable, worked_examples
from lfcode.explain.facts import Facts, Raised
from tests.unit.explain.explainutil import facts_of


def outcome(call: str, value: str | None = None, *, error: str | None = None, message: str | None = None, lines: tuple[int, ...] = (1,),
            literal: bool = True, stable: bool = True, timed_out: bool = False, constructor_error: str | None = None) -> CallOutcome:
    """A :class:`CallOutcome` as the engine reports it."""
    return CallOutcome(call, None if error else value, None if error else "tuple", literal and not error, error, message, "", lines, (),
                       1.0, stable, timed_out, constructor_error)


# choose / showable / as_example


def test_an_exception_is_shown_only_when_the_function_raises_that_type_itself() -> None:
    values = [outcome("f(1)", "(1, 2)", lines=(1, 2)), outcome("f(2)", "(2, 3)", lines=(1, 3))]
    raised = outcome("f(-1)", error="ValueError", message="negative")
    wrong_type = outcome("f('x')", error="TypeError", message="bad operand")
    chosen = choose([*values, raised, wrong_type], {"ValueError"})
    assert raised in chosen and wrong_type not in chosen
    assert [o.call for o in chosen] == ["f(1)", "f(2)", "f(-1)"]  # in the order they ran
    assert raised not in choose([*values, raised, wrong_type], set())
    assert wrong_type not in choose([*values, raised, wrong_type], {"ValueError"})


def test_at_most_one_exception_and_at_most_the_limit() -> None:
    values = [outcome(f"f({n})", f"({n},)", lines=(n,)) for n in range(1, 6)]
    errors = [outcome("f(-1)", error="ValueError"), outcome("f(-22)", error="builtins.ValueError")]
    chosen = choose([*values, *errors], {"ValueError"}, limit=3)
    assert len(chosen) == 3
    assert [o.call for o in chosen if o.exception_type] == ["f(-1)"]  # the shortest call


def test_showable_needs_a_stable_finished_literal_of_bounded_length() -> None:
    assert showable(outcome("f(1)", "(1, 2)"), set())
    assert not showable(outcome("f(1)", "(1, 2)", stable=False), set())
    assert not showable(outcome("f(1)", "(1, 2)", timed_out=True), set())
    assert not showable(outcome("obj.f(1)", "(1, 2)", constructor_error="TypeError: x"), set())
    assert not showable(outcome("f(1)", "<object at 0x1>", literal=False), set())
    assert showable(outcome("f(1)", "'" + "x" * (RESULT_CHARS - 2) + "'"), set())
    assert not showable(outcome("f(1)", "'" + "x" * RESULT_CHARS + "'"), set())
    assert not showable(outcome("f(1)", error="FileNotFoundError"), {"FileNotFoundError"})  # the sandbox's doing


def test_as_example_writes_results_exceptions_and_methods_on_a_fresh_object() -> None:
    assert as_example(outcome("f(1)", "(1, 2)"), None) == Example("f(1)", "(1, 2)")
    raised = outcome("f(-1)", error="builtins.ValueError", message="negative value\nsecond line")
    assert as_example(raised, None) == Example("f(-1)", "raises ValueError: negative value")
    assert as_example(outcome("f(-1)", error="KeyError"), None) == Example("f(-1)", "raises KeyError")
    assert as_example(outcome("obj.mix(2)", "3"), "Color(1)") == Example("Color(1).mix(2)", "3")


# Notes when there are no examples (nothing is run)


def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("nothing may run for this symbol")

    monkeypatch.setattr("lfcode.execution.engine.run_calls", refuse)


def test_notes_for_other_languages_classes_generators_and_coroutines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_run(monkeypatch)
    (tmp_path / "util.js").write_text("function twice(x) {\n  return 2 * x;\n}\n")
    js = facts_of(tmp_path / "util.js", "twice", tmp_path)
    assert worked_examples(tmp_path, tmp_path / "util.js", "", js).note == "examples are run for Python only; this is javascript"
    text = "class Box:\n    pass\n\n\ndef numbers(n):\n    yield from range(n)\n\n\nasync def fetch(x):\n    return x\n"
    (tmp_path / "m.py").write_text(text)
    cls = worked_examples(tmp_path, tmp_path / "m.py", text, facts_of(tmp_path / "m.py", "Box", tmp_path))
    assert cls == Examples(note="examples are run for functions and methods, not for a class")
    generator = worked_examples(tmp_path, tmp_path / "m.py", text, facts_of(tmp_path / "m.py", "numbers", tmp_path))
    assert generator.items == [] and generator.note == "`numbers` is a generator; examples are not run for it"
    coroutine = worked_examples(tmp_path, tmp_path / "m.py", text, facts_of(tmp_path / "m.py", "fetch", tmp_path))
    assert coroutine.items == [] and "`fetch` is a coroutine" in coroutine.note


def test_without_a_sandbox_nothing_runs_and_a_note_says_why(colorsys_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []

    def refuse(argv, *args, **kwargs):
        started.append(argv)
        raise AssertionError(f"nothing may run without a sandbox: {argv}")

    monkeypatch.setattr(sandboxing, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    monkeypatch.setattr(subprocess, "Popen", refuse)
    facts = facts_of(colorsys_copy, "rgb_to_hls", colorsys_copy.parent)
    found = worked_examples(colorsys_copy.parent, colorsys_copy, colorsys_copy.read_text(), facts)
    assert found.items == [] and found.note.startswith("no examples: the sandbox is not available (")
    assert "bubblewrap (bwrap) is not installed" in found.note and started == []


def test_without_a_project_root_there_are_no_examples(colorsys_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_run(monkeypatch)
    text = colorsys_copy.read_text()
    prepared = service.prepare(text, service.symbol_for_line(text, str(colorsys_copy), 80), str(colorsys_copy), None)
    assert service.run_examples(prepared) == Examples(note="examples need the file's project folder")


def test_a_function_without_calls_to_try_gets_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_run(monkeypatch)
    facts = Facts(qualname="missing", kind="function", language="python", path=str(tmp_path / "m.py"), start_line=1, end_line=2,
                  signature="def missing()")
    assert worked_examples(tmp_path, tmp_path / "m.py", "x = 1\n", facts).note == "lfcode found no call of `missing` to run"


# Real runs in the sandbox


def rerun(root: Path, module: str, call: str) -> str:
    """``repr`` of ``call`` evaluated in a fresh interpreter in ``root`` importing ``module`` from there."""
    code = (f"import {module}, os\n"
            f"assert os.path.dirname(os.path.abspath({module}.__file__)) == os.getcwd(), {module}.__file__\n"
            f"from {module} import *\n"
            f"try:\n    print(repr({call}))\n"
            f"except Exception as exc:\n    print('raises ' + type(exc).__name__ + (': ' + str(exc) if str(exc) else ''))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.rstrip("\n")


@pytest.mark.sandbox
@pytest.mark.model
def test_colorsys_examples_give_the_shown_results_when_run_again(colorsys_copy: Path) -> None:
    facts = facts_of(colorsys_copy, "rgb_to_hls", colorsys_copy.parent)
    found = worked_examples(colorsys_copy.parent, colorsys_copy, colorsys_copy.read_text(), facts)
    assert found.note == "" and 2 <= len(found.items) <= 3
    assert len({e.result for e in found.items}) == len(found.items)
    for example in found.items:
        assert example.call.startswith("rgb_to_hls(")
        assert rerun(colorsys_copy.parent, "colorsys", example.call) == example.result


@pytest.mark.sandbox
@pytest.mark.model
def test_an_exception_the_function_raises_is_an_example(tmp_path: Path) -> None:
    text = ('def ratio(a, b):\n    """\n    >>> ratio(1, 2)\n    0.5\n    >>> ratio(3, 0)\n    Traceback (most recent call last):\n'
            '    ValueError: b is zero\n    """\n    if b == 0:\n        raise ValueError("b is zero")\n    return a / b\n')
    (tmp_path / "calc.py").write_text(text)
    facts = facts_of(tmp_path / "calc.py", "ratio", tmp_path)
    assert facts.raises == [Raised(type="ValueError", line=10)]
    found = worked_examples(tmp_path, tmp_path / "calc.py", text, facts)
    raised = [e for e in found.items if e.result.startswith("raises ")]
    assert len(raised) == 1 and raised[0].result.startswith("raises ValueError")
    assert len(found.items) >= 2
    for example in found.items:
        assert rerun(tmp_path, "calc", example.call) == example.result


@pytest.mark.sandbox
@pytest.mark.model
def test_a_module_that_raises_on_import_gets_a_note(tmp_path: Path) -> None:
    text = 'raise RuntimeError("boom at import")\n\n\ndef f(x: int) -> int:\n    return x + 1\n'
    (tmp_path / "bad.py").write_text(text)
    found = worked_examples(tmp_path, tmp_path / "bad.py", text, facts_of(tmp_path / "bad.py", "f", tmp_path))
    assert found.items == []
    assert "bad.py cannot be imported" in found.note and "boom at import" in found.note


@pytest.mark.sandbox
@pytest.mark.model
def test_a_cancelled_run_raises(colorsys_copy: Path) -> None:
    facts = facts_of(colorsys_copy, "rgb_to_hls", colorsys_copy.parent)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        worked_examples(colorsys_copy.parent, colorsys_copy, colorsys_copy.read_text(), facts, cancel=cancel)


@pytest.mark.sandbox
@pytest.mark.model
def test_a_methods_examples_build_their_object(tmp_path: Path) -> None:
    text = ("class Rect:\n    def __init__(self, w: int = 2, h: int = 3):\n        self.w = w\n        self.h = h\n\n"
            "    def area(self, scale: int) -> int:\n        if scale < 0:\n            raise ValueError(\"negative scale\")\n"
            "        return self.w * self.h * scale\n")
    (tmp_path / "shapes.py").write_text(text)
    facts = facts_of(tmp_path / "shapes.py", "Rect.area", tmp_path)
    found = worked_examples(tmp_path, tmp_path / "shapes.py", text, facts)
    assert len(found.items) >= 2, found.note
    for example in found.items:
        assert example.call.startswith("Rect(") and ").area(" in example.call and "obj" not in example.call
        assert rerun(tmp_path, "shapes", example.call) == example.result
