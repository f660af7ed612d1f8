"""Small tree and text helpers shared by context building and post-processing."""

from __future__ import annotations

import re

from tree_sitter import Node

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
