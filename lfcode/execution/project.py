"""The temporary project copy that sandboxed runs work in, and the interpreter that runs them.

Shared by :mod:`lfcode.execution.engine` (calls against project code) and
:mod:`lfcode.testgen.verify` (generated tests): the copy leaves out version-control folders,
virtual environments, caches, build output and model files (:data:`IGNORED`), copies symbolic
links as links, and refuses projects over a size bound.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from lfcode.errors import LfcodeError

log = logging.getLogger(__name__)

#: Largest project a run copies (files, bytes).
MAX_COPY_FILES = 20_000
MAX_COPY_BYTES = 200 * 1024 * 1024

#: Left out of the copy (``shutil.ignore_patterns`` patterns).
IGNORED = (".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache",
           ".ruff_cache", ".tox", ".nox", "build", "dist", "target", "*.gguf", "*.egg-info")


class ProjectTooLarge(LfcodeError, ValueError):
    """The project has more files or bytes than a run may copy; the message gives the bounds."""


def project_python(root: Path) -> str:
    """The project's virtual-environment interpreter if it has one, else ``sys.executable``."""
    for folder in (".venv", "venv"):
        for candidate in (root / folder / "bin" / "python", root / folder / "Scripts" / "python.exe"):
            if candidate.is_file():
                return str(candidate)
    return sys.executable


def copy_project(root: Path, target: Path, max_files: int, max_bytes: int) -> None:
    """Copy ``root`` to ``target`` without :data:`IGNORED` folders and files; symbolic links are
    copied as links (never followed).

    Raises:
        ProjectTooLarge: more than ``max_files`` files or ``max_bytes`` bytes would be copied.
        OSError: the copy failed.
    """
    ignore = shutil.ignore_patterns(*IGNORED)
    count = size = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ignore(folder, dirs)]
        for name in set(files) - ignore(folder, files):
            count += 1
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
        if count > max_files or size > max_bytes:
            raise ProjectTooLarge(f"the project is too large to copy for a sandboxed run (over {max_files} files or {max_bytes >> 20} MiB)")
    shutil.copytree(root, target, ignore=ignore, symlinks=True)


def write_inside(work: Path, relative: Path, text: str) -> bool:
    """Write ``text`` to ``relative`` inside the copy ``work`` (a symbolic link there is replaced,
    never followed); ``False``, and nothing written, when the file's folder resolves outside the
    copy (a symbolic link out of the project)."""
    target = work / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    if not target.parent.resolve().is_relative_to(work.resolve()):
        return False
    target.write_text(text, encoding="utf-8")
    return True


def remove_tree(path: Path) -> None:
    """Delete a temporary folder completely, even where the run removed write permission
    (only folders are made writable again; links are never followed)."""

    def retry(func, target, _info) -> None:
        try:
            os.chmod(os.path.dirname(target), 0o700)
            func(target)
        except OSError as exc:
            log.warning("cannot remove %s: %s", target, exc)

    shutil.rmtree(path, onerror=retry)
