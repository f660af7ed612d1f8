"""Symbols with tree-sitter: the function, method or class around a position, and its context.

Works for every grammar in :mod:`lfcode.context.languages` (Python, JavaScript, TypeScript/TSX,
Go, Rust, Java, C, C++). A :class:`Symbol` carries its source, a one-line signature and its
docstring (Python) or leading doc comment (other languages). :func:`related` finds the
signatures of what a symbol calls and of what calls it, from the tags queries (``tags.scm``
``@definition.*`` / ``@reference.call`` captures, as aider's repo map uses them) over the file
and the workspace; C and C++ tags have no call captures, so their calls come from
``call_expression`` nodes.

Lines are 0-based and columns count Unicode code points (the LSP layer converts UTF-16).
Nothing here raises for odd input: unknown languages and positions outside any definition give
``None`` or empty lists.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node, Point, QueryCursor, Tree

from lfcode.context.files import files_with_suffix
from lfcode.context.languages import (  # noqa: F401 (the node-type tables: re-exported)
    _FAMILY,
    CLASSES,
    EXTENSIONS,
    FUNCTIONS,
    IMPORTS,
    LanguageSpec,
    get_language,
    language_for,
)

_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_CALLS = frozenset({"call", "call_expression", "method_invocation"})
_NAME_DECLARATORS = frozenset({"identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"})
MAX_FILE_BYTES = 512 * 1024


@dataclass(frozen=True)
class Symbol:
    """A function, method or class in a source file.

    ``kind`` is ``function``, ``method`` or ``class``; ``qualname`` joins the enclosing classes
    with dots (``TextWrapper.wrap``); ``start_line``/``end_line`` are 0-based and inclusive and
    cover decorators; ``signature`` is one line without the body; ``docstring`` is ``""`` when
    there is none.
    """

    name: str
    qualname: str
    kind: str
    language: str
    start_line: int
    end_line: int
    source: str
    signature: str
    docstring: str = ""
    container: str | None = None


@dataclass
class Related:
    """Signatures around a symbol: ``callees`` (what it calls), ``callers`` (what calls it)."""

    callees: list[str] = field(default_factory=list)
    callers: list[str] = field(default_factory=list)


def _family(spec: LanguageSpec) -> str:
    return _FAMILY.get(spec.name, spec.name)


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", errors="replace") if node is not None and node.text is not None else ""


def _is_function(node: Node, spec: LanguageSpec) -> bool:
    if node.type not in FUNCTIONS[_family(spec)]:
        return False
    if node.type in ("arrow_function", "function_expression"):
        return node.parent is not None and node.parent.type == "variable_declarator"
    return True


def _is_class(node: Node, spec: LanguageSpec) -> bool:
    kinds = CLASSES.get(spec.name, CLASSES.get(_family(spec), frozenset()))
    if node.type not in kinds:
        return False
    if node.type == "struct_specifier":
        return node.child_by_field_name("body") is not None
    if node.type == "type_spec":
        kind = node.child_by_field_name("type")
        return kind is not None and kind.type in ("struct_type", "interface_type")
    return node.type != "class" or node.child_by_field_name("name") is not None


def _is_definition(node: Node, spec: LanguageSpec) -> bool:
    return _is_function(node, spec) or _is_class(node, spec)


def _name(node: Node) -> str:
    if node.type in ("arrow_function", "function_expression") and node.parent is not None:
        return _text(node.parent.child_by_field_name("name"))
    if node.type == "impl_item":
        return _text(node.child_by_field_name("type"))
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(named)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type not in _NAME_DECLARATORS:
        declarator = declarator.child_by_field_name("declarator")
    return _text(declarator)


def _outer(node: Node) -> Node:
    """The node whose text is the whole definition (decorators, ``export``, ``const x =``)."""
    parent = node.parent
    if node.type in ("arrow_function", "function_expression") and parent is not None and parent.parent is not None:
        node, parent = parent.parent, parent.parent.parent
    while parent is not None and parent.type in ("decorated_definition", "export_statement"):
        node, parent = parent, parent.parent
    return node


def _signature(node: Node) -> str:
    """The definition's header: its text up to the body, on one line (at most 300 characters)."""
    outer = node
    if node.type in ("arrow_function", "function_expression") and node.parent is not None and node.parent.parent is not None:
        outer = node.parent.parent
    body = node.child_by_field_name("body")
    raw = outer.text[: body.start_byte - outer.start_byte] if body is not None else outer.text
    header = " ".join(raw.decode("utf-8", errors="replace").split()).rstrip(" {:;")
    if node.type == "type_spec":
        header = "type " + header
    return header[:300]


def _docstring(node: Node, spec: LanguageSpec) -> str:
    if spec.name == "python":
        body = node.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            raw = _text(first.named_children[0])
            try:
                return inspect.cleandoc(str(ast.literal_eval(raw)))
            except (ValueError, SyntaxError):
                return raw.strip("\"' \n")
        return ""
    comments: list[str] = []
    current, row = _outer(node), _outer(node).start_point.row
    sibling = current.prev_named_sibling
    while sibling is not None and sibling.type in _COMMENTS and sibling.end_point.row >= row - 1:
        comments.insert(0, _text(sibling))
        row, sibling = sibling.start_point.row, sibling.prev_named_sibling
    lines = [line for comment in comments for line in comment.splitlines()]
    cleaned = [re.sub(r"^\s*(/\*\*?|\*(?!/)|///?|//!)\s?", "", re.sub(r"\s*\*/\s*$", "", line)).rstrip() for line in lines]
    return "\n".join(line for line in cleaned if line.strip()).strip()


def _symbol(node: Node, spec: LanguageSpec) -> Symbol:
    name = _name(node)
    containers = []
    parent = node.parent
    while parent is not None:
        if _is_class(parent, spec):
            containers.insert(0, _name(parent))
        parent = parent.parent
    if "::" in name:
        *scope, name = name.split("::")
        containers.extend(scope)
    if _is_class(node, spec):
        kind = "class"
    else:
        kind = "method" if containers or node.type in ("method_declaration", "method_definition") else "function"
    outer = _outer(node)
    return Symbol(
        name=name,
        qualname=".".join([*containers, name]),
        kind=kind,
        language=spec.name,
        start_line=outer.start_point.row,
        end_line=outer.end_point.row,
        source=_text(outer),
        signature=_signature(node),
        docstring=_docstring(node, spec),
        container=containers[-1] if containers else None,
    )


def _parse(text: str, path: str | None, language_id: str | None, tree: Tree | None = None) -> tuple[LanguageSpec, Node] | None:
    spec = language_for(path, language_id)
    if spec is None or _family(spec) not in FUNCTIONS:
        return None
    if tree is not None:
        return spec, tree.root_node
    return spec, spec.parser().parse(text.encode("utf-8", errors="replace")).root_node


def symbol_at(
    text: str,
    line: int,
    column: int,
    path: str | None = None,
    language_id: str | None = None,
    tree: Tree | None = None,
) -> Symbol | None:
    """The innermost function, method or class containing ``(line, column)``, or ``None``.

    ``line`` is 0-based, ``column`` counts code points; positions past the end are clamped.
    ``tree``, when given, is a tree of exactly ``text`` (UTF-8) in the grammar
    :func:`~lfcode.context.languages.language_for` picks for ``path``/``language_id`` (e.g. the
    :class:`~lfcode.context.documents.DocumentStore`'s incremental tree); it is used instead of
    parsing ``text`` again.
    """
    parsed = _parse(text, path, language_id, tree)
    if parsed is None:
        return None
    spec, root = parsed
    lines = text.split("\n")
    line = max(0, min(line, len(lines) - 1))
    point = Point(line, len(lines[line][: max(0, column)].encode("utf-8", errors="replace")))
    node: Node | None = root.named_descendant_for_point_range(point, point)
    while node is not None:
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition")
        if node is not None and _is_definition(node, spec):
            return _symbol(node, spec)
        node = node.parent if node is not None else None
    return None


def module_symbol(text: str, path: str) -> Symbol:
    """The whole file as a symbol of kind ``module`` (for explaining a file without a line)."""
    spec = language_for(path)
    stem = Path(path).stem
    docstring = ""
    if spec is not None and spec.name == "python":
        try:
            docstring = (ast.get_docstring(ast.parse(text)) or "").strip()
        except (SyntaxError, ValueError):
            docstring = ""
    last = max(0, text.count("\n") - (1 if text.endswith("\n") else 0))
    return Symbol(name=stem, qualname=stem, kind="module", language=spec.name if spec else "text", start_line=0, end_line=last, source=text, signature=f"module {stem}", docstring=docstring)


def list_symbols(text: str, path: str | None = None, language_id: str | None = None) -> list[Symbol]:
    """Every function, method and class of a file, in source order."""
    parsed = _parse(text, path, language_id)
    if parsed is None:
        return []
    spec, root = parsed
    return [_symbol(node, spec) for node in _walk(root) if _is_definition(node, spec)]


def find_symbol(text: str, name: str, path: str | None = None, language_id: str | None = None) -> Symbol | None:
    """The symbol called ``name`` (``func``, ``Class.method`` or ``Class::method``), or ``None``.

    A qualified name must match exactly; a bare name matches the first definition with it.
    """
    wanted = name.replace("::", ".")
    symbols = list_symbols(text, path, language_id)
    exact = [s for s in symbols if s.qualname == wanted]
    return (exact or [s for s in symbols if s.name == wanted] or [None])[0]


def imports(text: str, path: str | None = None, language_id: str | None = None) -> list[str]:
    """The file's import-like statements (``import``, ``use``, ``#include``, ``package``), in order."""
    parsed = _parse(text, path, language_id)
    if parsed is None:
        return []
    spec, root = parsed
    kinds = IMPORTS[_family(spec)]
    return [" ".join(_text(node).split()) for node in root.named_children if node.type in kinds]


def _walk(node: Node):
    """Named nodes under ``node`` (itself first), in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def _definition_of(node: Node, spec: LanguageSpec) -> Node | None:
    """The nearest enclosing (or own) function/method/class node."""
    while node is not None and not _is_definition(node, spec):
        node = node.parent
    return node


def _call_names(root: Node, spec: LanguageSpec) -> list[tuple[str, Node]]:
    """Every call in ``root``: the called name and the call's node."""
    found: list[tuple[str, Node]] = []
    if spec.tags is not None and any(spec.tags.capture_name(i) == "reference.call" for i in range(spec.tags.capture_count)):
        for _pattern, captures in QueryCursor(spec.tags).matches(root):
            if "reference.call" in captures and "name" in captures:
                found.extend((_text(n), n) for n in captures["name"])
        return found
    for node in _walk(root):
        if node.type in _CALLS:
            callee = node.child_by_field_name("function") or node.child_by_field_name("name")
            match = re.search(r"(\w+)\W*$", _text(callee))
            if match:
                found.append((match.group(1), node))
    return found


def _tags(text: str, spec: LanguageSpec) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(definitions, callers)``: name → signatures defined, called name → callers' signatures."""
    root = spec.parser().parse(text.encode("utf-8", errors="replace")).root_node
    defs: dict[str, list[str]] = {}
    if spec.tags is not None:
        for _pattern, captures in QueryCursor(spec.tags).matches(root):
            kinds = [k for k in captures if k.startswith("definition.") and k != "definition.constant"]
            if kinds and "name" in captures:
                node = captures[kinds[0]][0]
                owner = _definition_of(node, spec) if not _is_definition(node, spec) else node
                signature = _signature(owner) if owner is not None else " ".join(_text(node).split())[:300]
                defs.setdefault(_text(captures["name"][0]), []).append(signature)
    callers: dict[str, list[str]] = {}
    for called, node in _call_names(root, spec):
        owner = _definition_of(node, spec)
        if owner is not None:
            callers.setdefault(called, []).append(_signature(owner))
    return defs, callers


@functools.lru_cache(maxsize=512)
def _file_tags(path: str, mtime_ns: int, size: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    spec = language_for(path)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}, {}
    return _tags(text, spec) if spec is not None else ({}, {})


def _suffixes(language: str) -> set[str]:
    return {ext for ext, name in EXTENSIONS.items() if _FAMILY.get(name, name) == _FAMILY.get(language, language)}


def workspace_files(root: Path, language: str, limit: int = 300, indexed: list[Path] | None = None) -> list[Path]:
    """Up to ``limit`` files of grammar ``language`` under ``root``, skipping hidden and build
    folders; taken from ``indexed`` (the workspace index's files, see
    :meth:`lfcode.context.symbols.SymbolIndex.files`) instead of walking the folder when given."""
    suffixes = _suffixes(language)
    if indexed is not None:
        return [path for path in indexed if path.suffix.lower() in suffixes][:limit]
    return files_with_suffix(root, suffixes, limit)


def related(
    symbol: Symbol, text: str, path: str | None = None, root: Path | None = None, limit: int = 8,
    indexed: list[Path] | None = None,
) -> Related:
    """Signatures of what ``symbol`` calls and of what calls it (at most ``limit`` of each).

    ``text`` is the symbol's file as the editor has it; ``root`` (the workspace folder, optional)
    adds definitions and callers from other files of the same language, read from disk (each
    file parsed once per modification time). ``indexed``, the workspace index's file list for
    ``root`` when the language server has one, saves walking the folder again.
    """
    spec = language_for(path, None) or get_language(symbol.language)
    if spec is None:
        return Related()
    sources = [_tags(text, spec)]
    if root is not None:
        own = Path(path).resolve() if path else None
        for file in workspace_files(root, spec.name, indexed=indexed):
            try:
                stat = file.stat()
            except OSError:
                continue
            if stat.st_size <= MAX_FILE_BYTES and file.resolve() != own:
                sources.append(_file_tags(str(file), stat.st_mtime_ns, stat.st_size))
    tree = spec.parser().parse(text.encode("utf-8", errors="replace")).root_node
    inside = [name for name, node in _call_names(tree, spec) if symbol.start_line <= node.start_point.row <= symbol.end_line]
    called = list(dict.fromkeys(name for name in inside if name != symbol.name))
    result = Related()
    for name in called:
        signature = next((sigs[0] for defs, _ in sources if (sigs := defs.get(name))), None)
        if signature and signature not in result.callees and len(result.callees) < limit:
            result.callees.append(signature)
    for _, callers in sources:
        for signature in callers.get(symbol.name, []):
            if signature != symbol.signature and signature not in result.callers and len(result.callers) < limit:
                result.callers.append(signature)
    return result
