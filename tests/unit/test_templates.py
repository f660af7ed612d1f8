"""Prompt templates are validated data."""

from __future__ import annotations

import pytest

from lfcode import templates
from lfcode.templates import TemplateError, render


@pytest.fixture
def prompt_dir(tmp_path, monkeypatch):
    (tmp_path / "t.txt").write_text("Explain $symbol in ${language}; costs $$5.\n")
    monkeypatch.setattr(templates, "_read", lambda name: (tmp_path / name).read_text())
    templates.load_template.cache_clear()
    yield tmp_path
    templates.load_template.cache_clear()


def test_render_fills_every_placeholder(prompt_dir) -> None:
    assert render("t.txt", symbol="f", language="Python") == "Explain f in Python; costs $5.\n"


def test_missing_value_is_refused(prompt_dir) -> None:
    with pytest.raises(TemplateError, match="language"):
        render("t.txt", symbol="f")


def test_unknown_value_is_refused(prompt_dir) -> None:
    with pytest.raises(TemplateError, match="colour: Extra inputs"):
        render("t.txt", symbol="f", language="Go", colour="red")


def test_every_shipped_template_loads_with_its_placeholders() -> None:
    names = templates.template_names()
    assert {"review.txt", "explain.txt", "tests_pytest.txt"} <= set(names)
    for name in names:
        template, model = templates.load_template(name)
        assert template.is_valid()
        assert set(model.model_fields) == set(template.get_identifiers())
