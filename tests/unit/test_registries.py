"""The registries that replace if-chains: backends and test frameworks."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from lfcode.backends import BackendError, make_backend
from lfcode.backends.fake import FakeBackend
from lfcode.backends.registry import REGISTRY, reload_keys
from lfcode.session import RELOAD_KEYS
from lfcode.settings import Settings
from lfcode.testgen.frameworks import DETECTORS, FrameworkError, detect_framework


def test_the_backend_setting_offers_exactly_the_registered_backends() -> None:
    choices = typing.get_args(Settings.model_fields["backend"].annotation)
    assert set(choices) == set(REGISTRY)


def test_reload_keys_cover_every_setting_a_backend_factory_reads() -> None:
    assert RELOAD_KEYS == reload_keys()
    assert set(RELOAD_KEYS) == {
        "backend", "audit_log", "model", "completion_model", "chat_model", "n_ctx", "n_threads", "server_url", "allow_remote", "fake_script",
    }


def test_make_backend_dispatches_through_the_registry() -> None:
    assert isinstance(make_backend(Settings(backend="fake")), FakeBackend)


def test_an_unknown_backend_name_is_a_backend_error() -> None:
    settings = Settings.model_construct(backend="nope")
    with pytest.raises(BackendError, match="unknown backend 'nope'"):
        make_backend(settings)


def test_every_test_language_has_a_detector(tmp_path: Path) -> None:
    assert {"python", "javascript", "typescript", "tsx", "go", "rust", "java"} == set(DETECTORS)
    for name, suffix in (("python", ".py"), ("go", ".go"), ("rust", ".rs"), ("java", ".java"), ("typescript", ".ts")):
        source = tmp_path / f"m{suffix}"
        source.write_text("")
        assert detect_framework(source, tmp_path, name).language in (name, "typescript")


def test_a_language_without_a_detector_is_a_framework_error(tmp_path: Path) -> None:
    with pytest.raises(FrameworkError, match="no test framework is known for c "):
        detect_framework(tmp_path / "m.c", tmp_path, "c")


def test_the_one_cancel_token_raises_cancelled_once_set() -> None:
    import pytest

    from lfcode.errors import CancelToken, Cancelled, raise_if_cancelled

    token = CancelToken()
    raise_if_cancelled(token)
    raise_if_cancelled(None)
    token.set()
    with pytest.raises(Cancelled, match="stopped"):
        raise_if_cancelled(token, "stopped")
