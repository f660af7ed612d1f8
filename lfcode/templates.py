"""Prompt templates: text files in ``prompts/`` (shipped in the wheel as ``lfcode.prompts``).

A template uses ``string.Template`` placeholders (``$name`` / ``${name}``; ``$$`` is a literal
dollar). Rendering validates the values with a pydantic model built from the template's own
placeholders and ``extra="forbid"``, as simonw/llm does for its templates: a missing value or an
unknown one is an error, never a silently broken prompt.
"""

from __future__ import annotations

import functools
import string
from importlib import resources
from pathlib import Path

from pydantic import ConfigDict, ValidationError, create_model

from lfcode.errors import LfcodeError


class TemplateError(LfcodeError, ValueError):
    """A template is missing, or was rendered with missing or unknown values."""


def _read(name: str) -> str:
    try:
        return resources.files("lfcode.prompts").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    source_tree = Path(__file__).resolve().parents[1] / "prompts" / name
    try:
        return source_tree.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"prompt template {name!r} is missing from this installation") from exc


@functools.lru_cache(maxsize=64)
def load_template(name: str) -> tuple[string.Template, type]:
    """The template ``name`` (a file name under ``prompts/``) and its values model.

    Raises:
        TemplateError: the file is missing or its placeholders are malformed.
    """
    template = string.Template(_read(name))
    if not template.is_valid():
        raise TemplateError(f"prompt template {name!r} has a malformed placeholder")
    fields = {ident: (str, ...) for ident in template.get_identifiers()}
    model = create_model(f"Template_{Path(name).stem}", __config__=ConfigDict(extra="forbid"), **fields)
    return template, model


def render(name: str, **values: object) -> str:
    """Fill template ``name`` with ``values`` (each converted with ``str``).

    Raises:
        TemplateError: a placeholder has no value, or a value has no placeholder.
    """
    template, model = load_template(name)
    try:
        checked = model(**{key: str(value) for key, value in values.items()})
    except ValidationError as exc:
        problems = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise TemplateError(f"prompt template {name!r}: {problems}") from exc
    return template.substitute(checked.model_dump())


def template_names() -> list[str]:
    """Every template shipped with lfcode."""
    try:
        folder = resources.files("lfcode.prompts")
        names = [p.name for p in folder.iterdir() if p.name.endswith((".txt", ".md"))]
        if names:
            return sorted(names)
    except ModuleNotFoundError:
        pass
    return sorted(p.name for p in (Path(__file__).resolve().parents[1] / "prompts").glob("*.txt"))
