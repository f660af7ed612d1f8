"""The secrets analyzer: a key, token, password or private key on an added line blocks the push.

It reads only the added (``+``) lines of each reviewed hunk (new-file line numbers) and reports
each credential as an ``error`` of category ``security`` with rule ``secrets/<kind>`` (the kinds
are :data:`KINDS`). The value is never carried by a finding: messages and evidence show it
through :func:`~lfcode.review.findings.mask_secret` (its first four characters only when they are
a fixed public prefix such as ``AKIA`` or ``ghp_``; eight ``*`` otherwise), so no output format
(text, JSON, SARIF, editor diagnostics) can repeat it. The analyzer is ``required``: if it fails,
the review fails closed.

Why our own rule set rather than Yelp's ``detect-secrets`` (checked against 1.5.0, its latest
release, and the ``bc-detect-secrets`` fork 1.5.52):

* Its plugins carry ``verify()`` methods that send a candidate credential to the vendor's API
  (AWS STS, Slack, Stripe, ...; it depends on ``requests``), and ``BasePlugin.analyze_line``
  calls them whenever a process-wide setting lists the verification filter. A check whose job is
  to keep a credential on the machine must not be one setting away from sending it out.
* Its configuration is a process-wide mutable singleton (``get_settings()``, ``transient_settings``;
  ``scan_line`` edits it on every call), unsafe for the language server's concurrent reviews.
* Yelp's package has had no release since May 2024 and its tracker asks whether it is still
  maintained (Yelp/detect-secrets#926, #953); neither package knows GitHub's ``github_pat_``
  tokens or Google API keys.

The rules below are each one regular expression plus a few tests on the match. No pattern nests
an unbounded repeat, and two repeats that can match the same characters next to each other are
both bounded (at most 64 characters), so matching stays linear in the line's length. Lines are
cut to :data:`MAX_LINE_CHARS` characters (a note says so), so the work is linear in the size of
the diff. Each rule has tests in ``tests/unit/review/test_review_secrets.py``.

Placeholders are not reported: values containing ``example``, ``placeholder``, ``dummy``,
``redacted``, ``changeme`` or ``xxxxx``, values of at most three distinct characters or in
alphabetical or numeric sequence. This covers AWS's documented example keys
(``AKIAIOSFODNN7EXAMPLE``, ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``): they appear in
documentation and tests everywhere, and AWS's documentation gives them as examples, not keys.
The generic ``password``/``secret``/``token`` assignments (a quoted literal anywhere; an unquoted
``NAME=value`` in ``.env``, YAML, INI and shell files only) also skip stop words such as
``password123``, templates (``${VAR}``, ``{{ x }}``, ``<token>``, ``%s``), names rather than
values (``"GITHUB_TOKEN"``, ``"db_password"``, ``"authToken"``), paths and URLs, names with ``public`` (``publicKeyToken``), comparisons
(``token == "..."``, common in parsers), and values with ``test``, ``fake``, ``sample``, ``mock``
or ``your``; a value read from ``os.environ[...]`` or ``getenv(...)`` is not a literal and never
matches. Measured on the 1.3 million text lines of this project's virtualenv (third-party code),
as if every line were added: 6 matches, all documentation examples of passwords.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from lfcode.errors import raise_if_cancelled
from lfcode.review.analyzers.base import Analysis, DiffContext, Rule
from lfcode.review.findings import Evidence, Finding, mask_secret
from lfcode.review.hunks import Hunk
from lfcode.review.result import ReviewOptions

__all__ = ["KINDS", "MAX_LINE_CHARS", "SECRETS", "SecretMatch", "SecretsAnalyzer", "find_secrets",
           "redact_secrets", "scan_hunk"]

#: Longer added lines are scanned up to this many characters only (bounded work on hostile input).
MAX_LINE_CHARS = 4000
_PEM_LOOKAHEAD = 4
_SUGGESTION = ("Read it from the environment or a secret store instead. If it is in a local commit, "
               "remove it from that commit too (git commit --amend, git rebase -i): a later commit "
               "deleting it would still push it.")

#: Every kind: rule name (``secrets/<kind>``) -> (human name, SARIF description, what to do).
KINDS: dict[str, tuple[str, str, str]] = {
    "private-key": ("Private key", "A PEM, OpenSSH or PGP private key block.", "replace the key pair"),
    "aws-access-key-id": ("AWS access key id", "An AWS access key id (AKIA or ASIA and 16 characters).",
                          "rotate the key"),
    "aws-secret-access-key": ("AWS secret access key", "A 40-character AWS secret access key assigned "
                              "to an aws...secret...key name.", "rotate the key"),
    "github-token": ("GitHub token", "A GitHub token (ghp_, gho_, ghu_, ghs_, ghr_ or github_pat_).",
                     "revoke the token"),
    "gitlab-token": ("GitLab token", "A GitLab personal access token (glpat-).", "revoke the token"),
    "slack-token": ("Slack token", "A Slack token (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-).",
                    "revoke the token"),
    "slack-webhook-url": ("Slack webhook URL", "A Slack incoming-webhook URL.", "revoke the webhook"),
    "stripe-secret-key": ("Stripe live secret key", "A Stripe live secret or restricted key "
                          "(sk_live_, rk_live_).", "roll the key"),
    "google-api-key": ("Google API key", "A Google API key (AIza and 35 characters).", "regenerate the key"),
    "npm-token": ("npm token", "An npm access token (npm_).", "revoke the token"),
    "pypi-token": ("PyPI token", "A PyPI API token (pypi-AgEIcHlwaS5vcmc...).", "revoke the token"),
    "jwt": ("JSON web token", "A signed JSON web token whose header decodes to JSON with an alg.",
            "revoke the token"),
    "url-credentials": ("Password in a URL", "A URL with user:password@ credentials.",
                        "change the password"),
    "password-assignment": ("Password", "A password-named variable, key or argument given a literal "
                            "of 8 or more characters.", "change the password"),
    "secret-assignment": ("Secret", "A secret-, token- or API-key-named variable, key or argument "
                          "given a literal of 8 or more characters.", "rotate it"),
}

# Fixed-prefix rules: (kind, pattern, detector text). Group 1 is the secret; its first four
# characters are the public prefix, so mask_secret may show them.
_PREFIXED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("aws-access-key-id", re.compile(r"(?<![A-Za-z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])"),
     "the AWS access key id rule (AKIA/ASIA + 16)"),
    ("github-token", re.compile(r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})"
                                r"(?![A-Za-z0-9_])"), "the GitHub token rule"),
    ("gitlab-token", re.compile(r"(?<![A-Za-z0-9_\-])(glpat-[A-Za-z0-9_\-]{20,250})(?![A-Za-z0-9_\-])"),
     "the GitLab token rule (glpat-)"),
    ("slack-token", re.compile(r"(?<![A-Za-z0-9])(xox[abposr]-(?:[0-9]{1,20}-){1,4}[A-Za-z0-9]{8,200})"
                               r"(?![A-Za-z0-9])"), "the Slack token rule (xox?-)"),
    ("stripe-secret-key", re.compile(r"(?<![A-Za-z0-9_])((?:sk|rk)_live_[A-Za-z0-9]{16,247})(?![A-Za-z0-9])"),
     "the Stripe live key rule"),
    ("google-api-key", re.compile(r"(?<![A-Za-z0-9_\-])(AIza[A-Za-z0-9_\-]{35})(?![A-Za-z0-9_\-])"),
     "the Google API key rule (AIza + 35)"),
    ("npm-token", re.compile(r"(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])"), "the npm token rule"),
    ("pypi-token", re.compile(r"(?<![A-Za-z0-9_\-])(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,1000})(?![A-Za-z0-9_\-])"),
     "the PyPI token rule"),
    ("jwt", re.compile(r"(?<![A-Za-z0-9_\-])(eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})"
                       r"(?![A-Za-z0-9_\-])"), "the JSON web token rule"),
)
_PRIVATE_KEY = re.compile(r"-----BEGIN ((?:[A-Z0-9]{1,20} ){0,3})PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY_SAME_LINE = re.compile(r"[A-Za-z0-9+/]{40}")
_PEM_BODY_LINE = re.compile(r"""\s*["'`]?[A-Za-z0-9+/]{20,}={0,2}(?:\\n)?["'`]?\s*[,;+)]?\s*""")
_PEM_HEADER_LINE = re.compile(r"\s*(?:[A-Za-z-]{1,40}:.*)?")  # Proc-Type:, Version:, or blank
_KEY_FILE_SUFFIXES = (".pem", ".key", ".p8", ".ppk", ".asc")
_AWS_SECRET = re.compile(r"(?i)(?<![a-z0-9])aws[_.\-]?secret[_.\-]?(?:access[_.\-]?)?key[\"'`]?\]?[ \t]{0,8}"
                         r"(?::=|=>|=|:)[ \t]{0,8}[\"'`]?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_SLACK_WEBHOOK = re.compile(r"(https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{6,20}/B[A-Z0-9]{6,20}/"
                            r"[A-Za-z0-9]{16,64})(?![A-Za-z0-9])")
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{1,30})://([^\s:/?#@\"'`<>\[\]{}]{1,128}):"
                  r"([^\s/?#@\"'`<>]{1,256})@")
# NAME [": TYPE"] OP "literal" — the name is checked in Python (_assignment_kind).
_ASSIGN = re.compile(r"""(?<![\w.\-])([A-Za-z_][\w.\-]{0,63})["'`]?\]?[ \t]{0,8}"""
                     r"""(?::[ \t]{0,8}[A-Za-z_][\w.\[\]|, ]{0,40}?[ \t]{0,8}=|:=|=>|=|:)[ \t]{0,8}"""
                     r"""(?:[rbuRBU]{1,2})?(["'`])([^"'`\\\s]{8,256})\2""")
# NAME = value without quotes, one per line, in configuration files only (.env, YAML, INI, shell).
_UNQUOTED = re.compile(r"""[ \t]*(?:export[ \t]+|ENV[ \t]+|ARG[ \t]+)?([A-Za-z_][\w.\-]{0,63})[ \t]*[=:][ \t]*"""
                       r"""([^\s"'`#;()\[\]{}]{8,256})(?:[ \t]+[#;].*)?[ \t]*""")
_CONFIG_SUFFIXES = (".env", ".ini", ".cfg", ".conf", ".properties", ".yaml", ".yml", ".sh", ".bash", ".zsh")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "pwd", "pass")
_SECRET_WORDS = ("secret", "token", "apikey", "credential", "credentials")
_SECRET_PAIRS = {("api", "key"), ("secret", "key"), ("access", "key"), ("private", "key"), ("auth", "key"),
                 ("signing", "key"), ("encryption", "key"), ("master", "key"), ("key", "base")}
_STRICT_PLACEHOLDERS = ("example", "placeholder", "dummy", "redacted", "changeme", "change_me", "change-me",
                        "xxxxx")
_LOOSE_PLACEHOLDERS = ("test", "fake", "sample", "mock", "your", "foobar", "todo", "fixme", "insert", "replace",
                       "canary")
_STOP_VALUES = {"password", "passwd", "pass", "secret", "token", "apikey", "key", "value", "none", "null", "nil",
                "undefined", "empty", "default", "changeit", "admin", "root", "user", "username", "guest"}
_SEQUENCES = "|".join(("0123456789abcdefghijklmnopqrstuvwxyz" * 3, "0123456789" * 4))
_TEMPLATE = re.compile(r"\$\{|\{\{|\}\}|%\(|%s|^\$|^<.*>$|^\{.*\}$|^@.*@$")
_IDENTIFIER = re.compile(r"[a-z]+(?:[_.\-][a-z]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z]+(?:[A-Z][a-z]+)+")
_PATH_OR_URL = re.compile(r"(?:/|\./|\.\./|~/|[a-z][a-z0-9+.\-]*://)")


@dataclass(frozen=True)
class SecretMatch:
    """One credential found in a line.

    ``kind`` is a :data:`KINDS` key; ``start``/``end`` are the secret's character span in the
    line (a private key's span is its ``BEGIN`` header); ``shown`` is what reports may print
    instead of it (masked; for a private key, its header, which is not secret, and ``********``
    for the key material); ``detector`` says which rule matched. The secret itself is not kept.
    """

    kind: str
    start: int
    end: int
    shown: str
    detector: str


def _placeholder(value: str, loose: bool) -> bool:
    """A value that is an obvious placeholder (see the module docstring); ``loose`` adds the
    checks for human-typed values (generic assignments, URL passwords)."""
    low = value.lower()
    alnum = "".join(c for c in low if c.isalnum())
    if any(word in low for word in _STRICT_PLACEHOLDERS) or len(set(low)) <= 3:
        return True
    if len(alnum) >= 6 and alnum in _SEQUENCES:
        return True
    if not loose:
        return False
    letters = "".join(c for c in alnum if c.isalpha())
    return (letters in _STOP_VALUES or any(word in low for word in _LOOSE_PLACEHOLDERS)
            or bool(_TEMPLATE.search(value)) or bool(_IDENTIFIER.fullmatch(value))
            or bool(_PATH_OR_URL.match(low)))


def _assignment_kind(name: str) -> str | None:
    """``password-assignment``, ``secret-assignment`` or ``None`` for a variable or key name
    (its last word decides: ``db_password``, ``apiKey``, ``CLIENT_SECRET``, ``SECRET_KEY``)."""
    words = [w.lower() for w in _WORD.findall(name)]
    if not words or "public" in words:  # publicKeyToken, PUBLIC_KEY: not secrets
        return None
    last = words[-1]
    if last in _PASSWORD_WORDS or last.endswith(("password", "passwd", "passphrase")):
        return "password-assignment"
    if last in _SECRET_WORDS or last.endswith(("secret", "token", "apikey")) or tuple(words[-2:]) in _SECRET_PAIRS:
        return "secret-assignment"
    return None


def _jwt_header_ok(token: str) -> bool:
    """The token's first segment decodes (base64url) to a JSON object with an ``alg``."""
    head = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _pem_body_follows(rest: str, following: Sequence[str], path: str) -> bool:
    """Key material follows a ``BEGIN ... PRIVATE KEY`` header: on the same line (``\\n``
    escapes in a string), on one of the next added lines, or the file is a key file by name."""
    if _PEM_BODY_SAME_LINE.search(rest):
        return True
    for line in following[:_PEM_LOOKAHEAD]:
        if _PEM_BODY_LINE.fullmatch(line):
            return True
        if not _PEM_HEADER_LINE.fullmatch(line):
            break
    name = PurePosixPath(path).name.lower()
    return name.endswith(_KEY_FILE_SUFFIXES) or name.startswith("id_")


def _is_config(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name.endswith(_CONFIG_SUFFIXES) or name.startswith(".env") or name in ("dockerfile", "containerfile")


def find_secrets(line: str, path: str = "", following: Sequence[str] = ()) -> list[SecretMatch]:
    """The credentials in one line of text.

    Args:
        line: the line without its diff prefix; only its first :data:`MAX_LINE_CHARS`
            characters are read.
        path: the file's repo-relative path (decides unquoted ``NAME=value`` config lines and
            key files by name).
        following: the next added lines of the hunk, for a private key's body.

    Returns:
        The matches, fixed-prefix rules first; a generic match overlapping an earlier one is
        left out. Never raises.
    """
    line = line[:MAX_LINE_CHARS]
    found: list[SecretMatch] = []

    def add(kind: str, start: int, end: int, shown: str, detector: str) -> None:
        if not any(start < m.end and m.start < end for m in found):
            found.append(SecretMatch(kind, start, end, shown, detector))

    for m in _PRIVATE_KEY.finditer(line):
        if _pem_body_follows(line[m.end():], following, path):
            add("private-key", m.start(), m.end(), f"{m.group(0)} {mask_secret('')}", "the private key block rule")
    for kind, pattern, detector in _PREFIXED:
        for m in pattern.finditer(line):
            secret = m.group(1)
            if _placeholder(secret[4:], loose=False) or (kind == "jwt" and not _jwt_header_ok(secret)):
                continue
            add(kind, m.start(1), m.end(1), mask_secret(secret), detector)
    for m in _AWS_SECRET.finditer(line):
        if not _placeholder(m.group(1), loose=False):
            add("aws-secret-access-key", m.start(1), m.end(1), mask_secret(""), "the AWS secret access key rule")
    for m in _SLACK_WEBHOOK.finditer(line):
        if not _placeholder(m.group(1).rsplit("/", 1)[1], loose=False):
            add("slack-webhook-url", m.start(1), m.end(1), "https://hooks.slack.com/" + mask_secret(""),
                "the Slack webhook URL rule")
    for m in _URL.finditer(line):
        user, password = m.group(2), m.group(3)
        if password != user and not _placeholder(password, loose=True):
            add("url-credentials", m.start(3), m.end(3), f"{m.group(1)}://{mask_secret('')}@",
                "the user:password@ URL rule")
    for m in _ASSIGN.finditer(line):
        kind = _assignment_kind(m.group(1))
        if kind and not _placeholder(m.group(3), loose=True):
            add(kind, m.start(3), m.end(3), mask_secret(""), f"the {KINDS[kind][0].lower()} assignment rule")
    if _is_config(path):
        m = _UNQUOTED.fullmatch(line)
        kind = _assignment_kind(m.group(1)) if m else None
        if m and kind and not _placeholder(m.group(2), loose=True):
            add(kind, m.start(2), m.end(2), mask_secret(""), f"the {KINDS[kind][0].lower()} assignment rule")
    return sorted(found, key=lambda s: s.start)


def redact_secrets(text: str) -> str:
    """``text`` with every credential :func:`find_secrets` finds in it replaced by its masked
    form, line by line (for text that may quote a diff, such as a model's message)."""
    out = []
    for line in text.split("\n"):
        for m in sorted(find_secrets(line), key=lambda s: s.start, reverse=True):
            line = line[:m.start] + m.shown + line[m.end:]
        out.append(line)
    return "\n".join(out)


def scan_hunk(hunk: Hunk) -> tuple[list[tuple[int, SecretMatch]], list[str]]:
    """Scan the added lines of ``hunk``.

    Returns:
        ``([(new_line, match), ...], notes)``; the notes name lines cut to
        :data:`MAX_LINE_CHARS` characters. Removed and context lines are never read.
    """
    added = [(new, line[1:]) for _old, new, line in hunk.numbered() if line[:1] == "+" and new is not None]
    found: list[tuple[int, SecretMatch]] = []
    notes: list[str] = []
    for i, (number, text) in enumerate(added):
        if len(text) > MAX_LINE_CHARS:
            notes.append(f"{hunk.path}:{number}: line longer than {MAX_LINE_CHARS} characters: "
                         f"only its start was scanned for secrets")
        following = []
        for later, later_text in added[i + 1:i + 1 + _PEM_LOOKAHEAD]:
            if later != number + len(following) + 1:
                break
            following.append(later_text[:MAX_LINE_CHARS])
        found.extend((number, m) for m in find_secrets(text, hunk.path, following))
    return found, notes


def _finding(path: str, line: int, match: SecretMatch) -> Finding:
    label, _description, remedy = KINDS[match.kind]
    return Finding(
        path=path, line=line, severity="error", category="security", analyzer="secrets",
        rule=f"secrets/{match.kind}", message=f"{label} `{match.shown}` added: remove it and {remedy}",
        suggestion=_SUGGESTION,
        evidence=Evidence(kind="tool", tool="lfcode secrets", rule=match.kind,
                          text=f"{match.detector} matched `{match.shown}`", line=line),
    )


class SecretsAnalyzer:
    """Credentials on added lines (id ``secrets``; see the module docstring for the rules).

    Stateless and pure (no git, disk or network of its own): one instance serves concurrent
    reviews. ``required``: its failure fails the review closed.
    """

    id = "secrets"
    name = "Secrets"
    description = "Blocks keys, tokens, passwords and private keys on added lines (values masked)."
    rules: tuple[Rule, ...] = tuple(Rule(f"secrets/{kind}", label, text, "error", "security")
                                    for kind, (label, text, _remedy) in KINDS.items())
    required = True

    def check(self, options: ReviewOptions) -> None:
        """Nothing to check: the analyzer has no options (never raises)."""

    def analyze(self, context: DiffContext) -> Analysis:
        """Scan the added lines of every hunk of ``context.jobs()``.

        Returns:
            An :class:`Analysis` with one ``error`` finding per credential (values masked),
            every hunk and path counted, and notes for lines cut to :data:`MAX_LINE_CHARS` and
            for skipped files (never scanned).

        Raises:
            lfcode.errors.Cancelled: ``context.cancel`` was set (checked before each hunk).
        """
        result = Analysis()
        jobs = context.jobs()
        for done, (file, hunk) in enumerate(jobs):
            raise_if_cancelled(context.cancel, f"review cancelled after {done} of {len(jobs)} hunks (secrets)")
            found, notes = scan_hunk(hunk)
            result.findings.extend(_finding(file.path, line, match) for line, match in found)
            result.notes.extend(notes)
            result.hunks_reviewed += 1
            if file.path not in result.paths:
                result.paths.append(file.path)
        skipped = [f.path for f in context.diff.files if f.skipped]
        if skipped:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            result.notes.append(f"{len(skipped)} skipped file(s) not scanned for secrets: {shown}")
        return result


#: The one secrets analyzer (registered as ``secrets`` in :mod:`lfcode.review.analyzers.registry`).
SECRETS = SecretsAnalyzer()
