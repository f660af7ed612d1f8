"""Install and remove the ``pre-push`` git hook that runs ``lfcode review --fail-on error`` on
what is being pushed, and turn the hook's standard input into the ranges to review.

The hook lives in the hooks directory git uses (``core.hooksPath`` when set, relative paths
being taken from the working-tree root as git does, else ``$GIT_DIR/hooks``; see githooks(5)).
It is recognised by its :data:`MARKER` comment line. A different existing ``pre-push`` hook is
never lost: by default it is renamed to ``pre-push.lfcode-chained`` and run first by the lfcode
hook, with the same arguments and standard input (githooks(5): ``<local ref> <local sha1>
<remote ref> <remote sha1>`` lines), and its non-zero exit code stops the push.
:func:`uninstall_hook` puts it back. ``git push --no-verify`` skips both, as for any hook.

The hook passes those lines to ``lfcode review --pre-push REMOTE``, which reviews exactly the
commits being pushed (:func:`pushed_ranges`), not the working tree.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from pathlib import Path

import git

from lfcode.review.diff import EMPTY_TREE, ReviewError, open_repo

__all__ = ["CHAINED_NAME", "HOOK_NAME", "MARKER", "hook_path", "install_hook", "pushed_ranges", "uninstall_hook"]

HOOK_NAME = "pre-push"
CHAINED_NAME = "pre-push.lfcode-chained"
BACKUP_NAME = "pre-push.lfcode-backup"
MARKER = "# lfcode-pre-push-hook v2"
#: Any version of the marker: a hook written by an older lfcode is still recognised as ours.
_MARKER_PREFIX = "# lfcode-pre-push-hook v"
DEFAULT_ARGS = "review --fail-on error"
_ZERO = re.compile(r"^0+$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

_SCRIPT = """#!/bin/sh
{marker}
# Installed by `lfcode review --install-hook`; remove with `lfcode review --uninstall-hook`.
# Runs a local lfcode review before every push; `git push --no-verify` skips it.
# git passes "<local ref> <local sha> <remote ref> <remote sha>" lines on stdin: lfcode reviews
# exactly those commits.
hook_dir=$(dirname "$0")
chained="$hook_dir/{chained}"
input=$(cat)
if [ -f "$chained" ]; then
    if [ -n "$input" ]; then printf '%s\\n' "$input"; fi | "$chained" "$@"
    status=$?
    if [ "$status" -ne 0 ]; then
        exit "$status"
    fi
fi
if command -v lfcode >/dev/null 2>&1; then
    printf '%s\\n' "$input" | lfcode {args} --pre-push "$1"
    exit $?
fi
printf '%s\\n' "$input" | {python} -m lfcode {args} --pre-push "$1"
"""


def _is_ours(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return _MARKER_PREFIX.encode() in head


def pushed_ranges(repo_path: str | os.PathLike[str], lines: str, remote: str | None = None) -> list[str]:
    """The revision ranges (``"A..B"``) a push sends, from the ``pre-push`` hook's standard input
    (githooks(5): one ``<local ref> <local sha> <remote ref> <remote sha>`` line per ref).

    A deleted ref (local sha all zeros) sends nothing. An update of a ref the remote has
    (``remote sha`` known here) sends ``remote..local``. A new ref, or a remote sha this
    repository does not have, sends the commits of ``local`` that no ref of ``remote`` (every
    remote when ``None``) has: ``parent-of-the-oldest..local``; a history with no commit on the
    remote is reviewed from the empty tree (:data:`~lfcode.review.diff.EMPTY_TREE`), so its first
    commit is reviewed too. Malformed lines are an error, never silently a clean push.

    Raises:
        ReviewError: not a repository, or a line that is not four fields with hex object ids.
    """
    repo = open_repo(repo_path)
    try:
        ranges: list[str] = []
        for raw in lines.splitlines():
            if not raw.strip():
                continue
            fields = raw.split()
            if len(fields) != 4 or not (_SHA.match(fields[1]) and _SHA.match(fields[3])):
                raise ReviewError(f"unexpected pre-push input line: {raw[:200]!r}")
            local, theirs = fields[1], fields[3]
            if _ZERO.match(local):
                continue
            if not _ZERO.match(theirs) and _has_commit(repo, theirs):
                ranges.append(f"{theirs}..{local}")
                continue
            scope = f"--remotes={remote}" if remote else "--remotes"
            try:
                new = repo.git.rev_list(local, "--not", scope).split()
            except git.GitCommandError as exc:
                raise ReviewError(f"cannot list the commits being pushed: {exc.stderr.strip() or exc}") from exc
            if not new:
                continue
            oldest = repo.commit(new[-1])
            ranges.append(f"{oldest.parents[0].hexsha if oldest.parents else EMPTY_TREE}..{local}")
        return list(dict.fromkeys(ranges))
    finally:
        repo.close()


def _has_commit(repo: git.Repo, sha: str) -> bool:
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


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
