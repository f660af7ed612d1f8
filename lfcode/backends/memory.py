"""Whether a second in-process model fits in RAM next to the first (a model per role).

When ``completion_model`` and ``chat_model`` name different GGUF files, the llama-cpp backend
loads both into this process. Before the second one loads, :func:`check_second_model` estimates
what it needs and refuses with a :class:`~lfcode.errors.BackendError` when the machine's free
memory cannot hold it while the first model stays resident.

Estimate (:func:`model_ram_bytes`), bytes: the file's size (the weights, memory-mapped) plus the
KV cache, ``n_ctx * n_layers * (n_head_kv * head_dim) * 2 (K and V) * 2 bytes (f16)``, read from
the GGUF header (``<arch>.block_count``, ``<arch>.attention.head_count_kv``,
``<arch>.embedding_length / <arch>.attention.head_count`` or ``<arch>.attention.key_length``);
a header without those keys gets ``file size * 1.2``.

Free memory (:func:`mem_available_bytes`): ``MemAvailable`` of ``/proc/meminfo`` (Linux). It
counts the page cache holding the first model's memory-mapped weights as available, so the first
model's file size is taken off it (it must stay resident to decode at speed). Elsewhere the check
is skipped with a log line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lfcode.errors import BackendError

log = logging.getLogger(__name__)

__all__ = ["check_second_model", "mem_available_bytes", "model_ram_bytes"]

#: Multiplier of the file size when the header lacks the layer and head counts.
FALLBACK_FACTOR = 1.2
#: Bytes per KV cache element (llama.cpp's default f16 cache).
KV_BYTES = 2

GB = 1024**3


def mem_available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo``, bytes; ``None`` where it cannot be read (not Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file says kB, meaning KiB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _int(meta: dict, key: str) -> int | None:
    value = meta.get(key)
    if isinstance(value, list):  # per-layer counts: the largest bounds the cache
        value = max((v for v in value if isinstance(v, int)), default=None)
    return value if isinstance(value, int) and value > 0 else None


def model_ram_bytes(path: Path, n_ctx: int) -> int:
    """The RAM the model at ``path`` needs with an ``n_ctx``-token context, bytes (module docstring).

    Raises:
        OSError: the file cannot be read.
    """
    size = Path(path).stat().st_size
    try:
        from lfcode.models.header import read_header

        meta = read_header(Path(path)).metadata
    except (OSError, ValueError) as exc:  # GgufError is a ValueError
        log.debug("no header facts for %s (%s); estimating %.1f x its size", path, exc, FALLBACK_FACTOR)
        return int(size * FALLBACK_FACTOR)
    arch = meta.get("general.architecture")
    layers = _int(meta, f"{arch}.block_count")
    heads = _int(meta, f"{arch}.attention.head_count")
    heads_kv = _int(meta, f"{arch}.attention.head_count_kv") or heads
    head_dim = _int(meta, f"{arch}.attention.key_length")
    embedding = _int(meta, f"{arch}.embedding_length")
    if head_dim is None and embedding and heads:
        head_dim = embedding // heads
    if not (layers and heads_kv and head_dim):
        return int(size * FALLBACK_FACTOR)
    return size + n_ctx * layers * heads_kv * head_dim * 2 * KV_BYTES


def check_second_model(chat: Path, completion: Path, n_ctx: int, chat_name: str, completion_name: str) -> None:
    """Refuse to load the chat model ``chat`` next to the loaded completion model ``completion``
    when it would not fit in free memory (module docstring); ``*_name`` are the settings' references,
    for the message. Without ``/proc/meminfo`` the check is skipped (logged).

    Raises:
        BackendError: it would not fit; the message says how much is needed, what is free and what to do.
    """
    available = mem_available_bytes()
    if available is None:
        log.info("free memory is unknown on this system: loading the chat model %s without checking that it fits", chat_name)
        return
    need = model_ram_bytes(chat, n_ctx)
    try:
        resident = Path(completion).stat().st_size
    except OSError:
        resident = 0
    free = max(0, available - resident)
    log.debug("chat model needs about %d bytes; %d available, %d of them hold the completion model", need, available, resident)
    if need > free:
        raise BackendError(
            f"the chat model {chat_name} (≈{need / GB:.1f} GB) and the completion model {completion_name} would not fit in the "
            f"{free / GB:.1f} GB of free memory; set chat_model = completion_model (one model for both) or choose a smaller one"
        )
