"""When to stop a completion and how to clean it (first cut, text-based).

Mid-line the suggestion is one line; on an empty line it may run a few lines and stops at the
first line indented less than the cursor's block (a dedent), as llama.vim and Tabby do, or at the
first blank line after some code (one paragraph at a time keeps the keystroke path short).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Lines allowed for a block suggestion on an empty line.
BLOCK_MAX_LINES = 8
#: Token caps: a single line rarely needs more than this.
LINE_MAX_TOKENS = 64


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _ends_block(number: int, line: str, before: list[str], indent: int) -> bool:
    """Line ``number`` ends a block suggestion: a dedent, or a blank line after some code."""
    if line.strip():
        return _indent(line) < indent
    return any(b.strip() for b in before[:number])


@dataclass(frozen=True)
class CompletionShape:
    """``multiline`` suggestions start at ``indent`` columns (code points of leading white space)."""

    multiline: bool
    indent: int = 0
    max_lines: int = BLOCK_MAX_LINES

    @property
    def max_tokens(self) -> int:
        return 16 * self.max_lines + 16 if self.multiline else LINE_MAX_TOKENS

    def stop_strings(self) -> list[str]:
        """Stop strings passed to the model (a single line stops at the newline)."""
        return [] if self.multiline else ["\n"]

    def is_finished(self, text: str) -> bool:
        """True once ``text`` already holds everything this shape will keep."""
        if not self.multiline:
            return "\n" in text
        lines = text.split("\n")
        complete_lines = lines[:-1]
        if len(complete_lines) >= self.max_lines:
            return True
        return any(_ends_block(n, line, complete_lines, self.indent) for n, line in enumerate(complete_lines) if n)


def shape_at(prefix: str, suffix: str) -> CompletionShape:
    """Single line when the cursor line has code before or after it; a block on a blank line."""
    line_prefix = prefix.rsplit("\n", 1)[-1]
    line_suffix = suffix.split("\n", 1)[0]
    if line_prefix.strip() or line_suffix.strip():
        return CompletionShape(multiline=False)
    indent = len(line_prefix)
    if not line_prefix:
        # Cursor at column 0 of a blank line: the block's indent is the previous code line's,
        # deepened after a line that opens a block (":" / "{").
        previous = next((ln for ln in reversed(prefix.split("\n")[:-1]) if ln.strip()), "")
        indent = _indent(previous) + (4 if previous.rstrip().endswith((":", "{", "(", "[")) else 0)
    return CompletionShape(multiline=True, indent=indent)


def trim_completion(raw: str, prefix: str, suffix: str, shape: CompletionShape) -> str:
    """Cut ``raw`` to the shape, drop text the suffix already has, and reject blank results.

    Returns ``""`` when nothing useful is left (whitespace only, or equal to what follows).
    """
    line_suffix = suffix.split("\n", 1)[0]
    if not shape.multiline:
        text = raw.split("\n", 1)[0].rstrip()
        tail = line_suffix.strip()
        if tail and text.endswith(tail):
            text = text[: len(text) - len(tail)].rstrip()
    else:
        kept: list[str] = []
        for number, line in enumerate(raw.split("\n")):
            if number >= shape.max_lines:
                break
            if number > 0 and _ends_block(number, line, kept, shape.indent):
                break
            kept.append(line.rstrip())
        while kept and not kept[-1].strip():
            kept.pop()
        text = "\n".join(kept)
        line_prefix = prefix.rsplit("\n", 1)[-1]
        if line_prefix and text.startswith(line_prefix) and not line_prefix.strip():
            # The model repeated the indentation that is already typed.
            text = text[len(line_prefix) :]
    if not text.strip():
        return ""
    if suffix.lstrip().startswith(text.strip()):
        return ""
    return text
