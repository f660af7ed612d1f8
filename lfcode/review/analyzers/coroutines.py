"""Coroutines called and never awaited (Python): a call to an ``async def`` of the same file whose
result is dropped or stored without ``await``.

Python only warns at run time ("RuntimeWarning: coroutine ... was never awaited"), when the
coroutine is garbage-collected, and the call's work never happens; pyright reports the same
mistake as ``reportUnusedCoroutine``. This analyzer establishes it from the syntax tree of the new
file: the callee is resolved only where that is certain without running anything, namely a
module-level ``async def`` called by its name, or an ``async def`` method of the enclosing class
called as ``self.name(...)``/``cls.name(...)``. The call is reported when it is a statement of its
own, the whole right-hand side of an assignment to a name that is never awaited, returned or
passed to a call in the same function, or returned by an ``async def`` (its caller's ``await``
then yields a coroutine, not a result); a coroutine passed on (``create_task(f())``, ``gather``,
``return f()`` from a plain function) is used, and is not reported. Only added lines count.
"""

from __future__ import annotations

import ast

from lfcode.errors import raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.findings import Evidence, Finding, on_added_lines
from lfcode.review.result import ReviewOptions
from lfcode.review.sources import read_new_source

__all__ = ["COROUTINES", "CoroutinesAnalyzer", "unawaited_calls"]


def _async_names(body: list[ast.stmt]) -> set[str]:
    return {node.name for node in body if isinstance(node, ast.AsyncFunctionDef)}


def unawaited_calls(source: str) -> list[tuple[int, str]]:
    """``(line, callee)`` of each call in ``source`` to an ``async def`` of the same module or
    class (see the module docstring) whose coroutine is dropped or assigned without ``await``.

    Raises:
        SyntaxError: ``source`` does not parse.
    """
    tree = ast.parse(source)
    found: list[tuple[int, str]] = []

    def visit(body: list[ast.stmt], methods: set[str]) -> None:
        module_async = _async_names(tree.body)
        for statement in body:
            for node in ast.walk(statement):
                if isinstance(node, ast.ClassDef) and node is statement:
                    visit(node.body, _async_names(node.body))
                    break
                returned = isinstance(node, ast.Return) and isinstance(statement, ast.AsyncFunctionDef)
                value = node.value if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign)) or returned else None
                if not isinstance(value, ast.Call) or (isinstance(node, (ast.Assign, ast.AnnAssign)) and _passed_on(node, statement)):
                    continue
                func = value.func
                if isinstance(func, ast.Name) and func.id in module_async:
                    found.append((value.lineno, func.id))
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls") \
                        and func.attr in methods:
                    found.append((value.lineno, f"{func.value.id}.{func.attr}"))

    visit(tree.body, set())
    return sorted(set(found))


def _passed_on(assignment: ast.Assign | ast.AnnAssign, scope: ast.stmt) -> bool:
    """Whether the name an assignment stores is awaited, returned or passed to a call anywhere in
    ``scope`` (``task = f(); await task`` uses the coroutine); other targets count as used."""
    targets = assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]
    if len(targets) != 1 or not isinstance(targets[0], ast.Name):
        return True
    name = targets[0].id
    for node in ast.walk(scope):
        used = [node.value] if isinstance(node, (ast.Await, ast.Return, ast.Yield)) else \
            [*node.args, *(k.value for k in node.keywords)] if isinstance(node, ast.Call) else []
        if any(isinstance(u, ast.Name) and u.id == name for u in used):
            return True
    return False


class CoroutinesAnalyzer:
    """Unawaited coroutines as a review analyzer (id ``coroutines``; see the module docstring)."""

    id = "coroutines"
    name = "Unawaited coroutines"
    description = "Reports calls to an async def of the same file whose coroutine is never awaited."
    rules: tuple[Rule, ...] = (
        Rule("coroutines/unawaited", "unawaited-coroutine",
             "A coroutine is created and dropped without await: the call's work never happens.", "warning", "bug"),
    )
    required = False

    def check(self, options: ReviewOptions) -> None:
        """Nothing to check before the diff."""

    def analyze(self, context: DiffContext) -> Analysis:
        """Check every changed Python file's new text. Raises :class:`~lfcode.errors.Cancelled`
        once ``context.cancel`` is set."""
        result = Analysis()
        for file in context.files((".py",)):
            raise_if_cancelled(context.cancel, "review cancelled during the coroutine check")
            source = read_new_source(context.diff, file.path)
            if source is None or "async def" not in source:
                continue
            try:
                calls = unawaited_calls(source)
            except (SyntaxError, ValueError, RecursionError):
                continue
            result.paths.append(file.path)
            result.hunks_reviewed += len(file.hunks)
            lines = source.splitlines()
            findings = [Finding(
                path=file.path, line=line, severity="warning", category="bug", analyzer="coroutines", rule="coroutines/unawaited",
                message=f"`{callee}(...)` is an async def called without `await`: the coroutine is created and never run",
                evidence=Evidence(kind="quote", quote=lines[line - 1].strip()[:120], line=line,
                                  text=f"`{callee}` is defined with `async def` in this file; line {line} does not await it"),
            ) for line, callee in calls]
            result.findings += on_added_lines(findings, file.hunks)
        return result


#: The one coroutine analyzer (registered as ``coroutines`` in :mod:`lfcode.review.analyzers.registry`).
COROUTINES = CoroutinesAnalyzer()
