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


def test_completion_node_type_tables_live_in_the_language_profiles() -> None:
    from lfcode.completion import stopping
    from lfcode.context import languages, syntax

    # The old names are the unions of the per-grammar tables, unchanged.
    assert syntax.IMPORT_TYPES == languages.every(languages.IMPORTS) == frozenset({
        "import_statement", "import_from_statement", "future_import_statement", "import_declaration",
        "package_clause", "package_declaration", "use_declaration", "extern_crate_declaration",
        "preproc_include", "using_declaration",
    })
    assert syntax.SCOPE_TYPES == languages.every(languages.SCOPES)
    assert {"function_definition", "impl_item", "func_literal", "namespace_definition"} <= syntax.SCOPE_TYPES
    assert stopping.EXPRESSION_CONTAINERS == languages.every(languages.EXPRESSION_CONTAINERS)
    assert stopping.BLOCK_CONTAINERS == languages.every(languages.BLOCK_CONTAINERS)
    # Every name in a grammar's row is a node type of that grammar (or of one in its family).
    members: dict[str, list[str]] = {}
    for name in languages.supported_languages():
        members.setdefault(languages.family(name), []).append(name)
    for table in (languages.SCOPES, languages.EXPRESSION_CONTAINERS, languages.BLOCK_CONTAINERS, languages.IMPORTS):
        assert set(table) == set(members)
        for fam, types in table.items():
            grammars = [languages.get_language(g) for g in members[fam]]
            for node_type in types:
                assert any(g.language.id_for_node_kind(node_type, True) is not None for g in grammars), (fam, node_type)
