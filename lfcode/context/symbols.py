"""The one symbol model: functions, methods and classes found with tree-sitter, in every grammar.

A :class:`Symbol` is made one way (:func:`make_symbol`) whether it comes from a position in an
open document (:func:`symbol_at`, for code actions), from a file's list (:func:`list_symbols`,
:func:`find_symbol`, for test generation), or from each grammar's ``queries/tags.scm``
(:func:`lfcode.context.tags.extract`, for the workspace index in :mod:`lfcode.context.index`). Its
:attr:`Symbol.header` is the definition's text up to its body (:func:`header`, the one signature
extractor) and its :attr:`Symbol.signature` that header on one line. The node-type tables come
from the language profiles (:mod:`lfcode.context.languages`).

Lines are 0-based and columns count Unicode code points (the LSP layer converts UTF-16).
Nothing here raises for odd input: unknown languages and positions outside any definition give
``None`` or empty lists.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node, Point, Tree

from lfcode.context.languages import LanguageSpec, language_for, union

#: Longest header the index keeps as it is, characters; a longer one keeps its first line.
HEADER_CHARS = 200
#: Longest one-line signature, characters.
SIGNATURE_CHARS = 300
#: Docstring lines the index keeps per definition.
DOC_LINES = 3

_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_NAME_DECLARATORS = frozenset({"identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression"})
#: Definitions whose header completion repeats, and import-like nodes, in any grammar.
SCOPE_TYPES = union("scopes")
IMPORT_TYPES = union("imports")


@dataclass(frozen=True)
class Symbol:
    """A function, method, class (or other ``tags.scm`` definition) in a source file.

    ``kind`` is ``function``, ``method``, ``class``, ``module`` (a whole file) or another
    ``@definition.*`` kind of the tags query (``interface``, ``constant``, ...); ``qualname``
    joins the enclosing classes with dots (``TextWrapper.wrap``); ``path`` is the file (``""``
    when unknown); ``start_line``/``end_line`` are 0-based and inclusive (covering decorators);
    ``header`` is the text from the definition's line start to its body, as written (see
    :func:`header`); ``docstring`` is the cleaned Python docstring or leading doc comment
    (``""`` when there is none); ``source`` is the whole definition's text (left empty by the
    workspace index, which keeps at most :data:`DOC_LINES` docstring lines).
    """

    name: str
    qualname: str
    kind: str
    language: str
    path: str
    start_line: int
    end_line: int
    header: str
    docstring: str = ""
    source: str = ""
    container: str | None = None

    @property
    def signature(self) -> str:
        """The header on one line without the body's opener (``def wrap(self, text)``), at most
        :data:`SIGNATURE_CHARS` characters."""
        return one_line(self.header).rstrip(" {:;")[:SIGNATURE_CHARS]


def one_line(text: str) -> str:
    """``text`` with every run of white space made one space."""
    return " ".join(text.split())


def line_start(source: bytes, byte: int) -> int:
    """Byte offset of the start of the line holding ``byte``."""
    return source.rfind(b"\n", 0, byte) + 1


def text_of(node: Node | None) -> str:
    """A node's text (``""`` for ``None``), UTF-8 decoded with replacement."""
    return node.text.decode("utf-8", errors="replace") if node is not None and node.text is not None else ""


def _body(node: Node) -> Node | None:
    body = node.child_by_field_name("body")
    if body is None and node.parent is not None and node.parent.type.endswith(("definition", "declaration")):
        body = node.parent.child_by_field_name("body")
    return body


def _head(node: Node) -> Node:
    """Where a definition's header starts: a function value's declaration (``const f = () =>``)."""
    if node.type in _FUNCTION_VALUES and node.parent is not None and node.parent.type == "variable_declarator":
        return node.parent.parent or node.parent
    return node


def header(node: Node, source: bytes, *, brace: bool = False) -> str:
    """A definition's header: its text up to its body, as written, e.g. ``"    def area(self) ->
    float:"`` or ``"impl Shape for Circle"`` (with ``brace``, ``"impl Shape for Circle {"``).

    It starts at the line's start when only white space precedes the definition there (so the
    indentation is kept), else at the definition; without a body it is the definition's first
    line. ``source`` is the bytes the tree was parsed from. The one signature extractor: the
    index, code actions, completion's scope headers and review all use it.
    """
    head = _head(node)
    start = line_start(source, head.start_byte)
    if source[start : head.start_byte].strip():
        start = head.start_byte
    body = _body(node)
    if body is None or body.start_byte <= start:
        end = source.find(b"\n", head.start_byte)
        end = head.end_byte if end < 0 else min(end, head.end_byte)
    else:
        end = body.start_byte + (1 if brace and source[body.start_byte : body.start_byte + 1] == b"{" else 0)
    text = source[start:end].decode("utf-8", "replace").rstrip()
    return ("type " + text.lstrip()) if node.type == "type_spec" else text


def _docstring(node: Node, spec: LanguageSpec) -> str:
    """The cleaned Python docstring, or the doc comments right above the definition."""
    if spec.name == "python":
        body = node.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            raw = text_of(first.named_children[0])
            try:
                return inspect.cleandoc(str(ast.literal_eval(raw)))
            except (ValueError, SyntaxError):
                return raw.strip("\"' \n")
        return ""
    comments: list[str] = []
    current = _outer(node)
    row, sibling = current.start_point.row, current.prev_named_sibling
    while sibling is not None and sibling.type in _COMMENTS and sibling.end_point.row >= row - 1:
        comments.insert(0, text_of(sibling))
        row, sibling = sibling.start_point.row, sibling.prev_named_sibling
    lines = [line for comment in comments for line in comment.splitlines()]
    cleaned = [re.sub(r"^\s*(/\*\*?|\*(?!/)|///?|//!)\s?", "", re.sub(r"\s*\*/\s*$", "", line)).rstrip() for line in lines]
    return "\n".join(line for line in cleaned if line.strip()).strip()


def _is_function(node: Node, spec: LanguageSpec) -> bool:
    if node.type not in spec.profile.functions:
        return False
    if node.type in _FUNCTION_VALUES:
        return node.parent is not None and node.parent.type == "variable_declarator"
    return True


def _is_class(node: Node, spec: LanguageSpec) -> bool:
    if node.type not in spec.profile.classes:
        return False
    if node.type == "struct_specifier":
        return node.child_by_field_name("body") is not None
    if node.type == "type_spec":
        kind = node.child_by_field_name("type")
        return kind is not None and kind.type in ("struct_type", "interface_type")
    return node.type != "class" or node.child_by_field_name("name") is not None


def is_definition(node: Node, spec: LanguageSpec) -> bool:
    """Whether ``node`` defines a function, method or class in ``spec``'s grammar."""
    return _is_function(node, spec) or _is_class(node, spec)


def name_of(node: Node) -> str:
    """The name a definition node declares (``""`` when it has none)."""
    if node.type in _FUNCTION_VALUES and node.parent is not None:
        return text_of(node.parent.child_by_field_name("name"))
    if node.type == "impl_item":
        return text_of(node.child_by_field_name("type"))
    named = node.child_by_field_name("name")
    if named is not None:
        return text_of(named)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type not in _NAME_DECLARATORS:
        declarator = declarator.child_by_field_name("declarator")
    return text_of(declarator)


def _outer(node: Node) -> Node:
    """The node whose text is the whole definition (decorators, ``export``, ``const x =``)."""
    node = _head(node)
    parent = node.parent
    while parent is not None and parent.type in ("decorated_definition", "export_statement"):
        node, parent = parent, parent.parent
    return node


def make_symbol(
    node: Node, spec: LanguageSpec, source: bytes, path: str = "", *, name: str | None = None,
    kind: str | None = None, full: bool = True,
) -> Symbol:
    """The :class:`Symbol` for definition ``node`` of a tree parsed from ``source``.

    ``name``/``kind`` override what the node-type tables say (the tags query's ``@name`` and
    ``@definition.*``); ``full`` False leaves ``source`` empty and keeps :data:`DOC_LINES` lines of
    the docstring and a header of at most :data:`HEADER_CHARS` characters (the workspace index).
    """
    name = name if name is not None else name_of(node)
    containers = []
    parent = node.parent
    while parent is not None:
        if _is_class(parent, spec):
            containers.insert(0, name_of(parent))
        parent = parent.parent
    if "::" in name:
        *scope, name = name.split("::")
        containers.extend(scope)
    if _is_class(node, spec):
        kind = "class"
    elif _is_function(node, spec):
        kind = "method" if containers or node.type in ("method_declaration", "method_definition") else "function"
    outer = _outer(node)
    head, doc = header(node, source), _docstring(node, spec)
    if not full:
        if len(head) > HEADER_CHARS:
            head = head.split("\n", 1)[0][:HEADER_CHARS]
        doc = "\n".join(doc.splitlines()[:DOC_LINES])
    return Symbol(
        name=name, qualname=".".join([*containers, name]), kind=kind or "definition", language=spec.name, path=path,
        start_line=outer.start_point.row, end_line=outer.end_point.row, header=head, docstring=doc,
        source=text_of(outer) if full else "", container=containers[-1] if containers else None,
    )


def _parse(text: str, path: str | None, language_id: str | None, tree: Tree | None = None) -> tuple[LanguageSpec, Node, bytes] | None:
    spec = language_for(path, language_id)
    if spec is None:
        return None
    data = text.encode("utf-8", errors="replace")
    return spec, (tree or spec.parser().parse(data)).root_node, data


def symbol_at(
    text: str, line: int, column: int, path: str | None = None, language_id: str | None = None, tree: Tree | None = None,
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
    spec, root, data = parsed
    lines = text.split("\n")
    line = max(0, min(line, len(lines) - 1))
    point = Point(line, len(lines[line][: max(0, column)].encode("utf-8", errors="replace")))
    node: Node | None = root.named_descendant_for_point_range(point, point)
    while node is not None:
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition")
        if node is not None and is_definition(node, spec):
            return make_symbol(node, spec, data, path or "")
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
    return Symbol(
        name=stem, qualname=stem, kind="module", language=spec.name if spec else "text", path=path, start_line=0,
        end_line=last, header=f"module {stem}", docstring=docstring, source=text,
    )


def list_symbols(text: str, path: str | None = None, language_id: str | None = None) -> list[Symbol]:
    """Every function, method and class of a file, in source order."""
    parsed = _parse(text, path, language_id)
    if parsed is None:
        return []
    spec, root, data = parsed
    return [make_symbol(node, spec, data, path or "") for node in walk(root) if is_definition(node, spec)]


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
    spec, root, _data = parsed
    return [one_line(text_of(node)) for node in root.named_children if node.type in spec.profile.imports]


def import_nodes(tree: Tree, before_byte: int | None = None) -> list[Node]:
    """Top-level import-like nodes (:data:`IMPORT_TYPES`) starting before ``before_byte``."""
    found = []
    for child in tree.root_node.named_children:
        if before_byte is not None and child.start_byte >= before_byte:
            break
        if child.type in IMPORT_TYPES:
            found.append(child)
    return found


def enclosing_scopes(tree: Tree, byte: int, source: bytes | None = None) -> list[Node]:
    """The definitions (:data:`SCOPE_TYPES` with a body) whose body holds ``byte``, outermost first.

    With ``source`` (the text up to at least ``byte``), white space before ``byte`` is skipped
    first, so a cursor after trailing blanks still counts as inside the definition it follows.
    """
    if source is not None:
        byte = len(source[:byte].rstrip()) or byte
        byte = max(0, byte - 1) if byte and byte <= len(source) else byte
    node: Node | None = tree.root_node.descendant_for_byte_range(byte, byte)
    scopes: list[Node] = []
    while node is not None:
        body = node.child_by_field_name("body") if node.type in SCOPE_TYPES else None
        if body is not None and body.start_byte <= byte <= body.end_byte:
            scopes.append(node)
        node = node.parent
    return scopes[::-1]


def walk(node: Node):
    """Named nodes under ``node`` (itself first), in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def definition_of(node: Node | None, spec: LanguageSpec) -> Node | None:
    """The nearest enclosing (or own) function, method or class node, or ``None``."""
    while node is not None and not is_definition(node, spec):
        node = node.parent
    return node
