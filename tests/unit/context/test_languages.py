"""Every supported language has its grammar and a compiled tags.scm query."""

from __future__ import annotations

import pytest
from tree_sitter import QueryCursor

from lfcode.context.languages import (
    EXTENSIONS,
    get_language,
    language_for,
    language_id_for,
    language_name,
    supported_languages,
)

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


def test_every_node_type_table_lives_in_one_profile_per_grammar() -> None:
    from lfcode.completion import stopping
    from lfcode.context import languages, symbols

    # The tables code without a language uses are the unions of the profiles' rows.
    assert symbols.IMPORT_TYPES == languages.union("imports") == frozenset({
        "import_statement", "import_from_statement", "future_import_statement", "import_declaration",
        "package_clause", "package_declaration", "use_declaration", "extern_crate_declaration",
        "preproc_include", "using_declaration",
    })
    assert symbols.SCOPE_TYPES == languages.union("scopes")
    assert {"function_definition", "impl_item", "func_literal", "namespace_definition"} <= symbols.SCOPE_TYPES
    assert stopping.EXPRESSION_CONTAINERS == languages.union("expression_containers")
    assert stopping.BLOCK_CONTAINERS == languages.union("block_containers")
    # Every name in a profile's rows is a node type of that very grammar.
    tables = ("functions", "classes", "imports", "scopes", "expression_containers", "block_containers")
    assert set(languages.PROFILES) == set(languages.supported_languages())
    for name, profile in languages.PROFILES.items():
        grammar = languages.get_language(name).language
        for table in tables:
            rows = getattr(profile, table)
            assert rows, (name, table)
            for node_type in rows:
                assert grammar.id_for_node_kind(node_type, True) is not None, (name, table, node_type)
        assert profile.comment in ("#", "//")
        assert all(languages.EXTENSIONS[ext] == name for ext in profile.extensions)
        assert all(languages.LANGUAGE_IDS[lid] == name for lid in profile.language_ids)


def test_the_cli_language_id_names_the_grammar_of_the_extension() -> None:
    assert [language_id_for(p) for p in ("a.py", "b.TSX", "c.h", "notes.txt", "Makefile")] == [
        "python", "typescriptreact", "c", "", ""]
    for extension, grammar in EXTENSIONS.items():
        assert language_name(None, language_id_for("x" + extension)) == grammar
