"""Grounding the model's review findings: the quote each one must carry, and the confidence the
model's own token probabilities give it.

**Quote.** Every finding of :data:`~lfcode.review.findings.FINDINGS_SCHEMA` carries a ``quote``.
A finding is kept only when that quote, whitespace-normalised (runs of spaces and tabs count as
one space, ends stripped), occurs in the text of an added (``+``) line of the hunk: the cited
line, or else the nearest added line within ``max_distance`` lines, which the finding then moves
to. A quote must be non-trivial: at least :data:`MIN_QUOTE_CHARS` non-space characters, one of
them a letter or digit, and not a lone keyword (``return``, ``self``...), which would be found on
many lines. A kept finding's :class:`~lfcode.review.findings.Evidence` is ``kind="quote"`` with
the verbatim span of the line.

**Confidence.** With ``on_token`` (:class:`~lfcode.backends.base.GenerationRequest`) the backend
reports each generated token's probability; under the grammar that is the token's share among
the tokens the JSON schema allowed at that step, so a token the grammar forced has 1.0 and only
the model's real choices count. A finding's confidence is the product of the probabilities of the
tokens that made these choices (see :func:`choice_probabilities`):

* ``findings``: writing this finding at all rather than closing the array, and every finding
  before it: for each one the tokens from the end of the previous finding (or from the answer's
  start) through its ``{``. A chain, because a model that falls into repeating itself opens the
  third and fourth copies with high probability, but rarely the second;
* ``severity``: the tokens of its severity value, among ``error``/``warning``/``info``.

That is the probability the model gave to "there is this finding, and it is this severe". When
it is below :data:`CONFIDENCE_THRESHOLD`, or unknown (a backend without probabilities), a
``warning`` or ``error`` finding is marked ``needs_corroboration``: the review lowers it to
``info`` unless another analyzer reports the same line
(:func:`lfcode.review.analyzers.base.settle_corroboration`). ``benchmarks/review_grounding.py``
measures the threshold.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from lfcode.review.findings import Evidence, Finding, parse_model_output
from lfcode.review.hunks import Hunk

__all__ = [
    "CONFIDENCE_THRESHOLD",
    "MIN_QUOTE_CHARS",
    "AnswerItem",
    "Candidate",
    "answer_items",
    "choice_probabilities",
    "find_quote",
    "ground",
    "read_answer",
    "token_offsets",
]

#: A warning or error finding whose confidence is below this needs another analyzer's support.
#: Measured with ``benchmarks/review_grounding.py`` on the embedded Gemma 3 270M: of 124 findings
#: it wrote on seeded-bug and behaviour-preserving hunks under seven prompt variants, none right,
#: the most confident had 0.896 (0.599 under the shipped prompt); 9 were above 0.8 and 46 above
#: 0.5. Its severity alone says nothing: a median of 0.97 for those same invented findings.
CONFIDENCE_THRESHOLD = 0.9
#: Fewest non-space characters a quote may have.
MIN_QUOTE_CHARS = 4
#: Words that, quoted alone, prove nothing: they are on many lines (Python's keywords and
#: frequent ones of other languages).
_COMMON_WORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {
    "self", "this", "cls", "super", "const", "let", "var", "func", "function", "fn", "pub",
    "public", "private", "protected", "static", "void", "int", "bool", "string", "null", "nil",
    "true", "false", "undefined", "new", "delete", "switch", "case", "default", "struct",
    "impl", "enum", "interface", "package", "import", "export", "throw", "throws", "catch",
    "then", "else", "elif", "end", "begin", "do", "done", "echo", "print", "printf",
}


@dataclass(frozen=True)
class AnswerItem:
    """One element of the findings array of a model answer: the decoded JSON ``data`` (a dict
    for a finding) and its character offsets ``[start, end)`` in the answer text."""

    data: object
    start: int
    end: int


@dataclass(frozen=True)
class Candidate:
    """A finding read from an answer, before grounding: the :class:`Finding` (path set, not yet
    checked against the hunk), the ``quote`` the model wrote (``None`` when missing) and its
    ``confidence`` (0-1; ``None`` when the backend reported no probabilities)."""

    finding: Finding
    quote: str | None
    confidence: float | None


_DECODER = json.JSONDecoder()
_WS = re.compile(r"\s*")


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _elements(text: str, pos: int) -> list[AnswerItem]:
    """The complete JSON values of a comma-separated sequence starting at ``pos`` (after an
    array's ``[``); stops at ``]``, at a cut-off value or at anything else."""
    items: list[AnswerItem] = []
    while True:
        pos = _skip(text, pos)
        if pos >= len(text) or text[pos] == "]":
            return items
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items
        items.append(AnswerItem(value, pos, end))
        pos = _skip(text, end)
        if text[pos:pos + 1] != ",":
            return items
        pos += 1


def answer_items(text: str) -> list[AnswerItem]:
    """The elements of the findings array in a model answer, with their offsets.

    Reads the same shapes as :func:`lfcode.review.findings.parse_model_output`: an array (text
    around it allowed), an object with a ``"findings"`` array, a lone finding object, and an
    answer cut off by the token limit (its complete elements). Never raises.
    """
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return []
    if text[start] == "[":
        return _elements(text, start + 1)
    try:
        value, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError:
        return _elements(text, start)  # cut off: its complete objects, as parse_model_output
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("findings"), list):
        found = re.compile(r'"findings"\s*:\s*\[').search(text, start, end)
        return _elements(text, found.end()) if found else []
    return [AnswerItem(value, start, end)] if "line" in value else []


def token_offsets(pieces: Sequence[tuple[str, float]], text: str) -> list[tuple[int, int, float]] | None:
    """``(start, end, probability)`` character offsets in ``text`` of each token reported to
    ``on_token``; ``None`` when there were none, or they do not spell ``text`` (they may run on
    past its end, where a stop string was cut)."""
    if not pieces or "".join(p for p, _ in pieces)[: len(text)] != text:
        return None
    out, pos = [], 0
    for piece, probability in pieces:
        out.append((pos, pos + len(piece), probability))
        pos += len(piece)
    return out


def _product(tokens: list[tuple[int, int, float]], start: int, end: int) -> float:
    """The product of the probabilities of the tokens overlapping ``[start, end)``."""
    product = 1.0
    for a, b, p in tokens:
        if (a < end and b > start) or (a == b and start <= a < end):
            product *= p
    return product


_SEVERITY = re.compile(r'"severity"\s*:\s*"([^"\\]*)"')


def choice_probabilities(
    text: str, items: Sequence[AnswerItem], tokens: list[tuple[int, int, float]]
) -> list[dict[str, float]]:
    """For each of ``items``, the probabilities (0-1) of the model's choices that made it:

    ``opened``: the tokens from the end of the previous item (for the first, from the answer's
    first non-space character: the ``[``) through this item's ``{``; ``findings``: the product
    of ``opened`` over this item and every one before it; ``severity``: the tokens of the
    severity value (1.0 when the item has none); ``confidence``: ``findings * severity``.
    ``tokens`` come from :func:`token_offsets`.
    """
    out = []
    previous, findings = _skip(text, 0), 1.0
    for item in items:
        opened = _product(tokens, previous, item.start + 1)
        findings *= opened
        match = _SEVERITY.search(text, item.start, item.end)
        severity = _product(tokens, match.start(1), match.end(1)) if match else 1.0
        out.append({"opened": opened, "findings": findings, "severity": severity, "confidence": findings * severity})
        previous = item.end
    return out


def read_answer(
    text: str, path: str, pieces: Sequence[tuple[str, float]] = ()
) -> tuple[list[Candidate], str | None]:
    """The findings of one model answer for ``path``, each with its quote and confidence.

    ``pieces`` are the ``(text, probability)`` pairs the backend gave ``on_token`` while writing
    ``text`` (empty: confidence unknown). Findings and the returned note are those of
    :func:`~lfcode.review.findings.parse_model_output` (``None`` for a clean answer); should the
    two readings disagree on the findings, they come without quotes (and will be dropped).
    Never raises.
    """
    findings, problem = parse_model_output(text, path)
    items = [i for i in answer_items(text) if isinstance(i.data, dict)]
    valid = []
    for item in items:
        try:
            Finding.model_validate({**item.data, "path": path})
        except ValidationError:
            continue
        valid.append(item)
    if len(valid) != len(findings):
        return [Candidate(f, None, None) for f in findings], problem
    tokens = token_offsets(pieces, text)
    confidences = ([c["confidence"] for c in choice_probabilities(text, valid, tokens)]
                   if tokens is not None else [None] * len(valid))
    candidates = []
    for finding, item, confidence in zip(findings, valid, confidences, strict=True):
        quote = item.data.get("quote")
        candidates.append(Candidate(finding, quote if isinstance(quote, str) else None, confidence))
    return candidates, problem


def _trivial(quote: str) -> bool:
    words = quote.split()
    return (len("".join(words)) < MIN_QUOTE_CHARS or not any(c.isalnum() for c in quote)
            or (len(words) == 1 and words[0].lower().strip(":;,.(){}") in _COMMON_WORDS))


def find_quote(quote: str, line: str) -> str | None:
    """The verbatim span of ``line`` that ``quote`` matches once whitespace is normalised (any
    run of whitespace in either stands for any other), or ``None``: absent, or trivial (see the
    module docstring)."""
    words = quote.split()
    if not words or _trivial(quote):
        return None
    found = re.search(r"\s+".join(re.escape(w) for w in words), line)
    return found.group(0) if found else None


def ground(candidate: Candidate, hunk: Hunk, max_distance: int, threshold: float = CONFIDENCE_THRESHOLD) -> Finding | None:
    """``candidate`` as a finding of the model analyzer on ``hunk``, or ``None`` (dropped).

    Kept when its quote is found (:func:`find_quote`) on an added line of ``hunk``: the cited
    one, else the nearest within ``max_distance`` lines (the lower one on a tie), where it
    moves. The result has ``path`` of the hunk, ``end_line == line``, ``analyzer="model"``,
    ``rule="model/<category>"``, quote :class:`~lfcode.review.findings.Evidence`, the
    candidate's ``confidence``, and ``needs_corroboration`` when it is a warning or an error
    whose confidence is unknown or below ``threshold`` (0-1).
    """
    if candidate.quote is None:
        return None
    cited = candidate.finding.line
    added = {new: text[1:] for _old, new, text in hunk.numbered() if text[:1] == "+" and new is not None}
    for line in sorted((n for n in added if abs(n - cited) <= max_distance), key=lambda n: (abs(n - cited), n)):
        span = find_quote(candidate.quote, added[line])
        if span is None:
            continue
        confidence = candidate.confidence
        weak = candidate.finding.severity != "info" and (confidence is None or confidence < threshold)
        evidence = Evidence(kind="quote", quote=span, text=f'quotes "{span}" on line {line}', line=line)
        return candidate.finding.model_copy(update={
            "path": hunk.path, "line": line, "end_line": line, "analyzer": "model",
            "rule": f"model/{candidate.finding.category}", "evidence": evidence,
            "confidence": confidence, "needs_corroboration": weak,
        })
    return None
