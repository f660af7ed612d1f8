"""Reading a GGUF file's header (metadata and tensor list) without reading its weights.

The layout and the type codes are those of the official ``gguf`` package (``gguf.GGUF_MAGIC``,
``gguf.GGUFValueType``, ``gguf.GGMLQuantizationType``); the parsing is done here, over a
memory map, because ``gguf.GGUFReader`` builds a numpy view for every string of every array: on
the embedded model (Gemma 3 270M, a 262,144-token vocabulary, 253 MB) it took 23-27 s, where
this reader takes about 0.3 s (README, "`lfcode models`"). Only the pages holding the header
are touched; the tensor data is never read.

Big arrays are kept only when asked for (:data:`KEPT_ARRAYS`: the token texts and types); the
others (scores, merges) are skipped over, and any array longer than :data:`SMALL_ARRAY` items is
left out of :attr:`GgufHeader.metadata`.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf

from lfcode.errors import LfcodeError

__all__ = ["GgufError", "GgufHeader", "TensorInfo", "read_header", "KEPT_ARRAYS", "SMALL_ARRAY"]

#: Arrays returned whatever their length: the vocabulary's texts and token types.
KEPT_ARRAYS = frozenset({gguf.Keys.Tokenizer.LIST, gguf.Keys.Tokenizer.TOKEN_TYPE})
#: Other arrays up to this many items are kept in the metadata; longer ones are skipped.
SMALL_ARRAY = 64

_VT = gguf.GGUFValueType
#: struct format of each fixed-size value type.
_SCALAR = {
    _VT.UINT8: "B", _VT.INT8: "b", _VT.UINT16: "H", _VT.INT16: "h", _VT.UINT32: "I", _VT.INT32: "i",
    _VT.FLOAT32: "f", _VT.BOOL: "?", _VT.UINT64: "Q", _VT.INT64: "q", _VT.FLOAT64: "d",
}


class GgufError(LfcodeError, ValueError):
    """The file is not a GGUF model lfcode can read (bad magic, unsupported version, truncated)."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's entry in the header: ``name``, ``shape`` (ggml order, elements) and ``type``
    (a ``gguf.GGMLQuantizationType`` value)."""

    name: str
    shape: tuple[int, ...]
    type: int

    @property
    def elements(self) -> int:
        """Number of values in the tensor."""
        count = 1
        for dim in self.shape:
            count *= dim
        return count


@dataclass
class GgufHeader:
    """What :func:`read_header` found.

    Attributes:
        version: the GGUF version (2 or 3).
        metadata: every key/value pair; scalars as Python values, strings decoded (invalid UTF-8
            replaced), arrays as lists when short (or in :data:`KEPT_ARRAYS`), longer ones left out.
        tensors: the tensor list in file order.
        size_bytes: the file's size.
    """

    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    size_bytes: int = 0


class _Cursor:
    """Sequential reads from a buffer, with bounds checked against its length."""

    def __init__(self, data: mmap.mmap, endian: str) -> None:
        self.data, self.end, self.pos, self.endian = data, len(data), 0, endian

    def need(self, size: int) -> None:
        if size < 0 or self.pos + size > self.end:
            raise GgufError(f"truncated header (needs {size} bytes at offset {self.pos} of {self.end})")

    def scalar(self, code: str) -> Any:
        size = struct.calcsize(code)
        self.need(size)
        (value,) = struct.unpack_from(self.endian + code, self.data, self.pos)
        self.pos += size
        return value

    def raw_string(self) -> bytes:
        length = self.scalar("Q")
        self.need(length)
        value = self.data[self.pos : self.pos + length]
        self.pos += length
        return value

    def string(self) -> str:
        return self.raw_string().decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        unpack, data, prefix = struct.unpack_from, self.data, self.endian + "Q"
        for _ in range(count):
            self.need(8)
            (length,) = unpack(prefix, data, self.pos)
            self.pos += 8
            self.need(length)
            self.pos += length

    def strings(self, count: int) -> list[str]:
        unpack, data, prefix = struct.unpack_from, self.data, self.endian + "Q"
        out = []
        for _ in range(count):
            self.need(8)
            (length,) = unpack(prefix, data, self.pos)
            start = self.pos + 8
            self.pos = start + length
            if self.pos > self.end:
                raise GgufError(f"truncated header (a string runs past the end at offset {start})")
            out.append(data[start : self.pos].decode("utf-8", errors="replace"))
        return out


def _value(cur: _Cursor, vtype: int, key: str) -> tuple[bool, Any]:
    """Read one value of type ``vtype``; returns ``(kept, value)``."""
    if vtype in _SCALAR:
        return True, cur.scalar(_SCALAR[_VT(vtype)])
    if vtype == _VT.STRING:
        return True, cur.string()
    if vtype != _VT.ARRAY:
        raise GgufError(f"unknown value type {vtype} for key {key!r}")
    item_type, count = cur.scalar("I"), cur.scalar("Q")
    keep = key in KEPT_ARRAYS or count <= SMALL_ARRAY
    if item_type in _SCALAR:
        code = _SCALAR[_VT(item_type)]
        size = struct.calcsize(code) * count
        cur.need(size)
        values = list(struct.unpack_from(f"{cur.endian}{count}{code}", cur.data, cur.pos)) if keep else None
        cur.pos += size
        return keep, values
    if item_type == _VT.STRING:
        cur.need(8 * count)  # every string has at least its 8-byte length
        if keep:
            return True, cur.strings(count)
        cur.skip_strings(count)
        return False, None
    if item_type == _VT.ARRAY:
        values = [_value(cur, _VT.ARRAY, key)[1] for _ in range(count)]
        return keep, values if keep else None
    raise GgufError(f"unknown array item type {item_type} for key {key!r}")


def read_header(path: Path) -> GgufHeader:
    """Read the metadata and the tensor list of the GGUF file at ``path`` (never its weights).

    Args:
        path: a GGUF file (version 2 or 3, either byte order).

    Returns:
        The :class:`GgufHeader`.

    Raises:
        GgufError: empty file, wrong magic, unsupported version, a truncated or corrupt header.
        OSError: the file cannot be opened or mapped.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        if size == 0:
            raise GgufError("empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if size < 24 or struct.unpack_from("<I", data, 0)[0] != gguf.GGUF_MAGIC:
                raise GgufError("no GGUF magic at its start (another format?)")
            version = struct.unpack_from("<I", data, 4)[0]
            endian = "<"
            if version & 0xFFFF == 0:  # a big-endian file: the version reads byte-swapped
                version, endian = struct.unpack_from(">I", data, 4)[0], ">"
            if version not in (2, 3):
                raise GgufError(f"GGUF version {version} is not supported (only 2 and 3)")
            cur = _Cursor(data, endian)
            cur.pos = 8
            n_tensors, n_kv = cur.scalar("Q"), cur.scalar("Q")
            # Each entry needs at least 8 + 4 bytes; a count beyond that is a corrupt header.
            if n_kv * 12 > size or n_tensors * 12 > size:
                raise GgufError(f"corrupt header ({n_kv} keys, {n_tensors} tensors in {size} bytes)")
            header = GgufHeader(version=version, size_bytes=size)
            for _ in range(n_kv):
                key = cur.string()
                kept, value = _value(cur, cur.scalar("I"), key)
                if kept:
                    header.metadata[key] = value
            for _ in range(n_tensors):
                name = cur.string()
                n_dims = cur.scalar("I")
                if n_dims > 8:
                    raise GgufError(f"tensor {name!r} has {n_dims} dimensions")
                shape = tuple(cur.scalar("Q") for _ in range(n_dims))
                ttype = cur.scalar("I")
                cur.scalar("Q")  # offset of the data, not needed
                header.tensors.append(TensorInfo(name, shape, ttype))
            return header
