"""lfcode's one error hierarchy.

Every exception lfcode raises on purpose derives from :class:`LfcodeError`, and its message is
written for the user. Three kinds matter to the front ends (the CLI and the LSP):

- :class:`UserError`: a message shown *as is* (the LSP shows it at its :attr:`~UserError.level`;
  the CLI prints it and exits 2). Used for "place the cursor inside a function", "open a folder",
  "the editor did not apply the tests".
- :class:`Cancelled`: the user cancelled, or a newer request replaced this one. Nothing was
  changed and nothing is reported as a failure.
- every other :class:`LfcodeError` (``BackendError``, ``ReviewError``, ``VerifyError``,
  ``TestgenError``, ``FrameworkError``, ``ExplainError``, ``TemplateError``,
  ``SandboxUnavailable``, ...): a step failed. The CLI prints the message and exits 2; the LSP
  shows it as an error and adds that nothing was changed.

The feature errors keep their historical built-in bases as well (``ValueError``,
``RuntimeError``), so older ``except ValueError`` code still catches them. They are defined
next to the code raising them (``lfcode.review.diff.ReviewError``, ...); only the classes shared
by several packages live here.
"""

from __future__ import annotations

import threading
from typing import Literal

#: How loudly a front end shows a :class:`UserError` (the LSP maps it to ``MessageType``).
Level = Literal["error", "warning", "info"]


class LfcodeError(Exception):
    """Base of every error lfcode raises on purpose; ``str(exc)`` is a message for the user."""


class UserError(LfcodeError):
    """A message for the user, shown as is.

    Args:
        message: the complete text (no prefix or suffix is added besides ``lfcode: ``).
        level: ``"error"`` (default), ``"warning"`` or ``"info"``.
    """

    def __init__(self, message: str, level: Level = "error") -> None:
        super().__init__(message)
        self.level: Level = level


class Cancelled(LfcodeError):
    """The user cancelled, a newer request replaced this one, or a time limit stopped it.

    Nothing was applied. Raised by every long step that takes a cancel ``threading.Event``
    (explain, test generation, test verification, review) once the event is set.
    """


#: The one cancellation token: set by the front end (the LSP's ``$/cancelRequest`` and
#: ``window/workDoneProgress/cancel``, a newer request, a time limit), read by every long step.
#: A step that stops because it is set raises :class:`Cancelled` (:func:`raise_if_cancelled`);
#: only completion returns instead, with what it has and its result marked ``cancelled`` (a
#: keystroke outdates it).
CancelToken = threading.Event


def raise_if_cancelled(token: CancelToken | None, message: str = "cancelled") -> None:
    """Raise :class:`Cancelled` (with ``message``) when ``token`` is set; ``None`` is never set."""
    if token is not None and token.is_set():
        raise Cancelled(message)


class BackendError(LfcodeError, RuntimeError):
    """A model could not be loaded or could not generate; the message is shown to the user.

    Re-exported by :mod:`lfcode.backends` (its historical home).
    """


__all__ = ["BackendError", "CancelToken", "Cancelled", "Level", "LfcodeError", "UserError", "raise_if_cancelled"]
