"""The CLI's machine-level tools: ``lfcode models`` (the GGUF models on this machine),
``lfcode doctor`` (what serves each role, where code goes, the sandbox, grammars, the audit log,
editors) and ``lfcode audit verify`` (the audit log's hash chain). Thin, as :mod:`lfcode.cli`:
arguments → a service → output and exit code; :mod:`lfcode.cli` registers them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lfcode.context.files import project_root
from lfcode.terminal import fail, note


@click.command()
@click.option("--path", "paths", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Also search DIR (recursively) for *.gguf; repeatable.")
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "json"]), default="auto", show_default=True,
              help="auto: a table on a terminal, JSON otherwise.")
@click.option("--check", is_flag=True, help="Try to load each file in llama.cpp and say which do not load, and why (seconds per file).")
def models(paths: tuple[Path, ...], fmt: str, check: bool) -> None:
    """List the GGUF models on this machine (Ollama, LM Studio, the Hugging Face cache, llama.cpp's
    cache, the embedded model, each --path DIR) from their headers: the reference to set as
    `model`, architecture, size, quantization, context, FIM, chat template, roles. Exits 0."""
    import shutil

    from lfcode.models.report import render_json, render_table
    from lfcode.models.service import list_models
    from lfcode.review.report_text import is_tty

    listing = list_models(paths, check=check)
    for problem in listing.problems:
        note(f"lfcode: skipped {problem.location}: {problem.reason}")
    tty = is_tty(sys.stdout)
    if fmt == "json" or (fmt == "auto" and not tty):
        click.echo(render_json(listing), nl=False)
    elif listing.models:
        click.echo(render_table(listing, color=tty, width=shutil.get_terminal_size((120, 24)).columns), nl=False)
    if not listing.models:
        note(f"lfcode: no GGUF model found (searched {', '.join(listing.searched)})")


@click.command()
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "json"]), default="auto", show_default=True,
              help="auto: a table on a terminal, JSON otherwise.")
def doctor(path: Path, fmt: str) -> None:
    """Check this machine's lfcode for the project at PATH: settings, which model serves each role
    and where code goes, the model file's hash or header, the sandbox, grammars, the audit log,
    editors. Starts nothing. Exit 1 when a check fails, else 0."""
    import shutil

    from lfcode import doctor as checks_module
    from lfcode.review.report_text import is_tty

    checks = checks_module.run_checks(project_root(path / "_" if path.is_dir() else path))
    tty = is_tty(sys.stdout)
    if fmt == "json" or (fmt == "auto" and not tty):
        click.echo(checks_module.render_json(checks), nl=False)
    else:
        click.echo(checks_module.render_table(checks, color=tty, width=shutil.get_terminal_size((120, 24)).columns), nl=False)
    sys.exit(checks_module.exit_code(checks))


@click.group()
def audit() -> None:
    """The audit log of model calls (the audit_log setting)."""


@audit.command("verify")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="The log to check (default: $XDG_DATA_HOME/lfcode/audit.jsonl).")
def audit_verify(path: Path | None) -> None:
    """Check the audit log's hash chain: exit 0 when intact, 1 at the first edited, deleted,
    moved or cut line (named), 2 when there is no log to read."""
    from lfcode.audit.log import verify_report

    code, message = verify_report(path)
    if code:
        fail(message, code)
    click.echo(message)
