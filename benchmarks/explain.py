"""Explain from facts, measured on real functions of the standard library and of lfcode itself.

Each function's module is copied alone into a fresh project folder (its imports of the standard
library and of the installed lfcode still work), and explained as ``lfcode explain`` does
(:mod:`lfcode.explain.service`): facts, worked examples run in the sandbox, the model's checked
summary. The table reports:

- **callees**: precision and recall of the names in the facts' calls against the truth derived
  with ``ast`` here (every call in the function's body, nested definitions left out, compared by
  the called name's last part), and the recall of the callees the function reaches by name in
  its own file (``f(...)`` of a function defined there and not imported, ``self.m(...)`` of a
  method of its class), with their ``file:line`` right. The baseline is what the previous Explain listed as calls
  (:func:`lfcode.context.index.related`: the project definitions it found by name);
- **examples that hold**: each example call re-run in a fresh interpreter in the sandbox
  (``python -c``) gives the shown result;
- **summaries kept** (anything survived the checks), **summaries with a sentence dropped for
  copying the prompt**, and **identifiers in kept text not in the code or facts**, counted here
  independently of the checks (every word in backticks, and dotted, ``snake_case`` or
  ``camelCase`` words). The baseline is the previous few-shot prompt
  (``benchmarks/explain_fewshot_prompt.txt``) on the same model, its answers put through the same
  checks;
- **seconds per explanation**, split into facts, examples and model.

Usage: ``python benchmarks/explain.py [--limit N] [--no-baseline] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import shutil
import statistics
import string
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lfcode.backends import make_backend  # noqa: E402
from lfcode.backends.base import GenerationRequest  # noqa: E402
from lfcode.backends.generation import generate_text  # noqa: E402
from lfcode.context.index import related  # noqa: E402
from lfcode.context.symbols import find_symbol  # noqa: E402
from lfcode.execution.sandbox import Limits, Sandbox, interpreter_paths  # noqa: E402
from lfcode.explain import service, summary  # noqa: E402
from lfcode.explain.pyfacts import find_definition, first_line, own_nodes  # noqa: E402
from lfcode.settings import Settings  # noqa: E402

#: (module, qualname): 34 functions and methods of the standard library, 8 of lfcode.
CASES = [
    ("colorsys", n) for n in ("rgb_to_yiq", "yiq_to_rgb", "rgb_to_hls", "hls_to_rgb", "_v", "rgb_to_hsv", "hsv_to_rgb")
] + [
    ("textwrap", "dedent"), ("textwrap", "indent"), ("textwrap", "shorten"), ("textwrap", "TextWrapper._split_chunks"),
    ("textwrap", "TextWrapper.wrap"), ("shlex", "quote"), ("shlex", "join"), ("shlex", "split"), ("fnmatch", "fnmatch"),
    ("fnmatch", "filter"), ("fnmatch", "translate"), ("calendar", "isleap"), ("calendar", "leapdays"), ("calendar", "weekday"),
    ("calendar", "monthrange"), ("heapq", "nsmallest"), ("heapq", "nlargest"), ("statistics", "median"), ("statistics", "mode"),
    ("base64", "b64encode"), ("base64", "b64decode"), ("html", "escape"), ("posixpath", "splitext"), ("posixpath", "normpath"),
    ("posixpath", "basename"), ("string", "capwords"), ("ipaddress", "ip_address"),
] + [
    ("lfcode.explain.summary", "split_sentences"), ("lfcode.explain.summary", "named_identifiers"),
    ("lfcode.explain.summary", "observed_kinds"), ("lfcode.explain.summary", "contradicts"), ("lfcode.testgen.observed", "slug"),
    ("lfcode.context.symbols", "one_line"), ("lfcode.explain.facts", "first_paragraph"), ("lfcode.review.outcomes", "same_result"),
]
_CODE_WORD = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b|\b\w*_\w*\b|\b[a-z]+[A-Z]\w*\b")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def true_callees(source: str, qualname: str, line: int) -> set[str]:
    """Last parts of the names called in the body of the function defined at ``line`` (``ast``;
    nested definitions left out)."""
    tree = ast.parse(source)
    node = find_definition(tree, line, qualname.rsplit(".", 1)[-1])
    names = set()
    for call in (n for n in own_nodes(node) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Name):
            names.add(func.id)
        elif isinstance(func, ast.Attribute):
            names.add(func.attr)
    return names


def same_file_callees(source: str, qualname: str, line: int) -> dict[str, int]:
    """The callees the function at ``line`` reaches by name in its own file: ``f(...)`` where
    ``f`` is defined in the file (top level, or nested in the function) and not imported there,
    and ``self.m(...)``/``cls.m(...)`` where ``m`` is a method of its class → the definition's
    first line (decorators included). Calls on other values (``' '.join``) are not the file's."""
    tree = ast.parse(source)
    function = find_definition(tree, line, qualname.rsplit(".", 1)[-1])
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    top = {n.name: first_line(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    top.update({n.name: first_line(n) for n in own_nodes(function) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))})
    owner = qualname.split(".")[0] if "." in qualname else None
    methods = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == owner:
            methods = {n.name: first_line(n) for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = {}
    for call in (n for n in own_nodes(function) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Name) and func.id in top and func.id not in imported:
            found[func.id] = top[func.id]
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls") and func.attr in methods:
            found[func.attr] = methods[func.attr]
    return found


def unknown_identifiers(text: str, code: str, facts_text: str) -> list[str]:
    """Identifiers the kept text names that neither the code nor the facts' code spans have
    (an independent count: every identifier in backticks and every code-like word)."""
    allowed = set(_IDENT.findall(code)) | set(_IDENT.findall(" ".join(re.findall(r"`([^`]+)`", facts_text))))
    named = []
    for span in re.findall(r"`([^`]+)`", text):
        named += [w for w in _IDENT.findall(re.sub(r"'[^']*'|\"[^\"]*\"", " ", span))]
    named += [w for word in _CODE_WORD.findall(re.sub(r"`[^`]*`", " ", text)) if not re.match(r"^(?:\w\.)+\w$", word) for w in _IDENT.findall(word)]
    return [w for w in named if w not in allowed]


def rerun(project: Path, module: str, calls: list[str]) -> list[str]:
    """``repr`` (or ``raises Type``) of each call evaluated in one fresh interpreter in the sandbox."""
    script = (
        "import json, sys\n"
        f"from {module} import *\nimport {module} as _m\n"
        "globals().update({k: v for k, v in vars(_m).items() if not k.startswith('__')})\n"
        "out = []\n"
        f"for call in {calls!r}:\n"
        "    try:\n        out.append(repr(eval(call)))\n"
        "    except Exception as exc:\n"
        "        message = str(exc).splitlines()[0][:100] if str(exc) else ''\n"
        "        out.append('raises ' + type(exc).__name__ + (': ' + message if message else ''))\n"
        "print('RESULTS' + json.dumps(out))\n"
    )
    box = Sandbox(project, readonly=interpreter_paths(sys.executable), limits=Limits(wall_seconds=30, cpu_seconds=30))
    run = box.run([sys.executable, "-c", script])
    marker = run.output.rfind("RESULTS")
    return json.loads(run.output[marker + 7 :].splitlines()[0]) if marker >= 0 else ["(no output)"] * len(calls)


def baseline_summary(backend, template: string.Template, values: dict[str, str], prepared, facts_text: str, results: list[str]):
    """The previous few-shot prompt's answer, through the same checks."""
    request = GenerationRequest(prompt="", max_tokens=summary.SUMMARY_MAX_TOKENS, temperature=0.0, stop=["\n## ", "\n# ", "\n### "])
    start = f"**Summary.** `{prepared.symbol.name}`"
    raw = start + generate_text(backend, template.substitute(values).rstrip("\n"), request, threading.Event(), summary._enough)
    raw = raw.split("**Returns.**")[0]
    return summary.checked(raw, prepared.symbol.name, prepared.symbol.source, facts_text, results, summary.prompt_sentences(template.template))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=len(CASES), help="functions explained (default: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the previous few-shot prompt's run")
    parser.add_argument("--json", type=Path, help="write the per-function results here")
    args = parser.parse_args()

    from lfcode.explain import document

    backend = make_backend(Settings())
    old_template = string.Template((ROOT / "benchmarks" / "explain_fewshot_prompt.txt").read_text())
    rows = []
    totals = {"tp": 0, "fp": 0, "fn": 0, "same": 0, "same_found": 0, "base_tp": 0, "base_fn": 0, "base_fp": 0, "base_same_found": 0}
    for module, qualname in CASES[: args.limit]:
        file = Path(importlib.import_module(module).__file__)
        source = file.read_text(encoding="utf-8")
        symbol = find_symbol(source, qualname, str(file))
        if symbol is None:
            print(f"{module}.{qualname}: not found", file=sys.stderr)
            continue
        project = Path(tempfile.mkdtemp(prefix="lfcode-bench-explain-"))
        try:
            short = module.rsplit(".", 1)[-1]
            target = project / f"{short}.py"
            shutil.copyfile(file, target)
            started = time.monotonic()
            prepared = service.prepare(source, symbol, str(target), project)
            facts_s = time.monotonic() - started
            examples = service.run_examples(prepared)
            examples_s = time.monotonic() - started - facts_s
            explanation = service.explain_symbol(backend, prepared, examples, threading.Event())
            total_s = time.monotonic() - started
            truth = true_callees(source, qualname, symbol.start_line + 1)
            listed = {c.name.rsplit(".", 1)[-1] for c in explanation.facts.calls}
            own = same_file_callees(source, qualname, symbol.start_line + 1)
            same = set(own)
            where_right = {c.name.rsplit(".", 1)[-1] for c in explanation.facts.calls
                           if c.name.rsplit(".", 1)[-1] in own and c.where == f"{target}:{own[c.name.rsplit('.', 1)[-1]]}"}
            old = {re.search(r"(\w+)\s*\(", sig).group(1) for sig in related(symbol, source, str(target), project).callees
                   if re.search(r"(\w+)\s*\(", sig)}
            held = rerun(project, short, [e.call for e in examples.items]) if examples.items else []
            facts_text = "\n".join(document.fact_lines(explanation.facts, examples))
            kept_text = " ".join([explanation.summary.summary, *explanation.summary.steps]) if explanation.summary else ""
            row = {
                "function": f"{module}.{qualname}", "truth": sorted(truth), "listed": sorted(listed), "baseline": sorted(old),
                "same_file": sorted(same), "same_file_found": sorted(same & where_right),
                "examples": [{"call": e.call, "result": e.result, "rerun": r} for e, r in zip(examples.items, held)],
                "examples_note": examples.note, "kept": bool(explanation.summary and explanation.summary.usable),
                "summary": explanation.summary.summary if explanation.summary else "", "steps": explanation.summary.steps if explanation.summary else [],
                "dropped": [(d.text, d.reason) for d in (explanation.summary.dropped if explanation.summary else [])],
                "copied": any("copied" in d.reason for d in (explanation.summary.dropped if explanation.summary else [])),
                "unknown": unknown_identifiers(kept_text, symbol.source, facts_text),
                "seconds": {"facts": facts_s, "examples": examples_s, "model": total_s - facts_s - examples_s, "total": total_s},
            }
            if not args.no_baseline:
                values = {"signature": symbol.signature, "path": str(target), "language": "python", "source": symbol.source,
                          "imports": "none", "callees": ", ".join(f"`{c}`" for c in related(symbol, source, str(target), project).callees) or "none",
                          "callers": "none", "symbol": symbol.name}
                base = baseline_summary(backend, old_template, values, prepared, facts_text, [e.result for e in examples.items])
                row["baseline_kept"] = base.usable
                row["baseline_copied"] = any("copied" in d.reason for d in base.dropped)
                row["baseline_unknown"] = unknown_identifiers(" ".join([base.summary, *base.steps]), symbol.source, facts_text)
        finally:
            shutil.rmtree(project, ignore_errors=True)
        totals["tp"] += len(listed & truth)
        totals["fp"] += len(listed - truth)
        totals["fn"] += len(truth - listed)
        totals["same"] += len(same)
        totals["same_found"] += len(same & where_right)
        totals["base_tp"] += len(old & truth)
        totals["base_fn"] += len(truth - old)
        totals["base_fp"] += len(old - truth)
        totals["base_same_found"] += len(old & same)
        rows.append(row)
        print(f"{row['function']}: {len(row['examples'])} examples, kept={row['kept']}, {total_s:.1f} s", file=sys.stderr)
    report(rows, totals, not args.no_baseline)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}% ({a}/{b})" if b else "–"


def report(rows: list[dict], t: dict[str, int], baseline: bool) -> None:
    """Print the Markdown table."""
    examples = [e for r in rows for e in r["examples"]]
    held = sum(e["rerun"] == e["result"] for e in examples)
    with_examples = sum(1 for r in rows if len(r["examples"]) >= 2)
    kept = sum(r["kept"] for r in rows)
    copied = sum(r["copied"] for r in rows)
    unknown = sum(len(r["unknown"]) for r in rows)
    seconds = [r["seconds"]["total"] for r in rows]
    n = len(rows)
    print(f"\nExplain on {n} functions ({sum(r['function'].startswith('lfcode') for r in rows)} of lfcode), embedded model\n")
    print("| measure | previous explain | now | goal |")
    print("|---|---|---|---|")
    print(f"| callee precision (names) | {_pct(t['base_tp'], t['base_tp'] + t['base_fp'])} | {_pct(t['tp'], t['tp'] + t['fp'])} | 100% |")
    print(f"| callee recall (names) | {_pct(t['base_tp'], t['base_tp'] + t['base_fn'])} | {_pct(t['tp'], t['tp'] + t['fn'])} | – |")
    print(f"| same-file callees found with the right file:line | {_pct(t['base_same_found'], t['same'])} (name only) | "
          f"{_pct(t['same_found'], t['same'])} | 100% |")
    print(f"| examples that hold when re-run in a fresh interpreter | – | {_pct(held, len(examples))} | 100% |")
    print(f"| functions with ≥ 2 examples | – | {_pct(with_examples, n)} | – |")
    if baseline:
        print(f"| summaries kept after the checks | {_pct(sum(r['baseline_kept'] for r in rows), n)} | {_pct(kept, n)} | – |")
        print(f"| answers with a sentence dropped for copying the prompt | {_pct(sum(r['baseline_copied'] for r in rows), n)} | "
              f"{_pct(copied, n)} | – |")
        print(f"| identifiers in kept text not in the code or facts | {sum(len(r['baseline_unknown']) for r in rows)} | {unknown} | 0 |")
    else:
        print(f"| summaries kept after the checks | – | {_pct(kept, n)} | – |")
        print(f"| answers with a sentence dropped for copying the prompt | – | {_pct(copied, n)} | – |")
        print(f"| identifiers in kept text not in the code or facts | – | {unknown} | 0 |")
    parts = {k: statistics.mean(r["seconds"][k] for r in rows) for k in ("facts", "examples", "model")}
    print(f"| seconds per explanation (mean; facts / examples / model) | – | {statistics.mean(seconds):.2f} "
          f"({parts['facts']:.2f} / {parts['examples']:.2f} / {parts['model']:.2f}) | – |")


if __name__ == "__main__":
    main()
