"""Run generated Python tests and keep only the ones that pass.

The project is copied to a temporary folder (hidden folders, virtual environments, caches and
build output left out; symbolic links copied as links, never followed), the candidate test file
is written into the copy, and pytest runs there inside the OS sandbox of
:mod:`lfcode.execution.sandbox` (bubblewrap): read-only system, private ``$HOME``/``/tmp``, no
network (not even loopback), own PID namespace, an allow-listed environment and resource limits.
Defence in depth on top of it:

- a PEP 578 audit hook refuses Internet sockets and name resolution;
- a per-test alarm (``SIGALRM``, :data:`PER_TEST_SECONDS`) from a small pytest plugin that
  also writes each test's start and outcome to a progress file; lfcode watches that file and
  kills the run when one test exceeds the limit by :data:`GRACE_SECONDS` (a test may ignore the
  alarm), counts that test failed and re-runs the tests not yet run (at most
  :data:`MAX_RESTARTS` times); the whole run has a time limit too;
- ``-p no:cacheprovider`` and ``PYTHONDONTWRITEBYTECODE=1``; the user's files are only read.

Without a working sandbox nothing runs (:class:`SandboxUnavailable`) unless the machine setting
``sandbox = "off"`` opts out, which runs pytest unsandboxed (audit hook, limits and allow-listed
environment only) with a warning.

The interpreter is the project's ``.venv``/``venv`` one when present (its dependencies are
there), else the one running lfcode. A generated test is kept when every one of its runs
(parametrized cases included) passed; setup errors, failures, skips and tests that never ran
are dropped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lfcode.errors import CancelToken, Cancelled, LfcodeError
from lfcode.execution import project
from lfcode.execution import sandbox as sandboxing
from lfcode.testgen.generate import GeneratedTests, TestPlan, keep_only

log = logging.getLogger(__name__)

#: Seconds one test may run before it is stopped and counted as failed.
PER_TEST_SECONDS = 10
#: Seconds past :data:`PER_TEST_SECONDS` before lfcode kills a test that ignores the alarm.
GRACE_SECONDS = 2.0
#: How often the run is restarted after a test had to be killed.
MAX_RESTARTS = 3
#: Seconds the whole pytest run may take.
RUN_SECONDS = 120.0
#: Output of pytest kept, bytes (first and last halves).
OUTPUT_BYTES = 64 * 1024
#: Largest project copied for verification: files and bytes.
MAX_COPY_FILES = project.MAX_COPY_FILES
MAX_COPY_BYTES = project.MAX_COPY_BYTES
#: Largest progress file read back, bytes.
PROGRESS_BYTES = 4 * 1024 * 1024
NOT_RUN_NOTE = "# lfcode: not run — no sandbox ({hint})\n"

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

SECONDS = int(os.environ["LFCODE_VERIFY_TEST_SECONDS"])
_PROGRESS = open(os.environ["LFCODE_VERIFY_PROGRESS"], "a", encoding="utf-8")


def _write(**record):
    _PROGRESS.write(json.dumps(record) + "\\n")
    _PROGRESS.flush()


def _alarm(signum, frame):
    raise TimeoutError(f"test ran longer than {SECONDS} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _write(start=item.nodeid)
    yield
    _write(end=item.nodeid)


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
        _write(report=report.nodeid, outcome=report.outcome)
"""


class VerifyError(LfcodeError, RuntimeError):
    """The tests could not be run at all (no pytest, project too large, ...); the message says why."""


class SandboxUnavailable(VerifyError, sandboxing.SandboxUnavailable):
    """No OS sandbox works here and ``sandbox = "off"`` is not set: nothing was run. The message
    says how to enable one (install bubblewrap)."""


class VerifyCancelled(Cancelled, InterruptedError):
    """The verification was cancelled (the pytest run is killed first). Also an
    ``InterruptedError``, which it was raised as before :class:`~lfcode.errors.Cancelled`."""


@dataclass
class VerifyResult:
    """What a run found: ``kept`` and ``dropped`` test names, ``outcomes`` by name (``passed``,
    ``failed``, ``skipped`` or ``not run``), pytest's ``output`` (its last 4000 characters),
    whether the whole run ``timed_out``, the node ids lfcode had to ``killed`` (over the per-test
    limit), whether the output was truncated and whether it ran ``sandboxed``."""

    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    output: str = ""
    timed_out: bool = False
    killed: list[str] = field(default_factory=list)
    output_truncated: bool = False
    sandboxed: bool = True

    def summary(self) -> str:
        """``"N kept, M dropped"``."""
        return f"{len(self.kept)} kept, {len(self.dropped)} dropped"


project_python = project.project_python


def copy_project(root: Path, target: Path) -> None:
    """Copy ``root`` to ``target`` (:func:`lfcode.execution.project.copy_project`) within
    :data:`MAX_COPY_FILES` / :data:`MAX_COPY_BYTES`.

    Raises:
        VerifyError: the project exceeds those bounds.
    """
    try:
        project.copy_project(root, target, MAX_COPY_FILES, MAX_COPY_BYTES)
    except project.ProjectTooLarge as exc:
        raise VerifyError(str(exc).replace("a sandboxed run", "verification")) from None


def _isolation(mode: str) -> bool:
    """True to run in the OS sandbox; ``False`` for ``mode == "off"`` (with a warning).

    Raises:
        SandboxUnavailable: ``mode`` is ``"required"`` and no sandbox works.
    """
    if mode == "off":
        log.warning('sandbox = "off": generated tests run WITHOUT OS isolation (they can read and change your files)')
        return False
    try:
        sandboxing.check()
    except sandboxing.SandboxUnavailable as exc:
        raise SandboxUnavailable(str(exc)) from None
    return True


class _Progress:
    """Reads the plugin's progress file (JSON lines) and decides when a test overran."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.buffer = path, 0, b""
        self.results: dict[str, str] = {}
        self.current: str | None = None
        self.since = 0.0
        self.stuck: str | None = None
        self.seen = False

    def poll(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode) or self.offset >= PROGRESS_BYTES:
                return
            os.lseek(fd, self.offset, os.SEEK_SET)
            chunk = os.read(fd, PROGRESS_BYTES - self.offset)
        finally:
            os.close(fd)
        self.offset += len(chunk)
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            self.seen = True
            if isinstance(record.get("start"), str):
                self.current, self.since = record["start"], time.monotonic()
            elif isinstance(record.get("end"), str):
                self.current = None
            elif isinstance(record.get("report"), str):
                nodeid, outcome = record["report"], str(record.get("outcome"))
                if self.results.get(nodeid) != "failed":
                    self.results[nodeid] = outcome

    def __call__(self) -> bool:
        """Poll; True (stop the run) when the current test ran past the limit plus grace."""
        self.poll()
        if self.current is not None and time.monotonic() - self.since > PER_TEST_SECONDS + GRACE_SECONDS:
            self.stuck = self.current
            return True
        return False


def run_tests(
    root: Path,
    test_path: Path,
    test_text: str,
    names: list[str],
    cancel: CancelToken | None = None,
    timeout: float = RUN_SECONDS,
    python: str | None = None,
    sandbox: Literal["required", "off"] = "required",
) -> VerifyResult:
    """Run the tests ``names`` of ``test_text`` (to be the file ``test_path`` inside ``root``)
    in a temporary copy of the project, inside the OS sandbox, and sort them into kept and
    dropped. ``timeout`` bounds the whole run (seconds); ``sandbox="off"`` runs unsandboxed.

    Raises:
        SandboxUnavailable: ``sandbox="required"`` and no OS sandbox works (nothing was run).
        VerifyError: ``test_path`` is outside ``root``, the copy failed, or pytest is missing.
        InterruptedError: ``cancel`` was set (the run is killed first).
    """
    try:
        relative = test_path.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise VerifyError(f"{test_path} is outside the project {root}") from exc
    isolate = _isolation(sandbox)
    python = python or project_python(root)
    temp = Path(tempfile.mkdtemp(prefix="lfcode-verify-"))
    try:
        work, plugin, state = temp / "project", temp / "plugin", temp / "state"
        try:
            copy_project(root, work)
            _write_inside(work, relative, test_text)
        except OSError as exc:
            raise VerifyError(f"cannot copy the project for verification: {exc}") from exc
        plugin.mkdir()
        state.mkdir()
        (plugin / "lfcode_verify_plugin.py").write_text(PLUGIN, encoding="utf-8")
        return _run_all(work, plugin, state, relative, python, names, cancel, timeout, isolate)
    finally:
        _remove(temp)


def _write_inside(work: Path, relative: Path, text: str) -> None:
    """Write the test file into the copy, refusing a path that leads out of it (a symlink).

    Raises:
        VerifyError: the test file's place in the copy resolves outside the copy.
    """
    if not project.write_inside(work, relative, text):
        raise VerifyError(f"{relative.parent} is a symbolic link out of the project; the tests were not run")


def _run_all(work: Path, plugin: Path, state: Path, relative: Path, python: str, names: list[str],
             cancel: CancelToken | None, timeout: float, isolate: bool) -> VerifyResult:
    deadline = time.monotonic() + timeout
    results: dict[str, str] = {}
    outputs: list[str] = []
    result = VerifyResult(sandboxed=isolate)
    pythonpath = [str(plugin), str(work)] + ([str(work / "src")] if (work / "src").is_dir() else [])
    env = {
        "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "LFCODE_VERIFY_TEST_SECONDS": str(PER_TEST_SECONDS),
        # Not the execution engine's 0: a test that holds only under one order of a set of strings fails here.
        "PYTHONHASHSEED": "1",
    }
    seen = False
    for attempt in range(MAX_RESTARTS + 1):
        progress = _Progress(state / f"progress-{attempt}.jsonl")
        env["LFCODE_VERIFY_PROGRESS"] = str(progress.path)
        limits = sandboxing.Limits(wall_seconds=max(deadline - time.monotonic(), 0.1), cpu_seconds=int(timeout) + 1, output_bytes=OUTPUT_BYTES)
        box = sandboxing.Sandbox(work, readonly=[*sandboxing.interpreter_paths(python), plugin], writable=[state], env=env, limits=limits, isolate=isolate)
        argv = [python, "-c", GUARD, "-q", "-p", "no:cacheprovider", "-p", "lfcode_verify_plugin", "-o", "addopts=",
                "--rootdir", str(work), "-k", " or ".join(names), *[f"--deselect={n}" for n in [*results, *result.killed]], relative.as_posix()]
        run = box.run(argv, cancel, progress)
        progress.poll()
        results.update({k: v for k, v in progress.results.items() if results.get(k) != "failed"})
        outputs.append(run.output)
        seen = seen or progress.seen
        result.output_truncated |= run.output_truncated
        if run.cancelled:
            raise VerifyCancelled("verification cancelled")
        if run.timed_out:
            result.timed_out = True
            break
        if not run.stopped or progress.stuck is None:
            break
        log.warning("verify: %s ran past %s s and was killed", progress.stuck, PER_TEST_SECONDS)
        result.killed.append(progress.stuck)
        results[progress.stuck] = "failed"
        outputs.append(f"lfcode: {progress.stuck} ran longer than {PER_TEST_SECONDS} s and was killed")
    output = "\n".join(outputs)
    if re.search(r"No module named '?pytest'?", output) and not seen:
        raise VerifyError(f"pytest is not installed for {python}; the tests were not verified")
    return _sort(names, results, output[-4000:], result)


_remove = project.remove_tree


def _sort(names: list[str], results: dict[str, str], output: str, result: VerifyResult) -> VerifyResult:
    result.output = output
    for name in names:
        runs = [outcome for nodeid, outcome in results.items() if re.sub(r"\[.*\]$", "", nodeid).rsplit("::", 1)[-1] == name]
        outcome = "not run" if not runs else ("passed" if all(r == "passed" for r in runs) else next(r for r in runs if r != "passed"))
        result.outcomes[name] = outcome
        (result.kept if outcome == "passed" else result.dropped).append(name)
    return result


def mark_not_run(generated: GeneratedTests, reason: str = "install bubblewrap: apt install bubblewrap") -> GeneratedTests:
    """``generated`` with a first comment line saying its tests were not run (``reason`` in
    parentheses), for when no sandbox could run them; ``code`` and ``result`` both change."""
    note = NOT_RUN_NOTE.format(hint=reason)
    body = generated.code.lstrip("\n")
    code = generated.code[: len(generated.code) - len(body)] + note + body
    result = generated.result[: generated.offset] + code + generated.result[generated.offset + len(generated.code) :]
    return dataclasses.replace(generated, code=code, result=result)


def verify_generated(
    plan: TestPlan,
    generated: GeneratedTests,
    cancel: CancelToken | None = None,
    timeout: float = RUN_SECONDS,
    sandbox: Literal["required", "off"] = "required",
) -> tuple[GeneratedTests | None, VerifyResult]:
    """Run ``generated`` (Python: pytest or unittest) and keep its passing tests.

    Returns the reduced tests (``None`` when none passed) and the run's result.

    Raises:
        SandboxUnavailable, VerifyError, InterruptedError: as :func:`run_tests`.
    """
    if plan.framework.language != "python":
        raise VerifyError(f"only Python tests are verified, not {plan.framework.name}")
    result = run_tests(plan.root, plan.framework.test_path, generated.result, generated.tests, cancel, timeout, sandbox=sandbox)
    return keep_only(plan, generated, result.kept), result
