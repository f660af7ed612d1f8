"""Keystroke latency: lfcode serve vs llama.cpp's llama-server vs raw llama-cpp-python, one run.

The replay models a user who opens a file, reads it for ``--pause-ms`` (2 s), then types it line
by line: after each typed line, a completion is asked at the start of the next one. What is typed
(``--replay``): ``functions`` (the default, issue 12's replay) retypes six standard-library
functions (:data:`DEFAULT_FUNCTIONS`), each in its own file opened with the text up to the first
line of the body after the docstring, 7 lines each (``--function-lines``), 42 requests; ``lines``
types ``--lines`` lines from line ``--start`` of each FILE (default: textwrap, colorsys, fnmatch
from line 31, 75 requests), where the text before the cursor is short. The three paths see the
same files, positions and idle time:

1. **lfcode serve** over LSP stdio (pygls client): ``didOpen`` and ``lfcode/cursor`` at the
   line where typing starts (what lfcode's VS Code and Neovim clients send when the cursor
   rests), the pause, then per line an incremental ``didChange`` and a
   ``textDocument/inlineCompletion`` (Automatic trigger, ``debounce_ms`` 0: the adaptive debounce
   is a client-side wait the other paths do not have). Timed from sending the request to its
   answer.
2. **llama-server** (built by ``benchmarks/build_llama_server.sh`` from the llama.cpp vendored in
   the llama-cpp-python sdist), the way llama.vim drives it. llama.vim posts ``input_prefix`` /
   ``input_suffix`` to ``/infill``, which needs FIM tokens; the embedded model (Gemma 3 270M) has
   none, so the fair equivalent is ``/completion`` with the prefix as the prompt: the last
   ``--context-tokens`` tokens before the cursor (lfcode's default prompt budget), one line
   (``stop: ["\\n"]``, ``n_predict`` = lfcode's one-line cap), greedy, ``cache_prompt: true``,
   ``t_max_predict_ms`` 250 as llama.vim sends for a new cursor position (1000 ms is for its
   speculative follow-ups, which this replay does not make; the server applies the limit only
   after a newline, so it never cuts a one-line answer). Server flags: ``-np 1 -b 512 -ub 512``
   (lfcode's batch), ``--cache-reuse 256`` (llama.vim's recommended setting) and ``--swa-full``
   (llama-cpp-python's default for Gemma's sliding-window cache). Timed per HTTP request over a
   kept-alive loopback connection; trimming the prompt to the budget is not timed.
3. **raw llama-cpp-python** in this process: the same prompt as llama-server, ``max_tokens`` the
   same cap, greedy, stop at the newline (prompt prefix reuse is llama-cpp-python's own).

Each path has its model loaded before its replay (lfcode: ``lfcode/status`` ready; llama-server:
``/health`` OK plus its own warm-up decode; raw: the model plus one untimed tiny completion), so
the tables compare steady-state keystrokes, each file's first request coming after the pause.
Paths alternate over ``--rounds`` (default 2): odd rounds run lfcode, llama-server, raw; even
rounds run the reverse, so drift on a noisy machine hits each path equally. Latencies are pooled
per path across rounds.

Also reported: lfcode's cold start (a separate fresh ``lfcode serve``: spawn → initialize →
didOpen of textwrap.py up to line ``--start`` → the first inline completion there, asked at once;
the median of ``--cold-runs`` fresh servers), lfcode's peak RSS (``VmHWM``, max over
rounds) against the goal model file size + 250 MB, and the share of lfcode answers served
without a model call. The LSP server does not report the latter and logs nothing per request that
says it, so it is estimated from the client: an answer under 15 ms (``--no-model-ms``) cannot
have run a decode and is counted as "no model call"; the output says it is a heuristic.

``--scale`` opens the standard library (about 1,800 source files) as the workspace instead and
reports: the symbol index's build time, measured in-process (``SymbolIndex.start(root)`` then
``wait_idle``; the LSP server sends no notification when indexing ends); the median time of one
``Workspace.changed`` on a 5,000-line file (20 one-character edits, in-process, as the
``didChange`` handler calls it, including any resumed parse slices); and, from a ``lfcode serve``
started with ``rootUri`` = the stdlib, its RSS once indexing settled (the index starts on the
first ``didOpen``; settled = over the last 3 s ``VmRSS`` grew by at most 1 MiB and the process used
under 5 % of a CPU, waited for at most ``--settle-timeout`` s; the time until then is a server-side
estimate of the index build) and a short keystroke replay (``--lines``) with the index loaded. Usage::

    python benchmarks/latency.py [--rounds 2] [--replay functions|lines] [--function-lines 7]
                                 [--lines 25] [--start 30] [--pause-ms 2000]
                                 [--skip-server] [--skip-raw] [--llama-server PATH] [FILE ...]
    python benchmarks/latency.py --scale [--lines 5] [FILE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import sysconfig
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_server  # a sibling module of this script

DEFAULT_FILES = ["textwrap.py", "colorsys.py", "fnmatch.py"]
#: ``--replay functions`` (the default): six standard-library functions, each retyped from the
#: first line of its body after the docstring, 7 lines each (42 requests), as issue 12's replay.
DEFAULT_FUNCTIONS = [
    "textwrap.py:TextWrapper._wrap_chunks", "colorsys.py:rgb_to_hls", "fnmatch.py:translate",
    "heapq.py:merge", "statistics.py:median", "difflib.py:SequenceMatcher.find_longest_match",
]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
MIB = 1024 * 1024


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | – | – | – |"
    return f"| {name} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | {statistics.mean(values):.0f} |"


def table(rows: list[tuple[str, list[float]]]) -> None:
    print("| path | requests | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|---|")
    for name, values in rows:
        print(row(name, values))


def typed_positions(files: list[Path], start: int, count: int) -> dict[Path, list[int]]:
    """0-based lines at whose start a completion is asked, per file (``--replay lines``)."""
    return {p: list(range(start, min(len(p.read_text().splitlines()), start + count))) for p in files}


def function_positions(functions: list[str], count: int) -> dict[Path, list[int]]:
    """``--replay functions``: per ``"module.py:Qualified.name"`` of the standard library, the
    0-based lines of the first ``count`` lines of the function's body after its docstring (the
    document holds the file up to there when it is opened)."""
    import ast

    positions: dict[Path, list[int]] = {}
    for spec in functions:
        name, qualname = spec.split(":")
        path = STDLIB / name
        node: ast.AST = ast.parse(path.read_text())
        for part in qualname.split("."):
            node = next(n for n in ast.iter_child_nodes(node) if getattr(n, "name", None) == part)
        body = node.body  # type: ignore[attr-defined]
        first = body[1] if ast.get_docstring(node) and len(body) > 1 else body[0]  # type: ignore[arg-type]
        start = first.lineno - 1
        positions[path] = list(range(start, min(node.end_lineno, start + count)))  # type: ignore[attr-defined]
    return positions


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- lfcode serve over LSP ------------------------------------------------------------------------


class Lfcode:
    """A ``lfcode serve`` process driven over stdio by a pygls client."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.client = LanguageClient("latency-bench", "1")
        self.ready = asyncio.Event()
        self.spawned = 0.0
        self.versions: dict[str, int] = {}

        # No annotation on ``params``: pygls passes the client to a first parameter typed as one.
        @self.client.feature("lfcode/status")
        def _status(params):
            if getattr(params, "state", None) in ("ready", "error"):
                self.ready.set()

        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            self.client.feature(method)(lambda params: None)

    async def start(self, root: Path | None = None) -> None:
        self.spawned = time.perf_counter()
        env = {**os.environ, "LFCODE_MODEL": self.model}
        await self.client.start_io(sys.executable, "-m", "lfcode", "serve", env=env)
        caps = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(inline_completion=types.InlineCompletionClientCapabilities())
        )
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=caps,
                root_uri=root.as_uri() if root else None,
                initialization_options={"debounce_ms": 0},
            )
        )
        self.client.initialized(types.InitializedParams())

    async def wait_ready(self, timeout: float = 300) -> None:
        await asyncio.wait_for(self.ready.wait(), timeout)

    @property
    def pid(self) -> int:
        server = getattr(self.client, "_server", None)
        return server.pid if server is not None else 0

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def insert(self, uri: str, line: int, text: str) -> None:
        self.versions[uri] += 1
        at = types.Position(line=line, character=0)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)],
            )
        )

    async def ask(self, uri: str, line: int) -> float:
        """One automatic inline completion at the start of ``line``; its latency in ms."""
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=0),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
        began = time.perf_counter()
        await self.client.text_document_inline_completion_async(params)
        return (time.perf_counter() - began) * 1000

    async def replay(self, files: list[Path], positions: dict[Path, list[int]], start: int, pause_ms: int) -> list[float]:
        latencies: list[float] = []
        for path in files:
            lines = path.read_text().splitlines(keepends=True)
            start = positions[path][0]
            uri = self.open(path, "".join(lines[:start]))
            # Where the cursor rests, as lfcode's VS Code and Neovim clients say it (lfcode/cursor);
            # the server prefills the prompt there during the pause.
            self.client.protocol.notify("lfcode/cursor", {"textDocument": {"uri": uri}, "position": {"line": start, "character": 0}})
            await asyncio.sleep(pause_ms / 1000)
            for line in positions[path]:
                if line > start:  # type the previous line, then stand at the start of the new one
                    self.insert(uri, line - 1, lines[line - 1])
                latencies.append(await self.ask(uri, line))
                print(f"lfcode {path.name}:{line + 1} {latencies[-1]:.0f} ms", file=sys.stderr, flush=True)
        return latencies

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def lfcode_cold_start(model: str, path: Path, start: int) -> float:
    """Spawn → first suggestion (ms) of a fresh server asked at once after ``didOpen``."""
    server = Lfcode(model)
    await server.start()
    lines = path.read_text().splitlines(keepends=True)
    uri = server.open(path, "".join(lines[:start]))
    await server.ask(uri, start)
    cold = (time.perf_counter() - server.spawned) * 1000
    await server.stop()
    return cold


async def lfcode_round(model: str, files: list[Path], positions: dict[Path, list[int]], start: int, pause_ms: int) -> tuple[list[float], int]:
    """Latencies (ms) and peak RSS (KiB) of one fresh ``lfcode serve``."""
    server = Lfcode(model)
    await server.start()
    await server.wait_ready()
    latencies = await server.replay(files, positions, start, pause_ms)
    rss = llama_server.peak_rss_kib(server.pid)
    await server.stop()
    return latencies, rss


# -- raw llama-cpp-python -------------------------------------------------------------------------


def raw_round(model_file: Path, n_ctx: int, threads: int, files: list[Path], positions: dict[Path, list[int]], context_tokens: int, pause_ms: int) -> list[float]:
    """Latencies (ms) of raw llama-cpp-python on the same prompts as llama-server."""
    import llama_cpp

    llm = llama_cpp.Llama(str(model_file), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    n_predict = llama_server.lfcode_line_tokens()
    llm.create_completion("def", max_tokens=1, temperature=0)  # warm-up, as llama-server does at start
    latencies: list[float] = []
    try:
        for path in files:
            lines = path.read_text().splitlines(keepends=True)
            time.sleep(pause_ms / 1000)
            for line in positions[path]:
                prefix = "".join(lines[:line])
                tokens = llm.tokenize(prefix.encode(), add_bos=False)
                prompt = prefix if len(tokens) <= context_tokens else llm.detokenize(tokens[-context_tokens:]).decode("utf-8", "ignore")
                began = time.perf_counter()
                llm.create_completion(prompt, max_tokens=n_predict, temperature=0, stop=["\n"])
                latencies.append((time.perf_counter() - began) * 1000)
                print(f"raw {path.name}:{line + 1} {latencies[-1]:.0f} ms", file=sys.stderr, flush=True)
    finally:
        llm.close()
    return latencies


# -- the comparison -------------------------------------------------------------------------------


def compare(args: argparse.Namespace, files: list[Path]) -> None:
    from lfcode.backends import model_path
    from lfcode.settings import Settings

    settings = Settings(model=args.model)
    model_file = model_path(settings)
    threads, n_ctx = settings.resolved_threads(), settings.n_ctx
    if args.replay == "functions" and not args.files:
        positions = function_positions(DEFAULT_FUNCTIONS, args.function_lines)
        files = list(positions)
        described = (f"functions: {', '.join(DEFAULT_FUNCTIONS)}; the first {args.function_lines} lines of each body "
                     "after its docstring typed")
    else:
        positions = typed_positions(files, args.start, args.lines)
        described = f"files: {', '.join(p.name for p in files)}; lines {args.start + 1}–{args.start + args.lines} typed in each"
    paths = ["lfcode"] + ([] if args.skip_server else ["llama-server"]) + ([] if args.skip_raw else ["raw"])
    binary = None if args.skip_server else llama_server.find_binary(args.llama_server)

    colds = [asyncio.run(lfcode_cold_start(args.model, STDLIB / DEFAULT_FILES[0], args.start)) for _ in range(args.cold_runs)]
    cold = statistics.median(colds)
    results: dict[str, list[float]] = {p: [] for p in paths}
    lfcode_rss = server_rss = 0
    server_ready: list[float] = []
    server_counters = {"prompt_n": 0, "cache_n": 0, "predicted_n": 0}
    server_warnings: set[str] = set()
    orders = []
    for index in range(args.rounds):
        order = paths if index % 2 == 0 else list(reversed(paths))
        orders.append(", ".join(order))
        for path in order:
            print(f"round {index + 1}: {path}", file=sys.stderr, flush=True)
            if path == "lfcode":
                latencies, rss = asyncio.run(lfcode_round(args.model, files, positions, args.start, args.pause_ms))
                lfcode_rss = max(lfcode_rss, rss)
            elif path == "llama-server":
                with llama_server.LlamaServer(binary, model_file, n_ctx, threads) as server:
                    server_ready.append(server.ready_ms)
                    latencies, counters = llama_server.replay(server, files, positions, args.context_tokens, args.pause_ms)
                    server_rss = max(server_rss, server.peak_rss_kib())
                    server_warnings.update(server.warnings())
                for key, value in counters.items():
                    server_counters[key] += value
            else:
                latencies = raw_round(model_file, n_ctx, threads, files, positions, args.context_tokens, args.pause_ms)
            results[path].extend(latencies)

    print(
        f"{described}; "
        f"pause {args.pause_ms} ms after opening; {args.rounds} round(s): {' | '.join(orders)}"
    )
    print(f"model: {model_file.name} ({model_file.stat().st_size / MIB:.0f} MiB); n_ctx {n_ctx}; threads {threads}; "
          f"prompt budget {args.context_tokens} tokens; CPU cores: {os.cpu_count()}")
    print()
    names = {"lfcode": "lfcode serve (LSP, stdio)", "llama-server": "llama-server /completion (llama.vim's way)",
             "raw": "raw llama-cpp-python (same prompt)"}
    table([(names[p], results[p]) for p in paths])
    print()
    print("| metric | value | goal | |")
    print("|---|---|---|---|")
    lf = results["lfcode"]
    if "llama-server" in results and results["llama-server"] and lf:
        base = results["llama-server"]
        for q, goal in ((50, 0.6), (95, 0.5)):
            ratio = percentile(lf, q) / percentile(base, q)
            print(f"| p{q} lfcode / llama-server | {ratio:.2f}× | ≤ {goal}× | {verdict(ratio <= goal)} |")
    print(f"| lfcode cold start (spawn → first suggestion; median of {len(colds)}, {min(colds):.0f}–{max(colds):.0f}) "
          f"| {cold:.0f} ms | ≤ 1500 ms | {verdict(cold <= 1500)} |")
    budget = model_file.stat().st_size + 250 * 1000 * 1000
    print(f"| lfcode peak RSS (VmHWM, max over rounds) | {lfcode_rss / 1024:.0f} MiB | ≤ model {model_file.stat().st_size / MIB:.0f} MiB "
          f"+ 250 MB = {budget / MIB:.0f} MiB | {verdict(lfcode_rss * 1024 <= budget)} |")
    quick = sum(1 for ms in lf if ms < args.no_model_ms)
    share = f"{quick}/{len(lf)} ({100 * quick / len(lf):.0f} %)" if lf else "–"
    print(f"| lfcode answers without a model call (heuristic: answered in < {args.no_model_ms:.0f} ms) | {share} | – | – |")
    if server_ready:
        print()
        print(f"llama-server: spawn → /health OK {statistics.mean(server_ready):.0f} ms (mean of {len(server_ready)}); "
              f"peak RSS {server_rss / 1024:.0f} MiB; prompt tokens evaluated {server_counters['prompt_n']}, "
              f"taken from its cache {server_counters['cache_n']}, generated {server_counters['predicted_n']}")
        for line in sorted(server_warnings):
            print(f"llama-server log: {line}")


# -- --scale: the standard library as the workspace ------------------------------------------------


def index_build_seconds(root: Path) -> tuple[float, int | None]:
    """In-process: seconds from ``SymbolIndex.start(root)`` until idle, and the files indexed."""
    try:
        from lfcode.context.index import SymbolIndex
    except ImportError:  # an older layout kept the index next to the symbol model
        from lfcode.context.symbols import SymbolIndex  # type: ignore[attr-defined,no-redef]
    index = SymbolIndex()
    began = time.perf_counter()
    index.start(root)
    if not index.wait_idle(600):
        raise TimeoutError("the symbol index was not idle after 600 s")
    elapsed = time.perf_counter() - began
    files = index.files(root) if hasattr(index, "files") else None
    index.close()
    return elapsed, len(files) if files is not None else None


def did_change_ms(lines_wanted: int = 5000, edits: int = 20) -> tuple[float, str]:
    """Median ms of one ``Workspace.changed`` (one character typed mid-file) on a 5,000-line file."""
    from lfcode.context.workspace import Workspace

    source = STDLIB / "_pydecimal.py"
    lines = source.read_text().splitlines(keepends=True) if source.exists() else []
    label = f"first {lines_wanted} lines of {source.name}"
    pool = sorted(STDLIB.glob("*.py"))
    while len(lines) < lines_wanted and pool:  # a shorter stdlib: append other modules
        lines += pool.pop(0).read_text(errors="replace").splitlines(keepends=True)
        label = f"{lines_wanted} lines of stdlib modules"
    text = "".join(lines[:lines_wanted])
    workspace = Workspace()
    uri = (STDLIB / "__bench_5000_lines__.py").as_uri()
    workspace.opened(uri, text, "python", str(STDLIB / "__bench_5000_lines__.py"), 1)
    line_no = lines_wanted // 2
    times = []
    for version in range(2, 2 + edits):
        current = text.splitlines(keepends=True)
        current[line_no] = "x" + current[line_no]
        text = "".join(current)
        began = time.perf_counter()
        workspace.changed(uri, [(((line_no, 0), (line_no, 0)), "x")], version, text)
        while workspace.resume_parse(uri):
            pass
        times.append((time.perf_counter() - began) * 1000)
    workspace.close()
    return statistics.median(times), label


async def scale_server(args: argparse.Namespace, files: list[Path]) -> tuple[int, int, float, bool, list[float]]:
    """``lfcode serve`` with the stdlib as rootUri: RSS once indexing settled, then a replay."""
    server = Lfcode(args.model)
    await server.start(STDLIB)
    await server.wait_ready()
    opened = time.perf_counter()
    server.open(STDLIB / "__bench_open__.py", "import os\n")  # the index starts on the first didOpen
    # Settled: over the last 3 s VmRSS grew by at most 1 MiB and the server used < 5 % of a CPU.
    samples: list[tuple[float, int, float]] = []  # (time, VmRSS KiB, CPU s)
    settle_s, settled = 0.0, False
    while time.perf_counter() - opened < args.settle_timeout:
        await asyncio.sleep(0.5)
        now = time.perf_counter()
        samples.append((now, llama_server.rss_kib(server.pid), llama_server.cpu_seconds(server.pid)))
        window = [s for s in samples if s[0] >= now - 3.0]
        if now - opened >= 3.5 and len(window) >= 5:
            grew = max(s[1] for s in window) - window[0][1]
            busy = (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0])
            if grew <= 1024 and busy < 0.05:
                settle_s, settled = window[0][0] - opened, True
                break
    else:
        settle_s = time.perf_counter() - opened
    rss_now = llama_server.rss_kib(server.pid)
    positions = typed_positions(files, args.start, args.lines)
    latencies = await server.replay(files, positions, args.start, args.pause_ms)
    hwm = llama_server.peak_rss_kib(server.pid)
    await server.stop()
    return rss_now, hwm, settle_s, settled, latencies


def scale(args: argparse.Namespace, files: list[Path]) -> None:
    build_s, indexed = index_build_seconds(STDLIB)
    change_ms, change_label = did_change_ms()
    rss, hwm, settle_s, settled, latencies = asyncio.run(scale_server(args, files))
    print(f"workspace: {STDLIB} ({indexed if indexed is not None else '?'} files indexed)")
    print()
    print("| metric | value |")
    print("|---|---|")
    print(f"| symbol index build (in-process, start → idle) | {build_s * 1000:.0f} ms |")
    print(f"| didChange on a 5,000-line file (Workspace.changed, median of 20; {change_label}) | {change_ms:.2f} ms |")
    state = f"idle {settle_s:.1f} s after the first didOpen" if settled else f"still busy {args.settle_timeout:.0f} s after the first didOpen"
    print(f"| lfcode serve RSS with the index built ({state}) | {rss / 1024:.0f} MiB (peak {hwm / 1024:.0f} MiB) |")
    print()
    print(f"keystrokes with the index loaded: {', '.join(p.name for p in files)}; {args.lines} typed line(s) each")
    print()
    table([("lfcode serve (LSP, stdio), stdlib workspace", latencies)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"files to type (default: {', '.join(DEFAULT_FILES)} from the stdlib)")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--replay", choices=["functions", "lines"], default="functions",
                        help="six stdlib functions' bodies (issue 12's replay), or --lines lines from --start of each FILE")
    parser.add_argument("--function-lines", type=int, default=7, help="--replay functions: lines typed per function")
    parser.add_argument("--start", type=int, default=30, help="lines already in the document (and the cold start's line)")
    parser.add_argument("--lines", type=int, default=25, help="lines typed per file")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh servers timed for the cold start (median)")
    parser.add_argument("--pause-ms", type=int, default=2000, help="idle time after opening each file")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the path order alternates")
    parser.add_argument("--context-tokens", type=int, default=None, help="prompt budget of the baselines (default: lfcode's)")
    parser.add_argument("--no-model-ms", type=float, default=15.0, help="answers faster than this count as 'no model call'")
    parser.add_argument("--llama-server", default=None, help="llama-server binary (default: build_llama_server.sh's cache)")
    parser.add_argument("--skip-server", action="store_true", help="leave out llama-server")
    parser.add_argument("--skip-raw", action="store_true", help="leave out raw llama-cpp-python")
    parser.add_argument("--scale", action="store_true", help="the stdlib as the workspace: index, RSS, didChange")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="--scale: longest wait for RSS to settle, s")
    args = parser.parse_args()
    if args.context_tokens is None:
        from lfcode.settings import Settings

        args.context_tokens = Settings().context_tokens
    files = [p.resolve() for p in args.files] or [STDLIB / name for name in DEFAULT_FILES]
    if args.scale:
        scale(args, files)
    else:
        compare(args, files)


if __name__ == "__main__":
    main()
