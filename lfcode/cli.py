"""The ``lfcode`` command line: ``serve``, ``complete`` and friends.

Exit codes: 0 success, 1 findings or no result where the command says so, 2 usage, model or
input error (with a message on stderr).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from pathlib import Path

import click

from lfcode import __version__

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any 127.0.0.0/8 or ::1 address."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def project_root_of(path: Path) -> Path:
    """The nearest parent holding ``lfcode.toml``, ``pyproject.toml`` or ``.git`` (else the file's folder)."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ("lfcode.toml", "pyproject.toml", ".git")):
            return folder
    return start


def fail(message: str, code: int = 2) -> None:
    """Print ``lfcode: message`` on stderr and exit with ``code``."""
    click.echo(f"lfcode: {message}", err=True)
    sys.exit(code)


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
def serve(tcp: bool, host: str, port: int) -> None:
    """Run the language server (stdio by default)."""
    from lfcode.lsp.server import create_server

    _setup_logging(os.environ.get("LFCODE_LOG_LEVEL", "info"))
    if tcp and not is_loopback(host):
        fail(f"--host {host} is not a loopback address; lfcode serves only this machine")
    server = create_server()
    if tcp:
        server.start_tcp(host, port)
        return
    # stdout is the LSP channel: keep a private handle on it, then point fd 1 at stderr so that no
    # print() or C library output can ever corrupt the protocol stream.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    server.start_io(sys.stdin.buffer, channel)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("line", type=click.IntRange(min=1))
@click.argument("col", type=click.IntRange(min=1))
@click.option("--model", help='GGUF path or "embedded" (overrides settings).')
@click.option("-n", "count", default=1, show_default=True, type=click.IntRange(1, 5), help="Suggestions to print.")
def complete(file: Path, line: int, col: int, model: str | None, count: int) -> None:
    """Print the suggestion at LINE:COL of FILE (both 1-based; COL counts characters)."""
    from lfcode.backends import BackendError, make_backend
    from lfcode.core.complete import CompletionInput, CompletionOptions
    from lfcode.core.complete import complete as run_complete
    from lfcode.settings import load_settings

    text = read_source(file)
    lines = text.split("\n")
    if line > len(lines):
        fail(f"{file} has {len(lines)} lines; line {line} does not exist")
    if col > len(lines[line - 1]) + 1:
        fail(f"line {line} of {file} has {len(lines[line - 1])} characters; column {col} is past its end")
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
    layers = load_settings(project_root_of(file), overrides={"model": model} if model else None)
    for problem in layers.problems:
        click.echo(str(problem), err=True)
    settings = layers.settings
    _setup_logging(settings.log_level if settings.log_level != "info" else "warning")
    try:
        backend = make_backend(settings)
        options = CompletionOptions(
            n=count,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            context_tokens=settings.context_tokens,
            fim_template=settings.fim_template,
        )
        result = run_complete(backend, CompletionInput(text, offset, str(file)), options)
    except (BackendError, ValueError) as exc:
        fail(str(exc))
    if not result.items:
        fail("no suggestion at this position", 1)
    click.echo("\n\n".join(result.items))


def read_source(file: Path) -> str:
    """Read a text file for the CLI, exiting with a clear message when it is missing or binary."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    if b"\x00" in data[:8192]:
        fail(f"{file} looks like a binary file")
    return data.decode("utf-8", errors="replace")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="lfcode")
