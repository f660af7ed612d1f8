"""Every supported language has its grammar and a compiled tags.scm query."""

from __future__ import annotations

import pytest
from tree_sitter import QueryCursor

from lfcode.context.languages import get_language, language_for, language_name, supported_languages

SAMPLES = {
    "python": ("def add(a, b):\n    return a + b\n", "add"),
    "javascript": ("function add(a, b) { return a + b; }\n", "add"),
    "typescript": ("function add(a: number, b: number): number { return a + b; }\n", "add"),
    "tsx": ("function Add(): JSX.Element { return <div/>; }\n", "Add"),
    "go": ("package m\nfunc Add(a int, b int) int { return a + b }\n", "Add"),
    "rust": ("fn add(a: i32, b: i32) -> i32 { a + b }\n", "add"),
    "java": ("class M { int add(int a, int b) { return a + b; } }\n", "add"),
    "c": ("int add(int a, int b) { return a + b; }\n", "add"),
    "cpp": ("int add(int a, int b) { return a + b; }\n", "add"),
}


@pytest.mark.parametrize("name", supported_languages())
def test_grammar_parses_and_tags_find_the_definition(name: str) -> None:
    spec = get_language(name)
    assert spec is not None and spec.tags is not None
    source, symbol = SAMPLES[name]
    tree = spec.parser().parse(source.encode())
    assert not tree.root_node.has_error
    names = {
        node.text.decode()
        for _pattern, captures in QueryCursor(spec.tags).matches(tree.root_node)
        for capture, nodes in captures.items()
        if capture == "name"
        for node in nodes
    }
    assert symbol in names


@pytest.mark.parametrize(
    ("path", "language_id", "expected"),
    [("a.py", None, "python"), ("x.tsx", None, "tsx"), ("x.txt", "typescriptreact", "tsx"), ("a.hpp", None, "cpp"), ("notes.md", None, None), (None, "cobol", None)],
)
def test_language_mapping_covers_ids_and_extensions(path, language_id, expected) -> None:
    assert language_name(path, language_id) == expected
    assert (language_for(path, language_id) is None) == (expected is None)
