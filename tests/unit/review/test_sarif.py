"""SARIF 2.1.0 output, validated against the official schema kept in tests/data/."""

from __future__ import annotations

import json

import jsonschema
import pytest

from lfcode.review.findings import CATEGORIES, Finding
from lfcode.review.model import ReviewResult
from lfcode.review.report_sarif import to_sarif
from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def validate(log: dict) -> None:
    # Round-trip through JSON text first: what the CLI prints is what must validate.
    jsonschema.validate(json.loads(json.dumps(log)), SCHEMA, cls=jsonschema.Draft4Validator)


@pytest.fixture
def result() -> ReviewResult:
    findings = [
        Finding(path="src/app.py", line=3, severity="error", category="bug", message="off by one",
                suggestion="use range(n)"),
        Finding(path="src/app.py", line=9, end_line=11, severity="warning", category="security",
                message="shell=True with user input"),
        Finding(path="docs/read me.md", line=1, severity="info", category="style", message="typo"),
        Finding(path="tests/test_ü.py", line=2, severity="info", category="test", message="no assert"),
    ]
    return ReviewResult(findings=findings, notes=["vendor/x.js: skipped"], files_reviewed=3,
                        hunks_reviewed=4, paths=["src/app.py"], root="/tmp/some repo")


def test_sarif_validates_against_the_2_1_0_schema(result: ReviewResult) -> None:
    log = to_sarif(result, "0.1.0", information_uri="https://example.invalid/lfcode")
    validate(log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")


def test_driver_rules_and_results(result: ReviewResult) -> None:
    run = to_sarif(result, "0.1.0")["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "lfcode" and driver["version"] == "0.1.0"
    ids = [r["id"] for r in driver["rules"]]
    assert {f"model/{c}" for c in CATEGORIES} <= set(ids) and len(ids) == len(set(ids))
    assert all(r["properties"]["analyzer"] == r["id"].split("/")[0] for r in driver["rules"])
    first, second, third, fourth = run["results"]
    assert (first["ruleId"], first["level"], first["ruleIndex"]) == ("model/bug", "error", ids.index("model/bug"))
    assert first["message"]["text"] == "off by one\nSuggestion: use range(n)"
    assert first["properties"] == {"analyzer": "model", "category": "bug"}
    location = second["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/app.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 9, "endLine": 11}
    assert second["level"] == "warning" and third["level"] == "note"
    assert third["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docs/read%20me.md"
    assert fourth["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tests/test_%C3%BC.py"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///tmp/some%20repo/"
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == "vendor/x.js: skipped"
    assert len({r["partialFingerprints"]["lfcodeFinding/v1"] for r in run["results"]}) == 4


def test_empty_review_is_valid_sarif() -> None:
    log = to_sarif(ReviewResult(), "0.0.0")
    validate(log)
    assert log["runs"][0]["results"] == [] and "originalUriBaseIds" not in log["runs"][0]


def test_the_schema_catches_mistakes(result: ReviewResult) -> None:
    log = to_sarif(result, "0.1.0")
    log["runs"][0]["results"][0]["level"] = "info"  # not a SARIF level
    with pytest.raises(jsonschema.ValidationError):
        validate(log)


def test_format_result_prints_each_format(result: ReviewResult) -> None:
    from lfcode.review.report_text import format_result

    validate(json.loads(format_result(result, "sarif", tool_version="1.2.3")))
    assert json.loads(format_result(result, "json"))["files_reviewed"] == 3
    assert format_result(result, "text").startswith("src/app.py")
    with pytest.raises(ValueError):
        format_result(result, "xml")
