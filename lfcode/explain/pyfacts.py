"""Facts about a Python function read from its syntax tree (``ast``), never from a model.

What it returns, what it raises, what it calls (the full call expression, resolved against the
module's imports and definitions and the ``builtins`` module), what it changes outside itself,
and how much it branches and loops. Everything here is static: a call through a variable, a
``getattr`` or ``eval`` is not followed, so lists can be incomplete but never invented.

Cyclomatic complexity counts decision points as McCabe defines it ("A Complexity Measure",
IEEE TSE 1976) and as the ``mccabe`` and ``radon`` tools count them for Python: one, plus one
per ``if``/``elif``, conditional expression, loop, ``except`` clause, ``case``, comprehension
``if`` and extra ``and``/``or`` operand.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

#: Call prefixes (module paths, after import aliases are expanded) and what they do outside.
EFFECT_MODULES = (
    (("subprocess.", "os.system", "os.popen", "os.exec", "os.spawn", "os.fork", "pty.", "multiprocessing."), "starts processes"),
    (("socket.", "urllib.request.", "http.client.", "requests.", "httpx.", "aiohttp.", "ftplib.", "smtplib.",
      "urllib3.", "ssl."), "uses the network"),
    (("shutil.", "os.remove", "os.unlink", "os.rename", "os.replace", "os.makedirs", "os.mkdir", "os.rmdir",
      "os.removedirs", "os.chmod", "os.chown", "os.symlink", "os.link", "os.truncate", "tempfile."), "changes files"),
    (("os.environ", "os.putenv", "os.unsetenv", "os.chdir"), "changes the process environment"),
    (("random.", "secrets.", "uuid.uuid1", "uuid.uuid4", "os.urandom"), "uses randomness"),
    (("time.time", "time.monotonic", "time.perf_counter", "datetime.datetime.now", "datetime.datetime.today",
      "datetime.date.today", "datetime.now", "date.today", "time.sleep"), "reads the clock"),
)
#: Builtins with an effect outside the function.
EFFECT_BUILTINS = {"open": "opens files", "print": "writes to standard output", "input": "reads standard input",
                   "exec": "executes code", "eval": "evaluates code", "__import__": "imports modules"}
#: Methods that change files, whatever object they are called on (pathlib, file objects).
EFFECT_METHODS = {"write_text": "changes files", "write_bytes": "changes files", "unlink": "changes files",
                  "mkdir": "changes files", "rmdir": "changes files", "touch": "changes files",
                  "write": "writes to a file or stream", "writelines": "writes to a file or stream"}
#: Methods that change the object they are called on (list, dict, set, bytearray, deque).
MUTATORS = frozenset({"append", "extend", "insert", "pop", "popleft", "remove", "clear", "update", "setdefault",
                      "add", "discard", "sort", "reverse", "appendleft", "extendleft", "rotate", "popitem"})
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass
class Call:
    """One call the function makes: ``name`` as written with import aliases expanded
    (``max``, ``os.path.join``, ``self.wrap``), ``line`` (1-based, first occurrence) and
    ``kind``: ``builtin``, ``module`` (a function of this file), ``method`` (of this file's class,
    through ``self``/``cls``), ``nested`` (defined inside the function), ``imported`` (a name imported into the file), ``local`` (a
    parameter or local variable called) or ``attribute`` (a method of some other value)."""

    name: str
    line: int
    kind: str


@dataclass
class Effect:
    """A side effect found statically: ``what`` (``"opens files"``, ``"mutates argument
    `items`"``), the ``code`` that does it and its 1-based ``line``."""

    what: str
    code: str
    line: int


@dataclass
class PythonFacts:
    """What :func:`analyse` establishes about one function. ``parameters``: ``(name, annotation,
    default, kind)`` with ``""`` for what is absent and ``kind`` ``positional``,
    ``positional-only``, ``keyword-only``, ``*args`` or ``**kwargs``; ``returns``: each distinct
    returned expression as written with its first line (``"None"`` for a bare ``return``);
    ``yields``: whether it is a generator; ``raises``: ``(exception, line)`` of its own ``raise``
    and ``assert`` statements (``"re-raises"`` for a bare ``raise``); ``calls``, ``effects``;
    ``nested``: functions and classes defined in its body → their first line;
    ``branches``/``loops`` counted, and ``complexity`` (McCabe)."""

    parameters: list[tuple[str, str, str, str]] = field(default_factory=list)
    return_annotation: str = ""
    returns: list[tuple[str, int]] = field(default_factory=list)
    yields: bool = False
    is_async: bool = False
    raises: list[tuple[str, int]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    branches: int = 0
    loops: int = 0
    complexity: int = 1
    nested: dict[str, int] = field(default_factory=dict)


def first_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    """The 1-based line a definition starts on, its decorators included."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def find_definition(tree: ast.Module, start_line: int, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    """The definition called ``name`` whose first line (decorators included) is ``start_line``
    (1-based), or else the first one called ``name``; ``None`` when there is none."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            if first_line(node) == start_line or node.lineno == start_line:
                return node
            found = found or node
    return found


def own_nodes(function: ast.AST):
    """The nodes of ``function``'s body (lambdas included), not descending into nested functions and classes."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def import_aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound by ``import``/``from ... import`` anywhere in ``tree`` → the dotted name
    they stand for (``np`` → ``numpy``, ``join`` → ``os.path.join``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    joined = f"{module}.{alias.name}" if node.module else module + alias.name  # `from . import x` is `.x`
                    aliases[alias.asname or alias.name] = joined
    return aliases


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _parameters(args: ast.arguments) -> list[tuple[str, str, str, str]]:
    result = []
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for index, (arg, default) in enumerate(zip(positional, defaults)):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        result.append((arg.arg, ast.unparse(arg.annotation) if arg.annotation else "", ast.unparse(default) if default else "", kind))
    if args.vararg:
        result.append((args.vararg.arg, ast.unparse(args.vararg.annotation) if args.vararg.annotation else "", "", "*args"))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        result.append((arg.arg, ast.unparse(arg.annotation) if arg.annotation else "", ast.unparse(default) if default else "", "keyword-only"))
    if args.kwarg:
        result.append((args.kwarg.arg, ast.unparse(args.kwarg.annotation) if args.kwarg.annotation else "", "", "**kwargs"))
    return result


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = {p[0] for p in _parameters(function.args)}
    for node in own_nodes(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _raised(node: ast.Raise | ast.Assert) -> str:
    if isinstance(node, ast.Assert):
        return "AssertionError"
    if node.exc is None:
        return "re-raises"
    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return dotted(target) or ast.unparse(target)


def _effect_of_call(name: str) -> str | None:
    head = name.split(".")[0]
    if name in EFFECT_BUILTINS:
        return EFFECT_BUILTINS[name]
    for prefixes, what in EFFECT_MODULES:
        if any(name == p.rstrip(".") or name.startswith(p) for p in prefixes):
            return what
    method = name.rsplit(".", 1)[-1]
    if "." in name and method in EFFECT_METHODS and head not in ("str", "bytes"):
        return EFFECT_METHODS[method]
    return None


def analyse(module: ast.Module, function: ast.FunctionDef | ast.AsyncFunctionDef, owner: str | None = None) -> PythonFacts:
    """The :class:`PythonFacts` of ``function`` in ``module`` (its file's tree); ``owner`` is the
    class a method belongs to (calls through ``self``/``cls`` resolve to its methods)."""
    facts = PythonFacts(parameters=_parameters(function.args), is_async=isinstance(function, ast.AsyncFunctionDef))
    facts.return_annotation = ast.unparse(function.returns) if function.returns else ""
    aliases = {**import_aliases(module), **import_aliases(function)}
    top = {n.name: n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    methods: set[str] = set()
    if owner and isinstance(top.get(owner), ast.ClassDef):
        methods = {n.name for n in top[owner].body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}  # type: ignore[union-attr]
    local = _local_names(function)
    facts.nested = {n.name: first_line(n) for n in own_nodes(function)
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    params = {p[0] for p in facts.parameters if p[3] not in ("*args", "**kwargs")}  # those two are the call's own
    declared_global: set[str] = set()
    seen_calls: dict[str, Call] = {}
    for node in sorted(own_nodes(function), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.Return):
            text = ast.unparse(node.value) if node.value is not None else "None"
            if text not in (r[0] for r in facts.returns):
                facts.returns.append((text, node.lineno))
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            facts.yields = True
        elif isinstance(node, (ast.Raise, ast.Assert)):
            facts.raises.append((_raised(node), node.lineno))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global |= set(node.names)
        elif isinstance(node, ast.Call):
            _record_call(node, facts, seen_calls, aliases, top, methods, local, params, facts.nested)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                _record_write(target, facts, params, declared_global, node.lineno)
        _count(node, facts)
    facts.complexity += facts.branches + facts.loops
    return facts


def _record_call(node: ast.Call, facts: PythonFacts, seen: dict[str, Call], aliases: dict[str, str], top: dict, methods: set[str],
                 local: set[str], params: set[str], nested: dict[str, int]) -> None:
    written = dotted(node.func)
    if written is None:
        if isinstance(node.func, ast.Attribute):
            written = "." + node.func.attr
        else:
            return
    head, _, rest = written.partition(".")
    if head in ("self", "cls") and rest and "." not in rest:
        kind, name = ("method" if rest in methods else "attribute"), written
    elif head in aliases and head not in local:
        name, kind = aliases[head] + ("." + rest if rest else ""), "imported"
    elif not rest and head in top:
        name, kind = head, "module"
    elif not rest and head in nested:
        name, kind = head, "nested"
    elif not rest and head in local:
        name, kind = head, "local"
    elif not rest and head in BUILTIN_NAMES:
        name, kind = head, "builtin"
    elif rest:
        name, kind = written, ("builtin" if head in BUILTIN_NAMES and head not in local else "attribute")
    else:
        name, kind = head, "global"
    if name not in seen:
        seen[name] = Call(name=name, line=node.lineno, kind=kind)
        facts.calls.append(seen[name])
    effect = _effect_of_call(name) if kind in ("builtin", "imported", "attribute") else None
    if effect:
        facts.effects.append(Effect(effect, ast.unparse(node)[:80], node.lineno))
    if rest and head in params and written.rsplit(".", 1)[-1] in MUTATORS and written.count(".") == 1:
        facts.effects.append(Effect(f"mutates argument `{head}`", ast.unparse(node)[:80], node.lineno))


def _record_write(target: ast.expr, facts: PythonFacts, params: set[str], declared_global: set[str], line: int) -> None:
    if isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            _record_write(item, facts, params, declared_global, line)
        return
    if isinstance(target, ast.Name) and target.id in declared_global:
        facts.effects.append(Effect(f"writes the global `{target.id}`", ast.unparse(target), line))
    elif isinstance(target, (ast.Attribute, ast.Subscript)):
        base = target.value
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls") and isinstance(target, ast.Attribute) and target.value is base:
            facts.effects.append(Effect(f"sets `{ast.unparse(target)}`", ast.unparse(target)[:80], line))
        elif isinstance(base, ast.Name) and (base.id in params or base.id in ("self", "cls")):
            facts.effects.append(Effect(f"mutates argument `{base.id}`", ast.unparse(target)[:80], line))
        elif isinstance(base, ast.Name) and base.id in declared_global:
            facts.effects.append(Effect(f"writes the global `{base.id}`", ast.unparse(target)[:80], line))


def _count(node: ast.AST, facts: PythonFacts) -> None:
    if isinstance(node, (ast.If, ast.IfExp, ast.match_case, ast.ExceptHandler)):
        facts.branches += 1
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.comprehension)):
        facts.loops += 1
        if isinstance(node, ast.comprehension):
            facts.branches += len(node.ifs)
    elif isinstance(node, ast.BoolOp):
        facts.complexity += len(node.values) - 1


def direct_raises(module: ast.Module, name: str) -> list[str]:
    """Exception types the top-level function or ``Class.method`` ``name`` of ``module`` raises
    itself (its ``raise`` statements), without bare re-raises; empty when there is no such function."""
    node: ast.AST | None = module
    for part in name.split("."):
        node = next((n for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            return []
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    return list(dict.fromkeys(_raised(n) for n in own_nodes(node) if isinstance(n, ast.Raise) and n.exc is not None))
