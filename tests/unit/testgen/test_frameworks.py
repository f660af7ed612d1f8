"""Test framework and test-file detection from a project's own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfcode.context.files import project_root
from lfcode.testgen.frameworks import FrameworkError, detect_framework


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected", "reason"),
    [
        ({"pytest.ini": "[pytest]\n"}, "pytest", "configuration file"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, "pytest", "section"),
        ({"setup.cfg": "[tool:pytest]\n"}, "pytest", "section"),
        ({"tests/test_a.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n"}, "unittest", "TestCase"),
        ({"tests/test_a.py": "import pytest\nimport unittest\n\nclass T(unittest.TestCase):\n    pass\n"}, "pytest", "import pytest"),
        ({"requirements-dev.txt": "pytest>=8\n"}, "pytest", "dependency"),
        ({}, "pytest", "default"),
    ],
)
def test_python_framework_comes_from_config_then_tests_then_dependencies(tmp_path: Path, files: dict, expected: str, reason: str) -> None:
    root = write(tmp_path, {"pkg/mod.py": "def f():\n    pass\n", **files})
    framework = detect_framework(root / "pkg" / "mod.py", root)
    assert framework.name == expected and framework.language == "python"
    assert reason in framework.reason


def test_python_test_file_places(tmp_path: Path) -> None:
    alone = write(tmp_path / "alone", {"pyproject.toml": "", "mod.py": ""})
    assert detect_framework(alone / "mod.py", alone).test_path == alone / "test_mod.py"
    with_tests = write(tmp_path / "with", {"pyproject.toml": "", "src/pkg/mod.py": "", "tests/test_other.py": "import pytest\n"})
    framework = detect_framework(with_tests / "src" / "pkg" / "mod.py", with_tests)
    assert framework.test_path == with_tests / "tests" / "test_mod.py" and not framework.exists
    assert framework.module == "pkg.mod"
    assert framework.example.startswith("import pytest") and framework.example_path.endswith("test_other.py")
    existing = write(tmp_path / "existing", {"pyproject.toml": "", "lib/mod.py": "", "suite/unit/test_mod.py": "x = 1\n"})
    framework = detect_framework(existing / "lib" / "mod.py", existing)
    assert framework.test_path == existing / "suite" / "unit" / "test_mod.py" and framework.exists
    assert framework.module == "lib.mod"
    package = write(tmp_path / "package", {"pyproject.toml": "", "pkg/__init__.py": "", "test/.keep": ""})
    framework = detect_framework(package / "pkg" / "__init__.py", package)
    assert framework.module == "pkg" and framework.test_path == package / "test" / "test_pkg.py"


@pytest.mark.parametrize(
    ("files", "source", "name", "variant", "test_file"),
    [
        ({"package.json": '{"devDependencies": {"vitest": "^1"}}'}, "src/sum.ts", "vitest", "esm", "src/sum.test.ts"),
        ({"package.json": '{"devDependencies": {"jest": "^29"}}'}, "src/sum.js", "jest", "cjs", "src/sum.test.js"),
        ({"package.json": '{"type": "module"}', "jest.config.js": ""}, "src/sum.js", "jest", "esm", "src/sum.test.js"),
        ({"package.json": "{}", "src/__tests__/.keep": ""}, "src/sum.js", "jest", "cjs", "src/__tests__/sum.test.js"),
    ],
)
def test_javascript_frameworks_and_places(tmp_path: Path, files: dict, source: str, name: str, variant: str, test_file: str) -> None:
    root = write(tmp_path, {**files, source: "export function sum(a, b) { return a + b; }\n"})
    framework = detect_framework(root / source, root)
    assert (framework.name, framework.variant, framework.test_path) == (name, variant, root / test_file)
    assert framework.module == ("../sum" if "__tests__" in test_file else "./sum")


def test_go_rust_and_java(tmp_path: Path) -> None:
    go = write(tmp_path / "go", {"go.mod": "module example.com/m\n", "calc/add.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n"})
    framework = detect_framework(go / "calc" / "add.go", go)
    assert (framework.name, framework.module, framework.test_path) == ("go", "calc", go / "calc" / "add_test.go")
    rust = write(tmp_path / "rust", {"Cargo.toml": "[package]\n", "src/lib.rs": "pub fn add() {}\n"})
    framework = detect_framework(rust / "src" / "lib.rs", rust)
    assert (framework.name, framework.test_path, framework.exists) == ("cargo", rust / "src" / "lib.rs", True)
    java = write(tmp_path / "java", {"pom.xml": "<artifactId>junit-jupiter</artifactId>", "src/main/java/shapes/Geometry.java": "package shapes;\nclass Geometry {}\n"})
    framework = detect_framework(java / "src" / "main" / "java" / "shapes" / "Geometry.java", java)
    assert (framework.name, framework.variant, framework.module) == ("junit", "junit5", "shapes")
    assert framework.test_path == java / "src" / "test" / "java" / "shapes" / "GeometryTest.java"
    old = write(tmp_path / "old", {"build.gradle": "testImplementation 'junit:junit:4.13'\n", "Calc.java": "class Calc {}\n"})
    framework = detect_framework(old / "Calc.java", old)
    assert (framework.variant, framework.test_path, framework.module) == ("junit4", old / "CalcTest.java", "")


def test_c_has_no_framework(tmp_path: Path) -> None:
    with pytest.raises(FrameworkError, match="no test framework"):
        detect_framework(tmp_path / "m.c", tmp_path)


def test_project_root_is_the_nearest_marker(tmp_path: Path) -> None:
    root = write(tmp_path, {"repo/go.mod": "", "repo/a/b/c.go": ""})
    assert project_root(root / "repo" / "a" / "b" / "c.go") == (root / "repo").resolve()
