"""Worked examples for an explanation: real calls of a Python function, run in the sandbox.

"Run, don't guess": the calls come from the function's doctests, the values its body compares
against and its type hints (:func:`lfcode.testgen.observed.propose_calls`,
:func:`lfcode.testgen.inputs.draw_calls`); the execution engine (:func:`lfcode.execution.engine.run_calls`)
runs them in the OS sandbox, each twice in fresh namespaces. An example is shown only when both
runs agree and its result is a literal (or an exception the function raises itself), so that it
can be checked by running the call again. The greedy set cover of executed lines and branches
(:func:`lfcode.testgen.observed.select_calls`) picks the 2-3 calls that show the most of the code.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lfcode.errors import CancelToken
from lfcode.execution.engine import CallOutcome
from lfcode.explain.facts import Facts

#: Examples shown at most, and calls run to find them.
MAX_EXAMPLES = 3
CALLS_RUN = 60
#: Longest result shown, characters (longer ones are not shown rather than cut).
RESULT_CHARS = 160
#: Bounds of the run: each call, and the whole sandboxed process, seconds.
CALL_SECONDS = 0.5
RUN_SECONDS = 20.0


@dataclass(frozen=True)
class Example:
    """One observed call: ``call`` is a Python expression that runs alone once the module's
    names are imported (``rgb_to_hls(1.0, 0.0, 0.0)``, ``Color(1).mix(2)``); ``result`` the
    ``repr`` of what it returned, or ``"raises ValueError: message"``."""

    call: str
    result: str


@dataclass
class Examples:
    """The worked examples (``items``) or, when there are none, ``note``: why (not Python, the
    sandbox is missing, the module does not import, no call gave a result that can be shown)."""

    items: list[Example] = field(default_factory=list)
    note: str = ""


def _raised_type(outcome: CallOutcome) -> str:
    return (outcome.exception_type or "").rsplit(".", 1)[-1]


def showable(outcome: CallOutcome, own_raises: set[str]) -> bool:
    """Whether ``outcome`` can be an example: finished, the same twice, its object built, and
    either a literal result of at most :data:`RESULT_CHARS` characters or an exception of a type
    in ``own_raises`` (a wrong-type ``TypeError`` from a drawn input is no example)."""
    from lfcode.testgen.search import assertable

    if not assertable(outcome):
        return False
    if outcome.exception_type is not None:
        return _raised_type(outcome) in own_raises
    return outcome.literal and outcome.value_repr is not None and len(outcome.value_repr) <= RESULT_CHARS


def choose(outcomes: Sequence[CallOutcome], own_raises: set[str], limit: int = MAX_EXAMPLES) -> list[CallOutcome]:
    """Up to ``limit`` examples: the set cover of lines and branches over the showable outcomes
    (:func:`select_calls`), at most one exception, then the shortest calls with results not
    shown yet; in the order of ``outcomes``."""
    from lfcode.testgen.observed import select_calls

    candidates = [o for o in outcomes if showable(o, own_raises)]
    values = [o for o in candidates if o.exception_type is None]
    chosen = select_calls(values, limit=limit, distinct=limit)
    errors = [o for o in candidates if o.exception_type is not None]
    if errors and len(chosen) >= limit:
        chosen = chosen[: limit - 1]
    if errors:
        chosen.append(min(errors, key=lambda o: len(o.call)))
    shown = {o.value_repr for o in chosen}
    for outcome in sorted(values, key=lambda o: len(o.call)):
        if len(chosen) >= min(limit, 2):
            break
        if outcome not in chosen and outcome.value_repr not in shown:
            chosen.append(outcome)
            shown.add(outcome.value_repr)
    order = {o.call: i for i, o in enumerate(outcomes)}
    return sorted(chosen, key=lambda o: order[o.call])


def as_example(outcome: CallOutcome, constructor: str | None) -> Example:
    """The :class:`Example` of ``outcome``; a method's ``obj.m(...)`` is written ``Class(...).m(...)``."""
    call = outcome.call
    if constructor and call.startswith("obj."):
        call = f"{constructor}.{call[4:]}"
    if outcome.exception_type is not None:
        message = (outcome.exception_message or "").splitlines()[0][:100] if outcome.exception_message else ""
        return Example(call, f"raises {_raised_type(outcome)}" + (f": {message}" if message else ""))
    return Example(call, outcome.value_repr or "")


def worked_examples(
    root: Path, file: Path, text: str, facts: Facts, *, sandbox: Literal["required", "off"] = "required",
    cancel: CancelToken | None = None, run_seconds: float = RUN_SECONDS,
) -> Examples:
    """Run calls of the function or method ``facts`` describes (in ``text``, the file ``file`` of
    project ``root``) in the sandbox and return 2-3 examples, or a ``note`` saying why there are
    none. Blocking: one sandboxed process, at most ``run_seconds`` (s).

    Raises:
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    from lfcode.execution.engine import ExecutionError, run_calls
    from lfcode.execution.sandbox import SandboxUnavailable

    if facts.language != "python":
        return Examples(note=f"examples are run for Python only; this is {facts.language}")
    if facts.kind not in ("function", "method"):
        return Examples(note=f"examples are run for functions and methods, not for a {facts.kind}")
    if facts.coroutine or facts.generator:
        return Examples(note=f"`{facts.qualname}` is a {'coroutine' if facts.coroutine else 'generator'}; examples are not run for it")
    proposed, drawn, constructor = _proposed(text, facts.qualname)
    calls = list(dict.fromkeys([*proposed, *drawn]))
    if not calls:
        return Examples(note=f"lfcode found no call of `{facts.qualname}` to run")
    try:
        report = run_calls(root, file, calls, constructor=constructor, source=text, sandbox=sandbox, cancel=cancel,
                           call_seconds=CALL_SECONDS, timeout=run_seconds)
    except SandboxUnavailable as exc:
        return Examples(note=f"no examples: the sandbox is not available ({exc})")
    except ExecutionError as exc:
        return Examples(note=f"no examples: {exc}")
    if report.import_error is not None:
        return Examples(note=f"no examples: {file.name} cannot be imported in the sandbox ({report.import_error[:200]})")
    own = {str(r.type).rsplit(".", 1)[-1] for r in facts.raises} - {"re-raises", "AssertionError"}
    by_call = {o.call: o for o in report.outcomes}
    chosen = choose([by_call[c] for c in proposed if c in by_call], own)
    if len(chosen) < 2:
        chosen = choose(report.outcomes, own)
    if not chosen:
        return Examples(note=f"no call of `{facts.qualname}` gave a result that can be shown ({len(report.outcomes)} ran in the sandbox)")
    return Examples(items=[as_example(o, constructor) for o in chosen])


def _proposed(text: str, qualname: str) -> tuple[list[str], list[str], str | None]:
    """Calls to try: the proposed ones (doctests, values the body compares against, hinted and
    small values, one parameter at a time), preferred as examples because they read simply; the
    drawn ones (:func:`draw_calls`), used when those show too little; and how to build ``obj``."""
    from lfcode.testgen.inputs import draw_calls
    from lfcode.testgen.observed import find_function, propose_calls
    from lfcode.testgen.search import constructors

    try:
        tree = ast.parse(text)
        function = find_function(tree, qualname)
        calls = propose_calls(text, qualname, max_calls=CALLS_RUN // 2)
    except (LookupError, SyntaxError, ValueError, RecursionError):
        return [], [], None
    method = "." in qualname
    callee = f"obj.{qualname.rsplit('.', 1)[-1]}" if method else qualname
    drawn = draw_calls(function, callee, method, CALLS_RUN - len(calls), 0)
    return calls, drawn, constructors(tree, qualname)[0]
