"""Benchmark for ``lfcode review``: seeded-bug recall, precision, false positives, speed, secrets.

Every case is a real module of the standard library committed into a fresh repository as
``pkg/<module>.py``, then one of its functions (6-40 lines) is edited in place and the working
tree is reviewed with every analyzer (or ``--analyzers``):

* **behaviour-changing edits (seeded bugs)**: off-by-one (``<`` to ``<=``, or a bound such as
  ``+ 1``, ``[1:]`` or ``range(0, n)`` moved by one), inverted condition, wrong variable (one
  parameter used for another), missing ``await`` (``asyncio`` modules). A bug counts as found
  when a ``warning`` or ``error`` finding lies within 2 lines of the seeded line;
* **behaviour-preserving edits**: a local variable renamed, the function reformatted
  (``ast.unparse``), a return value put in a local variable first, an ``if``/``else`` with its
  branches swapped under ``not (...)``. Any ``warning`` or ``error`` finding is a false positive;
* **precision**: of the warning/error findings on seeded-bug cases, the share within 2 lines of
  the bug; **seconds per hunk**: review time over hunks reviewed;
* **planted secrets** (AWS key, GitHub token, private key) committed into a copy of ``colorsys``
  and pushed through the installed pre-push hook: caught, masked in text/JSON/SARIF, push blocked.

Each analyzer's row counts the findings it reported or corroborated, so the ``ruff`` row is the
deterministic-linter baseline (reviewdog's added-lines filter) and the ``model`` row the earlier
model-only review. Usage: ``python benchmarks/review.py --model embedded [--cases 10]``;
``--backend fake`` runs the harness with a scripted model that answers ``[]``.
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
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import git

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lfcode.backends import make_backend  # noqa: E402
from lfcode.review.result import ReviewOptions  # noqa: E402
from lfcode.review.service import review_changes  # noqa: E402
from lfcode.settings import Settings  # noqa: E402

MODULES = ("textwrap", "statistics", "shlex", "difflib", "fnmatch", "posixpath", "ntpath", "calendar", "colorsys",
           "ipaddress", "gettext", "string", "fractions", "base64", "quopri", "netrc", "tokenize", "glob")
ASYNC_MODULES = ("asyncio.streams", "asyncio.locks", "asyncio.queues", "asyncio.tasks",
                 "asyncio.base_events", "asyncio.sslproto")
BUGS = ("off_by_one", "inverted_condition", "wrong_variable", "missing_await")
SAFE = ("rename_variable", "reformat", "extract_return", "invert_if")
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}


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


def mutate(src: str, fn: ast.AST, kind: str, rng: random.Random) -> tuple[str, int] | None:
    """``(new module source, changed line)`` after applying ``kind`` inside function ``fn`` of the
    module ``src``, or ``None`` if it cannot."""
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


def preserve(src: str, fn: ast.AST, kind: str) -> str | None:
    """A behaviour-preserving rewrite of function ``fn`` in the module ``src``: rename a local
    variable, reformat it (``ast.unparse``), return through a new local variable, or swap the
    branches of an ``if``/``else`` under a negated condition. ``None`` when it does not apply."""
    lines = src.splitlines(keepends=True)
    if kind == "reformat":
        first = min([d.lineno for d in fn.decorator_list] + [fn.lineno])
        indent = " " * fn.col_offset
        body = textwrap.indent(ast.unparse(fn), indent) + "\n"
        new = "".join(lines[: first - 1]) + body + "".join(lines[fn.end_lineno:])
        return new if new != src else None
    if kind == "extract_return":
        for node in ast.walk(fn):
            if isinstance(node, ast.Return) and node.value is not None and node.lineno == node.end_lineno \
                    and not isinstance(node.value, (ast.Constant, ast.Name)):
                line = lines[node.lineno - 1]
                pad = line[: node.col_offset]
                value = line.encode()[node.value.col_offset:node.value.end_col_offset].decode()
                if line[: node.col_offset].strip():
                    continue
                lines[node.lineno - 1] = f"{pad}result_value = {value}\n{pad}return result_value\n"
                return "".join(lines)
        return None
    if kind == "invert_if":
        for node in ast.walk(fn):
            if isinstance(node, ast.If) and node.orelse and not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)) \
                    and node.test.lineno == node.test.end_lineno and lines[node.lineno - 1].lstrip().startswith("if "):
                pad = " " * node.col_offset
                test = ast.unparse(node.test)
                body = "".join(lines[node.body[0].lineno - 1: node.body[-1].end_lineno])
                other = "".join(lines[node.orelse[0].lineno - 1: node.orelse[-1].end_lineno])
                if node.body[0].lineno == node.lineno:
                    continue
                else_line = next((i for i in range(node.body[-1].end_lineno, node.orelse[0].lineno) if lines[i].strip() == "else:"), None)
                if else_line is None:
                    continue
                new = f"{pad}if not ({test}):\n{other}{pad}else:\n{body}"
                return "".join(lines[: node.lineno - 1]) + new + "".join(lines[node.orelse[-1].end_lineno:])
        return None
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



IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def functions(modules: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """``(module name, module source, qualified name)`` of the 6-40 line functions and methods of
    ``modules`` (module level and one class deep), in file order."""
    out = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        text = Path(spec.origin).read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in tree.body:
            members = [(node, node.name)] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else \
                [(m, f"{node.name}.{m.name}") for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))] \
                if isinstance(node, ast.ClassDef) else []
            for fn, qualname in members:
                if 6 <= fn.end_lineno - fn.lineno <= 40:
                    out.append((name, text, qualname))
    return out


def find(tree: ast.Module, qualname: str) -> ast.AST:
    """The function ``qualname`` (``f`` or ``Class.m``) of ``tree``."""
    scope: list[ast.stmt] = tree.body
    node = None
    for part in qualname.split("."):
        node = next(n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part)
        scope = node.body
    return node


def review_case(module: str, before: str, after: str, backend, workdir: Path, analyzers: list[str] | None, model_calls: bool = False):
    """Commit ``before`` as ``pkg/<module>.py`` in a fresh repository, write ``after`` over it and
    review the working tree; ``(result, seconds)``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "pkg").mkdir(parents=True)
    path = workdir / "pkg" / (module.rsplit(".", 1)[-1] + ".py")
    repo = git.Repo.init(workdir)
    path.write_text(before, encoding="utf-8")
    repo.git.add(".")
    repo.git.commit("-m", "before", env={**os.environ, **IDENTITY})
    repo.close()
    path.write_text(after, encoding="utf-8")
    start = time.perf_counter()
    result = review_changes(workdir, ReviewOptions(include_untracked=False, model_calls=model_calls), backend, analyzers=analyzers)
    return result, time.perf_counter() - start


def serious(result) -> list:
    """Findings at warning or error."""
    return [f for f in result.findings if f.severity in ("warning", "error")]


def by(finding, analyzer: str) -> bool:
    """Whether ``analyzer`` reported ``finding`` (alone or corroborating another)."""
    return finding.analyzer == analyzer or analyzer in finding.corroborated_by


#: Planted credentials: realistic shapes, not any provider's documented example value.
SECRETS = {
    "aws_access_key": 'AWS_ACCESS_KEY_ID = "AKIA' + "Q7RZ2M5XKT4WPL3N" + '"\n',
    "github_token": 'GITHUB_TOKEN = "ghp_' + "8fK2mQ9xLr4TzW7vNc1BpY6sHd3JgE0aUo5i" + '"\n',
    "private_key": 'DEPLOY_KEY = """-----BEGIN RSA ' + 'PRIVATE KEY-----\nMIIEowIBAAKCAQEA7q3Xk9PzR2mVt8LwYc4NbJ5sHf1Gd6KeQ0aUo2iTr\n-----END RSA ' + 'PRIVATE KEY-----"""\n',
}


def secret_cases(tmp: Path) -> list[tuple[str, bool, bool, bool]]:
    """Per planted secret: ``(kind, caught, masked in text/json/sarif, push blocked)``. Each is
    committed into a copy of ``colorsys`` and pushed to a bare remote through the installed
    pre-push hook; the CLI runs as a user would (``--analyzers secrets,rules,ruff`` keeps it fast)."""
    out = []
    source = Path(importlib.util.find_spec("colorsys").origin).read_text(encoding="utf-8")
    env = {**os.environ, **IDENTITY, "LFCODE_REVIEW_ANALYZERS": "secrets,rules,ruff"}
    for kind, text in SECRETS.items():
        work, remote = tmp / f"secret-{kind}", tmp / f"remote-{kind}.git"
        for folder in (work, remote):
            shutil.rmtree(folder, ignore_errors=True)
        git.Repo.init(remote, bare=True).close()
        repo = git.Repo.init(work)
        (work / "colorsys.py").write_text(source, encoding="utf-8")
        repo.git.add(".")
        repo.git.commit("-m", "base", env=env)
        repo.git.remote("add", "origin", str(remote))
        repo.git.push("origin", "HEAD:refs/heads/main", env=env)
        (work / "colorsys.py").write_text(source + "\n" + text, encoding="utf-8")
        repo.git.commit("-am", "config", env=env)
        secret = re.search(r'"(AKIA\w+|ghp_\w+)"|(MIIE\w+)', text)
        value = secret.group(1) or secret.group(2)
        outputs = []
        for fmt in ("text", "json", "sarif"):
            run = subprocess.run([sys.executable, "-m", "lfcode", "review", "--range", "HEAD~1..HEAD", "--format", fmt],
                                 cwd=work, env=env, capture_output=True, text=True)
            outputs.append(run.stdout + run.stderr)
        caught = '"secrets/' in outputs[1]
        masked = all(value not in o for o in outputs)
        hook = subprocess.run([sys.executable, "-m", "lfcode", "review", "--install-hook"], cwd=work, env=env, capture_output=True, text=True)
        push = subprocess.run(["git", "push", "origin", "HEAD:refs/heads/main"], cwd=work, env=env, capture_output=True, text=True)
        blocked = hook.returncode == 0 and push.returncode != 0 and value not in push.stdout + push.stderr
        repo.close()
        out.append((kind, caught, masked, blocked))
        print(f"secret {kind}: caught {caught}, masked {masked}, push blocked {blocked}", file=sys.stderr)
    return out


ANALYZERS = ("secrets", "ruff", "behaviour", "coroutines", "rules", "model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded", help='"embedded" or a GGUF path')
    parser.add_argument("--backend", default="llama-cpp", choices=("llama-cpp", "openai", "fake"))
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--cases", type=int, default=10, help="functions per bug kind / change kind")
    parser.add_argument("--analyzers", help="comma-separated analyzers (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model-calls", action="store_true", help="the behaviour diff also asks the model for calls")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    settings = Settings(model=args.model, backend=args.backend, n_ctx=args.n_ctx)
    if args.backend == "fake":
        from lfcode.backends.fake import FakeBackend

        backend = FakeBackend(default="[]")
    else:
        backend = make_backend(settings)
    analyzers = args.analyzers.split(",") if args.analyzers else None
    shown = [a for a in ANALYZERS if analyzers is None or a in analyzers]
    rng = random.Random(args.seed)
    plain, asynchronous = functions(MODULES), functions(ASYNC_MODULES)
    numbers: dict = {"model": backend.capabilities.name, "analyzers": shown}
    tally = {a: {"found": 0, "findings": 0, "near": 0, "fp": 0} for a in [*shown, "all"]}
    rows: list[tuple[str, ...]] = []
    hunks = seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="lfcode-bench-") as tmpname:
        tmp = Path(tmpname)
        totals = {"recall": 0, "false positives": 0}
        for group, kinds in (("recall", BUGS), ("false positives", SAFE)):
            for kind in kinds:
                pool = asynchronous if kind == "missing_await" else plain
                order = rng.sample(range(len(pool)), len(pool))
                done = hit = 0
                for i in order:
                    if done >= args.cases:
                        break
                    module, src, qualname = pool[i]
                    fn = find(ast.parse(src), qualname)
                    if group == "recall":
                        changed = mutate(src, fn, kind, rng)
                        if changed is None:
                            continue
                        after, line = changed
                    else:
                        after, line = preserve(src, fn, kind), None
                        if after is None:
                            continue
                    result, secs = review_case(module, src, after, backend, tmp / "case", analyzers, args.model_calls)
                    hunks += result.hunks_reviewed
                    seconds += secs
                    found = serious(result)
                    for name in [*shown, "all"]:
                        mine = [f for f in found if name == "all" or by(f, name)]
                        if group == "recall":
                            near = [f for f in mine if abs(f.line - line) <= 2]
                            tally[name]["found"] += bool(near)
                            tally[name]["findings"] += len(mine)
                            tally[name]["near"] += len(near)
                        else:
                            tally[name]["fp"] += bool(mine)
                    ok = any(abs(f.line - line) <= 2 for f in found) if group == "recall" else not found
                    hit += ok if group == "recall" else not ok
                    done += 1
                    print(f"{group} {kind} #{done} {module}.{qualname}: {len(found)} finding(s) "
                          f"[{', '.join(sorted({f.rule for f in found}))}], {secs:.1f} s", file=sys.stderr)
                rows.append((f"{group}: {kind}", f"{hit}/{done}"))
                numbers.setdefault(group, {})[kind] = [hit, done]
                totals[group] += done
        secrets = secret_cases(tmp) if analyzers is None or "secrets" in analyzers else []
    print(f"lfcode review benchmark, model {numbers['model']}, backend {args.backend}, {args.cases} cases per kind, seed {args.seed}\n")
    print("| analyzer | seeded-bug recall | precision (within 2 lines) | false positives on behaviour-preserving changes |")
    print("|---|---|---|---|")
    bugs, safe = totals["recall"], totals["false positives"]
    for name in [*shown, "all"]:
        t = tally[name]
        precision = f"{t['near'] / t['findings']:.0%} ({t['near']}/{t['findings']})" if t["findings"] else "n/a (no findings)"
        label = "**all (lfcode review)**" if name == "all" else name
        print(f"| {label} | {t['found'] / max(bugs, 1):.0%} ({t['found']}/{bugs}) | {precision} | {t['fp'] / max(safe, 1):.0%} ({t['fp']}/{safe}) |")
        numbers.setdefault("analyzers_table", {})[name] = t
    print("\n| case kind | cases with a warning/error finding within 2 lines (bugs) / with none (preserving) |\n|---|---|")
    for measure, value in rows:
        print(f"| {measure} | {value} |")
    per_hunk = seconds / hunks if hunks else 0.0
    print(f"\nseconds per hunk: {per_hunk:.2f} ({hunks:.0f} hunks, {seconds:.0f} s)")
    numbers["seconds_per_hunk"] = round(per_hunk, 2)
    if secrets:
        print("\n| planted secret | caught | masked (text, json, sarif) | push blocked by the hook |\n|---|---|---|---|")
        for kind, caught, masked, blocked in secrets:
            print(f"| {kind} | {'yes' if caught else 'no'} | {'yes' if masked else 'no'} | {'yes' if blocked else 'no'} |")
        numbers["secrets"] = secrets
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
