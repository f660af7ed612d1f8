"""ruff on the changed Python files: the review's deterministic Python analyzer.

Each changed ``.py``/``.pyi`` file is checked twice with ``ruff check`` on standard input (the new
side and, when there is one, the old side, both under the file's own path so that configuration
discovery applies), with ``--no-fix --no-cache`` and ``--force-exclude``: ruff neither writes nor
changes anything, and the project's excludes are honoured. With the project's own ruff
configuration (a ``ruff.toml``, ``.ruff.toml`` or a ``pyproject.toml`` with ``[tool.ruff]``
between the file and the repository root) its rule selection is used; otherwise ``--isolated``
with :data:`CURATED`, a bug-focused set: pyflakes, bugbear, the pylint errors, syntax errors and a
few security rules.

Only what the change adds is reported (a "new issues" baseline, as code-scanning services do):
a finding must be on an added line, and for each ``(rule, message)`` pair at most as many are
kept as the new side has more than the old side, so reformatting or moving code that already had
a finding reports nothing. Severity follows the rule's kind (:func:`severity_of`).
Ruff's configuration cannot run code, so a repository's own file is safe to honour here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from lfcode.errors import raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.diff import ReviewError
from lfcode.review.findings import Evidence, Finding
from lfcode.review.result import ReviewOptions
from lfcode.review.sources import read_new_source, read_old_source

__all__ = ["CURATED", "RUFF", "RuffAnalyzer", "find_ruff", "has_project_config", "severity_of"]

#: Rules checked when the project has no ruff configuration of its own.
CURATED = ("F", "E9", "B", "PLE", "S102", "S301", "S307", "S501", "S506", "S602", "S608")
#: Seconds one ruff run may take.
TIMEOUT_S = 30.0
_ERRORS = ("F821", "F822", "F823", "F632", "F701", "F702", "F704", "F706", "F707", "E9", "PLE", "syntax-error")
_WARNINGS = ("F", "B", "S", "PLW", "ASYNC", "RUF006")
_SUFFIXES = (".py", ".pyi")


def find_ruff() -> str:
    """The ruff executable: the ``ruff`` package's binary, else ``ruff`` on ``PATH``.

    Raises:
        ReviewError: ruff is not installed.
    """
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("ruff")
        if found:
            return found
    raise ReviewError("ruff is not installed (pip install ruff)")


def has_project_config(root: Path, path: str) -> bool:
    """True when a ruff configuration applies to repo-relative ``path``: a ``ruff.toml``,
    ``.ruff.toml`` or ``pyproject.toml`` with a ``[tool.ruff`` table in its folder or a parent,
    up to ``root``."""
    folder = (root / path).parent
    while True:
        if (folder / "ruff.toml").is_file() or (folder / ".ruff.toml").is_file():
            return True
        pyproject = folder / "pyproject.toml"
        try:
            if pyproject.is_file() and "[tool.ruff" in pyproject.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            pass
        if folder == root or root not in folder.parents:
            return False
        folder = folder.parent


def severity_of(code: str) -> tuple[str, str]:
    """``(severity, category)`` of a ruff rule ``code``: crashes-to-be (undefined names, syntax
    and pylint errors) are ``error``/bug; other pyflakes, bugbear and pylint-warning rules
    ``warning``/bug; ``S`` (bandit) rules ``warning``/security; ``PERF`` info/performance;
    everything else (style) ``info``/style."""
    if code.startswith(_ERRORS):
        return "error", "bug"
    if code.startswith("S"):
        return "warning", "security"
    if code.startswith(_WARNINGS):
        return "warning", "bug"
    if code.startswith("PERF"):
        return "info", "performance"
    return "info", "style"


def _run(ruff: str, root: Path, path: str, text: str, isolated: bool) -> list[dict]:
    args = [ruff, "check", "--no-fix", "--no-cache", "--exit-zero", "--force-exclude", "--output-format", "json",
            "--stdin-filename", str(root / path)]
    if isolated:
        args += ["--isolated", "--select", ",".join(CURATED)]
    try:
        run = subprocess.run([*args, "-"], input=text.encode("utf-8"), cwd=root, capture_output=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReviewError(f"ruff failed on {path}: {exc}") from exc
    if run.returncode != 0:
        raise ReviewError(f"ruff failed on {path}: {run.stderr.decode('utf-8', 'replace').strip()[:300]}")
    try:
        items = json.loads(run.stdout or b"[]")
    except ValueError as exc:
        raise ReviewError(f"ruff gave unreadable output on {path}") from exc
    return [i for i in items if isinstance(i, dict)]


def _key(item: dict) -> tuple[str, str]:
    return str(item.get("code") or "syntax-error"), str(item.get("message") or "")


class RuffAnalyzer:
    """ruff as a review analyzer (id ``ruff``; see the module docstring). Stateless."""

    id = "ruff"
    name = "ruff"
    description = "Runs ruff on each changed Python file and reports what the change adds, on added lines."
    rules: tuple[Rule, ...] = (
        Rule("ruff/F821", "undefined-name", "A name that is used but never defined (a NameError when the line runs).", "error", "bug"),
        Rule("ruff/F841", "unused-variable", "A local variable that is assigned but never used.", "warning", "bug"),
        Rule("ruff/syntax-error", "syntax-error", "The file does not parse.", "error", "bug"),
    )
    required = False

    def check(self, options: ReviewOptions) -> None:
        """Nothing to check before the diff (ruff is looked for when there is Python to check)."""

    def analyze(self, context: DiffContext) -> Analysis:
        """Check every changed Python file (see the module docstring).

        Raises:
            ReviewError: ruff is missing, fails or times out (the review goes on without it).
            lfcode.errors.Cancelled: ``context.cancel`` was set.
        """
        result = Analysis()
        root = Path(context.diff.root)
        files = context.files(_SUFFIXES)
        if not files:
            return result
        ruff = find_ruff()
        for file in files:
            raise_if_cancelled(context.cancel, "review cancelled during ruff")
            new = read_new_source(context.diff, file.path)
            if new is None:
                result.notes.append(f"{file.path}: unreadable, not checked by ruff")
                continue
            isolated = not has_project_config(root, file.path)
            old = read_old_source(context.diff, file)
            before = Counter(_key(i) for i in _run(ruff, root, file.path, old, isolated)) if old else Counter()
            items = _run(ruff, root, file.path, new, isolated)
            after = Counter(_key(i) for i in items)
            added = {n for h in file.hunks for n in h.added_lines}
            budget = {key: after[key] - before[key] for key in after}
            for item in items:
                key = _key(item)
                line = int((item.get("location") or {}).get("row") or 0)
                if line not in added or budget[key] <= 0:
                    continue
                budget[key] -= 1
                result.findings.append(_finding(file.path, item, line))
            result.paths.append(file.path)
            result.hunks_reviewed += len(file.hunks)
        return result


def _finding(path: str, item: dict, line: int) -> Finding:
    code, message = _key(item)
    name = str(item.get("name") or code)
    severity, category = severity_of(code)
    end = int((item.get("end_location") or {}).get("row") or line)
    return Finding(
        path=path, line=line, end_line=max(end, line), severity=severity, category=category,
        message=message or name, analyzer="ruff", rule=f"ruff/{code}",
        evidence=Evidence(kind="tool", tool="ruff", rule=code, text=f"ruff {code} ({name})", line=line),
    )


#: The one ruff analyzer (registered as ``ruff`` in :mod:`lfcode.review.analyzers.registry`).
RUFF = RuffAnalyzer()
