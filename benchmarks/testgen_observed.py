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

Usage::

    python benchmarks/testgen_observed.py [--testeval 60] [--codet 164] [--seed 0]
"""

from __future__ import annotations

import argparse
import ast
import json
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
from testgen import CODET, TESTEVAL, codet_source, testeval_source  # noqa: E402 - a sibling script


def one(source: str, qualname: str, constructor: str | None) -> tuple[float, int, float]:
    """(line coverage of ``qualname``'s statements by passing tests, passing tests, seconds)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as folder:
        root = Path(folder)
        (root / "subject.py").write_text(source, encoding="utf-8")
        try:
            calls = propose_calls(source, qualname)
        except (LookupError, SyntaxError):
            return 0.0, 0, time.perf_counter() - started
        report = run_calls(root, root / "subject.py", calls, constructor=constructor, call_seconds=1.0)
        kept = select_calls(report.outcomes)
        text = write_tests("subject", qualname, kept, constructor=constructor)
        names = [line[4 : line.index("(")] for line in text.splitlines() if line.startswith("def test_")]
        passed = set(run_tests(root, root / "test_subject_observed.py", text, names).kept) if names else set()
    function = find_function(ast.parse(source), qualname)
    statements = {n.lineno for n in ast.walk(function) if isinstance(n, ast.stmt)} - {function.lineno}
    if ast.get_docstring(function):
        statements.discard(function.body[0].lineno)
    good = [o for o, name in zip(kept, names) if name in passed] if len(names) == len(kept) else []
    covered = set().union(*(set(o.lines or ()) for o in good)) if good else set()
    return len(statements & covered) / max(1, len(statements)), len(passed), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testeval", type=int, default=60, help="TestEval programs (seeded sample)")
    parser.add_argument("--codet", type=int, default=164, help="CodeT HumanEval tasks (164 = all)")
    parser.add_argument("--seed", type=int, default=0)
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
            results.append(one(*build(task)))
            print(f"{name} {len(results)}/{len(tasks)}: coverage {results[-1][0]:.0%}, {results[-1][1]} passing, {results[-1][2]:.1f} s",
                  file=sys.stderr, flush=True)
        rows.append((name, len(tasks), 100 * statistics.mean(r[0] for r in results),
                     100 * sum(1 for r in results if r[1]) / len(results), statistics.median(r[2] for r in results)))
    print("| set | programs | mean line coverage of the target % | with ≥ 1 passing test % | median s per program |")
    print("|---|---|---|---|---|")
    for name, count, coverage, any_kept, seconds in rows:
        print(f"| {name} | {count} | {coverage:.1f} | {any_kept:.1f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
