"""The audit log file: where it is, appending a hash-chained record, checking the chain.

See :mod:`lfcode.audit` for the record format and the guarantees.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfcode.errors import BackendError

log = logging.getLogger(__name__)

#: ``prev`` of the first record.
GENESIS = "0" * 64
#: Bytes read at a time when looking for the last line from the end of the file.
TAIL_CHUNK = 64 * 1024


class AuditError(BackendError):
    """The audit log could not be opened or written; the model call's result is withheld."""


def audit_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/lfcode/audit.jsonl``; ``~/.local/share/lfcode/audit.jsonl`` when the
    variable is unset, empty or relative (the XDG spec says to ignore a relative one)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or ""
    if not os.path.isabs(base):
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "lfcode" / "audit.jsonl"


class AuditLog:
    """The append-only, hash-chained JSONL file at ``path``.

    Raises:
        AuditError: from :meth:`check` and :meth:`append`, when the file or its directory cannot
            be created, locked or written (the message names the file and the OS error).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise self._error("cannot open", exc) from exc

    def _error(self, what: str, exc: OSError) -> AuditError:
        message = (
            f"{what} the audit log {self.path}: {exc.strerror or exc}; audit_log is on, so no model call "
            "is made or delivered without its record (fix the file's permissions or space, or turn audit_log off)"
        )
        log.error("%s", message)
        return AuditError(message)

    def check(self) -> None:
        """Create the directory (``0700``) and the file (``0600``) if needed and make sure the
        file opens for appending; raises :class:`AuditError` otherwise."""
        os.close(self._open())

    def append(self, record: Mapping[str, Any]) -> str:
        """Append ``record`` plus its ``prev`` as one line, under an exclusive ``flock``.

        Returns the hex sha256 of the written line (the next record's ``prev``). When the file
        does not end with a newline (a cut record), the new line starts on a line of its own and
        chains to the cut one's bytes; :func:`verify_log` reports the cut line.
        """
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, ended = _last_line(fd)
            prev = GENESIS if last is None else hashlib.sha256(last).hexdigest()
            # ASCII escapes: any str, even one with a lone surrogate, makes a valid line.
            line = json.dumps({**record, "prev": prev}, separators=(",", ":")).encode("ascii")
            data = (b"" if ended else b"\n") + line + b"\n"
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(0, f"wrote {written} of {len(data)} bytes")
            return hashlib.sha256(line).hexdigest()
        except OSError as exc:
            raise self._error("cannot write to", exc) from exc
        finally:
            os.close(fd)  # releases the lock


def _last_line(fd: int) -> tuple[bytes | None, bool]:
    """``(the file's last line without its newline, whether the file ends with a newline)``;
    ``(None, True)`` for an empty file. Reads backwards from the end, :data:`TAIL_CHUNK` at a time."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    ended = os.pread(fd, 1, size - 1) == b"\n"
    pos = size - 1 if ended else size
    tail = b""
    while pos > 0:
        start = max(0, pos - TAIL_CHUNK)
        tail = os.pread(fd, pos - start, start) + tail
        pos = start
        cut = tail.rfind(b"\n")
        if cut != -1:
            return tail[cut + 1 :], ended
    return tail, ended


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_log` found.

    Attributes:
        records: lines checked and found good (all of them when ``problem`` is ``None``).
        last_sha256: hex sha256 of the last good line (``None`` for an empty log).
        line: 1-based number of the first bad line, or ``None``.
        problem: ``"line N: ..."``, why that line is bad, or ``None`` when the chain holds.
    """

    records: int
    last_sha256: str | None
    line: int | None = None
    problem: str | None = None


def verify_log(path: Path) -> AuditCheck:
    """Check the chain of the audit log at ``path``, reading it line by line.

    A line is bad when it is not a JSON object with a string ``prev``, when its ``prev`` is not
    the sha256 of the line before (64 zeros for the first line), or when it is the last and lacks
    its newline (cut short). Stops at the first bad line.

    Raises:
        OSError: the file cannot be read (``FileNotFoundError`` when it does not exist).
    """
    prev, count = GENESIS, 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            ended = raw.endswith(b"\n")
            line = raw[:-1] if ended else raw

            def bad(reason: str, number: int = number) -> AuditCheck:
                return AuditCheck(count, None if count == 0 else prev, number, f"line {number}: {reason}")

            try:
                record = json.loads(line)
            except ValueError:
                return bad("not a JSON record: it was edited or cut short")
            if not isinstance(record, dict) or not isinstance(record.get("prev"), str):
                return bad("not an audit record (no prev field)")
            if record["prev"] != prev:
                if number == 1:
                    return bad(f"prev is not {GENESIS[:8]}…: the log does not start with its first record (lines were deleted or moved)")
                return bad(f"prev does not match line {number - 1}: a line was edited, deleted or moved")
            if not ended:
                return bad("no newline at the end: the last record was cut short")
            prev, count = hashlib.sha256(line).hexdigest(), count + 1
    return AuditCheck(count, None if count == 0 else prev)


def verify_report(path: Path | None = None) -> tuple[int, str]:
    """``lfcode audit verify``: check the log at ``path`` (default :func:`audit_path`) and return
    ``(exit code, message)``: ``0, "audit log OK: N records, last record sha256 H"``; ``1`` and
    the first bad line and why; ``2`` when the file is missing or unreadable."""
    path = path or audit_path()
    try:
        check = verify_log(path)
    except FileNotFoundError:
        return 2, f"no audit log at {path} (the audit_log setting is off, or nothing was recorded yet)"
    except OSError as exc:
        return 2, f"cannot read the audit log {path}: {exc.strerror or exc}"
    if check.problem:
        return 1, f"audit log {path} is not intact: {check.problem} (the {check.records} records before it are intact)"
    last = f", last record sha256 {check.last_sha256}" if check.last_sha256 else ""
    return 0, f"audit log OK: {check.records} records{last}"
