"""Rendering a review for people (text, with ``rich``) and for programs (JSON).

Library code never prints: :func:`render_text` and :func:`render_json` return strings and
:func:`progress` draws on the stream it is given (the CLI passes ``sys.stderr`` so that JSON or
SARIF on stdout stays clean). Colour and the progress bar appear only on a terminal; ``NO_COLOR``
is honoured by rich.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from lfcode.review.findings import severity_rank
from lfcode.review.result import ProgressCallback, ReviewResult
from lfcode.terminal import clean, json_safe

__all__ = ["format_result", "is_tty", "progress", "render_json", "render_text"]

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def is_tty(stream: IO[str] | None) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def render_text(result: ReviewResult, *, color: bool = False, width: int = 100) -> str:
    """The review as text grouped by file, most severe first within a line.

    Layout::

        path/to/file.py
          12  error    bug        message  [ruff/F821]
                       evidence: ruff F821 (undefined-name)
                       suggestion: ...
        3 findings (1 error, 2 warnings) in 2 of 3 files, 7 hunks reviewed
        note: vendor/x.js: generated, lock or vendored file ...: skipped

    Args:
        result: the review.
        color: emit ANSI colours (pass ``is_tty(stream)``).
        width: wrap width in columns.

    Returns:
        The text, ending with a newline. Model text is printed literally (no markup), and every
        path, note and message goes through :func:`lfcode.terminal.clean`.
    """
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width,
                      color_system="standard" if color else None, highlight=False, emoji=False,
                      soft_wrap=False)
    if result.description:
        console.print(Text(f"Reviewed {clean(result.description)}.", style="dim"))
    by_file: dict[str, list] = {}
    for finding in result.findings:
        by_file.setdefault(finding.path, []).append(finding)
    for path, findings in by_file.items():
        console.print(Text(clean(path), style="bold underline"))
        for f in findings:
            line = Text(f"  {f.line:>4}  ")
            line.append(f"{f.severity:<8}", style=_STYLE.get(f.severity, ""))
            line.append(f" {f.category:<11} ", style="magenta")
            line.append(clean(f.message))
            line.append(f"  [{clean(f.rule)}]", style="dim")
            console.print(line)
            if f.evidence is not None:
                console.print(Text(f"{'':>28}evidence: {clean(f.evidence.text)}", style="blue"))
            if f.corroborated_by:
                console.print(Text(f"{'':>28}also reported by: {', '.join(f.corroborated_by)}", style="dim"))
            if f.suggestion:
                console.print(Text(f"{'':>28}suggestion: {clean(f.suggestion)}", style="green"))
        console.print()
    counts = {s: sum(1 for f in result.findings if f.severity == s) for s in ("error", "warning", "info")}
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    total = len(result.findings)
    summary = f"{total} finding{'s' if total != 1 else ''}"
    summary += f" ({', '.join(parts)})" if parts else ""
    summary += (f" in {len(by_file)} of {result.files_reviewed} file"
                f"{'s' if result.files_reviewed != 1 else ''}, {result.hunks_reviewed} "
                f"hunk{'s' if result.hunks_reviewed != 1 else ''} reviewed")
    worst = max((severity_rank(f.severity) for f in result.findings), default=0)
    console.print(Text(summary, style="bold red" if worst >= 3 else "bold" if total else "bold green"))
    for note in result.notes:
        console.print(Text(f"note: {clean(note)}", style="dim"))
    return buffer.getvalue()


def render_json(result: ReviewResult, indent: int | None = 2) -> str:
    """``result`` as JSON: ``{"findings": [...], "notes": [...], "files_reviewed": N, ...}``."""
    return json_safe(json.dumps(result.model_dump(mode="json"), indent=indent, ensure_ascii=False)) + "\n"


def format_result(result: ReviewResult, fmt: str, *, color: bool = False, tool_version: str = "0") -> str:
    """``result`` as ``fmt`` (``"text"``, ``"json"`` or ``"sarif"``), ready to write to stdout.

    Raises:
        ValueError: an unknown format.
    """
    if fmt == "text":
        return render_text(result, color=color)
    if fmt == "json":
        return render_json(result)
    if fmt == "sarif":
        from lfcode.review.report_sarif import to_sarif

        return json_safe(json.dumps(to_sarif(result, tool_version), indent=2, ensure_ascii=False)) + "\n"
    raise ValueError(f"unknown review format {fmt!r} (text, json or sarif)")


@contextmanager
def progress(stream: IO[str] | None, description: str = "Reviewing") -> Iterator[ProgressCallback]:
    """A progress callback for :func:`lfcode.review.model.review` that draws a bar over hunks.

    On a terminal ``stream`` the bar is drawn with rich and removed at the end; otherwise the
    callback does nothing. Use as ``with progress(sys.stderr) as cb: review(..., cb)``.
    """
    if not is_tty(stream):
        yield lambda done, total: None
        return
    console = Console(file=stream, stderr=False)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("hunks"), TimeElapsedColumn(), console=console, transient=True)
    task = bar.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update
