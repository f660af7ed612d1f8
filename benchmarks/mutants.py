"""Simple mutants of one function, written over ``ast`` (for ``benchmarks/testgen_observed.py``).

The four operators issue 13 names, each applied at one site per mutant:

- a flipped comparison (``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``,
  ``is`` ↔ ``is not``);
- an off-by-one integer constant (``c`` → ``c + 1``; booleans are left alone);
- swapped operands of a non-commutative binary operator (``-``, ``/``, ``//``, ``%``, ``**``,
  ``<<``, ``>>``);
- a negated condition (the test of an ``if``, ``while`` or conditional expression wrapped in
  ``not (...)``).

Sites are taken in source order (``ast.walk`` order within the function), and mutants that
unparse to the original text are skipped.
"""

from __future__ import annotations

import ast
import copy

from lfcode.testgen.observed import find_function

FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
        ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)


def _sites(function: ast.AST) -> list[tuple[str, int]]:
    sites: list[tuple[str, int]] = []
    for index, node in enumerate(ast.walk(function)):
        if isinstance(node, ast.Compare) and type(node.ops[0]) in FLIP:
            sites.append(("compare", index))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            sites.append(("constant", index))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, NON_COMMUTATIVE):
            sites.append(("swap", index))
        elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
            sites.append(("negate", index))
    return sites


def mutants(source: str, qualname: str, limit: int = 10) -> list[tuple[str, str]]:
    """Up to ``limit`` ``(operator, mutated module source)`` pairs for ``qualname`` in ``source``."""
    original = ast.unparse(ast.parse(source))
    out: list[tuple[str, str]] = []
    for kind, index in _sites(find_function(ast.parse(source), qualname)):
        tree = ast.parse(source)
        node = list(ast.walk(find_function(tree, qualname)))[index]
        if kind == "compare":
            node.ops[0] = FLIP[type(node.ops[0])]()
        elif kind == "constant":
            node.value = node.value + 1
        elif kind == "swap":
            node.left, node.right = node.right, node.left
        else:
            node.test = ast.UnaryOp(op=ast.Not(), operand=copy.deepcopy(node.test))
        text = ast.unparse(ast.fix_missing_locations(tree))
        if text != original:
            out.append((kind, text))
        if len(out) >= limit:
            break
    return out
