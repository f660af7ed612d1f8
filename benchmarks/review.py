"""Benchmark for ``lfcode review``: speed, seeded-bug recall and false positives.

Prints a markdown table (and ``--json`` writes the numbers):

* **hunks per second** over real history: the last commits of this project (each reviewed as
  ``sha^..sha``); without history, the source of an installed package (``click``) reviewed as new
  files in a fresh repository;
* **seeded-bug recall**: real functions from the standard library (``textwrap``, ``statistics``,
  ``asyncio`` ...) get one known bug each — off-by-one (``<`` to ``<=``, or a bound such as
  ``+ 1``, ``[1:]`` or ``range(0, n)`` moved by one), inverted condition, wrong variable (one parameter used for another) or missing ``await`` — and
  the bug's hunk counts as found when the review reports any finding on it;
* **false-positive rate** on behaviour-preserving changes to the same kind of functions: a local
  variable renamed everywhere, and the function reformatted (``ast.unparse``); any finding is a
  false positive, an ``error`` one would also block a push under ``--fail-on error``.

Usage: ``python benchmarks/review.py --model embedded [--cases 5] [--history-hunks 10]``;
``--backend fake`` runs the harness with the scripted backend (answers ``[]``) in seconds.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import random
import re
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import git

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lfcode.backends import make_backend  # noqa: E402
from lfcode.errors import Cancelled  # noqa: E402
from lfcode.review.model import ReviewOptions, review  # noqa: E402
from lfcode.settings import Settings  # noqa: E402

MODULES = ("textwrap", "statistics", "bisect", "heapq", "shlex", "difflib", "fnmatch", "posixpath",
           "calendar", "colorsys", "html", "ipaddress", "json.decoder", "csv", "string", "gettext")
ASYNC_MODULES = ("asyncio.streams", "asyncio.locks", "asyncio.queues", "asyncio.tasks",
                 "asyncio.base_events", "asyncio.sslproto")
BUGS = ("off_by_one", "inverted_condition", "wrong_variable", "missing_await")
SAFE = ("rename_variable", "reformat")
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}


def functions(modules: tuple[str, ...]) -> list[str]:
    """Dedented sources of 6-40 line functions and methods from ``modules``, in file order."""
    out = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        text = Path(spec.origin).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and 6 <= node.end_lineno - node.lineno <= 40:
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                src = textwrap.dedent("\n".join(text.splitlines()[start - 1:node.end_lineno])) + "\n"
                try:
                    ast.parse(src)
                except SyntaxError:
                    continue
                out.append(src)
    return out


def _edit(src: str, edits: list[tuple[int, int, int, str]]) -> str:
    """Apply ``(line, start_col, end_col, text)`` edits (1-based lines, UTF-8 byte columns)."""
    lines = src.splitlines(keepends=True)
    for line, a, b, text in sorted(edits, reverse=True):
        raw = lines[line - 1].encode("utf-8")
        lines[line - 1] = (raw[:a] + text.encode("utf-8") + raw[b:]).decode("utf-8")
    return "".join(lines)


def _params(fn: ast.AST) -> list[str]:
    return [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]


def _index_like(node: ast.AST, parents: dict) -> bool:
    """A small int constant used as a bound: ``x + 1``, ``a[1:]``, ``a[0]``, ``range(0, n)``."""
    if not (isinstance(node, ast.Constant) and type(node.value) is int and 0 <= node.value <= 2):
        return False
    parent = parents.get(node)
    if isinstance(parent, ast.BinOp):
        return isinstance(parent.op, (ast.Add, ast.Sub))
    if isinstance(parent, ast.Call):
        return isinstance(parent.func, ast.Name) and parent.func.id == "range"
    return isinstance(parent, ast.Slice) or (isinstance(parent, ast.Subscript) and parent.slice is node)


def mutate(src: str, kind: str, rng: random.Random) -> tuple[str, int] | None:
    """``(new source, changed line)`` after applying ``kind`` to ``src``, or ``None`` if it cannot."""
    tree = ast.parse(src)
    fn = tree.body[0]
    lines = src.splitlines()
    parents = {child: node for node in ast.walk(fn) for child in ast.iter_child_nodes(node)}
    options: list[tuple[list[tuple[int, int, int, str]], int]] = []
    for node in ast.walk(fn):
        if kind in ("off_by_one", "inverted_condition") and isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = node.left, node.comparators[0]
            if left.end_lineno != right.lineno:
                continue
            raw = lines[right.lineno - 1].encode()
            between = raw[left.end_col_offset:right.col_offset].decode()
            op = between.strip()
            wanted = ("<", "<=", ">", ">=") if kind == "off_by_one" else ("==", "!=")
            if op in wanted:
                new = between.replace(op, _SWAP[op])
                options.append(([(right.lineno, left.end_col_offset, right.col_offset, new)], right.lineno))
        elif kind == "off_by_one" and _index_like(node, parents):
            options.append(([(node.lineno, node.col_offset, node.end_col_offset, str(node.value + 1))], node.lineno))
        elif kind == "inverted_condition" and isinstance(node, (ast.If, ast.While)):
            t = node.test
            options.append(([(t.end_lineno, t.end_col_offset, t.end_col_offset, ")"),
                             (t.lineno, t.col_offset, t.col_offset, "not (")], t.lineno))
        elif kind == "wrong_variable" and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            others = [p for p in _params(fn) if p != node.id]
            if node.id in _params(fn) and others:
                options.append(([(node.lineno, node.col_offset, node.end_col_offset, rng.choice(others))], node.lineno))
        elif kind == "missing_await" and isinstance(node, ast.Await):
            options.append(([(node.lineno, node.col_offset, node.value.col_offset, "")], node.lineno))
    rng.shuffle(options)
    for edits, line in options:
        new = _edit(src, edits)
        try:
            ast.parse(new)
        except SyntaxError:
            continue
        if new != src:
            return new, line
    return None


def preserve(src: str, kind: str) -> str | None:
    """A behaviour-preserving rewrite of ``src``: rename a local variable, or reformat."""
    tree = ast.parse(src)
    fn = tree.body[0]
    if kind == "reformat":
        new = ast.unparse(tree) + "\n"
        return new if new != src else None
    names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    stored = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
              and n.id not in _params(fn)]
    nonlocal_names = {n for s in ast.walk(fn) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
    for name in stored:
        if name in nonlocal_names or f"{name}_value" in names:
            continue
        edits = [(n.lineno, n.col_offset, n.end_col_offset, f"{name}_value")
                 for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == name]
        return _edit(src, edits)
    return None


def review_change(before: str, after: str, backend, workdir: Path) -> tuple[int, int, int, float]:
    """Review one change to ``case.py``: (findings, error findings, copies of the prompt's
    examples that were dropped, seconds)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    repo = git.Repo.init(workdir)
    (workdir / "case.py").write_text(before, encoding="utf-8")
    repo.git.add("case.py")
    repo.git.commit("-m", "before", env={**os.environ, **IDENTITY})
    (workdir / "case.py").write_text(after, encoding="utf-8")
    start = time.perf_counter()
    result = review(workdir, ReviewOptions(include_untracked=False), backend)
    repo.close()
    seconds = time.perf_counter() - start
    parroted = sum(int(m.group(1)) for n in result.notes
                   if (m := re.match(r"(\d+) finding\(s\) that only repeated", n)))
    return len(result.findings), sum(f.severity == "error" for f in result.findings), parroted, seconds


IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


class Counting:
    """A backend wrapper that counts generations (one per hunk piece that fits the context)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0

    @property
    def capabilities(self):
        return self.inner.capabilities

    def tokenize(self, text: str) -> list[int]:
        return self.inner.tokenize(text)

    def complete(self, request, cancel):
        self.calls += 1
        return self.inner.complete(request, cancel)


def throughput(backend, max_hunks: int, tmp: Path) -> tuple[str, int, int, float]:
    """(source, hunks, model calls, seconds) over this project's recent commits, else a package."""
    counting = Counting(backend)
    cancel = threading.Event()
    hunks, elapsed, source = 0, 0.0, ""

    def reviewed(path: Path, options: ReviewOptions, limit: int) -> int:
        """Hunks reviewed in ``path``, stopping after ``limit`` (a stopped review raises
        ``Cancelled``, so the hunks are counted by the progress callback)."""
        done_so_far = [0]

        def callback(done: int, _total: int) -> None:
            done_so_far[0] = done
            if done >= limit:
                cancel.set()

        cancel.clear()
        try:
            return review(path, options, counting, callback, cancel).hunks_reviewed
        except Cancelled:
            return done_so_far[0]

    try:
        repo = git.Repo(ROOT)
        commits = [c for c in repo.iter_commits("HEAD", max_count=50) if len(c.parents) == 1]
        repo.close()
    except (git.InvalidGitRepositoryError, ValueError, git.GitCommandError):
        commits = []
    for n, c in enumerate(commits, 1):
        if hunks >= max_hunks:
            break
        start = time.perf_counter()
        done = reviewed(ROOT, ReviewOptions(range=f"{c.hexsha}^..{c.hexsha}"), max_hunks - hunks)
        elapsed += time.perf_counter() - start
        hunks += done
        source = f"last {n} commit(s) of lfcode"
        print(f"history {c.hexsha[:8]}: {done} hunk(s), {counting.calls} call(s) so far",
              file=sys.stderr)
    if hunks:
        return source, hunks, counting.calls, elapsed
    import click  # no history yet: an installed package's real source, reviewed as new files

    work = tmp / "history"
    shutil.copytree(Path(click.__file__).parent, work, ignore=shutil.ignore_patterns("__pycache__"))
    git.Repo.init(work).close()
    start = time.perf_counter()
    done = reviewed(work, ReviewOptions(), max_hunks)
    return "click sources as new files", done, counting.calls, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help='"embedded" or a GGUF path')
    parser.add_argument("--backend", default="llama-cpp", choices=("llama-cpp", "openai", "fake"))
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--cases", type=int, default=5, help="functions per bug kind / change kind")
    parser.add_argument("--history-hunks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    settings = Settings(model=args.model, backend=args.backend, n_ctx=args.n_ctx)
    if args.backend == "fake":
        from lfcode.backends.fake import FakeBackend

        backend = FakeBackend(default="[]")
    else:
        backend = make_backend(settings)
    rng = random.Random(args.seed)
    plain, asynchronous = functions(MODULES), functions(ASYNC_MODULES)
    rows: list[tuple[str, str, str]] = []
    numbers: dict = {"model": backend.capabilities.name}
    with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as tmpname:
        tmp = Path(tmpname)
        source, hunks, calls, seconds = throughput(backend, args.history_hunks, tmp)
        numbers["throughput"] = {"source": source, "hunks": hunks, "model_calls": calls,
                                 "seconds": round(seconds, 2)}
        rows.append(("hunks per second", f"{hunks / seconds:.3f}" if seconds else "n/a",
                     f"{hunks} hunks ({calls} model calls after splitting), {source}, {seconds:.1f} s"))
        for group, kinds, make in (("recall", BUGS, mutate), ("false positives", SAFE, None)):
            total = flagged = errors = parroted = 0
            for kind in kinds:
                pool = asynchronous if kind == "missing_await" else plain
                order = rng.sample(range(len(pool)), len(pool))
                found = hit = 0
                for i in order:
                    if found >= args.cases:
                        break
                    src = pool[i]
                    changed = make(src, kind, rng) if make else preserve(src, kind)
                    if changed is None:
                        continue
                    after = changed[0] if make else changed
                    n, err, copies, secs = review_change(src, after, backend, tmp / "case")
                    print(f"{group} {kind} #{found + 1}: {n} finding(s), {copies} parroted, "
                          f"{secs:.1f} s", file=sys.stderr)
                    parroted += copies > 0
                    found += 1
                    hit += n > 0
                    errors += err > 0
                rows.append((f"{group}: {kind}", f"{hit}/{found}", ""))
                numbers.setdefault(group, {})[kind] = [hit, found]
                total += found
                flagged += hit
            rate = flagged / total if total else 0.0
            extra = f"{errors}/{total} with an error finding (would block a push); " if not make else ""
            extra += f"{parroted}/{total} answers only repeated the prompt's examples (dropped)"
            numbers.setdefault(group, {})["parroted"] = parroted
            rows.append((f"**{group}**", f"{rate:.0%} ({flagged}/{total})", extra))
    print(f"lfcode review benchmark, model {numbers['model']}, backend {args.backend}\n")
    print("| measure | value | notes |\n|---|---|---|")
    for measure, value, note in rows:
        print(f"| {measure} | {value} | {note} |")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
