"""DocumentStore: LSP changes (UTF-16 ranges) → byte edits → incremental trees equal to full parses."""

from __future__ import annotations

import random

import pytest

from lfcode.context.documents import DocumentStore, locate
from lfcode.context.languages import get_language


UNITS = {
    "utf-16": lambda c: len(c.encode("utf-16-le")) // 2,
    "utf-8": lambda c: len(c.encode("utf-8")),
    "utf-32": lambda c: 1,
}


def sexp(tree) -> str:
    return str(tree.root_node)


def full_parse(text: str, name: str = "python"):
    return get_language(name).parser().parse(text.encode("utf-8"))


def test_locate_counts_utf16_units_and_bytes() -> None:
    text = "a = '😀é'\nb = 1\n"
    # "😀" is two UTF-16 units and four UTF-8 bytes; "é" one unit and two bytes.
    where = locate(text, (0, 7))
    assert text[where.offset] == "é"
    assert where.byte == len("a = '😀".encode())
    assert (where.point.row, where.point.column) == (0, where.byte)
    second = locate(text, (1, 4))
    assert text[second.offset] == "1"
    assert second.point.row == 1 and second.point.column == 4


def test_locate_clamps_past_the_end() -> None:
    text = "ab\r\ncd"
    assert locate(text, (0, 99)).offset == 2  # before the CRLF
    assert locate(text, (7, 0)).offset == len(text)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_incremental_edits_match_a_full_parse(encoding: str) -> None:
    rng = random.Random(7)
    text = "def f(a):\n    s = '😀'\n    return a\n\nclass K:\n    x = [1, 2]\n"
    store = DocumentStore(encoding)
    store.open("file:///m.py", text, "python", "/m.py", 1)
    pieces = ["x", "(", ")", "\n", "    ", "é", "😀", "def g():\n    pass\n", ""]
    for version in range(2, 60):
        snap = store.get("file:///m.py")
        lines = snap.text.split("\n")
        line = rng.randrange(len(lines))
        chars = list(lines[line])
        units = [UNITS[encoding](c) for c in chars]
        start_char = rng.randrange(len(chars) + 1)
        end_char = min(len(chars), start_char + rng.randrange(3))
        start = (line, sum(units[:start_char]))
        end = (line, sum(units[:end_char]))
        new = rng.choice(pieces)
        snap = store.change("file:///m.py", [((start, end), new)], version)
        offset = sum(len(ln) + 1 for ln in lines[:line])
        expected = "\n".join(lines)[: offset + start_char] + new + "\n".join(lines)[offset + end_char :]
        assert snap.text == expected
        assert snap.version == version
        assert sexp(snap.tree) == sexp(full_parse(snap.text))


def test_several_changes_in_one_notification_apply_in_order() -> None:
    store = DocumentStore()
    store.open("u", "x = 1\n", "python")
    snap = store.change("u", [(((0, 4), (0, 5)), "2"), (((1, 0), (1, 0)), "y = x\n"), (None, "z = 3\n"), (((0, 0), (0, 0)), "# c\n")], 3)
    assert snap.text == "# c\nz = 3\n"
    assert sexp(snap.tree) == sexp(full_parse(snap.text))


def test_snapshots_handed_out_are_not_changed_by_later_edits() -> None:
    store = DocumentStore()
    first = store.open("u", "a = 1\n", "python")
    before = sexp(first.tree)
    store.change("u", [(((0, 0), (0, 0)), "def f(:\n")], 2)
    assert first.text == "a = 1\n"
    assert sexp(first.tree) == before
    assert store.get("u").tree.root_node.has_error


def test_unknown_language_has_no_tree_but_tracks_text() -> None:
    store = DocumentStore()
    store.open("file:///notes.txt", "hello\n", "plaintext", "/notes.txt")
    snap = store.change("file:///notes.txt", [(((0, 5), (0, 5)), " world")], 2)
    assert snap.text == "hello world\n"
    assert snap.tree is None and snap.spec is None


def test_close_and_unknown_uri() -> None:
    store = DocumentStore()
    store.open("u", "a\n", "python")
    assert store.close("u").text == "a\n"
    assert store.get("u") is None
    assert store.change("u", [(None, "b")]) is None


@pytest.mark.parametrize("name,text,insert", [
    ("javascript", "function f(a) {\n  return a;\n}\n", "  let b = a * 2;\n"),
    ("go", "package m\nfunc F(a int) int {\n\treturn a\n}\n", "\tb := a\n"),
    ("rust", "fn f(a: i32) -> i32 {\n    a\n}\n", "    let b = a;\n"),
    ("cpp", "int f(int a) {\n  return a;\n}\n", "  int b = a;\n"),
])
def test_incremental_parse_in_other_languages(name: str, text: str, insert: str) -> None:
    store = DocumentStore()
    store.open("u", text, name)
    snap = store.change("u", [(((1, 0), (1, 0)), insert)], 2)
    assert sexp(snap.tree) == sexp(full_parse(snap.text, name))
    assert not snap.tree.root_node.has_error


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_the_one_column_converter_matches_counting_code_units(encoding: str) -> None:
    """``positions.column_offset`` (used by ``locate``, the LSP conversion and the fast text
    sync) against a plain per-character count; a column inside a character includes it."""
    from lfcode.context.positions import column_offset

    def units(c: str) -> int:
        return {"utf-8": len(c.encode("utf-8")), "utf-16": 2 if ord(c) > 0xFFFF else 1, "utf-32": 1}[encoding]

    rng = random.Random(3)
    for _ in range(300):
        line = "".join(rng.choice(["a", "é", "😀", "\t", "中"]) for _ in range(rng.randrange(12)))
        column = rng.randrange(40)
        offset = total = 0
        while offset < len(line) and total < column:
            total += units(line[offset])
            offset += 1
        assert column_offset(line, column, encoding) == offset
