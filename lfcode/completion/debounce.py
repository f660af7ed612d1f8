"""Adaptive debounce for automatic requests, from the typing rhythm and the model's speed.

The algorithm is Tabby's ``CompletionDebouncer`` (``clients/tabby-agent/src/codeCompletion/
debouncer.ts``): the base interval is the mean of the recent intervals between keystrokes
(intervals over :data:`BASE_MAX_MS` are pauses and left out; at least :data:`WINDOW_MIN` of them
before the mean replaces the :data:`BASE_MS` default); the wait is that base times a rate
between :data:`RATE_MAX` and :data:`RATE_MIN`, lower when the context makes a suggestion likely
(a non-word character before the cursor, the end of the line, the end of the document), minus
the model's expected response time, clamped to :data:`DELAY_MIN_MS`..:data:`DELAY_MAX_MS`.

lfcode measures the response time itself (an exponential mean of the time from a request to its
answer) and counts keystrokes from ``didChange``. Times are milliseconds.
"""

from __future__ import annotations

from collections import deque

BASE_MS = 200.0
BASE_MIN_MS, BASE_MAX_MS = 100.0, 400.0
WINDOW_MIN, WINDOW_MAX = 20, 100
RATE_MIN, RATE_MAX = 1.5, 3.0
#: Context score weights (Tabby's): a non-word character typed, the end of the line, the end
#: of the document.
WEIGHT_TRIGGER, WEIGHT_LINE_END, WEIGHT_DOCUMENT_END = 0.5, 0.4, 0.1
DELAY_MIN_MS, DELAY_MAX_MS = 0.0, 1000.0
#: Weight of the newest response time in its exponential mean.
RESPONSE_WEIGHT = 0.3


def _clamp(low: float, high: float, value: float) -> float:
    return max(low, min(high, value))


class AdaptiveDebounce:
    """The typing rhythm and the response time of one server connection."""

    def __init__(self) -> None:
        self.base_ms = BASE_MS
        self.response_ms = 0.0
        self._intervals: deque[float] = deque(maxlen=WINDOW_MAX)
        self._last_keystroke: float | None = None

    def keystroke(self, now_s: float) -> None:
        """A change of a document at ``now_s`` (``time.monotonic()`` seconds)."""
        if self._last_keystroke is not None:
            interval = (now_s - self._last_keystroke) * 1000
            if interval <= BASE_MAX_MS:
                self._intervals.append(interval)
                if len(self._intervals) > WINDOW_MIN:
                    self.base_ms = _clamp(BASE_MIN_MS, BASE_MAX_MS, sum(self._intervals) / len(self._intervals))
        self._last_keystroke = now_s

    def response(self, ms: float) -> None:
        """A request was answered by the model after ``ms`` milliseconds."""
        self.response_ms = ms if self.response_ms == 0 else (1 - RESPONSE_WEIGHT) * self.response_ms + RESPONSE_WEIGHT * ms

    def delay_ms(self, prefix: str, suffix: str) -> float:
        """The wait before asking the model for a cursor between ``prefix`` and ``suffix``."""
        score = 0.0
        line_before = prefix.rsplit("\n", 1)[-1]
        if not line_before or not (line_before[-1].isalnum() or line_before[-1] == "_"):
            score += WEIGHT_TRIGGER
        if not suffix.split("\n", 1)[0].strip():
            score += WEIGHT_LINE_END
        if not suffix.strip():
            score += WEIGHT_DOCUMENT_END
        rate = RATE_MAX - (RATE_MAX - RATE_MIN) * _clamp(0.0, 1.0, score)
        return _clamp(DELAY_MIN_MS, DELAY_MAX_MS, rate * self.base_ms - self.response_ms)
