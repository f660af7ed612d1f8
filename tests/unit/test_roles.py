"""A model per role (issue 16, part 3): ``completion_model`` and ``chat_model``, one backend per
role (shared when both name one file), the memory check before a second model, and which role
each feature asks for."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from lsprotocol import types

from lfcode import doctor
from lfcode.backends import BackendError, make_backend, make_chat_backend, memory, roles_share_backend
from lfcode.backends.fake import FakeBackend
from lfcode.cli import cli
from lfcode.errors import UserError
from lfcode.session import Session
from lfcode.settings import MACHINE_KEYS, Settings, load_settings
from tests.tinygguf import write_tiny_gguf

CHAT_TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"


@pytest.fixture
def fim_model(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "fim.gguf", family="codellama")


@pytest.fixture
def chat_model(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "chat.gguf", chat_template=CHAT_TEMPLATE, seed=1)


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for key in ("MODEL", "COMPLETION_MODEL", "CHAT_MODEL", "BACKEND", "AUDIT_LOG", "FAKE_SCRIPT", "N_CTX"):
        monkeypatch.delenv(f"LFCODE_{key}", raising=False)


# Settings


def test_both_roles_default_to_model() -> None:
    settings = Settings(model="/m/one.gguf")
    assert settings.completion_model is None and settings.chat_model is None
    assert settings.model_for("completion") == settings.model_for("chat") == "/m/one.gguf"
    split = Settings(model="/m/one.gguf", chat_model="ollama:qwen")
    assert split.model_for("completion") == "/m/one.gguf" and split.model_for("chat") == "ollama:qwen"
    assert split.for_role("chat").model == "ollama:qwen" and split.for_role("chat").chat_model is None


def test_a_project_file_cannot_choose_the_models_of_the_roles(tmp_path: Path) -> None:
    assert {"completion_model", "chat_model"} <= MACHINE_KEYS
    (tmp_path / "lfcode.toml").write_text('completion_model = "/evil/a.gguf"\nchat_model = "/evil/b.gguf"\nn_ctx = 2048\n')
    layers = load_settings(tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert layers.settings.completion_model is None and layers.settings.chat_model is None
    assert layers.settings.n_ctx == 2048  # quality knobs still apply
    (problem,) = layers.problems
    assert problem.kind == "untrusted" and problem.key == "chat_model, completion_model"


def test_the_user_may_choose_them_from_the_environment() -> None:
    layers = load_settings(None, env={"LFCODE_CHAT_MODEL": "hf:org/chat", "LFCODE_COMPLETION_MODEL": "none", "XDG_CONFIG_HOME": "/nowhere"})
    assert layers.settings.chat_model == "hf:org/chat" and layers.settings.completion_model is None
    assert not layers.problems


# Backends per role


def test_two_different_models_load_two_backends(fim_model: Path, chat_model: Path) -> None:
    settings = Settings(completion_model=str(fim_model), chat_model=str(chat_model), n_ctx=256, n_threads=1)
    assert not roles_share_backend(settings)
    completion = make_backend(settings)
    try:
        chat = make_chat_backend(settings, completion)
        try:
            assert chat is not completion
            assert completion.capabilities.fim is not None and completion.capabilities.fim.family == "codellama"
            assert chat.capabilities.fim is None
        finally:
            chat.close()
    finally:
        completion.close()


def test_one_model_for_both_roles_is_one_backend(fim_model: Path, tmp_path: Path) -> None:
    link = tmp_path / "same.gguf"
    link.symlink_to(fim_model)
    for settings in (Settings(model=str(fim_model), n_ctx=256, n_threads=1),
                     Settings(completion_model=str(fim_model), chat_model=str(link), n_ctx=256, n_threads=1)):
        assert roles_share_backend(settings)
        loads: list[str] = []

        def factory(s: Settings) -> FakeBackend:
            loads.append(s.model)
            return FakeBackend()

        completion = FakeBackend()
        assert make_chat_backend(settings, completion, factory) is completion and loads == []


def test_the_fake_backend_ignores_the_roles_models() -> None:
    settings = Settings(backend="fake", completion_model="/no/a.gguf", chat_model="/no/b.gguf")
    assert roles_share_backend(settings)
    completion = make_backend(settings, "completion")
    assert make_chat_backend(settings, completion) is completion


def test_a_second_model_that_does_not_fit_is_refused(fim_model: Path, chat_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "mem_available_bytes", lambda: 1024)
    settings = Settings(completion_model=str(fim_model), chat_model=str(chat_model), n_ctx=256)
    loads: list[str] = []
    with pytest.raises(BackendError) as caught:
        make_chat_backend(settings, FakeBackend(), lambda s: loads.append(s.model) or FakeBackend())
    message = str(caught.value)
    assert message.startswith(f"the chat model {chat_model} (≈0.0 GB) and the completion model {fim_model} would not fit in the 0.0 GB")
    assert "set chat_model = completion_model (one model for both) or choose a smaller one" in message
    assert loads == []


def test_without_meminfo_the_check_is_skipped(fim_model: Path, chat_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "mem_available_bytes", lambda: None)
    settings = Settings(completion_model=str(fim_model), chat_model=str(chat_model))
    built = make_chat_backend(settings, FakeBackend(), lambda s: FakeBackend(record=s.model))
    assert built.record == chat_model


def test_the_estimate_adds_the_kv_cache_from_the_header(chat_model: Path, tmp_path: Path) -> None:
    size = chat_model.stat().st_size
    small, large = memory.model_ram_bytes(chat_model, 256), memory.model_ram_bytes(chat_model, 512)
    assert size < small < large and large - small == small - size  # linear in n_ctx
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf" * 100)
    assert memory.model_ram_bytes(junk, 4096) == int(1000 * memory.FALLBACK_FACTOR)


def test_mem_available_reads_proc_meminfo() -> None:
    available = memory.mem_available_bytes()
    if Path("/proc/meminfo").is_file():
        assert available is not None and available > 0
    else:
        assert available is None


# The session


def _recording_session(settings: Settings) -> tuple[Session, list[str]]:
    loads: list[str] = []

    def factory(s: Settings) -> FakeBackend:
        loads.append(s.model)
        return FakeBackend()

    return Session(settings, factory), loads


async def test_the_session_loads_the_chat_model_on_first_chat_use(fim_model: Path, chat_model: Path) -> None:
    session, loads = _recording_session(Settings(completion_model=str(fim_model), chat_model=str(chat_model)))
    try:
        completion = await session.backend()
        assert loads == [str(fim_model)]
        chat = await session.chat_backend()
        assert chat is not None and chat is not completion and loads == [str(fim_model), str(chat_model)]
        assert await session.backend_for("chat") is chat and await session.backend_for("completion") is completion
        assert session.chat_model.state == "ready" and loads == [str(fim_model), str(chat_model)]
    finally:
        await session.close()


async def test_the_session_shares_one_backend_for_one_model(fim_model: Path) -> None:
    session, loads = _recording_session(Settings(model=str(fim_model)))
    try:
        assert await session.chat_backend() is await session.backend() and loads == [str(fim_model)]
    finally:
        await session.close()


async def test_the_session_reports_why_the_chat_model_is_unavailable(
    fim_model: Path, chat_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "mem_available_bytes", lambda: 1024)
    session, loads = _recording_session(Settings(completion_model=str(fim_model), chat_model=str(chat_model)))
    try:
        assert await session.chat_backend() is None and await session.backend() is not None
        assert session.chat_model.state == "error" and "would not fit" in session.chat_model.message
        from lfcode.lsp.jobs import require_backend

        with pytest.raises(UserError, match="the model is not available: the chat model .* would not fit"):
            await require_backend(SimpleNamespace(session=session), "chat")  # type: ignore[arg-type]
        assert await require_backend(SimpleNamespace(session=session)) is await session.backend()  # type: ignore[arg-type]
    finally:
        await session.close()


# Who asks for which role


async def test_the_explain_command_asks_for_the_chat_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lfcode.lsp import explain

    asked: list[str] = []

    async def require(ls: object, role: str = "completion") -> None:
        asked.append(role)
        raise UserError("stop here")

    symbol = SimpleNamespace(qualname="area")
    monkeypatch.setattr(explain, "locate", lambda ls, uri, position: (tmp_path / "a.py", "", symbol))
    monkeypatch.setattr(explain, "require_backend", require)
    ls = SimpleNamespace(client_capabilities=types.ClientCapabilities())
    with pytest.raises(UserError, match="stop here"):
        await explain.run_explain(ls, ({"uri": (tmp_path / "a.py").as_uri(), "position": {"line": 0, "character": 0}},))  # type: ignore[arg-type]
    assert asked == ["chat"]


def test_cli_explain_works_with_the_fake_backend_and_roles(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "m.py").write_text("def double(x):\n    return 2 * x\n")
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"responses": ["`double` returns twice `x`."]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "LFCODE_CHAT_MODEL": str(tmp_path / "missing.gguf")}
    result = CliRunner().invoke(cli, ["explain", f"{tmp_path / 'm.py'}:2", "--format", "json", "--no-examples"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["qualname"] == "double"


def test_cli_roles_pick_the_role_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fim_model: Path) -> None:
    from lfcode import cli as cli_module

    monkeypatch.setenv("LFCODE_CHAT_MODEL", "/chat.gguf")
    monkeypatch.setenv("LFCODE_COMPLETION_MODEL", str(fim_model))
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr("lfcode.backends.make_backend", lambda settings, role="completion": seen.append((role, settings.model_for(role))) or FakeBackend())
    cli_module._model_for(tmp_path / "x.py", None, "chat")
    cli_module._model_for(tmp_path / "x.py", "/override.gguf", "completion")
    assert seen == [("chat", "/chat.gguf"), ("completion", "/override.gguf")]


# Doctor


def test_doctor_lists_each_role_model_when_they_differ(fim_model: Path, chat_model: Path, tmp_path: Path) -> None:
    checks = {c.name: c for c in doctor._model_checks(Settings(completion_model=str(fim_model), chat_model=str(chat_model)), {})}
    assert checks["model"].status == "ok"
    assert checks["model"].detail == (f"completion: {fim_model} → {fim_model}; explain, tests, review: {chat_model} → {chat_model}, "
                                      "in process (llama-cpp)")
    assert "FIM codellama" in checks["model file"].detail and "chat template yes" in checks["chat model file"].detail
    missing = {c.name: c for c in doctor._model_checks(Settings(model=str(fim_model), chat_model=str(tmp_path / "no.gguf")), {})}
    assert missing["model"].status == "fail" and "explain, tests, review" in missing["model"].detail
    assert "chat model file" not in missing
    shared = doctor._model_checks(Settings(model=str(fim_model)), {})
    assert shared[0].detail.startswith(f"{doctor.ROLES}: {fim_model}")


def test_rss_of_two_tiny_models(fim_model: Path, chat_model: Path) -> None:
    """Not a benchmark: both models load side by side and each adds resident memory."""

    def rss_kib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    settings = Settings(completion_model=str(fim_model), chat_model=str(chat_model), n_ctx=256, n_threads=1)
    before = rss_kib()
    completion = make_backend(settings)
    one = rss_kib()
    chat = make_chat_backend(settings, completion)
    two = rss_kib()
    chat.close()
    completion.close()
    print(f"RSS KiB: before {before}, one model {one}, two models {two}")
    assert before <= one <= two


async def test_a_shared_model_that_failed_says_why_for_chat_too() -> None:
    def factory(settings: Settings) -> FakeBackend:
        raise BackendError("model file not found: /m.gguf")

    session = Session(Settings(model="/m.gguf"), factory)
    try:
        assert await session.chat_backend() is None
        assert session.chat_model.message == session.model.message == "model file not found: /m.gguf"
    finally:
        await session.close()


async def test_reloading_closes_the_chat_backend(fim_model: Path, chat_model: Path) -> None:
    closed: list[str] = []

    class Closing(FakeBackend):
        def close(self) -> None:
            closed.append(str(self.record))

    session = Session(Settings(completion_model=str(fim_model), chat_model=str(chat_model)), lambda s: Closing(record=s.model))
    try:
        await session.chat_backend()
        assert await session.reload(Settings(completion_model=str(fim_model), chat_model=str(fim_model)))
        assert sorted(closed) == sorted([str(chat_model), str(fim_model)])
        assert await session.chat_backend() is await session.backend()
    finally:
        await session.close()
