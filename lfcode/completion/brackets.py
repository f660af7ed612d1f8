"""Bracket bookkeeping on raw text: which brackets are open at the cursor, which the suffix closes,
and where a completion over-closes.

A small lexer skips string literals (``'``, ``"``, backquotes, Python triple quotes, backslash
escapes) and comments (``#`` for Python, ``//`` and ``/* */`` for the C family), so brackets inside
them do not count. It works on fragments (a completion, a few lines of prefix), where a full parse
is not possible.
"""

from __future__ import annotations

from collections.abc import Iterator

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in OPENERS.items()}
#: Lines of prefix scanned for open brackets.
PREFIX_LINES = 40


def brackets(text: str, comment: str | None = "#") -> Iterator[tuple[int, str]]:
    """Yield ``(index, char)`` for every bracket of ``text`` outside strings and comments.

    ``comment`` is the line-comment marker (``"#"`` or ``"//"``; ``"//"`` also enables ``/* */``).
    Unterminated strings end at the line end.
    """
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if comment and text.startswith(comment, i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if comment == "//" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "'\"`":
            quote = text[i : i + 3] if comment == "#" and text[i : i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and len(quote) == 1 and c != "`":
                    break
                j += 1
            i = j + len(quote)
            continue
        if c in OPENERS or c in CLOSERS:
            yield i, c
        i += 1


def open_brackets(prefix: str, comment: str | None = "#", lines: int = PREFIX_LINES) -> list[str]:
    """Openers still unclosed at the end of ``prefix`` (its last ``lines`` lines), innermost last."""
    start = len(prefix)
    for _ in range(lines):
        start = prefix.rfind("\n", 0, start)
        if start < 0:
            break
    stack: list[str] = []
    for _i, c in brackets(prefix[max(0, start + 1) :], comment):
        if c in OPENERS:
            stack.append(c)
        elif stack and stack[-1] == CLOSERS[c]:
            stack.pop()
        else:
            stack.clear()  # unbalanced text (or a bracket in an odd literal): start afresh
    return stack


def suffix_closers(suffix: str, comment: str | None = "#") -> list[str]:
    """Closers at the start of ``suffix`` that close brackets opened before it, in order
    (``")]"`` for ``")]\\n..."``); scanning stops at the first one the suffix opened itself,
    when ``suffix``'s own brackets go out of balance, or at the end of ``suffix``."""
    depth = 0
    closers: list[str] = []
    for _i, c in brackets(suffix, comment):
        if c in OPENERS:
            depth += 1
        elif depth:
            depth -= 1
        else:
            closers.append(c)
    return closers


def balance(completion: str, open_stack: list[str], reserved: int, comment: str | None = "#") -> tuple[str, list[str]]:
    """Cut ``completion`` before the first closer that closes a bracket it must not close.

    ``open_stack`` holds the openers open at the cursor; the top ``reserved`` of them are closed
    by the suffix, so the completion may not close them; a closer that matches nothing or the
    wrong opener is also a cut point. Returns ``(text, still_open)``: the kept text and the
    openers the completion itself opened and left open (innermost last).
    """
    stack = list(open_stack)
    floor = len(open_stack) - reserved
    base = len(open_stack)
    for i, c in brackets(completion, comment):
        if c in OPENERS:
            stack.append(c)
            continue
        if not stack or stack[-1] != CLOSERS[c] or (len(stack) <= base and len(stack) > floor):
            return completion[:i].rstrip(" \t"), stack[base:] if len(stack) > base else []
        stack.pop()
        base = min(base, len(stack))
    return completion, stack[base:] if len(stack) > base else []


def close_all(openers: list[str]) -> str:
    """The closers for ``openers`` (innermost last), innermost first: ``["(", "["]`` → ``"])"``."""
    return "".join(OPENERS[o] for o in reversed(openers))
