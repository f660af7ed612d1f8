"""Review findings: the pydantic model, the JSON schema the model fills, and post-processing.

The model sees one hunk and answers with a JSON array of at most :data:`MAX_FINDINGS` objects
(:data:`FINDINGS_SCHEMA`); the schema is deliberately small so that a 270M-parameter model
constrained by a llama.cpp grammar can fill it. The file path is never asked of the model: it is
taken from the hunk. Line numbers are new-file line numbers, as shown in the prompt.
"""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lfcode.review.hunks import Hunk
from lfcode.terminal import clean

__all__ = [
    "CATEGORIES",
    "FINDINGS_SCHEMA",
    "Evidence",
    "MAX_FINDINGS",
    "Category",
    "FailOn",
    "Finding",
    "Severity",
    "at_or_above",
    "clamp_to_hunk",
    "drop_parroted",
    "exit_code",
    "mask_secret",
    "merge_duplicates",
    "on_added_lines",
    "parse_model_output",
    "severity_rank",
    "sort_findings",
]

Severity = Literal["error", "warning", "info"]
Category = Literal["bug", "security", "performance", "style", "test"]
FailOn = Literal["error", "warning", "info", "never"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
CATEGORIES: tuple[str, ...] = ("bug", "security", "performance", "style", "test")
MAX_FINDINGS = 4
MAX_MESSAGE = 300
#: Longest ``quote`` the model may write, characters (a span of one line, not the whole line).
MAX_QUOTE = 80
_RANK = {"info": 1, "warning": 2, "error": 3}

#: JSON Schema (draft 2020-12 subset understood by llama.cpp's schema-to-grammar converter) for
#: one hunk's answer: ``[{"line": 12, "quote": "x / (n - 1)", "severity": "error", "category":
#: "bug", "message": "..."}]``. ``quote`` is the evidence: a span copied from line ``line``, which
#: :mod:`lfcode.review.grounding` checks; it comes right after ``line`` so that the model copies
#: it from the line it just cited (the grammar keeps the properties in this order).
FINDINGS_SCHEMA: dict = {
    "type": "array",
    "maxItems": MAX_FINDINGS,
    "items": {
        "type": "object",
        "properties": {
            "line": {"type": "integer", "minimum": 1},
            "quote": {"type": "string", "minLength": 1, "maxLength": MAX_QUOTE},
            "severity": {"enum": list(SEVERITIES)},
            "category": {"enum": list(CATEGORIES)},
            "message": {"type": "string", "minLength": 1, "maxLength": 160},
        },
        "required": ["line", "quote", "severity", "category", "message"],
        "additionalProperties": False,
    },
}


def _clean(text: str) -> str:
    """Model text made safe for terminals (:func:`lfcode.terminal.clean`, newlines kept)."""
    return clean(text, newlines=True).strip()


class Evidence(BaseModel):
    """Why a finding is believed: what a reader can check without trusting the analyzer.

    ``kind`` is ``quote`` (``quote`` is a span of the new line, verbatim), ``tool`` (``tool`` and
    ``rule`` name a deterministic checker's rule, e.g. ``ruff`` ``F821``) or ``run`` (``call`` was
    run against the old and the new version in the sandbox; ``before``/``after`` are what it
    returned or raised). ``text`` is the one-line human form shown in reports; ``line`` is the
    1-based new-file line the evidence is on (an editor's ``relatedInformation``), when known.
    Every text is cleaned for terminals and cut to 300 characters.
    """

    model_config = ConfigDict(extra="ignore")

    kind: Literal["quote", "tool", "run"]
    text: str
    quote: str | None = None
    tool: str | None = None
    rule: str | None = None
    call: str | None = None
    before: str | None = None
    after: str | None = None
    line: int | None = Field(default=None, ge=1)

    @field_validator("text", "quote", "call", "before", "after", mode="before")
    @classmethod
    def _texts(cls, value: object) -> object:
        return _clean(value)[:MAX_MESSAGE] if isinstance(value, str) else value


class Finding(BaseModel):
    """One problem found in a change.

    ``path`` is repo-relative with forward slashes; ``line``/``end_line`` are 1-based new-file
    lines (``end_line`` defaults to ``line`` and is never before it); ``message`` and
    ``suggestion`` are plain text (control characters removed, ``message`` cut to 300 chars).
    ``analyzer`` is the id of the analyzer that reported it and ``rule`` its rule id
    (``"<analyzer>/<name>"``, e.g. ``ruff/F821``; ``<analyzer>/<category>`` when not given), the
    SARIF ``ruleId``. ``evidence`` says why (:class:`Evidence`); ``confidence`` (0-1) is the
    model's own probability for its finding; ``corroborated_by`` lists other analyzers that
    reported the same place. ``needs_corroboration`` marks a finding whose severity holds only if
    another analyzer reports the same line (otherwise the review lowers it to ``info``).
    """

    model_config = ConfigDict(extra="ignore")

    path: str = ""
    line: int = Field(ge=1)
    end_line: int | None = None
    severity: Severity = "warning"
    category: Category = "bug"
    message: str = Field(min_length=1)
    suggestion: str | None = None
    analyzer: str = "model"
    rule: str = ""
    evidence: Evidence | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    corroborated_by: list[str] = Field(default_factory=list)
    needs_corroboration: bool = Field(default=False, exclude=True)

    @field_validator("severity", "category", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: object) -> object:
        return _clean(value)[:MAX_MESSAGE] if isinstance(value, str) else value

    @field_validator("suggestion", mode="before")
    @classmethod
    def _suggestion(cls, value: object) -> object:
        if isinstance(value, str):
            return _clean(value)[:MAX_MESSAGE * 4] or None
        return value

    @model_validator(mode="after")
    def _end(self) -> Finding:
        if self.end_line is None or self.end_line < self.line:
            self.end_line = self.line
        if not self.rule:
            self.rule = f"{self.analyzer}/{self.category}"
        return self


def severity_rank(severity: str) -> int:
    """``info`` 1 < ``warning`` 2 < ``error`` 3; ``never`` (or anything else) is 4."""
    return _RANK.get(severity, 4)


def at_or_above(findings: Iterable[Finding], threshold: FailOn) -> list[Finding]:
    """Findings whose severity is at least ``threshold`` (none for ``"never"``)."""
    limit = severity_rank(threshold)
    return [f for f in findings if severity_rank(f.severity) >= limit]


def exit_code(findings: Iterable[Finding], fail_on: FailOn) -> int:
    """The CLI exit code for a finished review: 1 if a finding reaches ``fail_on``, else 0."""
    return 1 if at_or_above(findings, fail_on) else 0


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """By path, line, then most severe first."""
    return sorted(findings, key=lambda f: (f.path, f.line, -severity_rank(f.severity), f.category))


def parse_model_output(text: str, path: str) -> tuple[list[Finding], str | None]:
    """Read a model answer into findings for ``path``.

    Accepts a JSON array of finding objects or an object with a ``"findings"`` array, with any
    text around it; an answer cut off by the token limit keeps its complete items. Items that do
    not validate are dropped.

    Returns:
        ``(findings, note)``; ``note`` is ``None`` when the answer was clean, otherwise it says
        what was wrong. Never raises.
    """
    items, problem = _load(text)
    if items is None:
        return [], problem
    findings: list[Finding] = []
    bad = 0
    for item in items:
        if not isinstance(item, dict):
            bad += 1
            continue
        try:
            findings.append(Finding.model_validate({**item, "path": path}))
        except ValidationError:
            bad += 1
    if bad:
        problem = (problem + "; " if problem else "") + f"{bad} malformed finding(s) dropped"
    return findings, problem


def _load(text: str) -> tuple[list | None, str | None]:
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return (None, "model answer is not JSON") if text.strip() else ([], None)
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(text[start:])
        problem = None
    except json.JSONDecodeError:
        value, problem = _salvage(text[start:]), "model answer was cut off or not valid JSON"
        if value is None:
            return None, problem
    if isinstance(value, dict):
        value = value.get("findings", [value] if "line" in value else None)
    if not isinstance(value, list):
        return None, "model answer is not a list of findings"
    return value, problem


def _salvage(text: str) -> list | None:
    """Keep the complete objects of a truncated array: cut at each ``}`` from the end."""
    if not text.startswith("["):
        text = "[" + text
    cut = len(text)
    for _ in range(MAX_FINDINGS * 4):
        cut = text.rfind("}", 0, cut)
        if cut < 0:
            return None
        try:
            value = json.loads(text[: cut + 1] + "]")
        except json.JSONDecodeError:
            continue
        return value if isinstance(value, list) else None
    return None


def clamp_to_hunk(findings: Iterable[Finding], hunk: Hunk, max_distance: int = 3) -> list[Finding]:
    """Keep findings on ``hunk``'s changed lines (:attr:`Hunk.changed_lines`).

    A finding within ``max_distance`` lines of a changed line is moved to the nearest one (its
    span keeps its length but stays inside the hunk); one farther away is dropped. Every kept
    finding gets ``path = hunk.path``. Returns new objects; the input is not modified.
    """
    changed = hunk.changed_lines
    if not changed:
        return []
    last = max(changed)
    kept: list[Finding] = []
    for f in findings:
        nearest = min(changed, key=lambda n: (abs(n - f.line), n))
        if abs(nearest - f.line) > max_distance:
            continue
        span = (f.end_line or f.line) - f.line
        end = min(nearest + span, max(last, nearest))
        kept.append(f.model_copy(update={"path": hunk.path, "line": nearest, "end_line": end}))
    return kept


def _norm(message: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", message.lower()).split())


def merge_duplicates(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings that say the same thing about the same place.

    Two findings are duplicates when they share ``path`` and either the same ``line`` and
    ``category``, or the same normalised message (case, punctuation and spacing ignored) on
    overlapping or adjacent line ranges. The merged finding is the most severe one (a
    deterministic analyzer's before the model's at equal severity), with the union of the line
    ranges, the first suggestion, the other's evidence when it had none, the longer message when
    it has no evidence of its own, and the other analyzer in ``corroborated_by``. Order is by
    :func:`sort_findings`.
    """
    merged: list[Finding] = []
    for f in sort_findings(findings):
        for i, m in enumerate(merged):
            if m.path != f.path:
                continue
            same_spot = m.line == f.line and m.category == f.category
            near = f.line <= (m.end_line or m.line) + 1 and m.line <= (f.end_line or f.line) + 1
            if same_spot or (near and _norm(m.message) == _norm(f.message)):
                worse, other = (m, f) if _weight(m) >= _weight(f) else (f, m)
                corroborated = list(dict.fromkeys([*worse.corroborated_by, *other.corroborated_by,
                                                   *([other.analyzer] if other.analyzer != worse.analyzer else [])]))
                merged[i] = worse.model_copy(update={
                    "line": min(m.line, f.line),
                    "end_line": max(m.end_line or m.line, f.end_line or f.line),
                    "message": worse.message if worse.evidence else max(m.message, f.message, key=len),
                    "suggestion": m.suggestion or f.suggestion,
                    "evidence": worse.evidence or other.evidence,
                    "corroborated_by": corroborated,
                })
                break
        else:
            merged.append(f)
    return sort_findings(merged)


def _weight(finding: Finding) -> tuple[int, int]:
    return severity_rank(finding.severity), finding.analyzer != "model"


def on_added_lines(findings: Iterable[Finding], hunks: Iterable[Hunk]) -> list[Finding]:
    """The findings whose ``line`` is an added (``+``) line of one of ``hunks`` of their path
    (reviewdog's ``added`` filter): a deterministic analyzer reports on the whole new file, and a
    push is judged only on what it adds."""
    added: dict[str, set[int]] = {}
    for hunk in hunks:
        added.setdefault(hunk.path, set()).update(hunk.added_lines)
    return [f for f in findings if f.line in added.get(f.path, ())]


def mask_secret(secret: str) -> str:
    """``secret``'s first 4 characters (none when it is shorter than 12) followed by 8 ``*``:
    ``"AKIA********"``. The secret cannot be recovered from it, and its length is not shown."""
    keep = 4 if len(secret) >= 12 else 0
    return secret[:keep] + "*" * 8


def drop_parroted(
    findings: Iterable[Finding], examples: Iterable[str], threshold: float = 0.9
) -> tuple[list[Finding], int]:
    """Drop findings whose message copies one of the prompt's example messages.

    Small models often repeat a few-shot example word for word whatever the hunk says; such a
    message says nothing about the hunk. Similarity is :class:`difflib.SequenceMatcher`'s ratio
    on normalised text (case, punctuation and spacing ignored).

    Returns:
        ``(kept findings, number dropped)``.
    """
    findings = list(findings)
    normalised = [_norm(e) for e in examples if e.strip()]
    kept = [f for f in findings
            if not any(SequenceMatcher(None, _norm(f.message), e).ratio() >= threshold for e in normalised)]
    return kept, len(findings) - len(kept)
