"""Test generation from observed behaviour: lfcode's coverage-guided search → write → verify loop
(:mod:`lfcode.testgen.search`, :mod:`lfcode.execution.engine`) on two public benchmarks.

For each program: :func:`~lfcode.testgen.search.search_calls` (round 0: doctest examples,
constants the code compares against ± a step, edge values, and inputs drawn from the type hints
with hypothesis; later rounds: new draws, and with ``--model`` the model's calls for the lines
still uncovered), every call evaluated twice in the bubblewrap sandbox with coverage.py, the
greedy set cover of lines and arcs, :func:`~lfcode.testgen.observed.write_tests`, and the
written file run once more in the sandbox (``lfcode.testgen.verify.run_tests``): only passing
tests count. The passing tests are then run again in a fresh copy (a clean checkout: new
folder, new process, another hash seed) and any that fail there are counted.

- TestEval ``leetcode-py.jsonl`` (210 programs), a ``random.Random(seed).sample`` of
  ``--testeval`` programs: ``Solution.<func_name>`` with ``Solution()`` as the constructor.
  Reported: the mean line coverage of the method's statements by the passing tests (lines
  recorded by coverage.py during the kept calls; a program with no passing test counts 0 %), the
  share of programs with at least one passing test, and the median seconds per program.
- CodeT's HumanEval test-generation prompts (164 tasks; ``--codet`` of them, seeded), each the
  task's function with the canonical solution as body (as ``benchmarks/testgen_model.py``
  builds it). Same measures.

Mutation score (``--mutants``, default 8 per program; ``benchmarks/mutants.py``: flipped
comparison, off-by-one integer constant, swapped operands, negated condition): the kept calls
whose tests passed are run again on each mutant in the sandbox; a mutant is killed when one of
them does something its written assertion would reject (another exception type, a value outside
``pytest.approx``'s default tolerance, another type name or public attribute), times out, or the mutant does not
import. Equivalent mutants count as survivors. The seconds per program exclude the mutants and
the rerun.

The baseline, the model writing whole tests (lfcode's other path), is ``benchmarks/testgen_model.py``.

Usage::

    python benchmarks/testgen.py [--testeval 60] [--codet 164] [--seed 0] [--mutants 8] [--model embedded|none] [--budget 30]
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lfcode.errors import CancelToken
from lfcode.execution.engine import run_calls
from lfcode.testgen.model_calls import model_calls
from lfcode.testgen.observed import DISTINCT, write_tests
from lfcode.testgen.search import search_calls
from lfcode.testgen.verify import run_tests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import mutants  # noqa: E402 - a sibling module
from testgen_model import CODET, TESTEVAL, codet_source, testeval_source  # noqa: E402 - a sibling script


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
    if (seen.value_type or "").rsplit(".", 1)[-1] != (kept.value_type or "").rsplit(".", 1)[-1]:
        return False
    for name, text in (kept.attributes or {}).items():
        other = (seen.attributes or {}).get(name)
        try:
            if other is None or not _close(ast.literal_eval(text), ast.literal_eval(other)):
                return False
        except (ValueError, SyntaxError):
            return False
    return True


def one(source: str, qualname: str, backend, budget: float, n_mutants: int = 0, distinct: int = DISTINCT) -> dict:
    """One program: ``coverage`` (of ``qualname``'s statements by passing tests), ``passed``
    (passing tests), ``seconds``, ``flaky`` (passing tests that failed in the clean rerun),
    ``killed``/``tried`` mutants, ``from_model`` (kept tests whose call the model proposed)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as folder:
        root = Path(folder)
        (root / "subject.py").write_text(source, encoding="utf-8")
        cancel = CancelToken()
        proposer = functools.partial(model_calls, backend, "subject.py", cancel) if backend is not None else None
        found = search_calls(root, root / "subject.py", source, qualname, propose_more=proposer, budget_seconds=budget, distinct=distinct)
        kept = [o for o in found.chosen if o.exception_type or o.value_type]
        text = write_tests("subject", qualname, kept, found.constructor, found.names, found.from_model)
        names = [line[4 : line.index("(")] for line in text.splitlines() if line.startswith("def test_")]
        passed = set(run_tests(root, root / "test_subject_observed.py", text, names).kept) if names else set()
        seconds = time.perf_counter() - started
    good = [o for o, name in zip(kept, names) if name in passed] if len(names) == len(kept) else []
    flaky = 0
    if passed:
        with tempfile.TemporaryDirectory(prefix="lfcode-bench-clean-") as folder:
            clean = Path(folder)
            (clean / "subject.py").write_text(source, encoding="utf-8")
            rerun = run_tests(clean, clean / "test_subject_observed.py", text, sorted(passed))
            flaky = len(passed - set(rerun.kept))
    killed = tried = 0
    if good and n_mutants:
        with tempfile.TemporaryDirectory(prefix="lfcode-bench-mutants-") as folder:
            root = Path(folder)
            (root / "subject.py").write_text(source, encoding="utf-8")
            for _kind, mutant in mutants(source, qualname, n_mutants):
                report = run_calls(root, root / "subject.py", [o.call for o in good], constructor=found.constructor, source=mutant, call_seconds=1.0)
                seen = {o.call: o for o in report.outcomes}
                tried += 1
                killed += report.import_error is not None or not all(_passes(o, seen.get(o.call)) for o in good)
    return {"coverage": len(found.covered(good)) / max(1, len(found.statements)), "passed": len(passed), "seconds": seconds,
            "flaky": flaky, "killed": killed, "tried": tried, "from_model": sum(o.call in found.from_model for o in good)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testeval", type=int, default=60, help="TestEval programs (seeded sample)")
    parser.add_argument("--codet", type=int, default=164, help="CodeT HumanEval tasks (164 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mutants", type=int, default=8, help="mutants per program for the mutation score (0: none)")
    parser.add_argument("--model", default="embedded", help='GGUF path, "embedded", or "none" (no model proposals)')
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")
    parser.add_argument("--budget", type=float, default=30.0, help="search budget per program, s")
    parser.add_argument("--distinct", type=int, default=DISTINCT, help="calls kept when the coverage cover chose fewer (0: the cover only)")
    args = parser.parse_args()
    testeval = [json.loads(line) for line in TESTEVAL.read_text().splitlines() if line.strip()]
    codet = [json.loads(line) for line in CODET.read_text().splitlines() if line.strip()]
    testeval = random.Random(args.seed).sample(testeval, min(args.testeval, len(testeval)))
    codet = codet if args.codet >= len(codet) else random.Random(args.seed).sample(codet, args.codet)
    backend = None
    if args.model != "none":
        from lfcode.backends import make_backend
        from lfcode.settings import Settings

        backend = make_backend(Settings(model=args.model, n_threads=args.threads))
    rows = []
    for name, tasks, build in (
        ("TestEval leetcode-py", testeval, lambda t: (testeval_source(t), "Solution." + t["func_name"])),
        ("CodeT HumanEval", codet, lambda t: (codet_source(t), t["entry_point"])),
    ):
        results = []
        for task in tasks:
            results.append(one(*build(task), backend, args.budget, args.mutants, args.distinct))
            r = results[-1]
            print(f"{name} {len(results)}/{len(tasks)}: coverage {r['coverage']:.0%}, {r['passed']} passing ({r['from_model']} from the model), "
                  f"{r['seconds']:.1f} s, {r['flaky']} failed in the clean rerun, mutants killed {r['killed']}/{r['tried']}", file=sys.stderr, flush=True)
        killed, tried = sum(r["killed"] for r in results), sum(r["tried"] for r in results)
        rows.append((name, len(tasks), 100 * statistics.mean(r["coverage"] for r in results),
                     100 * sum(1 for r in results if r["passed"]) / len(results), statistics.median(r["seconds"] for r in results),
                     f"{killed}/{tried} = {100 * killed / tried:.1f}" if tried else "–",
                     f"{sum(r['flaky'] for r in results)}/{sum(r['passed'] for r in results)}", sum(r["from_model"] for r in results)))
    model = "none" if backend is None else backend.capabilities.name
    print(f"model for call proposals: {model}; budget {args.budget:.0f} s per program; calls kept ≥ {args.distinct} when there are; seed {args.seed}")
    print("| set | programs | mean line coverage of the target % | with ≥ 1 passing test % | median s per program | mutants killed % "
          "| kept tests failing in a clean rerun | kept tests whose call the model proposed |")
    print("|---|---|---|---|---|---|---|---|")
    for name, count, coverage, any_kept, seconds, score, flaky, from_model in rows:
        print(f"| {name} | {count} | {coverage:.1f} | {any_kept:.1f} | {seconds:.1f} | {score} | {flaky} | {from_model} |")


if __name__ == "__main__":
    main()
