"""A real llama.cpp ``llama-server`` for the tests: the binary, and one process on loopback.

The binary is built from the llama.cpp sources vendored in the llama-cpp-python sdist (the same
llama.cpp lfcode links against) by ``benchmarks/build_llama_server.sh``, which caches it under
``~/.cache/lfcode-ci/llama-server-<version>-x86-64-v3/`` (``LFCODE_CACHE`` moves that folder): the first run
on a machine takes 10-15 minutes on two cores, later runs find it at once. ``LFCODE_LLAMA_SERVER``
names a binary to use instead. A binary that cannot be had fails the test, never skips it.

A server is started on ``127.0.0.1`` with port 0 (the kernel picks a free one) and is ready once
it writes the ``listening on http://...`` line, which llama-server writes only after the model
has loaded: every wait reads the process's own output, bounded by a deadline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "benchmarks" / "build_llama_server.sh"
#: Bounds the one-off build (about 12 minutes on 2 cores).
BUILD_TIMEOUT_S = 45 * 60
_LISTENING = re.compile(r"listening on (http://[0-9.]+:\d+)")


def llama_server_binary() -> Path:
    """The llama-server binary: ``LFCODE_LLAMA_SERVER``, else the cached build (built now if
    missing). Fails the calling test with the build's last output when it cannot be built."""
    named = os.environ.get("LFCODE_LLAMA_SERVER")
    if named:
        if not os.access(named, os.X_OK):
            pytest.fail(f"LFCODE_LLAMA_SERVER={named} is not an executable file")
        return Path(named)
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT_S, check=False)
    binary = Path(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else None
    if run.returncode != 0 or binary is None or not os.access(binary, os.X_OK):
        pytest.fail(f"could not build llama-server with {BUILD_SCRIPT} (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return binary


class LlamaServer:
    """One ``llama-server`` process serving ``model`` on loopback; :attr:`url` once started.

    ``args`` are extra command-line arguments; ``port`` 0 lets the kernel pick one (a restart
    passes the old one). :meth:`kill` stops it at once (SIGKILL), as a
    crash would; :meth:`close` stops it and waits.
    """

    def __init__(
        self, binary: Path, model: Path, log: Path, *args: str, ctx: int = 2048, port: int = 0, deadline_s: float = 60,
    ) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self.url = ""
        self.proc = subprocess.Popen(
            [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "-c", str(ctx), "-np", "1",
             "-t", "1", "--no-webui", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            # LLAMA_SERVER_SLOTS_DEBUG: GET /slots also shows each slot's prompt as laid out.
            text=True, errors="replace", env={**{k: v for k, v in os.environ.items() if not k.startswith("LLAMA_")}, "LLAMA_SERVER_SLOTS_DEBUG": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(deadline_s) or not self.url:
            self.close()
            pytest.fail(f"llama-server did not start in {deadline_s} s:\n" + "".join(self.lines[-40:]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
            self._log.write(line)
            self._log.flush()
            found = _LISTENING.search(line)
            if found and not self.url:
                self.url = found.group(1)
                self._ready.set()
        self._ready.set()  # the process ended: whoever waits sees no url

    def mark(self) -> int:
        """The number of output lines so far, for :meth:`wait_for` lines after now."""
        with self._changed:
            return len(self.lines)

    def wait_for(self, pattern: str, after: int, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in an output line after line ``after`` (a
        :meth:`mark`), waiting for the server to write it; fails the test after ``timeout`` s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    found = regex.search(line)
                    if found:
                        return found
                after = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    pytest.fail(f"llama-server wrote no line matching {pattern!r}:\n" + "".join(self.lines[-20:]))
                self._changed.wait(left)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        self.proc.kill()
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self._log.close()
