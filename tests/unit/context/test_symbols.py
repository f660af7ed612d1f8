"""Symbol finding with tree-sitter in every supported language, and the context around a symbol."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfcode.context.index import related
from lfcode.context.symbols import find_symbol, imports, list_symbols, module_symbol, symbol_at

# path, source, (line, column) inside the function body, expected name / kind / signature / doc,
# and a line outside every definition.
CASES = {
    "python": ("m.py", 'import os\n\n\ndef add(a, b):\n    """Sum."""\n    return a + b\n', (5, 6), ("add", "function", "def add(a, b)", "Sum."), 1),
    "javascript": ("m.js", "import x from 'x';\n\n/** Sum. */\nfunction add(a, b) {\n  return a + b;\n}\n", (4, 4), ("add", "function", "function add(a, b)", "Sum."), 1),
    "typescript": ("m.ts", "\n// Sum.\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n", (3, 4), ("add", "function", "function add(a: number, b: number): number", "Sum."), 0),
    "tsx": ("m.tsx", "\nconst Hello = (name: string) => {\n  return <div>{name}</div>;\n};\n", (2, 4), ("Hello", "function", "const Hello = (name: string) =>", ""), 0),
    "go": ("m.go", "package m\n\n// Add sums.\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n", (4, 2), ("Add", "function", "func Add(a int, b int) int", "Add sums."), 1),
    "rust": ("m.rs", "use std::fmt;\n\n/// Sums.\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n", (4, 4), ("add", "function", "fn add(a: i32, b: i32) -> i32", "Sums."), 1),
    "java": ("M.java", "import java.util.List;\n\nclass M {\n    /** Sums. */\n    int add(int a, int b) {\n        return a + b;\n    }\n}\n", (5, 8), ("add", "method", "int add(int a, int b)", "Sums."), 1),
    "c": ("m.c", "#include <stdio.h>\n\n/* Sums. */\nint add(int a, int b) {\n    return a + b;\n}\n", (4, 4), ("add", "function", "int add(int a, int b)", "Sums."), 1),
    "cpp": ("m.cpp", "#include <vector>\n\nclass K {\n public:\n  int add(int a, int b) { return a + b; }\n};\n", (4, 27), ("add", "method", "int add(int a, int b)", ""), 1),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_the_enclosing_function_is_found_in_every_language(language: str) -> None:
    path, source, (line, column), (name, kind, signature, doc), outside = CASES[language]
    symbol = symbol_at(source, line, column, path)
    assert symbol is not None, language
    assert (symbol.name, symbol.kind, symbol.signature, symbol.docstring) == (name, kind, signature, doc)
    assert symbol.language == language
    assert symbol.start_line <= line <= symbol.end_line
    assert name in symbol.source
    assert symbol_at(source, outside, 0, path) is None


PYTHON = '''import re
from pathlib import Path


class Wrapper:
    """Wraps text."""

    width = 70

    @staticmethod
    def split(text):
        """Split words.

            Indented detail.
        """
        def inner(word):
            return word.strip()

        return [inner(w) for w in re.split(" ", text)]

    def wrap(self, text):
        return self.split(text)


def fill(text):
    return "\\n".join(Wrapper().wrap(text))
'''


def test_python_methods_decorators_nesting_and_classes() -> None:
    lines = PYTHON.split("\n")
    row = lines.index("    @staticmethod")
    on_decorator = symbol_at(PYTHON, row, 6, "w.py")
    assert on_decorator.qualname == "Wrapper.split" and on_decorator.kind == "method"
    assert on_decorator.start_line == row and on_decorator.source.startswith("@staticmethod")
    assert on_decorator.docstring == "Split words.\n\nIndented detail."
    inner = symbol_at(PYTHON, lines.index("            return word.strip()"), 12, "w.py")
    assert inner.name == "inner" and inner.qualname == "Wrapper.inner" and inner.kind == "method"
    in_class_body = symbol_at(PYTHON, lines.index("    width = 70"), 4, "w.py")
    assert in_class_body.kind == "class" and in_class_body.signature == "class Wrapper"
    blank_inside_method = symbol_at(PYTHON, lines.index("            return word.strip()") + 1, 0, "w.py")
    assert blank_inside_method.qualname == "Wrapper.split"
    assert symbol_at(PYTHON, 3, 0, "w.py") is None
    assert symbol_at(PYTHON, 10_000, 10_000, "w.py") is None  # clamped to the last (empty) line


def test_find_symbol_accepts_dotted_and_colon_names() -> None:
    assert find_symbol(PYTHON, "Wrapper.wrap", "w.py").signature == "def wrap(self, text)"
    assert find_symbol(PYTHON, "Wrapper::wrap", "w.py").qualname == "Wrapper.wrap"
    assert find_symbol(PYTHON, "fill", "w.py").kind == "function"
    assert find_symbol(PYTHON, "Other.wrap", "w.py") is None
    assert [s.qualname for s in list_symbols(PYTHON, "w.py")] == ["Wrapper", "Wrapper.split", "Wrapper.inner", "Wrapper.wrap", "fill"]


def test_unknown_languages_have_no_symbols() -> None:
    assert symbol_at("def f():\n    pass\n", 1, 4, "notes.txt") is None
    assert list_symbols("x", "a.md") == []
    assert imports("x", "a.md") == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("w.py", PYTHON, ["import re", "from pathlib import Path"]),
        ("m.go", 'package m\n\nimport (\n\t"fmt"\n)\n', ["package m", 'import ( "fmt" )']),
        ("m.rs", "use std::io;\nfn f() {}\n", ["use std::io;"]),
        ("M.java", "package p;\nimport java.util.List;\nclass M {}\n", ["package p;", "import java.util.List;"]),
        ("m.c", "#include <stdio.h>\nint x;\n", ["#include <stdio.h>"]),
        ("m.ts", "import { a } from './a';\nlet b = 1;\n", ["import { a } from './a';"]),
    ],
)
def test_imports_are_listed(path: str, source: str, expected: list[str]) -> None:
    assert imports(source, path) == expected


def test_related_finds_callees_and_callers_in_the_file_and_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def normalize(text, lower=True):\n    return text.lower()\n")
    (tmp_path / "app.py").write_text("from core import parse\n\ndef main(argv):\n    return parse(argv[1])\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "skip.py").write_text("def hidden():\n    return parse(1)\n")
    source = "from helpers import normalize\n\n\ndef tokens(text):\n    return text.split()\n\n\ndef parse(text):\n    return tokens(normalize(text))\n\n\ndef twice(text):\n    return parse(parse(text))\n"
    symbol = find_symbol(source, "parse", str(tmp_path / "core.py"))
    found = related(symbol, source, str(tmp_path / "core.py"), tmp_path)
    assert found.callees == ["def tokens(text)", "def normalize(text, lower=True)"]
    assert found.callers == ["def twice(text)", "def main(argv)"]
    alone = related(symbol, source, str(tmp_path / "core.py"))
    assert alone.callees == ["def tokens(text)"] and alone.callers == ["def twice(text)"]


def test_related_in_c_uses_call_expressions() -> None:
    source = "int sub(int a) { return a - 1; }\nint add(int a) { return sub(a) + 2; }\n"
    symbol = find_symbol(source, "add", "m.c")
    assert related(symbol, source, "m.c").callees == ["int sub(int a)"]
    assert related(find_symbol(source, "sub", "m.c"), source, "m.c").callers == ["int add(int a)"]


def test_module_symbol_covers_the_whole_file() -> None:
    whole = module_symbol('"""Tools."""\nx = 1\n', "tools.py")
    assert (whole.kind, whole.name, whole.docstring, whole.start_line, whole.end_line) == ("module", "tools", "Tools.", 0, 1)


def test_explain_uses_the_workspace_index_instead_of_walking_again(tmp_path: Path, monkeypatch) -> None:
    from lfcode.context import index as index_module
    from lfcode.context.index import SymbolIndex
    from lfcode.explain import service

    (tmp_path / "helpers.py").write_text("def normalize(text, lower=True):\n    return text.lower()\n")
    (tmp_path / "app.py").write_text("from core import parse\n\ndef main(argv):\n    return parse(argv[1])\n")
    source = "from helpers import normalize\n\n\ndef parse(text):\n    return normalize(text)\n"
    symbol = find_symbol(source, "parse", str(tmp_path / "core.py"))
    walked = service.prepare(source, symbol, str(tmp_path / "core.py"), tmp_path).facts
    index = SymbolIndex()
    assert index.files(tmp_path) is None  # not walked yet: the caller walks itself
    index.start(tmp_path)
    assert index.wait_idle()
    assert index.files(tmp_path / "elsewhere") is None
    try:
        def no_walk(*args, **kwargs):
            raise AssertionError("walked the folder again")

        monkeypatch.setattr(index_module, "files_with_suffix", no_walk)
        monkeypatch.setattr(index_module, "_file_symbols", no_walk)
        indexed = service.prepare(source, symbol, str(tmp_path / "core.py"), tmp_path, index).facts
    finally:
        index.close()
    assert indexed == walked
    assert [(c.name, c.kind, c.where) for c in walked.calls] == [("helpers.normalize", "project", f"{tmp_path / 'helpers.py'}:1")]
    assert walked.called_by == ["def main(argv)"]
