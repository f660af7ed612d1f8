"""Keystroke latency: replay typing through ``lfcode serve`` and compare with raw llama-cpp-python.

For each file, the document starts with its first ``--start`` lines; then, line by line, the
benchmark sends the next line as an incremental ``didChange`` and asks for an inline completion
(Automatic trigger, debounce 0) at the start of the new line. The same cursor positions are then
run through raw llama-cpp-python with a naive prefix-only prompt (the last ``--context-tokens``
tokens of the prefix, ``max_tokens`` 64, greedy, stop at a blank line).

Prints p50 / p95 / mean in milliseconds for both, the cold start (process spawn → first
suggestion) and the server's peak RSS. Usage::

    python benchmarks/latency.py [--model embedded|PATH] [--lines 40] [FILE ...]
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

DEFAULT_FILES = ["textwrap.py", "colorsys.py", "fnmatch.py"]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(name: str, values: list[float]) -> str:
    return f"| {name} | {len(values)} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | {statistics.mean(values):.0f} |"


def positions(path: Path, start: int, count: int) -> list[int]:
    lines = path.read_text().splitlines()
    return list(range(start, min(len(lines), start + count)))


async def replay_server(files: list[Path], start: int, count: int, model: str) -> tuple[list[float], float, int]:
    """Latencies (ms) through the server, cold start (ms) and peak RSS (KiB)."""
    client = LanguageClient("latency-bench", "1")
    spawned = time.perf_counter()
    env = {**os.environ, "LFCODE_MODEL": model}
    await client.start_io(sys.executable, "-m", "lfcode", "serve", env=env)
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(inline_completion=types.InlineCompletionClientCapabilities())
    )
    await client.initialize_async(types.InitializeParams(capabilities=caps, initialization_options={"debounce_ms": 0}))
    client.initialized(types.InitializedParams())
    latencies: list[float] = []
    cold = 0.0
    for path in files:
        lines = path.read_text().splitlines(keepends=True)
        uri = path.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text="".join(lines[:start]))
            )
        )
        for version, line in enumerate(positions(path, start, count), start=2):
            # Type the previous line, then stand at the start of the new one.
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(start=types.Position(line=line - 1, character=0), end=types.Position(line=line - 1, character=0)),
                            text=lines[line - 1],
                        )
                    ],
                )
            ) if line > start else None
            params = types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=0),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            )
            began = time.perf_counter()
            await client.text_document_inline_completion_async(params)
            elapsed = (time.perf_counter() - began) * 1000
            print(f"{path.name}:{line + 1} {elapsed:.0f} ms", file=sys.stderr, flush=True)
            if not cold:
                cold = (time.perf_counter() - spawned) * 1000
            else:
                latencies.append(elapsed)
    rss = _peak_rss_kib(client)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return latencies, cold, rss


def _peak_rss_kib(client: LanguageClient) -> int:
    server = getattr(client, "_server", None)
    if server is None:
        return 0
    try:
        for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def replay_raw(files: list[Path], start: int, count: int, model: str, context_tokens: int) -> list[float]:
    """Latencies (ms) of raw llama-cpp-python on a prefix-only prompt at the same positions."""
    import llama_cpp

    from lfcode.backends import model_path
    from lfcode.settings import Settings

    settings = Settings(model=model)
    llm = llama_cpp.Llama(str(model_path(settings)), n_ctx=settings.n_ctx, n_threads=settings.resolved_threads(), verbose=False)
    latencies: list[float] = []
    first = True
    for path in files:
        lines = path.read_text().splitlines(keepends=True)
        for line in positions(path, start, count):
            prefix = "".join(lines[:line])
            tokens = llm.tokenize(prefix.encode())[-context_tokens:]
            began = time.perf_counter()
            llm.create_completion(llm.detokenize(tokens).decode("utf-8", "ignore"), max_tokens=64, temperature=0, stop=["\n\n"])
            elapsed = (time.perf_counter() - began) * 1000
            if first:
                first = False  # the first call warms up, as the server's cold start does
            else:
                latencies.append(elapsed)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--start", type=int, default=30, help="lines already in the document")
    parser.add_argument("--lines", type=int, default=25, help="lines typed per file")
    parser.add_argument("--context-tokens", type=int, default=1024)
    parser.add_argument("--skip-raw", action="store_true")
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = args.files or [stdlib / name for name in DEFAULT_FILES]
    lfcode_ms, cold, rss = asyncio.run(replay_server(files, args.start, args.lines, args.model))
    print(f"files: {', '.join(p.name for p in files)}; {args.lines} typed lines each; CPU threads: {os.cpu_count()}")
    print()
    print("| path | requests | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|---|")
    print(summary("lfcode serve (LSP, stdio)", lfcode_ms))
    if not args.skip_raw:
        print(summary("raw llama-cpp-python, prefix-only", replay_raw(files, args.start, args.lines, args.model, args.context_tokens)))
    print()
    print(f"cold start (spawn → first suggestion): {cold:.0f} ms; server peak RSS: {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
