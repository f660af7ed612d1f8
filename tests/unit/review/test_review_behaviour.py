"""The behaviour diff: the same calls against the old and the new version, in the real sandbox.

Uses the standard library's ``colorsys.py`` with the two bugs of issue 14: in ``hls_to_rgb``,
``if l <= 0.5: m2 = l * (1.0+s)`` becomes ``if l < 0.5: m2 = l * (1.0-s)``, and ``rgb_to_yiq``
returns ``(y, q, i)`` instead of ``(y, i, q)``.
"""

from __future__ import annotations

import ast
import colorsys
from pathlib import Path

import git
import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.review.analyzers.base import run_analyzers
from lfcode.execution.engine import CallOutcome
from lfcode.review.analyzers.behaviour import BEHAVIOUR, candidate_calls, changed_functions
from lfcode.review.outcomes import differences, same_result, shown
from lfcode.review.result import ReviewOptions
from tests.unit.review.gitutil import commit, isolated_git, make_repo, snapshot, write  # noqa: F401

COLORSYS = Path(colorsys.__file__).read_text(encoding="utf-8")
HLS_BUG = COLORSYS.replace("if l <= 0.5:\n        m2 = l * (1.0+s)", "if l < 0.5:\n        m2 = l * (1.0-s)")
YIQ_BUG = COLORSYS.replace("return (y, i, q)", "return (y, q, i)")


def test_changed_functions_are_those_whose_syntax_tree_changed() -> None:
    assert changed_functions(COLORSYS, HLS_BUG) == ["hls_to_rgb"]
    assert changed_functions(COLORSYS, YIQ_BUG) == ["rgb_to_yiq"]
    reformatted = COLORSYS.replace("def rgb_to_yiq(r, g, b):", "def rgb_to_yiq(r, g, b):  # reformatted").replace(
        '"""Conversion functions between RGB and other color systems.', '"""Conversions between colour systems.')
    assert changed_functions(COLORSYS, reformatted) == []
    assert changed_functions(COLORSYS, ast.unparse(ast.parse(COLORSYS))) == []


def test_candidate_calls_use_the_constants_of_both_versions() -> None:
    old = "def f(x: int):\n    return x > 10\n"
    new = "def f(x: int):\n    return x > 12\n"
    calls = candidate_calls(old, new, "f", tests="from m import f\n\ndef test_f():\n    assert f(99)\n")
    assert calls[0] == "f(99)"
    assert {"f(10)", "f(11)", "f(12)", "f(13)"} <= set(calls)


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"colorsys.py": COLORSYS}, "first")
    yield r
    r.close()


def review(repo: git.Repo):
    return run_analyzers(repo.working_tree_dir, ReviewOptions(), FakeBackend(default=""), [BEHAVIOUR])


@pytest.mark.sandbox
@pytest.mark.model
def test_both_colorsys_bugs_are_shown_with_a_call_whose_result_changed(repo: git.Repo) -> None:
    write(repo, {"colorsys.py": HLS_BUG.replace("return (y, i, q)", "return (y, q, i)")})
    root = Path(repo.working_tree_dir)
    before = snapshot(root)
    result = review(repo)
    assert snapshot(root) == before
    by_function = {f.evidence.call.split("(")[0]: f for f in result.findings}
    assert set(by_function) == {"hls_to_rgb", "rgb_to_yiq"}
    hls = by_function["hls_to_rgb"]
    lines = COLORSYS.splitlines()
    assert lines[hls.line - 1].strip() in ("if l <= 0.5:", "m2 = l * (1.0+s)")
    assert (hls.severity, hls.rule, hls.evidence.kind) == ("warning", "behaviour/changed-result", "run")
    assert hls.message.startswith(f"`{hls.evidence.call}` returned `")
    assert "may be intended" in hls.message
    # The evidence is true: run the call on both versions here.
    old_ns: dict = {}
    new_ns: dict = {}
    exec(compile(COLORSYS, "old", "exec"), old_ns)  # noqa: S102 - the standard library's own code
    exec(compile(HLS_BUG, "new", "exec"), new_ns)  # noqa: S102
    call = hls.evidence.call
    assert repr(eval(call, old_ns)) in hls.evidence.before and repr(eval(call, new_ns)) in hls.evidence.after  # noqa: S307
    assert repr(eval(call, old_ns)) != repr(eval(call, new_ns))  # noqa: S307
    yiq = by_function["rgb_to_yiq"]
    assert lines[yiq.line - 1].strip() == "return (y, i, q)"


@pytest.mark.sandbox
@pytest.mark.model
def test_an_equivalent_refactor_gives_no_finding(repo: git.Repo) -> None:
    refactor = COLORSYS.replace("    y = 0.30*r + 0.59*g + 0.11*b\n", "    luma = 0.30*r + 0.59*g + 0.11*b\n    y = luma\n")
    assert changed_functions(COLORSYS, refactor) == ["rgb_to_yiq"]
    write(repo, {"colorsys.py": refactor})
    result = review(repo)
    assert result.findings == [] and result.paths == ["colorsys.py"]


@pytest.mark.sandbox
@pytest.mark.model
def test_with_model_calls_the_model_proposes_the_input_that_shows_the_change(tmp_path: Path) -> None:
    """No constant or drawn input reaches ``code * 7 == 337491``; the (scripted) model proposes
    ``secret(48213)``, which the sandbox runs on both versions."""
    repo = make_repo(tmp_path / "work")
    before = "def secret(code: int) -> str:\n    if code * 7 == 337491:\n        return 'open'\n    return 'closed'\n"
    commit(repo, {"lock.py": before}, "first")
    write(repo, {"lock.py": before.replace("'open'", "'opened'")})
    plain = run_analyzers(repo.working_tree_dir, ReviewOptions(), FakeBackend(default="secret(48213)\n"), [BEHAVIOUR])
    assert plain.findings == []
    backend = FakeBackend(default="secret(48213)\n")
    asked = run_analyzers(repo.working_tree_dir, ReviewOptions(model_calls=True), backend, [BEHAVIOUR])
    (finding,) = asked.findings
    assert finding.evidence.call == "secret(48213)" and finding.line == 3
    assert finding.message == "`secret(48213)` returned `'open'` before and `'opened'` now; the change may be intended"
    assert len(backend.requests) == 1
    repo.close()


def outcome(call: str = "f(1)", value: str | None = "1", literal: bool = True, exception: str | None = None, **extra) -> CallOutcome:
    return CallOutcome(call=call, value_repr=value, value_type="int", literal=literal, exception_type=exception,
                       exception_message=None, stdout="", lines=None, arcs=None, ms=1.0, stable=True, timed_out=False, **extra)


def test_outcomes_agree_on_values_not_on_float_noise_or_the_sign_of_zero() -> None:
    assert same_result(outcome(value="(0.1, 0.0)"), outcome(value="(0.10000000000000002, -0.0)"))
    assert not same_result(outcome(value="(0.1, 0.0)"), outcome(value="(0.1001, 0.0)"))
    assert same_result(outcome(value=None, exception="ValueError"), outcome(value=None, exception="ValueError"))
    assert not same_result(outcome(value=None, exception="ValueError"), outcome(value="1"))
    # A generator's items and the object's state after the call count too.
    assert not same_result(outcome(items="[1, 2]"), outcome(items="[1, 3]"))
    changed = outcome(call="obj.push(1)", value="None", state={"size": "2"})
    assert not same_result(outcome(call="obj.push(1)", value="None", state={"size": "1"}), changed)
    assert shown(changed, outcome(call="obj.push(1)", value="None", state={"size": "1"})) == "left `obj.size == 2`"


def test_differences_leave_out_unstable_calls_and_put_returned_values_first() -> None:
    before = [outcome("f(1)", "1"), outcome("f(2)", None, exception="KeyError"), outcome("f(3)", "3")]
    after = [outcome("f(1)", "1"), outcome("f(2)", "2"), outcome("f(3)", "4"),
             CallOutcome("f(4)", "9", "int", True, None, None, "", None, None, 1.0, False, False)]
    assert [new.call for _old, new in differences(before, after)] == ["f(3)", "f(2)"]
