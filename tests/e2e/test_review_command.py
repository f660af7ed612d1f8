"""``lfcode review`` (CLI) and the ``lfcode.review`` LSP command on real temporary git repos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from tests.conftest import ROOT, write_fake_script
from tests.e2e.lsp_helpers import server_env

FINDING = json.dumps([{"line": 2, "quote": "return a - b", "severity": "error", "category": "bug", "message": "add() subtracts"}])


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (repo / "m.py").write_text("def add(a, b):\n    return a + b\n")
    run("add", ".")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    (repo / "m.py").write_text("def add(a, b):\n    return a - b\n")
    return repo


def lfcode(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lfcode", "review", *args], cwd=repo, env=env, capture_output=True, text=True)


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*")) if p.is_file()}


def test_cli_json_and_sarif_and_exit_codes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [FINDING, FINDING, FINDING], probability=0.99)
    env = server_env(tmp_path, backend="fake", fake_script=str(script), review_analyzers="model,ruff")
    before = snapshot(repo)
    as_json = lfcode(repo, env, "--format", "json")
    assert as_json.returncode == 1, as_json.stderr
    findings = json.loads(as_json.stdout)["findings"]
    assert [(f["path"], f["line"], f["severity"], f["rule"]) for f in findings] == [("m.py", 2, "error", "model/bug")]
    assert findings[0]["evidence"]["quote"] == "return a - b" and findings[0]["confidence"] > 0.9
    sarif = lfcode(repo, env, "--format", "sarif", "--fail-on", "never")
    assert sarif.returncode == 0
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(json.loads(sarif.stdout), schema)
    assert snapshot(repo) == before


def test_cli_outside_a_repository_exits_2(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    result = lfcode(outside, server_env(tmp_path, backend="fake"))
    assert result.returncode == 2
    assert "not a git repository" in result.stderr


def test_an_unsupported_model_finding_is_only_info_and_does_not_block(tmp_path: Path) -> None:
    """A finding the model's token probabilities do not support, and no other analyzer reports,
    is lowered to info: it is shown, and --fail-on error lets the push through."""
    repo = make_repo(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [FINDING], probability=0.5)
    env = server_env(tmp_path, backend="fake", fake_script=str(script), review_analyzers="model")
    result = lfcode(repo, env, "--format", "json")
    assert result.returncode == 0, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["severity"] == "info" and finding["confidence"] < 0.9


def test_without_a_model_the_other_analyzers_still_review(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "m.py").write_text("def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, y)\n")
    env = server_env(tmp_path, model=str(tmp_path / "missing.gguf"), review_analyzers="model,ruff")
    result = lfcode(repo, env, "--format", "json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert [(f["rule"], f["line"]) for f in data["findings"]] == [("ruff/F821", 6)]
    assert any(n.startswith("the model analyzer did not run: no model:") for n in data["notes"]), data["notes"]
