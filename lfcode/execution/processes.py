"""Process plumbing for :mod:`lfcode.execution.sandbox`: output capture, resource limits and
killing what is left of a run's PID namespace."""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
#: How long to wait for the PID namespace to disappear after a kill, seconds.
REAP_SECONDS = 3.0


class Capture(threading.Thread):
    """Drains a pipe (``stream``, a binary file object) in a thread, keeping the first and last
    ``limit // 2`` bytes; the rest is read and dropped so the writer never blocks."""

    def __init__(self, stream, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.half = stream, max(limit // 2, 1)
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def run(self) -> None:
        fd = self.stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.total += len(chunk)
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> tuple[str, bool]:
        """``(output, truncated)``: what was kept, UTF-8 decoded, with a note where bytes were left out."""
        kept = len(self.head) + len(self.tail)
        truncated = self.total > kept
        middle = f"\n[lfcode: {self.total - kept} bytes of output left out]\n".encode() if truncated else b""
        return bytes(self.head + middle + self.tail).decode("utf-8", errors="replace"), truncated


def rlimits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` setting ``RLIMIT_CPU`` (seconds), ``RLIMIT_AS`` and ``RLIMIT_FSIZE``
    (bytes) and no core dumps; the values are clamped to the current hard limits here, in the
    parent, so the function only makes ``setrlimit`` calls after ``fork``."""
    wanted = [
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 2),
        (resource.RLIMIT_AS, memory_bytes, memory_bytes),
        (resource.RLIMIT_FSIZE, file_bytes, file_bytes),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    plan = []
    for kind, soft, hard in wanted:
        current = resource.getrlimit(kind)[1]
        cap = hard if current == resource.RLIM_INFINITY else min(hard, current)
        plan.append((kind, min(soft, cap), cap))

    def apply() -> None:
        for kind, soft, hard in plan:
            resource.setrlimit(kind, (soft, hard))

    return apply


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL ``process``'s process group (it was started with ``start_new_session``)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def reap(status) -> int:
    """Kill whatever is left in a run's PID namespace, named in bwrap's ``--json-status-fd``
    output (``status``, a binary file); waits at most :data:`REAP_SECONDS`. Returns how many
    processes were found (0 when none, or when the status names no namespace)."""
    status.seek(0)
    namespace = None
    for line in status.read(65536).decode("utf-8", "replace").splitlines():
        try:
            namespace = json.loads(line).get("pid-namespace", namespace)
        except (ValueError, AttributeError):
            continue
    if namespace is None:
        return 0
    seen: set[int] = set()
    deadline = time.monotonic() + REAP_SECONDS
    while True:
        members = _members(f"pid:[{namespace}]")
        if not members:
            return len(seen)
        seen.update(members)
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            log.warning("sandbox: %d processes of a finished run could not be killed", len(members))
            return len(seen)
        time.sleep(POLL_SECONDS / 5)


def _members(namespace: str) -> list[int]:
    """Live (not zombie) processes whose PID namespace is ``namespace`` (``"pid:[inode]"``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                    continue
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    state = handle.read().rpartition(b")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                pids.append(int(entry))
    return pids
