"""Behaviour diff (Python): run the same calls against the old and the new version of each changed
function, in the sandbox, and report the calls whose result changed.

"Run, don't guess": where a change alters what a function returns or raises, the finding shows a
call and both results, e.g. "`hls_to_rgb(0.0, 0.25, 1.0)` returned `(0.25, 0.25, 0.25)` before and
`(0.0, 0.0, 0.0)` now". A function counts as changed when its syntax tree (docstring left out)
differs between the versions, so a pure reformatting is settled without running anything. The
calls come from the constants of *both* versions and their type hints (the test generator's
:func:`~lfcode.testgen.observed.propose_calls` and hypothesis draws,
:func:`~lfcode.testgen.inputs.draw_calls`), the project's tests of the function, and, with
``ReviewOptions.model_calls`` (setting ``review_model_calls``) when those leave a changed line
unexecuted and show no difference, the model (:func:`~lfcode.testgen.model_calls.model_calls`). Both versions run through
:func:`lfcode.execution.engine.run_calls_on_versions`: a temporary copy of the project, the OS
sandbox, each call twice (a call whose result is not stable in either version is not compared).

A result is compared by its ``repr`` when that is a literal, else by its type and public
attributes; an exception by its type. Failures for lack of network or files in the sandbox are
never compared. A change that alters no result gives no finding; the message says the change may
be intended (a bug fix changes results too), so the severity is ``warning``.
"""

from __future__ import annotations

import ast
import copy
import time
from collections.abc import Sequence
from pathlib import Path

from lfcode.errors import LfcodeError, raise_if_cancelled
from lfcode.execution.engine import CallOutcome, run_calls_on_versions
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.findings import Evidence, Finding
from lfcode.review.outcomes import differences, shown
from lfcode.review.result import ReviewOptions
from lfcode.review.sources import read_new_source, read_old_source
from lfcode.testgen.inputs import draw_calls
from lfcode.testgen.model_calls import marked_source, model_calls
from lfcode.testgen.observed import existing_calls, find_function, propose_calls
from lfcode.testgen.search import constructors

__all__ = ["BEHAVIOUR", "BehaviourAnalyzer", "candidate_calls", "changed_functions", "object_builders"]

#: Byte strings, which the test generator's pools for parameters without a hint leave out.
BYTES = ("b''", "b'abc'", "b'\\x00\\xff'")
#: Calls tried per function (each runs twice per version), drawn inputs per version, seconds per call.
MAX_CALLS = 100
DRAWN = 30
CALL_SECONDS = 0.5
#: Wall-clock budget of the whole analyzer, seconds; functions past it are listed in a note.
BUDGET_SECONDS = 60.0
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods of module-level classes, by qualified name."""
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, _FUNCTIONS):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            out.update({f"{node.name}.{item.name}": item for item in node.body if isinstance(item, _FUNCTIONS)})
    return out


def _body_dump(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[])) + ast.dump(function.args)


#: Special methods whose calls the engine cannot make meaningfully (object lifecycle, attribute
#: access, context managers). ``__init__`` is compared through the objects it builds.
_LIFECYCLE = {"__new__", "__del__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__init_subclass__", "__class_getitem__",
              "__getattr__", "__getattribute__", "__setattr__", "__delattr__", "__set_name__", "__reduce__", "__reduce_ex__",
              "__getstate__", "__setstate__", "__copy__", "__deepcopy__"}


def _runnable(qualname: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    name = qualname.rsplit(".", 1)[-1]
    if isinstance(function, ast.AsyncFunctionDef) or name in _LIFECYCLE:
        return False
    decorators = _decorators(function)
    if "property" in decorators:
        return "." in qualname
    return not decorators & {"setter", "getter", "deleter", "overload", "abstractmethod", "contextmanager"}


def _decorators(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {ast.unparse(d).split("(")[0].rsplit(".", 1)[-1] for d in function.decorator_list}


def _is_property(tree: ast.Module, qualname: str) -> bool:
    return "." in qualname and "property" in _decorators(find_function(tree, qualname))


def object_builders(tree: ast.Module, qualname: str) -> list[str | None]:
    """How to build objects for method ``qualname``: the test generator's
    :func:`~lfcode.testgen.search.constructors` (from ``__init__``'s hints), or, for a class
    built by ``__new__`` alone (``Fraction``), up to three calls drawn from ``__new__``'s hints."""
    builders = constructors(tree, qualname)
    owner = qualname.rsplit(".", 1)[0]
    if builders == [f"{owner}()"]:
        try:
            new = find_function(tree, owner + ".__new__")
        except LookupError:
            return builders
        every = copy.deepcopy(new)  # its parameters usually all have defaults: draw them all
        every.args.defaults = []
        builders = [*dict.fromkeys([*draw_calls(every, owner, True, 4, 0), f"{owner}()"])][:4]
    return builders


def changed_functions(old: str, new: str) -> list[str]:
    """Qualified names (``f``, ``Class.m``) of the functions present in both module texts whose
    syntax tree changed (docstrings ignored), that the engine can call or read (not ``async``, a
    lifecycle or attribute-access special method, a setter or a context manager; a property is
    read), in new-file order.

    Raises:
        SyntaxError: either text does not parse.
    """
    before, after = _functions(ast.parse(old)), _functions(ast.parse(new))
    return [name for name, fn in after.items()
            if name in before and _runnable(name, fn) and _body_dump(fn) != _body_dump(before[name])]


def candidate_calls(old: str, new: str, qualname: str, tests: str | None = None, drawn: int = DRAWN) -> list[str]:
    """Calls to try on both versions of ``qualname`` (``obj.m(...)`` for a method): the calls of
    the project's ``tests`` text, then :func:`~lfcode.testgen.observed.propose_calls` with the
    constants of each version (plus the module-level constants it compares against, by name, and
    byte strings, one argument at a time; for a method, also on objects built by other drawn
    constructors), then ``drawn`` hypothesis draws from each version's hints; at most
    :data:`MAX_CALLS`, without duplicates.

    Raises:
        LookupError: ``qualname`` is not in one of the texts. SyntaxError: one does not parse.
    """
    method = "." in qualname
    owner, name = qualname.rsplit(".", 1) if method else ("", qualname)
    if name == "__init__":  # compared through the objects it builds: ``Class(...)``
        calls = existing_calls(tests, owner) if tests else []
        for text in (new, old):
            calls += draw_calls(find_function(ast.parse(text), qualname), owner, True, drawn, 0)
        return list(dict.fromkeys(calls))[:MAX_CALLS]
    callee = f"obj.{name}" if method else qualname
    if _is_property(ast.parse(new), qualname):  # read on ``obj`` and on objects the other constructors build
        return [f"obj.{name}", *(f"{ctor}.{name}" for text in (new, old) for ctor in object_builders(ast.parse(text), qualname)[1:])]
    calls = existing_calls(tests, qualname) if tests else []
    for text in (new, old):
        tree = ast.parse(text)
        proposed = propose_calls(text, qualname)
        calls += proposed + _with_values(proposed[:3], _module_constants(tree, qualname)) + _with_values(proposed[:1], BYTES)
        if method:  # other objects than ``obj``: built inline by the other drawn constructors
            calls += [f"{ctor}.{call.removeprefix('obj.')}" for ctor in object_builders(tree, qualname)[1:] for call in proposed[:4]]
    for text in (new, old):
        calls += draw_calls(find_function(ast.parse(text), qualname), callee, method, drawn, 0)
    return list(dict.fromkeys(calls))[:MAX_CALLS]


def _module_constants(tree: ast.Module, qualname: str) -> list[str]:
    """The module-level names the function compares against (``if hue < ONE_SIXTH``): passed by
    name, each is the boundary itself, as calls are evaluated in the module's namespace."""
    function = find_function(tree, qualname)
    module_names = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    return sorted({n.id for c in ast.walk(function) if isinstance(c, ast.Compare)
                   for n in ast.walk(c) if isinstance(n, ast.Name) and n.id in module_names})


def _with_values(bases: list[str], values: Sequence[str]) -> list[str]:
    """``bases`` with each positional argument in turn replaced by each of ``values``
    (expressions), one factor at a time."""
    out = []
    for base in bases:
        call = ast.parse(base, mode="eval").body
        if not isinstance(call, ast.Call):
            continue
        for index in range(len(call.args)):
            for value in values:
                args = [ast.parse(value, mode="eval").body if i == index else arg for i, arg in enumerate(call.args)]
                out.append(ast.unparse(ast.Call(call.func, args, call.keywords)))
    return out


class BehaviourAnalyzer:
    """The behaviour diff as a review analyzer (id ``behaviour``; see the module docstring)."""

    id = "behaviour"
    name = "Behaviour diff"
    description = "Runs each changed Python function's old and new version on the same calls in the sandbox and reports changed results."
    rules: tuple[Rule, ...] = (
        Rule("behaviour/changed-result", "changed-result",
             "A changed function returns or raises something else than before for the same call.", "warning", "bug"),
    )
    required = False

    def check(self, options: ReviewOptions) -> None:
        """Nothing to check before the diff."""

    def analyze(self, context: DiffContext) -> Analysis:
        """Compare old and new behaviour of every changed function of every modified Python file.

        Raises:
            lfcode.execution.sandbox.SandboxUnavailable: no OS sandbox and ``sandbox`` is not
                ``"off"`` (the review goes on without this analyzer).
            lfcode.errors.Cancelled: ``context.cancel`` was set.
        """
        result, started, late = Analysis(), time.monotonic(), []
        root = Path(context.diff.root)
        for file in context.files((".py",), modified_only=True):
            old, new = read_old_source(context.diff, file), read_new_source(context.diff, file.path)
            try:
                names = changed_functions(old, new) if old is not None and new is not None else []
            except (SyntaxError, ValueError, RecursionError):
                result.notes.append(f"{file.path}: does not parse on both sides; behaviour not compared")
                continue
            result.paths.append(file.path)
            result.hunks_reviewed += len(file.hunks)
            for group in _by_owner(names).values():
                raise_if_cancelled(context.cancel, "review cancelled during the behaviour diff")
                if time.monotonic() - started > BUDGET_SECONDS:
                    late += group
                    continue
                result.findings += self._compare(context, root, file, old, new, group, result.notes)
        if late:
            result.notes.append(f"behaviour not compared for {', '.join(late)}: past the {BUDGET_SECONDS:.0f} s budget")
        return result

    def _compare(self, context: DiffContext, root: Path, file, old: str, new: str, names: list[str], notes: list[str]) -> list[Finding]:
        tests = _project_tests(root, file.path)
        calls: dict[str, list[str]] = {name: candidate_calls(old, new, name, tests) for name in names}
        constructor = object_builders(ast.parse(new), names[0])[0] if not names[0].endswith(".__init__") and "." in names[0] else None
        reports = _run(context, root, file.path, [c for cs in calls.values() for c in cs], [old, new], constructor)
        if reports is None:
            notes.append(f"{file.path}: {', '.join(names)} could not be imported in the sandbox; behaviour not compared")
            return []
        added = sorted({n for h in file.hunks for n in h.changed_lines})
        findings = []
        for name in names:
            pairs = differences(*(_only(r, calls[name]) for r in reports))
            span = _span(new, name)
            if not pairs and context.options.model_calls:
                more = _model_calls(context, file.path, new, name, reports[1], calls[name], span, added)
                if more:
                    extra = _run(context, root, file.path, more, [old, new], constructor)
                    pairs = differences(*(_only(r, more) for r in extra)) if extra else []
            if pairs:
                findings.append(_finding(file.path, name, pairs, len(calls[name]), span, added))
        return findings


def _by_owner(names: list[str]) -> dict[str | None, list[str]]:
    """Functions (and ``__init__`` methods, called as ``Class(...)``) under ``None``, other
    methods under their class: one sandboxed run per group, as a group shares its ``obj``."""
    groups: dict[str | None, list[str]] = {}
    for name in names:
        free = "." not in name or name.endswith(".__init__")
        groups.setdefault(None if free else name.rsplit(".", 1)[0], []).append(name)
    return groups


def _project_tests(root: Path, path: str) -> str | None:
    from lfcode.testgen.frameworks import (
        FrameworkError,
        detect_framework,
        read_existing,
    )

    try:
        return read_existing(detect_framework(root / path, root, "python"))
    except (FrameworkError, OSError, UnicodeDecodeError):
        return None


def _run(context: DiffContext, root: Path, path: str, calls: list[str], versions: list[str], constructor: str | None):
    reports = run_calls_on_versions(root, root / path, calls, versions, constructor=constructor, sandbox=context.sandbox,
                                    call_seconds=CALL_SECONDS, timeout=30.0, details=True, cancel=context.cancel)
    return None if any(r.import_error for r in reports) else reports


def _only(report, calls: list[str]) -> list[CallOutcome]:
    wanted = set(calls)
    return [o for o in report.outcomes if o.call in wanted]


def _span(source: str, qualname: str) -> tuple[int, int]:
    function = find_function(ast.parse(source), qualname)
    return function.lineno, function.end_lineno or function.lineno


def _model_calls(context: DiffContext, path: str, new: str, name: str, report, calls: list[str], span: tuple[int, int], added: list[int]) -> list[str]:
    """Calls the model proposes to reach the function's changed lines no call executed (none
    when every changed line ran, or the model fails: the failure is not the review's)."""
    ran = {line for o in _only(report, calls) for line in (o.lines or ())}
    missed = {n for n in added if span[0] <= n <= span[1]} - ran
    if not missed:
        return []
    if name.endswith(".__init__"):
        return []
    if _is_property(ast.parse(new), name):
        return []
    callee = f"obj.{name.rsplit('.', 1)[-1]}" if "." in name else name
    try:
        proposed = model_calls(context.backend, path, context.cancel, marked_source(new, span[0], span[1], missed), callee, calls[:3],
                                feature="review")
    except LfcodeError:
        raise_if_cancelled(context.cancel, "review cancelled during the behaviour diff")
        return []
    return [c for c in proposed if c not in calls][:10]


def _finding(path: str, name: str, pairs: list[tuple[CallOutcome, CallOutcome]], tried: int, span: tuple[int, int], added: list[int]) -> Finding:
    before, after = pairs[0]
    inside = [n for n in added if span[0] <= n <= span[1]] or [span[0]]
    executed = [n for n in inside if n in set(after.lines or ())]
    line = executed[0] if executed else inside[0]
    was, now = shown(before, after), shown(after, before)
    verb = was.split(" ", 1)[0]
    change = f"{was} before and {now.removeprefix(verb + ' ')} now"
    message = f"`{after.call}` {change}; the change may be intended"
    return Finding(
        path=path, line=line, severity="warning", category="bug", message=message, analyzer="behaviour", rule="behaviour/changed-result",
        evidence=Evidence(kind="run", call=after.call, before=was, after=now, line=line,
                          text=f"the old and the new `{name}` ran the same {tried} calls in the sandbox: {len(pairs)} changed result"),
    )


#: The one behaviour analyzer (registered as ``behaviour`` in :mod:`lfcode.review.analyzers.registry`).
BEHAVIOUR = BehaviourAnalyzer()
