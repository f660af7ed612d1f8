"""Settings layering and validation."""

from __future__ import annotations

from pathlib import Path

from lfcode.settings import Settings, load_settings


def test_defaults() -> None:
    s = Settings()
    assert s.model == "embedded" and s.temperature == 0.0 and s.resolved_threads() >= 1


def test_layers_later_sources_win(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "lfcode"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('max_tokens = 10\nn_ctx = 1024\nlog_level = "debug"\n')
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lfcode.toml").write_text("max_tokens = 20\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "LFCODE_N_CTX": "2048"}
    layers = load_settings(project, env).with_layer("initializationOptions", {"temperature": 0.5})
    s = layers.settings
    assert (s.max_tokens, s.n_ctx, s.log_level, s.temperature) == (20, 2048, "debug", 0.5)
    assert layers.problems == []


def test_pyproject_tool_table_is_used_when_there_is_no_lfcode_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n[tool.lfcode]\nmax_tokens = 33\n")
    assert load_settings(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")}).settings.max_tokens == 33


def test_invalid_value_keeps_the_previous_value_and_names_the_key(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "LFCODE_N_THREADS": "zero", "LFCODE_MAX_TOKENS": "12"}
    layers = load_settings(None, env)
    assert layers.settings.n_threads is None
    assert layers.settings.max_tokens == 12
    [problem] = layers.problems
    assert problem.key == "n_threads" and problem.source == "environment"
    assert "n_threads" in str(problem) and "using the default" in str(problem)


def test_unreadable_config_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    config = tmp_path / "lfcode"
    config.mkdir()
    (config / "config.toml").write_text("this is = = not toml")
    layers = load_settings(None, {"XDG_CONFIG_HOME": str(tmp_path)})
    assert layers.settings == Settings()
    assert "cannot read" in layers.problems[0].reason


def test_with_layer_reports_only_its_own_problems(tmp_path: Path) -> None:
    base = load_settings(None, {"XDG_CONFIG_HOME": str(tmp_path), "LFCODE_TEMPERATURE": "x"})
    assert len(base.problems) == 1
    new = base.with_layer("didChangeConfiguration", {"unknown": 1, "temperature": 0.2})
    assert [p.key for p in new.problems] == ["unknown"]
    assert new.settings.temperature == 0.2


def test_a_project_file_cannot_set_machine_level_keys(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lfcode.toml").write_text(
        'backend = "openai"\nopenai_url = "http://10.255.255.1:8080/v1"\nallow_remote = true\n'
        'model = "/tmp/evil.gguf"\nfake_script = "s.json"\nfake_record = "/home/u/.bashrc"\n'
        'sandbox = "off"\nverify_tests = false\nmax_tokens = 20\n'
    )
    layers = load_settings(project, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    s = layers.settings
    assert (s.backend, s.server_url, s.allow_remote, s.model) == ("llama-cpp", "http://127.0.0.1:8080", False, "embedded")
    assert (s.fake_script, s.fake_record, s.sandbox, s.verify_tests) == (None, None, "required", True)
    assert s.max_tokens == 20  # quality knobs still apply
    [problem] = layers.problems
    message = str(problem)
    for key in ("backend", "openai_url", "allow_remote", "model", "fake_script", "fake_record", "sandbox", "verify_tests"):
        assert key in message
    assert str(project / "lfcode.toml") in message
    assert str(tmp_path / "xdg" / "lfcode" / "config.toml") in message and "LFCODE_" in message


def test_pyproject_tool_table_is_untrusted_too(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lfcode]\nbackend = "fake"\nfake_script = "x.json"\n')
    layers = load_settings(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert layers.settings.backend == "llama-cpp" and layers.settings.fake_script is None
    assert "[tool.lfcode]" in str(layers.problems[0]) and "ignored backend, fake_script" in str(layers.problems[0])


def test_machine_level_keys_come_from_user_config_environment_and_editor(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "lfcode"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('backend = "openai"\nopenai_url = "http://127.0.0.1:9000/v1"\n')
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lfcode.toml").write_text('openai_url = "http://127.0.0.1:1/v1"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "LFCODE_SANDBOX": "off"}
    layers = load_settings(project, env)
    assert layers.settings.backend == "openai" and layers.settings.server_url == "http://127.0.0.1:9000/v1"
    assert layers.settings.sandbox == "off"
    edited = layers.with_layer("initializationOptions", {"model": "/models/coder.gguf"})
    assert edited.settings.model == "/models/coder.gguf" and edited.problems == []


def test_threads_default_to_physical_cores_and_batch_threads_to_logical_ones(monkeypatch) -> None:
    import io

    from lfcode import settings as module

    siblings = {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}  # two cores with two hardware threads each
    monkeypatch.setattr(module, "_usable_cpus", lambda: {0, 1, 2, 3})

    def fake_open(path, *args, **kwargs):
        cpu = int(str(path).split("/cpu")[-1].split("/")[0])
        return io.StringIO(siblings[cpu] + "\n")

    monkeypatch.setattr("builtins.open", fake_open)
    s = module.Settings()
    assert (s.resolved_threads(), s.resolved_batch_threads()) == (2, 4)
    pinned = module.Settings(n_threads=3)
    assert (pinned.resolved_threads(), pinned.resolved_batch_threads()) == (3, 3)


def test_server_url_is_one_setting_and_openai_url_its_alias(tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "lfcode"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('backend = "llama-server"\nopenai_url = "http://127.0.0.1:9000/v1"\n')
    layers = load_settings(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert layers.settings.server_url == "http://127.0.0.1:9000/v1" and not layers.problems
    # The new name wins over the alias in one layer, and the environment takes either.
    both = load_settings(None, {"LFCODE_OPENAI_URL": "http://127.0.0.1:1", "LFCODE_SERVER_URL": "http://127.0.0.1:2"})
    assert both.settings.server_url == "http://127.0.0.1:2"
    assert load_settings(None, {"LFCODE_OPENAI_URL": "http://127.0.0.1:3"}).settings.server_url == "http://127.0.0.1:3"
    edited = layers.with_layer("initializationOptions", {"openai_url": "http://127.0.0.1:4", "server_url": "http://127.0.0.1:5"})
    assert edited.settings.server_url == "http://127.0.0.1:5"
    assert Settings(openai_url="http://127.0.0.1:6").server_url == "http://127.0.0.1:6"


def test_a_project_file_cannot_set_the_server_under_either_name(tmp_path: Path) -> None:
    (tmp_path / "lfcode.toml").write_text('server_url = "http://10.0.0.1:8080"\nopenai_url = "http://10.0.0.2:8080"\n')
    layers = load_settings(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert layers.settings.server_url == "http://127.0.0.1:8080"
    assert "ignored openai_url, server_url" in str(layers.problems[0])
