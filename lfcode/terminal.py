"""The one cleaning function for text that reaches a terminal.

File names, notes, git messages and model output come from untrusted places (a cloned repository,
a model). Printed raw, an escape sequence in a file name can recolour, hide or rewrite what the
user sees, set the window title or, on some terminals, answer back into the input; a newline in a
file name can forge a line of output. Everything the CLI prints goes through :func:`clean` (and
JSON output through :func:`json_safe`), in the spirit of CVE-2021-25743 / "Trojan Source"
(CVE-2021-42574): control characters are shown, not obeyed. :func:`note` and :func:`fail` are
how every CLI command prints a line on stderr.
"""

from __future__ import annotations

import re
import sys

__all__ = ["clean", "json_safe"]

#: ECMA-48 sequences: CSI (``ESC [`` or the C1 ``\\x9b``), OSC/DCS/PM/APC strings up to their
#: terminator, and the two-character ``ESC x`` forms.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
#: C0 and C1 controls, DEL, the Unicode line/paragraph separators and bidirectional overrides.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def clean(text: object, *, newlines: bool = False) -> str:
    """``text`` made safe to print: escape sequences removed, other controls shown escaped.

    Args:
        text: any object; it is converted with ``str()`` first.
        newlines: keep ``\\n`` and ``\\t`` (for multi-line text such as code or a message body);
            otherwise they are shown as ``\\n`` and ``\\t`` too (for a path, a heading, a note).

    Returns:
        The text with every ECMA-48 sequence removed and every other C0/C1 control character,
        DEL, U+2028/U+2029 and bidirectional override shown as a backslash escape (``\\x07``,
        ``\\u202e``). Never raises.
    """
    text = _SEQUENCE.sub("", str(text))
    if newlines:
        return _CONTROL.sub(lambda m: m.group() if m.group() in "\n\t" else _visible(m), text)
    return _CONTROL.sub(_visible, text)


def json_safe(text: str) -> str:
    """JSON text with the characters that ``json.dumps(..., ensure_ascii=False)`` leaves raw
    (DEL, C1 controls, U+2028/U+2029, bidi overrides) written as ``\\uXXXX`` escapes; the JSON
    value is unchanged (RFC 8259 §7)."""
    return re.sub(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)


def fail(message: str, code: int = 2) -> None:
    """Print ``lfcode: message`` on stderr (cleaned of escape sequences) and exit with ``code``."""
    note(f"lfcode: {message}")
    sys.exit(code)


def note(message: object) -> None:
    """Print one line on stderr through :func:`lfcode.terminal.clean`: file names may hold escape
    sequences or newlines, which are shown escaped."""
    import click

    click.echo(clean(message), err=True)
