"""The facts of an explanation: what tooling establishes about a symbol, computed, never generated.

For every grammar: the signature (:attr:`Symbol.signature`), the docstring's first paragraph,
what the symbol calls (the ``@reference.call`` captures of the grammar's ``queries/tags.scm``,
:func:`lfcode.context.tags.calls`) resolved to the project's own definitions with their
``file:line``, and what calls it (the workspace index, :func:`lfcode.context.index.project_sources`).
For Python, also the parameters, the returned expressions, the exceptions raised (directly, or by
a callee defined in the project), builtin and library calls by name, side effects and a
complexity line (:mod:`lfcode.explain.pyfacts`).
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lfcode.context.index import SymbolIndex, project_sources
from lfcode.context.languages import get_language, language_for
from lfcode.context.symbols import Symbol
from lfcode.context.tags import FileSymbols, calls
from lfcode.explain import pyfacts

#: Callers listed at most.
MAX_CALLERS = 8
#: Returned expressions listed at most.
MAX_RETURNS = 6
#: Largest project file read to follow a callee's ``raise`` statements, bytes.
RAISES_FILE_BYTES = 512 * 1024


@dataclass
class Callee:
    """Something the symbol calls: ``name`` as written (aliases expanded), ``kind`` (``builtin``,
    ``project``, ``library``, ``method``, ``local`` or ``unresolved``) and, for the project's own
    definitions, ``where`` (``"path:line"``, 1-based)."""

    name: str
    kind: str
    where: str = ""


@dataclass
class Raised:
    """An exception type the symbol may raise: ``type``, ``line`` (1-based, in the symbol's file)
    of its own ``raise``/``assert``, or ``via`` the project callee that raises it."""

    type: str
    line: int | None = None
    via: str = ""


@dataclass
class Facts:
    """Everything lfcode can state about a symbol without a model (see the module docstring).

    Lines are 1-based. ``parameters`` are dicts ``{name, annotation, default, kind}``;
    ``returns`` dicts ``{expression, line}``; ``side_effects`` dicts ``{what, code, line}``;
    ``called_by`` signatures of the definitions calling the symbol; ``complexity`` a sentence
    (``""`` when not analysed). ``analysed`` says whether the Python analysis ran (returns,
    raises, side effects and complexity are only known then)."""

    qualname: str
    kind: str
    language: str
    path: str
    start_line: int
    end_line: int
    signature: str
    docstring: str = ""
    parameters: list[dict[str, str]] = field(default_factory=list)
    return_annotation: str = ""
    returns: list[dict[str, object]] = field(default_factory=list)
    generator: bool = False
    coroutine: bool = False
    raises: list[Raised] = field(default_factory=list)
    calls: list[Callee] = field(default_factory=list)
    called_by: list[str] = field(default_factory=list)
    side_effects: list[dict[str, object]] = field(default_factory=list)
    complexity: str = ""
    analysed: bool = False

    def as_dict(self) -> dict[str, object]:
        """The facts as plain JSON-ready values."""
        return asdict(self)


def first_paragraph(docstring: str) -> str:
    """The docstring up to its first blank line, on one line."""
    return " ".join(docstring.strip().split("\n\n", 1)[0].split())


def _project_where(name: str, sources: list[FileSymbols], own_path: str) -> str:
    """``path:line`` of the project definition called ``name`` (the last part of a dotted
    name), this file's first; ``""`` when none or when several files define it."""
    short = name.rsplit(".", 1)[-1]
    found = [d for s in sources for d in s.definitions if d.name == short and d.kind != "constant"]
    own = [d for d in found if d.path == own_path]
    if own:
        return f"{own_path}:{own[0].start_line + 1}"
    if len({d.path for d in found}) == 1:
        return f"{found[0].path}:{found[0].start_line + 1}"
    return ""


def build_facts(text: str, symbol: Symbol, path: str, root: Path | None, index: SymbolIndex | None = None) -> Facts:
    """The :class:`Facts` of ``symbol`` in ``text`` (the file at ``path``, shown as ``path``) of
    the project ``root`` (``None``: this file only); ``index`` is the language server's
    workspace index. Blocking: parses, and reads project files when there is no index.
    Never raises for code that does not parse: the Python analysis is then left out."""
    facts = Facts(
        qualname=symbol.qualname, kind=symbol.kind, language=symbol.language, path=path, start_line=symbol.start_line + 1,
        end_line=symbol.end_line + 1, signature=symbol.signature, docstring=first_paragraph(symbol.docstring),
    )
    found = project_sources(symbol, text, path, root, index)
    own, others = found if found is not None else (FileSymbols(), [])
    sources = [own, *others]
    for source in sources:
        for signature in source.calls.get(symbol.name, []):
            if signature != symbol.signature and signature not in facts.called_by and len(facts.called_by) < MAX_CALLERS:
                facts.called_by.append(signature)
    if symbol.kind == "module":
        facts.called_by = []
    module = _python_tree(text) if symbol.language == "python" else None
    definition = pyfacts.find_definition(module, symbol.start_line + 1, symbol.name) if module is not None else None
    if module is not None and isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        _add_python(facts, module, definition, symbol, path, sources, root)
    else:
        facts.calls = _tag_calls(text, symbol, path, sources)
    return facts


def _python_tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None


def _tag_calls(text: str, symbol: Symbol, path: str, sources: list[FileSymbols]) -> list[Callee]:
    """Callees of any grammar from its tags query, resolved to project definitions by name."""
    spec = language_for(path, None) or get_language(symbol.language)
    if spec is None or symbol.kind == "module":
        return []
    tree = spec.parser().parse(text.encode("utf-8", errors="replace"))
    names = dict.fromkeys(name for name, _node in calls(tree.root_node, spec, (symbol.start_line, symbol.end_line)))
    result = []
    for name in names:
        where = _project_where(name, sources, path)
        result.append(Callee(name=name, kind="project" if where else "unresolved", where=where))
    return result


def _add_python(facts: Facts, module: ast.Module, function: ast.FunctionDef | ast.AsyncFunctionDef, symbol: Symbol, path: str,
                sources: list[FileSymbols], root: Path | None) -> None:
    found = pyfacts.analyse(module, function, symbol.container)
    facts.analysed = True
    facts.parameters = [{"name": n, "annotation": a, "default": d, "kind": k} for n, a, d, k in found.parameters]
    facts.return_annotation = found.return_annotation
    facts.returns = [{"expression": e, "line": line} for e, line in found.returns[:MAX_RETURNS]]
    facts.generator, facts.coroutine = found.yields, found.is_async
    facts.side_effects = [{"what": e.what, "code": e.code, "line": e.line} for e in found.effects]
    facts.complexity = (f"{found.branches} branch{'es' if found.branches != 1 else ''}, {found.loops} loop{'s' if found.loops != 1 else ''}; "
                        f"cyclomatic complexity {found.complexity}")
    facts.raises = [Raised(type=t, line=line) for t, line in found.raises]
    for call in found.calls:
        kind, where = call.kind, ""
        if kind in ("module", "method"):
            qual = call.name.split(".", 1)[1] if kind == "method" else call.name
            qual = f"{symbol.container}.{qual}" if kind == "method" and symbol.container else qual
            where = _own_where(module, qual, path)
            kind = "project"
            for raised in pyfacts.direct_raises(module, qual):
                if raised not in {r.type for r in facts.raises}:
                    facts.raises.append(Raised(type=raised, via=call.name))
        elif kind == "nested":
            kind, where = "project", f"{path}:{found.nested[call.name]}"
        elif kind == "imported":
            where = _imported_where(call.name, path, root, sources[1:]) if root is not None else ""
            kind = "project" if where else "library"
            if where:
                _raises_from_file(facts, call.name, where)
        elif kind in ("attribute", "global"):
            kind = "method" if kind == "attribute" else "unresolved"
        facts.calls.append(Callee(name=call.name, kind=kind, where=where))


def _own_where(module: ast.Module, qualname: str, path: str) -> str:
    node: ast.AST | None = module
    for part in qualname.split("."):
        node = next((n for n in getattr(node, "body", []) if getattr(n, "name", None) == part), None)
        if node is None:
            return ""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return ""
    return f"{path}:{pyfacts.first_line(node)}"


def _module_files(module: str, path: str, root: Path) -> list[Path]:
    """Files of ``root`` that may define the dotted ``module`` (``pkg.mod`` or ``.mod``, relative
    to the package of ``path``): ``pkg/mod.py`` and ``pkg/mod/__init__.py``, under ``root`` and
    ``root/src``."""
    level = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    if level:
        base = Path(path).resolve().parent
        for _ in range(level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = [root, root / "src"]
    found = []
    for base in bases:
        target = base.joinpath(*parts) if parts else base
        found += [target.with_suffix(".py") if parts else base / "__init__.py", target / "__init__.py"]
    return [f for f in found if f.is_file()]


def _imported_where(name: str, path: str, root: Path, others: list[FileSymbols]) -> str:
    """``path:line`` of the project definition an imported dotted ``name`` (``pkg.mod.func``)
    stands for: ``func`` defined in the file of ``pkg.mod`` (or ``pkg.mod.func`` is itself a
    module of the project: its file, line 1); ``""`` when it is not the project's."""
    module, _, short = name.rpartition(".")
    for file in _module_files(module, path, root) if module else []:
        resolved = str(file.resolve())
        for source in others:
            for d in source.definitions:
                if d.name == short and d.kind != "constant" and str(Path(d.path).resolve()) == resolved:
                    return f"{d.path}:{d.start_line + 1}"
    modules = _module_files(name, path, root)
    return f"{modules[0]}:1" if modules else ""


def _raises_from_file(facts: Facts, name: str, where: str) -> None:
    file, _, _line = where.rpartition(":")
    try:
        if Path(file).stat().st_size > RAISES_FILE_BYTES:
            return
        module = ast.parse(Path(file).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return
    for raised in pyfacts.direct_raises(module, name.rsplit(".", 1)[-1]):
        if raised not in {r.type for r in facts.raises}:
            facts.raises.append(Raised(type=raised, via=name))
