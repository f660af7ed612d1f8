"""One pass of a grammar's ``queries/tags.scm`` over a file: its definitions and its calls.

As aider's repo map does (``aider/repomap.py``), definitions are the ``@definition.*`` captures
with their ``@name`` and calls the ``@reference.call`` captures; grammars whose tags query has no
calls (C, C++) use their call-expression nodes. Definitions become the one
:class:`~lfcode.context.symbols.Symbol` model. The workspace index
(:mod:`lfcode.context.index`), Explain's callers and callees and review's called signatures
all come from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node, Point, QueryCursor, Tree

from lfcode.context.languages import LanguageSpec
from lfcode.context.symbols import (
    SIGNATURE_CHARS,
    Symbol,
    header,
    is_definition,
    make_symbol,
    one_line,
    text_of,
    walk,
)

_CALLS = frozenset({"call", "call_expression", "method_invocation"})


@dataclass
class FileSymbols:
    """What :func:`extract` finds in one file: its ``definitions`` and its ``calls`` (called
    name → signatures of the definitions making the call, in source order)."""

    definitions: list[Symbol] = field(default_factory=list)
    calls: dict[str, list[str]] = field(default_factory=dict)


def _has_call_captures(spec: LanguageSpec) -> bool:
    return spec.tags is not None and any(spec.tags.capture_name(i) == "reference.call" for i in range(spec.tags.capture_count))


def _call_nodes(root: Node) -> list[tuple[str, Node]]:
    """Calls found as call-expression nodes (for grammars whose tags query has no calls)."""
    found: list[tuple[str, Node]] = []
    for node in walk(root):
        if node.type in _CALLS:
            callee = node.child_by_field_name("function") or node.child_by_field_name("name")
            match = re.search(r"(\w+)\W*$", text_of(callee))
            if match:
                found.append((match.group(1), node))
    return found


def calls(root: Node, spec: LanguageSpec, rows: tuple[int, int] | None = None) -> list[tuple[str, Node]]:
    """Every call under ``root`` (only those whose name is on 0-based ``rows`` first..last when
    given): the called name and its node, in source order.

    From the tags query's ``@reference.call`` captures (the name node); grammars whose query has
    none (C, C++) use their call-expression nodes.
    """
    if not _has_call_captures(spec):
        found = _call_nodes(root)
    else:
        cursor = QueryCursor(spec.tags)  # type: ignore[arg-type]
        if rows is not None:
            cursor.set_point_range(Point(rows[0], 0), Point(rows[1] + 1, 0))
        found = [(text_of(n), n) for _p, captures in cursor.matches(root) if "reference.call" in captures for n in captures.get("name", [])]
    if rows is not None:
        found = [(name, node) for name, node in found if rows[0] <= node.start_point.row <= rows[1]]
    return sorted(found, key=lambda item: item[1].start_byte)


def _definition_node(node: Node, spec: LanguageSpec) -> Node:
    """A tags capture's definition node: the function value of ``const f = () => ...``, the
    function definition around a C ``function_declarator``."""
    if is_definition(node, spec):
        return node
    value = node.child_by_field_name("value") or node.child_by_field_name("right")
    if value is not None and is_definition(value, spec):
        return value
    parent = node.parent
    return parent if parent is not None and parent.child_by_field_name("declarator") == node and is_definition(parent, spec) else node


def extract(spec: LanguageSpec, tree: Tree, source: bytes, path: str) -> FileSymbols:
    """Every ``@definition.*`` of ``tree`` (parsed from ``source``) as index symbols
    (``full=False``), and every call with the signature of the definition making it; one pass
    of the tags query."""
    found = FileSymbols()
    if spec.tags is None:
        return found
    called: list[tuple[str, Node]] = []
    owners: list[Node] = []
    for _pattern, captures in QueryCursor(spec.tags).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        if "reference.call" in captures:
            called.extend((text_of(n), n) for n in names)
            continue
        kinds = [k for k in captures if k.startswith("definition.")]
        if kinds:
            node = _definition_node(captures[kinds[0]][0], spec)
            found.definitions.append(make_symbol(node, spec, source, path, name=text_of(names[0]), kind=kinds[0].split(".", 1)[1], full=False))
            if is_definition(node, spec):
                owners.append(node)
    if not _has_call_captures(spec):
        called = _call_nodes(tree.root_node)
    _add_callers(found, called, owners, source)
    return found


def _add_callers(found: FileSymbols, called: list[tuple[str, Node]], owners: list[Node], source: bytes) -> None:
    """Record each call under the signature of the innermost definition holding it: one sweep
    over calls and definitions in source order, with a stack of the open definitions."""
    owners = sorted({n.id: n for n in owners}.values(), key=lambda n: (n.start_byte, -n.end_byte))
    signatures: dict[int, str] = {}
    stack: list[Node] = []
    next_owner = 0
    for name, node in sorted(called, key=lambda item: item[1].start_byte):
        at = node.start_byte
        while next_owner < len(owners) and owners[next_owner].start_byte <= at:
            while stack and stack[-1].end_byte <= owners[next_owner].start_byte:
                stack.pop()
            stack.append(owners[next_owner])
            next_owner += 1
        while stack and stack[-1].end_byte <= at:
            stack.pop()
        if stack:
            owner = stack[-1]
            if owner.id not in signatures:
                signatures[owner.id] = one_line(header(owner, source)).rstrip(" {:;")[:SIGNATURE_CHARS]
            found.calls.setdefault(name, []).append(signatures[owner.id])
