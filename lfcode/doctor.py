"""``lfcode doctor``: what this machine's lfcode would do, and what stands in its way.

:func:`run_checks` returns one :class:`Check` per finding: the settings' problems, which model
serves each role and where code goes (in process, a loopback server, or a remote host), the model
file (its sha256 against the pin for the embedded model, its header otherwise), the OS sandbox,
the tree-sitter grammar wheels, the audit log's chain, the editors on ``PATH`` and ``lfcode``
itself on ``PATH``. Nothing is started: no model is loaded, no editor run, no network used. The
only child process is the sandbox's own one-off probe (:func:`lfcode.execution.sandbox.sandbox_status`);
the model file is hashed (about a second for the 253 MB embedded model) and its header read.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from lfcode.errors import LfcodeError
from lfcode.settings import Settings, SettingsLayers, load_settings
from lfcode.terminal import clean, json_safe

__all__ = ["Check", "ROLES", "exit_code", "render_json", "render_table", "run_checks"]

Status = Literal["ok", "info", "warn", "fail"]

#: The features one model serves when both roles use it.
ROLES = "completion, explain, tests, review"
#: The features each role serves (``completion_model``, ``chat_model``).
ROLE_FEATURES = {"completion": "completion", "chat": "explain, tests, review"}


@dataclass(frozen=True)
class Check:
    """One finding: ``name`` (``"model"``, ``"sandbox"``, ...), ``status`` (``"ok"``; ``"info"``,
    a fact with nothing to fix; ``"warn"``, lfcode works with less; ``"fail"``, a feature cannot
    work) and ``detail`` in plain words (may span lines)."""

    name: str
    status: Status
    detail: str


def run_checks(root: Path, settings: Settings | SettingsLayers | None = None, env: Mapping[str, str] | None = None) -> list[Check]:
    """Run every check for the project at ``root``.

    Args:
        root: the project folder whose settings apply.
        settings: the settings to check; ``None`` loads them (:func:`lfcode.settings.load_settings`
            with ``env``); given layers, their ``problems`` are reported too.
        env: the environment for settings and the audit log's path (``os.environ`` when ``None``).

    Returns:
        The checks, in a fixed order. Never raises for what it finds: a failure is a ``"fail"`` check.
    """
    layers = load_settings(root, env) if settings is None else settings
    checks: list[Check] = []
    if isinstance(layers, SettingsLayers):
        checks.append(_settings_check(layers))
        settings = layers.settings
    checks += _model_checks(settings, env)
    checks.append(_sandbox_check(settings))
    checks += _grammar_checks()
    checks.append(_audit_check(settings, env))
    checks += _editor_checks()
    found = shutil.which("lfcode")
    checks.append(Check("lfcode on PATH", "ok", found) if found else
                  Check("lfcode on PATH", "warn", "not found: editors start `lfcode serve`; put the venv's bin folder on PATH "
                        "or set the editor's server command to its full path"))
    return checks


def _settings_check(layers: SettingsLayers) -> Check:
    if not layers.problems:
        return Check("settings", "ok", "no problems")
    return Check("settings", "warn", "\n".join(str(p).removeprefix("lfcode: ") for p in layers.problems))


def where_detail(settings: Settings) -> str:
    """Where code goes, spelled out: ``"in process (llama-cpp)"``, ``"loopback server URL"`` or
    ``"REMOTE host HOST (allow_remote)"``."""
    from lfcode.backends import HTTP_BACKENDS, remote_host

    if settings.backend not in HTTP_BACKENDS:
        return f"in process ({settings.backend})"
    host = remote_host(settings)
    return f"REMOTE host {host} (allow_remote)" if host else f"loopback server {settings.server_url}"


def _model_checks(settings: Settings, env: Mapping[str, str] | None) -> list[Check]:
    from lfcode.backends import HTTP_BACKENDS, BackendError, remote_host

    where = where_detail(settings)
    if settings.backend == "fake":
        return [Check("model", "warn", f"{ROLES}: the fake backend (tests only) → {where}")]
    if settings.backend in HTTP_BACKENDS:
        host = remote_host(settings)
        text = f"{ROLES}: the model the {settings.backend} server at {settings.server_url} serves → {where}"
        if host and not settings.allow_remote:
            return [Check("model", "fail", f"{text}; refused: allow_remote is off")]
        return [Check("model", "warn" if host else "ok", text + (f"; code is sent to {host}" if host else ""))]
    from lfcode.models.references import resolve_model

    found: dict[str, Path | BackendError] = {}
    for role in ROLE_FEATURES:
        try:
            found[role] = resolve_model(settings.model_for(role), env)  # type: ignore[arg-type]
        except BackendError as exc:
            found[role] = exc
    completion, chat = found["completion"], found["chat"]
    if settings.model_for("completion") == settings.model_for("chat") or (
        isinstance(completion, Path) and isinstance(chat, Path) and completion.resolve() == chat.resolve()
    ):
        reference = settings.model_for("completion")
        if isinstance(completion, BackendError):
            return [Check("model", "fail", f"{ROLES}: {reference} → {completion}")]
        return [Check("model", "ok", f"{ROLES}: {reference} → {completion}, {where}"), _file_check(reference, completion)]
    parts = [f"{ROLE_FEATURES[role]}: {settings.model_for(role)} → {found[role]}" for role in ROLE_FEATURES]  # type: ignore[arg-type]
    failed = any(isinstance(value, BackendError) for value in found.values())
    checks = [Check("model", "fail" if failed else "ok", "; ".join(parts) + ("" if failed else f", {where}"))]
    for role, name in (("completion", "model file"), ("chat", "chat model file")):
        value = found[role]
        if isinstance(value, Path):
            checks.append(_file_check(settings.model_for(role), value, name))  # type: ignore[arg-type]
    return checks


def _file_check(reference: str, path: Path, name: str = "model file") -> Check:
    """The check ``name`` of the model file ``path`` (from the setting's ``reference``): the
    embedded model's sha256 against the pin; another file's header facts (not pinned)."""
    from lfcode.backends import embedded

    try:
        if reference.strip() == "embedded":
            digest = embedded.sha256_file(path)
            if digest == embedded.SHA256:
                return Check(name, "ok", f"sha256 matches the pin ({digest[:16]}…)")
            return Check(name, "fail", f"{path} has sha256 {digest}, pinned {embedded.SHA256}: corrupt or tampered "
                         f"with; delete it and lfcode assembles it again from {embedded.PACKAGE}")
        from lfcode.models.facts import describe

        facts = describe(path)
    except (OSError, LfcodeError) as exc:
        return Check(name, "fail", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
    return Check(name, "ok" if facts.roles else "warn",
                 f"{facts.architecture or 'unknown architecture'}, FIM {facts.fim or 'none'}, "
                 f"chat template {'yes' if facts.chat_template else 'no'}, roles {', '.join(facts.roles) or 'none'}; not pinned")


def _sandbox_check(settings: Settings) -> Check:
    from lfcode.execution.sandbox import INSTALL_HINT, sandbox_status

    works, reason = sandbox_status()
    if works:
        return Check("sandbox", "ok", reason)
    off = settings.sandbox == "off"
    return Check("sandbox", "warn" if off else "fail",
                 f"{reason}; " + ("sandbox = \"off\": generated code runs without isolation" if off else f"to enable it, {INSTALL_HINT}"))


def _grammar_checks() -> list[Check]:
    from lfcode.context.languages import PROFILES, get_language

    loaded: list[str] = []
    checks: list[Check] = []
    for name, profile in PROFILES.items():
        try:
            spec = get_language(name)
        except Exception as exc:  # noqa: BLE001 - a broken wheel raises anything from its C code
            checks.append(Check(f"grammar {name}", "warn", f"{profile.module} does not load ({exc}); reinstall "
                                f"{profile.module.replace('_', '-')}"))
            continue
        if spec is None:
            checks.append(Check(f"grammar {name}", "warn", f"{profile.module} is not installed: pip install "
                                f"{profile.module.replace('_', '-')} ({name} files get plain-text context)"))
        elif spec.tags is None:
            checks.append(Check(f"grammar {name}", "warn", f"{profile.module} loads but its tags query does not "
                                f"(no {name} definitions from other files)"))
        else:
            loaded.append(name)
    if loaded:
        checks.insert(0, Check("grammars", "ok", f"{len(loaded)} load with their tags queries: {', '.join(loaded)}"))
    return checks


def _audit_check(settings: Settings, env: Mapping[str, str] | None) -> Check:
    from lfcode.audit.log import audit_path, verify_log

    if not settings.audit_log:
        return Check("audit log", "ok", "off")
    mode = "full" if settings.audit_log == "full" else "on"
    path = audit_path(env)
    try:
        result = verify_log(path)
    except FileNotFoundError:
        return Check("audit log", "ok", f"{mode}: {path} (nothing recorded yet)")
    except OSError as exc:
        return Check("audit log", "warn", f"{mode}: cannot read {path}: {exc.strerror or exc}")
    if result.problem:
        return Check("audit log", "warn", f"{mode}: {path} is not intact: {result.problem}")
    return Check("audit log", "ok", f"{mode}: {path}, {result.records} records, chain intact")


def _editor_checks() -> list[Check]:
    checks: list[Check] = []
    for command, folder in (("code", ".vscode"), ("code-server", ".vscode-server")):
        found = shutil.which(command)
        extensions = Path.home() / folder / "extensions"
        installed = sorted(extensions.glob("*lfcode*")) if extensions.is_dir() else []
        if installed:
            checks.append(Check(f"editor {command}", "ok", f"{found or 'not on PATH'}; lfcode extension: {installed[-1]}"))
        elif found:
            checks.append(Check(f"editor {command}", "warn", f"{found}; no lfcode extension in {extensions} (see README)"))
        else:
            checks.append(Check(f"editor {command}", "info", "not found"))
    nvim = shutil.which("nvim")
    plugin = Path(__file__).resolve().parent.parent / "editors" / "nvim"
    where = f"the plugin is at {plugin}" if (plugin / "lua" / "lfcode").is_dir() else "for the plugin see README (editors/nvim)"
    checks.append(Check("editor nvim", "ok" if nvim else "info", f"{nvim or 'not found'}; {where}"))
    return checks


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed, else 0."""
    return 1 if any(c.status == "fail" for c in checks) else 0


def render_json(checks: list[Check]) -> str:
    """``{"checks": [{"name", "status", "detail"}, ...], "failed": N}`` as indented JSON text
    ending with a newline (strings through :func:`lfcode.terminal.json_safe`)."""
    data = {"checks": [asdict(c) for c in checks], "failed": sum(c.status == "fail" for c in checks)}
    return json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


_STYLE = {"ok": "green", "info": "dim", "warn": "yellow", "fail": "bold red"}


def render_table(checks: list[Check], *, color: bool = False, width: int = 120) -> str:
    """The checks as a rich table (check, status, detail), cells cleaned of escape sequences;
    ``color`` emits ANSI colours; returns the text ending with a newline."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(pad_edge=False)
    for header in ("check", "status", "detail"):
        table.add_column(header, overflow="fold")
    for c in checks:
        table.add_row(Text(clean(c.name), style="bold"), Text(c.status, style=_STYLE[c.status]), Text(clean(c.detail, newlines=True)))
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, emoji=False).print(table)
    return buffer.getvalue()
