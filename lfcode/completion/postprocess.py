"""Syntax-aware cleaning of a raw model answer before the user sees it.

Rules, in order (each has golden cases under ``tests/unit/completion/golden/``):

1. **shape** — cut to the :class:`~lfcode.completion.stopping.CompletionShape` chosen from the syntax at
   the cursor (one line mid-expression; a block on an empty line, stopping when the enclosing
   block closes, at a blank line after code, or at a line that repeats the suffix's next line);
2. **suffix** — trim text that repeats what follows the cursor on its line;
3. **brackets** — cut before a closer that the suffix already provides (or that matches nothing);
4. **parse** — with tree-sitter, reparse the document with the completion inserted (incrementally,
   from the document's tree); when that adds ERROR/MISSING nodes the document did not have (for
   Python, also when ``ast.parse`` of the code around the cursor starts failing: tree-sitter
   accepts bad indentation), try closing the completion's own open brackets, re-indenting it to
   the indentation the surrounding lines allow, and cutting it back line by line; drop it when
   nothing parses. Skipped at a line start right after code that is already broken (inside an
   unterminated string: :meth:`SyntaxDocument.judges`);
5. **blank** — never return whitespace only, or text equal to what follows the cursor.

A *partial* answer (the first lines of a block still being decoded, or a block cut by the time
budget) passes rule 4 when it parses once a placeholder ends it: the closing quotes of a Python
docstring it opens, ``pass`` under a Python line opening a block, and closers for the brackets it
leaves open (:func:`placeholder`).

Documents in a language without a grammar get rules 1–3 and 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Parser, Point, Tree

from lfcode.completion.brackets import OPENERS, balance, close_all, open_brackets, suffix_closers
from lfcode.completion.python_check import python_compiles
from lfcode.completion.stopping import CompletionShape, indent_of, trim_completion
from lfcode.context.languages import LanguageSpec
from lfcode.context.syntax import error_nodes

#: Re-indenting tries at most this many indentations; cutting back at most this many lines.
MAX_CUTS = 8


@dataclass
class SyntaxDocument:
    """The document a completion goes into: ``text`` with the cursor at code-point ``offset``,
    its grammar ``spec`` and ``tree`` (both ``None`` for plain text; the tree is parsed on demand
    when only the spec is given)."""

    text: str
    offset: int
    spec: LanguageSpec | None = None
    tree: Tree | None = None
    _source: bytes | None = field(default=None, repr=False)
    _errors: set[tuple[str, int]] | None = field(default=None, repr=False)
    _parser: Parser | None = field(default=None, repr=False)
    _region: tuple[str, int, bool] | None = field(default=None, repr=False)
    _cursor: tuple[int, int, int] | None = field(default=None, repr=False)
    _judges: bool | None = field(default=None, repr=False)

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]

    @property
    def comment(self) -> str | None:
        return self.spec.profile.comment if self.spec else None

    @property
    def source(self) -> bytes:
        if self._source is None:
            self._source = self.text.encode("utf-8")
        return self._source

    @property
    def parser(self) -> Parser | None:
        if self._parser is None and self.spec is not None:
            self._parser = self.spec.parser()
        return self._parser

    @property
    def cursor(self) -> tuple[int, int, int]:
        """The cursor as ``(byte offset, row, byte column)``."""
        if self._cursor is None:
            prefix = self.prefix
            byte = len(prefix.encode("utf-8"))
            self._cursor = (byte, prefix.count("\n"), byte - (self.source.rfind(b"\n", 0, byte) + 1))
        return self._cursor

    def syntax_tree(self) -> Tree | None:
        """The document's tree (parsed now if it was not given)."""
        if self.tree is None and self.parser is not None:
            self.tree = self.parser.parse(self.source)
        return self.tree

    def baseline_errors(self) -> set[tuple[str, int]]:
        """ERROR/MISSING nodes of the document without the completion, as ``(type, byte)``,
        each at the byte it will have once text is inserted at the cursor (both bytes for one
        right at the cursor)."""
        if self._errors is None:
            tree = self.syntax_tree()
            byte = self.cursor[0]
            self._errors = set()
            for kind, start in error_nodes(tree.root_node) if tree is not None else []:
                self._errors.add((kind, start))
                if start >= byte:
                    self._errors.add((kind, start - byte + _SHIFT))
        return self._errors

    def new_errors(self, insert: str) -> list[tuple[str, int]]:
        """ERROR/MISSING nodes that appear once ``insert`` is typed at the cursor (an
        incremental reparse of the document's tree), as ``(type, byte)``."""
        tree, parser = self.syntax_tree(), self.parser
        if tree is None or parser is None:
            return []
        byte, row, col = self.cursor
        added = insert.encode("utf-8")
        lines = insert.split("\n")
        end_col = (col + len(added)) if len(lines) == 1 else len(lines[-1].encode("utf-8"))
        edited = tree.copy()
        edited.edit(
            start_byte=byte, old_end_byte=byte, new_end_byte=byte + len(added),
            start_point=Point(row, col), old_end_point=Point(row, col),
            new_end_point=Point(row + len(lines) - 1, end_col),
        )
        new_tree = parser.parse(self.source[:byte] + added + self.source[byte:], edited)
        before = self.baseline_errors()
        shift = len(added)
        return [
            (kind, start) for kind, start in error_nodes(new_tree.root_node)
            if (kind, start) not in before and (start < byte + shift or (kind, start - shift - byte + _SHIFT) not in before)
        ]

    def judges(self) -> bool:
        """Whether the parse check can tell good text from bad at this cursor.

        Not at a line start where the code right before the cursor is already broken: an
        ERROR node reaches the previous code line, or even a line comment (``# x``, ``// x``:
        valid at any line start in code, in every supported grammar) adds an error. That is
        the case inside an unterminated string, as at the end of a docstring being written,
        where every insert adds errors and rule 4 would drop every answer. Mid-line cursors
        are always judged. Computed once per document.
        """
        if self._judges is None:
            self._judges = self.spec is None or not self._broken_before_cursor()
        return self._judges

    def _broken_before_cursor(self) -> bool:
        prefix = self.prefix
        if prefix.rsplit("\n", 1)[-1].strip():
            return False
        tree = self.syntax_tree()
        if tree is None or not tree.root_node.has_error:
            return False
        byte = self.cursor[0]
        previous = prefix.rstrip().rfind("\n") + 1  # start of the last code line before the cursor
        start = len(prefix[:previous].encode("utf-8"))
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.end_byte < start or node.start_byte > byte:
                continue
            if node.is_error:
                return True
            stack.extend(child for child in node.children if child.has_error)
        probe = f"{self.comment} x" if self.comment else "x"
        return bool(self.new_errors(probe))

    def check(self, insert: str) -> tuple[bool, bool]:
        """``(acceptable, clean)`` for typing ``insert`` at the cursor.

        Acceptable: tree-sitter finds no ERROR/MISSING node that was not there before. Clean:
        acceptable and, for Python, the top-level statements around the cursor compile
        (:func:`lfcode.completion.python_check.python_compiles`). Without a grammar both are True.
        """
        if self.spec is None:
            return True, True
        if self.new_errors(insert):
            return False, False
        if self.spec.name != "python":
            return True, True
        compiles, compiled_before = python_compiles(self, insert)
        return compiles or not compiled_before, compiles


#: Offset marking "after the cursor" in :meth:`SyntaxDocument.baseline_errors` keys.
_SHIFT = 1 << 40


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def trim_suffix_overlap(text: str, line_suffix: str) -> str:
    """Drop the end of a one-line ``text`` that repeats the start of ``line_suffix``.

    The whole rest of the line always counts. A shorter overlap counts when it holds a word
    character and is either at least 3 characters long or whole words on both sides (``is`` in
    ``"... value is"`` before ``"is None:"``); bare punctuation, like a lone ``)``, is left to
    bracket balancing.
    """
    tail = line_suffix.strip()
    if not tail or not text:
        return text
    # Keep the white space that separates the text from a word the suffix starts with.
    spaced = line_suffix[:1].isspace() or not _word(tail[0])
    if text.endswith(tail):
        kept = text[: len(text) - len(tail)]
        return kept.rstrip() if spaced else kept
    for size in range(min(len(text), len(tail)) - 1, 0, -1):
        piece = tail[:size]
        if not text.endswith(piece) or not any(_word(ch) for ch in piece):
            continue
        whole = not _word(tail[size]) and (size == len(text) or not _word(text[-size - 1]))
        if size >= 3 or whole:
            kept = text[: len(text) - size]
            return kept.rstrip() if spaced else kept
    return text


def balance_brackets(text: str, doc: SyntaxDocument, shape: CompletionShape) -> tuple[str, list[str]]:
    """Cut ``text`` before a closer the suffix already has; returns the text and the openers it
    leaves open (see :func:`lfcode.completion.brackets.balance`)."""
    comment = doc.comment
    stack = open_brackets(doc.prefix, comment)
    suffix = doc.suffix.split("\n", 1)[0] if not shape.multiline else doc.suffix[:2000]
    closers = suffix_closers(suffix, comment)
    reserved = 0
    for closer, opener in zip(closers, reversed(stack)):
        if OPENERS[opener] != closer:
            break
        reserved += 1
    return balance(text, stack, reserved, comment)


def _reindent(text: str, delta: int) -> str:
    out = []
    for line in text.split("\n"):
        if not line.strip():
            out.append(line)
        elif delta >= 0:
            out.append(" " * delta + line)
        else:
            out.append(line[min(-delta, indent_of(line)) :])
    return "\n".join(out)


def _indent_options(text: str, doc: SyntaxDocument) -> list[str]:
    """The completion re-indented to the indentations the neighbouring lines suggest."""
    line_prefix = doc.prefix.rsplit("\n", 1)[-1]
    if line_prefix.strip() or "\t" in doc.prefix[-2000:]:
        return []
    before = [ln for ln in doc.prefix.rsplit("\n", 40)[:-1] if ln.strip()]
    after = [ln for ln in doc.suffix.split("\n", 20)[1:20] if ln.strip()]
    wanted: list[int] = []
    if after:
        wanted.append(indent_of(after[0]))
    if before:
        prev = before[-1]
        wanted += [indent_of(prev) + 4, indent_of(prev)] if prev.rstrip().endswith((":", "{", "(", "[")) else [indent_of(prev)]
    first = len(line_prefix) + indent_of(text.split("\n", 1)[0])
    options = []
    for indent in dict.fromkeys(wanted):
        if indent != first and indent >= 0:
            options.append(_reindent(text, indent - first))
    return options[:MAX_CUTS]


def placeholder(text: str, doc: SyntaxDocument) -> str:
    """What would end a partial ``text`` for the parse check: the closing quotes of a Python
    triple-quoted string it opens (a docstring's first line), an indented ``pass`` when its last
    line opens a Python block, then closers for the brackets it leaves open."""
    end = ""
    python = doc.spec is not None and doc.spec.name == "python"
    for quote in ('"""', "'''"):
        if python and text.count(quote) % 2:
            return quote
    last = next((ln for ln in reversed(text.split("\n")) if ln.strip()), "")
    if python and last.rstrip().endswith(":"):
        lead = doc.prefix.rsplit("\n", 1)[-1] if "\n" not in text else ""
        end = "\n" + " " * (len(lead) + indent_of(last) + 4) + "pass"
    still_open = open_brackets(text, doc.comment)
    return end + ("\n" + close_all(still_open) if still_open else "")


def repair(text: str, doc: SyntaxDocument, still_open: list[str], shape: CompletionShape, partial: bool = False) -> str:
    """``text`` or a repaired form of it that adds no parse error, else ``""``.

    Tried in order, the first *clean* one wins (see :meth:`SyntaxDocument.check`): ``text``;
    ``text`` with its own open brackets closed (one line only); ``text`` re-indented to the
    depths the neighbouring lines allow; ``text`` cut back line by line. Failing that, the first
    merely *acceptable* one of ``text`` and its cut-backs.
    """
    if doc.spec is None or not doc.judges():
        return text
    acceptable, clean = doc.check(text)
    if clean:
        return text
    if partial:
        end = placeholder(text, doc)
        if end and doc.check(text + end)[1]:
            return text
    options: list[str] = []
    if still_open and not shape.multiline:
        options.append(text + close_all(still_open))
    options += _indent_options(text, doc)
    lines = text.split("\n")
    cuts = ["\n".join(lines[:keep]).rstrip() for keep in range(len(lines) - 1, max(0, len(lines) - 1 - MAX_CUTS), -1)]
    cuts = [cut for cut in cuts if cut.strip()]
    fallback = text if acceptable else ""
    for option in options + cuts:
        ok, option_clean = doc.check(option)
        if option_clean:
            return option
        if ok and not fallback and option in cuts:
            fallback = option
    return fallback


def postprocess(
    raw: str, doc: SyntaxDocument, shape: CompletionShape, check_syntax: bool = True, partial: bool = False
) -> str:
    """Turn a raw model answer into the text to insert at ``doc``'s cursor, or ``""`` to drop it.

    ``check_syntax`` False skips rule 4 (benchmarks measure it on and off); ``partial`` says the
    answer is the start of a longer one (see the module docstring).
    """
    text = trim_completion(raw, doc.prefix, doc.suffix, shape)
    if not text:
        return ""
    if not shape.multiline:
        text = trim_suffix_overlap(text, doc.suffix.split("\n", 1)[0])
    text, still_open = balance_brackets(text, doc, shape)
    if check_syntax and text.strip():
        text = repair(text, doc, still_open, shape, partial)
    if not text.strip() or doc.suffix.lstrip().startswith(text.strip()):
        return ""
    return text
