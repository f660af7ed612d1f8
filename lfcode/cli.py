"""The ``lfcode`` command line: ``serve``, ``complete`` and friends.

Exit codes: 0 success, 1 findings or no result where the command says so, 2 usage, model or
input error (with a message on stderr).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lfcode import __version__
from lfcode.context.documents import MAX_PARSE_CHARS
from lfcode.context.files import project_root
from lfcode.errors import BackendError, LfcodeError
from lfcode.terminal import clean, fail, note

if TYPE_CHECKING:
    from lfcode.backends import Role

#: The ``--model`` option's help.
MODEL_HELP = 'GGUF path, "embedded", or ollama:NAME[:TAG], lmstudio:PUBLISHER/MODEL, hf:ORG/NAME/FILE (see `lfcode models`); overrides settings.'


def _setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("pygls").setLevel(os.environ.get("LFCODE_PYGLS_LOG", "WARNING"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="lfcode")
def cli() -> None:
    """lfcode: a local-first code assistant. Your code never leaves this machine."""


@cli.command()
@click.option("--tcp", is_flag=True, help="Listen on TCP instead of stdio (loopback only).")
@click.option("--host", default="127.0.0.1", show_default=True, help="TCP host; must be a loopback address.")
@click.option("--port", default=2087, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk LSP over stdin/stdout (the default; accepted because many clients, VS Code's among them, pass it).",
)
def serve(tcp: bool, host: str, port: int, stdio: bool) -> None:
    """Run the language server (stdio by default)."""
    if tcp and stdio:
        fail("--stdio and --tcp exclude each other")
    _setup_logging(os.environ.get("LFCODE_LOG_LEVEL", "info"))
    if tcp:
        from lfcode.backends.openai_http import is_loopback

        if not is_loopback(host):
            fail(f"--host {host} is not a loopback address; lfcode serves only this machine")
    channel = None
    if not tcp:
        # stdout is the LSP channel: keep a private handle on it, then point fd 1 at stderr so
        # that no print() or C library output (the model loading below) can corrupt the stream.
        channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
    from lfcode.backends.preload import Preload

    preload = Preload(os.environ)  # the model loads while the server's modules import
    from lfcode.lsp.app import create_server

    server = create_server(backend_factory=preload.factory)
    if channel is None:
        server.start_tcp(host, port)
        return
    server.start_io(sys.stdin.buffer, channel)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("line", type=click.IntRange(min=1))
@click.argument("col", type=click.IntRange(min=1))
@click.option("--model", help=MODEL_HELP)
@click.option("-n", "count", default=1, show_default=True, type=click.IntRange(1, 5), help="Suggestions to print.")
def complete(file: Path, line: int, col: int, model: str | None, count: int) -> None:
    """Print the suggestion at LINE:COL of FILE (both 1-based; COL counts characters).

    The prompt is the editor's for the same file and position: it includes definitions from the
    project's other files (the project is indexed first, for at most a few seconds).
    """
    from lfcode.backends import make_backend
    from lfcode.completion import service
    from lfcode.completion.engine import CompletionOptions

    text = read_source(file)
    lines = text.split("\n")
    if line > len(lines):
        fail(f"{file} has {len(lines)} lines; line {line} does not exist")
    if col > len(lines[line - 1]) + 1:
        fail(f"line {line} of {file} has {len(lines[line - 1])} characters; column {col} is past its end")
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
    settings = _settings_for(file, model)
    _warn_remote(settings)
    try:
        backend = make_backend(settings)  # the completion role (the default)
        options = CompletionOptions.from_settings(settings, count)
        result = service.complete_file(backend, file, text, offset, options)
    except LfcodeError as exc:
        fail(str(exc))
    if not result.items:
        fail("no suggestion at this position", 1)
    click.echo(clean("\n\n".join(result.items), newlines=True))


#: Largest file the CLI reads, bytes: the server's cap on parsed documents (counted there in
#: characters, so a file under this many bytes is under it too).
MAX_SOURCE_BYTES = MAX_PARSE_CHARS


def read_source(file: Path) -> str:
    """Read a text file for the CLI, exiting with a clear message (code 2) when it is missing, not
    a regular file (a FIFO or ``/dev/zero`` behind a symbolic link), over
    :data:`MAX_SOURCE_BYTES`, or binary."""
    import stat

    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            fail(f"{file} is not a regular file")
        if info.st_size > MAX_SOURCE_BYTES:
            fail(f"{file} is {info.st_size / 2**20:.1f} MiB; lfcode reads files up to {MAX_SOURCE_BYTES >> 20} MiB")
        with file.open("rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    if b"\x00" in data[:8192]:
        fail(f"{file} looks like a binary file")
    return data.decode("utf-8", errors="replace")


def _settings_for(file: Path, model: str | None):
    """The settings for a CLI command on ``file`` (problems printed on stderr, logging set up);
    ``--model`` (``model``) serves every role of the command, overriding ``completion_model`` and
    ``chat_model`` too."""
    from lfcode.settings import load_settings

    overrides = {"model": model, "completion_model": model, "chat_model": model} if model else None
    layers = load_settings(project_root(file), overrides=overrides)
    for problem in layers.problems:
        note(problem)
    _setup_logging(layers.settings.log_level if layers.settings.log_level != "info" else "warning")
    return layers.settings


def _model_for(file: Path, model: str | None, role: Role):
    """``(settings, backend)`` for a CLI command on ``file``, the backend loading ``role``'s model
    (``"chat"`` for explain, tests and review; ``"completion"`` for complete); exits with a
    message on failure."""
    from lfcode.backends import make_backend

    settings = _settings_for(file, model)
    _warn_remote(settings)
    try:
        return settings, make_backend(settings, role)
    except LfcodeError as exc:
        fail(str(exc))


def _proposal_backend(file: Path, model: str | None):
    """The model for call proposals of ``lfcode tests --run``, or ``None`` (said on stderr) when
    it cannot be loaded: the tests from observed behaviour do not need it."""
    from lfcode.backends import make_backend

    settings = _settings_for(file, model)
    _warn_remote(settings)
    try:
        return make_backend(settings, "chat")
    except LfcodeError as exc:
        note(f"lfcode: no model for call proposals ({exc}); using the calls lfcode derives from the code")
        return None


def _warn_remote(settings) -> None:
    """Say so on stderr when the user's settings send code off this machine."""
    from lfcode.backends import remote_host

    host = remote_host(settings)
    if host:
        note(f"lfcode: code is sent to {host} (allow_remote is on in your settings)")


@cli.command()
@click.argument("target", metavar="FILE[:LINE]")
@click.option("--model", help=MODEL_HELP)
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--no-examples", is_flag=True, help="Do not run calls in the sandbox for worked examples.")
def explain(target: str, model: str | None, fmt: str, no_examples: bool) -> None:
    """Explain the function, method or class at LINE of FILE (1-based), or the whole FILE.

    Facts come first (signature, returns, raises, calls, callers, side effects), then worked
    examples run in the sandbox (Python), then the model's summary, labelled and checked."""
    import json
    import threading

    from lfcode.explain import service
    from lfcode.explain.examples import Examples

    name, _, line = target.rpartition(":") if target.rpartition(":")[2].isdigit() else (target, "", "")
    file = Path(name)
    text = read_source(file)
    if line and not 1 <= int(line) <= text.count("\n") + 1:
        fail(f"{file} has {text.count(chr(10)) + 1} lines; line {line} does not exist")
    symbol = service.symbol_for_line(text, str(file), int(line) if line else None)
    if symbol is None:
        fail(f"line {line} of {file} is not inside a function, method or class")
    settings, backend = _model_for(file, model, "chat")
    cancel = threading.Event()
    try:
        prepared = service.prepare(text, symbol, str(file), project_root(file))
        examples = Examples(note="examples not run (--no-examples)") if no_examples else service.run_examples(prepared, settings.sandbox, cancel)
        explanation = service.explain_symbol(backend, prepared, examples, cancel)
    except LfcodeError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(explanation.as_json(), indent=2))
    else:
        click.echo(clean(explanation.markdown, newlines=True), nl=False)


@cli.command()
@click.argument("target", metavar="FILE::SYMBOL")
@click.option("--run", "run_tests", is_flag=True, help="Run the tests (pytest) and keep only the passing ones.")
@click.option("--write", is_flag=True, help="Append the tests to the test file (created if needed).")
@click.option("--model", help=MODEL_HELP)
@click.option("--model-tests", is_flag=True,
              help="With --run: ask the model for tests even where lfcode can observe the code (Python, pytest).")
def tests(target: str, run_tests: bool, write: bool, model: str | None, model_tests: bool) -> None:
    """Generate unit tests for SYMBOL (a function or Class.method) of FILE and print them.

    With --run, Python functions tested with pytest get tests from observed behaviour: calls
    run in the sandbox and the assertions record what they returned or raised (the model only
    proposes calls for lines nothing else reached). Elsewhere, or when that finds nothing, the
    model writes the tests."""
    import threading

    from lfcode.context.symbols import find_symbol
    from lfcode.testgen import service
    from lfcode.testgen.generate import write_tests

    name, _, wanted = target.partition("::")
    if not wanted:
        fail("name the symbol as FILE::SYMBOL, e.g. textwrap.py::dedent")
    file = Path(name)
    text = read_source(file)
    symbol = find_symbol(text, wanted, str(file))
    if symbol is None:
        fail(f"no function, method or class named {wanted!r} in {file}")
    try:
        plan = service.plan_tests(file, text, symbol, project_root(file))
    except LfcodeError as exc:
        fail(str(exc))
    settings = _settings_for(file, model)
    cancel = threading.Event()
    try:
        generated = None
        if run_tests and not model_tests:
            proposer = service.model_proposer(lambda: _proposal_backend(file, model), plan, cancel)
            generated = service.observe(plan, cancel, settings.sandbox, proposer, lambda text: note(f"lfcode: {text}"))
        if generated is not None:
            note("lfcode: tests from observed behaviour (calls run in the sandbox; the assertions record what they did)")
            for text in generated.notes:
                note(f"lfcode: {text}")
        else:
            settings, backend = _model_for(file, model, "chat")
            generated = service.generate(backend, plan, cancel)
        if run_tests:
            checked = service.verify(plan, generated, sandbox=settings.sandbox)
            if checked.result is None:
                note(f"lfcode: {checked.sandbox_problem}")
                note(f"lfcode: {len(generated.tests)} tests, not run (only checked to parse)")
            else:
                coverage = checked.generated.coverage_summary(symbol.qualname) if checked.generated is not None else None
                note(f"lfcode: {checked.result.summary()}" + (f"; {coverage}" if coverage else ""))
                if checked.generated is None:
                    fail("no generated test passed; nothing to print", 1)
            generated = checked.generated
        click.echo(clean(generated.code.lstrip("\n"), newlines=True), nl=False)
        if write:
            note(f"lfcode: wrote {len(generated.tests)} tests to {write_tests(generated, plan.existing)}")
    except (LfcodeError, OSError) as exc:
        fail(str(exc))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True, help="Review only what is staged (index vs HEAD).")
@click.option("--range", "revision_range", metavar="A..B", help="Review a range: A..B, A...B (from the merge-base) or A (A..HEAD).")
@click.option("--base", metavar="BRANCH", help="Review everything since the merge-base with BRANCH, plus local changes.")
@click.option("--analyzers", metavar="IDS", help="Comma-separated analyzers to run: secrets, ruff, behaviour, coroutines, rules, model (default: all, or the review_analyzers setting).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True,
              help="Exit 1 when a finding is at or above this severity.")
@click.option("--model", help=MODEL_HELP)
@click.option("--install-hook", is_flag=True, help="Install a git pre-push hook running `lfcode review --fail-on error` on what is pushed.")
@click.option("--uninstall-hook", is_flag=True, help="Remove the lfcode pre-push hook (restoring a chained one).")
@click.option("--force", is_flag=True, help="With --install-hook: overwrite what stands in the way.")
@click.option("--pre-push", "pre_push", metavar="REMOTE", hidden=True,
              help="Review the refs git's pre-push hook passes on stdin (used by the installed hook).")
def review(
    paths: tuple[Path, ...], staged: bool, revision_range: str | None, base: str | None, analyzers: str | None, fmt: str,
    fail_on: str, model: str | None, install_hook: bool, uninstall_hook: bool, force: bool, pre_push: str | None,
) -> None:
    """Review the diff a push would send (or --staged / --range / --base): secrets, tree-sitter
    rules, ruff, a behaviour diff run in the sandbox, and the local model.

    Never changes the repository. Exit codes: 0 clean, 1 findings at or above --fail-on,
    2 usage, git or review error. The review fails closed: when the secrets check cannot run or
    no analyzer could review the changes it exits 2, so a pre-push hook blocks, unless
    --fail-on never. One other analyzer failing (no model, no sandbox) is a note.
    """
    from lfcode.backends import make_backend
    from lfcode.backends.base import UnavailableBackend
    from lfcode.review import hook as hooks
    from lfcode.review import service
    from lfcode.review.analyzers.base import ReviewIncomplete
    from lfcode.review.result import ReviewOptions
    from lfcode.review.report_text import is_tty, progress

    here = Path.cwd()
    try:
        if install_hook or uninstall_hook:
            if install_hook and uninstall_hook:
                fail("--install-hook and --uninstall-hook exclude each other")
            click.echo(clean(hooks.install_hook(here, force=force) if install_hook else hooks.uninstall_hook(here), newlines=True))
            return
        root = service.repository_root(here)
        if sum(bool(x) for x in (staged, revision_range, base, pre_push)) > 1:
            fail("use only one of --staged, --range and --base")
        ranges = [revision_range] if pre_push is None else hooks.pushed_ranges(root, sys.stdin.read(), pre_push or None)
        if not ranges:
            note("lfcode: the push sends no new commits; nothing to review")
            sys.exit(0)
        settings = _settings_for(root / "lfcode.toml", model)
        chosen = [a.strip() for a in analyzers.split(",") if a.strip()] if analyzers else settings.review_analyzers
        _warn_remote(settings)
        try:
            wanted = chosen is None or "model" in chosen or ("behaviour" in chosen and settings.review_model_calls)
            backend = make_backend(settings, "chat") if wanted else UnavailableBackend("the model is not needed by the chosen analyzers")
        except BackendError as exc:
            backend = UnavailableBackend(f"no model: {exc}")
        results = []
        for one in ranges:
            options = ReviewOptions(staged=staged, range=one, base=base, paths=[str((here / p).resolve()) for p in paths],
                                    model_calls=settings.review_model_calls)
            with progress(sys.stderr) as update:
                results.append(service.review_changes(root, options, backend, update, analyzers=chosen, sandbox=settings.sandbox))
        result = service.combine(results)
    except ReviewIncomplete as exc:
        if fail_on == "never":
            note(f"lfcode: nothing was reviewed ({exc}); --fail-on never lets this pass")
            sys.exit(0)
        fail(f"nothing was reviewed: {exc}. Blocking (exit 2); pass --fail-on never to go ahead without a review")
    except LfcodeError as exc:
        fail(str(exc))
    click.echo(service.report(result, fmt, color=fmt == "text" and is_tty(sys.stdout), tool_version=__version__))
    sys.exit(service.exit_code(result, fail_on))


# The machine-level tools (`lfcode models`, `lfcode doctor`, `lfcode audit`) live in their own module.
from lfcode.cli_machine import audit, doctor, models  # noqa: E402

cli.add_command(models)
cli.add_command(doctor)
cli.add_command(audit)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="lfcode")
