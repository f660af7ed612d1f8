"""The ring buffer of recent chunks: llama.vim's similarity, eviction, queueing and capacity."""

from __future__ import annotations

from lfcode.context.ring import Chunk, RingBuffer, chunk_around, chunk_similarity


def lines(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i} = {i}" for i in range(n))


def test_similarity_is_shared_lines_over_mean_length() -> None:
    a = ("x", "y", "z", "w")
    assert chunk_similarity(a, a) == 1.0
    assert chunk_similarity(a, ("x", "y", "p", "q")) == 0.5
    assert chunk_similarity(a, ("p",)) == 0.0


def test_chunk_around_centres_on_the_line_and_skips_tiny_chunks() -> None:
    text = "\n".join(f"line {i}" for i in range(200))
    chunk = chunk_around("/a.py", text, 100, size=64)
    assert chunk.start == 68 and len(chunk.lines) == 64
    assert "line 100" in chunk.lines
    assert chunk_around("/a.py", "x\n\n", 0) is None


def test_similar_chunk_evicts_the_older_one_on_flush() -> None:
    ring = RingBuffer()
    base = lines("a", 40)
    ring.pick(Chunk("/a.py", 0, base))
    assert ring.chunks() == []  # queued until flushed: the prompt does not change while typing
    assert ring.flush()
    edited = base[:-1] + ("a39 = 'changed'",)  # 39/40 lines shared: similarity 0.975
    ring.pick(Chunk("/a.py", 0, edited))
    ring.flush()
    assert [c.lines for c in ring.chunks()] == [edited]
    assert ring.evicted == 1


def test_different_chunks_are_kept_oldest_first_up_to_capacity() -> None:
    ring = RingBuffer(max_chunks=3)
    for name in "abcd":
        ring.pick(Chunk(f"/{name}.py", 0, lines(name, 10)))
    ring.flush()
    assert [c.path for c in ring.chunks()] == ["/b.py", "/c.py", "/d.py"]
    assert not ring.flush()
