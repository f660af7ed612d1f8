"""Test generation with the scripted fake backend: prompts, filtering, placement and the CLI."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from lfcode.backends.base import Capabilities
from lfcode.backends.fake import FakeBackend
from lfcode.cli import cli
from lfcode.errors import Cancelled as GenerationCancelled
from lfcode.testgen.frameworks import detect_framework
from lfcode.context.symbols import find_symbol
from lfcode.testgen.generate import (
    TestgenError,
    TestPlan,
    doctest_calls,
    generate_tests,
    keep_only,
    parses,
    pascal,
    snake,
    write_tests,
)
from lfcode.lsp.testgen import UserError, edit_for_tests

SOURCE = '''def double(x: int) -> int:
    """Twice x.

    >>> double(2)
    4
    """
    return 2 * x
'''


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def plan_for(root: Path, source: str, name: str, symbol: str) -> TestPlan:
    path = root / name
    framework = detect_framework(path, root)
    existing = framework.test_path.read_text() if framework.test_path.exists() else None
    return TestPlan(symbol=find_symbol(source, symbol, str(path)), source_path=path, source_text=source, root=root, framework=framework, existing=existing)


def test_names() -> None:
    assert (snake("TextWrapper"), snake("dedent"), pascal("text_wrapper"), pascal("textWrapper")) == ("text_wrapper", "dedent", "TextWrapper", "TextWrapper")
    assert doctest_calls(SOURCE, "double") == ["double(2)"]
    assert parses("const a = <div/>;", "tsx") and parses("int x;", "cpp") and not parses("func (", "go")
    assert not parses("def f(:\n", "python") and not parses("x = 1", "cobol")


def test_pytest_tests_start_from_docstring_examples_and_keep_only_usable_ones(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE, "tests/test_other.py": "import pytest\n\ndef test_x():\n    assert 1\n"})
    backend = FakeBackend(
        [
            "4\n",  # finishes the docstring example: usable
            "3) == 6\n",  # usable
            "3) == 6\n",  # the same body as the one before: a repeat
            "\n    return 1\n",  # an unfinished assertion
            "1) == (\n",  # does not parse
            "0) == 0\n",  # usable
        ]
    )
    plan = plan_for(root, SOURCE, "calc.py", "double")
    generated = generate_tests(backend, plan, threading.Event(), n_tests=4)  # at most 4 + 2 attempts
    prompts = [r.prompt for r in backend.requests]
    assert prompts[0].endswith("from calc import double\n\n\ndef test_double_example_1():\n    assert double(2) == ")
    assert prompts[1].endswith("def test_double():\n    assert double(")  # the int parameter gets no opening
    assert "### File: tests/test_other.py\nimport pytest" in prompts[0]  # an existing test for style
    assert "### File: calc.py\n" in prompts[0] and "return 2 * x" in prompts[0]
    assert "def test_double_example_1():\n    assert double(2) == 4\n\n\ndef test_double():" in prompts[1]  # accepted tests stay
    assert generated.tests == ["test_double_example_1", "test_double", "test_double_invalid_input"]
    assert generated.skipped == 3 and len(backend.requests) == 6
    assert generated.create and generated.offset == 0 and generated.framework.test_path == root / "tests" / "test_calc.py"
    assert generated.code.startswith("import pytest\nfrom calc import double\n\n\ndef test_double_example_1():\n    assert double(2) == 4\n")
    assert parses(generated.code, "python") and generated.result == generated.code


def test_appending_to_an_existing_file_keeps_it_and_renames_clashing_tests(tmp_path: Path) -> None:
    existing = "import pytest\nfrom calc import double\n\n\ndef test_double():\n    assert double(0) == 0"
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE.replace(">>> double(2)", "example"), "test_calc.py": existing})
    plan = plan_for(root, (root / "calc.py").read_text(), "calc.py", "double")
    generated = generate_tests(FakeBackend(["1) == 2\n"]), plan, threading.Event(), n_tests=1)
    assert generated.tests == ["test_double_2"] and not generated.create
    assert generated.offset == len(existing)
    assert generated.code == "\n\n\ndef test_double_2():\n    assert double(1) == 2\n"
    assert generated.result.startswith(existing) and parses(generated.result, "python")


def test_no_usable_test_and_cancel_give_errors(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE})
    plan = plan_for(root, SOURCE, "calc.py", "double")
    with pytest.raises(TestgenError, match="no usable test"):
        generate_tests(FakeBackend(default="(((\n"), plan, threading.Event(), n_tests=2)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        generate_tests(FakeBackend(["4\n"]), plan, cancel)


FRAMEWORKS = {
    "unittest": (
        {"tests/test_a.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n", "calc.py": "def double(x):\n    return 2 * x\n"},
        "calc.py", "double", "3), 6)\n", "tests/test_calc.py", "class TestDouble(unittest.TestCase):\n    def test_double(self):\n        self.assertEqual(double(3), 6)",
    ),
    "jest": (
        {"package.json": '{"devDependencies": {"jest": "29"}}', "src/calc.js": "function double(x) { return 2 * x; }\nmodule.exports = { double };\n"},
        "src/calc.js", "double", "doubles', () => {\n  expect(double(3)).toBe(6);\n});\n", "src/calc.test.js", "const { double } = require('./calc');\n\ntest('double doubles', () => {",
    ),
    "go": (
        {"go.mod": "module m\n", "calc/calc.go": "package calc\n\nfunc Double(x int) int { return 2 * x }\n"},
        "calc/calc.go", "Double", "(t *testing.T) {\n\tif Double(3) != 6 {\n\t\tt.Errorf(\"bad\")\n\t}\n}\n", "calc/calc_test.go", 'package calc\n\nimport "testing"\n\nfunc TestDouble(t *testing.T) {',
    ),
    "cargo": (
        {"Cargo.toml": "[package]\n", "src/lib.rs": "pub fn double(x: i32) -> i32 { 2 * x }\n"},
        "src/lib.rs", "double", "() {\n        assert_eq!(double(3), 6);\n    }\n", "src/lib.rs", "#[cfg(test)]\nmod tests_double {\n    use super::*;\n\n    #[test]\n    fn test_double() {",
    ),
    "junit": (
        {"pom.xml": "junit-jupiter", "src/main/java/m/Calc.java": "package m;\n\npublic class Calc {\n    public static int twice(int x) { return 2 * x; }\n}\n"},
        "src/main/java/m/Calc.java", "Calc.twice", "() {\n        assertEquals(6, Calc.twice(3));\n    }\n", "src/test/java/m/CalcTest.java",
        "package m;\n\nimport org.junit.jupiter.api.Test;\nimport static org.junit.jupiter.api.Assertions.*;\n\nclass CalcTest {\n    @Test\n    void testTwice() {",
    ),
}


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_every_framework_produces_code_that_parses_in_the_right_file(tmp_path: Path, name: str) -> None:
    files, source, symbol, answer, test_file, expected = FRAMEWORKS[name]
    root = project(tmp_path, {**files})
    plan = plan_for(root, (root / source).read_text(), source, symbol)
    assert plan.framework.name == name
    generated = generate_tests(FakeBackend([answer]), plan, threading.Event(), n_tests=1)
    assert plan.framework.test_path == root / test_file
    assert expected in generated.result
    assert parses(generated.result, plan.framework.language)
    if name == "cargo":
        assert generated.result.startswith((root / source).read_text())  # appended to the source file


def test_an_existing_junit_class_gets_the_test_before_its_closing_brace(tmp_path: Path) -> None:
    existing = "package m;\n\nimport org.junit.jupiter.api.Test;\n\nclass CalcTest {\n    @Test\n    void testOld() {}\n}\n"
    root = project(tmp_path, {"pom.xml": "", "src/main/java/m/Calc.java": "package m;\nclass Calc { static int twice(int x) { return 2 * x; } }\n", "src/test/java/m/CalcTest.java": existing})
    plan = plan_for(root, (root / "src/main/java/m/Calc.java").read_text(), "src/main/java/m/Calc.java", "Calc.twice")
    generated = generate_tests(FakeBackend(["() {\n        assertEquals(6, Calc.twice(3));\n    }\n"]), plan, threading.Event(), n_tests=1)
    assert generated.offset == existing.rindex("}")
    assert generated.result.endswith("    void testTwice() {\n        assertEquals(6, Calc.twice(3));\n    }\n}\n")
    assert generated.result.startswith(existing[: generated.offset]) and parses(generated.result, "java")


def test_chat_models_answer_with_a_code_block(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE})
    answer = "Here:\n```python\nfrom calc import double\n\ndef test_a():\n    assert double(1) == 2\n\ndef test_b():\n    assert double(2) == 4\n```\n"
    backend = FakeBackend([answer], capabilities=Capabilities(name="chat", chat_template=True))
    generated = generate_tests(backend, plan_for(root, SOURCE, "calc.py", "double"), threading.Event())
    assert generated.tests == ["test_a", "test_b"] and "Write pytest unit tests" in backend.messages[0][0].content
    assert generated.code.count("from calc import double") == 1


def test_keep_only_and_write_tests(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE, "test_calc.py": "# old\n"})
    plan = plan_for(root, SOURCE, "calc.py", "double")
    generated = generate_tests(FakeBackend(["4\n", "3) == 7\n"]), plan, threading.Event(), n_tests=2)
    kept = keep_only(plan, generated, ["test_double_example_1"])
    assert kept.tests == ["test_double_example_1"] and "double(3)" not in kept.code and kept.skipped == 1
    assert keep_only(plan, generated, []) is None
    assert write_tests(kept, "# old\n") == root / "test_calc.py"
    assert (root / "test_calc.py").read_text() == "# old\n" + kept.code
    with pytest.raises(TestgenError, match="changed"):
        write_tests(kept, "# old\n")


def stub_server(document_changes: bool, create: bool) -> SimpleNamespace:
    edit = types.WorkspaceEditClientCapabilities(document_changes=document_changes, resource_operations=[types.ResourceOperationKind.Create] if create else [])
    caps = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(workspace_edit=edit))
    return SimpleNamespace(workspace=SimpleNamespace(position_codec=PositionCodec()), client_capabilities=caps)


def test_the_workspace_edit_creates_then_inserts_and_counts_utf16(tmp_path: Path) -> None:
    existing = "x = 1\n# café 😀"
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE, "test_calc.py": existing})
    plan = plan_for(root, SOURCE, "calc.py", "double")
    generated = generate_tests(FakeBackend(["4\n"]), plan, threading.Event(), n_tests=1)
    edit = edit_for_tests(stub_server(True, True), generated, existing, 3)
    create, change = edit.document_changes
    assert create.uri == (root / "test_calc.py").as_uri() and create.options.ignore_if_exists
    assert change.text_document.version == 3
    (text_edit,) = change.edits
    assert text_edit.range.start == text_edit.range.end == types.Position(line=1, character=9)  # 😀 is 2 UTF-16 units
    assert text_edit.new_text == generated.code and text_edit.new_text.startswith("\n\n\n")
    plain = edit_for_tests(stub_server(False, False), generated, existing, None)
    assert list(plain.changes) == [(root / "test_calc.py").as_uri()] and plain.document_changes is None
    (root / "test_calc.py").unlink()
    fresh = generate_tests(FakeBackend(["4\n"]), plan_for(root, SOURCE, "calc.py", "double"), threading.Event(), n_tests=1)
    with pytest.raises(UserError, match="cannot create files"):
        edit_for_tests(stub_server(True, False), fresh, "", None)
    # Neovim 0.12 names "create" in resourceOperations without setting documentChanges.
    create, _ = edit_for_tests(stub_server(False, True), fresh, "", None).document_changes
    assert isinstance(create, types.CreateFile)


# `--run` runs the generated tests with pytest in the real bubblewrap sandbox: the slow tier.
@pytest.mark.sandbox
@pytest.mark.model
def test_tests_command_prints_runs_and_writes(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE})
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"responses": ["4\n", "3) == 7\n"]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = CliRunner().invoke(cli, ["tests", f"{root / 'calc.py'}::double", "--run", "--write", "--model-tests"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 kept, 1 dropped" in result.output and "def test_double_example_1" in result.output
    written = (root / "test_calc.py").read_text()
    assert "assert double(2) == 4" in written and "double(3)" not in written
    missing = CliRunner().invoke(cli, ["tests", f"{root / 'calc.py'}::nothing"], env=env)
    assert missing.exit_code == 2 and "no function, method or class named 'nothing'" in missing.output
    bare = CliRunner().invoke(cli, ["tests", str(root / "calc.py")], env=env)
    assert bare.exit_code == 2 and "FILE::SYMBOL" in bare.output


@pytest.mark.sandbox
@pytest.mark.model
def test_tests_command_runs_python_calls_and_writes_what_it_observed(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": "", "calc.py": SOURCE})
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(tmp_path / "unused.json"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = CliRunner().invoke(cli, ["tests", f"{root / 'calc.py'}::double", "--run", "--write"], env=env)
    assert result.exit_code == 0, result.output
    assert "tests from observed behaviour" in result.output and "0 dropped" in result.output
    written = (root / "test_calc.py").read_text()
    assert written.startswith("# Generated by lfcode from observed behaviour of double")
    assert "def test_double_2():\n    assert double(2) == 4" in written  # the doctest call covers every line
