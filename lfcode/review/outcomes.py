"""Comparing what one call did on the old and on the new version of a function, for the
behaviour diff (:mod:`lfcode.review.analyzers.behaviour`), and saying it in a finding.

Outcomes are :class:`~lfcode.execution.engine.CallOutcome` records from the sandboxed engine. Two
agree when they raised the same exception type, or returned equal values: literals compared as
values with floats to a relative 1e-9 (an equivalent rewrite of a formula may change the last
bits), other values by type and public attributes, plus a generator's items and the object's
state after a method call when the engine recorded them.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

from lfcode.execution.engine import CallOutcome
from lfcode.testgen.search import assertable

__all__ = ["differences", "same_result", "shown"]


def _close(a: object, b: object) -> bool:
    """Equal values, floats within a relative 1e-9 (an equivalent rewrite of a formula may change
    the last bits; ``-0.0`` equals ``0.0``; NaN equals NaN), recursively through containers."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            return (math.isnan(a) and math.isnan(b)) if math.isnan(a) or math.isnan(b) else math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return False
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


def same_result(old: CallOutcome, new: CallOutcome) -> bool:
    """Whether two outcomes of one call agree: the same exception type; or, both returning, equal
    literal values (:func:`_close`: floats within a relative 1e-9), the same type and public
    attributes for other values, and, with details, the same generator items and the same
    state of ``obj`` after the call."""
    if old.exception_type is not None or new.exception_type is not None:
        return old.exception_type == new.exception_type
    if old.literal != new.literal or set(old.state or {}) != set(new.state or {}):
        return False
    if not old.literal and (old.value_type, old.attributes) != (new.value_type, new.attributes):
        return False
    pairs = [(old.items, new.items), *(((old.value_repr, new.value_repr),) if old.literal else ())]
    pairs += [(text, (new.state or {})[name]) for name, text in (old.state or {}).items()]
    return all(_literally_close(x, y) for x, y in pairs)


def _literally_close(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return _close(ast.literal_eval(a), ast.literal_eval(b))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def shown(outcome: CallOutcome, other: CallOutcome | None = None, limit: int = 80) -> str:
    """What ``outcome`` did, for a message, focused on where it differs from ``other``:
    "returned `(0.5, 0.0, 0.0)`", "raised `ValueError: …`", "yielded `[1, 2]`" (a generator's
    items) or "left `obj.size == 3`" (the object's state after the call)."""
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 3] + "..."

    if outcome.exception_type is not None:
        return f"raised `{cut(f'{outcome.exception_type}: {outcome.exception_message}' if outcome.exception_message else outcome.exception_type)}`"
    if other is not None and other.exception_type is None:
        if outcome.items is not None and not _literally_close(outcome.items, other.items):
            return f"yielded `{cut(outcome.items)}`"
        state, theirs = outcome.state or {}, other.state or {}
        changed = [name for name in sorted(state) if not _literally_close(state[name], theirs.get(name))]
        same_value = outcome.literal and other.literal and _literally_close(outcome.value_repr, other.value_repr)
        if changed and (same_value or not outcome.literal):
            return f"left `{cut(f'obj.{changed[0]} == {state[changed[0]]}')}`"
    text = outcome.value_repr or "" if outcome.literal else f"a {outcome.value_type} object"
    return f"returned `{cut(text)}`"


def differences(before: Sequence[CallOutcome], after: Sequence[CallOutcome]) -> list[tuple[CallOutcome, CallOutcome]]:
    """``(old outcome, new outcome)`` of each call that ran comparably in both versions (stable,
    in time, not an environment failure: :func:`~lfcode.testgen.search.assertable`) and whose
    result differs (:func:`same_result`), most telling first: both returned a value, then in the
    order the calls were proposed (the project's tests and the values the code names come before
    random draws)."""
    old = {o.call: o for o in before if assertable(o)}
    pairs = [(old[o.call], o) for o in after if assertable(o) and o.call in old and not same_result(old[o.call], o)]
    return sorted(pairs, key=lambda p: p[0].exception_type is not None or p[1].exception_type is not None)
