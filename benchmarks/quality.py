"""Completion quality on HumanEval-Infilling: a raw prefix-only baseline against lfcode's pipeline.

Data: ``../shared/benchmarks/human-eval-infilling/`` next to the repository (Bavarian et al.,
"Efficient Training of Language Models to Fill in the Middle", 2022; the jsonl files of
``openai/human-eval-infilling``). Each task is a Python function with a hole: ``prompt`` (the
prefix, ending with a newline), ``canonical_solution`` (the middle, whole lines) and ``suffix``.

(a) **baseline**: the raw prefix to llama-cpp-python, greedy; single-line stops at ``"\\n"``,
    multi-line at a blank line (``"\\n\\n"``, 128 tokens at most).
(b) **pipeline**: ``lfcode.completion.engine`` on the document as an editor holds it: the prefix, an
    empty line with the cursor at column 0, then the suffix. The single-line set is run with
    ``multiline=False`` (the baseline is told "one line" too); the multi-line set lets the syntax
    decide. ``--auto-single`` adds a row for the single-line set with the shape decided by syntax.

Metrics: exact match (lines compared without trailing white space), edit similarity (1 −
Levenshtein distance / longer length, as in CodeXGLUE and RepoCoder), and pass@1 (prefix +
middle + suffix + the task's ``test`` + ``check(entry_point)`` run by a fresh Python with a
timeout). It also times building the context after an edit of a 5,000-line file. Prints markdown
tables. Usage::

    python benchmarks/quality.py --set single --n 300 --seed 0
    python benchmarks/quality.py --set multi --n 200 --seed 0
    python benchmarks/quality.py --context-timing
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "benchmarks" / "human-eval-infilling"
FILES = {"single": "HumanEval-SingleLineInfilling.jsonl.gz", "multi": "HumanEval-MultiLineInfilling.jsonl.gz"}
TIMEOUT_S = 10.0


def load_tasks(kind: str, n: int, seed: int) -> list[dict]:
    """A seeded random subset of ``n`` tasks of the ``single`` or ``multi`` set (all when n ≤ 0)."""
    with gzip.open(DATA / FILES[kind], "rt", encoding="utf-8") as handle:
        tasks = [json.loads(line) for line in handle if line.strip()]
    if 0 < n < len(tasks):
        tasks = random.Random(seed).sample(tasks, n)
    return tasks


def normalize(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip("\n").split("\n"))


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(a: str, b: str) -> float:
    a, b = normalize(a), normalize(b)
    longest = max(len(a), len(b))
    return 1.0 if not longest else 1.0 - levenshtein(a, b) / longest


_PASS_CACHE: dict[str, bool] = {}


def passes(task: dict, middle: str) -> bool:
    """Run the completed function against the task's tests in a fresh interpreter."""
    program = task["prompt"] + middle + task["suffix"] + "\n" + task["test"] + f"\ncheck({task['entry_point']})\n"
    key = hashlib.sha256(program.encode()).hexdigest()
    if key not in _PASS_CACHE:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
            handle.write(program)
        try:
            done = subprocess.run([sys.executable, handle.name], capture_output=True, timeout=TIMEOUT_S, cwd=tempfile.gettempdir())
            _PASS_CACHE[key] = done.returncode == 0
        except subprocess.TimeoutExpired:
            _PASS_CACHE[key] = False
        finally:
            os.unlink(handle.name)
    return _PASS_CACHE[key]


@dataclass
class Score:
    """Running totals for one row of the table; times in ms."""

    name: str
    exact: int = 0
    similarity: float = 0.0
    passed: int = 0
    count: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, task: dict, middle: str, elapsed_ms: float) -> None:
        self.count += 1
        self.exact += normalize(middle) == normalize(task["canonical_solution"])
        self.similarity += edit_similarity(middle, task["canonical_solution"])
        self.passed += passes(task, middle)
        self.ms.append(elapsed_ms)

    def row(self) -> str:
        n = max(1, self.count)
        return (f"| {self.name} | {self.count} | {100 * self.exact / n:.1f} | {100 * self.similarity / n:.1f} | "
                f"{100 * self.passed / n:.1f} | {statistics.median(self.ms) if self.ms else 0:.0f} |")


def baseline(llm, task: dict, kind: str) -> str:
    """The raw prefix to llama-cpp-python, greedy."""
    stop, tokens = (["\n"], 64) if kind == "single" else (["\n\n"], 128)
    out = llm.create_completion(task["prompt"], max_tokens=tokens, temperature=0.0, top_k=1, stop=stop)
    text = out["choices"][0]["text"]
    return text.rstrip("\n") + "\n"


def pipeline(
    backend, task: dict, multiline: bool | None, parts: frozenset[str] | None = None,
    recent: list[dict] | None = None, **option_values,
) -> str:
    """lfcode's pipeline on the editor's view of the task: an empty line at the hole.

    ``parts`` selects the context parts (default: lfcode's default); ``recent`` tasks are put in
    the ring buffer as recently viewed files; other keywords are ``CompletionOptions``.
    """
    from lfcode.context.builder import DEFAULT_PARTS, ContextSources
    from lfcode.context.ring import Chunk, RingBuffer
    from lfcode.completion.engine import CompletionInput, CompletionOptions, complete

    text = task["prompt"] + "\n" + task["suffix"]
    source = CompletionInput(text=text, offset=len(task["prompt"]), path="solution.py", language_id="python")
    ring = RingBuffer()
    for number, other in enumerate(recent or []):
        code = (other["prompt"] + other["canonical_solution"] + other["suffix"]).rstrip("\n").split("\n")
        ring.pick(Chunk(f"other_{number}.py", 0, tuple(code[:64])))
    ring.flush()
    sources = ContextSources(ring=ring, parts=DEFAULT_PARTS if parts is None else parts)
    result = complete(backend, source, CompletionOptions(multiline=multiline, **option_values), context=sources)
    return (result.items[0] if result.items else "") + "\n"


def run_set(kind: str, n: int, seed: int, variants: dict[str, Callable[[dict], str]], verbose: bool) -> list[Score]:
    tasks = load_tasks(kind, n, seed)
    scores = {name: Score(name) for name in variants}
    for number, task in enumerate(tasks, 1):
        for name, run in variants.items():
            began = time.perf_counter()
            middle = run(task)
            scores[name].add(task, middle, (time.perf_counter() - began) * 1000)
            if verbose:
                print(f"{task['task_id']} {name}: {middle!r}", file=sys.stderr, flush=True)
        if number % 25 == 0:
            print(f"  {kind}: {number}/{len(tasks)}", file=sys.stderr, flush=True)
    return list(scores.values())


def print_table(title: str, scores: list[Score]) -> None:
    print(f"\n{title}\n")
    print("| variant | tasks | exact match % | edit similarity % | pass@1 % | median ms |")
    print("|---|---|---|---|---|---|")
    for score in scores:
        print(score.row())


class _SilentModel:
    """The real model's tokenizer and capabilities, but generation returns nothing: times
    everything ``complete()`` does around the model."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.capabilities = backend.capabilities
        self.tokenize = backend.tokenize

    def complete(self, request, cancel):
        return iter(())


def context_timing(backend, lines: int = 5000, edits: int = 50) -> None:
    """Time (ms) of one keystroke's work on a ``lines``-line Python file: the incremental reparse
    after a one-character edit, building the prompt's context, and all of ``complete()`` except
    the model (context, shape, post-processing of an empty answer)."""
    import sysconfig

    from lfcode.context.documents import DocumentStore
    from lfcode.context.workspace import Workspace
    from lfcode.completion.engine import CompletionInput, CompletionOptions, complete
    from lfcode.completion.prompt import build_prompt

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text_lines: list[str] = []
    for name in ("textwrap.py", "argparse.py", "inspect.py", "typing.py"):
        text_lines += (stdlib / name).read_text().splitlines(keepends=True)
    text = "".join(text_lines[:lines])
    store: DocumentStore = Workspace(index=False).documents
    store.open("file:///big.py", text, "python", "/ws/big.py")
    sources = Workspace(index=False).sources()
    silent = _SilentModel(backend)
    reparse, build, whole = [], [], []
    row = lines * 3 // 4
    offset = len("".join(text_lines[:row])) + 5  # after the first inserted "x"
    for k in range(edits):
        began = time.perf_counter()
        snap = store.change("file:///big.py", [(((row, 4), (row, 4)), "x")], k + 2)
        parsed = time.perf_counter()
        build_prompt(backend, snap.text[:offset], snap.text[offset:], 1024, None, snap.path, language="python", tree=snap.tree, sources=sources)
        built = time.perf_counter()
        source = CompletionInput(snap.text, offset, snap.path, "python", snap.tree)
        complete(silent, source, CompletionOptions(fallback_samples=0), context=sources)
        done = time.perf_counter()
        reparse.append((parsed - began) * 1000)
        build.append((built - parsed) * 1000)
        whole.append((done - built) * 1000)
    print(f"\nKeystroke work on a {lines}-line Python file, p50 of {edits} edits: incremental reparse "
          f"{statistics.median(reparse):.2f} ms + context build {statistics.median(build):.2f} ms = "
          f"{statistics.median([a + b for a, b in zip(reparse, build)]):.2f} ms; all of complete() "
          f"except the model {statistics.median(whole):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["single", "multi", "both"], default="both")
    parser.add_argument("--n", type=int, default=0, help="tasks per set (0 = 300 single / 200 multi)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--auto-single", action="store_true", help="also run the single-line set with the shape decided by syntax")
    parser.add_argument("--ablate", action="store_true", help="add rows without the parse check / fallback samples / header")
    parser.add_argument("--context-timing", action="store_true", help="only time the context build on a 5,000-line file")
    parser.add_argument("--verbose", action="store_true", help="log every middle to stderr")
    args = parser.parse_args()

    from lfcode.backends import model_path
    from lfcode.backends.llama_cpp import LlamaCppBackend
    from lfcode.context.builder import PARTS
    from lfcode.settings import Settings

    settings = Settings(model=args.model, n_threads=args.threads or None)
    path = model_path(settings)
    backend = LlamaCppBackend(path, n_ctx=settings.n_ctx, n_threads=settings.resolved_threads())
    if args.context_timing:
        context_timing(backend)
        return
    import llama_cpp

    llm = None if args.skip_baseline else llama_cpp.Llama(str(path), n_ctx=settings.n_ctx, n_threads=settings.resolved_threads(), verbose=False)
    print(f"model: {backend.capabilities.name}; CPU threads: {settings.resolved_threads()}; seed {args.seed}")
    for kind in (["single", "multi"] if args.set == "both" else [args.set]):
        forced = False if kind == "single" else None
        variants: dict[str, Callable[[dict], str]] = {}
        if llm is not None:
            variants["(a) raw prefix-only baseline"] = lambda t, k=kind: baseline(llm, t, k)
        variants["(b) lfcode pipeline"] = lambda t, m=forced: pipeline(backend, t, m)
        if kind == "single" and args.auto_single:
            variants["(b) pipeline, shape from syntax"] = lambda t: pipeline(backend, t, None)
        if args.ablate:
            variants["(b) with the header comment"] = lambda t, m=forced: pipeline(backend, t, m, frozenset(PARTS))
            others = load_tasks(kind, 0, 0)
            pick = random.Random(args.seed + 1)
            variants["(b) with 2 other tasks in the ring buffer"] = lambda t, m=forced: pipeline(
                backend, t, m, recent=[o for o in pick.sample(others, 3) if o["task_id"].split("/")[2] != t["task_id"].split("/")[2]][:2])
            variants["(b) without the guided answer"] = lambda t, m=forced: pipeline(backend, t, m, guided=False)
            variants["(b) without parse check"] = lambda t, m=forced: pipeline(backend, t, m, check_syntax=False)
            variants["(b) without fallback samples"] = lambda t, m=forced: pipeline(backend, t, m, fallback_samples=0)
        n = args.n or (300 if kind == "single" else 200)
        scores = run_set(kind, n, args.seed, variants, args.verbose)
        print_table(f"{'Single' if kind == 'single' else 'Multi'}-line infilling ({n} tasks, seed {args.seed})", scores)


if __name__ == "__main__":
    main()
