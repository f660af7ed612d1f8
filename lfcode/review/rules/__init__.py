"""Review rules as data: one TOML file per rule in this folder, matched with tree-sitter queries.

Adding a rule is one new ``<id>.toml`` file here (the unit tests run its examples); nothing else
changes. The shape follows ruff's rule registry: an id, a message, a severity, a rationale and a
test for each rule. A file holds::

    id = "debugger-call"             # the file name without .toml; findings carry rules/<id>
    name = "Debugger call"           # the SARIF rule name
    message = "..."                  # what a finding says to the developer
    description = "..."              # why it matters, one sentence (optional: the message)
    severity = "error"               # error | warning | info
    category = "bug"                 # bug | security | performance | style | test
    languages = ["python", "javascript", "typescript", "tsx"]
    where = "library"                # optional: "any" (default) or "library" (see is_library_path)
    requires = '...'                 # optional: a regex that must match somewhere in the file

    [query]                          # one tree-sitter query per language; @finding is reported
    python = '''((call function: (identifier) @_f) @finding (#eq? @_f "breakpoint"))'''
    javascript = '''(debugger_statement) @finding'''   # also serves typescript and tsx

    [exclude]                        # optional: a finding inside an @exclude node is dropped
    python = '''...'''

    [[tests]]                        # examples: code, its language, how many findings
    language = "python"              # a grammar name, or "text" (a file without a grammar)
    path = "src/pkg/core.py"         # optional: the file name the example is checked as
    code = "breakpoint()\\n"
    count = 1

A rule that cannot be a syntax query has ``pattern`` (a Python regex matched against each line)
instead of ``[query]``; its ``languages`` may be ``["*"]``: any file, even one without a grammar.
``languages`` are :data:`lfcode.context.languages.PROFILES` names; a query is looked up under the
language's name, then its family (``javascript`` for TypeScript and TSX).

Query syntax: https://tree-sitter.github.io/tree-sitter/using-parsers/queries/ (captures, the
``.`` anchor, ``#eq?``/``#match?`` predicates; py-tree-sitter evaluates the predicates with
Python's :mod:`re`). At most one finding per rule and line is reported.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from tree_sitter import Node, Parser, Query, QueryCursor

from lfcode.context.languages import PROFILES, get_language, language_name
from lfcode.errors import LfcodeError
from lfcode.review.findings import CATEGORIES, SEVERITIES, Evidence, Finding

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["ANY_LANGUAGE", "QUOTE_CHARS", "RuleError", "RuleSpec", "RuleTest", "compile_query",
           "is_library_path", "load_rules", "parse_rule", "scan_source"]

#: The ``languages`` entry of a rule that applies to every file (pattern rules only).
ANY_LANGUAGE = "*"
#: The longest quote a finding's evidence carries.
QUOTE_CHARS = 120
_REQUIRED = ("id", "name", "message", "severity", "category", "languages", "tests")
_KNOWN = set(_REQUIRED) | {"description", "where", "requires", "query", "exclude", "pattern"}
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Folders whose files are not library code: tests, scripts and entry points, examples, docs.
_NOT_LIBRARY_DIRS = frozenset({
    "test", "tests", "testing", "__tests__", "__mocks__", "spec", "specs", "e2e", "scripts", "script", "bin",
    "tools", "benchmarks", "benchmark", "examples", "example", "docs", "doc"})
_NOT_LIBRARY_FILE = re.compile(
    r"^(?:test_.*\.py|.*_test\.(?:py|go)|conftest\.py|__main__\.py|cli\.py|setup\.py|manage\.py"
    r"|.*\.(?:test|spec)\.[cm]?[jt]sx?)$")


class RuleError(LfcodeError):
    """A rule file is unreadable or malformed, or its query does not compile."""


@dataclass(frozen=True)
class RuleTest:
    """One embedded example: ``code`` checked as ``path`` (in ``language``) gives ``count``
    findings."""

    language: str
    code: str
    count: int
    path: str


@dataclass(frozen=True)
class RuleSpec:
    """One rule file, validated (see the module docstring for the keys).

    ``queries``/``excludes`` map a language or family name to query text; ``pattern`` is set
    instead of ``queries`` for a line-regex rule; ``file`` is the file name it came from.
    """

    id: str
    name: str
    message: str
    description: str
    severity: str
    category: str
    languages: tuple[str, ...]
    tests: tuple[RuleTest, ...]
    file: str
    where: str = "any"
    requires: str | None = None
    pattern: str | None = None
    queries: tuple[tuple[str, str], ...] = ()
    excludes: tuple[tuple[str, str], ...] = ()

    def applies_to(self, language: str | None) -> bool:
        """Whether a file of grammar ``language`` (``None``: no grammar) is checked."""
        return ANY_LANGUAGE in self.languages or (language is not None and language in self.languages)

    def query_text(self, language: str, exclude: bool = False) -> str | None:
        """The query for ``language`` (its own entry, else its family's), or ``None``."""
        table = dict(self.excludes if exclude else self.queries)
        profile = PROFILES.get(language)
        family = profile.symbol_family if profile is not None else language
        return table.get(language, table.get(family))


def _example_path(language: str) -> str:
    profile = PROFILES.get(language)
    return "src/example" + (profile.extensions[0] if profile is not None else ".txt")


def parse_rule(file: str, data: dict) -> RuleSpec:
    """Validate one rule file's TOML ``data`` (read from ``file``, e.g. ``"bare-except.toml"``)
    into a :class:`RuleSpec`.

    Raises:
        RuleError: a key is missing or unknown, the id is not the file name, the severity,
            category, languages or a regex is invalid, a listed language has no query, or the
            examples lack a positive or a negative case.
    """
    def fail(problem: str) -> RuleError:
        return RuleError(f"review rule {file}: {problem}")

    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    if set(data) - _KNOWN:
        raise fail(f"unknown key(s) {', '.join(sorted(set(data) - _KNOWN))}")
    if not _ID.match(str(data["id"])) or f"{data['id']}.toml" != file:
        raise fail(f"id {data['id']!r} must be lower-case-with-dashes and the file name")
    if data["severity"] not in SEVERITIES or data["category"] not in CATEGORIES:
        raise fail(f"severity must be one of {SEVERITIES} and category one of {CATEGORIES}")
    if data.get("where", "any") not in ("any", "library"):
        raise fail("where must be 'any' or 'library'")
    languages = tuple(data["languages"])
    unknown = [lang for lang in languages if lang not in PROFILES and lang != ANY_LANGUAGE]
    if not languages or unknown:
        raise fail(f"languages must be grammar names or '*', not {unknown or 'empty'}")
    queries, excludes = dict(data.get("query", {})), dict(data.get("exclude", {}))
    if ("pattern" in data) == bool(queries):
        raise fail("give either a pattern or a [query] table, not both or neither")
    for text in (data.get("pattern"), data.get("requires")):
        try:
            re.compile(text or "")
        except re.error as exc:
            raise fail(f"bad regular expression {text!r}: {exc}") from exc
    try:
        tests = tuple(RuleTest(t["language"], t["code"], int(t["count"]), t.get("path") or _example_path(t["language"]))
                      for t in data["tests"])
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"every [[tests]] example needs language, code and count ({exc!r})") from exc
    if any(t.language not in PROFILES and t.language != "text" for t in tests):
        raise fail("a [[tests]] language must be a grammar name or 'text'")
    rule = RuleSpec(
        id=data["id"], name=data["name"], message=data["message"],
        description=data.get("description", data["message"]), severity=data["severity"],
        category=data["category"], languages=languages, file=file, where=data.get("where", "any"),
        requires=data.get("requires"), pattern=data.get("pattern"),
        queries=tuple(sorted(queries.items())), excludes=tuple(sorted(excludes.items())), tests=tests)
    if queries and any(rule.query_text(lang) is None for lang in languages):
        raise fail("every listed language needs a query (under its name or its family's)")
    if not any(t.count for t in rule.tests) or all(t.count for t in rule.tests):
        raise fail("needs at least one positive and one negative [[tests]] example")
    return rule


@functools.lru_cache(maxsize=1)
def load_rules() -> tuple[RuleSpec, ...]:
    """Every shipped rule file (``lfcode/review/rules/*.toml``), validated, in file-name order;
    read once per process.

    Raises:
        RuleError: a file is unreadable, is not TOML, or breaks the format (the message names it).
    """
    folder = resources.files(__name__)
    out = []
    for entry in sorted((e for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name):
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise RuleError(f"review rule {entry.name} cannot be read: {exc}") from exc
        out.append(parse_rule(entry.name, data))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _compiled(language: str, text: str) -> Query:
    spec = get_language(language)
    if spec is None:
        raise RuleError(f"the {language} grammar is not installed")
    try:
        return Query(spec.language, text)
    except ValueError as exc:  # tree_sitter.QueryError (bad node, field or predicate regex)
        raise RuleError(f"a review rule query does not compile for {language}: {exc}") from exc


def compile_query(rule: RuleSpec, language: str, exclude: bool = False) -> Query | None:
    """``rule``'s compiled query (or exclusion query) for ``language``; ``None`` when it has
    none. Compiled once per process.

    Raises:
        RuleError: the grammar is not installed or the query does not compile.
    """
    text = rule.query_text(language, exclude)
    return None if text is None else _compiled(language, text)


def is_library_path(path: str) -> bool:
    """Whether repo-relative ``path`` is library code: not a test (``test_*.py``, ``*_test.go``,
    ``*.spec.ts``, ``tests/``...), not a script or command-line entry (``scripts/``, ``bin/``,
    ``tools/``, ``benchmarks/``, ``__main__.py``, ``cli.py``) and not in examples or docs."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return False
    return not (_NOT_LIBRARY_FILE.match(parts[-1].lower())
                or any(p.lower() in _NOT_LIBRARY_DIRS for p in parts[:-1]))


def _quote(lines: list[bytes], row: int, start: int, end: int | None) -> str:
    """The verbatim bytes ``start:end`` of ``row`` (to the end of the line when ``end`` is
    ``None``), decoded and cut to :data:`QUOTE_CHARS`."""
    text = lines[row][start:end].decode("utf-8", errors="replace").rstrip("\r")
    return text.strip()[:QUOTE_CHARS] or lines[row].decode("utf-8", errors="replace").strip()[:QUOTE_CHARS]


def _finding(rule: RuleSpec, path: str, line: int, quote: str) -> Finding:
    name = f"rules/{rule.id}"
    return Finding(path=path, line=line, severity=rule.severity, category=rule.category, message=rule.message,
                   analyzer="rules", rule=name,
                   evidence=Evidence(kind="quote", text=f"`{quote}` ({name})", quote=quote, rule=name, line=line))


def _query_hits(rule: RuleSpec, language: str, root: Node, lines: list[bytes]) -> list[tuple[int, str]]:
    nodes = QueryCursor(compile_query(rule, language)).captures(root).get("finding", [])
    exclusion = compile_query(rule, language, exclude=True)
    spans = ([(n.start_byte, n.end_byte) for n in QueryCursor(exclusion).captures(root).get("exclude", [])]
             if exclusion is not None and nodes else [])
    hits = []
    for node in nodes:
        if any(a <= node.start_byte and node.end_byte <= b for a, b in spans):
            continue
        row, col = node.start_point
        end = node.end_point.column if node.end_point.row == row else None
        hits.append((row + 1, _quote(lines, row, col, end)))
    return hits


def scan_source(path: str, source: str, rules: tuple[RuleSpec, ...] | list[RuleSpec],
                parsers: dict[str, Parser] | None = None) -> list[Finding]:
    """Check ``source`` (the whole new text of repo-relative ``path``) against ``rules``.

    The file is parsed once with the grammar of its extension (a parser is taken from, or added
    to, ``parsers`` so that a caller reuses one per language; parsers are not thread-safe). Rules
    whose ``languages`` do not include the file's, ``library`` rules outside library code and
    rules whose ``requires`` does not match are skipped.

    Returns:
        One finding per rule and line (the first match), sorted by line then rule id, with the
        verbatim span of the line as ``quote`` evidence. Pure: reads nothing.

    Raises:
        RuleError: a rule's query does not compile.
    """
    language = language_name(path)
    wanted = [r for r in rules if r.applies_to(language)
              and (r.where == "any" or is_library_path(path))
              and (r.requires is None or re.search(r.requires, source, re.MULTILINE))]
    if not wanted:
        return []
    data = source.encode("utf-8", errors="replace")
    lines = data.split(b"\n")
    root = None
    found: dict[tuple[int, str], Finding] = {}
    for rule in wanted:
        hits: list[tuple[int, str]] = []
        if rule.pattern is not None:
            regex = re.compile(rule.pattern)
            for row, raw in enumerate(lines):
                match = regex.search(raw.decode("utf-8", errors="replace").rstrip("\r"))
                if match:
                    hits.append((row + 1, _quote(lines, row, 0, None)))
        elif language is not None and get_language(language) is not None:
            if root is None:
                parsers = {} if parsers is None else parsers
                if language not in parsers:
                    parsers[language] = get_language(language).parser()
                root = parsers[language].parse(data).root_node
            hits = _query_hits(rule, language, root, lines)
        for line, quote in hits:
            found.setdefault((line, rule.id), _finding(rule, path, line, quote))
    return [found[key] for key in sorted(found)]
