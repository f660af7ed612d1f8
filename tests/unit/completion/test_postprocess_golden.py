"""Golden post-processing cases: a document with a cursor, the raw model output → the expected item.

Each ``tests/unit/completion/golden/<rule>.txt`` holds the cases of one rule::

    === a short name
    --- language: python          (a grammar name, or "plaintext")
    --- multiline: false          (optional; default: decided from the syntax)
    --- document
    x = foo(<|>)
    --- raw
    a, b))
    --- expected
    a, b

``<|>`` marks the cursor. An empty ``expected`` section means the answer is dropped. Sections
keep their text verbatim except trailing blank lines; the document then gets one final line
break. The case runs through
``lfcode.completion.engine`` with the scripted fake backend, one answer and no fallback samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete

GOLDEN = Path(__file__).parent / "golden"
CURSOR = "<|>"
EXTENSIONS = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "rust": "rs", "java": "java", "c": "c", "cpp": "cpp", "plaintext": "txt"}


@dataclass
class Case:
    rule: str
    name: str
    language: str
    document: str
    raw: str
    expected: str
    multiline: bool | None = None


def parse_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    for block in path.read_text(encoding="utf-8").split("=== ")[1:]:
        name, _, body = block.partition("\n")
        fields: dict[str, str] = {}
        sections: dict[str, list[str]] = {}
        current: str | None = None
        for line in body.split("\n"):
            if line.startswith("--- "):
                key, _, value = line[4:].partition(":")
                if value.strip():
                    fields[key.strip()] = value.strip()
                    current = None
                else:
                    current = key.strip()
                    sections[current] = []
            elif current is not None:
                sections[current].append(line)
        text = {k: "\n".join(v).rstrip("\n") for k, v in sections.items()}
        text["document"] += "\n"
        multiline = {"true": True, "false": False}.get(fields.get("multiline", ""))
        cases.append(Case(path.stem, name.strip(), fields["language"], text["document"], text["raw"], text.get("expected", ""), multiline))
    return cases


CASES = [case for path in sorted(GOLDEN.glob("*.txt")) for case in parse_cases(path)]


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.language for c in CASES}) >= 4
    assert all(c.document.count(CURSOR) == 1 for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}:{c.name}" for c in CASES])
def test_golden(case: Case) -> None:
    offset = case.document.index(CURSOR)
    text = case.document.replace(CURSOR, "", 1)
    backend = FakeBackend([case.raw])
    source = CompletionInput(text, offset, path=f"/ws/golden.{EXTENSIONS[case.language]}", language_id=case.language)
    result = complete(backend, source, CompletionOptions(multiline=case.multiline, fallback_samples=0))
    assert len(backend.requests) == 1
    assert (result.items[0] if result.items else "") == case.expected
