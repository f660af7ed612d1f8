"""SARIF 2.1.0 output for a review (OASIS Static Analysis Results Interchange Format v2.1.0).

One ``run`` (§3.14) whose ``tool.driver`` (§3.18, §3.19) is ``lfcode`` with one reporting
descriptor per rule (``rules``, §3.19.23, §3.49; ids ``<analyzer>/<rule>``: ``model/bug``,
``ruff/F821``, ``secrets/aws-access-key-id`` ...): the registered analyzers'
:class:`~lfcode.review.analyzers.base.Rule` records, plus one for each other rule a result uses
(ruff's open-ended rule set), each with its analyzer in ``properties``. Each finding becomes a
``result`` (§3.27) with ``ruleId``/``ruleIndex``, ``level`` (§3.27.10: ``error``, ``warning``,
``note``), ``message.text`` (§3.11), one ``physicalLocation`` (§3.29) whose
``artifactLocation.uri`` (§3.4) is the repo-relative path, percent-encoded, relative to the
``%SRCROOT%`` base id, and whose ``region`` (§3.30) has 1-based ``startLine``/``endLine``, and a
``properties`` bag (§3.8) with the analyzer, the evidence, the confidence and the corroborating
analyzers. ``partialFingerprints`` (§3.27.17) let code-scanning services follow a finding across
commits. Review notes go to ``invocations[0].toolExecutionNotifications`` (§3.20.21). No
``fixes``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from lfcode.review.analyzers import registry
from lfcode.review.analyzers.base import Rule
from lfcode.review.findings import Finding
from lfcode.review.result import ReviewResult

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "rule_id", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def rule_id(finding: Finding) -> str:
    """The finding's SARIF ``ruleId``: its ``rule`` (``"<analyzer>/<name>"``)."""
    return finding.rule


def _rules(rules: list[Rule]) -> list[dict]:
    return [{
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.description},
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": [rule.category], "analyzer": rule.id.split("/", 1)[0]},
    } for rule in rules]


def _used_rules(findings: list[Finding]) -> list[Rule]:
    """The registered rules, then a descriptor for each other rule id the findings use."""
    rules = {rule.id: rule for rule in registry.rules()}
    for f in findings:
        if f.rule not in rules:
            tool_rule = f.evidence.text if f.evidence is not None and f.evidence.kind == "tool" else f.rule
            rules[f.rule] = Rule(f.rule, f.rule.split("/", 1)[-1], tool_rule, _LEVEL[f.severity], f.category)
    return list(rules.values())


def _properties(finding: Finding) -> dict:
    props: dict = {"analyzer": finding.analyzer, "category": finding.category}
    if finding.evidence is not None:
        props["evidence"] = finding.evidence.model_dump(mode="json", exclude_none=True)
    if finding.confidence is not None:
        props["confidence"] = round(finding.confidence, 3)
    if finding.corroborated_by:
        props["corroboratedBy"] = list(finding.corroborated_by)
    return props


def _uri(path: str) -> str:
    return quote(Path(path).as_posix().lstrip("/"), safe="/")


def _result(finding: Finding, index: dict[str, int]) -> dict:
    text = finding.message
    if finding.evidence is not None:
        text += f"\nEvidence: {finding.evidence.text}"
    if finding.suggestion:
        text += f"\nSuggestion: {finding.suggestion}"
    key = f"{finding.path}\0{finding.rule}\0{' '.join(finding.message.lower().split())}"
    return {
        "ruleId": rule_id(finding),
        "ruleIndex": index[finding.rule],
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": finding.line, "endLine": finding.end_line or finding.line},
            }
        }],
        "partialFingerprints": {"lfcodeFinding/v1": hashlib.sha256(key.encode()).hexdigest()[:32]},
        "properties": _properties(finding),
    }


def to_sarif(result: ReviewResult, tool_version: str, *, information_uri: str | None = None) -> dict:
    """Build a SARIF 2.1.0 log for ``result``.

    Args:
        result: a finished review.
        tool_version: lfcode's version string, e.g. ``"0.1.0"``.
        information_uri: the tool's home page, added as ``informationUri`` when given.

    Returns:
        A JSON-serialisable dict (``json.dumps`` it); valid against the SARIF 2.1.0 schema.
    """
    root = Path(result.root).as_posix() if result.root else ""
    rules = _used_rules(result.findings)
    index = {rule.id: i for i, rule in enumerate(rules)}
    driver: dict = {"name": "lfcode", "version": tool_version, "rules": _rules(rules)}
    if information_uri:
        driver["informationUri"] = information_uri
    run: dict = {
        "tool": {"driver": driver},
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "note", "message": {"text": note}} for note in result.notes
            ],
        }],
        "results": [_result(f, index) for f in result.findings],
        "columnKind": "unicodeCodePoints",
    }
    if root:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": "file://" + quote(root.rstrip("/") + "/")}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
