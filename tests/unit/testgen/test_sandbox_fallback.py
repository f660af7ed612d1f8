"""Without an OS sandbox lfcode runs nothing: tests come back parse-checked and marked "not run"."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from lfcode.backends.fake import FakeBackend
from lfcode.cli import cli
from lfcode.testgen import verify
from lfcode.testgen.frameworks import detect_framework
from lfcode.context.symbols import find_symbol
from lfcode.testgen.generate import TestPlan, generate_tests, parses
from lfcode.testgen.verify import SandboxUnavailable, VerifyError, mark_not_run, run_tests
from lfcode.execution import sandbox as sandboxing

SOURCE = 'def double(x):\n    """Twice x.\n\n    >>> double(2)\n    4\n    """\n    return 2 * x\n'


@pytest.fixture
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Detection says "no bubblewrap"; every attempt to start a process is recorded and refused."""
    started: list[list[str]] = []

    def refuse(argv, *args, **kwargs):
        started.append(list(argv))
        raise AssertionError(f"nothing may run without a sandbox: {argv}")

    monkeypatch.setattr(sandboxing, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    monkeypatch.setattr(subprocess, "Popen", refuse)
    return started


def make_project(root: Path) -> TestPlan:
    (root / "pyproject.toml").write_text("")
    (root / "calc.py").write_text(SOURCE)
    framework = detect_framework(root / "calc.py", root)
    return TestPlan(symbol=find_symbol(SOURCE, "double", str(root / "calc.py")), source_path=root / "calc.py", source_text=SOURCE, root=root, framework=framework)


def test_run_tests_refuses_and_runs_nothing(tmp_path: Path, no_sandbox: list[list[str]]) -> None:
    make_project(tmp_path)
    with pytest.raises(SandboxUnavailable) as caught:
        run_tests(tmp_path, tmp_path / "test_calc.py", "def test_a():\n    assert True\n", ["test_a"])
    message = str(caught.value)
    assert "bubblewrap (bwrap) is not installed" in message and "apt install bubblewrap" in message and "dnf install bubblewrap" in message
    assert isinstance(caught.value, VerifyError) and isinstance(caught.value, sandboxing.SandboxUnavailable)
    assert no_sandbox == [] and not sandboxing.sandbox_available()


def test_generated_tests_are_marked_not_run(tmp_path: Path) -> None:
    plan = make_project(tmp_path)
    generated = generate_tests(FakeBackend(["4\n"]), plan, threading.Event(), n_tests=1)
    marked = mark_not_run(generated)
    assert marked.code.lstrip("\n").startswith("# lfcode: not run — no sandbox (install bubblewrap: apt install bubblewrap)\n")
    assert marked.tests == generated.tests and parses(marked.code, "python") and parses(marked.result, "python")
    assert marked.result.replace(marked.code, generated.code) == generated.result


def test_cli_offers_parse_checked_tests_marked_not_run(tmp_path: Path, no_sandbox: list[list[str]]) -> None:
    make_project(tmp_path)
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"responses": ["4\n"]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = CliRunner().invoke(cli, ["tests", f"{tmp_path / 'calc.py'}::double", "--run"], env=env)
    assert result.exit_code == 0, result.output
    assert "# lfcode: not run — no sandbox" in result.output and "not run (only checked to parse)" in result.output
    assert "apt install bubblewrap" in result.output and "def test_double" in result.output
    assert no_sandbox == []


# Runs the generated test for real with a second pytest process (which loads every pytest plugin
# of this venv, about 2 s), like the sandboxed runs of test_verify.py: the slow tier.
@pytest.mark.model
def test_sandbox_off_runs_unsandboxed_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sandboxing, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-off")
    make_project(tmp_path)
    body = "import os\n\n\ndef test_a():\n    assert 'AWS_SECRET_ACCESS_KEY' not in os.environ\n"
    result = run_tests(tmp_path, tmp_path / "test_calc.py", body, ["test_a"], sandbox="off")
    assert result.outcomes == {"test_a": "passed"} and not result.sandboxed
    assert "WITHOUT OS isolation" in caplog.text


def test_a_test_file_behind_a_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "tests").symlink_to(elsewhere)
    work = tmp_path / "copy"
    verify.copy_project(root, work)
    with pytest.raises(VerifyError, match="symbolic link out of the project"):
        verify._write_inside(work, Path("tests/test_x.py"), "x = 1\n")
    assert list(elsewhere.iterdir()) == []


async def test_the_generate_tests_action_offers_tests_marked_not_run(tmp_path: Path, no_sandbox: list[list[str]]) -> None:
    from types import SimpleNamespace

    from lsprotocol import types
    from pygls.workspace import Workspace

    from lfcode.context.documents import DocumentStore
    from lfcode.lsp import testgen as actions
    from lfcode.settings import Settings

    make_project(tmp_path)
    (tmp_path / "test_calc.py").write_text("")
    applied, shown = [], []

    async def backend():
        return FakeBackend(["4\n"])

    async def run_blocking(fn, *args):
        return fn(*args)

    asked: list[str] = []

    async def backend_for(role):
        asked.append(role)
        return await backend()

    async def apply(params):
        applied.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    ls = SimpleNamespace(
        workspace=Workspace(tmp_path.as_uri()), project_root=tmp_path, settings=Settings(),
        session=SimpleNamespace(backend=backend, backend_for=backend_for, chat_backend=backend, run_blocking=run_blocking, workspace=SimpleNamespace(documents=DocumentStore())),
        client_capabilities=types.ClientCapabilities(),
        workspace_apply_edit_async=apply, window_show_message=shown.append, sandbox_warned=False,
    )
    answer = await actions.run_tests(ls, ({"uri": (tmp_path / "calc.py").as_uri(), "position": {"line": 6, "character": 4}},))
    assert answer["tests"] and no_sandbox == [] and asked == ["chat"]
    (edit,) = applied[0].changes.values()
    assert "# lfcode: not run — no sandbox" in edit[0].new_text and "def test_double" in edit[0].new_text
    assert any("not run" in m.message and "apt install bubblewrap" in m.message for m in shown)
    assert any("not run (no sandbox)" in m.message for m in shown)
