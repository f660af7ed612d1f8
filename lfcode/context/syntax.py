"""Small syntax facts per language, and tree helpers shared by context building and post-processing.

Node type names come from each official grammar's ``src/node-types.json``. The tables are kept
per grammar in :mod:`lfcode.context.languages`; the sets here are their unions, which serve every
supported grammar because the names do not clash in meaning.
"""

from __future__ import annotations

import re

from tree_sitter import Node, Tree

from lfcode.context.languages import IMPORTS, SCOPES, every

#: Line-comment syntax per grammar name; languages not listed get no extra context.
COMMENT_PREFIX: dict[str, str] = {
    "python": "#",
    "javascript": "//", "typescript": "//", "tsx": "//",
    "go": "//", "rust": "//", "java": "//", "c": "//", "cpp": "//",
}

#: Top-level nodes that bring names into a file, in any grammar (``languages.IMPORTS``).
IMPORT_TYPES = every(IMPORTS)

#: Definitions whose header is worth repeating when the cursor is deep inside them, in any
#: grammar (``languages.SCOPES``).
SCOPE_TYPES = every(SCOPES)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def line_start(source: bytes, byte: int) -> int:
    """Byte offset of the start of the line holding ``byte``."""
    return source.rfind(b"\n", 0, byte) + 1


def header_of(node: Node, source: bytes) -> str:
    """A scope's header: its text from its line start to its body (the body's ``{`` included),
    e.g. ``"    def area(self) -> float:"`` or ``"impl Shape for Circle {"``."""
    body = node.child_by_field_name("body")
    start = line_start(source, node.start_byte)
    if body is None:
        end = source.find(b"\n", node.start_byte)
        return source[start : end if end >= 0 else node.end_byte].decode("utf-8", "replace").rstrip()
    end = body.start_byte + (1 if source[body.start_byte : body.start_byte + 1] == b"{" else 0)
    return source[start:end].decode("utf-8", "replace").rstrip()


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


def import_nodes(tree: Tree, before_byte: int | None = None) -> list[Node]:
    """Top-level import-like nodes (:data:`IMPORT_TYPES`) starting before ``before_byte``."""
    found = []
    for child in tree.root_node.named_children:
        if before_byte is not None and child.start_byte >= before_byte:
            break
        if child.type in IMPORT_TYPES:
            found.append(child)
    return found


def error_nodes(node: Node) -> list[tuple[str, int]]:
    """``(type, start byte)`` of every ERROR and MISSING node under ``node`` (a MISSING node's
    type is the token it stands for, e.g. ``")"``). Only subtrees with ``has_error`` are
    visited, so an error-free tree costs one check."""
    if not node.has_error and not node.is_missing:
        return []
    found = [(node.type, node.start_byte)] if node.is_error or node.is_missing else []
    for child in node.children:
        if child.has_error or child.is_missing:
            found += error_nodes(child)
    return found


def identifiers(text: str) -> list[str]:
    """Identifier-like words of ``text``, each once, in order of last appearance (nearest the
    end first)."""
    seen: dict[str, None] = {}
    for word in reversed(_IDENTIFIER.findall(text)):
        seen.setdefault(word, None)
    return list(seen)
