"""Coverage-guided search for calls worth a test: run proposals in the sandbox, round after round,
until every line of the function ran, coverage stopped growing, or the time budget is spent.

Round 0 runs the calls of the project's existing tests
(:func:`lfcode.testgen.observed.existing_calls`), the model-free proposals
(:func:`lfcode.testgen.observed.propose_calls`: doctests,
boundary values, one factor at a time) and a batch of inputs drawn from the type hints
(:func:`lfcode.testgen.inputs.draw_calls`). Each later round draws a new batch and, when a
model is at hand, asks it for calls that reach the still-uncovered lines
(:func:`lfcode.testgen.model_calls.model_calls`), the loop of CoverUp (arXiv 2403.16218) with
the values observed, not predicted. The kept set is the greedy set cover of lines and branch
arcs (:func:`lfcode.testgen.observed.select_calls`). Calls that failed because the sandbox has
no network or no such file (``OSError`` and its kind) are never asserted: they are reported as
calls that could not run here. :func:`observed_tests` turns the search into pytest tests for a
:class:`~lfcode.testgen.generate.TestPlan` (the test generation service's entry).
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lfcode.errors import CancelToken, Cancelled
from lfcode.execution.engine import CallOutcome, run_calls
from lfcode.testgen.inputs import draw_calls
from lfcode.testgen.model_calls import marked_source
from lfcode.testgen.observed import (
    BUDGET_SECONDS,
    DISTINCT,
    HEADER,
    coverage_units,
    existing_calls,
    find_function,
    propose_calls,
    select_calls,
    slug,
    test_blocks,
)

if TYPE_CHECKING:
    from lfcode.testgen.generate import GeneratedTests, TestPlan

#: Calls drawn from the type hints per round.
ROUND_SIZE = 60
#: Most rounds after the first.
MAX_ROUNDS = 5
#: Exceptions that say the sandbox lacks something (network, files, a module), not how the code
#: behaves: never asserted.
ENVIRONMENT = {
    "OSError", "IOError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "ConnectionAbortedError",
    "BrokenPipeError", "PermissionError", "FileNotFoundError", "IsADirectoryError", "NotADirectoryError", "BlockingIOError",
    "socket.gaierror", "socket.herror", "socket.timeout", "urllib.error.URLError", "ssl.SSLError", "ImportError", "ModuleNotFoundError",
}
OPERATORS = {
    ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge",
    ast.In: "in", ast.NotIn: "not_in", ast.Is: "is", ast.IsNot: "is_not",
}

#: Rounds in a row that may add nothing before the search stops.
PATIENCE = 2

#: Proposes calls for the uncovered lines: (the function's source with those lines marked, as
#: :func:`lfcode.testgen.model_calls.marked_source` does; the callee, ``"f"`` or ``"obj.m"``;
#: calls that already ran; the round number) → call expressions.
Proposer = Callable[[str, str, Sequence[str], int], list[str]]


@dataclass
class SearchResult:
    """What the search found. ``outcomes``: every call run, in order; ``chosen``: the calls to
    write tests for (set-cover order); ``names``: a behaviour for each chosen call's test name
    (``"when_l_le_0_5"``); ``statements``: the target's statement lines (1-based);
    ``constructor``: how ``obj`` was built for a method; ``unrunnable``: ``"call: Type: message"``
    of calls that failed for lack of something in the sandbox; ``from_model``: calls the model
    proposed; ``import_error``: the module did not import (nothing else is set)."""

    outcomes: list[CallOutcome] = field(default_factory=list)
    chosen: list[CallOutcome] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    statements: frozenset[int] = frozenset()
    constructor: str | None = None
    unrunnable: list[str] = field(default_factory=list)
    from_model: set[str] = field(default_factory=set)
    import_error: str | None = None
    rounds: int = 0
    seconds: float = 0.0

    def covered(self, outcomes: Sequence[CallOutcome] | None = None) -> set[int]:
        """Statement lines run by ``outcomes`` (default: the chosen calls)."""
        lines = {line for o in (self.chosen if outcomes is None else outcomes) for line in o.lines or ()}
        return lines & self.statements


def statement_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[int]:
    """The first lines of ``function``'s statements, without the ``def`` line and the docstring
    (as coverage.py reports executed lines)."""
    lines = {n.lineno for statement in function.body for n in ast.walk(statement) if isinstance(n, ast.stmt)}
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines.discard(first.lineno)
    return frozenset(lines)


def assertable(outcome: CallOutcome) -> bool:
    """Whether a test may assert ``outcome``: it finished, twice alike, built its object, and did
    not fail for lack of network, files or modules in the sandbox."""
    return outcome.stable and not outcome.timed_out and outcome.constructor_error is None and outcome.exception_type not in ENVIRONMENT


def _condition(node: ast.expr) -> str:
    """``l <= 0.5`` → ``l_le_0_5``: the condition in identifier characters."""

    class Words(ast.NodeTransformer):
        def visit_Compare(self, compare: ast.Compare) -> ast.AST:
            parts = [ast.unparse(compare.left)]
            for op, right in zip(compare.ops, compare.comparators):
                parts += [OPERATORS.get(type(op), "op"), ast.unparse(right)]
            return ast.Name(id=" ".join(parts))

    return slug(ast.unparse(Words().visit(ast.parse(ast.unparse(node), mode="eval")).body), 36, fallback="")


def behaviour_names(
    function: ast.FunctionDef | ast.AsyncFunctionDef, chosen: Sequence[CallOutcome], existing: Sequence[CallOutcome] = (),
) -> dict[str, str]:
    """A name fragment per chosen call from the branch it was the first to take, in set-cover
    order: the deepest ``if``/``while`` whose outcome it newly covered (``when_minc_eq_maxc``,
    ``when_not_l_le_0_5``), ``raises_<type>`` for an exception; calls with neither get none.
    Branches the ``existing`` tests' calls took do not count as new."""
    decisions = {n.lineno: n for n in ast.walk(function) if isinstance(n, (ast.If, ast.While))}
    seen: set[tuple[int, int]] = {arc for o in existing for arc in o.arcs or ()}
    names: dict[str, str] = {}
    for outcome in chosen:
        gained = sorted(set(outcome.arcs or ()) - seen)
        seen |= set(outcome.arcs or ())
        if outcome.exception_type is not None:
            names[outcome.call] = "raises_" + slug(outcome.exception_type.rsplit(".", 1)[-1], 36)
            continue
        taken = [(a, b) for a, b in gained if a in decisions]
        if taken:
            line, target = taken[-1]
            node = decisions[line]
            condition = _condition(node.test)
            if condition:
                holds = target == node.body[0].lineno
                if condition.startswith("not_"):
                    holds, condition = not holds, condition[4:]
                names[outcome.call] = ("when_" if holds else "when_not_") + condition
    return names


def constructors(tree: ast.Module, qualname: str) -> list[str | None]:
    """How to build ``obj`` for a method ``"Class.m"`` (``[None]`` for a function):
    ``Class()`` when ``__init__`` needs no argument, else up to three calls drawn from its hints."""
    if "." not in qualname:
        return [None]
    owner = qualname.rsplit(".", 1)[0]
    try:
        init = find_function(tree, owner + ".__init__")
    except LookupError:
        return [f"{owner}()"]
    required = len([*init.args.posonlyargs, *init.args.args]) - 1 - len(init.args.defaults)
    if required <= 0:
        return [f"{owner}()"]
    return [*draw_calls(init, owner, True, 3, 0)[:3]] or [f"{owner}()"]


def search_calls(
    root: Path,
    file: Path,
    source: str,
    qualname: str,
    *,
    propose_more: Proposer | None = None,
    seeds: Sequence[str] = (),
    budget_seconds: float = BUDGET_SECONDS,
    round_size: int = ROUND_SIZE,
    max_rounds: int = MAX_ROUNDS,
    call_seconds: float = 0.5,
    distinct: int = DISTINCT,
    sandbox: Literal["required", "off"] = "required",
    cancel: CancelToken | None = None,
    progress: Callable[[str], None] | None = None,
) -> SearchResult:
    """Search calls of ``qualname`` in ``source`` (the text of ``file`` in project ``root``),
    starting with ``seeds`` (the calls of the project's existing tests: what they cover is
    taken as covered, and they get no new test),
    until its statement lines are all covered, :data:`PATIENCE` rounds in a row add no line or
    arc, ``max_rounds`` more rounds ran or ``budget_seconds`` (s) passed; ``call_seconds`` bounds
    each call; ``distinct`` is the number of calls kept when the cover chose fewer
    (:func:`lfcode.testgen.observed.select_calls`).
    ``progress`` receives texts such as ``"round 2: 8/10 lines of `f` run"``.

    Raises:
        LookupError: ``qualname`` is not a function of ``source``. SyntaxError: it does not parse.
        SandboxUnavailable: ``sandbox="required"`` and no OS sandbox works here.
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    started = time.monotonic()
    tree = ast.parse(source)
    function = find_function(tree, qualname)
    method = "." in qualname
    callee = f"obj.{qualname.rsplit('.', 1)[-1]}" if method else qualname
    result = SearchResult(statements=statement_lines(function))
    pending = [*seeds, *propose_calls(source, qualname), *draw_calls(function, callee, method, round_size, 0)]
    candidates = constructors(tree, qualname)
    result.constructor = candidates[0]
    ran: set[str] = set()
    units: set[tuple[int, int]] = set()
    idle = 0
    for number in range(max_rounds + 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("test generation was cancelled")
        pending = [call for call in dict.fromkeys(pending) if call not in ran]
        if not pending:
            break
        remaining = budget_seconds - (time.monotonic() - started)
        report = run_calls(root, file, pending, constructor=result.constructor, source=source, sandbox=sandbox, cancel=cancel,
                           call_seconds=call_seconds, timeout=max(5.0, remaining))
        if report.import_error is not None:
            result.import_error = report.import_error
            return result
        if number == 0 and report.outcomes and all(o.constructor_error for o in report.outcomes) and len(candidates) > 1:
            candidates.pop(0)
            result.constructor = candidates[0]
            continue
        ran |= {o.call for o in report.outcomes} | set(pending)
        result.outcomes += report.outcomes
        result.rounds = number + 1
        gained = set().union(*(coverage_units(o) for o in report.outcomes if assertable(o))) - units
        units |= gained
        idle = 0 if gained else idle + 1
        lines = {line for line, end in units if end == 0} & result.statements
        if progress is not None:
            progress(f"round {number + 1}: {len(lines)}/{len(result.statements)} lines of `{qualname}` run")
        if lines >= result.statements or idle >= PATIENCE or time.monotonic() - started > budget_seconds:
            break
        pending = []
        if propose_more is not None:
            examples = [o.call for o in select_calls([o for o in result.outcomes if assertable(o)], limit=3)]
            marked = marked_source(source, function.lineno, function.end_lineno or function.lineno, set(result.statements - lines))
            proposed = propose_more(marked, callee, examples, number)
            result.from_model |= set(proposed) - ran
            pending += proposed
        pending += draw_calls(function, callee, method, round_size, number + 1)
    old = [o for o in result.outcomes if o.call in set(seeds)]
    fresh = [o for o in result.outcomes if assertable(o) and o.call not in set(seeds)]
    result.chosen = select_calls(fresh, distinct=distinct, existing=old)
    result.names = behaviour_names(function, result.chosen, old)
    result.unrunnable = [f"{o.call}: {o.exception_type}: {o.exception_message}" for o in result.outcomes if o.exception_type in ENVIRONMENT]
    result.seconds = time.monotonic() - started
    return result


def observed_tests(
    plan: TestPlan,
    cancel: CancelToken | None = None,
    sandbox: Literal["required", "off"] = "required",
    propose_more: Proposer | None = None,
    budget_seconds: float = BUDGET_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> GeneratedTests | None:
    """Tests from observed behaviour for ``plan`` (Python and pytest only; ``None`` otherwise,
    or when no call gave anything to assert): the coverage-guided search of
    :func:`search_calls` (``propose_more``: the model's calls for uncovered
    lines; ``budget_seconds``: its time bound, s), then one test per chosen call. The result's
    ``covered``/``statements`` give the line coverage of the target, ``notes`` what could not run.

    Raises:
        SandboxUnavailable: ``sandbox="required"`` and no OS sandbox works (nothing ran).
        TestgenError: the module cannot be imported in the sandbox (the message names the error).
        lfcode.errors.Cancelled: ``cancel`` was set.
    """
    from lfcode.testgen.generate import TestgenError, assemble, header_and_closer
    from lfcode.testgen.scaffold import SPECS

    symbol = plan.symbol
    if plan.framework.name != "pytest" or symbol.kind not in ("function", "method"):
        return None
    try:
        found = search_calls(plan.root, plan.source_path, plan.source_text, symbol.qualname, propose_more=propose_more,
                             budget_seconds=budget_seconds, sandbox=sandbox, cancel=cancel, progress=progress,
                             seeds=existing_calls(plan.existing, symbol.qualname))
    except (LookupError, SyntaxError):
        return None
    if found.import_error is not None:
        raise TestgenError(f"{plan.source_path.name} cannot be imported in the sandbox ({found.import_error}); nothing was written")
    taken = set(re.findall(SPECS["pytest"].name, plan.existing or "", re.M))
    blocks = test_blocks(symbol.qualname, found.chosen, found.constructor, taken, found.names, found.from_model)
    notes = _notes(found.unrunnable)
    if not blocks:
        if notes:
            raise TestgenError(f"`{symbol.qualname}` could not run in the sandbox: {notes[0]}; nothing was written")
        return None
    header, closer = header_and_closer(plan)
    generated = assemble(plan, HEADER.format(name=symbol.qualname) + header, closer, blocks)
    kept = [o for o in found.chosen if o.constructor_error is None and (o.exception_type or o.value_type)]
    generated.covered = {test: tuple(sorted(found.covered([o]))) for test, o in zip(generated.tests, kept)}
    generated.statements = tuple(sorted(found.statements))
    generated.notes = notes
    return generated


def _notes(unrunnable: Sequence[str]) -> list[str]:
    """One line for the user about the calls that could not run in the sandbox."""
    if not unrunnable:
        return []
    return [f"{len(unrunnable)} call{'s' if len(unrunnable) != 1 else ''} could not run in the sandbox (no network, "
            f"no outside files), so they have no test; first: {unrunnable[0][:200]}"]
