"""The execution engine on the real bubblewrap sandbox: values, exceptions, coverage, stability,
time bounds, import errors, file versions, and nothing left behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lfcode.execution.engine import ExecutionError, module_name, run_calls, run_calls_on_versions

pytestmark = [pytest.mark.sandbox, pytest.mark.model]

SHADES = '''\
import random

LIMIT = 0.5


def shade(level):
    """A word for a level in [0, 1]."""
    if level < 0:
        raise ValueError("level must be >= 0")
    if level <= LIMIT:
        return "dark"
    return "light"


def noisy():
    print("working")
    return random.random()


def spin():
    while True:
        pass


class Box:
    def __init__(self, size):
        self.size = size

    def grow(self, by):
        self.size += by
        return self.size

    def __repr__(self):
        return f"Box({self.size})"
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "shades.py").write_text(SHADES)
    return root


def test_values_exceptions_and_the_lines_each_call_ran(project: Path) -> None:
    report = run_calls(project, project / "pkg" / "shades.py", ["shade(0.2)", "shade(0.9)", "shade(-1)", "Box(2)"])
    assert report.sandboxed and report.import_error is None
    dark, light, bad, box = report.outcomes
    assert (dark.value_repr, dark.value_type, dark.literal, dark.stable) == ("'dark'", "str", True, True)
    assert light.value_repr == "'light'" and light.exception_type is None
    assert (bad.exception_type, bad.exception_message, bad.value_repr) == ("ValueError", "level must be >= 0", None)
    assert (box.value_repr, box.value_type, box.literal) == ("Box(2)", "pkg.shades.Box", False)
    # Lines 8-12 of SHADES: the two checks and the three exits; coverage.py tells the calls apart.
    assert (dark.lines, light.lines, bad.lines) == ((8, 10, 11), (8, 10, 12), (8, 9))
    assert dark.arcs and dark.arcs != light.arcs


def test_printed_output_randomness_and_time_limits_are_reported(project: Path) -> None:
    report = run_calls(project, project / "pkg" / "shades.py", ["noisy()", "spin()", "shade(1)"], call_seconds=0.5)
    noisy, spin, after = report.outcomes
    assert noisy.stdout == "working\n" and noisy.value_type == "float" and not noisy.stable
    assert spin.timed_out and spin.exception_type == "TimeoutError" and not spin.stable
    assert after.value_repr == "'light'"  # the run goes on after a call that overran


def test_methods_get_a_fresh_instance_per_call(project: Path) -> None:
    report = run_calls(project, project / "pkg" / "shades.py", ["obj.grow(1)", "obj.grow(5)"], constructor="Box(10)")
    assert [o.value_repr for o in report.outcomes] == ["11", "15"]
    assert all(o.stable for o in report.outcomes)


def test_an_import_error_is_reported_and_nothing_runs(project: Path) -> None:
    (project / "pkg" / "broken.py").write_text("import not_a_real_dependency\n\ndef f():\n    return 1\n")
    report = run_calls(project, project / "pkg" / "broken.py", ["f()"])
    assert report.outcomes == []
    assert report.import_error is not None and report.import_error.startswith("ModuleNotFoundError")
    assert "not_a_real_dependency" in report.import_error


def test_two_versions_of_a_file_and_the_project_is_left_as_it_was(project: Path) -> None:
    before = (project / "pkg" / "shades.py").read_text()
    after = before.replace("if level <= LIMIT:", "if level < LIMIT:")
    old, new = run_calls_on_versions(project, project / "pkg" / "shades.py", ["shade(0.5)"], [before, after])
    assert (old.outcomes[0].value_repr, new.outcomes[0].value_repr) == ("'dark'", "'light'")
    assert (project / "pkg" / "shades.py").read_text() == before
    assert not any(p.name.startswith("lfcode-exec-") for p in Path(tempfile.gettempdir()).iterdir())


def test_the_sandbox_has_no_network_and_cannot_write_the_project(project: Path) -> None:
    (project / "pkg" / "bold.py").write_text(
        "import socket\n\ndef connect():\n    return socket.create_connection(('1.1.1.1', 53), timeout=1)\n\n"
        f"def write():\n    open({str(project / 'pkg' / 'shades.py')!r}, 'w').write('gone')\n"
    )
    report = run_calls(project, project / "pkg" / "bold.py", ["connect()", "write()"])
    connect, write = report.outcomes
    assert connect.exception_type is not None and connect.exception_type.endswith("Error")
    assert write.exception_type is not None
    assert (project / "pkg" / "shades.py").read_text() == SHADES


def test_bad_arguments_are_clear_errors(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ExecutionError, match="outside the project"):
        run_calls(project, tmp_path / "elsewhere.py", ["f()"])
    with pytest.raises(ExecutionError, match="not a file"):
        run_calls(project, project / "pkg" / "missing.py", ["f()"])
    assert module_name(project, project / "pkg" / "shades.py") == "pkg.shades"
    assert module_name(project, project / "pkg" / "__init__.py") == "pkg"


def test_a_constructor_that_fails_is_reported_apart_from_the_call(project: Path) -> None:
    report = run_calls(project, project / "pkg" / "shades.py", ["obj.grow(1)"], constructor="Box()")
    (only,) = report.outcomes
    assert only.constructor_error is not None and only.constructor_error.startswith("TypeError")
    assert only.lines == () or only.lines is None or 37 not in only.lines  # grow never ran
