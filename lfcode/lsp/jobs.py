"""What every long LSP command shares: a :class:`Job` (progress token, cancel flag, time limit),
the backend it needs, and :func:`guarded`, which turns lfcode's error hierarchy
(:mod:`lfcode.errors`) into ``window/showMessage``.

- :class:`~lfcode.errors.UserError`: shown as is, at its level;
- :class:`~lfcode.errors.Cancelled` (and a cancelled verification's ``InterruptedError``): an
  information message, "cancelled; nothing was changed" unless the command words it (review says
  where it stopped and that its diagnostics were left as they were);
- any other :class:`~lfcode.errors.LfcodeError` (and, where the command touches files,
  ``OSError``): an error message built from the command's ``failed`` pattern.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable
from typing import Any

from lsprotocol import types

from lfcode.backends import Backend, Role
from lfcode.errors import Cancelled, Level, LfcodeError, UserError
from lfcode.lsp.state import LfcodeServer

log = logging.getLogger(__name__)

_MESSAGE_TYPES: dict[Level, types.MessageType] = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}


def message_type(level: Level) -> types.MessageType:
    """The ``MessageType`` for a :class:`~lfcode.errors.UserError` level (``Error`` when unknown)."""
    return _MESSAGE_TYPES.get(level, types.MessageType.Error)


class Job:
    """One command run: its progress token, its cancel flag and its time limit.

    Use as ``async with Job(ls, title) as job:``; the progress ends with :attr:`end_message`
    (``Cancelled`` or ``Failed`` when the block raised).
    """

    def __init__(self, ls: LfcodeServer, title: str) -> None:
        self.ls, self.title = ls, title
        self.cancel = threading.Event()
        self.token: str | None = None
        self.end_message = "Done"
        self.loop = asyncio.get_running_loop()

    async def __aenter__(self) -> Job:
        window = self.ls.client_capabilities.window
        if window and window.work_done_progress:
            token = f"lfcode-{uuid.uuid4()}"
            try:
                await self.ls.work_done_progress.create_async(token)
                self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=self.title, cancellable=True, message="Starting…"))
                self.token = token
                self.ls.work_done_progress.tokens[token].add_done_callback(lambda f: f.cancelled() and self.cancel.set())
            except Exception as exc:  # noqa: BLE001 - a client refusing progress must not stop the command
                log.warning("client refused progress: %s", exc)
        return self

    def report(self, message: str) -> None:
        """A progress report (from the event loop thread)."""
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))

    def report_threadsafe(self, message: str) -> None:
        """A progress report from a worker thread."""
        self.loop.call_soon_threadsafe(self.report, message)

    async def run(self, awaitable: Any, seconds: float) -> Any:
        """Await ``awaitable`` within ``seconds``; a timeout or a cancel sets :attr:`cancel`.

        Raises:
            UserError: the time limit passed.
        """
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except asyncio.TimeoutError as exc:
            self.cancel.set()
            raise UserError(f"{self.title} took longer than {seconds:.0f} s and was stopped; nothing was changed") from exc
        except asyncio.CancelledError:
            self.cancel.set()
            raise

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None:
            self.end_message = "Cancelled" if self.cancel.is_set() else "Failed"
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=self.end_message))
            self.ls.work_done_progress.tokens.pop(self.token, None)


async def require_backend(ls: LfcodeServer, role: Role = "completion") -> Backend:
    """The backend serving ``role`` (``"chat"``: explain, tests, review; see
    :meth:`lfcode.session.Session.backend_for`), waiting for loading to finish.

    Raises:
        UserError: the role's model could not be loaded (the message says why).
    """
    backend = await ls.session.backend_for(role)
    if backend is None:
        state = ls.session.chat_model if role == "chat" else ls.session.model
        raise UserError(f"the model is not available: {state.message}")
    return backend


async def guarded(
    ls: LfcodeServer,
    run: Awaitable[Any],
    failed: str = "{error}; nothing was changed",
    also: tuple[type[BaseException], ...] = (OSError,),
    cancelled: str = "cancelled; nothing was changed",
) -> Any:
    """Await ``run`` and return its result; on an error show a message and return ``None``.

    Args:
        ls: the server (for ``window/showMessage``).
        run: the command's coroutine.
        failed: the error message for a failed step; ``{error}`` is the exception's text.
        also: exceptions outside :mod:`lfcode.errors` that are failures of this command too.
        cancelled: the information message after a cancel (``Cancelled`` or
            ``InterruptedError``); ``{error}`` is the exception's text.
    """
    try:
        return await run
    except UserError as exc:
        ls.window_show_message(types.ShowMessageParams(type=message_type(exc.level), message=f"lfcode: {exc}"))
    except (Cancelled, InterruptedError) as exc:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"lfcode: {cancelled.format(error=exc)}"))
    except (LfcodeError, *also) as exc:
        ls.show_error(failed.format(error=exc))
    return None


__all__ = ["Job", "UserError", "guarded", "message_type", "require_backend"]
