"""Test generation quality: lfcode's generate → run → keep loop on two public benchmarks.

- ``../shared/benchmarks/codet-testgen/HumanEval_for_test_case_generation.jsonl`` (CodeT's
  HumanEval split, 164 tasks). Each task becomes a one-file project: the prompt's signature and
  docstring with the ``canonical_solution`` as body, as lfcode sees code in an editor. lfcode
  generates pytest tests for the entry point (``lfcode.testgen.generate``) and runs them
  (``lfcode.testgen.verify``). Reported: the share of generated assertions that hold against the
  canonical solution (every ``assert`` and ``pytest.raises`` block checked on its own, so one
  failing assertion does not hide the next), and the share of tasks with at least one kept test.
- ``../shared/benchmarks/testeval/leetcode-py.jsonl`` (TestEval, 210 LeetCode programs), a
  seeded subset of at least 30: tests for ``Solution.<func_name>``; reported, the mean line
  coverage of the kept tests over the statements of ``class Solution`` (measured with
  ``sys.settrace``; a program without a kept test counts 0 %).

Every generated test runs in a subprocess with a time limit and no network. Prints a Markdown
table. Usage::

    python benchmarks/testgen.py [--codet 50] [--testeval 30] [--seed 0] [--threads N] [--model embedded]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lfcode.backends import BackendError, make_backend
from lfcode.testgen.frameworks import detect_framework
from lfcode.context.symbols import find_symbol
from lfcode.testgen.generate import TestgenError, TestPlan, generate_tests
from lfcode.testgen.verify import GUARD, VerifyError, verify_generated
from lfcode.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
CODET = DATA / "codet-testgen" / "HumanEval_for_test_case_generation.jsonl"
TESTEVAL = DATA / "testeval" / "leetcode-py.jsonl"

#: Runs in a subprocess: instruments the generated tests, calls each test function, prints JSON.
RUNNER = r'''
import ast, json, signal, sys, types
test_file, module_file, cover_class = sys.argv[1], sys.argv[2], sys.argv[3]
executed = set()

class Record(ast.NodeTransformer):
    def visit_Assert(self, node):
        call = ast.parse(f"__record({node.lineno}, lambda: None)").body[0]
        call.value.args[1].body = node.test
        return ast.copy_location(call, node)
    def visit_With(self, node):
        self.generic_visit(node)
        if any("raises" in ast.unparse(item.context_expr) for item in node.items):
            wrapped = ast.parse(f"try:\n    pass\nexcept Exception:\n    __record({node.lineno}, lambda: False)\nelse:\n    __record({node.lineno}, lambda: True)").body[0]
            wrapped.body = [node]
            return ast.copy_location(wrapped, node)
        return node

checks, current = {}, [""]

def record(line, check):
    try:
        ok = bool(check())
    except Exception:
        ok = False
    key = (current[0], line)
    checks[key] = checks.get(key, True) and ok

def tracer(frame, event, arg):
    if frame.f_code.co_filename == module_file:
        executed.add(frame.f_lineno)
        return tracer
    return None

def alarm(signum, frame):
    raise TimeoutError("test too slow")

source = open(test_file).read()
tree = Record().visit(ast.parse(source)) if cover_class == "-" else ast.parse(source)
ast.fix_missing_locations(tree)
namespace = {"__record": record, "__name__": "generated_tests"}
signal.signal(signal.SIGALRM, alarm)
sys.settrace(tracer)
try:
    exec(compile(tree, test_file, "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test") and callable(value):
            current[0] = name
            signal.alarm(5)
            try:
                value()
            except BaseException:
                pass
            finally:
                signal.alarm(0)
finally:
    sys.settrace(None)
lines = set()
if cover_class != "-":
    module = ast.parse(open(module_file).read())
    for node in module.body:
        if isinstance(node, ast.ClassDef) and node.name == cover_class:
            lines = {n.lineno for n in ast.walk(node) if isinstance(n, ast.stmt) and not isinstance(n, (ast.FunctionDef, ast.ClassDef))}
expected = set()
for func in ast.parse(source).body:
    if isinstance(func, ast.FunctionDef) and func.name.startswith("test"):
        for node in ast.walk(func):
            if isinstance(node, ast.Assert) or (isinstance(node, ast.With) and any("raises" in ast.unparse(i.context_expr) for i in node.items)):
                expected.add((func.name, node.lineno))
results = [checks.get(key, False) for key in sorted(expected)]
print(json.dumps({"asserts": results, "covered": len(lines & executed), "lines": len(lines)}))
'''


def run_generated(project: Path, test_file: Path, module_file: Path, cover_class: str = "-") -> dict:
    """Run ``test_file``'s tests (in ``project``) in a guarded subprocess; the runner's JSON."""
    code = GUARD.split("import pytest")[0] + RUNNER
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(test_file), str(module_file), cover_class],
            cwd=project, capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
        )
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, json.JSONDecodeError, IndexError):
        return {"asserts": [], "covered": 0, "lines": 0}


def codet_source(task: dict) -> str:
    """The task's function with the canonical solution as its body."""
    head = task["prompt"].split("# check the correctness of")[0].rstrip()
    head = re.sub(r"\n    pass\s*$", "", head)
    return head + "\n" + task["canonical_solution"]


def testeval_source(task: dict) -> str:
    """The TestEval program; the optional ``sortedcontainers`` import is made harmless."""
    return task["python_solution"].replace("import sortedcontainers\n", "try:\n  import sortedcontainers\nexcept ImportError:\n  pass\n")


def generate(backend, project: Path, module: str, source: str, symbol_name: str) -> tuple[TestPlan | None, object, object]:
    """``(plan, tests after the keep step or None, verify result or None)`` for one program."""
    (project / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
    path = project / f"{module}.py"
    path.write_text(source)
    symbol = find_symbol(source, symbol_name, str(path))
    if symbol is None:
        return None, None, None
    framework = detect_framework(path, project, "python")
    plan = TestPlan(symbol=symbol, source_path=path, source_text=source, root=project, framework=framework)
    try:
        generated = generate_tests(backend, plan, threading.Event())
    except (TestgenError, BackendError):
        return plan, None, None
    try:
        kept, result = verify_generated(plan, generated)
    except VerifyError:
        return plan, None, None
    return plan, (generated, kept), result


def bench_codet(backend, tasks: list[dict]) -> dict:
    asserts_ok = asserts_total = with_kept = generated_tests = kept_tests = 0
    for n, task in enumerate(tasks, 1):
        with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as temp:
            project = Path(temp)
            plan, outcome, result = generate(backend, project, "solution", codet_source(task), task["entry_point"])
            if plan is not None and outcome is not None:
                generated, kept = outcome
                test_file = plan.framework.test_path
                test_file.write_text(generated.result)
                counts = run_generated(project, test_file, project / "solution.py")
                asserts_ok += sum(counts["asserts"])
                asserts_total += len(counts["asserts"])
                generated_tests += len(generated.tests)
                kept_tests += len(result.kept)
                with_kept += bool(result.kept)
        print(f"codet {n}/{len(tasks)} {task['task_id']}: asserts {asserts_ok}/{asserts_total}, tasks with a kept test {with_kept}", file=sys.stderr)
    return {"tasks": len(tasks), "asserts_ok": asserts_ok, "asserts": asserts_total, "with_kept": with_kept, "generated": generated_tests, "kept": kept_tests}


def bench_testeval(backend, tasks: list[dict]) -> dict:
    coverages, with_kept = [], 0
    for n, task in enumerate(tasks, 1):
        coverage = 0.0
        with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as temp:
            project = Path(temp)
            plan, outcome, result = generate(backend, project, "solution", testeval_source(task), f"Solution.{task['func_name']}")
            if plan is not None and outcome is not None and outcome[1] is not None:
                with_kept += 1
                test_file = plan.framework.test_path
                test_file.write_text(outcome[1].result)
                counts = run_generated(project, test_file, project / "solution.py", "Solution")
                coverage = counts["covered"] / counts["lines"] if counts["lines"] else 0.0
        coverages.append(coverage)
        print(f"testeval {n}/{len(tasks)} #{task['task_num']}: coverage {coverage:.0%}", file=sys.stderr)
    return {"programs": len(tasks), "with_kept": with_kept, "coverage": sum(coverages) / len(coverages) if coverages else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codet", type=int, default=50, help="codet-testgen tasks (seeded subset; 164 = all)")
    parser.add_argument("--testeval", type=int, default=30, help="TestEval programs (seeded subset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    codet = [json.loads(line) for line in CODET.read_text().splitlines() if line.strip()]
    testeval = [json.loads(line) for line in TESTEVAL.read_text().splitlines() if line.strip()]
    codet = codet if args.codet >= len(codet) else rng.sample(codet, args.codet)
    testeval = rng.sample(testeval, min(args.testeval, len(testeval)))
    backend = make_backend(Settings(model=args.model, n_threads=args.threads))
    started = time.perf_counter()
    c = bench_codet(backend, codet)
    t = bench_testeval(backend, testeval)
    minutes = (time.perf_counter() - started) / 60
    name = backend.capabilities.name
    rows = [
        "| benchmark | programs | metric | value |",
        "|---|---|---|---|",
        f"| codet-testgen (HumanEval) | {c['tasks']} | generated assertions that hold on `canonical_solution` | {c['asserts_ok']}/{c['asserts']} = {c['asserts_ok'] / max(1, c['asserts']):.1%} |",
        f"| codet-testgen (HumanEval) | {c['tasks']} | tasks with ≥ 1 kept (passing) test | {c['with_kept']}/{c['tasks']} = {c['with_kept'] / max(1, c['tasks']):.1%} |",
        f"| codet-testgen (HumanEval) | {c['tasks']} | generated tests kept after running | {c['kept']}/{c['generated']} |",
        f"| TestEval (LeetCode) | {t['programs']} | mean line coverage of the kept tests | {t['coverage']:.1%} |",
        f"| TestEval (LeetCode) | {t['programs']} | programs with ≥ 1 kept test | {t['with_kept']}/{t['programs']} |",
    ]
    print("\n".join(rows))
    print(f"\n{name}, seed {args.seed}, {args.threads or 'all'} threads, {minutes:.1f} min")
    if args.json:
        args.json.write_text(json.dumps({"codet": c, "testeval": t, "minutes": minutes, "model": name, "seed": args.seed}, indent=2))


if __name__ == "__main__":
    main()
