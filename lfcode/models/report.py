"""Rendering ``lfcode models``: a rich table for people, JSON for programs.

Both return strings; the CLI prints them. File and model names come from the disk and from the
files' own metadata, so the table's cells go through :func:`lfcode.terminal.clean` and are
rich ``Text`` (never markup), and the JSON through :func:`lfcode.terminal.json_safe`.
"""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lfcode.models.service import ModelEntry, ModelList
from lfcode.terminal import clean, json_safe

__all__ = ["FIELDS", "render_json", "render_table", "human_size"]

#: The JSON fields of a model, in order.
FIELDS = (
    "name", "reference", "source", "path", "size_bytes", "architecture", "model_name", "parameters", "size_label",
    "quantization", "context_length", "fim", "chat_template", "roles", "error", "loadable", "load_error",
)


def human_size(size: int | None) -> str:
    """Bytes as ``"253 MB"`` / ``"1.1 GB"`` (powers of 1000); ``"?"`` for ``None``."""
    if size is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def render_json(listing: ModelList) -> str:
    """``{"models": [{field: value, ...}], "problems": [{"location", "reason"}], "searched":
    [folder, ...]}`` with the fields of :data:`FIELDS`, indented, ending with a newline."""
    models = []
    for model in listing.models:
        data = model.model_dump(mode="json")
        models.append({key: data[key] for key in FIELDS})
    problems = [p.model_dump(mode="json") for p in listing.problems]
    return json_safe(json.dumps({"models": models, "problems": problems, "searched": listing.searched}, indent=2, ensure_ascii=False)) + "\n"


def _load_cell(model: ModelEntry, notes: list[Text]) -> Text:
    if model.loadable is None:
        return Text("-" if model.error else "")
    if model.loadable:
        return Text("yes", style="green")
    notes.append(Text(f"{clean(model.reference)} does not load: {clean(model.load_error or 'no reason given')}", style="red"))
    return Text(f"no [{len(notes)}]", style="red")


def render_table(listing: ModelList, *, color: bool = False, width: int = 120) -> str:
    """The models as a table: reference (what to set as ``model``), architecture, parameters,
    quantization, context length (tokens), size, FIM family, chat template, roles, and the trial
    load's outcome when one ran. A file that is not a valid GGUF, or that does not load, is
    marked ``[n]`` and the reason is note ``n`` below the table. Paths are in the JSON output; the
    listing's problems are not shown (the CLI prints them on stderr).

    Args:
        listing: what :func:`lfcode.models.service.list_models` returned.
        color: emit ANSI colours (pass whether stdout is a terminal).
        width: table width in columns.

    Returns:
        The text, ending with a newline.
    """
    checked = any(m.loadable is not None for m in listing.models)
    table = Table(pad_edge=False)
    for header, justify in (("model", "left"), ("arch", "left"), ("params", "right"), ("quant", "left"),
                            ("context", "right"), ("size", "right"), ("FIM", "left"), ("chat", "left"), ("roles", "left")):
        table.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    if checked:
        table.add_column("loads", overflow="fold")
    notes: list[Text] = []
    for model in listing.models:
        if model.error:
            notes.append(Text(f"{clean(model.reference)}: {clean(model.error)}", style="red"))
            cells = [Text(f"invalid [{len(notes)}]", style="red"), "", "", "", human_size(model.size_bytes), "", "", ""]
        else:
            cells = [
                clean(model.architecture or "?"), clean(model.size_label or "?"), clean(model.quantization or "?"),
                f"{model.context_length:,}" if model.context_length else "?", human_size(model.size_bytes),
                clean(model.fim or "none"), "yes" if model.chat_template else "no", ", ".join(model.roles) or "none",
            ]
        row = [Text(clean(model.reference), style="bold"), *(c if isinstance(c, Text) else Text(c) for c in cells)]
        table.add_row(*row, *([_load_cell(model, notes)] if checked else []))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, emoji=False)
    console.print(table)
    for number, text in enumerate(notes, 1):
        console.print(Text(f"[{number}] ") + text, soft_wrap=True)
    return buffer.getvalue()
