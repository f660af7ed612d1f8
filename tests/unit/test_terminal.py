"""The one cleaning function for terminal output."""

from __future__ import annotations

import json

from lfcode.terminal import clean, json_safe


def test_escape_sequences_are_removed_and_controls_shown() -> None:
    name = "src/\x1b]0;owned\x07evil\x1b[2J\x1b[31m.py\nfake: 0 findings\r\x9b1A\u202e"
    out = clean(name)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out
    assert "\n" not in out and "\r" not in out
    assert out == "src/evil.py\\nfake: 0 findings\\r\\u202e"


def test_newlines_can_be_kept_for_multi_line_text() -> None:
    assert clean("def f():\n\treturn 1\x1b[0m\x00\n", newlines=True) == "def f():\n\treturn 1\\x00\n"


def test_plain_text_is_unchanged() -> None:
    text = "tests/test_ünïcode.py:12: 3 findings — ok [bold]x[/bold]"
    assert clean(text) == text


def test_json_safe_keeps_the_value() -> None:
    raw = json.dumps({"path": "a\x9b2J\u2028b\x7f"}, ensure_ascii=False)
    safe = json_safe(raw)
    assert "\x9b" not in safe and "\u2028" not in safe and "\x7f" not in safe
    assert json.loads(safe) == json.loads(raw)
