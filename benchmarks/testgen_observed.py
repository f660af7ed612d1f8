"""Tests from observed behaviour (no model): lfcode's propose → run in the sandbox → select →
write → verify loop (:mod:`lfcode.testgen.observed`, :mod:`lfcode.execution.engine`).

For each program: :func:`~lfcode.testgen.observed.propose_calls` (doctest examples, type hints,
constants the code compares against ± a step, edge values), every call evaluated twice in the
bubblewrap sandbox with coverage.py, :func:`~lfcode.testgen.observed.select_calls` (greedy set
cover of lines and branch arcs over stable calls), :func:`~lfcode.testgen.observed.write_tests`,
and the written file run once more in the sandbox (``lfcode.testgen.verify.run_tests``): only
passing tests count.

- TestEval ``leetcode-py.jsonl`` (210 programs), a ``random.Random(seed).sample`` of
  ``--testeval`` programs: ``Solution.<func_name>`` with ``Solution()`` as the constructor.
  Reported: the mean line coverage of the method's statements by the passing tests (lines
  recorded by coverage.py during the kept calls; a program with no passing test counts 0 %), the
  share of programs with at least one passing test, and the median seconds per program.
- CodeT's HumanEval test-generation prompts (164 tasks; ``--codet`` of them, seeded), each the
  task's function with the canonical solution as body (as ``benchmarks/testgen.py`` builds it).
  Reported: tasks with at least one passing test, the mean line coverage of the function, and
  the median seconds per task.

Mutation score (``--mutants``, default 8 per program; ``benchmarks/mutants.py``: flipped
comparison, off-by-one integer constant, swapped operands, negated condition): the kept calls
whose tests passed are run again on each mutant in the sandbox; a mutant is killed when one of
them does something its written assertion would reject (another exception type, a value outside
``pytest.approx``'s default tolerance, another type name), times out, or the mutant does not
import. Equivalent mutants count as survivors. The seconds per program exclude the mutants.

Usage::

    python benchmarks/testgen_observed.py [--testeval 60] [--codet 164] [--seed 0] [--mutants 8]
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lfcode.execution.engine import run_calls
from lfcode.testgen.observed import find_function, propose_calls, select_calls, write_tests
from lfcode.testgen.verify import run_tests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import mutants  # noqa: E402 - a sibling module
from testgen import CODET, TESTEVAL, codet_source, testeval_source  # noqa: E402 - a sibling script


def _close(a: object, b: object) -> bool:
    """Equal as the written assertion checks it: ``pytest.approx``'s default tolerance for
    numbers (rel 1e-6, abs 1e-12) and flat sequences of numbers, ``==`` otherwise."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(a, (tuple, list)) and isinstance(b, type(a)) and len(a) == len(b) and all(isinstance(x, (int, float)) for x in (*a, *b)):
        return all(_close(x, y) for x, y in zip(a, b))
    return a == b


def _passes(kept, seen) -> bool:
    """Whether the written test of outcome ``kept`` would pass on a version where the call did ``seen``."""
    if seen is None or seen.timed_out:
        return False
    if kept.exception_type is not None:
        return seen.exception_type == kept.exception_type
    if seen.exception_type is not None:
        return False
    if kept.literal:
        try:
            return seen.literal and _close(ast.literal_eval(kept.value_repr), ast.literal_eval(seen.value_repr))
        except (ValueError, SyntaxError):
            return False
    return (seen.value_type or "").rsplit(".", 1)[-1] == (kept.value_type or "").rsplit(".", 1)[-1]


def one(source: str, qualname: str, constructor: str | None, n_mutants: int = 0) -> tuple[float, int, float, int, int]:
    """(line coverage of ``qualname``'s statements by passing tests, passing tests, seconds,
    mutants killed, mutants tried). A mutant is killed when a kept call, run again on it in the
    sandbox, does something its written assertion would reject."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as folder:
        root = Path(folder)
        (root / "subject.py").write_text(source, encoding="utf-8")
        try:
            calls = propose_calls(source, qualname)
        except (LookupError, SyntaxError):
            return 0.0, 0, time.perf_counter() - started, 0, 0
        report = run_calls(root, root / "subject.py", calls, constructor=constructor, call_seconds=1.0)
        kept = select_calls(report.outcomes)
        text = write_tests("subject", qualname, kept, constructor=constructor)
        names = [line[4 : line.index("(")] for line in text.splitlines() if line.startswith("def test_")]
        passed = set(run_tests(root, root / "test_subject_observed.py", text, names).kept) if names else set()
        seconds = time.perf_counter() - started
        good = [o for o, name in zip(kept, names) if name in passed] if len(names) == len(kept) else []
        killed = tried = 0
        if good and n_mutants:
            for _kind, mutant in mutants(source, qualname, n_mutants):
                report = run_calls(root, root / "subject.py", [o.call for o in good], constructor=constructor, source=mutant, call_seconds=1.0)
                seen = {o.call: o for o in report.outcomes}
                tried += 1
                killed += report.import_error is not None or not all(_passes(o, seen.get(o.call)) for o in good)
    function = find_function(ast.parse(source), qualname)
    statements = {n.lineno for n in ast.walk(function) if isinstance(n, ast.stmt)} - {function.lineno}
    if ast.get_docstring(function):
        statements.discard(function.body[0].lineno)
    covered = set().union(*(set(o.lines or ()) for o in good)) if good else set()
    return len(statements & covered) / max(1, len(statements)), len(passed), seconds, killed, tried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testeval", type=int, default=60, help="TestEval programs (seeded sample)")
    parser.add_argument("--codet", type=int, default=164, help="CodeT HumanEval tasks (164 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mutants", type=int, default=8, help="mutants per program for the mutation score (0: none)")
    args = parser.parse_args()
    testeval = [json.loads(line) for line in TESTEVAL.read_text().splitlines() if line.strip()]
    codet = [json.loads(line) for line in CODET.read_text().splitlines() if line.strip()]
    testeval = random.Random(args.seed).sample(testeval, min(args.testeval, len(testeval)))
    codet = codet if args.codet >= len(codet) else random.Random(args.seed).sample(codet, args.codet)
    rows = []
    for name, tasks, build in (
        ("TestEval leetcode-py", testeval, lambda t: (testeval_source(t), "Solution." + t["func_name"], "Solution()")),
        ("CodeT HumanEval", codet, lambda t: (codet_source(t), t["entry_point"], None)),
    ):
        results = []
        for task in tasks:
            results.append(one(*build(task), args.mutants))
            print(f"{name} {len(results)}/{len(tasks)}: coverage {results[-1][0]:.0%}, {results[-1][1]} passing, {results[-1][2]:.1f} s, "
                  f"mutants killed {results[-1][3]}/{results[-1][4]}", file=sys.stderr, flush=True)
        killed, tried = sum(r[3] for r in results), sum(r[4] for r in results)
        rows.append((name, len(tasks), 100 * statistics.mean(r[0] for r in results),
                     100 * sum(1 for r in results if r[1]) / len(results), statistics.median(r[2] for r in results),
                     f"{killed}/{tried} = {100 * killed / tried:.1f}" if tried else "–"))
    print("| set | programs | mean line coverage of the target % | with ≥ 1 passing test % | median s per program | mutants killed % |")
    print("|---|---|---|---|---|---|")
    for name, count, coverage, any_kept, seconds, score in rows:
        print(f"| {name} | {count} | {coverage:.1f} | {any_kept:.1f} | {seconds:.1f} | {score} |")


if __name__ == "__main__":
    main()
