"""Helpers that build throwaway git repositories with GitPython for the review tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import git
import pytest


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config leaks in; commits get a fixed identity."""
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.invalid")


def make_repo(path: Path) -> git.Repo:
    """An empty repository on branch ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    return git.Repo.init(path, initial_branch="main")


def write(repo: git.Repo, files: dict[str, str | bytes]) -> None:
    """Write files (text or bytes) into the working tree, creating folders."""
    root = Path(repo.working_tree_dir)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def commit(repo: git.Repo, files: dict[str, str | bytes] | None = None, message: str = "change") -> git.Commit:
    """Write ``files``, stage everything and commit; returns the new commit."""
    write(repo, files or {})
    repo.git.add("-A")
    repo.git.commit("-m", message, "--allow-empty")
    return repo.head.commit


def numbered(n: int, fmt: str = "line {}") -> str:
    """``n`` lines ``line 1`` ... ``line n``, newline-terminated."""
    return "".join(fmt.format(i) + "\n" for i in range(1, n + 1))


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (``.git`` included), plus HEAD and the ref list."""
    out: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            else:
                st = p.stat()
                out[rel] = f"{hashlib.sha256(p.read_bytes()).hexdigest()} {st.st_mode:o} {st.st_mtime_ns}"
    repo = git.Repo(root)
    try:
        out["<HEAD>"] = repo.git.rev_parse("HEAD") if repo.head.is_valid() else "unborn"
        out["<refs>"] = repo.git.for_each_ref()
    finally:
        repo.close()
    return out
