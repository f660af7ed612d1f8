"""The one project-root finder and workspace walk (``lfcode.context.files``)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import lfcode.settings
from lfcode.cli import cli
from lfcode.context.files import files_with_suffix, project_root
from lfcode.testgen import service


def test_project_root_is_the_nearest_folder_with_any_marker(tmp_path: Path) -> None:
    (tmp_path / "outer" / "inner" / "src").mkdir(parents=True)
    (tmp_path / "outer" / "pyproject.toml").write_text("")
    (tmp_path / "outer" / "inner" / "package.json").write_text("{}")
    assert project_root(tmp_path / "outer" / "inner" / "src" / "a.py") == (tmp_path / "outer" / "inner").resolve()
    assert project_root(tmp_path / "outer" / "b.py") == (tmp_path / "outer").resolve()


def test_the_cli_reads_settings_from_the_root_it_generates_tests_in(tmp_path: Path, monkeypatch) -> None:
    """A nested file under an outer ``pyproject.toml`` and an inner ``package.json``: the CLI's
    settings root and the test-generation root are the same folder (the inner one)."""
    outer = tmp_path / "outer"
    (outer / "inner" / "src").mkdir(parents=True)
    (outer / "pyproject.toml").write_text("")
    (outer / "inner" / "package.json").write_text("{}")
    source = outer / "inner" / "src" / "calc.py"
    source.write_text("def double(x):\n    return 2 * x\n")
    roots: dict[str, Path | None] = {}
    real_load, real_plan = lfcode.settings.load_settings, service.plan_tests

    def load_settings(root=None, *args, **kwargs):
        roots["settings"] = root
        return real_load(root, *args, **kwargs)

    def plan_tests(path, text, symbol, root, *args, **kwargs):
        roots["tests"] = root
        return real_plan(path, text, symbol, root, *args, **kwargs)

    monkeypatch.setattr(lfcode.settings, "load_settings", load_settings)
    monkeypatch.setattr(service, "plan_tests", plan_tests)
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"responses": ["4\n"]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    CliRunner().invoke(cli, ["tests", f"{source}::double"], env=env)
    assert roots == {"settings": (outer / "inner").resolve(), "tests": (outer / "inner").resolve()}


def test_files_with_suffix_skips_hidden_and_dependency_folders_and_stops_at_the_limit(tmp_path: Path) -> None:
    for name in ("a/x.py", "b/y.py", ".hidden/z.py", "node_modules/w.py", "a/readme.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert files_with_suffix(tmp_path, {".py"}, 10) == [tmp_path / "a" / "x.py", tmp_path / "b" / "y.py"]
    assert files_with_suffix(tmp_path, {".py"}, 1) == [tmp_path / "a" / "x.py"]
