"""The execution engine: run call expressions against project code in the OS sandbox and report
what each one did ("run, don't guess": test generation, review and explain take values from
here, not from the model).

:func:`run_calls` copies the project to a temporary folder, optionally replaces one file's text
(:func:`run_calls_on_versions` runs the same calls against several versions of a file), and runs
:mod:`lfcode.execution.probe` with the project's interpreter inside :class:`~lfcode.execution.sandbox.Sandbox`:
no network, a read-only system, bounded time, CPU and memory. The request goes to the probe as
JSON on a pipe (stdin); the probe appends one JSON line per event to a file in a private state
folder, so that a crash or a timeout keeps every finished call. Both folders are deleted
afterwards. Each call is evaluated twice in fresh namespaces (the second run says whether the
result is stable) and bounded by ``call_seconds``; coverage.py records the lines and branch arcs
of the file each call executed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lfcode.errors import CancelToken, Cancelled, LfcodeError
from lfcode.execution import project
from lfcode.execution import sandbox as sandboxing

log = logging.getLogger(__name__)

#: Output of the probe kept for error messages, bytes.
OUTPUT_BYTES = 64 * 1024


class ExecutionError(LfcodeError, RuntimeError):
    """The run could not happen: the file is outside the project, the copy failed, the probe died."""


@dataclass(frozen=True)
class CallOutcome:
    """What one call expression did.

    ``value_repr``/``value_type`` (qualified type name) describe the returned value (``None``
    after an exception); ``literal`` says that ``ast.literal_eval(value_repr)`` gives the value
    back; ``exception_type``/``exception_message`` describe a raised exception (a
    ``TimeoutError`` when the call ran past its time, with ``timed_out``); ``stdout`` is what it
    printed (first 4,000 characters); ``lines``/``arcs`` are the 1-based lines and branch arcs
    of the file executed during the call (``None`` without coverage.py in the interpreter);
    ``ms`` the first evaluation's time; ``stable`` that a second evaluation gave the same
    ``repr`` or exception; ``constructor_error`` (``"Type: message"``) that building ``obj``
    failed, so the call was not tried; ``attributes`` (a value that is not a literal) its public
    attributes whose ``repr`` is a literal, ``{name: repr}``; with ``details``
    (:func:`run_calls`), ``items`` is the ``repr`` of the list of a returned generator's first
    items and ``state`` ``obj``'s public literal attributes after the call.
    """

    call: str
    value_repr: str | None
    value_type: str | None
    literal: bool
    exception_type: str | None
    exception_message: str | None
    stdout: str
    lines: tuple[int, ...] | None
    arcs: tuple[tuple[int, int], ...] | None
    ms: float
    stable: bool
    timed_out: bool
    constructor_error: str | None = None
    attributes: dict[str, str] | None = None
    items: str | None = None
    state: dict[str, str] | None = None

    @classmethod
    def from_record(cls, record: dict) -> CallOutcome:
        """Build from one probe result line (see :mod:`lfcode.execution.probe`)."""
        exception = record.get("exception") or {}
        lines = record.get("lines")
        arcs = record.get("arcs")
        return cls(
            call=str(record["call"]), value_repr=record.get("repr"), value_type=record.get("type"),
            literal=bool(record.get("literal")), exception_type=exception.get("type"),
            exception_message=exception.get("message"), stdout=str(record.get("stdout") or ""),
            lines=None if lines is None else tuple(int(n) for n in lines),
            arcs=None if arcs is None else tuple((int(a), int(b)) for a, b in arcs),
            ms=float(record.get("ms") or 0.0), stable=bool(record.get("stable")), timed_out=bool(record.get("timed_out")),
            constructor_error=record.get("constructor_error"),
            attributes={str(k): str(v) for k, v in record["attributes"].items()} if isinstance(record.get("attributes"), dict) else None,
            items=record.get("items") if isinstance(record.get("items"), str) else None,
            state={str(k): str(v) for k, v in record["state"].items()} if isinstance(record.get("state"), dict) else None,
        )


@dataclass
class ExecutionReport:
    """One run: ``outcomes`` in call order (fewer than asked when the run was cut short:
    ``timed_out``, or the probe died: ``exit_code`` and ``output`` say how); ``import_error``
    (``"Type: message"``) when the module could not be imported, and then no outcomes;
    ``sandboxed`` whether the OS sandbox isolated the run."""

    outcomes: list[CallOutcome] = field(default_factory=list)
    import_error: str | None = None
    sandboxed: bool = True
    timed_out: bool = False
    exit_code: int | None = 0
    output: str = ""


def module_name(root: Path, file: Path) -> str:
    """The dotted module name of ``file`` in ``root`` (a leading ``src/`` is dropped;
    ``pkg/__init__.py`` is ``pkg``)."""
    parts = list(file.resolve().relative_to(root.resolve()).with_suffix("").parts)
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def run_calls(
    root: Path,
    file: Path,
    calls: Sequence[str],
    *,
    constructor: str | None = None,
    source: str | None = None,
    python: str | None = None,
    sandbox: Literal["required", "off"] = "required",
    call_seconds: float = 2.0,
    timeout: float = 60.0,
    memory_bytes: int = 1 << 30,
    details: bool = False,
    cancel: CancelToken | None = None,
) -> ExecutionReport:
    """Evaluate each of ``calls`` (Python expressions over the module's names, e.g.
    ``"rgb_to_hls(0.5, 0.5, 0.5)"``; with ``constructor``, ``obj`` is a fresh instance built by
    it) against ``file`` of the project ``root``, in a temporary copy, in the OS sandbox.

    ``source`` replaces the file's text in the copy (the project is never changed). ``python``
    defaults to the project's virtual-environment interpreter, else lfcode's. ``call_seconds``
    bounds each evaluation, ``timeout`` the whole run (s); ``memory_bytes`` is the address-space
    limit of the process. ``sandbox="off"`` runs without isolation (the machine-level opt-out).
    ``details`` also records a returned generator's first items and ``obj``'s state after each
    call (:class:`CallOutcome` ``items``/``state``).

    Raises:
        SandboxUnavailable: ``sandbox="required"`` and no OS sandbox works here (nothing ran).
        ExecutionError: ``file`` is not a file inside ``root``, or the project cannot be copied.
        Cancelled: ``cancel`` was set (the run is killed first).
    """
    try:
        relative = file.resolve().relative_to(root.resolve())
    except ValueError as exc:
        raise ExecutionError(f"{file} is outside the project {root}") from exc
    if source is None and not file.is_file():
        raise ExecutionError(f"{file} is not a file")
    isolate = sandbox != "off"
    if isolate:
        sandboxing.check()
    else:
        log.warning('sandbox = "off": project code runs WITHOUT OS isolation (it can read and change your files)')
    python = python or project.project_python(root)
    temp = Path(tempfile.mkdtemp(prefix="lfcode-exec-"))
    try:
        work, state = temp / "project", temp / "state"
        try:
            project.copy_project(root, work, project.MAX_COPY_FILES, project.MAX_COPY_BYTES)
        except (OSError, project.ProjectTooLarge) as exc:
            raise ExecutionError(f"cannot copy the project for the run: {exc}") from exc
        target = work / relative
        if source is not None and not project.write_inside(work, relative, source):
            raise ExecutionError(f"{relative.parent} is a symbolic link out of the project; nothing was run")
        state.mkdir()
        probe = state / "lfcode_probe.py"
        probe.write_text((Path(__file__).parent / "probe.py").read_text(encoding="utf-8"), encoding="utf-8")
        results = state / "results.jsonl"
        paths = [str(work)] + ([str(work / "src")] if (work / "src").is_dir() else [])
        request = {
            "file": str(target), "module": module_name(root, file), "paths": paths, "fallback_paths": _coverage_paths(), "calls": list(calls),
            "constructor": constructor, "call_seconds": call_seconds, "results": str(results), "details": details,
        }
        env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0"}
        limits = sandboxing.Limits(wall_seconds=timeout, cpu_seconds=int(timeout) + 1, memory_bytes=memory_bytes, output_bytes=OUTPUT_BYTES)
        readonly = [*sandboxing.interpreter_paths(python), *(Path(p) for p in _coverage_paths())]
        box = sandboxing.Sandbox(work, readonly=readonly, writable=[state], env=env, limits=limits, isolate=isolate)
        run = box.run([python, str(probe)], cancel, stdin=json.dumps(request).encode("utf-8"))
        if run.cancelled:
            raise Cancelled("the run was cancelled")
        report = ExecutionReport(sandboxed=run.isolated, timed_out=run.timed_out, exit_code=run.exit_code, output=run.output)
        for line in results.read_text(encoding="utf-8").splitlines() if results.is_file() else []:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "import_error" in record:
                report.import_error = str(record["import_error"])
            elif "call" in record:
                report.outcomes.append(CallOutcome.from_record(record))
        return report
    finally:
        project.remove_tree(temp)


def run_calls_on_versions(root: Path, file: Path, calls: Sequence[str], versions: Sequence[str], **options) -> list[ExecutionReport]:
    """:func:`run_calls` once per text in ``versions`` of ``file`` (e.g. before and after a
    change), with the same calls and options, the runs side by side (each is its own sandboxed
    process); one report per version, in order. Raises what :func:`run_calls` raises."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(len(versions), os.cpu_count() or 1))) as pool:
        runs = [pool.submit(run_calls, root, file, calls, source=text, **options) for text in versions]
        return [run.result() for run in runs]


def _coverage_paths() -> list[str]:
    """The folder coverage.py is installed in, for the end of the probe's ``sys.path`` (after the
    interpreter's own packages, so that a project's own coverage.py wins); empty when it is not
    installed."""
    try:
        import coverage
    except ImportError:
        return []
    return [os.path.dirname(os.path.dirname(os.path.abspath(coverage.__file__)))]
