"""The verification loop: generated tests run in a copy of the project; only passing ones stay."""

from __future__ import annotations

import hashlib
import sys
import threading
from pathlib import Path

import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.testgen import verify
from lfcode.testgen.frameworks import detect_framework
from lfcode.context.symbols import find_symbol
from lfcode.testgen.generate import TestPlan, generate_tests, parses
from lfcode.testgen.verify import VerifyError, copy_project, project_python, run_tests, verify_generated

#: Slow end-to-end tests (server processes, the real sandbox): the slow tier of -m 'not model'.
pytestmark = [pytest.mark.sandbox, pytest.mark.model]

SOURCE = "def add(a, b):\n    return a + b\n"


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def make_plan(root: Path) -> TestPlan:
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '--this-option-does-not-exist'\n")
    (root / "calc.py").write_text(SOURCE)
    (root / "tests").mkdir()
    framework = detect_framework(root / "calc.py", root)
    return TestPlan(symbol=find_symbol(SOURCE, "add", str(root / "calc.py")), source_path=root / "calc.py", source_text=SOURCE, root=root, framework=framework)


def test_only_the_passing_generated_test_is_kept(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    before = tree_hash(tmp_path)
    backend = FakeBackend(["2, 3) == 5\n", "2, 2) == 5\n"])  # one passing test, one failing test
    generated = generate_tests(backend, plan, threading.Event(), n_tests=2)
    assert generated.tests == ["test_add", "test_add_empty"]
    kept, result = verify_generated(plan, generated)
    assert result.summary() == "1 kept, 1 dropped"
    assert result.outcomes == {"test_add": "passed", "test_add_empty": "failed"}
    assert kept.tests == ["test_add"] and "add(2, 3) == 5" in kept.code and "add(2, 2)" not in kept.code
    assert parses(kept.code, "python")
    assert tree_hash(tmp_path) == before  # the project itself is never touched
    assert not (tmp_path / "tests" / "test_calc.py").exists()


def test_nothing_is_kept_when_every_test_fails(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    generated = generate_tests(FakeBackend(["1, 1) == 3\n"]), plan, threading.Event(), n_tests=1)
    kept, result = verify_generated(plan, generated)
    assert kept is None and result.summary() == "0 kept, 1 dropped"


def run(tmp_path: Path, body: str, names: list[str], **options) -> verify.VerifyResult:
    (tmp_path / "calc.py").write_text(SOURCE)
    return run_tests(tmp_path, tmp_path / "test_calc.py", "from calc import add\n\n" + body, names, **options)


def test_network_access_is_blocked(tmp_path: Path) -> None:
    body = "def test_net():\n    import socket\n    socket.socket(socket.AF_INET).close()\n\n\ndef test_local():\n    assert add(1, 1) == 2\n"
    result = run(tmp_path, body, ["test_net", "test_local"])
    assert result.outcomes == {"test_net": "failed", "test_local": "passed"}
    assert "network access is blocked" in result.output


def test_a_hanging_test_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PER_TEST_SECONDS", 1)
    body = "def test_forever():\n    while True:\n        pass\n\n\ndef test_ok():\n    assert add(1, 2) == 3\n"
    result = run(tmp_path, body, ["test_forever", "test_ok"])
    assert result.outcomes == {"test_forever": "failed", "test_ok": "passed"} and not result.timed_out


def test_the_whole_run_has_a_time_limit(tmp_path: Path) -> None:
    body = "import time\n\n\ndef test_slow():\n    time.sleep(8)\n"
    result = run(tmp_path, body, ["test_slow"], timeout=1.5)
    assert result.timed_out and result.dropped == ["test_slow"] and result.outcomes["test_slow"] == "not run"


def test_parametrized_and_skipped_tests(tmp_path: Path) -> None:
    body = (
        "import pytest\n\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_mixed(n):\n    assert add(n, 0) == 1\n\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\ndef test_all(n):\n    assert add(n, 0) == n\n\n\n"
        "@pytest.mark.skip\ndef test_skipped():\n    assert True\n"
    )
    result = run(tmp_path, body, ["test_mixed", "test_all", "test_skipped", "test_missing"])
    assert result.outcomes == {"test_mixed": "failed", "test_all": "passed", "test_skipped": "skipped", "test_missing": "not run"}


def test_a_collection_error_drops_everything(tmp_path: Path) -> None:
    result = run(tmp_path, "import not_a_module_anywhere\n\n\ndef test_a():\n    assert True\n", ["test_a"])
    assert result.dropped == ["test_a"] and "not_a_module_anywhere" in result.output


def test_cancel_kills_the_run(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(InterruptedError):
        run(tmp_path, "def test_a():\n    assert True\n", ["test_a"], cancel=cancel)


def test_missing_pytest_and_bad_paths_are_errors(tmp_path: Path) -> None:
    fake_python = tmp_path / "python-without-pytest"
    fake_python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pytest'\"\nexit 1\n")
    fake_python.chmod(0o755)
    with pytest.raises(VerifyError, match="pytest is not installed"):
        run(tmp_path, "def test_a():\n    assert True\n", ["test_a"], python=str(fake_python))
    with pytest.raises(VerifyError, match="outside the project"):
        run_tests(tmp_path / "project", tmp_path / "elsewhere" / "test_a.py", "", ["test_a"])


def test_the_copy_leaves_out_heavy_folders_and_refuses_huge_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    for name in ("src/a.py", ".git/config", ".venv/bin/python", "node_modules/x/index.js", "__pycache__/a.pyc", "model.gguf"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    copy_project(root, tmp_path / "copy")
    assert sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*") if p.is_file()) == ["src/a.py"]
    assert project_python(root) == str(root / ".venv" / "bin" / "python")
    assert project_python(tmp_path / "copy") == sys.executable
    monkeypatch.setattr(verify, "MAX_COPY_FILES", 0)
    with pytest.raises(VerifyError, match="too large"):
        copy_project(root, tmp_path / "copy2")
