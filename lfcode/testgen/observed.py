"""Tests from observed behaviour: propose calls, run them (:mod:`lfcode.execution.engine`), keep a
small set that covers the most, and write assertions of what was observed.

The model cannot predict what a function returns; execution can. Pynguin writes regression
assertions from observed values the same way, and Meta's TestGen-LLM keeps only tests that
build, pass and add coverage ("Automated Unit Test Improvement using Large Language Models at
Meta", 2024). This module is the model-free part:

- :func:`propose_calls`: call expressions from the function's doctest examples, values for each
  parameter from its type hints, boundary values mined from the body (the constants it compares
  against, and just below and above them: ``if l <= 0.5`` gives 0.5, 0.49, 0.51), and the usual
  edge values (empty, zero, negative, ``None``), varied one parameter at a time;
- :func:`select_calls`: the greedy set cover of executed lines and branch arcs (Chvátal, "A
  greedy heuristic for the set-covering problem", 1979), over stable calls only;
- :func:`write_tests`: one pytest test per kept call, ``assert f(...) == observed`` (with
  ``pytest.approx`` for floats), ``pytest.raises`` for exceptions, and the type and public
  attributes when the value's ``repr`` is not a literal.

:mod:`lfcode.testgen.search` drives them, round after round, with inputs drawn from the type
hints and the model's calls for uncovered lines, and writes the tests (``observed_tests``).
"""

from __future__ import annotations

import ast
import itertools
import keyword
import re
from collections.abc import Sequence

from lfcode.execution.engine import CallOutcome

#: Default time budget of the search per symbol, seconds (:func:`lfcode.testgen.search.search_calls`;
#: here, not there, so that importing it does not import hypothesis).
BUDGET_SECONDS = 30.0

#: Values tried for a parameter with no hint and no mined constant.
GENERIC = ("0", "1", "-1", "0.5", "''", "'abc'", "None", "[]", "[1, 2, 3]")
#: Values per annotation name.
BY_HINT = {
    "int": ("0", "1", "-1", "2", "100"),
    "float": ("0.0", "0.5", "1.0", "-1.0", "2.5"),
    "bool": ("True", "False"),
    "str": ("''", "'a'", "'abc'", "'Hello World'"),
    "bytes": ("b''", "b'abc'"),
    "list": ("[]", "[1, 2, 3]", "[3, 1, 2]"),
    "tuple": ("()", "(1, 2)"),
    "dict": ("{}", "{'a': 1}"),
    "set": ("set()", "{1, 2}"),
}
#: Most calls proposed per function.
MAX_CALLS = 80
#: Calls kept per function when the set cover chose fewer (see :func:`select_calls`).
DISTINCT = 8


def find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The function or method ``qualname`` (``"f"`` or ``"Class.method"``) in ``tree``.

    Raises:
        LookupError: there is no such function.
    """
    node: ast.AST = tree
    for part in qualname.split("."):
        node = next((n for n in ast.iter_child_nodes(node) if getattr(n, "name", None) == part), None)  # type: ignore[assignment]
        if node is None:
            raise LookupError(f"no function {qualname}")
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise LookupError(f"{qualname} is not a function")
    return node


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[ast.arg]:
    args = [*function.args.posonlyargs, *function.args.args]
    if method and args:
        args = args[1:]
    required = len(args) - len(function.args.defaults)
    return args[: max(required, 0)] or []


def boundary_values(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Expressions of the numeric and string constants ``function`` compares against, with the
    numbers just below and above them (±1 for integers, ±0.01 for floats), first seen first."""
    values: list[str] = []
    for node in ast.walk(function):
        if not isinstance(node, ast.Compare):
            continue
        for operand in (node.left, *node.comparators):
            if isinstance(operand, ast.UnaryOp) and isinstance(operand.op, ast.USub) and isinstance(operand.operand, ast.Constant):
                constant: object = -operand.operand.value if isinstance(operand.operand.value, (int, float)) else None
            elif isinstance(operand, ast.Constant):
                constant = operand.value
            else:
                continue
            if isinstance(constant, bool) or constant is None:
                continue
            if isinstance(constant, int):
                values += [repr(constant), repr(constant - 1), repr(constant + 1)]
            elif isinstance(constant, float):
                values += [repr(constant), repr(round(constant - 0.01, 10)), repr(round(constant + 0.01, 10))]
            elif isinstance(constant, str):
                values.append(repr(constant))
    return list(dict.fromkeys(values))


def doctest_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[str]:
    """The ``>>> name(...)`` expressions of ``function``'s docstring that parse
    (:func:`lfcode.testgen.generate.doctest_calls`, all of them)."""
    from lfcode.testgen.generate import doctest_calls as docstring_calls

    calls = []
    for call in docstring_calls(ast.get_docstring(function) or "", name, limit=MAX_CALLS):
        try:
            ast.parse(call, mode="eval")
        except SyntaxError:
            continue
        calls.append(call)
    return calls


def existing_calls(test_text: str | None, qualname: str, limit: int = 20) -> list[str]:
    """Calls of ``qualname`` in a project's existing tests ``test_text`` whose arguments are all
    literals (a call on local variables would not run alone), as ``f(...)``, or ``obj.m(...)``
    for a method; first seen first, at most ``limit``. Empty when the text does not parse."""
    try:
        tree = ast.parse(test_text or "")
    except (SyntaxError, ValueError):
        return []
    name = qualname.rsplit(".", 1)[-1]
    method = "." in qualname
    calls: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == name if method else isinstance(func, ast.Name) and func.id == name):
            continue
        try:
            for value in [*node.args, *(k.value for k in node.keywords)]:
                ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue
        call = ast.Call(func=ast.parse(f"obj.{name}" if method else name, mode="eval").body, args=node.args, keywords=node.keywords)
        calls.append(ast.unparse(call))
    return list(dict.fromkeys(calls))[:limit]


def _pool(arg: ast.arg, mined: list[str]) -> list[str]:
    hint = arg.annotation
    name = ""
    if isinstance(hint, ast.Name):
        name = hint.id
    elif isinstance(hint, ast.Subscript) and isinstance(hint.value, ast.Name):
        name = hint.value.id.lower()
    elif isinstance(hint, ast.Constant) and isinstance(hint.value, str):
        name = hint.value
    typed = BY_HINT.get(name)
    if typed is not None:
        numeric = name in ("int", "float")
        extra = [v for v in mined if numeric and _is_number(v)] if numeric else [v for v in mined if v.startswith(("'", '"')) and name == "str"]
        return list(dict.fromkeys([*typed[:2], *extra, *typed[2:]]))
    return list(dict.fromkeys([*mined, *GENERIC]))


def _is_number(expression: str) -> bool:
    try:
        value = ast.literal_eval(expression)
    except (ValueError, SyntaxError):
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def propose_calls(source: str, qualname: str, max_calls: int = MAX_CALLS) -> list[str]:
    """Call expressions for ``qualname`` in the module ``source``: its doctest examples, then a
    base call with each required parameter's first value, then every other value of each
    parameter with the others at their base (one factor at a time), then pairs of the first
    values. A method ``"Class.m"`` is called as ``obj.m(...)`` (the engine's ``constructor``
    builds ``obj``). At most ``max_calls``, without duplicates.

    Raises:
        LookupError: ``qualname`` is not a function of ``source``.
        SyntaxError: ``source`` does not parse.
    """
    function = find_function(ast.parse(source), qualname)
    method = "." in qualname
    name = qualname.rsplit(".", 1)[-1]
    callee = f"obj.{name}" if method else name
    calls = [] if method else doctest_calls(function, name)
    params = _parameters(function, method)
    mined = boundary_values(function)
    pools = [_pool(arg, mined) for arg in params]
    base = [pool[0] for pool in pools]
    calls.append(f"{callee}({', '.join(base)})")
    for index, pool in enumerate(pools):
        for value in pool[1:]:
            args = list(base)
            args[index] = value
            calls.append(f"{callee}({', '.join(args)})")
    for combo in itertools.product(*(pool[:3] for pool in pools)):
        calls.append(f"{callee}({', '.join(combo)})")
        if len(calls) > max_calls * 2:
            break
    return list(dict.fromkeys(calls))[:max_calls]


def coverage_units(outcome: CallOutcome) -> set[tuple[int, int]]:
    """What ``outcome`` covered: its lines as ``(line, 0)`` and its branch arcs."""
    units = {(line, 0) for line in outcome.lines or ()}
    return units | set(outcome.arcs or ())


def select_calls(
    outcomes: Sequence[CallOutcome], limit: int = 12, distinct: int = DISTINCT, existing: Sequence[CallOutcome] = (),
) -> list[CallOutcome]:
    """The calls to test, in the order chosen. First the greedy set cover of lines and arcs over
    the stable, finished outcomes: repeatedly the one adding most new units (ties: the shorter
    call, then the earlier), until nothing new or ``limit`` calls. Then, while fewer than
    ``distinct`` are chosen, calls that show another behaviour without new coverage: a path (set
    of arcs) no chosen call took, else a returned value no chosen call on its path returned
    (shorter calls first): a second point on a path is what tells ``a + b`` from ``a - b``.
    ``existing``: what the calls of the project's existing tests did; what they cover and show
    counts as covered and shown already."""
    candidates = [o for o in outcomes if o.stable and not o.timed_out and o.constructor_error is None and (o.lines or o.arcs)]
    covered: set[tuple[int, int]] = set().union(*(coverage_units(o) for o in existing))
    chosen: list[CallOutcome] = []
    while candidates and len(chosen) < limit:
        best = max(candidates, key=lambda o: (len(coverage_units(o) - covered), -len(o.call), -candidates.index(o)))
        gain = coverage_units(best) - covered
        if not gain:
            break
        chosen.append(best)
        covered |= gain
        candidates.remove(best)
    seen = {(frozenset(o.arcs or ()), o.value_repr if o.exception_type is None else o.exception_type) for o in (*existing, *chosen)}
    paths = {path for path, _ in seen}
    for new_path in (True, False):
        for outcome in sorted(candidates, key=lambda o: len(o.call)):
            if len(chosen) >= distinct:
                return chosen
            path = frozenset(outcome.arcs or ())
            behaviour = (path, outcome.value_repr if outcome.exception_type is None else outcome.exception_type)
            if behaviour in seen or (path in paths) == new_path or (outcome.exception_type is not None and not new_path):
                continue
            chosen.append(outcome)
            seen.add(behaviour)
            paths.add(path)
    return chosen


def slug(text: str, limit: int = 40, fallback: str = "call") -> str:
    """``text`` in lower-case identifier characters (runs of others become ``_``), at most
    ``limit`` characters; ``fallback`` when nothing is left."""
    words = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return words[:limit].rstrip("_") or fallback


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, (tuple, list)):
        return any(isinstance(item, float) for item in value)
    return False


def _flat_numbers(value: object) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, (tuple, list)) and all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in value)


def _expected(text: str) -> str:
    """The right-hand side of an assertion on a value whose ``repr`` is ``text`` (a literal):
    ``pytest.approx(...)`` for a number or flat sequence of numbers with a float in it."""
    value = ast.literal_eval(text)
    return f"pytest.approx({text})" if _has_float(value) and _flat_numbers(value) else text


HEADER = (
    "# Generated by lfcode from observed behaviour of {name}: these assertions record what the\n"
    "# code does today (run in a sandbox), not what it should do. Review before relying on them.\n"
)


def test_blocks(
    qualname: str, outcomes: Sequence[CallOutcome], constructor: str | None = None, taken: set[str] | None = None,
    names: dict[str, str] | None = None, from_model: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """One pytest test function (text) per outcome, never named as one of ``taken``: ``assert
    f(...) == observed`` (``pytest.approx`` for flat numbers with floats), ``pytest.raises`` for
    exceptions, and when the value's ``repr`` is not a literal, its type and its public
    attributes whose ``repr`` is (``result.x == 1``). A test is named after
    its behaviour in ``names`` (call → ``"when_l_le_0_5"``), else after its arguments; a call in
    ``from_model`` gets a comment saying the model proposed it. Outcomes with nothing to assert
    are left out."""
    name = qualname.rsplit(".", 1)[-1]
    seen = set(taken or ())
    blocks: list[str] = []
    for outcome in outcomes:
        call = outcome.call
        setup = f"    obj = {constructor}\n" if constructor else ""
        if call in from_model:
            setup = "    # call proposed by the model; the expected value was observed\n" + setup
        args = call[call.index("(") + 1 : -1] if "(" in call and call.endswith(")") else call
        behaviour = (names or {}).get(call)
        if outcome.constructor_error is not None:
            continue
        if outcome.exception_type is not None:
            exc = outcome.exception_type.rsplit(".", 1)[-1]
            test = f"test_{slug(name)}_{slug(args)}_raises_{slug(exc)}"
            body = f"{setup}    with pytest.raises({exc if '.' not in outcome.exception_type else 'Exception'}):\n        {call}\n"
        elif outcome.literal and outcome.value_repr is not None:
            test = f"test_{slug(name)}_{slug(args)}"
            body = f"{setup}    assert {call} == {_expected(outcome.value_repr)}\n"
        elif outcome.value_type is not None:
            test = f"test_{slug(name)}_{slug(args)}_type"
            kind = outcome.value_type.rsplit(".", 1)[-1]
            checks = "".join(f"    assert result.{attr} == {_expected(text)}\n" for attr, text in (outcome.attributes or {}).items()
                             if attr.isidentifier() and not keyword.iskeyword(attr))
            body = f"{setup}    result = {call}\n    assert type(result).__name__ == {kind!r}\n{checks}"
        else:
            continue
        if behaviour:
            named = f"test_{slug(name)}_{behaviour}"
            test = named if named not in seen else f"{named}_{slug(args, 24)}"
        while test in seen:
            test += "_"
        seen.add(test)
        blocks.append(f"def {test}():\n{body.rstrip()}")
    return blocks


def write_tests(
    module: str, qualname: str, outcomes: Sequence[CallOutcome], constructor: str | None = None,
    names: dict[str, str] | None = None, from_model: set[str] | frozenset[str] = frozenset(),
) -> str:
    """A whole pytest file for ``outcomes`` (:func:`test_blocks` under :data:`HEADER` and the
    imports; ``names`` and ``from_model`` as there). Returns the file's text (it still has to
    pass in the sandbox to be kept)."""
    name = qualname.rsplit(".", 1)[-1]
    owner = qualname.split(".")[0]
    imports = ["import pytest", f"from {module} import {owner if '.' in qualname else name}"]
    if constructor:
        head = constructor.split("(", 1)[0].strip()
        if head.isidentifier() and head != owner:
            imports.append(f"from {module} import {head}")
    blocks = test_blocks(qualname, outcomes, constructor, None, names, from_model)
    return HEADER.format(name=f"{module}.{qualname}") + "\n".join(imports) + "\n\n\n" + "\n\n\n".join(blocks) + "\n"
