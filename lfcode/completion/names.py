"""Names a completion should define or may use, read from the text around the cursor.

A prefix-only model does not see the suffix, but the suffix tells which names the missing code
must bring in: a name the suffix uses that neither the prefix nor the suffix defines (a *free*
name) is most likely defined by the code at the cursor. Conversely a completion that uses a name
found nowhere around it is likely wrong (a ``NameError`` waiting to happen). Text-based and
approximate: strings and comments are blanked, attribute names (after ``.``) are ignored, and
only simple definitions (assignment targets, ``for`` targets, ``def``/``class``, ``import``/``as``,
parameters) are recognised. Only Python is analysed (its keywords and builtins are known); for
other languages :class:`NameContext` is neutral (no free names, every score 0).
"""

from __future__ import annotations

import builtins
import keyword
import re

_IDENT = re.compile(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*")
_BLANK = re.compile(r"('''|\"\"\")[\s\S]*?(\1|$)|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|#[^\n]*|//[^\n]*")
_ASSIGNED = re.compile(r"(?m)^[ \t]*([A-Za-z_][\w]*(?:[ \t]*,[ \t]*[A-Za-z_][\w]*)*)[ \t]*(?::[^=\n]*)?(?<![<>!=+\-*/%&|^])=(?!=)")
_KEYWORD_ARG = re.compile(r"([A-Za-z_][\w]*)[ \t]*(?::=|(?<![<>!=+\-*/%&|^])=(?![=>]))")
_BOUND = re.compile(r"\b(?:for|as|def|class|import|lambda|let|const|var|func|fn|global|nonlocal)\s+\(?([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)")
_PARAMETERS = re.compile(r"\b(?:def|function|func|fn)\s*[\w]*\s*\(([^)]*)\)")
_PYTHON_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}
#: Characters of prefix and of suffix read (names farther away count as unknown).
PREFIX_CHARS = 20000
SUFFIX_CHARS = 3000


def blank_literals(code: str) -> str:
    """``code`` with string literals and ``#``/``//`` comments replaced by a space."""
    return _BLANK.sub(" ", code)


def used_names(code: str) -> set[str]:
    """Identifiers of ``code`` outside strings and comments, attribute names excluded."""
    return set(_IDENT.findall(blank_literals(code)))


def defined_names(code: str) -> set[str]:
    """Names ``code`` binds: assignment targets (and keyword arguments; not augmented assignments,
    which need the name bound already), ``for``/``as``/``def``/
    ``class``/``import``/``lambda`` targets, parameters, and declarations (``let``/``const``/
    ``var``/``func``/``fn``). Over-inclusive on purpose: a name wrongly counted as bound is only
    not asked for."""
    text = blank_literals(code)
    found: set[str] = set()
    for match in _ASSIGNED.finditer(text):
        found.update(n.strip() for n in match.group(1).split(","))
    for match in _BOUND.finditer(text):
        found.update(n.strip() for n in match.group(1).split(","))
    found.update(match.group(1) for match in _KEYWORD_ARG.finditer(text))
    for match in _PARAMETERS.finditer(text):
        found.update(_IDENT.findall(match.group(1)))
    return found


class NameContext:
    """What the text around a cursor says about names.

    Args:
        prefix: text before the cursor (its last :data:`PREFIX_CHARS` characters are read);
        suffix: text after it (its first :data:`SUFFIX_CHARS`); language: grammar name or ``None``.
    """

    def __init__(self, prefix: str, suffix: str, language: str | None) -> None:
        prefix, suffix = prefix[-PREFIX_CHARS:], suffix[:SUFFIX_CHARS]
        self.active = language == "python"  # keywords and builtins are only known for Python
        if not self.active:
            prefix = suffix = ""
        self.suffix = suffix
        self.known = used_names(prefix) | _PYTHON_KNOWN
        suffix_used = used_names(suffix)
        self.free = suffix_used - self.known - defined_names(suffix)
        self.around = self.known | suffix_used
        #: Free names in the order the suffix first uses them.
        self.free_in_order = [n for n in dict.fromkeys(_IDENT.findall(blank_literals(suffix))) if n in self.free]

    def score(self, completion: str) -> int:
        """Higher is better: +2 per free name the completion mentions, -3 per name it uses that
        appears nowhere around the cursor and that it does not bind itself; 0 when inactive."""
        if not self.active:
            return 0
        used = used_names(completion)
        unknown = used - self.around - defined_names(completion)
        return 2 * len(self.free & used) - 3 * len(unknown)

    def guided_start(self, indent: str, opens_block: bool, next_line: str = "") -> str | None:
        """The start of a line that defines the first free name, or ``None`` without free names.

        After ``indent``: when the line must open a block (the next line is indented deeper),
        ``def name`` if the suffix calls the name, else ``for name`` (``for a, b`` when two free
        names share ``next_line``, the suffix's next code line); otherwise just ``name`` (an
        assignment, most often). A prefix-only model continues it with the rest.
        """
        if not self.free_in_order:
            return None
        first = self.free_in_order[0]
        if not opens_block:
            return indent + first
        if re.search(rf"(?<![\w.]){re.escape(first)}\s*\(", blank_literals(self.suffix)):
            return f"{indent}def {first}"
        together = [n for n in self.free_in_order if n in used_names(next_line)][:2]
        return f"{indent}for {', '.join(together) if first in together else first}"

    def suspicious(self, completion: str) -> bool:
        """True when the completion mentions none of the free names (and there are some): the
        code the suffix relies on is probably not this."""
        return bool(self.free) and not (self.free & used_names(completion))
