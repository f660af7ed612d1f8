"""llama.cpp's own ``llama-server`` as the latency baseline of ``benchmarks/latency.py``.

The binary comes from ``benchmarks/build_llama_server.sh`` (built once from the llama.cpp vendored
in the llama-cpp-python sdist, cached under ``${LFCODE_CACHE:-~/.cache/lfcode-ci}``). The server
runs on 127.0.0.1 on a free port with lfcode's model, ``n_ctx`` and thread count, one slot, and
the batch sizes lfcode's llama-cpp backend uses; requests go over one keep-alive HTTP connection.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD_SCRIPT = Path(__file__).with_name("build_llama_server.sh")

#: Flags llama.vim's README recommends for llama-server that apply on a CPU (``--cache-reuse``
#: shifts reused KV chunks when the prompt window slides), and ``--swa-full``: Gemma 3 uses
#: sliding-window attention, and llama-cpp-python (so lfcode and the raw path) keeps the full-size
#: SWA cache by default while llama-server does not; without it the server could not reuse a long
#: cached prefix at all.
DEFAULT_FLAGS = ["--cache-reuse", "256", "--swa-full"]
#: ``t_max_predict_ms`` as llama.vim sets it: 250 ms for a request made for a new cursor position
#: (no suggestion shown yet), 1000 ms (its default) for the speculative follow-up it sends once a
#: suggestion is shown. The replay only makes the former. llama-server applies the limit only after
#: a newline was generated, so with ``stop: ["\n"]`` it never cuts a one-line answer.
T_MAX_PREDICT_MS_FIRST = 250
T_MAX_PREDICT_MS = 1000


def lfcode_line_tokens() -> int:
    """lfcode's token cap for a one-line suggestion (``n_predict`` for the baseline)."""
    try:
        from lfcode.completion.stopping import LINE_MAX_TOKENS

        return LINE_MAX_TOKENS
    except ImportError:  # pragma: no cover - older layouts
        return 64


def find_binary(explicit: str | None = None) -> Path:
    """``explicit``, ``$LLAMA_SERVER``, or the cached build (built first when missing: ~7+ min)."""
    chosen = explicit or os.environ.get("LLAMA_SERVER")
    if chosen:
        return Path(chosen)
    print("llama-server: looking up (or building) the cached binary …", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(BUILD_SCRIPT)], env=env, check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_kib(pid: int) -> int:
    """``VmHWM`` of a live process, KiB (0 when unavailable)."""
    return _status_kib(pid, "VmHWM:")


def rss_kib(pid: int) -> int:
    """``VmRSS`` of a live process, KiB (0 when unavailable)."""
    return _status_kib(pid, "VmRSS:")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process used so far, seconds (0 when unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


class LlamaServer:
    """A running ``llama-server``; use as a context manager. ``ready_ms`` is spawn → ``/health`` OK."""

    def __init__(self, binary: Path, model: Path, n_ctx: int, threads: int, flags: list[str] | None = None) -> None:
        self.binary, self.model, self.n_ctx, self.threads = binary, model, n_ctx, threads
        self.flags = DEFAULT_FLAGS if flags is None else flags
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        fd, log = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
        os.close(fd)
        self.log = Path(log)
        self.ready_ms = 0.0
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> LlamaServer:  # noqa: PYI034
        try:
            self.start()
        except BaseException:
            self._terminate()  # keep the log for the error message
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 300) -> None:
        help_text = subprocess.run([str(self.binary), "--help"], check=False, capture_output=True, text=True).stdout
        no_ui = ["--no-webui"] if "--no-webui" in help_text else []
        self.port = free_port()
        t = str(self.threads)
        cmd = [
            str(self.binary), "--host", "127.0.0.1", "--port", str(self.port), "-m", str(self.model),
            "-c", str(self.n_ctx), "-t", t, "-tb", t, "-np", "1", "-b", "512", "-ub", "512", *no_ui, *self.flags,
        ]
        spawned = time.perf_counter()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; log: {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"llama-server not healthy after {timeout} s; log: {self.log}")
            time.sleep(0.05)
        self.ready_ms = (time.perf_counter() - spawned) * 1000

    def post(self, path: str, body: dict) -> dict:
        """POST JSON over the kept-alive connection (reopened once if the server closed it)."""
        data = json.dumps(body).encode()
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self._conn.request("POST", path, data, {"Content-Type": "application/json"})
                response = self._conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise RuntimeError(f"llama-server {path}: HTTP {response.status}: {payload[:300]!r}")
                return json.loads(payload)
            except (http.client.HTTPException, ConnectionError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def tail(self, text: str, tokens: int) -> str:
        """The end of ``text`` that fits in ``tokens`` model tokens (by the server's tokenizer)."""
        ids = self.post("/tokenize", {"content": text, "add_special": False})["tokens"]
        if len(ids) <= tokens:
            return text
        return self.post("/detokenize", {"tokens": ids[-tokens:]})["content"]

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.proc.pid) if self.proc else 0

    def warnings(self) -> list[str]:
        """Log lines about features the server turned off (e.g. cache reuse)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return sorted({line.strip() for line in text.splitlines() if "not supported" in line or "will be disabled" in line})

    def stop(self) -> None:
        """Stop the server and remove its log."""
        self._terminate()
        self.log.unlink(missing_ok=True)

    def _terminate(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def replay(
    server: LlamaServer,
    files: list[Path],
    positions: dict[Path, list[int]],
    context_tokens: int,
    pause_ms: int,
) -> tuple[list[float], dict[str, int]]:
    """Latencies (ms) of ``/completion`` at each position, and token counters (prompt tokens
    evaluated, prompt tokens taken from the cache, tokens generated).

    Per file: sleep ``pause_ms`` (the user reads), then for each position send the last
    ``context_tokens`` tokens of the text before it as the prompt. Trimming the prefix (two
    tokenizer round trips) is outside the timed region; the request itself is timed end to end.
    """
    n_predict = lfcode_line_tokens()
    latencies: list[float] = []
    counters = {"prompt_n": 0, "cache_n": 0, "predicted_n": 0}
    for path in files:
        lines = path.read_text().splitlines(keepends=True)
        time.sleep(pause_ms / 1000)
        for line in positions[path]:
            prompt = server.tail("".join(lines[:line]), context_tokens)
            body = {
                "prompt": prompt,
                "n_predict": n_predict,
                "stop": ["\n"],
                "temperature": 0.0,
                "cache_prompt": True,
                "stream": False,
                "t_max_predict_ms": T_MAX_PREDICT_MS_FIRST,
                "response_fields": ["content", "timings/cache_n", "timings/prompt_n", "timings/predicted_n"],
            }
            began = time.perf_counter()
            answer = server.post("/completion", body)
            latencies.append((time.perf_counter() - began) * 1000)
            counters["prompt_n"] += int(answer.get("timings/prompt_n", 0) or 0)
            counters["cache_n"] += int(answer.get("timings/cache_n", 0) or 0)
            counters["predicted_n"] += int(answer.get("timings/predicted_n", 0) or 0)
            print(f"llama-server {path.name}:{line + 1} {latencies[-1]:.0f} ms", file=sys.stderr, flush=True)
    return latencies, counters
