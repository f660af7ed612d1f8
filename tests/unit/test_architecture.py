"""House rules for the package layout, checked on whatever ``lfcode/`` holds when the tests run.

- No import cycle between ``lfcode`` modules. Only imports that run when a module is imported
  count: those at module level, in class bodies and in module-level ``if``/``try``/``with``
  blocks. Imports inside functions (the usual way to defer one) and under
  ``if TYPE_CHECKING:`` do not. ``from package import name`` depends on ``package.name`` when
  that is a module, else on ``package`` (as import-linter reads it); a module does not depend
  on its parent packages by being inside them.
- No module over :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "lfcode"
MAX_LINES = 500


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` of ``source``'s file."""

    source: str
    target: str
    line: int


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` (a folder with ``__init__.py``) by dotted name."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (not those in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_time_nodes(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    yield from _import_time_nodes([n for n in inner if isinstance(n, ast.AST)])  # type: ignore[misc]


def _base_of(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    parts = package.split(".")
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def import_edges(found: dict[str, Path]) -> list[Edge]:
    """Import-time dependencies between the modules in ``found``."""
    edges: list[Edge] = []
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _import_time_nodes(tree.body):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _base_of(name, path, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in found else base)
            for target in targets:
                # ``import a.b.c`` of a name that is not a module: its nearest module.
                while target and target not in found and "." in target:
                    target = target.rpartition(".")[0]
                if target in found and target != name:
                    edges.append(Edge(name, target, node.lineno))
    return edges


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One shortest cycle per strongly connected group of modules (Tarjan), as its edges."""
    graph: dict[str, list[Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge)
        graph.setdefault(edge.target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:  # recursion depth is bounded by the number of modules
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph[node]:
            if edge.target not in index:
                connect(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    found = []
    for group in groups:
        start = min(group)
        # Breadth-first inside the group: the shortest way from ``start`` back to itself.
        paths: dict[str, list[Edge]] = {start: []}
        queue = [start]
        cycle: list[Edge] | None = None
        while queue and cycle is None:
            node = queue.pop(0)
            for edge in graph[node]:
                if edge.target == start:
                    cycle = [*paths[node], edge]
                    break
                if edge.target in group and edge.target not in paths:
                    paths[edge.target] = [*paths[node], edge]
                    queue.append(edge.target)
        assert cycle is not None
        found.append(cycle)
    return sorted(found, key=lambda c: c[0].source)


def describe(cycle: list[Edge], files: dict[str, Path], root: Path = ROOT) -> str:
    """``a (a.py:3) -> b`` per import of the cycle, one per line."""
    return "\n    ".join(f"{e.source} ({files[e.source].relative_to(root)}:{e.line}) -> {e.target}" for e in cycle)


def oversized(files: dict[str, Path], limit: int = MAX_LINES) -> dict[str, int]:
    counts = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in files.items()}
    return {name: n for name, n in sorted(counts.items()) if n > limit}


# --- the rules, on lfcode/ ---------------------------------------------------------------------


def test_lfcode_has_no_import_cycle() -> None:
    files = modules(PACKAGE)
    assert "lfcode.cli" in files and len(files) > 10, f"not the lfcode package: {sorted(files)}"
    found = cycles(import_edges(files))
    assert not found, "import cycles inside lfcode/ (break them, e.g. by moving the shared part):\n  " + "\n  ".join(
        describe(c, files) for c in found
    )


def test_no_lfcode_module_is_over_500_lines() -> None:
    big = oversized(modules(PACKAGE))
    assert not big, f"modules over {MAX_LINES} lines (split them): " + ", ".join(f"{n} ({c})" for n, c in big.items())


# --- the checks themselves, on a made-up package -------------------------------------------------


def make_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def test_the_cycle_check_finds_module_level_cycles_only(tmp_path: Path) -> None:
    package = make_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/server.py": """\
            from pkg.handlers import register            # module level: counts

            class Server:
                from . import util                       # class body: runs at import, counts
            """,
        "pkg/handlers/__init__.py": "from .completion import complete\n",
        "pkg/handlers/completion.py": """\
            try:
                from ..server import Server              # relative, inside try: counts
            except ImportError:
                Server = None
            """,
        "pkg/util.py": """\
            from typing import TYPE_CHECKING
            import pkg.lazy

            if TYPE_CHECKING:
                from pkg.server import Server            # type checking only: ignored

            def later():
                from pkg import server                   # inside a function: ignored
            """,
        "pkg/lazy.py": "import os\nimport pkg.util.missing_attribute\n",
    })
    files = modules(package)
    assert set(files) == {"pkg", "pkg.server", "pkg.handlers", "pkg.handlers.completion", "pkg.util", "pkg.lazy"}
    edges = import_edges(files)
    assert {(e.source, e.target) for e in edges} == {
        ("pkg.server", "pkg.handlers"),
        ("pkg.server", "pkg.util"),
        ("pkg.handlers", "pkg.handlers.completion"),
        ("pkg.handlers.completion", "pkg.server"),
        ("pkg.util", "pkg.lazy"),
        ("pkg.lazy", "pkg.util"),
    }
    found = cycles(edges)
    assert [[(e.source, e.target) for e in c] for c in found] == [
        [("pkg.handlers", "pkg.handlers.completion"), ("pkg.handlers.completion", "pkg.server"), ("pkg.server", "pkg.handlers")],
        [("pkg.lazy", "pkg.util"), ("pkg.util", "pkg.lazy")],
    ]
    assert "pkg.handlers.completion (pkg/handlers/completion.py:2) -> pkg.server" in describe(found[0], files, tmp_path)


def test_the_size_check_counts_lines(tmp_path: Path) -> None:
    package = make_package(tmp_path, {"pkg/__init__.py": "", "pkg/big.py": "x = 1\n" * 501, "pkg/ok.py": "x = 1\n" * 500})
    assert oversized(modules(package)) == {"pkg.big": 501}
