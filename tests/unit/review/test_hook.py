"""The pre-push hook: install, chain onto an existing hook, uninstall, --force, core.hooksPath.

The hook is run for real, through ``git push`` to a bare remote, with a stand-in ``lfcode`` on
PATH that records its arguments and exits with a chosen code.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import git
import pytest

from lfcode.review.diff import EMPTY_TREE, ReviewError
from lfcode.review.hook import CHAINED_NAME, MARKER, hook_path, install_hook, pushed_ranges, uninstall_hook
from tests.unit.review.gitutil import commit, isolated_git, make_repo, write  # noqa: F401

OLD_HOOK = """#!/bin/sh
echo "old hook $*" >> "{log}"
cat >> "{log}"
exit {code}
"""


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"a.py": "a = 1\n"}, "first")
    git.Repo.init(tmp_path / "remote.git", bare=True).close()
    r.create_remote("origin", str(tmp_path / "remote.git"))
    yield r
    r.close()


@pytest.fixture
def fake_lfcode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a recording ``lfcode`` first on PATH; returns (log file, exit-code file)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log, code = tmp_path / "lfcode.log", tmp_path / "lfcode.code"
    code.write_text("0")
    script = bindir / "lfcode"
    script.write_text(f'#!/bin/sh\necho "lfcode $*" >> "{log}"\nsed "s/^/stdin: /" >> "{log}"\nexit $(cat "{code}")\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log, code


def push(repo: git.Repo) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "push", "origin", "main"], cwd=repo.working_tree_dir,
                          capture_output=True, text=True, timeout=60)


def write_old_hook(path: Path, log: Path, code: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OLD_HOOK.format(log=log, code=code))
    path.chmod(0o755)


def test_install_writes_an_executable_marked_hook_that_runs_the_review(repo, fake_lfcode) -> None:
    log, code = fake_lfcode
    message = install_hook(repo.working_tree_dir)
    path = Path(repo.git_dir) / "hooks" / "pre-push"
    assert "installed" in message and path.is_file()
    assert MARKER in path.read_text() and path.stat().st_mode & stat.S_IXUSR
    assert push(repo).returncode == 0
    head = repo.head.commit.hexsha
    # The review gets the refs being pushed on stdin (githooks(5)), not /dev/null.
    assert log.read_text() == f"lfcode review --fail-on error --pre-push origin\nstdin: refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    code.write_text("1")
    commit(repo, {"a.py": "a = 2\n"}, "second")
    assert push(repo).returncode != 0
    assert "updated" in install_hook(repo.working_tree_dir)  # installing again is harmless


def test_existing_hook_is_chained_first_and_its_failure_stops_the_push(repo, fake_lfcode, tmp_path) -> None:
    log, _code = fake_lfcode
    old_log = tmp_path / "old.log"
    path = hook_path(repo.working_tree_dir)
    write_old_hook(path, old_log, code=3)
    assert "runs the existing hook first" in install_hook(repo.working_tree_dir)
    assert path.with_name(CHAINED_NAME).is_file()
    result = push(repo)
    assert result.returncode != 0
    lines = old_log.read_text().splitlines()
    assert lines[0].startswith("old hook origin ") and lines[1].startswith("refs/heads/main ")
    assert not log.exists()  # the review does not run after the chained hook failed
    write_old_hook(path.with_name(CHAINED_NAME), old_log, code=0)
    assert push(repo).returncode == 0 and log.read_text().startswith("lfcode review --fail-on error --pre-push origin\nstdin: refs/heads/main ")


def test_uninstall_restores_the_chained_hook(repo, tmp_path) -> None:
    assert "nothing to remove" in uninstall_hook(repo.working_tree_dir)
    path = hook_path(repo.working_tree_dir)
    write_old_hook(path, tmp_path / "old.log")
    original = path.read_text()
    install_hook(repo.working_tree_dir)
    assert "restored" in uninstall_hook(repo.working_tree_dir)
    assert path.read_text() == original and not path.with_name(CHAINED_NAME).exists()
    install_hook(repo.working_tree_dir)
    path.with_name(CHAINED_NAME).unlink()
    assert "removed the lfcode pre-push hook at" in uninstall_hook(repo.working_tree_dir)
    assert not path.exists()


def test_uninstall_leaves_a_foreign_hook_alone(repo, tmp_path) -> None:
    path = hook_path(repo.working_tree_dir)
    write_old_hook(path, tmp_path / "old.log")
    with pytest.raises(ReviewError, match="not installed by lfcode"):
        uninstall_hook(repo.working_tree_dir)
    assert path.exists()


def test_refuse_without_force_and_force_keeps_a_backup(repo, tmp_path) -> None:
    path = hook_path(repo.working_tree_dir)
    write_old_hook(path, tmp_path / "old.log")
    with pytest.raises(ReviewError, match="--force"):
        install_hook(repo.working_tree_dir, chain=False)
    assert MARKER not in path.read_text()
    assert "replaced" in install_hook(repo.working_tree_dir, force=True, chain=False)
    assert MARKER in path.read_text() and "old hook" in path.with_name("pre-push.lfcode-backup").read_text()


def test_a_stale_chained_hook_is_not_overwritten_without_force(repo, tmp_path) -> None:
    path = hook_path(repo.working_tree_dir)
    write_old_hook(path, tmp_path / "old.log")
    write_old_hook(path.with_name(CHAINED_NAME), tmp_path / "stale.log")
    with pytest.raises(ReviewError, match="already exists"):
        install_hook(repo.working_tree_dir)
    install_hook(repo.working_tree_dir, force=True)
    assert "old.log" in path.with_name(CHAINED_NAME).read_text()


def test_core_hooks_path_is_respected(repo, fake_lfcode) -> None:
    log, _code = fake_lfcode
    with repo.config_writer() as cfg:
        cfg.set_value("core", "hooksPath", ".githooks")
    expected = Path(repo.working_tree_dir) / ".githooks" / "pre-push"
    assert hook_path(repo.working_tree_dir) == expected
    install_hook(repo.working_tree_dir)
    assert expected.is_file() and not (Path(repo.git_dir) / "hooks" / "pre-push").exists()
    assert push(repo).returncode == 0 and log.exists()


def test_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match="not a git repository"):
        install_hook(tmp_path)


ZERO = "0" * 40


def test_pushed_ranges_follow_the_refs_git_passes(repo) -> None:
    root = repo.working_tree_dir
    first = repo.head.commit.hexsha
    assert push(repo).returncode == 0  # the remote has `first` now
    second = commit(repo, {"a.py": "a = 2\n"}, "second").hexsha
    third = commit(repo, {"a.py": "a = 3\n"}, "third").hexsha
    # An update of a branch the remote has: exactly the new commits.
    assert pushed_ranges(root, f"refs/heads/main {third} refs/heads/main {first}\n") == [f"{first}..{third}"]
    # A new branch: the commits no remote ref has, from the parent of the oldest.
    assert pushed_ranges(root, f"refs/heads/topic {third} refs/heads/topic {ZERO}\n", "origin") == [f"{first}..{third}"]
    # A remote sha this clone never saw (someone else pushed): the same fallback.
    assert pushed_ranges(root, f"refs/heads/main {third} refs/heads/main {'ab' * 20}\n", "origin") == [f"{first}..{third}"]
    # A deletion sends nothing; nothing new sends nothing; blank lines are ignored.
    assert pushed_ranges(root, f"(delete) {ZERO} refs/heads/old {second}\n\n") == []
    assert pushed_ranges(root, f"refs/heads/again {first} refs/heads/again {ZERO}\n", "origin") == []
    # The first push of a history: from the empty tree, so the first commit is reviewed too.
    assert pushed_ranges(root, f"refs/heads/main {third} refs/heads/main {ZERO}\n", "nowhere") == [f"{EMPTY_TREE}..{third}"]
    with pytest.raises(ReviewError, match="unexpected pre-push input"):
        pushed_ranges(root, "refs/heads/main nonsense\n")


@pytest.mark.model
def test_the_real_hook_blocks_a_pushed_key_but_not_an_unpushed_one(repo, tmp_path) -> None:
    """The installed hook runs the real ``lfcode review`` on what is pushed: a committed key
    blocks the push; the same key left uncommitted in the working tree does not."""
    env = {**os.environ, "LFCODE_REVIEW_ANALYZERS": "secrets"}
    subprocess.run([sys.executable, "-m", "lfcode", "review", "--install-hook"], cwd=repo.working_tree_dir, env=env, check=True, capture_output=True)
    hook = hook_path(repo.working_tree_dir)
    hook.write_text(hook.read_text().replace("if command -v lfcode", "if false"))  # this interpreter's lfcode
    assert subprocess.run(["git", "push", "origin", "main"], cwd=repo.working_tree_dir, env=env, capture_output=True).returncode == 0
    key = "AKIA" + "Q7RZ2M5XKT4WPL3N"
    commit(repo, {"a.py": "a = 5\n"}, "harmless")
    write(repo, {"notes.py": f'KEY = "{key}"\n'})  # not committed: not part of the push
    ok = subprocess.run(["git", "push", "origin", "main"], cwd=repo.working_tree_dir, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    (Path(repo.working_tree_dir) / "notes.py").unlink()
    commit(repo, {"settings.py": f'AWS_ACCESS_KEY_ID = "{key}"\n'}, "oops")
    blocked = subprocess.run(["git", "push", "origin", "main"], cwd=repo.working_tree_dir, env=env, capture_output=True, text=True)
    assert blocked.returncode != 0
    assert "settings.py" in blocked.stdout + blocked.stderr and key not in blocked.stdout + blocked.stderr
