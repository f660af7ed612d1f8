"""One OS-level sandbox (bubblewrap) for everything lfcode executes.

A :class:`Sandbox` runs one command (an argv list) so that it

- sees the system read-only (``--ro-bind / /``) with the private places hidden behind empty
  in-memory folders (:data:`HIDDEN`, the user's ``$HOME``, ``$XDG_RUNTIME_DIR``): no SSH keys,
  no shell profiles, no Unix sockets of running services;
- can write only to its work folder (a temporary copy of the project) and the ``writable``
  folders it is given; ``readonly`` paths (the interpreter, plugins) are bound back read-only
  when they sit under a hidden place;
- has no network at all, not even loopback, its own PID/IPC/UTS/cgroup namespaces, no
  capabilities, a new session (no terminal injection) and dies with lfcode (``--unshare-all``,
  ``--cap-drop ALL``, ``--new-session``, ``--die-with-parent``);
- gets an environment built from an allow-list (:func:`sandbox_env`): never the user's tokens;
- runs under :class:`Limits`: wall time, CPU seconds (``RLIMIT_CPU``), address space
  (``RLIMIT_AS``), size of any file written (``RLIMIT_FSIZE``), size of the private ``/tmp``
  and bytes of output kept.

Because of the PID namespace no process outlives a run; after a timeout, a cancel or a stop the
process group is killed and the host's ``/proc`` is checked for anything left in the namespace.

:func:`check` raises :class:`SandboxUnavailable` (with how to install bubblewrap) when no
sandbox works here; callers then run nothing. ``Sandbox(..., isolate=False)`` is the explicit
opt-out (setting ``sandbox = "off"``): same environment and limits, no isolation.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lfcode.errors import CancelToken, LfcodeError
from lfcode.execution.processes import POLL_SECONDS, REAP_SECONDS, Capture, kill_group, reap, rlimits

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: sudo apt install bubblewrap; Fedora/RHEL: sudo dnf install bubblewrap; "
    "Arch: sudo pacman -S bubblewrap; openSUSE: sudo zypper install bubblewrap) and allow unprivileged user "
    "namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0), "
    'or set sandbox = "off" in the machine settings to run code without isolation (not recommended)'
)
#: Places replaced by empty in-memory folders inside the sandbox (plus $HOME and $XDG_RUNTIME_DIR).
HIDDEN = ("/home", "/root", "/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/mnt", "/media")
#: ``PATH`` inside the sandbox (the interpreter is always called by its absolute path).
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: The sandbox's ``$HOME``: an empty, read-only folder on the private ``/tmp`` (write to ``$TMPDIR``).
INSIDE_HOME = "/tmp/home"
#: Variables taken from lfcode's own environment (besides ``LC_*``); everything else is dropped.
ENV_ALLOWED = ("LANG", "LANGUAGE", "TZ")
PROBE_SECONDS = 10.0


class SandboxUnavailable(LfcodeError, RuntimeError):
    """No OS sandbox works on this machine; the message says why and how to enable one."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    ``wall_seconds``: elapsed time before the run is killed; ``cpu_seconds``: CPU time of any one
    process (``RLIMIT_CPU``, SIGXCPU); ``memory_bytes``: address space per process (``RLIMIT_AS``);
    ``file_bytes``: largest file a process may write (``RLIMIT_FSIZE``); ``tmp_bytes``: size of
    each private in-memory folder (``/tmp``, ...); ``output_bytes``: stdout+stderr kept (the
    first and last halves; the rest is read and dropped).
    """

    wall_seconds: float = 120.0
    cpu_seconds: int = 120
    memory_bytes: int = 4 << 30
    file_bytes: int = 64 << 20
    tmp_bytes: int = 64 << 20
    output_bytes: int = 256 << 10


@dataclass
class SandboxResult:
    """What a run did. ``exit_code`` is the command's (128+N when signal N killed it, ``None``
    when lfcode killed it); ``output`` is stdout and stderr merged (UTF-8, truncated when
    ``output_truncated``); ``timed_out``/``cancelled``/``stopped`` say lfcode killed it (wall
    limit, cancel event, ``watch`` callback); ``cpu_limited`` that ``RLIMIT_CPU`` ended it;
    ``leftovers`` how many processes had to be killed after it ended; ``isolated`` whether it ran
    in the OS sandbox; ``seconds`` its elapsed time."""

    exit_code: int | None
    output: str
    output_truncated: bool = False
    timed_out: bool = False
    cancelled: bool = False
    stopped: bool = False
    cpu_limited: bool = False
    leftovers: int = 0
    isolated: bool = True
    seconds: float = 0.0


_verdict: tuple[bool, str] | None = None
_verdict_lock = threading.Lock()


def _bwrap() -> str | None:
    found = shutil.which("bwrap")
    if found:
        return found
    return next((p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)), None)


def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, f"the OS sandbox needs Linux with bubblewrap (this is {sys.platform})"
    bwrap = _bwrap()
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed"
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--unshare-all",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv", "--setenv", "PATH", SAFE_PATH, "--", "true"]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={}, timeout=PROBE_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{bwrap} does not start ({exc})"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return False, f"{bwrap} cannot create a sandbox here ({why[-1] if why else f'exit code {done.returncode}'})"
    return True, f"bubblewrap at {bwrap}"


def sandbox_status() -> tuple[bool, str]:
    """``(works, reason)``: whether bubblewrap can create a sandbox here. Probed once (a trivial
    ``bwrap ... true``) and cached for the process."""
    global _verdict
    with _verdict_lock:
        if _verdict is None:
            _verdict = _probe()
            log.info("sandbox: %s", _verdict[1])
        return _verdict


def sandbox_available() -> bool:
    """True when :class:`Sandbox` can isolate commands on this machine (see :func:`sandbox_status`)."""
    return sandbox_status()[0]


def check() -> None:
    """Return when the OS sandbox works.

    Raises:
        SandboxUnavailable: it does not; the message names the cause and how to enable it.
    """
    works, reason = sandbox_status()
    if not works:
        raise SandboxUnavailable(f"no OS sandbox to run code in: {reason}; nothing was run. To enable it, {INSTALL_HINT}")


def interpreter_paths(python: str) -> list[Path]:
    """What a sandbox must see read-only to run ``python``: the executable (as given and
    resolved), its prefix (``…/bin/..``), a virtual environment's base (``pyvenv.cfg`` ``home``)
    and, for lfcode's own interpreter, ``sys.prefix``/``sys.base_prefix``/site-packages.
    Only existing paths are returned."""
    exe = Path(os.path.abspath(python))
    found: list[Path] = [exe, Path(os.path.realpath(exe))]
    for candidate in list(found):
        if candidate.parent.name in ("bin", "Scripts"):
            prefix = candidate.parent.parent
            found.append(prefix)
            home = _venv_home(prefix / "pyvenv.cfg")
            if home is not None:
                found += [home.parent if home.name in ("bin", "Scripts") else home]
    if os.path.realpath(exe) == os.path.realpath(sys.executable):
        found += [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages())]
    unique: dict[str, Path] = {}
    for path in found:
        for variant in (path, Path(os.path.realpath(path))):
            if variant.exists():
                unique.setdefault(str(variant), variant)
    return list(unique.values())


def _venv_home(cfg: Path) -> Path | None:
    try:
        for line in cfg.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                return Path(value.strip())
    except (OSError, UnicodeDecodeError):
        return None
    return None


def sandbox_env(extra: Mapping[str, str] | None, home: str, tmp: str) -> dict[str, str]:
    """The command's environment: ``LANG``/``LANGUAGE``/``TZ``/``LC_*`` from lfcode's own,
    ``PATH`` = :data:`SAFE_PATH`, ``HOME``=``home``, ``TMPDIR``=``tmp``, then ``extra`` (variables
    lfcode itself chose, e.g. ``PYTHONPATH``; ``HOME`` and ``TMPDIR`` cannot be overridden)."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOWED or k.startswith("LC_")}
    env["PATH"] = SAFE_PATH
    env.update(extra or {})
    env.update(HOME=home, TMPDIR=tmp)
    return env


def _hidden_places() -> list[str]:
    places = list(HIDDEN) + [os.path.expanduser("~"), os.environ.get("HOME", ""), os.environ.get("XDG_RUNTIME_DIR", "")]
    chosen: list[str] = []
    for place in sorted({os.path.realpath(p) for p in places if p and os.path.isabs(p)}, key=lambda p: (p.count("/"), p)):
        if place == "/" or not os.path.isdir(place) or any(_under(place, c) for c in chosen):
            continue
        if any(_under(system, place) for system in ("/usr", "/etc", "/bin", "/lib", "/opt")):
            continue  # a $HOME of "/" or "/usr" cannot be hidden without hiding the system
        chosen.append(place)
    return chosen


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _feed(pipe, data: bytes) -> None:
    """Write ``data`` to a child's stdin and close it (a thread: the child may not read it all)."""
    try:
        pipe.write(data)
    except OSError:
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


class Sandbox:
    """Runs commands with ``work`` (a folder lfcode created, e.g. a project copy) as the writable
    current folder.

    Args:
        work: the writable work folder; commands start in it.
        readonly: files/folders that must stay visible read-only (e.g. :func:`interpreter_paths`).
        writable: further folders the command may write (e.g. a progress folder).
        env: variables lfcode sets for the command (see :func:`sandbox_env`).
        limits: the :class:`Limits`.
        isolate: ``False`` runs without the OS sandbox (the ``sandbox = "off"`` opt-out).
    """

    def __init__(self, work: Path, readonly: Sequence[Path] = (), writable: Sequence[Path] = (),
                 env: Mapping[str, str] | None = None, limits: Limits = Limits(), isolate: bool = True) -> None:
        self.work = Path(os.path.realpath(work))
        self.readonly = [Path(os.path.abspath(p)) for p in readonly]
        self.writable = [Path(os.path.realpath(p)) for p in writable]
        self.env, self.limits, self.isolate = dict(env or {}), limits, isolate

    def command(self, argv: Sequence[str], status_fd: int | None = None) -> list[str]:
        """The full ``bwrap`` command line for ``argv``.

        Raises:
            SandboxUnavailable: bubblewrap is not installed.
        """
        bwrap = _bwrap()
        if bwrap is None:
            raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. To enable it, {INSTALL_HINT}")
        hidden = _hidden_places()
        args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for place in hidden:
            args += ["--size", str(self.limits.tmp_bytes), "--tmpfs", place]
        if "/dev/shm" not in hidden:
            args += ["--size", str(self.limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        binds: list[tuple[str, str, str]] = []
        for path in self.readonly:
            real = os.path.realpath(path)
            if any(_under(real, h) for h in hidden):
                binds.append(("--ro-bind", real, real))
            if str(path) != real and any(_under(str(path), h) for h in hidden) and os.path.realpath(path.parent) == str(path.parent):
                binds.append(("--ro-bind", real, str(path)))
        dests = {dest for _, _, dest in binds}
        binds = [b for b in binds if not any(d != b[2] and _under(b[2], d) for d in dests)]  # a parent bind shows it already
        for path in (self.work, *self.writable):
            binds.append(("--bind", str(path), str(path)))
        for option, source, dest in sorted(set(binds), key=lambda b: (b[2].count("/"), b[2], b[0])):
            args += [option, source, dest]
        args += ["--dir", INSIDE_HOME, "--chmod", "0555", INSIDE_HOME, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
        for key, value in sandbox_env(self.env, INSIDE_HOME, "/tmp").items():
            args += ["--setenv", key, value]
        args += ["--chdir", str(self.work)]
        if status_fd is not None:
            args += ["--json-status-fd", str(status_fd)]
        return [*args, "--", *argv]

    def run(self, argv: Sequence[str], cancel: CancelToken | None = None, watch: Callable[[], bool] | None = None,
            stdin: bytes | None = None) -> SandboxResult:
        """Run ``argv`` (``argv[0]`` an absolute path or a name on :data:`SAFE_PATH`) and wait.
        ``stdin`` (bytes), when given, is written to the command's standard input, which is then
        closed (else it reads ``/dev/null``).

        ``watch`` is called every :data:`POLL_SECONDS` (50 ms) while it runs; returning True
        kills the run (``stopped``). ``cancel`` being set kills it too (``cancelled``).

        Raises:
            SandboxUnavailable: isolation is asked for and bubblewrap is missing.
            OSError: the command cannot be started.
        """
        started = time.monotonic()
        if cancel is not None and cancel.is_set():
            return SandboxResult(exit_code=None, output="", cancelled=True, isolated=self.isolate)
        with tempfile.TemporaryFile() as status, tempfile.TemporaryDirectory(prefix="lfcode-run-") as home:
            if self.isolate:
                command, env, cwd, fds = self.command(argv, status.fileno()), {}, str(self.work), (status.fileno(),)
            else:
                command, cwd, fds = list(argv), str(self.work), ()
                os.mkdir(f"{home}/home", 0o555)
                os.mkdir(f"{home}/tmp", 0o700)
                env = sandbox_env(self.env, f"{home}/home", f"{home}/tmp")
            process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, pass_fds=fds,
                                       preexec_fn=rlimits(self.limits.cpu_seconds, self.limits.memory_bytes, self.limits.file_bytes))
            capture = Capture(process.stdout, self.limits.output_bytes)
            capture.start()
            if stdin is not None:
                threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True).start()
            result = SandboxResult(exit_code=None, output="", isolated=self.isolate)
            deadline = started + self.limits.wall_seconds
            while process.poll() is None:
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                elif time.monotonic() > deadline:
                    result.timed_out = True
                elif watch is not None and watch():
                    result.stopped = True
                if result.cancelled or result.timed_out or result.stopped:
                    kill_group(process)
                    break
                try:
                    process.wait(POLL_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
            code = process.wait()
            result.leftovers = reap(status) if self.isolate else 0
            capture.join(REAP_SECONDS)
            process.stdout.close()
        result.output, result.output_truncated = capture.text()
        if not (result.cancelled or result.timed_out or result.stopped):
            result.exit_code = 128 - code if code < 0 else code
            result.cpu_limited = result.exit_code == 128 + signal.SIGXCPU
        result.seconds = time.monotonic() - started
        return result
