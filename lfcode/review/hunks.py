"""Hunks of a unified diff: parsing, line numbering and splitting.

The format is git's unified diff (``git diff -p``; the "unified format" of GNU diffutils): a hunk
starts with ``@@ -OLD_START[,OLD_LINES] +NEW_START[,NEW_LINES] @@ [section heading]`` and is
followed by lines prefixed with ``" "`` (context), ``"-"`` (removed) or ``"+"`` (added);
``"\\ No newline at end of file"`` markers are dropped. A missing count means 1; when a count is
0 the start is the line *before* the empty range.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

__all__ = ["Hunk", "parse_hunks", "split_hunk"]

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


class Hunk(BaseModel):
    """One hunk of one file.

    Line numbers are 1-based. ``lines`` keep their ``+``/``-``/space prefix (no newline, a trailing
    carriage return removed); ``added_lines`` are the new-file line numbers of the ``+`` lines;
    ``removed_at`` are new-file line numbers where ``-`` lines were taken out (the line that now
    follows the removal, or the last line of the hunk when the removal is at its end).
    """

    path: str
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: list[str] = Field(default_factory=list)
    added_lines: list[int] = Field(default_factory=list)
    removed_at: list[int] = Field(default_factory=list)

    @property
    def changed_lines(self) -> list[int]:
        """New-file lines a finding may point at: added lines plus removal points, sorted."""
        return sorted(set(self.added_lines) | set(self.removed_at))

    def numbered(self) -> list[tuple[int | None, int | None, str]]:
        """``(old_line, new_line, line)`` for each line; the missing side is ``None``."""
        out: list[tuple[int | None, int | None, str]] = []
        old, new = self.old_start, self.new_start
        for line in self.lines:
            tag = line[:1]
            if tag == "+":
                out.append((None, new, line))
                new += 1
            elif tag == "-":
                out.append((old, None, line))
                old += 1
            else:
                out.append((old, new, line))
                old += 1
                new += 1
        return out


def _finish(hunk: Hunk, pending_removal: bool, last_new: int | None) -> None:
    if pending_removal:
        # Removal at the end of the hunk: the last new line; a pure removal: the line before it.
        anchor = last_new if last_new is not None else max(hunk.new_start - 1, 1)
        hunk.removed_at.append(anchor)
    hunk.removed_at = sorted(set(hunk.removed_at))


def _build(path: str, header: str, old_start: int, new_start: int, lines: list[str]) -> Hunk:
    """A hunk from its body lines; counts, added lines and removal points are derived."""
    hunk = Hunk(path=path, old_start=old_start, old_lines=0, new_start=new_start, new_lines=0,
                header=header)
    new, pending, last_new = new_start, False, None
    for line in lines:
        tag = line[:1]
        hunk.lines.append(line)
        if tag == "-":
            hunk.old_lines += 1
            pending = True
            continue
        if pending:
            hunk.removed_at.append(new)
            pending = False
        if tag == "+":
            hunk.added_lines.append(new)
        else:
            hunk.old_lines += 1
        hunk.new_lines += 1
        last_new = new
        new += 1
    _finish(hunk, pending, last_new)
    return hunk


def parse_hunks(path: str, text: str) -> list[Hunk]:
    """Parse the hunks of one file's unified diff ``text``.

    Lines before the first ``@@`` header (``diff --git``, ``---``/``+++``) and anything after a
    hunk's announced line counts are ignored, so a removed line that itself starts with ``--``
    is read correctly. Never raises on malformed input: a truncated hunk keeps what it has.
    """
    hunks: list[Hunk] = []
    header = ""
    old_start = new_start = 0
    body: list[str] = []
    old_left = new_left = 0
    inside = False

    def flush() -> None:
        if inside:
            hunks.append(_build(path, header, old_start, new_start, body))

    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if inside and (old_left > 0 or new_left > 0):
            tag = line[:1]
            if tag == "\\":
                continue
            if tag not in ("+", "-", " ") and line != "":
                flush()
                inside = False
            else:
                line = line or " "
                body.append(line)
                old_left -= tag != "+"
                new_left -= tag != "-"
                continue
        if line.startswith("\\"):
            continue
        m = _HEADER.match(line)
        if not m:
            continue
        flush()
        old_start, new_start = int(m.group(1)), int(m.group(3))
        old_left = int(m.group(2)) if m.group(2) is not None else 1
        new_left = int(m.group(4)) if m.group(4) is not None else 1
        # A zero count means the start is the line before the (empty) range.
        old_start += old_left == 0
        new_start += new_left == 0
        header, body, inside = line, [], True
    flush()
    return hunks


def split_hunk(hunk: Hunk, parts: int) -> list[Hunk]:
    """Split ``hunk`` into up to ``parts`` consecutive hunks of about equal line counts.

    Each piece gets correct starts, counts, added lines and removal points and a header
    ``"@@ -a,b +c,d @@ (part i/n)"``. A one-line hunk cannot be split and is returned as is.
    """
    if parts <= 1 or len(hunk.lines) <= 1:
        return [hunk]
    parts = min(parts, len(hunk.lines))
    size = -(-len(hunk.lines) // parts)
    pieces: list[Hunk] = []
    old, new = hunk.old_start, hunk.new_start
    chunks = [hunk.lines[i:i + size] for i in range(0, len(hunk.lines), size)]
    for i, chunk in enumerate(chunks, 1):
        piece = _build(hunk.path, "", old, new, chunk)
        piece.header = (f"@@ -{old},{piece.old_lines} +{new},{piece.new_lines} @@"
                        f" (part {i}/{len(chunks)})")
        pieces.append(piece)
        old += piece.old_lines
        new += piece.new_lines
    return pieces
