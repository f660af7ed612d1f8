"""Generated inputs for a function's parameters, from their type hints, drawn with hypothesis.

The hints are read from the syntax tree (never evaluated: a repository's code is untrusted and
only runs in the sandbox) and mapped to hypothesis strategies (``st.from_type`` would need the
evaluated types). The values lean small, because small values reach the interesting paths of
real code (indices within a list, a grid whose rows have one length, a node number below ``n``),
and they include the constants the function compares against (:func:`boundary_values`). Values
are turned back into literal expressions with ``repr``, so a call is plain text the sandbox can
evaluate and a test can show.

Draws are reproducible: :func:`draw_calls` runs hypothesis with a fixed seed per round.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

#: Longest call expression kept, characters (a test line a reviewer can read).
MAX_CALL_CHARS = 160
#: Letters every text strategy may use, besides those of the constants in the code.
LETTERS = "ab"

SEQUENCES = {"list", "List", "Sequence", "Iterable", "Collection", "MutableSequence", "Iterator"}
SETS = {"set", "Set", "frozenset", "FrozenSet", "AbstractSet", "MutableSet"}
MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "DefaultDict", "defaultdict", "OrderedDict"}


class Constants:
    """The numbers and strings a function's code mentions: ``ints``, ``floats`` and ``strings``
    (each with the values just below and above, for numbers), and ``chars``, the letters of its
    string constants (for generated text)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        ints: set[int] = set()
        floats: set[float] = set()
        strings: set[str] = set()
        docstring = _docstring(function)
        for node in (n for statement in function.body for n in ast.walk(statement)):
            if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and node is not docstring:
                value = node.value
                if isinstance(value, int) and abs(value) < 10**6:
                    ints |= {value - 1, value, value + 1}
                elif isinstance(value, float):
                    floats |= {value, round(value - 0.01, 10), round(value + 0.01, 10)}
                elif isinstance(value, str) and len(value) <= 20:
                    strings.add(value)
        self.ints = sorted(ints)
        self.floats = sorted(floats)
        self.strings = sorted(strings)
        self.chars = "".join(sorted({c for s in self.strings for c in s if c.isprintable()} | set(LETTERS)))


def _docstring(function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST | None:
    first = function.body[0] if function.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value
    return None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _arguments(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def strategy_for(hint: ast.expr | None, constants: Constants, depth: int = 0) -> st.SearchStrategy:
    """A hypothesis strategy for values of the annotation ``hint`` (a syntax tree; ``None`` for no
    hint: small numbers, text, and lists of either). Unknown names (a project's own class) give ``None``
    values only. Supported: ``int``, ``float``, ``bool``, ``str``, ``bytes``, ``None``, lists and
    sequences, sets, tuples (fixed and ``...``), dicts and mappings, ``Optional``, ``Union`` and
    ``X | Y``; a string annotation is parsed first."""
    if depth > 4:
        return st.none()
    if isinstance(hint, ast.Constant) and isinstance(hint.value, str):
        try:
            hint = ast.parse(hint.value, mode="eval").body
        except SyntaxError:
            return st.none()
    if hint is None:
        return st.one_of(_ints(constants), _text(constants), st.lists(st.integers(-2, 6), max_size=5), st.lists(_text(constants), max_size=5))
    if isinstance(hint, ast.Constant) and hint.value is None:
        return st.none()
    if isinstance(hint, ast.BinOp) and isinstance(hint.op, ast.BitOr):
        return st.one_of(strategy_for(hint.left, constants, depth + 1), strategy_for(hint.right, constants, depth + 1))
    if isinstance(hint, ast.Subscript):
        outer, inner = _name(hint.value), _arguments(hint.slice)
        parts = [strategy_for(arg, constants, depth + 1) for arg in inner if not (isinstance(arg, ast.Constant) and arg.value is Ellipsis)]
        if outer in SEQUENCES and parts:
            return _lists(parts[0], inner[0], constants, depth)
        if outer in SETS and parts:
            return st.sets(parts[0], max_size=4)
        if outer in ("tuple", "Tuple"):
            if any(isinstance(arg, ast.Constant) and arg.value is Ellipsis for arg in inner):
                return st.lists(parts[0], max_size=4).map(tuple) if parts else st.just(())
            return st.tuples(*parts)
        if outer in MAPPINGS and len(parts) == 2:
            return st.dictionaries(parts[0], parts[1], max_size=3)
        if outer == "Optional" and parts:
            return st.one_of(st.none(), parts[0])
        if outer == "Union" and parts:
            return st.one_of(*parts)
        return st.none()
    return _simple(_name(hint), constants)


def _simple(name: str, constants: Constants) -> st.SearchStrategy:
    if name == "int":
        return _ints(constants)
    if name == "float":
        known = st.sampled_from([0.0, 0.5, 1.0, *constants.floats])
        return st.one_of(known, st.floats(-10, 10, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3)))
    if name == "bool":
        return st.booleans()
    if name == "str":
        return _text(constants)
    if name == "bytes":
        return st.binary(max_size=6)
    if name in SEQUENCES:
        return st.lists(st.integers(-2, 6), max_size=5)
    if name in SETS:
        return st.sets(st.integers(-2, 6), max_size=4)
    if name in MAPPINGS:
        return st.dictionaries(_text(constants), st.integers(-2, 6), max_size=3)
    if name in ("tuple", "Tuple"):
        return st.lists(st.integers(-2, 6), max_size=3).map(tuple)
    return st.none()


def _ints(constants: Constants) -> st.SearchStrategy:
    small = st.integers(-2, 8)
    if constants.ints:
        return st.one_of(small, small, st.sampled_from(constants.ints), st.integers(-1000, 1000))
    return st.one_of(small, small, st.integers(-1000, 1000))


def _text(constants: Constants) -> st.SearchStrategy:
    generated = st.text(alphabet=constants.chars, max_size=8)
    return st.one_of(generated, st.sampled_from(constants.strings)) if constants.strings else generated


def _lists(element: st.SearchStrategy, hint: ast.expr, constants: Constants, depth: int) -> st.SearchStrategy:
    """Lists of ``element`` (values of ``hint``); a list of lists is half the time rectangular
    (a grid)."""
    if isinstance(hint, ast.Subscript) and _name(hint.value) in SEQUENCES:
        item = strategy_for(_arguments(hint.slice)[0], constants, depth + 2)
        grids = st.integers(1, 4).flatmap(lambda width: st.lists(st.lists(item, min_size=width, max_size=width), min_size=1, max_size=4))
        return st.one_of(st.lists(element, max_size=5), grids)
    return st.lists(element, max_size=6)


def draw_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, callee: str, method: bool, count: int, round_seed: int = 0) -> list[str]:
    """Up to ``count`` distinct call expressions ``callee(arg, ...)`` for ``function``'s required
    parameters, each value drawn from :func:`strategy_for` its hint (the first parameter is
    skipped for a ``method``), reproducibly for ``round_seed``. Calls longer than
    :data:`MAX_CALL_CHARS` are dropped. Empty when a parameter is ``*args``-only or none can be
    drawn."""
    args = [*function.args.posonlyargs, *function.args.args]
    if method and args:
        args = args[1:]
    args = args[: max(len(args) - len(function.args.defaults), 0)]
    constants = Constants(function)
    strategy = st.tuples(*(strategy_for(arg.annotation, constants) for arg in args))
    calls: list[str] = []

    @seed(round_seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(values: Sequence[object]) -> None:
        call = f"{callee}({', '.join(repr(v) for v in values)})"
        if len(call) <= MAX_CALL_CHARS:
            calls.append(call)

    collect()
    return list(dict.fromkeys(calls))
