"""Choosing the diff to review, through GitPython, and splitting it into hunks.

What is compared (``DiffSpec``):

* default: what a push would send plus local work — ``merge-base(HEAD, @{upstream})`` against the
  working tree, so unpushed commits, staged and unstaged changes all count. Without an upstream
  (or on a detached HEAD) the base is ``HEAD``; in a repository without commits it is the empty
  tree. New *untracked* files (not ignored by ``.gitignore``) are included as added files,
  because a new file that is about to be ``git add``-ed is exactly what a reviewer wants to see;
  set ``include_untracked=False`` to leave them out.
* ``staged=True``: the index against ``HEAD`` (against the empty tree before the first commit).
* ``range="A..B"``: commit ``A`` against commit ``B``; ``"A...B"``: ``merge-base(A, B)`` against
  ``B``; an empty side means ``HEAD``; a single revision ``"A"`` means ``A..HEAD``; ``A`` may be
  the empty tree's id (:data:`EMPTY_TREE`), for a history reviewed from its first commit.
* ``base="BRANCH"``: like the default with ``BRANCH`` in place of the upstream.

Reading is strictly read-only: every git call runs with ``GIT_OPTIONAL_LOCKS=0`` (so ``git diff``
never refreshes ``.git/index``), ``core.fsmonitor=false``, ``--no-ext-diff`` and
``--no-textconv`` (no configured program is run). Unified diff text (``git diff -p``, as
GitPython returns it with ``create_patch=True``) is parsed here into :class:`Hunk` objects.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath
from typing import Literal

import git
from pydantic import BaseModel, Field

from lfcode.errors import LfcodeError
from lfcode.review.hunks import Hunk, parse_hunks

__all__ = ["DEFAULT_EXCLUDES", "EMPTY_TREE", "DiffResult", "DiffSpec", "FileDiff", "Hunk", "ReviewError",
           "collect_diff", "is_excluded", "open_repo", "parse_hunks"]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SUBMODULE_MODE = 0o160000
_SYMLINK_MODE = 0o120000
_SAFE_ENV = {  # no optional locks (no index refresh), no fsmonitor program, a/ b/ prefixes
    "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": "false",
    "GIT_CONFIG_KEY_1": "diff.noprefix", "GIT_CONFIG_VALUE_1": "false",
}

#: Generated, lock and vendored files skipped by default (see :func:`is_excluded` for matching).
DEFAULT_EXCLUDES: tuple[str, ...] = (
    "*.lock", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum",
    "vendor/**", "node_modules/**", "dist/**",
    "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go",
)


class ReviewError(LfcodeError):
    """A usage or git problem that stops a review; the message is printed as is (CLI exit 2)."""


class DiffSpec(BaseModel):
    """Which changes to review (see the module docstring for each mode).

    ``paths`` are pathspecs relative to the directory given to :func:`collect_diff` (absolute
    paths are accepted); ``exclude`` are glob patterns (:func:`is_excluded`); ``context_lines`` is
    ``git diff -U``; files whose diff has more than ``max_changed_lines`` added+removed lines, and
    untracked files over ``max_file_bytes`` bytes, are skipped with a note.
    """

    staged: bool = False
    range: str | None = None
    base: str | None = None
    paths: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    include_untracked: bool = True
    context_lines: int = Field(default=3, ge=0, le=50)
    max_changed_lines: int = Field(default=2000, ge=1)
    max_file_bytes: int = Field(default=1_000_000, ge=1)


FileStatus = Literal["added", "modified", "deleted", "renamed"]


class FileDiff(BaseModel):
    """The changes to one file.

    ``path`` is repo-relative with forward slashes (the old path for a deleted file);
    ``old_path`` is set for renames; ``skipped`` files have no hunks and a ``note`` saying why
    (binary, submodule, excluded pattern, too large); other files may carry an informational note
    (``untracked file``, ``mode change only``).
    """

    path: str
    old_path: str | None = None
    status: FileStatus
    hunks: list[Hunk] = Field(default_factory=list)
    note: str | None = None
    skipped: bool = False


class DiffResult(BaseModel):
    """Everything :func:`collect_diff` found.

    ``root`` is the absolute working-tree path; ``target`` names where the new side of the diff
    lives: ``"worktree"``, ``"index"`` or a 40-hex commit id; ``base`` the 40-hex commit of the
    old side (``None``: the empty tree); both are read by :mod:`lfcode.review.sources`.
    ``description`` is a one-line human summary of what was compared.
    """

    root: str
    target: str
    description: str
    base: str | None = None
    files: list[FileDiff] = Field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """``"path: note"`` for every skipped file."""
        return [f"{f.path}: {f.note}" for f in self.files if f.skipped and f.note]


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """Open the repository containing ``path`` with read-only-safe git settings.

    Raises:
        ReviewError: ``path`` does not exist, is not inside a git working tree, the repository
            is bare, or git is not installed.
    """
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except git.NoSuchPathError as exc:
        raise ReviewError(f"no such directory: {path}") from exc
    except git.InvalidGitRepositoryError as exc:
        raise ReviewError(f"not a git repository (or any parent up to /): {path}") from exc
    except git.GitCommandNotFound as exc:  # pragma: no cover - depends on the machine
        raise ReviewError("git is not installed or not on PATH") from exc
    if repo.bare or repo.working_tree_dir is None:
        repo.close()
        raise ReviewError(f"{path} is a bare repository: there is no working tree to review")
    repo.git.update_environment(**_SAFE_ENV)
    return repo


def is_excluded(path: str, patterns: list[str] | tuple[str, ...]) -> str | None:
    """Return the first pattern matching repo-relative ``path``, or ``None``.

    A pattern without ``/`` matches the file name anywhere (``*.lock``); a pattern with ``/``
    matches the path from any directory boundary (``vendor/**`` matches ``a/vendor/x.go``), or
    from the root only when it starts with ``/``; ``name/`` matches any directory of that name.
    ``**`` and ``*`` both cross directories.
    """
    posix = PurePosixPath(path)
    parts = posix.parts
    for pattern in patterns:
        pat = pattern.strip()
        if not pat:
            continue
        if "/" not in pat:
            if fnmatch.fnmatchcase(posix.name, pat):
                return pattern
            continue
        if pat.endswith("/") and "/" not in pat[:-1]:
            if any(fnmatch.fnmatchcase(part, pat[:-1]) for part in parts[:-1]):
                return pattern
            continue
        glob = pat.replace("**", "*")
        anchored = glob.startswith("/")
        glob = glob.lstrip("/")
        starts = [0] if anchored else range(len(parts))
        if any(fnmatch.fnmatchcase("/".join(parts[i:]), glob) for i in starts):
            return pattern
    return None


def _rev(repo: git.Repo, rev: str) -> git.Commit:
    try:
        return repo.commit(rev)
    except (git.BadName, git.BadObject, ValueError, git.GitCommandError) as exc:
        hint = "" if repo.head.is_valid() else " (HEAD has no commits yet)"
        raise ReviewError(f"unknown revision: {rev!r}{hint}") from exc


def _merge_base(repo: git.Repo, a: git.Commit, b: git.Commit) -> git.Commit | None:
    try:
        bases = repo.merge_base(a, b)
    except git.GitCommandError:
        return None
    return bases[0] if bases else None


def _upstream(repo: git.Repo) -> tuple[str, git.Commit] | None:
    if repo.head.is_detached:
        return None
    try:
        name = repo.git.rev_parse("--abbrev-ref", "--symbolic-full-name", "@{upstream}")
        return name, repo.commit(repo.git.rev_parse("--verify", "@{upstream}^{commit}"))
    except (git.GitCommandError, ValueError, git.BadName):
        return None


def _resolve(repo: git.Repo, spec: DiffSpec) -> tuple[object, object, str, bool]:
    """Return ``(old side, new side, description, include untracked)`` for GitPython's diff."""
    chosen = [name for name, on in (("--staged", spec.staged), ("--range", spec.range),
                                    ("--base", spec.base)) if on]
    if len(chosen) > 1:
        raise ReviewError(f"choose one of {', '.join(chosen)}")
    has_head = repo.head.is_valid()
    empty = repo.tree(EMPTY_TREE)
    if spec.range:
        sym = "..." if "..." in spec.range else ".."
        left, _, right = spec.range.partition(sym) if sym in spec.range else (spec.range, "", "")
        # The empty tree as the old side: a push of a history with no commit on the remote.
        a = empty if left == EMPTY_TREE and sym == ".." else _rev(repo, left or "HEAD")
        b = _rev(repo, right or "HEAD")
        if sym == "...":
            base = _merge_base(repo, a, b)
            if base is None:
                raise ReviewError(f"{left} and {right} have no common ancestor")
            a = base
        return a, b, f"{a.hexsha[:10]}..{b.hexsha[:10]} ({spec.range})", False
    if spec.staged:
        old = repo.head.commit if has_head else empty
        return old, git.Diffable.INDEX, "staged changes (index against HEAD)", False
    untracked = spec.include_untracked
    extra = ", uncommitted and untracked files" if untracked else " and uncommitted changes"
    if spec.base:
        target = _rev(repo, spec.base)
        if not has_head:
            return target, None, f"working tree against {spec.base}", untracked
        base = _merge_base(repo, repo.head.commit, target)
        if base is None:
            raise ReviewError(f"HEAD and {spec.base} have no common ancestor")
        return base, None, f"changes since merge-base with {spec.base} ({base.hexsha[:10]}){extra}", untracked
    if not has_head:
        return empty, None, "everything in the working tree (no commits yet)", untracked
    up = _upstream(repo)
    if up is not None:
        base = _merge_base(repo, repo.head.commit, up[1])
        if base is not None:
            return base, None, f"unpushed commits since {up[0]} ({base.hexsha[:10]}){extra}", untracked
    where = "detached HEAD" if repo.head.is_detached else "HEAD (no upstream)"
    return repo.head.commit, None, f"changes against {where}{extra}", untracked


def _pathspecs(repo: git.Repo, start: Path, paths: list[str]) -> list[str]:
    root = Path(repo.working_tree_dir).resolve()
    specs = []
    for p in paths:
        full = (start / p).resolve() if not os.path.isabs(p) else Path(p).resolve()
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError as exc:
            raise ReviewError(f"path {p!r} is outside the repository {root}") from exc
        specs.append(rel if rel != "." else ".")
    return specs


def _skip_reason(path: str, spec: DiffSpec, generated: set[str]) -> str | None:
    pattern = is_excluded(path, spec.exclude)
    if pattern is not None:
        return f"generated, lock or vendored file (matches {pattern!r}): skipped"
    if path in generated:
        return "marked linguist-generated/vendored in .gitattributes: skipped"
    return None


def _limit(fd: FileDiff, spec: DiffSpec) -> FileDiff:
    changed = sum(1 for h in fd.hunks for line in h.lines if line[:1] in "+-")
    if changed > spec.max_changed_lines:
        fd.hunks, fd.skipped = [], True
        fd.note = f"too large: {changed} changed lines (limit {spec.max_changed_lines}): skipped"
    return fd


def _file_from_diff(d: git.Diff, spec: DiffSpec, generated: set[str]) -> FileDiff:
    if d.deleted_file:
        status, path, old = "deleted", d.a_path, None
    elif d.new_file:
        status, path, old = "added", d.b_path, None
    elif d.renamed_file:
        status, path, old = "renamed", d.rename_to, d.rename_from
    else:
        status, path, old = "modified", d.b_path or d.a_path, None
    fd = FileDiff(path=str(path), old_path=old, status=status)
    raw = d.diff if isinstance(d.diff, bytes) else str(d.diff or "").encode("utf-8", "replace")
    if _SUBMODULE_MODE in (d.a_mode, d.b_mode):
        fd.note = "submodule: skipped"
    elif _SYMLINK_MODE in (d.a_mode, d.b_mode):
        fd.note = "symbolic link: skipped"
    elif raw.startswith(b"Binary files") or b"GIT binary patch" in raw[:200]:
        fd.note = "binary file: skipped"
    fd.note = _skip_reason(fd.path, spec, generated) or fd.note
    if fd.note:
        fd.skipped = True
        return fd
    fd.hunks = parse_hunks(fd.path, raw.decode("utf-8", errors="replace"))
    if not fd.hunks:
        fd.note = "renamed without changes" if status == "renamed" else "mode change only"
    return _limit(fd, spec)


def _untracked(repo: git.Repo, names: list[str], spec: DiffSpec, generated: set[str]) -> list[FileDiff]:
    """Untracked files (``git ls-files --others --exclude-standard``) as whole-file additions."""
    files = []
    for name in names:
        fd = FileDiff(path=name.rstrip("/"), status="added", note="untracked file")
        full = Path(repo.working_tree_dir) / fd.path
        if name.endswith("/"):
            fd.note = "nested git repository (untracked): skipped"
        elif full.is_symlink():
            fd.note = "symbolic link (untracked): skipped"
        else:
            fd.note = _skip_reason(fd.path, spec, generated) or fd.note
        try:
            if fd.note == "untracked file" and full.stat().st_size > spec.max_file_bytes:
                fd.note = f"too large: over {spec.max_file_bytes} bytes: skipped"
            elif fd.note == "untracked file":
                data = full.read_bytes()
                if b"\0" in data[:8000]:
                    fd.note = "binary file: skipped"
                else:
                    fd.hunks = _whole_file_hunks(fd.path, data)
        except OSError as exc:
            fd.note = f"unreadable ({exc.strerror}): skipped"
        fd.skipped = fd.note != "untracked file"
        files.append(_limit(fd, spec))
    return files


def _whole_file_hunks(path: str, data: bytes) -> list[Hunk]:
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return []
    body = "".join(f"+{line.rstrip(chr(13))}\n" for line in lines)
    return parse_hunks(path, f"@@ -0,0 +1,{len(lines)} @@\n{body}")


def _generated_by_attributes(repo: git.Repo, paths: list[str]) -> set[str]:
    """Paths marked ``linguist-generated`` or ``linguist-vendored`` in ``.gitattributes``."""
    if not paths:
        return set()
    try:
        out = repo.git.check_attr("-z", "linguist-generated", "linguist-vendored", "--", *paths)
    except git.GitCommandError:
        return set()
    fields = out.split("\0")
    marked = set()
    for i in range(0, len(fields) - 2, 3):
        if fields[i + 2] in ("set", "true"):
            marked.add(fields[i])
    return marked


def collect_diff(repo_path: str | os.PathLike[str], spec: DiffSpec | None = None) -> DiffResult:
    """Collect the changes selected by ``spec`` in the repository containing ``repo_path``.

    Returns:
        A :class:`DiffResult` with one :class:`FileDiff` per changed file, sorted by path.

    Raises:
        ReviewError: not a git repository, unknown revision, conflicting options, a path outside
            the repository, or a git failure (its stderr is included).
    """
    spec = spec or DiffSpec()
    repo = open_repo(repo_path)
    try:
        start = Path(repo_path).resolve()
        start = start if start.is_dir() else start.parent
        specs = _pathspecs(repo, start, spec.paths)
        old, new, description, with_untracked = _resolve(repo, spec)
        try:
            diffs = old.diff(
                new, paths=specs or None, create_patch=True, no_textconv=True,
                unified=spec.context_lines,
            )
            names = [str(d.b_path or d.a_path) for d in diffs]
            untracked: list[str] = []
            if with_untracked:
                raw = repo.git.ls_files("--others", "--exclude-standard", "-z", "--", *specs)
                untracked = [p for p in raw.split("\0") if p]
            generated = _generated_by_attributes(
                repo, names + [p for p in untracked if not p.endswith("/")])
            files = [_file_from_diff(d, spec, generated) for d in diffs]
            files.extend(_untracked(repo, untracked, spec, generated))
        except git.GitCommandError as exc:
            raise ReviewError(f"git failed: {exc.stderr.strip() or exc}") from exc
        target = "worktree" if new is None else "index" if new is git.Diffable.INDEX else new.hexsha
        files.sort(key=lambda f: f.path)
        base = getattr(old, "hexsha", None) if isinstance(old, git.Commit) else None
        return DiffResult(root=str(repo.working_tree_dir), target=target, base=base,
                          description=description, files=files)
    finally:
        repo.close()
