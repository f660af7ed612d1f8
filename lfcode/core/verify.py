"""Run generated Python tests and keep only the ones that pass.

The project is copied to a temporary folder (hidden folders, virtual environments, caches and
build output left out), the candidate test file is written into the copy, and pytest runs there
in a subprocess:

- with a PEP 578 audit hook that refuses Internet sockets and name resolution (the same guard as
  ``tests/e2e/test_zero_egress.py``), so a generated test cannot reach the network;
- with a per-test alarm (``SIGALRM``, :data:`PER_TEST_SECONDS`) from a small pytest plugin that
  also writes every test's outcome to a JSON report, and an overall timeout;
- with ``-p no:cacheprovider`` and ``PYTHONDONTWRITEBYTECODE=1``; the user's files are only read.

The interpreter is the project's ``.venv``/``venv`` one when present (its dependencies are
there), else the one running lfcode. A generated test is kept when every one of its runs
(parametrized cases included) passed; setup errors, failures, skips and tests that never ran
are dropped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lfcode.core.testgen import GeneratedTests, TestPlan, keep_only

#: Seconds one test may run before it is stopped and counted as failed.
PER_TEST_SECONDS = 10
#: Seconds the whole pytest run may take.
RUN_SECONDS = 120.0
#: Largest project copied for verification: files and bytes.
MAX_COPY_FILES = 20_000
MAX_COPY_BYTES = 200 * 1024 * 1024
IGNORED = (".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", "build", "dist", "target", "*.gguf", "*.egg-info")

GUARD = """
import socket, sys
def _lfcode_guard(event, args):
    inet = event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6)
    if inet or event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        raise PermissionError("lfcode: network access is blocked while verifying tests (" + event + ")")
    if event == "socket.connect" and not isinstance(args[1], (str, bytes)):
        raise PermissionError("lfcode: network access is blocked while verifying tests (connect)")
sys.addaudithook(_lfcode_guard)
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""

PLUGIN = """
import json, os, signal
import pytest

RESULTS = {}
SECONDS = int(os.environ["LFCODE_VERIFY_TEST_SECONDS"])


def _alarm(signum, frame):
    raise TimeoutError(f"test ran longer than {SECONDS} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        if RESULTS.get(report.nodeid) != "failed":
            RESULTS[report.nodeid] = "failed" if report.outcome == "failed" else report.outcome


def pytest_sessionfinish(session):
    with open(os.environ["LFCODE_VERIFY_REPORT"], "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle)
"""


class VerifyError(RuntimeError):
    """The tests could not be run at all (no pytest, project too large, ...); the message says why."""


@dataclass
class VerifyResult:
    """What a run found: ``kept`` and ``dropped`` test names, ``outcomes`` by name (``passed``,
    ``failed``, ``skipped`` or ``not run``), pytest's ``output`` (its last 4000 characters)
    and whether the whole run ``timed_out``."""

    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    output: str = ""
    timed_out: bool = False

    def summary(self) -> str:
        """``"N kept, M dropped"``."""
        return f"{len(self.kept)} kept, {len(self.dropped)} dropped"


def project_python(root: Path) -> str:
    """The project's virtual-environment interpreter if it has one, else ``sys.executable``."""
    for folder in (".venv", "venv"):
        for candidate in (root / folder / "bin" / "python", root / folder / "Scripts" / "python.exe"):
            if candidate.is_file():
                return str(candidate)
    return sys.executable


def copy_project(root: Path, target: Path) -> None:
    """Copy ``root`` to ``target`` without :data:`IGNORED` folders and files.

    Raises:
        VerifyError: the project exceeds :data:`MAX_COPY_FILES` or :data:`MAX_COPY_BYTES`.
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
        if count > MAX_COPY_FILES or size > MAX_COPY_BYTES:
            raise VerifyError(f"the project is too large to copy for verification (over {MAX_COPY_FILES} files or {MAX_COPY_BYTES >> 20} MiB)")
    shutil.copytree(root, target, ignore=ignore, symlinks=True)


def run_tests(
    root: Path,
    test_path: Path,
    test_text: str,
    names: list[str],
    cancel: threading.Event | None = None,
    timeout: float = RUN_SECONDS,
    python: str | None = None,
) -> VerifyResult:
    """Run the tests ``names`` of ``test_text`` (to be the file ``test_path`` inside ``root``)
    in a temporary copy of the project and sort them into kept and dropped.

    Raises:
        VerifyError: ``test_path`` is outside ``root``, the copy failed, or pytest is missing.
        InterruptedError: ``cancel`` was set (the subprocess is killed first).
    """
    try:
        relative = test_path.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise VerifyError(f"{test_path} is outside the project {root}") from exc
    python = python or project_python(root)
    with tempfile.TemporaryDirectory(prefix="lfcode-verify-") as temp:
        work, plugin = Path(temp) / "project", Path(temp) / "plugin"
        try:
            copy_project(root, work)
        except OSError as exc:
            raise VerifyError(f"cannot copy the project for verification: {exc}") from exc
        plugin.mkdir()
        (plugin / "lfcode_verify_plugin.py").write_text(PLUGIN, encoding="utf-8")
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(test_text, encoding="utf-8")
        report = Path(temp) / "report.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LFCODE_", "PYTEST_", "PYTHON"))}
        env.update(
            PYTHONPATH=os.pathsep.join([str(plugin), str(work)]),
            PYTHONDONTWRITEBYTECODE="1",
            LFCODE_VERIFY_REPORT=str(report),
            LFCODE_VERIFY_TEST_SECONDS=str(PER_TEST_SECONDS),
        )
        command = [
            python, "-c", GUARD, "-q", "-p", "no:cacheprovider", "-p", "lfcode_verify_plugin",
            "-o", "addopts=", "--rootdir", str(work), "-k", " or ".join(names), relative.as_posix(),
        ]
        output, timed_out = _run(command, work, env, cancel, timeout)
        if re.search(r"No module named '?pytest'?", output) and not report.exists():
            raise VerifyError(f"pytest is not installed for {python}; the tests were not verified")
        results = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return _sort(names, results, output, timed_out)


def _run(command: list[str], cwd: Path, env: dict[str, str], cancel: threading.Event | None, timeout: float) -> tuple[str, bool]:
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        timed_out = False
        while process.poll() is None:
            if cancel is not None and cancel.is_set():
                _kill(process)
                raise InterruptedError("verification cancelled")
            if time.monotonic() > deadline:
                _kill(process)
                timed_out = True
                break
            time.sleep(0.05)
        sink.seek(0)
        return sink.read().decode("utf-8", errors="replace")[-4000:], timed_out


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _sort(names: list[str], results: dict[str, str], output: str, timed_out: bool) -> VerifyResult:
    result = VerifyResult(output=output, timed_out=timed_out)
    for name in names:
        runs = [outcome for nodeid, outcome in results.items() if re.sub(r"\[.*\]$", "", nodeid).rsplit("::", 1)[-1] == name]
        outcome = "not run" if not runs else ("passed" if all(r == "passed" for r in runs) else next(r for r in runs if r != "passed"))
        result.outcomes[name] = outcome
        (result.kept if outcome == "passed" else result.dropped).append(name)
    return result


def verify_generated(
    plan: TestPlan,
    generated: GeneratedTests,
    cancel: threading.Event | None = None,
    timeout: float = RUN_SECONDS,
) -> tuple[GeneratedTests | None, VerifyResult]:
    """Run ``generated`` (Python: pytest or unittest) and keep its passing tests.

    Returns the reduced tests (``None`` when none passed) and the run's result.

    Raises:
        VerifyError, InterruptedError: as :func:`run_tests`.
    """
    if plan.framework.language != "python":
        raise VerifyError(f"only Python tests are verified, not {plan.framework.name}")
    result = run_tests(plan.root, plan.framework.test_path, generated.result, generated.tests, cancel, timeout)
    return keep_only(plan, generated, result.kept), result
