"""The model loaded while the server starts (:mod:`lfcode.backends.preload`), on a tiny GGUF."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lfcode.backends import BackendError
from lfcode.backends.llama_cpp import LlamaCppBackend
from lfcode.backends.preload import Preload
from lfcode.settings import Settings
from tests.tinygguf import write_tiny_gguf


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    model = write_tiny_gguf(tmp_path / "tiny.gguf", family="starcoder")
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "LFCODE_MODEL": str(model), "LFCODE_N_CTX": "512"}


def test_the_preloaded_backend_is_handed_over_once_when_the_settings_agree(env: dict[str, str]) -> None:
    interval = sys.getswitchinterval()
    preload = Preload(env)
    settings = Settings(model=env["LFCODE_MODEL"], n_ctx=512)
    first = preload.factory(settings)
    assert isinstance(first, LlamaCppBackend)
    assert preload._thread.ident is not None and not preload._thread.is_alive()
    assert sys.getswitchinterval() == interval  # the startup interval is undone
    second = preload.factory(settings)  # a reload builds anew
    assert second is not first
    first.close()
    second.close()


def test_other_settings_at_initialize_close_the_early_backend(env: dict[str, str], monkeypatch) -> None:
    preload = Preload(env)
    preload._thread.join()
    early = preload._backend
    assert isinstance(early, LlamaCppBackend)
    closed: list[bool] = []
    monkeypatch.setattr(early, "close", lambda: closed.append(True))
    chosen = preload.factory(Settings(model=env["LFCODE_MODEL"], n_ctx=1024))  # the editor asked for another n_ctx
    assert closed == [True]
    assert chosen is not early and chosen.capabilities.n_ctx == 1024
    chosen.close()


def test_a_failed_early_load_leaves_the_error_to_the_normal_load(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.gguf")
    preload = Preload({"XDG_CONFIG_HOME": str(tmp_path), "LFCODE_MODEL": missing})
    with pytest.raises(BackendError, match="missing.gguf"):
        preload.factory(Settings(model=missing))


def test_other_backends_are_not_preloaded(tmp_path: Path) -> None:
    preload = Preload({"XDG_CONFIG_HOME": str(tmp_path), "LFCODE_BACKEND": "fake"})
    preload._thread.join()
    assert preload._backend is None
    assert preload.factory(Settings(backend="fake")).capabilities is not None
