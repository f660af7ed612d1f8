"""The audit log: one hash-chained JSON line per model call (setting ``audit_log``).

Opt-in and machine-level (a repository's own files can neither turn it on nor off). With
``audit_log = true`` (or ``"full"``), :func:`lfcode.backends.make_backend` wraps the backend in
an :class:`AuditedBackend`, which appends one record to :func:`audit_path`
(``$XDG_DATA_HOME/lfcode/audit.jsonl``, ``~/.local/share/lfcode/audit.jsonl`` when unset) each
time a ``complete`` or ``chat`` generation ends: finished (``outcome`` ``"done"``), stopped by
the caller closing the stream (``"closed"``), stopped by the cancel flag (``"cancelled"``) or
failed (``"error"``, with ``error``). A record holds ``time`` (UTC, ISO 8601), ``feature``
(:attr:`~lfcode.backends.base.GenerationRequest.feature`), ``backend`` (the setting's value),
``model`` (``{"sha256", "path"}`` of an in-process GGUF, ``{"url"}`` of a server, else
``{"name"}``), ``kind`` (``"complete"`` or ``"chat"``), ``prompt_sha256`` and ``answer_sha256``
(hex sha256 of the UTF-8 prompt, and of the text delivered to the caller), ``prompt_tokens`` and
``answer_tokens`` (the backend's tokenizer; ``null`` when it fails), ``duration_ms``, with
``"full"`` the ``prompt`` and ``answer`` themselves, and ``prev``. A chat prompt is its messages
as a JSON list of ``{"role", "content"}``; its hash is over that list serialised compactly
(:func:`chat_prompt_text`), and its token count is the messages' contents' (the chat template's
own tokens excluded).

``prev`` is the hex sha256 of the previous line's bytes (without its newline), 64 zeros for the
first record: editing, deleting or moving a line breaks the chain at the next line, which
:func:`verify_log` (``lfcode audit verify``) reports. Deleting the *last* records, or rewriting
the whole chain, cannot be seen from the file alone: keep the last hash ``lfcode audit verify``
prints somewhere else to detect that. Writers take an exclusive ``flock`` on the file, read the
last line's hash and append the whole line with one ``write`` on an ``O_APPEND`` descriptor, so
two lfcode processes (or threads) neither interleave lines nor fork the chain. The directory is
created ``0700``, the file ``0600``. Lines are not fsynced.

Fail-closed: the log is opened before every model call, so an unwritable log stops the call
before the model sees anything; a record that cannot be written at the end raises
:class:`AuditError` (a :class:`~lfcode.errors.BackendError`) from the stream instead of ending
it, so callers that take a whole generation (explain, tests, review) get the error, not the
text. A streamed completion may already have shown its first line by then.
"""

from lfcode.audit.backend import AuditedBackend, chat_prompt_text, file_sha256, model_identity, sha256_text
from lfcode.audit.log import GENESIS, AuditCheck, AuditError, AuditLog, audit_path, verify_log, verify_report

__all__ = [
    "GENESIS",
    "AuditCheck",
    "AuditError",
    "AuditLog",
    "AuditedBackend",
    "audit_path",
    "chat_prompt_text",
    "file_sha256",
    "model_identity",
    "sha256_text",
    "verify_log",
    "verify_report",
]
