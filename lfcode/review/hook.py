"""Install and remove the ``pre-push`` git hook that runs ``lfcode review --fail-on error``.

The hook lives in the hooks directory git uses (``core.hooksPath`` when set, relative paths
being taken from the working-tree root as git does, else ``$GIT_DIR/hooks``; see githooks(5)).
It is recognised by its :data:`MARKER` comment line. A different existing ``pre-push`` hook is
never lost: by default it is renamed to ``pre-push.lfcode-chained`` and run first by the lfcode
hook, with the same arguments and standard input (githooks(5): ``<local ref> <local sha1>
<remote ref> <remote sha1>`` lines), and its non-zero exit code stops the push.
:func:`uninstall_hook` puts it back. ``git push --no-verify`` skips both, as for any hook.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import git

from lfcode.review.diff import ReviewError, open_repo

__all__ = ["CHAINED_NAME", "HOOK_NAME", "MARKER", "hook_path", "install_hook", "uninstall_hook"]

HOOK_NAME = "pre-push"
CHAINED_NAME = "pre-push.lfcode-chained"
BACKUP_NAME = "pre-push.lfcode-backup"
MARKER = "# lfcode-pre-push-hook v1"
DEFAULT_ARGS = "review --fail-on error"

_SCRIPT = """#!/bin/sh
{marker}
# Installed by `lfcode review --install-hook`; remove with `lfcode review --uninstall-hook`.
# Runs a local lfcode review before every push; `git push --no-verify` skips it.
hook_dir=$(dirname "$0")
chained="$hook_dir/{chained}"
if [ -f "$chained" ]; then
    input=$(cat)
    if [ -n "$input" ]; then printf '%s\\n' "$input"; fi | "$chained" "$@"
    status=$?
    if [ "$status" -ne 0 ]; then
        exit "$status"
    fi
fi
if command -v lfcode >/dev/null 2>&1; then
    exec lfcode {args} </dev/null
fi
exec {python} -m lfcode {args} </dev/null
"""


def _is_ours(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return MARKER.encode() in head


def hook_path(repo_path: str | os.PathLike[str]) -> Path:
    """The ``pre-push`` path git would run for the repository containing ``repo_path``.

    Raises:
        ReviewError: not a git repository (see :func:`lfcode.review.diff.open_repo`).
    """
    repo = open_repo(repo_path)
    try:
        try:
            configured = repo.config_reader().get_value("core", "hooksPath", "")
        except (git.exc.GitError, ValueError):  # pragma: no cover - unreadable config
            configured = ""
        if configured:
            hooks = Path(os.path.expanduser(str(configured)))
            if not hooks.is_absolute():
                hooks = Path(repo.working_tree_dir) / hooks
        else:
            hooks = Path(repo.git_dir) / "hooks"
        return hooks / HOOK_NAME
    finally:
        repo.close()


def _write_hook(path: Path, args: str) -> None:
    python = shlex.quote(sys.executable or "python3")
    text = _SCRIPT.format(marker=MARKER, chained=CHAINED_NAME, args=args, python=python)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".lfcode-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
    os.replace(tmp, path)


def install_hook(
    repo_path: str | os.PathLike[str], force: bool = False, *, chain: bool = True,
    args: str = DEFAULT_ARGS,
) -> str:
    """Install the lfcode ``pre-push`` hook.

    Args:
        repo_path: a directory inside the repository.
        force: with ``chain`` off, replace a different hook (kept as ``pre-push.lfcode-backup``);
            with ``chain`` on, overwrite a stale ``pre-push.lfcode-chained``.
        chain: keep a different existing hook by renaming it to ``pre-push.lfcode-chained`` and
            running it first; when off, refuse (unless ``force``).
        args: the lfcode arguments the hook runs (default ``review --fail-on error``).

    Returns:
        A one-line message saying what was done.

    Raises:
        ReviewError: not a repository, or a different hook exists and cannot be kept without
            ``force``.
    """
    path = hook_path(repo_path)
    chained = path.with_name(CHAINED_NAME)
    if path.is_symlink() or path.exists():
        if _is_ours(path):
            _write_hook(path, args)
            return f"updated the lfcode pre-push hook at {path}"
        if not chain:
            if not force:
                raise ReviewError(f"a different pre-push hook exists at {path}; "
                                  "use --force to replace it (it is kept as "
                                  f"{BACKUP_NAME})")
            os.replace(path, path.with_name(BACKUP_NAME))
            _write_hook(path, args)
            return f"replaced the pre-push hook at {path} (old one kept as {BACKUP_NAME})"
        if chained.exists() and not force:
            raise ReviewError(f"cannot chain onto the existing pre-push hook: {chained} already "
                              "exists; move it away or use --force to overwrite it")
        os.replace(path, chained)
        _write_hook(path, args)
        return f"installed the lfcode pre-push hook at {path}; it runs the existing hook first ({chained.name})"
    _write_hook(path, args)
    return f"installed the lfcode pre-push hook at {path}"


def uninstall_hook(repo_path: str | os.PathLike[str]) -> str:
    """Remove the lfcode ``pre-push`` hook and restore a chained one.

    Returns:
        A one-line message saying what was done (also when there was nothing to remove).

    Raises:
        ReviewError: not a repository, or the ``pre-push`` hook there is not lfcode's (it is
            left alone).
    """
    path = hook_path(repo_path)
    chained = path.with_name(CHAINED_NAME)
    if not (path.is_symlink() or path.exists()):
        return f"no pre-push hook at {path}: nothing to remove"
    if not _is_ours(path):
        raise ReviewError(f"the pre-push hook at {path} was not installed by lfcode; left alone")
    path.unlink()
    if chained.is_symlink() or chained.exists():
        os.replace(chained, path)
        return f"removed the lfcode pre-push hook; restored the previous hook at {path}"
    return f"removed the lfcode pre-push hook at {path}"
