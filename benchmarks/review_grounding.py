"""The model analyzer alone on seeded-bug and behaviour-preserving hunks: how often its answers
copy the prompt's examples, how many findings show a quote from an added line, and how the
confidence from its token probabilities separates findings on a seeded bug from the others.

Each case is one function of the standard library (``textwrap``, ``statistics``, ``shlex`` ...)
changed once: a seeded bug (a comparison turned, ``<`` to ``<=`` or ``==`` to ``!=``, or one
parameter used for another) or a change that keeps behaviour (a local variable renamed). Its
hunk is reviewed in memory (no git) with the tree-sitter context, through
:func:`lfcode.review.model.review_piece`, exactly as ``lfcode review`` asks the model.

A finding is *on the bug* when it is kept on the seeded line; every finding on a safe change is
a false positive. An answer *copies an example* when one of its findings repeats a prompt
example's message (:func:`~lfcode.review.findings.drop_parroted`) or cites an example's line.

``--template FILE --schema FILE`` reviews with another completion prompt and JSON schema (the
previous ones, to measure before/after): answers are then generated directly, and only copying
is counted (no quotes to check).

Usage: ``python benchmarks/review_grounding.py [--cases 10] [--safe 6] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import json
import random
import re
import statistics
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lfcode.backends import make_backend  # noqa: E402
from lfcode.backends.base import GenerationRequest  # noqa: E402
from lfcode.review.context import context_for_hunk, parse_source  # noqa: E402
from lfcode.review.findings import drop_parroted, parse_model_output  # noqa: E402
from lfcode.review.grounding import CONFIDENCE_THRESHOLD, choice_probabilities, token_offsets, answer_items  # noqa: E402
from lfcode.review.hunks import parse_hunks  # noqa: E402
from lfcode.review.model import ReviewOptions, review_piece  # noqa: E402
from lfcode.review.model_prompt import ReviewPrompt, example_messages, load_template, prompt_for, render_context  # noqa: E402
from lfcode.settings import Settings  # noqa: E402

MODULES = ("textwrap", "statistics", "bisect", "heapq", "shlex", "difflib", "fnmatch", "posixpath",
           "calendar", "colorsys", "html", "ipaddress", "csv", "string", "gettext")
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
_EXAMPLE_LINE = re.compile(r'"line":\s*(\d+)')
_EXAMPLE_QUOTE = re.compile(r'"quote":\s*("(?:[^"\\]|\\.)*")')


def functions() -> list[str]:
    """Dedented sources of 6-30 line functions of :data:`MODULES`, in file order."""
    out = []
    for name in MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        text = Path(spec.origin).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and 6 <= node.end_lineno - node.lineno <= 30 and not node.decorator_list:
                src = textwrap.dedent("\n".join(text.splitlines()[node.lineno - 1:node.end_lineno])) + "\n"
                try:
                    ast.parse(src)
                except SyntaxError:
                    continue
                out.append(src)
    return out


def _replace(src: str, line: int, start: int, end: int, text: str) -> str:
    lines = src.splitlines(keepends=True)
    raw = lines[line - 1].encode()
    lines[line - 1] = (raw[:start] + text.encode() + raw[end:]).decode()
    return "".join(lines)


def seed_bug(src: str, rng: random.Random) -> tuple[str, int] | None:
    """``(buggy source, changed line)``: a comparison turned or a parameter swapped; or ``None``."""
    fn = ast.parse(src).body[0]
    params = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
    options = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and node.left.end_lineno == node.comparators[0].lineno:
            right = node.comparators[0]
            raw = src.splitlines()[right.lineno - 1].encode()
            between = raw[node.left.end_col_offset:right.col_offset].decode()
            if between.strip() in _SWAP:
                new = between.replace(between.strip(), _SWAP[between.strip()])
                options.append((right.lineno, node.left.end_col_offset, right.col_offset, new))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in params and len(params) > 1:
            other = rng.choice([p for p in params if p != node.id])
            options.append((node.lineno, node.col_offset, node.end_col_offset, other))
    rng.shuffle(options)
    for line, start, end, text in options:
        new = _replace(src, line, start, end, text)
        if new != src:
            return new, line
    return None


def rename_local(src: str) -> str | None:
    """``src`` with one local variable renamed everywhere (behaviour kept), or ``None``."""
    fn = ast.parse(src).body[0]
    params = {a.arg for a in fn.args.args}
    stored = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in params]
    for name in stored:
        edits = sorted(((n.lineno, n.col_offset, n.end_col_offset) for n in ast.walk(fn)
                        if isinstance(n, ast.Name) and n.id == name), reverse=True)
        new = src
        for line, start, end in edits:
            new = _replace(new, line, start, end, f"{name}_value")
        return new
    return None


def hunk_of(before: str, after: str):
    """The one hunk of ``case.py`` from ``before`` to ``after`` (3 lines of context)."""
    diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "a/case.py", "b/case.py"))
    return parse_hunks("case.py", diff)


def cases(n_bugs: int, n_safe: int, seed: int) -> list[dict]:
    """``{"kind": "bug"|"safe", "before", "after", "line"}`` cases (``line``: the seeded one)."""
    rng = random.Random(seed)
    pool = functions()
    rng.shuffle(pool)
    out: list[dict] = []
    for src in pool:
        bugs = sum(c["kind"] == "bug" for c in out)
        if bugs < n_bugs and (changed := seed_bug(src, rng)):
            out.append({"kind": "bug", "before": src, "after": changed[0], "line": changed[1]})
        elif len(out) - bugs < n_safe and (renamed := rename_local(src)) and renamed != src:
            out.append({"kind": "safe", "before": src, "after": renamed, "line": None})
        if len(out) >= n_bugs + n_safe:
            break
    return out


def example_lines(template) -> set[int]:
    return {int(m.group(1)) for m in _EXAMPLE_LINE.finditer(template.template)}


def example_quotes(template) -> set[str]:
    return {json.loads(m.group(1)).replace("$$", "$") for m in _EXAMPLE_QUOTE.finditer(template.template)}


def copies(findings, quotes: list, template) -> int:
    """How many of ``findings`` (with their ``quotes``) repeat an example of ``template``: its
    message (:func:`~lfcode.review.findings.drop_parroted`), its line number or its quote."""
    messages, lines, quoted = example_messages(template), example_lines(template), example_quotes(template)
    return sum(1 for f, q in zip(findings, quotes) if drop_parroted([f], messages)[1] or f.line in lines or q in quoted)


def run_case(backend, prompt: ReviewPrompt, case: dict, options: ReviewOptions, schema: dict | None) -> dict:
    """Review one case; returns the numbers for it."""
    examples = example_messages(prompt.template)
    row: dict = {"kind": case["kind"], "findings": 0, "copied": False, "kept": []}
    for hunk in hunk_of(case["before"], case["after"]):
        context = render_context(context_for_hunk(parse_source("case.py", case["after"]), hunk))
        text = prompt.text(hunk, context)
        start = time.perf_counter()
        if schema is not None:  # another schema: generate directly, count copies only
            request = GenerationRequest(prompt=text, json_schema=schema, max_tokens=options.max_tokens, stop=["\n### "])
            answer = "".join(backend.complete(request, threading.Event()))
            found, _ = parse_model_output(answer, "case.py")
            copied = copies(found, [None] * len(found), prompt.template)
            row.update(answer=answer, findings=row["findings"] + len(found), copied=row["copied"] or copied > 0)
            row["seconds"] = time.perf_counter() - start
            continue
        result = review_piece(backend, prompt, hunk, text, options, threading.Event(), examples)
        row["seconds"] = time.perf_counter() - start
        found = [c.finding for c in result.candidates]
        copied = copies(found, [c.quote for c in result.candidates], prompt.template)
        tokens = token_offsets(result.probabilities, result.answer)
        items = [i for i in answer_items(result.answer) if isinstance(i.data, dict)]
        parts = choice_probabilities(result.answer, items, tokens) if tokens else []
        row.update(answer=result.answer, findings=row["findings"] + len(found), copied=row["copied"] or copied > 0,
                   ungrounded=row.get("ungrounded", 0) + result.ungrounded, all_parts=parts)
        for f in result.findings:
            part = next((p for p, c in zip(parts, result.candidates) if c.finding.message == f.message), {})
            row["kept"].append({"line": f.line, "severity": f.severity, "confidence": f.confidence,
                                "on_bug": case["line"] == f.line, "quote": f.evidence.quote if f.evidence else None,
                                **{k: v for k, v in part.items() if k != "confidence"}})
    return row


def summary(rows: list[dict]) -> list[str]:
    n = len(rows)
    out = [f"cases: {n} ({sum(r['kind'] == 'bug' for r in rows)} seeded bugs, {sum(r['kind'] == 'safe' for r in rows)} safe)",
           f"answers with a finding: {sum(r['findings'] > 0 for r in rows)}/{n}",
           f"answers copying an example: {sum(r['copied'] for r in rows)}/{n}"]
    if any("ungrounded" in r for r in rows):
        kept = [k for r in rows for k in r["kept"]]
        out.append(f"findings read: {sum(r['findings'] for r in rows)}, dropped without a quote from an added line: "
                   f"{sum(r.get('ungrounded', 0) for r in rows)}, kept: {len(kept)}")
        on_bug = [k for r in rows if r["kind"] == "bug" for k in r["kept"] if k["on_bug"]]
        other = [k for r in rows for k in r["kept"] if not k["on_bug"]]
        for name, group in (("on the seeded bug", on_bug), ("elsewhere / on safe changes", other)):
            values = [k["confidence"] for k in group if k["confidence"] is not None]
            above = sum(v >= CONFIDENCE_THRESHOLD for v in values)
            median = f"{statistics.median(values):.3f}" if values else "n/a"
            out.append(f"kept {name}: {len(group)}, confidence median {median}, "
                       f">= {CONFIDENCE_THRESHOLD}: {above}")
    out.append(f"seconds per case: {statistics.mean(r['seconds'] for r in rows):.1f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help='"embedded" or a GGUF path')
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--cases", type=int, default=10, help="seeded-bug cases")
    parser.add_argument("--safe", type=int, default=6, help="behaviour-preserving cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--template", type=Path, help="another completion prompt template")
    parser.add_argument("--schema", type=Path, help="another JSON schema (copying is counted only)")
    parser.add_argument("--json", type=Path, help="also write every case's numbers here")
    args = parser.parse_args()
    backend = make_backend(Settings(model=args.model, n_ctx=args.n_ctx))
    prompt = ReviewPrompt(load_template(args.template)) if args.template else prompt_for(backend)
    schema = json.loads(args.schema.read_text()) if args.schema else None
    rows = []
    for n, case in enumerate(cases(args.cases, args.safe, args.seed), 1):
        row = run_case(backend, prompt, case, ReviewOptions(), schema)
        rows.append(row)
        print(f"{n} {row['kind']}: {row['findings']} finding(s), copied={row['copied']}, kept={row['kept']}, "
              f"{row['seconds']:.1f} s", file=sys.stderr)
    print("\n".join(summary(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
