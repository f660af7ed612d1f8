"""The two sides of a reviewed file: its text before and after the change.

Read-only: the working tree is read from disk, everything else with ``git cat-file`` (the stored
bytes; no textconv or filter program runs). Bytes are decoded as UTF-8 with replacement
characters.
"""

from __future__ import annotations

import ast
from pathlib import Path

import git

from lfcode.review.diff import DiffResult, FileDiff, ReviewError, open_repo

__all__ = ["read_new_source", "read_old_source", "syntax_unchanged"]


def _blob(root: str, rev: str) -> bytes | None:
    try:
        repo = open_repo(root)
    except ReviewError:
        return None
    try:
        return repo.git.cat_file("blob", rev, stdout_as_string=False, strip_newline_in_stdout=False)
    except (git.GitCommandError, ValueError):
        return None
    finally:
        repo.close()


def read_new_source(result: DiffResult, path: str) -> str | None:
    """The new-side text of repo-relative ``path`` (working tree, index or commit), or ``None``
    when it cannot be read."""
    if result.target == "worktree":
        try:
            data: bytes | None = (Path(result.root) / path).read_bytes()
        except OSError:
            return None
    else:
        data = _blob(result.root, f":{path}" if result.target == "index" else f"{result.target}:{path}")
    return None if data is None else data.decode("utf-8", errors="replace")


def read_old_source(result: DiffResult, file: FileDiff) -> str | None:
    """The old-side text of ``file`` (its ``old_path`` for a rename) at ``result.base``, or
    ``None`` for an added file, a diff against the empty tree, or an unreadable blob."""
    if result.base is None or file.status == "added":
        return None
    data = _blob(result.root, f"{result.base}:{file.old_path or file.path}")
    return None if data is None else data.decode("utf-8", errors="replace")


def syntax_unchanged(result: DiffResult, file: FileDiff) -> bool:
    """True when ``file`` is Python and both sides parse to the same syntax tree (positions,
    comments and formatting do not count; a docstring does): the change cannot alter what the
    code does. False when either side is missing, unreadable, or does not parse."""
    if not file.path.endswith((".py", ".pyi")):
        return False
    old, new = read_old_source(result, file), read_new_source(result, file.path)
    if old is None or new is None:
        return False
    try:
        return ast.dump(ast.parse(old)) == ast.dump(ast.parse(new))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
