"""Event-loop blocking under big documents: keystrokes into a 20 MB (and a 1 MB) Python file.

Starts ``lfcode serve`` with the fake backend, opens a generated Python document, then N times
sends one incremental ``didChange`` (a character typed in the middle of the file) immediately
followed by a cheap request (an unknown method, answered on the event loop with ``-32601``) and
measures the round trip: everything the server does for the keystroke before it can answer
anything else. Prints p50 / p95 / max in milliseconds and the server's peak RSS (``VmHWM`` from
``/proc/<pid>/status``). Usage::

    python benchmarks/event_loop.py [--sizes 20,1] [--keystrokes 50]

Before this change (issue 9): 3.8–7.5 s per keystroke and 1.76 GB RSS on the 20 MB document.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def python_source(megabytes: float) -> str:
    """About ``megabytes`` MB (10^6 characters) of plausible Python."""
    block = (
        "def function_{n}(alpha, beta=None):\n"
        "    \"\"\"Compute something for item {n}.\"\"\"\n"
        "    total = alpha * {n} + (beta or 0)\n"
        "    for index in range(10):\n"
        "        total += index\n"
        "    return total\n\n\n"
    )
    parts, size, n = [], 0, 0
    while size < megabytes * 1e6:
        text = block.format(n=n)
        parts.append(text)
        size += len(text)
        n += 1
    return "".join(parts)


class Server:
    """``lfcode serve`` over raw stdio (framing by hand, blocking reads)."""

    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LFCODE_")}
        env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"), LFCODE_BACKEND="fake")
        script = shutil.which("lfcode", path=str(Path(sys.executable).parent))
        command = [script, "serve"] if script else [sys.executable, "-m", "lfcode", "serve"]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=home)

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def recv(self) -> dict:
        assert self.proc.stdout is not None
        length = 0
        while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def until(self, msg_id: object) -> dict:
        while True:
            message = self.recv()
            if message.get("id") == msg_id and "method" not in message:
                return message

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.send({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"})
        self.until("bye")
        self.send({"jsonrpc": "2.0", "method": "exit"})
        self.proc.wait(timeout=30)


def run(megabytes: float, keystrokes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        text = python_source(megabytes)
        uri = (home / "big.py").as_uri()
        server = Server(home)
        server.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        server.until(0)
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        started = time.perf_counter()
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}})
        server.send({"jsonrpc": "2.0", "id": "open", "method": "lfcode/ping"})
        server.until("open")
        open_ms = (time.perf_counter() - started) * 1000
        line = text.count("\n") // 2
        times = []
        for n in range(keystrokes):
            change = {"range": {"start": {"line": line, "character": n}, "end": {"line": line, "character": n}}, "text": "x"}
            started = time.perf_counter()
            server.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": n + 2}, "contentChanges": [change]}})
            server.send({"jsonrpc": "2.0", "id": n + 1, "method": "lfcode/ping"})
            server.until(n + 1)
            times.append((time.perf_counter() - started) * 1000)
        rss = server.peak_rss_mb()
        server.close()
        print(
            f"| {len(text) / 1e6:.1f} MB | {open_ms:.0f} | {percentile(times, 50):.1f} | {percentile(times, 95):.1f} "
            f"| {max(times):.1f} | {rss:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20,1", help="document sizes in MB, comma-separated")
    parser.add_argument("--keystrokes", type=int, default=50)
    args = parser.parse_args()
    print("| document | open ms | keystroke p50 ms | p95 ms | max ms | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        run(float(size), args.keystrokes)


if __name__ == "__main__":
    main()
