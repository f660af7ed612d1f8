"""When to stop a completion and how to cut it to shape.

Mid-expression the suggestion is one line; on an empty line it may be a block, which stops at the
first line indented less than the block (the enclosing block closed), at the first blank line
after some code (one paragraph at a time keeps the keystroke path short), or at a line repeating
the suffix's next line (prefix-only models do not see the suffix, so they often write it again).
llama.vim and Tabby stop blocks on dedent the same way.

The shape comes from the syntax at the cursor: the tree-sitter node around it when a tree is
given (an empty line inside brackets or an object literal is mid-expression), else the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Tree

from lfcode.context.languages import union

#: Lines allowed for a block suggestion on an empty line.
BLOCK_MAX_LINES = 8
#: Token caps: a single line rarely needs more than this.
LINE_MAX_TOKENS = 64
#: Node types whose ``{`` (or brackets) make an empty line mid-expression, not a block, in any
#: grammar (the union of the language profiles' ``expression_containers``).
EXPRESSION_CONTAINERS = union("expression_containers")
#: Node types that hold statements, in any grammar: an empty line in one of them gets a block
#: (the union of the language profiles' ``block_containers``).
BLOCK_CONTAINERS = union("block_containers")


def indent_of(line: str) -> int:
    """Leading white space of ``line``, in code points."""
    return len(line) - len(line.lstrip(" \t"))


def _ends_block(number: int, line: str, before: list[str], shape: CompletionShape) -> bool:
    """Line ``number`` ends a block suggestion: a dedent, a blank line after some code, or the
    suffix's next line written again."""
    if not line.strip():
        return any(b.strip() for b in before[:number])
    if shape.stop_line and ((shape.lead if number == 0 else "") + line).rstrip() == shape.stop_line:
        return True
    return number > 0 and indent_of(line) < shape.indent


@dataclass(frozen=True)
class CompletionShape:
    """``multiline`` suggestions keep lines indented at least ``indent`` (code points) and stop
    before a line equal to ``stop_line`` (the suffix's next code line without trailing white
    space, may be empty), compared with its indentation; the first line is preceded by
    ``lead``, the white space already typed before the cursor."""

    multiline: bool
    indent: int = 0
    max_lines: int = BLOCK_MAX_LINES
    stop_line: str = ""
    lead: str = ""

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
        complete_lines = text.split("\n")[:-1]
        if len(complete_lines) >= self.max_lines:
            return True
        return any(_ends_block(n, line, complete_lines, self) for n, line in enumerate(complete_lines))


def _in_expression(tree: Tree, byte: int) -> bool:
    """True when the innermost container around ``byte`` is an expression, not a block."""
    node = tree.root_node.descendant_for_byte_range(byte, byte)
    while node is not None:
        if node.type in EXPRESSION_CONTAINERS and node.start_byte < byte < node.end_byte:
            return True
        if node.type in BLOCK_CONTAINERS:
            return False
        node = node.parent
    return False


def shape_at(prefix: str, suffix: str, tree: Tree | None = None, multiline: bool | None = None) -> CompletionShape:
    """The shape of a suggestion between ``prefix`` and ``suffix``.

    One line when the cursor line has code before or after the cursor, or when ``tree`` (the
    document's tree-sitter tree, optional) puts the cursor inside an expression (call arguments,
    a list or an object literal spread over lines); else a block. ``multiline`` forces the
    choice (``None`` decides). A block's indentation floor is the cursor column when the user
    typed indentation; at column 0 it is the indentation of the suffix's next code line, else the
    previous code line's (deeper after a line opening a block).
    """
    line_prefix = prefix.rsplit("\n", 1)[-1]
    line_suffix = suffix.split("\n", 1)[0]
    if multiline is None:
        multiline = not (line_prefix.strip() or line_suffix.strip())
        if multiline and tree is not None and _in_expression(tree, len(prefix.encode("utf-8"))):
            multiline = False
    if not multiline:
        return CompletionShape(multiline=False)
    following = next((ln for ln in suffix.split("\n")[1:] if ln.strip()), "")
    indent = len(line_prefix)
    if not line_prefix:
        previous = next((ln for ln in reversed(prefix.split("\n")[:-1]) if ln.strip()), "")
        opens = previous.rstrip().endswith((":", "{", "(", "["))
        indent = indent_of(following) if following else indent_of(previous) + (4 if opens else 0)
    return CompletionShape(multiline=True, indent=indent, stop_line=following.rstrip(), lead=line_prefix)


def trim_completion(raw: str, prefix: str, suffix: str, shape: CompletionShape) -> str:
    """Cut ``raw`` to the shape and reject blank results (text the suffix repeats is trimmed by
    :func:`lfcode.completion.postprocess.trim_suffix_overlap`).

    Returns ``""`` when nothing useful is left (whitespace only, or equal to what follows).
    """
    if not shape.multiline:
        text = raw.split("\n", 1)[0].rstrip()
    else:
        kept: list[str] = []
        for number, line in enumerate(raw.split("\n")):
            if number >= shape.max_lines or _ends_block(number, line, kept, shape):
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
