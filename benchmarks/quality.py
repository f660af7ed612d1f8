"""Completion quality on HumanEval-Infilling and on real code: a raw prefix-only baseline against lfcode's pipeline.

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
tables.

**Real-code set** (``--set real``, default 100 cases): one masked line in each of many files of
the packages installed for the running interpreter, i.e. its site-packages
(``sysconfig.get_paths()["purelib"]``), never the standard library (not walked) and never lfcode
or this repository (the editable install's files, anything resolving outside site-packages or
into the repository, and symbolic links are skipped). Sampling, all deterministic for a seed and
an environment (the table prints a digest of the cases; a smaller ``--n`` gives a prefix of the
larger set):

1. Files: a sorted walk of site-packages, grouped by top-level package (``numpy``, ``yaml``, a
   single module). Not entered: ``*.dist-info``, ``__pycache__`` and the directories of
   :data:`REAL_SKIP_DIRS` (tests, testing, vendored copies, setuptools' copy of distutils). Not
   taken: ``test_*.py``, ``*_test.py``, ``conftest.py``; files outside 50–3,000 lines; files
   whose first 30 lines say they are generated; minified files (a line over 300 characters or
   a mean line over 80); files Python cannot tokenize.
2. ``random.Random(seed)`` shuffles the order of the packages and the files of each package, then
   takes packages round-robin, one file each per round (the next file that has a maskable line),
   so ``n`` cases span as many packages as the environment has before any package gives two.
3. One line per file, chosen by the same generator among the maskable lines
   (:func:`maskable_rows`): a whole logical line on one physical line, starting with code (no
   docstring or comment, no trailing comment), at least 20 lines into the file, 10–120
   characters without indentation, not only brackets and punctuation, not ``pass``, ``else:``,
   ``return``, ``break`` and the like.

Each case is the file as an editor shows it while the user retypes the line: the line replaced by
its leading indentation (the editor's auto-indent), the cursor after it, the rest of the file
after. Both paths see exactly this prefix and suffix. Rows: (a) **raw**: the last ``B`` tokens
of the prefix (plus BOS) to llama-cpp-python, greedy, stopped at ``"\\n"``; (b) **pipeline**
with the prompt budget ``context_tokens=B`` (the same ``B``: ``--context-tokens``, default
lfcode's setting), as an **Automatic** request stand-in (the engine called in-process with n=1
and the shape decided by syntax, as the LSP server does for Automatic triggers) and with the
shape forced to one line (``multiline=False``); ``--invoked`` adds the **Invoked** stand-in
(n=3, as the LSP server asks for Invoked triggers; the first item is scored). Only the first line
of an answer is scored, after stripping, by exact match and edit similarity. No workspace index
or ring buffer: the pipeline sees this file only. ``--context-sweep 1024,2048,4096`` runs (a)
and the Automatic (b) at each budget; ``n_ctx`` is raised for both paths when a budget plus the
longest answer would not fit. Each timed call starts with an empty KV cache. Usage::

    python benchmarks/quality.py --set single --n 300 --seed 0
    python benchmarks/quality.py --set multi --n 200 --seed 0
    python benchmarks/quality.py --set real --n 100 --seed 0 [--invoked] [--ablate]
    python benchmarks/quality.py --set real --n 60 --context-sweep 1024,2048,4096
    python benchmarks/quality.py --set real --n 20 --list-real   # only print the cases
    python benchmarks/quality.py --context-timing
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import tokenize
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
    recent: list[dict] | None = None, first_line: bool = False, **option_values,
) -> str:
    """lfcode's pipeline on the editor's view of the task: an empty line at the hole.

    ``parts`` selects the context parts (default: lfcode's default); ``recent`` tasks are put in
    the ring buffer as recently viewed files; ``first_line`` scores only the first line of the
    answer (see :func:`shown_answer`); other keywords are ``CompletionOptions``.
    """
    from lfcode.context.builder import DEFAULT_PARTS, ContextSources
    from lfcode.context.ring import Chunk, RingBuffer
    from lfcode.completion.engine import CompletionInput, CompletionOptions

    text = task["prompt"] + "\n" + task["suffix"]
    source = CompletionInput(text=text, offset=len(task["prompt"]), path="solution.py", language_id="python")
    ring = RingBuffer()
    for number, other in enumerate(recent or []):
        code = (other["prompt"] + other["canonical_solution"] + other["suffix"]).rstrip("\n").split("\n")
        ring.pick(Chunk(f"other_{number}.py", 0, tuple(code[:64])))
    ring.flush()
    sources = ContextSources(ring=ring, parts=DEFAULT_PARTS if parts is None else parts)
    options = CompletionOptions(multiline=multiline, **option_values)
    return shown_answer(backend, source, options, sources, first_line=first_line) + "\n"


def shown_answer(backend, source, options, sources, first_line: bool = False) -> str:
    """The answer as lfcode's server gives it. An Automatic stand-in (``extra_calls`` off) is
    answered, as the server does, with the first line of the block as soon as it is decoded
    (the engine's ``progress``; nothing when that line is blank): with ``first_line``, that line
    is the answer; else the whole block (what accepting line by line yields). Otherwise the
    first item."""
    from lfcode.completion.engine import complete

    shown: list[str] = []
    progress = None if options.extra_calls else (lambda item: shown.append(item))
    result = complete(backend, source, options, context=sources, progress=progress)
    item = result.items[0] if result.items else ""
    if first_line:
        return (shown[0] if shown else item).split("\n", 1)[0]
    return item


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


# ---------------------------------------------------------------------------------------------
# The real-code set: masked lines of the Python files of the installed packages.

#: Files of this many lines, inclusive, are sampled.
REAL_FILE_LINES = (50, 3000)
#: A masked line is at least this many lines into its file (0-based index).
REAL_MIN_ROW = 20
#: Length of a masked line without its indentation, characters, inclusive.
REAL_LINE_CHARS = (10, 120)
#: Cases taken from one file.
REAL_PER_FILE = 1
#: Directories never entered: tests, vendored copies, copies of the standard library, caches.
REAL_SKIP_DIRS = frozenset({
    "test", "tests", "testing", "_vendor", "vendor", "vendored", "_vendored", "extern", "_extern",
    "_distutils", "__pycache__", "node_modules", "site-packages",
})
#: Comments that mark a generated file (looked for, case-insensitively, in its first 30 lines).
REAL_GENERATED = ("generated by", "auto-generated", "autogenerated", "do not edit", "@generated",
                  "this file is generated", "automatically generated")
#: Lines that are no test of a model even when long enough.
REAL_TRIVIAL = frozenset({"pass", "else:", "try:", "finally:", "continue", "break", "return", "raise", "..."})


@dataclass(frozen=True)
class RealCase:
    """One masked line: ``text`` is the file with line ``row`` (0-based) replaced by its leading
    indentation, ``offset`` the cursor after that indentation, ``expected`` the line stripped."""

    path: str
    row: int
    text: str
    offset: int
    expected: str

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset:]


def site_packages() -> Path:
    """The running interpreter's ``purelib`` (the venv's site-packages under a venv)."""
    return Path(sysconfig.get_paths()["purelib"])


def _skipped_top(name: str) -> bool:
    """Top-level entries of site-packages that are not an installed package's code, or are lfcode."""
    return (name.startswith(("lfcode", "__editable__", ".")) or name.endswith((".dist-info", ".egg-info", ".data"))
            or name in REAL_SKIP_DIRS)


def _test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name in ("conftest.py", "tests.py", "test.py")


def real_files(root: Path | None = None) -> dict[str, list[Path]]:
    """The ``.py`` files under ``root`` (site-packages) by top-level package, in sorted walk order.

    Skipped: symbolic links and anything that resolves outside ``root`` or inside this repository,
    lfcode (its editable install), ``*.dist-info``, :data:`REAL_SKIP_DIRS`, test files.
    """
    root = (root or site_packages()).resolve()
    repository = ROOT.resolve()
    groups: dict[str, list[Path]] = {}
    for top in sorted(os.listdir(root)):
        if _skipped_top(top):
            continue
        start = root / top
        if start.is_symlink():
            continue
        if start.is_file():
            if top.endswith(".py") and not _test_file(top):
                groups.setdefault(top[:-3], []).append(start)
            continue
        for directory, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d not in REAL_SKIP_DIRS and not (Path(directory) / d).is_symlink())
            for name in sorted(filenames):
                path = Path(directory) / name
                if not name.endswith(".py") or _test_file(name) or path.is_symlink():
                    continue
                resolved = path.resolve()
                if not resolved.is_relative_to(root) or resolved.is_relative_to(repository):
                    continue
                groups.setdefault(top, []).append(path)
    return {top: files for top, files in groups.items() if files}


def _real_source(path: Path) -> str | None:
    """The file's text with ``\\n`` line ends, or None when it is not a sampled file: unreadable,
    outside :data:`REAL_FILE_LINES`, generated, or minified (a line over 300 characters or a
    mean line over 80)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not REAL_FILE_LINES[0] <= len(lines) <= REAL_FILE_LINES[1]:
        return None
    head = "\n".join(lines[:30]).lower()
    if any(marker in head for marker in REAL_GENERATED):
        return None
    if max(map(len, lines)) > 300 or len(text) / len(lines) > 80:
        return None
    return text


def maskable_rows(text: str) -> list[int]:
    """Rows (0-based) of ``text`` that may be masked: a whole logical line on one physical line,
    that starts with code (not a string, so no docstring), has no comment, is at least
    :data:`REAL_MIN_ROW` rows in, :data:`REAL_LINE_CHARS` long without indentation, and is not only
    brackets and punctuation or one of :data:`REAL_TRIVIAL`. Empty when Python cannot tokenize it."""
    rows: list[int] = []
    lines = text.split("\n")
    skip = {tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    logical: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in skip or (token.type == tokenize.COMMENT and not logical):
                continue
            if token.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
                logical.append(token)
                continue
            if logical:
                first, row = logical[0], logical[0].start[0] - 1
                one_line = all(t.start[0] == t.end[0] == first.start[0] for t in logical)
                commented = any(t.type == tokenize.COMMENT for t in logical)
                stripped = lines[row].strip() if row < len(lines) else ""
                if (one_line and not commented and first.type != tokenize.STRING and row >= REAL_MIN_ROW
                        and REAL_LINE_CHARS[0] <= len(stripped) <= REAL_LINE_CHARS[1]
                        and stripped not in REAL_TRIVIAL and any(c.isalnum() for c in stripped)):
                    rows.append(row)
            logical = []
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return rows


def real_case(path: str, text: str, row: int) -> RealCase:
    """Mask ``row`` of ``text`` as an editor shows it: the line emptied but for its indentation
    (the editor's auto-indent), the cursor after the indentation."""
    lines = text.split("\n")
    line = lines[row]
    indent = line[: len(line) - len(line.lstrip())]
    prefix = "\n".join(lines[:row] + [indent])
    suffix = "\n" + "\n".join(lines[row + 1:])
    return RealCase(path, row, prefix + suffix, len(prefix), line.strip())


def load_real_cases(n: int, seed: int, root: Path | None = None) -> list[RealCase]:
    """``n`` masked lines of site-packages code, seeded: see the module docstring."""
    root = root or site_packages()
    groups = real_files(root)
    rng = random.Random(seed)
    order = sorted(groups)
    rng.shuffle(order)
    for top in order:
        rng.shuffle(groups[top])
    cursor = dict.fromkeys(order, 0)
    cases: list[RealCase] = []
    while len(cases) < n and order:
        for top in list(order):
            files = groups[top]
            while cursor[top] < len(files):
                path = files[cursor[top]]
                cursor[top] += 1
                text = _real_source(path)
                rows = maskable_rows(text) if text is not None else []
                if rows:
                    relative = path.relative_to(root).as_posix()
                    for row in sorted(rng.sample(rows, min(REAL_PER_FILE, len(rows)))):
                        cases.append(real_case(relative, text, row))
                    break
            else:
                order.remove(top)
            if len(cases) >= n:
                break
    return cases[:n]


def cases_digest(cases: list[RealCase]) -> str:
    """A short fingerprint of the sampled cases (paths, rows, lines): equal digests, equal sets."""
    digest = hashlib.sha256()
    for case in cases:
        digest.update(f"{case.path}\0{case.row}\0{case.expected}\n".encode())
    return digest.hexdigest()[:12]


@dataclass
class LineScore:
    """Running totals for one row of the real-code table; times in ms."""

    name: str
    exact: int = 0
    similarity: float = 0.0
    count: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, expected: str, line: str, elapsed_ms: float) -> None:
        self.count += 1
        self.exact += line.strip() == expected.strip()
        self.similarity += edit_similarity(line.strip(), expected.strip())
        self.ms.append(elapsed_ms)

    def row(self) -> str:
        n = max(1, self.count)
        return (f"| {self.name} | {self.count} | {100 * self.exact / n:.1f} | {100 * self.similarity / n:.1f} | "
                f"{statistics.median(self.ms) if self.ms else 0:.0f} |")


def _cold(llm) -> None:
    """Forget the KV cache so that a timed call does not reuse the previous call's prompt."""
    llm.reset()


_RAW_ANSWERS: dict[tuple[int, ...], tuple[str, float]] = {}


def raw_line(llm, case: RealCase, budget: int) -> tuple[str, float]:
    """(a) The last ``budget`` tokens of the prefix (after the BOS token, if the model uses one)
    to llama-cpp-python, greedy, stopped at the newline: the first line of the answer, and the ms
    it took. The same token prompt (a prefix shorter than several budgets) is run once."""
    with_bos = llm.tokenize(b"x", add_bos=True, special=False)
    bos = with_bos[: len(with_bos) - len(llm.tokenize(b"x", add_bos=False, special=False))]
    prompt = bos + llm.tokenize(case.prefix.encode("utf-8"), add_bos=False, special=False)[-budget:]
    key = tuple(prompt)
    if key not in _RAW_ANSWERS:
        _cold(llm)
        began = time.perf_counter()
        out = llm.create_completion(prompt, max_tokens=64, temperature=0.0, top_k=1, stop=["\n"])
        _RAW_ANSWERS[key] = (out["choices"][0]["text"].split("\n", 1)[0], (time.perf_counter() - began) * 1000)
    return _RAW_ANSWERS[key]


def pipeline_line(
    backend, case: RealCase, budget: int, multiline: bool | None, n: int = 1,
    parts: frozenset[str] | None = None, **option_values,
) -> str:
    """(b) lfcode's pipeline at the masked line with a ``budget``-token prompt: the first line of
    its first item (``n`` items asked: 1 like an Automatic request, 3 like an Invoked one)."""
    from lfcode.completion.engine import CompletionInput, CompletionOptions
    from lfcode.context.builder import DEFAULT_PARTS, ContextSources

    source = CompletionInput(text=case.text, offset=case.offset, path=case.path, language_id="python")
    sources = ContextSources(parts=DEFAULT_PARTS if parts is None else parts)
    options = CompletionOptions(n=n, multiline=multiline, context_tokens=budget, **option_values)
    llm = getattr(backend, "_llm", None)
    if llm is not None:
        _cold(llm)
    return shown_answer(backend, source, options, sources, first_line=True)


def run_real(
    cases: list[RealCase], variants: dict[str, Callable[[RealCase], str | tuple[str, float]]], verbose: bool,
) -> list[LineScore]:
    """Score every variant on every case; a variant returns the line, or the line and its own ms."""
    scores = {name: LineScore(name) for name in variants}
    for number, case in enumerate(cases, 1):
        for name, run in variants.items():
            began = time.perf_counter()
            answer = run(case)
            line, ms = answer if isinstance(answer, tuple) else (answer, (time.perf_counter() - began) * 1000)
            scores[name].add(case.expected, line, ms)
            if verbose:
                print(f"{case.path}:{case.row + 1} {name}: {line.strip()!r} (want {case.expected!r})", file=sys.stderr, flush=True)
        if number % 10 == 0:
            print(f"  real: {number}/{len(cases)}", file=sys.stderr, flush=True)
    return list(scores.values())


def print_real_table(title: str, scores: list[LineScore]) -> None:
    print(f"\n{title}\n")
    print("| path | cases | exact match % | edit similarity % | median ms |")
    print("|---|---|---|---|---|")
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


def _budgets(text: str) -> list[int]:
    try:
        budgets = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of token counts: {text!r}") from exc
    if not budgets or min(budgets) < 64:
        raise argparse.ArgumentTypeError("budgets are token counts of at least 64")
    return budgets


def real_variants(
    backend, llm, budgets: list[int], budget: int, invoked: bool, ablate: bool,
) -> dict[str, Callable[[RealCase], str | tuple[str, float]]]:
    """The rows of the real-code table. One budget: (a) raw, (b) the pipeline as an Automatic
    request (n=1, shape from syntax) and with the shape forced to one line. A sweep (several
    ``budgets``): (a) and the Automatic (b) at each. Optional rows, at ``budget``: (b) as an Invoked
    request (n=3, first item) and the ablations of the Automatic (b)."""
    from lfcode.context.builder import PARTS

    variants: dict[str, Callable[[RealCase], str | tuple[str, float]]] = {}
    sweep = len(budgets) > 1
    for b in budgets:
        if llm is not None:
            variants[f"(a) raw prefix, last {b} tokens"] = lambda c, b=b: raw_line(llm, c, b)
        # As the server runs an Automatic request: one model call (no guided answer, samples or
        # comment follow-up; extra_calls=False).
        variants[f"(b) pipeline, Automatic stand-in (n=1, shape from syntax), {b} tokens"] = lambda c, b=b: pipeline_line(backend, c, b, None, extra_calls=False)
        if not sweep:
            variants[f"(b) pipeline, single line forced (n=1), {b} tokens"] = lambda c, b=b: pipeline_line(backend, c, b, False)
    if invoked:
        variants[f"(b) pipeline, Invoked stand-in (n=3, first item), {budget} tokens"] = lambda c: pipeline_line(backend, c, budget, None, n=3)
    if ablate:
        auto = f"(b) Automatic stand-in, {budget} tokens,"
        variants[f"{auto} with the extra calls (guided answer, samples, comment follow-up)"] = lambda c: pipeline_line(backend, c, budget, None)
        variants[f"{auto} with the header comment"] = lambda c: pipeline_line(backend, c, budget, None, parts=frozenset(PARTS), extra_calls=False)
        variants[f"{auto} without the guided answer"] = lambda c: pipeline_line(backend, c, budget, None, guided=False)
        variants[f"{auto} without parse check"] = lambda c: pipeline_line(backend, c, budget, None, check_syntax=False)
        variants[f"{auto} without fallback samples"] = lambda c: pipeline_line(backend, c, budget, None, fallback_samples=0)
    return variants


def main() -> None:
    from lfcode.settings import Settings

    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["single", "multi", "both", "real", "all"], default="both",
                        help="HumanEval single/multi-line infilling (both = the two), the real-code set, or all three")
    parser.add_argument("--n", type=int, default=0, help="tasks per set (0 = 300 single / 200 multi / 100 real)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--auto-single", action="store_true", help="also run the single-line set with the shape decided by syntax")
    parser.add_argument("--ablate", action="store_true", help="add rows without the parse check / fallback samples / header")
    parser.add_argument("--context-tokens", type=int, default=defaults.context_tokens,
                        help=f"real-code set: prompt budget of both the raw baseline and the pipeline (default {defaults.context_tokens}, lfcode's)")
    parser.add_argument("--context-sweep", type=_budgets, default=None, metavar="B1,B2,...",
                        help="real-code set: the raw baseline and the Automatic pipeline row at each of these budgets "
                             "(instead of the default rows; --invoked/--ablate rows stay at --context-tokens)")
    parser.add_argument("--invoked", action="store_true", help="real-code set: add the Invoked stand-in row (n=3, first item)")
    parser.add_argument("--list-real", action="store_true", help="only print the sampled real-code cases")
    parser.add_argument("--context-timing", action="store_true", help="only time the context build on a 5,000-line file")
    parser.add_argument("--verbose", action="store_true", help="log every middle to stderr")
    args = parser.parse_args()

    kinds = {"both": ["single", "multi"], "all": ["single", "multi", "real"]}.get(args.set, [args.set])
    budgets = args.context_sweep or [args.context_tokens]
    if args.list_real:
        cases = load_real_cases(args.n or 100, args.seed)
        for case in cases:
            print(f"{case.path}:{case.row + 1}\t{case.expected}")
        print(f"{len(cases)} cases from {len({c.path.split('/')[0] for c in cases})} packages; digest {cases_digest(cases)}")
        return

    from lfcode.backends import model_path
    from lfcode.backends.llama_cpp import LlamaCppBackend
    from lfcode.context.builder import PARTS

    settings = Settings(model=args.model, n_threads=args.threads or None)
    # The prompt plus the longest answer must fit the window: raise n_ctx (for both paths alike)
    # when a real-code budget needs it; it changes memory, not what the model computes.
    n_ctx = settings.n_ctx
    if "real" in kinds:
        need = max(budgets + [args.context_tokens]) + settings.max_tokens + 256
        n_ctx = max(n_ctx, -(-need // 256) * 256)
    path = model_path(settings)
    backend = LlamaCppBackend(path, n_ctx=n_ctx, n_threads=settings.resolved_threads())
    if args.context_timing:
        context_timing(backend)
        return
    import llama_cpp

    llm = None if args.skip_baseline else llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=settings.resolved_threads(), verbose=False)
    print(f"model: {backend.capabilities.name}; n_ctx {backend.capabilities.n_ctx}; CPU threads: {settings.resolved_threads()}; seed {args.seed}")
    for kind in kinds:
        if kind == "real":
            cases = load_real_cases(args.n or 100, args.seed)
            packages = len({case.path.split("/")[0] for case in cases})
            variants_real = real_variants(backend, llm, budgets, args.context_tokens, args.invoked, args.ablate)
            scores_real = run_real(cases, variants_real, args.verbose)
            print_real_table(f"Real code: masked lines of site-packages ({len(cases)} cases from {packages} packages, seed "
                             f"{args.seed}, cases digest {cases_digest(cases)}; budget {', '.join(map(str, budgets))} tokens)", scores_real)
            continue
        forced = False if kind == "single" else None
        variants: dict[str, Callable[[dict], str]] = {}
        if llm is not None:
            variants["(a) raw prefix-only baseline"] = lambda t, k=kind: baseline(llm, t, k)
        variants["(b) lfcode pipeline"] = lambda t, m=forced: pipeline(backend, t, m)
        # As the server runs an Automatic request: the shape from syntax and one model call.
        # Scored on what the user is shown: the first line on the single-line set, the block
        # (accepted line by line) on the multi-line one.
        variants["(b) pipeline, Automatic (shape from syntax, one model call)"] = lambda t, k=kind: pipeline(
            backend, t, None, first_line=k == "single", extra_calls=False)
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
