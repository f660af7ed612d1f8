"""The rules analyzer: cross-language review rules kept as data, matched with tree-sitter queries.

The rules are the TOML files of :mod:`lfcode.review.rules` (left-over debugger calls, conflict
markers, eval/exec, TLS verification turned off, bare ``except:``, debug output in library code,
skipped or focused tests); each carries an id, a message, a severity, a category, a query per
language and examples the unit tests run. Each changed file's new text is read and parsed once
and every rule for its language runs on the tree; as with reviewdog's default ``added`` filter,
only findings on added lines are kept (:func:`~lfcode.review.findings.on_added_lines`).

Deterministic and local: no model, no process, nothing executed; the repository is only read.
"""

from __future__ import annotations

from tree_sitter import Parser

from lfcode.errors import raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.findings import on_added_lines
from lfcode.review.hunks import Hunk
from lfcode.review.result import ReviewOptions
from lfcode.review.rules import RuleSpec, load_rules, scan_source
from lfcode.review.sources import read_new_source

__all__ = ["MAX_FILE_BYTES", "RULES", "RulesAnalyzer"]

#: Files larger than this (in UTF-8 bytes) are not checked.
MAX_FILE_BYTES = 1_000_000
#: SARIF ``level`` for each finding severity.
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif_rule(spec: RuleSpec) -> Rule:
    """The SARIF reporting descriptor of one rule file: id ``rules/<id>``, its name, description,
    the level of its severity (``info`` is SARIF ``note``) and its category."""
    return Rule(f"rules/{spec.id}", spec.name, spec.description, _LEVEL[spec.severity], spec.category)


class RulesAnalyzer:
    """The rule files as a review analyzer (id ``rules``; see the module docstring).

    Stateless apart from the process-wide cache of parsed rule files and compiled queries: one
    instance serves concurrent reviews (each review uses its own parsers).
    """

    id = "rules"
    name = "Review rules"
    description = ("Tree-sitter queries for left-over debugger calls, conflict markers, eval/exec, "
                   "disabled TLS checks, bare except, debug output and skipped tests.")
    required = False

    @property
    def rules(self) -> tuple[Rule, ...]:
        """One :class:`Rule` per rule file, in file-name order (files read on first use).

        Raises:
            lfcode.review.rules.RuleError: a shipped rule file is malformed.
        """
        return tuple(sarif_rule(spec) for spec in load_rules())

    def check(self, options: ReviewOptions) -> None:
        """Load the rule files before git runs.

        Raises:
            lfcode.review.rules.RuleError: a rule file is malformed (a packaging bug).
        """
        load_rules()

    def analyze(self, context: DiffContext) -> Analysis:
        """Check the new text of every reviewed file and keep the findings on added lines.

        Returns:
            An :class:`Analysis` whose ``hunks_reviewed``/``paths`` count every reviewed hunk
            and file; a file that cannot be read, is over :data:`MAX_FILE_BYTES` or holds a NUL
            byte leaves a note instead of findings.

        Raises:
            lfcode.review.rules.RuleError: a rule's query does not compile.
            lfcode.errors.Cancelled: ``context.cancel`` was set (checked before each file).
        """
        specs = load_rules()
        result = Analysis()
        by_path: dict[str, list[Hunk]] = {}
        for file, hunk in context.jobs():
            by_path.setdefault(file.path, []).append(hunk)
        parsers: dict[str, Parser] = {}
        for path, hunks in by_path.items():
            raise_if_cancelled(context.cancel, f"review cancelled in the rules analyzer at {path}")
            result.hunks_reviewed += len(hunks)
            result.paths.append(path)
            if not any(h.added_lines for h in hunks):
                continue  # a pure removal or rename: nothing added to check
            source = read_new_source(context.diff, path)
            if source is None:
                result.notes.append(f"{path}: new version unreadable, not checked by the review rules")
            elif "\x00" in source:
                result.notes.append(f"{path}: binary content (NUL byte), not checked by the review rules")
            elif len(source.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
                result.notes.append(f"{path}: over {MAX_FILE_BYTES // 1_000_000} MB, not checked by the review rules")
            else:
                result.findings.extend(on_added_lines(scan_source(path, source, specs, parsers), hunks))
        raise_if_cancelled(context.cancel, "review cancelled in the rules analyzer")
        return result


#: The one rules analyzer (registered as ``rules`` in :mod:`lfcode.review.analyzers.registry`).
RULES = RulesAnalyzer()
