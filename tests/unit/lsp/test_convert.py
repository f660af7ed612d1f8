"""LSP position conversion: UTF-16 columns, clamping, binary documents."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from lfcode.lsp.convert import UnsupportedDocument, completion_input, completion_items, offset_at


def doc(text: str) -> TextDocument:
    return TextDocument("file:///t.py", text)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def test_utf16_columns_count_surrogate_pairs() -> None:
    d = doc("a😀b = 1\nx")
    assert offset_at(d, pos(0, 3)) == 2  # 'a' is 1 unit, the emoji 2
    assert d.source[offset_at(d, pos(0, 3))] == "b"


@pytest.mark.parametrize(("position", "expected"), [(pos(0, 99), 5), (pos(7, 0), 8), (pos(1, 0), 6), (pos(1, 50), 7)])
def test_out_of_range_positions_are_clamped(position: types.Position, expected: int) -> None:
    assert offset_at(doc("x = 1\ny\n"), position) == expected


def test_crlf_line_end_is_not_inside_the_line() -> None:
    assert offset_at(doc("ab\r\ncd"), pos(0, 10)) == 2


def test_binary_document_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="binary"):
        completion_input(doc("a\x00b"), pos(0, 1))


def test_completion_item_keeps_the_typed_word() -> None:
    source = completion_input(doc("    ret"), pos(0, 7))
    [item] = completion_items(["urn x\n    y"], source, pos(0, 7)).items
    assert item.label == "return x"
    assert item.text_edit.new_text == "return x\n    y"
    assert item.text_edit.range.start == pos(0, 4)
