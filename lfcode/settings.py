"""lfcode's settings: one pydantic model, merged from layered sources.

Sources, later ones winning (see :func:`load_settings`):

1. the defaults below;
2. the user's config, ``$XDG_CONFIG_HOME/lfcode/config.toml`` (``~/.config`` when unset);
3. the project's ``lfcode.toml``, or ``[tool.lfcode]`` in its ``pyproject.toml``;
4. ``LFCODE_*`` environment variables (``LFCODE_N_CTX=8192``);
5. LSP ``initializationOptions``;
6. ``workspace/didChangeConfiguration``.

An invalid value never stops lfcode: that key keeps its default and a :class:`SettingsProblem`
names the key, the source and the reason, so the server can show it with ``window/showMessage``.

Trust levels: the project's files (layer 3) come with a repository someone else wrote, so they
may tune quality knobs but never set a :data:`MACHINE_KEYS` key, one that decides where code goes
or what runs (the backend, the model, a server URL, the sandbox, the fake backend's files, the
audit log).
Those are honoured only from the user's config, the environment and the editor's settings; a
project file that sets one is ignored with one problem naming the keys, the file and where to
set them instead. This follows VS Code's workspace-trust convention (``"scope": "machine"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ENV_PREFIX = "LFCODE_"

#: Keys a repository's own files may not set: they choose where code is sent, what is loaded,
#: executed or written. Honoured from the user's config, ``LFCODE_*`` and the editor only.
MACHINE_KEYS = frozenset(
    {
        "backend", "model", "server_url", "openai_url", "allow_remote", "verify_tests", "sandbox", "fake_script", "fake_record",
        "review_analyzers", "audit_log", "completion_model", "chat_model",
    }
)


#: Old key names still read, and the key each now sets.
ALIASES = {"openai_url": "server_url"}


class Settings(BaseModel):
    """Every knob lfcode has. Units are in the field names or descriptions."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    model: str = Field(
        "embedded",
        description='"embedded", the path of a GGUF file, or a model already on this machine: "ollama:NAME[:TAG]", '
        '"lmstudio:PUBLISHER/MODEL[/FILE.gguf]", "hf:ORG/NAME[/FILE.gguf]" (`lfcode models` lists them)',
    )
    completion_model: str | None = Field(
        None, description="the model for inline completion (a FIM or base model), as `model`; None = `model`"
    )
    chat_model: str | None = Field(
        None, description="the model for explain, tests and review (an instruct model, with its chat template), as `model`; None = `model`"
    )
    backend: Literal["llama-cpp", "llama-server", "openai", "fake"] = "llama-cpp"
    n_ctx: int = Field(4096, ge=256, le=131072, description="context window, tokens")
    n_threads: int | None = Field(None, ge=1, le=512, description="CPU threads; None = all cores")
    max_tokens: int = Field(128, ge=1, le=4096, description="longest completion, tokens")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    context_tokens: int = Field(1024, ge=64, le=131072, description="prompt budget, tokens")
    debounce_ms: int | None = Field(
        None, ge=0, le=5000,
        description="fixed wait before automatic requests, ms; None adapts it to the typing rhythm and the model's speed",
    )
    max_latency_ms: int = Field(
        1000, ge=50, le=60000, description="decoding time budget of a completion request, from its first token, ms"
    )
    first_latency_ms: int = Field(
        500, ge=50, le=60000, description="decoding time budget of the first completion request on a document, ms"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    fim_template: str | None = Field(None, description="override the detected FIM family")
    server_url: str = Field(
        "http://127.0.0.1:8080",
        validation_alias=AliasChoices("server_url", "openai_url"),
        description="the server of the llama-server and openai backends (openai_url is read as this key); "
        "the openai backend adds /v1 when the URL does not end with it, llama-server drops it",
    )
    allow_remote: bool = Field(False, description="let the HTTP backends reach a non-loopback host")
    verify_tests: bool = Field(True, description="run generated pytest tests, keep passing ones")
    observed_tests: bool = Field(
        True, description="with verify_tests: Python functions tested with pytest get tests from observed behaviour, not the model"
    )
    sandbox: Literal["required", "off"] = Field(
        "required", description='"off" runs generated tests without OS isolation (not recommended)'
    )
    review_analyzers: list[str] | None = Field(
        None, description="the analyzers `lfcode review` runs (ids: secrets, ruff, behaviour, coroutines, rules, model); None = all"
    )
    review_model_calls: bool = Field(
        False, description="the review's behaviour diff also asks the model for calls reaching changed lines nothing else ran"
    )
    fake_script: str | None = Field(None, description="JSON script for the fake backend (tests)")
    fake_record: str | None = Field(None, description="JSON-lines file the fake backend appends to (tests)")
    audit_log: bool | Literal["full"] = Field(
        False,
        description='append one hash-chained record per model call to $XDG_DATA_HOME/lfcode/audit.jsonl (lfcode.audit); '
        '"full" also stores the prompt and answer texts',
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("audit_log", mode="before")
    @classmethod
    def _audit_words(cls, value: Any) -> Any:
        """``"FULL"``, ``" true "`` (environment variables, TOML strings) read case-blind."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("review_analyzers", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """``"secrets,ruff"`` (an environment variable) as ``["secrets", "ruff"]``."""
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    def model_for(self, role: Literal["completion", "chat"]) -> str:
        """The model reference serving ``role``: ``completion_model`` or ``chat_model`` when set,
        else ``model`` (a reference as ``model`` takes, not yet resolved to a file)."""
        chosen = self.completion_model if role == "completion" else self.chat_model
        return chosen if chosen is not None else self.model

    def for_role(self, role: Literal["completion", "chat"]) -> Settings:
        """A copy whose ``model`` is :meth:`model_for` ``role`` and whose role keys are unset, for
        a backend factory that reads ``model`` (:func:`lfcode.backends.make_backend`)."""
        return self.model_copy(update={"model": self.model_for(role), "completion_model": None, "chat_model": None})

    def resolved_threads(self) -> int:
        """``n_threads``, or the number of physical CPU cores this process may use when it is
        unset (decoding is memory-bound: a second hardware thread of a core only competes)."""
        if self.n_threads:
            return self.n_threads
        return physical_cores()

    def resolved_batch_threads(self) -> int:
        """Threads for prompt evaluation (compute-bound): ``n_threads`` when set, else every
        logical CPU this process may use."""
        if self.n_threads:
            return self.n_threads
        return len(_usable_cpus())


class SettingsProblem(BaseModel):
    """One rejected value: which ``key``, from which ``source``, and ``reason`` in plain words.

    ``kind`` is ``"invalid"`` (a bad value: the key keeps its default) or ``"untrusted"`` (a
    machine-level key set by a project file: ignored; ``reason`` says where to set it instead).
    """

    key: str
    source: str
    reason: str
    kind: Literal["invalid", "untrusted"] = "invalid"

    def __str__(self) -> str:
        if self.kind == "untrusted":
            return f"lfcode: ignored {self.key} from {self.source}: {self.reason}"
        return f"lfcode: setting '{self.key}' from {self.source} is invalid ({self.reason}); using the default"


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/lfcode/config.toml`` (``~/.config/lfcode/config.toml`` when unset)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lfcode" / "config.toml"


def _read_toml(path: Path, table: tuple[str, ...] = ()) -> dict[str, Any]:
    with path.open("rb") as handle:
        data: Any = tomllib.load(handle)
    for key in table:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return dict(data) if isinstance(data, dict) else {}


def project_config(root: Path | None) -> tuple[str, dict[str, Any]] | None:
    """The project layer: ``lfcode.toml`` first, else ``[tool.lfcode]`` of ``pyproject.toml``.

    Returns ``(source name, values)`` or ``None`` when the project has neither.
    Raises ``OSError``/``tomllib.TOMLDecodeError`` for an unreadable file.
    """
    if root is None:
        return None
    if (root / "lfcode.toml").is_file():
        return str(root / "lfcode.toml"), _read_toml(root / "lfcode.toml")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        values = _read_toml(pyproject, ("tool", "lfcode"))
        if values:
            return f"{pyproject} [tool.lfcode]", values
    return None


def env_config(env: Mapping[str, str]) -> dict[str, Any]:
    """``LFCODE_<KEY>`` variables for the known keys; values stay strings for pydantic to coerce."""
    values: dict[str, Any] = {}
    for key in (*ALIASES, *Settings.model_fields):  # an alias first: the new name wins
        raw = env.get(ENV_PREFIX + key.upper())
        if raw is not None:
            key = ALIASES.get(key, key)
            values[key] = None if raw.lower() in ("", "none", "null") and key in _NULLABLE else raw
    return values


_NULLABLE = {"completion_model", "chat_model", "n_threads", "debounce_ms", "fim_template", "fake_script", "fake_record", "review_analyzers"}


class SettingsLayers:
    """Settings built from ordered layers; each layer is ``(source name, raw values)``.

    ``problems`` lists every rejected key. :meth:`with_layer` returns new settings with one more
    layer on top (for ``initializationOptions`` and ``didChangeConfiguration``).
    """

    def __init__(
        self,
        layers: list[tuple[str, Mapping[str, Any]]] | None = None,
        untrusted: Mapping[str, str] | None = None,
    ) -> None:
        """``untrusted`` maps the source names of project layers to the advice shown when one
        sets a :data:`MACHINE_KEYS` key (where to set it instead); other layers are trusted."""
        self.layers: list[tuple[str, dict[str, Any]]] = []
        self.problems: list[SettingsProblem] = []
        self.values: dict[str, Any] = {}
        for source, raw in layers or []:
            self._apply(source, raw, (untrusted or {}).get(source))
        self.settings = Settings(**self.values)

    def _apply(self, source: str, raw: Mapping[str, Any], untrusted: str | None = None) -> None:
        if not isinstance(raw, Mapping):
            self.problems.append(SettingsProblem(key="*", source=source, reason="not a table of settings"))
            return
        self.layers.append((source, dict(raw)))
        if untrusted is not None:
            refused = sorted(str(key) for key in raw if key in MACHINE_KEYS)
            if refused:
                self.problems.append(SettingsProblem(key=", ".join(refused), source=source, reason=untrusted, kind="untrusted"))
            raw = {key: value for key, value in raw.items() if key not in MACHINE_KEYS}
        raw = {ALIASES.get(str(key), key): value for key, value in sorted(raw.items(), key=lambda kv: kv[0] not in ALIASES)}
        for key, value in raw.items():
            if key not in Settings.model_fields:
                self.problems.append(SettingsProblem(key=str(key), source=source, reason="unknown key"))
                continue
            try:
                checked = Settings.model_validate({**self.values, key: value})
            except ValidationError as exc:
                reason = "; ".join(err["msg"] for err in exc.errors() if err["loc"][:1] == (key,))
                self.problems.append(SettingsProblem(key=key, source=source, reason=reason or str(exc)))
                continue
            self.values[key] = getattr(checked, key)

    def with_layer(self, source: str, raw: Mapping[str, Any] | None) -> SettingsLayers:
        """A copy with ``raw`` applied on top; the new object's ``problems`` hold only its own."""
        new = SettingsLayers()
        new.layers = list(self.layers)
        new.values = dict(self.values)
        if raw:
            new._apply(source, raw)
        new.settings = Settings(**new.values)
        return new


def untrusted_advice(user_config: Path) -> str:
    """Why a project file may not set a machine-level key, and where to set it instead."""
    return (
        "a repository's own files may not choose the model, the backend, a server, what lfcode runs or what it records; "
        f"set these in {user_config}, as LFCODE_<KEY> environment variables, or in your editor's user settings"
    )


def load_settings(
    project_root: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SettingsLayers:
    """Merge defaults, user config, project config and environment (and ``overrides``, the CLI's).

    Never raises for bad input: an unreadable file or a bad value becomes a ``SettingsProblem``.
    """
    env = os.environ if env is None else env
    layers: list[tuple[str, Mapping[str, Any]]] = []
    problems: list[SettingsProblem] = []
    user = user_config_path(env)
    try:
        if user.is_file():
            layers.append((str(user), _read_toml(user)))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(SettingsProblem(key="*", source=str(user), reason=f"cannot read: {exc}"))
    untrusted: dict[str, str] = {}
    try:
        project = project_config(project_root)
        if project:
            layers.append(project)
            untrusted[project[0]] = untrusted_advice(user)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(SettingsProblem(key="*", source=str(project_root), reason=f"cannot read: {exc}"))
    layers.append(("environment", env_config(env)))
    if overrides:
        layers.append(("command line", overrides))
    result = SettingsLayers(layers, untrusted)
    result.problems[:0] = problems
    return result


def _usable_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0)) or {0}
    except AttributeError:  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def physical_cores() -> int:
    """Physical cores among the CPUs this process may use: logical CPUs that are hyper-thread
    siblings (Linux ``/sys/devices/system/cpu/cpuN/topology/thread_siblings_list``) count once.
    Falls back to the logical count when the topology is not readable."""
    usable = _usable_cpus()
    cores: set[str] = set()
    for cpu in usable:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list", encoding="ascii") as handle:
                cores.add(handle.read().strip())
        except OSError:
            return len(usable)
    return max(1, len(cores))
