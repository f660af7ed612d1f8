"""``lfcode doctor`` (lfcode.doctor) and the ``where`` field of ``lfcode/status``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lfcode import doctor
from lfcode.backends import where_code_goes
from lfcode.cli import cli
from lfcode.execution import sandbox
from lfcode.execution.sandbox import INSTALL_HINT
from lfcode.settings import Settings
from tests.tinygguf import write_tiny_gguf


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A working sandbox, an empty home and no user config, unless a test says otherwise."""
    monkeypatch.setattr(sandbox, "sandbox_status", lambda: (True, "bubblewrap at /usr/bin/bwrap"))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for key in ("LFCODE_MODEL", "LFCODE_BACKEND", "LFCODE_AUDIT_LOG", "LFCODE_OPENAI_URL", "LFCODE_ALLOW_REMOTE", "LFCODE_SANDBOX"):
        monkeypatch.delenv(key, raising=False)


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "tiny.gguf", family="codellama")


def test_a_missing_model_file_fails_and_exits_1(tmp_path: Path) -> None:
    checks = doctor.run_checks(tmp_path, Settings(model=str(tmp_path / "missing.gguf")))
    model = by_name(checks)["model"]
    assert model.status == "fail"
    assert "model file not found" in model.detail and doctor.ROLES in model.detail
    assert "model file" not in by_name(checks)
    assert doctor.exit_code(checks) == 1


def test_another_gguf_reports_its_header_and_is_not_pinned(tmp_path: Path, tiny: Path) -> None:
    checks = by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny))))
    assert checks["model"].status == "ok"
    assert f"→ {tiny}, in process (llama-cpp)" in checks["model"].detail
    assert checks["model file"].status == "ok"
    assert "llama" in checks["model file"].detail and "FIM codellama" in checks["model file"].detail
    assert "not pinned" in checks["model file"].detail


def test_the_embedded_model_is_checked_against_its_pin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    from lfcode.backends import embedded
    from lfcode.models import references

    monkeypatch.setattr(references, "resolve_model", lambda reference, env=None: tiny)
    checks = doctor.run_checks(tmp_path, Settings(model="embedded"))
    assert by_name(checks)["model file"].status == "fail"
    assert embedded.SHA256 in by_name(checks)["model file"].detail
    assert doctor.exit_code(checks) == 1
    monkeypatch.setattr(embedded, "SHA256", embedded.sha256_file(tiny))
    assert by_name(doctor.run_checks(tmp_path, Settings(model="embedded")))["model file"].status == "ok"


def test_where_code_goes_is_said_for_each_backend(tmp_path: Path) -> None:
    loopback = Settings(backend="openai", openai_url="http://127.0.0.1:8080/v1")
    remote = Settings(backend="openai", openai_url="https://gpu.example.com/v1", allow_remote=True)
    refused = Settings(backend="openai", openai_url="https://gpu.example.com/v1")
    assert where_code_goes(Settings()) == "in process"
    assert where_code_goes(loopback) == "loopback 127.0.0.1:8080"
    assert where_code_goes(remote) == "remote gpu.example.com"
    assert by_name(doctor.run_checks(tmp_path, loopback))["model"].detail.endswith("loopback server http://127.0.0.1:8080/v1")
    assert by_name(doctor.run_checks(tmp_path, loopback))["model"].status == "ok"
    found = by_name(doctor.run_checks(tmp_path, remote))["model"]
    assert found.status == "warn" and "REMOTE host gpu.example.com (allow_remote)" in found.detail
    assert by_name(doctor.run_checks(tmp_path, refused))["model"].status == "fail"


def test_no_sandbox_fails_with_the_install_hint_unless_it_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    monkeypatch.setattr(sandbox, "sandbox_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    check = by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny))))["sandbox"]
    assert check.status == "fail" and "not installed" in check.detail and INSTALL_HINT in check.detail
    assert by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny), sandbox="off")))["sandbox"].status == "warn"


def test_every_grammar_loads_here(tmp_path: Path, tiny: Path) -> None:
    from lfcode.context.languages import PROFILES

    checks = doctor.run_checks(tmp_path, Settings(model=str(tiny)))
    assert by_name(checks)["grammars"].status == "ok"
    assert f"{len(PROFILES)} load" in by_name(checks)["grammars"].detail
    assert not [c for c in checks if c.name.startswith("grammar ")]


def test_a_missing_grammar_is_a_warning_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from lfcode.context import languages

    real = languages.get_language
    monkeypatch.setattr(languages, "get_language", lambda name: None if name == "go" else real(name))
    checks = by_name(doctor._grammar_checks())
    assert checks["grammar go"].status == "warn" and "pip install tree-sitter-go" in checks["grammar go"].detail
    assert "go" not in checks["grammars"].detail.split(": ")[1].split(", ")


def test_a_broken_audit_chain_is_a_warning(tmp_path: Path, tiny: Path) -> None:
    settings = Settings(model=str(tiny), audit_log=True)
    assert by_name(doctor.run_checks(tmp_path, settings))["audit log"].detail.endswith("(nothing recorded yet)")
    log = tmp_path / "data" / "lfcode" / "audit.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text('{"prev": "' + "0" * 64 + '"}\n{"prev": "edited"}\n')
    check = by_name(doctor.run_checks(tmp_path, settings))["audit log"]
    assert check.status == "warn" and "line 2" in check.detail and str(log) in check.detail
    assert doctor.exit_code(doctor.run_checks(tmp_path, settings)) == 0
    assert by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny))))["audit log"].detail == "off"


def test_project_files_setting_machine_keys_are_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "lfcode.toml").write_text('backend = "openai"\nn_ctx = 1\n')
    monkeypatch.setenv("LFCODE_MODEL", str(tiny))
    check = by_name(doctor.run_checks(project))["settings"]
    assert check.status == "warn"
    assert "ignored backend" in check.detail and "'n_ctx'" in check.detail


def test_editors_are_reported_never_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: f"/usr/bin/{name}" if name in ("code", "nvim") else None)
    (tmp_path / "home" / ".vscode-server" / "extensions" / "lfcode.lfcode-0.3.0").mkdir(parents=True)
    checks = by_name(doctor._editor_checks())
    assert checks["editor code"].status == "warn" and "no lfcode extension" in checks["editor code"].detail
    assert checks["editor code-server"].status == "ok" and "lfcode.lfcode-0.3.0" in checks["editor code-server"].detail
    assert checks["editor nvim"].status == "ok" and checks["editor nvim"].detail.startswith("/usr/bin/nvim")
    assert all(c.status != "fail" for c in checks.values())


def test_lfcode_missing_from_path_is_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    assert by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny))))["lfcode on PATH"].status == "warn"
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/opt/bin/lfcode" if name == "lfcode" else None)
    assert by_name(doctor.run_checks(tmp_path, Settings(model=str(tiny))))["lfcode on PATH"].detail == "/opt/bin/lfcode"


def test_cli_prints_json_and_exits_1_on_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    monkeypatch.setenv("LFCODE_MODEL", str(tmp_path / "gone.gguf"))
    result = CliRunner().invoke(cli, ["doctor", str(tmp_path)])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["failed"] == 1
    assert {"name": "model", "status": "fail"}.items() <= next(c for c in data["checks"] if c["name"] == "model").items()
    monkeypatch.setenv("LFCODE_MODEL", str(tiny))
    result = CliRunner().invoke(cli, ["doctor", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["failed"] == 0


def test_cli_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny: Path) -> None:
    monkeypatch.setenv("LFCODE_MODEL", str(tiny))
    result = CliRunner().invoke(cli, ["doctor", str(tmp_path), "--format", "table"])
    assert result.exit_code == 0
    assert "sandbox" in result.output and "bubblewrap at /usr/bin/bwrap" in result.output and "\x1b[" not in result.output


def test_status_notification_says_where_code_goes() -> None:
    from lfcode.lsp.state import STATUS_NOTIFICATION, LfcodeServer

    server = LfcodeServer(env={"LFCODE_BACKEND": "openai", "LFCODE_OPENAI_URL": "https://gpu.example.com/v1",
                               "LFCODE_ALLOW_REMOTE": "true"})
    sent: list[tuple[str, object]] = []
    server.protocol.notify = lambda method, params=None: sent.append((method, params))  # type: ignore[method-assign]
    server.notify_status("ready", "m ready")
    assert sent == [(STATUS_NOTIFICATION, {"state": "ready", "message": "m ready", "where": "remote gpu.example.com"})]
