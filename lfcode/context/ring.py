"""A ring buffer of recently edited or viewed chunks of text, as llama.vim keeps one.

Algorithm (ggml-org/llama.vim, ``autoload/llama.vim``: ``s:pick_chunk``, ``s:chunk_sim``,
``s:ring_update``): a chunk is up to :data:`CHUNK_LINES` lines around a position; two chunks'
similarity is ``2 * common_lines / (lines_a + lines_b)``; a new chunk evicts the chunks more than
:data:`EVICT_SIMILARITY` similar to it; the ring holds at most :data:`MAX_CHUNKS`, oldest out
first. New chunks wait in a queue and enter the ring only on :meth:`RingBuffer.flush` (llama.vim
does it when the user is idle), so that the prompt's early part, and with it the model's KV
cache, does not change while the user types.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

#: Lines in a chunk (llama.vim's ``ring_chunk_size``).
CHUNK_LINES = 64
#: Chunks kept (llama.vim's ``ring_n_chunks``).
MAX_CHUNKS = 16
#: A new chunk evicts older ones more similar than this (llama.vim uses 0.9).
EVICT_SIMILARITY = 0.9
#: Chunks with fewer non-blank lines are not worth a place.
MIN_LINES = 3


@dataclass(frozen=True)
class Chunk:
    """``lines`` of ``path`` (without line breaks) starting at 0-based ``start`` line."""

    path: str
    start: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def chunk_similarity(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> float:
    """llama.vim's line similarity: ``2 * |lines of a also in b| / (len(a) + len(b))``, 0..1."""
    if not a and not b:
        return 1.0
    other = set(b)
    common = sum(1 for line in a if line in other)
    return min(1.0, 2.0 * common / (len(a) + len(b)))


def chunk_around(path: str, text: str, line: int, size: int = CHUNK_LINES) -> Chunk | None:
    """The chunk of ``size`` lines of ``text`` centred on 0-based ``line``; ``None`` when it has
    fewer than :data:`MIN_LINES` non-blank lines."""
    lines = text.split("\n")
    start = max(0, min(line - size // 2, len(lines) - size))
    body = tuple(ln.rstrip("\r") for ln in lines[start : start + size])
    if sum(1 for ln in body if ln.strip()) < MIN_LINES:
        return None
    while body and not body[-1].strip():
        body = body[:-1]
    return Chunk(path, start, body)


class RingBuffer:
    """Recent chunks, deduplicated by similarity. Thread-safe.

    Args:
        max_chunks: ring capacity.
        evict_similarity: a new chunk evicts ring chunks more similar than this.
    """

    def __init__(self, max_chunks: int = MAX_CHUNKS, evict_similarity: float = EVICT_SIMILARITY) -> None:
        self.max_chunks = max_chunks
        self.evict_similarity = evict_similarity
        self._ring: deque[Chunk] = deque()
        self._queue: list[Chunk] = []
        self._lock = threading.Lock()
        self.evicted = 0

    def pick(self, chunk: Chunk | None) -> None:
        """Queue ``chunk`` for the ring (it enters on the next :meth:`flush`)."""
        if chunk is None:
            return
        with self._lock:
            self._queue = [c for c in self._queue if chunk_similarity(c.lines, chunk.lines) <= self.evict_similarity]
            self._queue.append(chunk)

    def flush(self) -> bool:
        """Move queued chunks into the ring; returns True when the ring changed."""
        with self._lock:
            changed = False
            for chunk in self._queue:
                kept = [c for c in self._ring if chunk_similarity(c.lines, chunk.lines) <= self.evict_similarity]
                self.evicted += len(self._ring) - len(kept)
                self._ring = deque(kept)
                self._ring.append(chunk)
                while len(self._ring) > self.max_chunks:
                    self._ring.popleft()
                changed = True
            self._queue.clear()
            return changed

    def chunks(self) -> list[Chunk]:
        """The ring's chunks, oldest first (the stable order for the prompt)."""
        with self._lock:
            return list(self._ring)
