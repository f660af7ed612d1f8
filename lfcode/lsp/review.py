"""The ``lfcode.review`` command: review the workspace's changes and publish diagnostics.

It runs the same :func:`lfcode.review.service.review_changes` as ``lfcode review`` in the inference worker,
reports cancellable ``$/progress`` per hunk, and publishes every finding as a diagnostic with
source ``lfcode`` (LSP 3.17 §textDocument/publishDiagnostics) on the changed files. The next run
clears the diagnostics of the previous one. Arguments: ``[{"workspaceFolder": uri}]`` or nothing
(the workspace root). Returns ``{"findings": [...], "notes": [...]}`` (the findings as in
``lfcode review --format json``), or ``None`` after an error shown with ``window/showMessage``.

Cancelling the progress (``window/workDoneProgress/cancel``) stops the review as it stops
Explain and Generate tests: the service raises :class:`~lfcode.errors.Cancelled`, the progress
ends with ``Cancelled``, an information message says after how many hunks it stopped, and
nothing is published, so no diagnostic of a half-done review appears and those of the last
finished review stay as they were. A ``$/cancelRequest`` of the command stops it the same way
(pygls then answers the request with ``RequestCancelled`` instead of the message).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from lfcode.backends.base import UnavailableBackend
from lfcode.errors import UserError
from lfcode.lsp.jobs import Job, guarded
from lfcode.lsp.state import LfcodeServer

if TYPE_CHECKING:  # the review modules (GitPython, rich) load on the first review: cold start
    from lfcode.review.findings import Finding
    from lfcode.review.result import ReviewResult

REVIEW_COMMAND = "lfcode.review"
#: A review of many hunks on a laptop can take minutes; past this it is stopped.
REVIEW_TIMEOUT_S = 1800
#: The information message after a cancel; ``{error}`` says where the review stopped.
CANCELLED = "{error}; no diagnostics were changed"

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


def diagnostic(finding: Finding, uri: str = "") -> types.Diagnostic:
    """A finding as an LSP diagnostic (0-based lines; the whole of each line); its evidence is a
    ``relatedInformation`` entry (LSP 3.18 ``DiagnosticRelatedInformation``) at the evidence's
    line of ``uri``, or the finding's own line."""
    start = max(finding.line - 1, 0)
    end = max((finding.end_line or finding.line) - 1, start)
    message = finding.message + (f"\nSuggestion: {finding.suggestion}" if finding.suggestion else "")
    related = None
    if finding.evidence is not None and uri:
        at = max((finding.evidence.line or finding.line) - 1, 0)
        where = types.Location(uri=uri, range=types.Range(start=types.Position(line=at, character=0), end=types.Position(line=at + 1, character=0)))
        related = [types.DiagnosticRelatedInformation(location=where, message=f"evidence: {finding.evidence.text}")]
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=start, character=0), end=types.Position(line=end + 1, character=0)),
        severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Information),
        source="lfcode",
        code=finding.rule,
        message=message,
        related_information=related,
    )


def _folder(ls: LfcodeServer, args: tuple[Any, ...]) -> Path:
    first = args[0] if args else None
    uri = first.get("workspaceFolder") if isinstance(first, dict) else None
    path = to_fs_path(uri) if isinstance(uri, str) else None
    folder = Path(path) if path else ls.project_root
    if folder is None:
        raise UserError("open a folder (a git repository) to review its changes")
    return folder


def publish(ls: LfcodeServer, result: ReviewResult, published: set[str]) -> set[str]:
    """Publish the findings per file and clear files of the previous run; returns the new URI set."""
    root = Path(result.root)
    by_uri: dict[str, list[types.Diagnostic]] = {}
    for path in result.paths:
        by_uri.setdefault(from_fs_path(str(root / path)) or "", [])
    for finding in result.findings:
        uri = from_fs_path(str(root / finding.path)) or ""
        by_uri.setdefault(uri, []).append(diagnostic(finding, uri))
    for uri in published - set(by_uri):
        by_uri[uri] = []
    for uri, diagnostics in by_uri.items():
        if uri:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
    return {uri for uri, diagnostics in by_uri.items() if diagnostics}


async def run_review(ls: LfcodeServer, args: tuple[Any, ...]) -> dict[str, Any] | None:
    """The ``lfcode.review`` command (see the module docstring).

    Raises:
        UserError: no folder to review, or the time limit passed.
        lfcode.errors.Cancelled: the user cancelled (nothing is published).
        lfcode.errors.LfcodeError: the review failed (see :func:`lfcode.review.service.review_changes`).
    """
    from lfcode.review import service
    from lfcode.review.result import ReviewOptions

    folder = _folder(ls, args)
    # Without a model the other analyzers still review; the model analyzer's note says why.
    backend = await ls.session.chat_backend() or UnavailableBackend(f"no model: {ls.session.chat_model.message}")
    async with Job(ls, "lfcode: Review changes") as job:

        def progress(done: int, total: int) -> None:
            job.report_threadsafe(f"{done}/{total} hunks")

        result = await job.run(
            ls.session.run_blocking(service.review_changes, folder, ReviewOptions(model_calls=ls.settings.review_model_calls), backend, progress, job.cancel,
                                    ls.settings.review_analyzers, ls.settings.sandbox), REVIEW_TIMEOUT_S
        )
        count = len(result.findings)
        job.end_message = f"{count} finding{'s' if count != 1 else ''}"
    ls.review_published = publish(ls, result, ls.review_published)
    level = types.MessageType.Warning if count else types.MessageType.Info
    ls.window_show_message(
        types.ShowMessageParams(type=level, message=f"lfcode: review found {count} finding(s) in {result.hunks_reviewed} hunk(s)")
    )
    return {"findings": [f.model_dump() for f in result.findings], "notes": result.notes}


def register(server: LfcodeServer) -> None:
    """Register ``lfcode.review`` on ``server``."""

    @server.command(REVIEW_COMMAND)
    async def review_command(ls: LfcodeServer, *args: Any) -> Any:
        return await guarded(ls, run_review(ls, args), failed="review failed: {error}", also=(), cancelled=CANCELLED)
