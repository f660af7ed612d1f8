"""Facts of an explanation, read from the syntax tree: colorsys.py, then small synthetic modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lfcode.context.symbols import find_symbol
from lfcode.explain import pyfacts
from lfcode.explain.facts import Callee, Raised, build_facts
from lfcode.explain.service import symbol_for_line
from tests.unit.explain.explainutil import facts_of, line_of

HELPERS = '''def load(name):
    if not name:
        raise KeyError(name)
    return name
'''

MODULE = '''import os.path
import subprocess
from json import dumps as to_json
from pkg.helpers import load
from pkg import helpers as h

COUNTER = 0


def check(value):
    if value < 0:
        raise ValueError("negative")
    return value


def uses(value, items, **options):
    global COUNTER
    COUNTER += 1
    checked = check(value)
    path = os.path.join("a", "b")
    text = to_json(checked)
    loaded = load(text)
    h.load(text)
    items.append(1)
    options.update(x=1)
    options["y"] = 2
    with open(path) as handle:
        print(handle.read())
    subprocess.run(["ls"])
    return loaded


def pure(a, b):
    def inner():
        raise OSError("never raised by pure itself")
    return a + b


class Box:
    def __init__(self):
        self.x = 0

    def helper(self):
        raise RuntimeError("no")

    def run(self):
        self.x = 1
        return self.helper()


def numbers(n):
    for i in range(n):
        yield i


async def fetch(x):
    return x


def busy(xs):
    total = 0
    for x in xs:
        if x > 0 and x < 10:
            total += x
        elif x == 0:
            continue
    try:
        y = [v for v in xs if v]
    except ValueError:
        y = []
    return total if y else 0


def shapes(a, /, b: int = 1, *args, c, d=2, **kw) -> str:
    return


def report(r):
    return busy([r])
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project: ``pyproject.toml``, the package ``pkg`` (``pkg/helpers.py``) and ``mod.py``."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "helpers.py").write_text(HELPERS)
    (tmp_path / "mod.py").write_text(MODULE)
    return tmp_path


def where_of(where: str) -> tuple[Path, int]:
    """``path:line`` as ``(resolved path, line)``."""
    path, _, line = where.rpartition(":")
    return Path(path).resolve(), int(line)


# colorsys.py from the standard library


def test_colorsys_rgb_to_hls_facts(colorsys_copy: Path) -> None:
    text = colorsys_copy.read_text()
    symbol = symbol_for_line(text, str(colorsys_copy), line_of(text, "maxc = max(r, g, b)"))
    assert symbol is not None and symbol.qualname == "rgb_to_hls"
    facts = build_facts(text, symbol, str(colorsys_copy), colorsys_copy.parent)
    assert facts.analysed and facts.kind == "function" and facts.signature == "def rgb_to_hls(r, g, b)"
    assert facts.start_line == line_of(text, "def rgb_to_hls(")
    kinds = {c.name: c.kind for c in facts.calls}
    assert kinds["max"] == "builtin" and kinds["min"] == "builtin"
    assert [r["expression"] for r in facts.returns] == ["(0.0, l, 0.0)", "(h, l, s)"]
    assert facts.returns[0]["line"] == line_of(text, "return 0.0, l, 0.0")
    assert facts.raises == []
    assert facts.side_effects == []
    assert not facts.generator and not facts.coroutine
    assert "cyclomatic complexity 5" in facts.complexity
    assert [p["name"] for p in facts.parameters] == ["r", "g", "b"]


def test_colorsys_callers_come_from_the_project(colorsys_copy: Path) -> None:
    (colorsys_copy.parent / "paint.py").write_text("from colorsys import rgb_to_hls\n\n\ndef lightness(r, g, b):\n    return rgb_to_hls(r, g, b)[1]\n")
    facts = facts_of(colorsys_copy, "rgb_to_hls", colorsys_copy.parent)
    assert facts.called_by == ["def lightness(r, g, b)"]
    alone = facts_of(colorsys_copy, "rgb_to_hls", None)
    assert alone.called_by == []


# Raises


def test_a_direct_raise_has_its_line(project: Path) -> None:
    facts = facts_of(project / "mod.py", "check", project)
    assert facts.raises == [Raised(type="ValueError", line=line_of(MODULE, 'raise ValueError("negative")'))]


def test_a_raise_in_a_same_file_callee_is_reported_via_it(project: Path) -> None:
    facts = facts_of(project / "mod.py", "uses", project)
    assert Raised(type="ValueError", via="check") in facts.raises
    assert all(r.line is None for r in facts.raises)  # uses raises nothing itself


def test_a_raise_in_a_nested_function_is_not_the_functions_own(project: Path) -> None:
    facts = facts_of(project / "mod.py", "pure", project)
    assert facts.raises == []
    assert facts.returns == [{"expression": "a + b", "line": line_of(MODULE, "return a + b")}]


def test_a_method_called_through_self_is_the_projects_with_its_line(project: Path) -> None:
    facts = facts_of(project / "mod.py", "Box.run", project)
    assert facts.kind == "method"
    (callee,) = facts.calls
    assert callee.name == "self.helper" and callee.kind == "project"
    assert where_of(callee.where) == ((project / "mod.py").resolve(), line_of(MODULE, "def helper(self)"))
    assert facts.raises == [Raised(type="RuntimeError", via="self.helper")]


# Calls


def test_imported_calls_expand_aliases_and_tell_library_from_project(project: Path) -> None:
    facts = facts_of(project / "mod.py", "uses", project)
    calls = {c.name: c for c in facts.calls}
    assert calls["os.path.join"] == Callee("os.path.join", "library")
    assert calls["json.dumps"] == Callee("json.dumps", "library")  # `from json import dumps as to_json`
    assert "to_json" not in calls and "h.load" not in calls and "load" not in calls
    load = calls["pkg.helpers.load"]  # `load(...)` and `h.load(...)` are the same function
    assert load.kind == "project"
    assert where_of(load.where) == ((project / "pkg" / "helpers.py").resolve(), 1)
    assert Raised(type="KeyError", via="pkg.helpers.load") in facts.raises
    assert calls["check"].kind == "project" and where_of(calls["check"].where)[1] == line_of(MODULE, "def check(")
    assert calls["open"].kind == "builtin" and calls["print"].kind == "builtin"
    assert calls["subprocess.run"].kind == "library"


def test_without_a_project_root_an_import_is_a_library(project: Path) -> None:
    facts = facts_of(project / "mod.py", "uses", None)
    calls = {c.name: c for c in facts.calls}
    assert calls["pkg.helpers.load"] == Callee("pkg.helpers.load", "library")
    assert calls["check"].kind == "project"  # the file's own functions are still found


def test_a_package_under_src_is_the_projects(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    package = tmp_path / "src" / "tools"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "text.py").write_text("def shout(s):\n    return s.upper()\n")
    (tmp_path / "app.py").write_text("import tools.text as tt\n\n\ndef main(s):\n    return tt.shout(s)\n")
    facts = facts_of(tmp_path / "app.py", "main", tmp_path)
    (callee,) = facts.calls
    assert callee.name == "tools.text.shout" and callee.kind == "project"
    assert where_of(callee.where) == ((package / "text.py").resolve(), 1)


def test_from_dot_import_a_sibling_module_is_the_projects(project: Path) -> None:
    (project / "pkg" / "user.py").write_text("from . import helpers\n\n\ndef a(x):\n    return helpers.load(x)\n")
    facts = facts_of(project / "pkg" / "user.py", "a", project)
    (callee,) = facts.calls
    assert callee.name == ".helpers.load" and callee.kind == "project"


def test_relative_import_of_a_name_is_the_projects(project: Path) -> None:
    (project / "pkg" / "user.py").write_text("from .helpers import load as ld\n\n\ndef b(x):\n    return ld(x)\n")
    facts = facts_of(project / "pkg" / "user.py", "b", project)
    (callee,) = facts.calls
    assert callee.name == ".helpers.load" and callee.kind == "project"
    assert where_of(callee.where) == ((project / "pkg" / "helpers.py").resolve(), 1)
    assert facts.raises == [Raised(type="KeyError", via=".helpers.load")]


# Side effects


def test_side_effects_of_files_output_processes_arguments_and_globals(project: Path) -> None:
    facts = facts_of(project / "mod.py", "uses", project)
    effects = {(e["what"], e["line"]) for e in facts.side_effects}
    assert ("opens files", line_of(MODULE, "with open(path)")) in effects
    assert ("writes to standard output", line_of(MODULE, "print(handle.read())")) in effects
    assert ("starts processes", line_of(MODULE, 'subprocess.run(["ls"])')) in effects
    assert ("mutates argument `items`", line_of(MODULE, "items.append(1)")) in effects
    assert ("writes the global `COUNTER`", line_of(MODULE, "COUNTER += 1")) in effects
    # **options is the call's own dict: updating it changes nothing outside
    assert not any("options" in e["what"] or "options" in e["code"] for e in facts.side_effects)
    assert len(facts.side_effects) == 5


def test_setting_an_attribute_of_self_is_a_side_effect(project: Path) -> None:
    facts = facts_of(project / "mod.py", "Box.run", project)
    assert facts.side_effects == [{"what": "sets `self.x`", "code": "self.x", "line": line_of(MODULE, "self.x = 1")}]


def test_a_pure_function_has_no_side_effects(project: Path) -> None:
    assert facts_of(project / "mod.py", "pure", project).side_effects == []
    assert facts_of(project / "mod.py", "check", project).side_effects == []


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("import shutil\n\ndef f(p):\n    shutil.rmtree(p)\n", "changes files"),
        ("from pathlib import Path\n\ndef f(p):\n    Path(p).write_text('x')\n", "changes files"),
        ("import random\n\ndef f():\n    return random.random()\n", "uses randomness"),
        ("import time\n\ndef f():\n    return time.time()\n", "reads the clock"),
        ("import os\n\ndef f():\n    os.environ['A'] = '1'\n    os.chdir('/')\n", "changes the process environment"),
        ("import urllib.request as r\n\ndef f(u):\n    return r.urlopen(u)\n", "uses the network"),
        ("def f(d):\n    d['k'] = 1\n", "mutates argument `d`"),
    ],
)
def test_side_effects_by_kind(body: str, what: str) -> None:
    tree = ast.parse(body)
    function = pyfacts.find_definition(tree, 0, "f")
    assert isinstance(function, ast.FunctionDef)
    assert [e.what for e in pyfacts.analyse(tree, function).effects][:1] == [what]


def test_a_str_method_named_write_is_no_side_effect() -> None:
    tree = ast.parse("def f(s):\n    return str.join(',', s)\n")
    found = pyfacts.analyse(tree, tree.body[0])  # type: ignore[arg-type]
    assert found.effects == [] and [(c.name, c.kind) for c in found.calls] == [("str.join", "builtin")]


# Shapes: generators, coroutines, parameters, complexity


def test_a_generator_and_a_coroutine(project: Path) -> None:
    generator = facts_of(project / "mod.py", "numbers", project)
    assert generator.generator and not generator.coroutine and generator.returns == []
    assert generator.complexity.startswith("0 branches, 1 loop;")
    coroutine = facts_of(project / "mod.py", "fetch", project)
    assert coroutine.coroutine and not coroutine.generator and coroutine.signature == "async def fetch(x)"
    assert coroutine.returns == [{"expression": "x", "line": line_of(MODULE, "    return x")}]


def test_complexity_counts_every_decision_point(project: Path) -> None:
    # 1 + for + if + `and` + elif + comprehension loop + its `if` + except + conditional expression
    facts = facts_of(project / "mod.py", "busy", project)
    assert facts.complexity == "5 branches, 2 loops; cyclomatic complexity 9"


def test_parameters_of_every_kind_and_the_annotation(project: Path) -> None:
    facts = facts_of(project / "mod.py", "shapes", project)
    assert [(p["name"], p["annotation"], p["default"], p["kind"]) for p in facts.parameters] == [
        ("a", "", "", "positional-only"),
        ("b", "int", "1", "positional"),
        ("args", "", "", "*args"),
        ("c", "", "", "keyword-only"),
        ("d", "", "2", "keyword-only"),
        ("kw", "", "", "**kwargs"),
    ]
    assert facts.return_annotation == "str"
    assert facts.returns == [{"expression": "None", "line": line_of(MODULE, "def shapes(") + 1}]  # a bare `return`


def test_callers_are_listed_and_a_module_has_none(project: Path) -> None:
    facts = facts_of(project / "mod.py", "busy", project)
    assert facts.called_by == ["def report(r)"]
    text = (project / "mod.py").read_text()
    module = symbol_for_line(text, str(project / "mod.py"), None)
    assert module is not None and module.kind == "module"
    whole = build_facts(text, module, str(project / "mod.py"), project)
    assert whole.called_by == [] and whole.calls == [] and not whole.analysed


def test_a_file_that_does_not_parse_still_has_tag_facts(tmp_path: Path) -> None:
    text = "def helper(x):\n    return x\n\n\ndef broken(x):\n    return helper(x) +\n"
    (tmp_path / "broken.py").write_text(text)
    symbol = find_symbol(text, "broken", str(tmp_path / "broken.py"))
    assert symbol is not None
    facts = build_facts(text, symbol, str(tmp_path / "broken.py"), tmp_path)
    assert not facts.analysed and facts.complexity == "" and facts.returns == []
    assert [(c.name, c.kind) for c in facts.calls] == [("helper", "project")]


def test_other_languages_get_calls_from_the_tags_query(tmp_path: Path) -> None:
    text = "function helper(x) {\n  return x * 2;\n}\n\nfunction twice(x) {\n  return helper(x) + helper(x);\n}\n"
    (tmp_path / "util.js").write_text(text)
    facts = facts_of(tmp_path / "util.js", "twice", tmp_path)
    assert facts.language == "javascript" and not facts.analysed
    (callee,) = facts.calls
    assert callee.name == "helper" and callee.kind == "project"
    assert where_of(callee.where) == ((tmp_path / "util.js").resolve(), 1)


@pytest.mark.xfail(strict=True, reason="imprecision: callers are matched by the callee's last name only, so `subprocess.run([...])` "
                                       "in `uses` is listed as a caller of `Box.run` (facts.build_facts, `source.calls.get(symbol.name)`)")
def test_a_call_of_another_modules_function_with_the_same_name_is_no_caller(project: Path) -> None:
    facts = facts_of(project / "mod.py", "Box.run", project)
    assert facts.called_by == []


def test_calls_inside_a_lambda_are_the_functions_own() -> None:
    tree = ast.parse("def f(xs):\n    return sorted(xs, key=lambda v: len(v))\n")
    found = pyfacts.analyse(tree, tree.body[0])  # type: ignore[arg-type]
    assert [(c.name, c.kind) for c in found.calls] == [("sorted", "builtin"), ("len", "builtin")]


def test_asserts_and_bare_reraises() -> None:
    text = "def f(x):\n    assert x\n    try:\n        return 1 / x\n    except ZeroDivisionError:\n        raise\n"
    tree = ast.parse(text)
    found = pyfacts.analyse(tree, tree.body[0])  # type: ignore[arg-type]
    assert found.raises == [("AssertionError", 2), ("re-raises", 6)]
    assert pyfacts.direct_raises(tree, "f") == []  # neither is a `raise` of a type
    assert found.complexity == 2  # the except clause
