"""Per-framework scaffolding for generated tests: how one test starts, stops, is named and
checked (:data:`SPECS`), and the header and closer around the block (:data:`HEADERS`).

Adding a test framework: a detector in :data:`lfcode.testgen.frameworks.DETECTORS`, a spec and a
header here, and its prompt ``prompts/tests_<framework>.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lfcode.testgen.frameworks import Framework, pascal, snake


@dataclass(frozen=True)
class Spec:
    """How the tests of one framework look (regexes are matched per line with ``re.M``)."""

    template: str
    start: str  # the opening of one test; {snake} / {pascal} / {name} are filled in
    stops: tuple[str, ...]
    name: str  # regex whose group 1 is a test's name
    asserts: str  # regex that a test must match
    joiner: str  # between two tests


_PY_STOPS = ("\n### File:", "\nif __name__", "\n\n\n")
SPECS: dict[str, Spec] = {
    "pytest": Spec("tests_pytest.txt", "def test_{snake}", (*_PY_STOPS, "\ndef ", "\nclass ", "\n@"), r"^def (\w+)", r"\bassert\b|pytest\.raises", "\n\n\n"),
    "unittest": Spec("tests_unittest.txt", "    def test_{snake}", (*_PY_STOPS, "\n    def ", "\nclass ", "\n\n"), r"^    def (\w+)", r"self\.assert\w+\(|self\.fail\(", "\n\n"),
    "jest": Spec("tests_jest.txt", "test('{name} ", ("\n### File:", "\n\n", "\ntest(", "\ndescribe("), r"^test\((['\"`].*?['\"`])", r"\bexpect\(", "\n\n"),
    "go": Spec("tests_go.txt", "func Test{pascal}", ("\n### File:", "\n\n", "\nfunc "), r"^func (\w+)", r"\bt\.(Error|Errorf|Fatal|Fatalf|Fail)\w*\(", "\n\n"),
    "cargo": Spec("tests_cargo.txt", "    #[test]\n    fn test_{snake}", ("\n### File:", "\n\n", "\n    #[test]", "\n}"), r"^    fn (\w+)", r"\bassert(_eq|_ne)?!|\bpanic!|should_panic", "\n\n"),
    "junit": Spec("tests_junit.txt", "    @Test\n    void test{pascal}", ("\n### File:", "\n\n", "\n    @Test", "\n}"), r"^    void (\w+)", r"\bassert\w*\(|\bfail\(", "\n\n"),
}
SPECS["vitest"] = SPECS["jest"]


#: Back-compatible name of :class:`Spec`.
_Spec = Spec


def _unique(base: str, existing: str, pattern: str) -> str:
    name, n = base, 2
    while re.search(pattern.format(re.escape(name)), existing):
        name, n = f"{base}{n}", n + 1
    return name


def _pytest(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    return f"import pytest\nfrom {fw.module} import {name}\n\n\n", ""


def _unittest(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    cls = _unique(f"Test{pascal(symbol)}", existing or "", r"class {}\b")
    return f"import unittest\nfrom {fw.module} import {name}\n\n\nclass {cls}(unittest.TestCase):\n", ""


def _javascript(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    line = f"import {{ {name} }} from '{fw.module}';\n" if fw.variant == "esm" else f"const {{ {name} }} = require('{fw.module}');\n"
    if re.search(rf"^(import|const|let|var)\b[^\n]*\b{re.escape(name)}\b", existing or "", re.M):
        line = ""
    vitest = "import { describe, expect, test } from 'vitest';\n" if fw.name == "vitest" else ""
    return f"{vitest}{line}\n", ""


def _go(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    return ("" if existing is not None else f'package {fw.module}\n\nimport "testing"\n\n'), ""


def _cargo(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    module = _unique(f"tests_{snake(symbol)}", existing or "", r"mod {}\b")
    return f"#[cfg(test)]\nmod {module} {{\n    use super::*;\n\n", "}\n"


def _junit(fw: Framework, symbol: str, name: str, existing: str | None) -> tuple[str, str]:
    if existing is not None:
        return "", ""
    package = f"package {fw.module};\n\n" if fw.module else ""
    api = ("org.junit.Test", "org.junit.Assert") if fw.variant == "junit4" else ("org.junit.jupiter.api.Test", "org.junit.jupiter.api.Assertions")
    return f"{package}import {api[0]};\nimport static {api[1]}.*;\n\nclass {fw.test_path.stem} {{\n", "}\n"


#: ``header(framework, symbol name, imported name, existing test text or None) -> (header, closer)``;
#: lines the existing file already has are removed from the header afterwards.
Header = Callable[[Framework, str, str, "str | None"], tuple[str, str]]

#: The block header per framework name.
HEADERS: dict[str, Header] = {
    "pytest": _pytest,
    "unittest": _unittest,
    "jest": _javascript,
    "vitest": _javascript,
    "go": _go,
    "cargo": _cargo,
    "junit": _junit,
}
