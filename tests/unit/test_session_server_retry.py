"""A server backend whose server was not up yet is tried again by a later request."""

from __future__ import annotations

import pytest

from lfcode import session as session_module
from lfcode.backends import BackendError
from lfcode.backends.fake import FakeBackend
from lfcode.session import Session
from lfcode.settings import Settings


async def test_a_server_started_after_lfcode_is_used_by_a_later_request(monkeypatch: pytest.MonkeyPatch) -> None:
    up: list[bool] = [False]
    built: list[str] = []

    def factory(settings: Settings) -> FakeBackend:
        built.append(settings.backend)
        if not up[0]:
            raise BackendError("no server answers at 127.0.0.1:8080 (is it running?)")
        return FakeBackend(["1"])

    recovered: list[bool] = []
    session = Session(Settings(backend="llama-server"), factory)
    session.on_recovered = lambda: recovered.append(True)
    try:
        assert await session.backend() is None
        assert session.model.state == "error" and "is it running?" in session.model.message
        monkeypatch.setattr(session_module, "SERVER_RETRY_S", 3600.0)
        assert await session.backend() is None and len(built) == 1, "no retry before SERVER_RETRY_S"
        up[0] = True
        monkeypatch.setattr(session_module, "SERVER_RETRY_S", 0.0)
        assert isinstance(await session.backend(), FakeBackend)
        assert session.model.state == "ready" and recovered == [True] and len(built) == 2
        assert await session.chat_backend() is await session.backend(), "chat shares the server backend"
    finally:
        await session.close()


async def test_an_in_process_model_that_failed_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []

    def factory(settings: Settings) -> FakeBackend:
        built.append(1)
        raise BackendError("model file not found: /m.gguf")

    monkeypatch.setattr(session_module, "SERVER_RETRY_S", 0.0)
    session = Session(Settings(model="/m.gguf"), factory)
    try:
        assert await session.backend() is None
        assert await session.backend() is None
        assert built == [1], "a missing file does not appear by itself: fixing the setting reloads"
    finally:
        await session.close()
