"""The secrets analyzer: each kind of credential on an added line is an ``error`` that names a
masked value; removed and context lines, placeholders and ordinary code give nothing; no output
format repeats a secret; the ``lfcode review --analyzers secrets`` command blocks the push.

Every secret here is fake but realistic (random characters after the real prefix, never AWS's
documented example), and is assembled at run time so that this file holds none itself.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from lfcode.backends.fake import FakeBackend
from lfcode.review.analyzers import registry
from lfcode.review.analyzers import secrets as secrets_module
from lfcode.review.analyzers.base import ReviewIncomplete, run_analyzers
from lfcode.review.analyzers.secrets import KINDS, MAX_LINE_CHARS, SECRETS, find_secrets, redact_secrets
from lfcode.review.diff import ReviewError
from lfcode.review.report_text import format_result
from lfcode.review.result import ReviewOptions, ReviewResult
from tests.conftest import ROOT
from tests.unit.review.gitutil import commit, isolated_git, make_repo, write  # noqa: F401

B62 = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def fake(prefix: str, n: int, chars: str = B62) -> str:
    """``prefix`` plus ``n`` characters drawn from ``chars`` (seeded: the same every run)."""
    rng = random.Random(f"{prefix}/{n}/{chars}")
    return prefix + "".join(rng.choice(chars) for _ in range(n))


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


AWS_ID = fake("AK" + "IA", 16, UPPER)
AWS_SECRET = fake("", 40, B62 + "/+")
GITHUB = fake("gh" + "p_", 36)
GITHUB_PAT = fake("github" + "_pat_", 22) + "_" + fake("", 59)
GITLAB = fake("gl" + "pat-", 20)
SLACK = "xo" + "xb-" + fake("", 12, string.digits) + "-" + fake("", 13, string.digits) + "-" + fake("", 24)
SLACK_HOOK_SECRET = fake("", 24)
SLACK_HOOK = "https://hooks.slack.com/services/" + fake("T", 8, UPPER) + "/" + fake("B", 8, UPPER) + "/" + SLACK_HOOK_SECRET
STRIPE = fake("sk" + "_live_", 24)
GOOGLE = fake("AI" + "za", 35, B62 + "_-")
NPM = fake("np" + "m_", 36)
PYPI = fake("pypi-" + "AgEIcHlwaS5vcmc", 70, B62 + "_-")
JWT = b64url({"alg": "HS256", "typ": "JWT"}) + "." + b64url({"sub": "4417", "name": "ci"}) + "." + fake("", 43, B62 + "_-")
PEM_BODY = [fake("MIIEow", 58, B62 + "+/"), fake("", 64, B62 + "+/"), fake("", 40, B62 + "+/") + "=="]
PASSWORD = fake("", 16, B62 + "!#")
URL_PASSWORD = fake("", 18)
CLIENT_SECRET = fake("", 32)
ENV_TOKEN = fake("", 28)

#: kind, file, its lines, the secret, the 1-based line the finding must be on.
CASES = [
    ("aws-access-key-id", "app.py", ["import boto3", f'KEY_ID = "{AWS_ID}"'], AWS_ID, 2),
    ("aws-secret-access-key", "settings.py", ["x = 1", f'aws_secret_access_key = "{AWS_SECRET}"'], AWS_SECRET, 2),
    ("github-token", "ci.py", [f'GH = "{GITHUB}"'], GITHUB, 1),
    ("github-token", "ci.js", ["// deploy", "", f"const auth = '{GITHUB_PAT}';"], GITHUB_PAT, 3),
    ("gitlab-token", "gl.py", [f"requests.get(url, headers={{'PRIVATE-TOKEN': '{GITLAB}'}})"], GITLAB, 1),
    ("slack-token", "bot.py", [f'client = WebClient("{SLACK}")'], SLACK, 1),
    ("slack-webhook-url", "notify.sh", [f"curl -X POST {SLACK_HOOK}"], SLACK_HOOK_SECRET, 1),
    ("stripe-secret-key", "pay.rb", [f"Stripe.api_key = '{STRIPE}'"], STRIPE, 1),
    ("google-api-key", "maps.ts", [f"const maps = load('{GOOGLE}')"], GOOGLE, 1),
    ("npm-token", ".npmrc", [f"//registry.npmjs.org/:_authToken={NPM}"], NPM, 1),
    ("pypi-token", ".pypirc", ["[pypi]", "username = __token__", f"password = {PYPI}"], PYPI, 3),
    ("jwt", "api_test_data.py", [f'HEADERS = {{"Authorization": "Bearer {JWT}"}}'], JWT, 1),
    ("private-key", "deploy/key.txt", ["-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"],
     PEM_BODY[1], 1),
    ("url-credentials", "db.py", [f'DATABASE_URL = "postgres://app:{URL_PASSWORD}@db.internal:5432/app"'], URL_PASSWORD, 1),
    ("password-assignment", "conn.py", ["def connect():", f'    return db.connect(user="app", password="{PASSWORD}")'],
     PASSWORD, 2),
    ("secret-assignment", "config.json", ["{", f'  "client_secret": "{CLIENT_SECRET}"', "}"], CLIENT_SECRET, 2),
    ("secret-assignment", ".env", ["DEBUG=1", f"API_TOKEN={ENV_TOKEN}"], ENV_TOKEN, 2),
]


def review(repo: git.Repo, options: ReviewOptions | None = None) -> ReviewResult:
    return run_analyzers(repo.working_tree_dir, options or ReviewOptions(), FakeBackend(default="[]"), [SECRETS])


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    r = make_repo(tmp_path / "work")
    commit(r, {"README.md": "# demo\n"}, "first")
    yield r
    r.close()


@pytest.mark.parametrize(("kind", "path", "lines", "secret", "line"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_kind_on_an_added_line_is_an_error_with_the_value_masked(
    repo: git.Repo, kind: str, path: str, lines: list[str], secret: str, line: int
) -> None:
    write(repo, {path: "\n".join(lines) + "\n"})
    result = review(repo)
    assert [(f.path, f.line, f.rule) for f in result.findings] == [(path, line, f"secrets/{kind}")]
    finding = result.findings[0]
    assert (finding.severity, finding.category, finding.analyzer) == ("error", "security", "secrets")
    assert finding.evidence is not None
    assert (finding.evidence.kind, finding.evidence.tool, finding.evidence.rule, finding.evidence.line) == (
        "tool", "lfcode secrets", kind, line)
    assert "********" in finding.message and "********" in finding.evidence.text
    assert "added: remove it and" in finding.message
    assert secret not in finding.model_dump_json() and secret[4:] not in finding.model_dump_json()


def test_the_message_keeps_only_a_public_prefix() -> None:
    [aws] = find_secrets(f'KEY_ID = "{AWS_ID}"')
    [password] = find_secrets(f'password = "{PASSWORD}"')
    assert aws.shown == "AKIA********"
    assert password.shown == "********"  # a password's first characters are secret too


def test_removed_and_context_lines_are_not_scanned(repo: git.Repo) -> None:
    commit(repo, {"old.py": f'KEY_ID = "{AWS_ID}"\nx = 1\n', "gone.py": f'TOKEN = "{GITHUB}"\ny = 2\n'}, "leak")
    write(repo, {"old.py": f'KEY_ID = "{AWS_ID}"\nx = 2\n', "gone.py": "y = 2\n"})
    result = review(repo)
    assert result.findings == []
    assert result.hunks_reviewed == 2 and sorted(result.paths) == ["gone.py", "old.py"]


def test_a_deleted_file_and_a_pure_rename_give_no_finding(repo: git.Repo) -> None:
    commit(repo, {"keys.py": f'KEY_ID = "{AWS_ID}"\n', "doomed.py": f'TOKEN = "{GITHUB}"\n'}, "leak")
    repo.git.mv("keys.py", "renamed.py")
    repo.git.rm("doomed.py")
    assert review(repo).findings == []


def test_an_ordinary_code_change_gives_no_finding(repo: git.Repo) -> None:
    write(repo, {"m.py": "def set_password(user, password: str) -> None:\n"
                         "    user.password = hash_password(password)\n"
                         "    token = request.headers.get('X-Token')\n"
                         "    max_tokens = 256\n"})
    result = review(repo)
    assert result.findings == [] and result.hunks_reviewed == 1 and result.paths == ["m.py"]


PLACEHOLDERS = [
    'password = "changeme"',
    'PASSWORD = "xxxxxxxxxxxx"',
    'token = "<token>"',
    'api_key = "<YOUR_API_KEY>"',
    'password = os.environ["DB_PASSWORD"]',
    'password = os.getenv("DB_PASSWORD", "")',
    'secret = getenv("SECRET")',
    'password: "${DB_PASSWORD}"',
    'token: "{{ vault_token }}"',
    'password = "%s" % value',
    'token_env = "GITHUB_TOKEN"',
    'STORAGE_TOKEN = "authToken"',
    'secret_name = "prod-db-password"',
    'token_url = "https://example.com/oauth/token"',
    'password = "password123"',
    'password = "test-password-1"',
    'client_secret = "your-client-secret"',
    'KEY_ID = "AKIAIOSFODNN7EXAMPLE"',
    'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    'KEY_ID = "AKIA" "XXXXXXXXXXXXXXXX"',
    "KEY_ID = 'AKIAXXXXXXXXXXXXXXXX'",
    "KEY_ID = 'AKIA0123456789ABCDEF'",
    "GH = 'ghp_" + "x" * 36 + "'",
    'url = "postgres://postgres:postgres@localhost/db"',
    'url = "https://user:${PASSWORD}@host/x"',
    'url = "https://host:8443/path@v2"',
    'if text.startswith("-----BEGIN RSA PRIVATE KEY-----"):',
    "not_a_jwt = 'eyJ" + "a" * 20 + "." + "b" * 20 + "." + "c" * 20 + "'",
    'prompt = "Enter your password:"',
    'elif token == "#bygroup":',  # a comparison, as parsers and lexers write them
    '<assemblyIdentity publicKeyToken="1fc8b3b9a1e18e3b"/>',  # public, by name
]


@pytest.mark.parametrize("line", PLACEHOLDERS)
def test_placeholders_and_references_are_not_flagged(line: str) -> None:
    assert find_secrets(line, "conf.py") == []


def test_placeholders_give_no_finding_in_a_review(repo: git.Repo) -> None:
    write(repo, {"conf.py": "\n".join(PLACEHOLDERS) + "\n", ".env.example": "API_TOKEN=${API_TOKEN}\nPASSWORD=changeme\n"})
    result = review(repo)
    assert result.findings == [] and result.hunks_reviewed == 2


def test_a_private_key_header_needs_key_material_or_a_key_file() -> None:
    header = "-----BEGIN OPENSSH PRIVATE KEY-----"
    assert find_secrets(header, "parser.py", ["    return True"]) == []
    assert [m.kind for m in find_secrets(header, "parser.py", [PEM_BODY[0]])] == ["private-key"]
    assert [m.kind for m in find_secrets(header, "home/.ssh/id_ed25519")] == ["private-key"]
    pgp = find_secrets("-----BEGIN PGP PRIVATE KEY BLOCK-----", "k.txt", ["Version: 1", "", PEM_BODY[1]])
    assert [m.shown for m in pgp] == ["-----BEGIN PGP PRIVATE KEY BLOCK----- ********"]


def test_the_secret_is_absent_from_every_output_format(repo: git.Repo) -> None:
    planted = [AWS_ID, GITHUB, STRIPE, PASSWORD, URL_PASSWORD, JWT, PEM_BODY[1]]
    write(repo, {"leak.py": (f'KEY_ID = "{AWS_ID}"\nGH = "{GITHUB}"\nSTRIPE = "{STRIPE}"\n'
                             f'db_password = "{PASSWORD}"\nURL = "mysql://root:{URL_PASSWORD}@db/app"\n'
                             f'JWT = "{JWT}"\nKEY = """-----BEGIN PRIVATE KEY-----\n' + "\n".join(PEM_BODY) +
                             '\n-----END PRIVATE KEY-----"""\n')})
    result = review(repo)
    assert len(result.findings) == 7
    for fmt in ("text", "json", "sarif"):
        out = format_result(result, fmt)
        assert "AKIA********" in out and "ghp_********" in out, fmt
        for secret in planted:
            assert secret not in out and secret[4:24] not in out, (fmt, secret[:4])
    sarif = json.loads(format_result(result, "sarif"))["runs"][0]
    assert {r["ruleId"] for r in sarif["results"]} >= {"secrets/aws-access-key-id", "secrets/private-key"}
    assert all(r["level"] == "error" for r in sarif["results"])


def test_long_lines_are_cut_with_a_note_and_scanning_stays_fast(repo: git.Repo) -> None:
    early, late = f'KEY_ID = "{AWS_ID}" ', f' GH = "{GITHUB}"'
    write(repo, {"min.js": early + "x" * (MAX_LINE_CHARS * 2) + late + "\n"})
    result = review(repo)
    assert [f.rule for f in result.findings] == ["secrets/aws-access-key-id"]
    assert any(f"longer than {MAX_LINE_CHARS}" in note for note in result.notes)
    hostile = ["a=" * 2000, "://" * 1333, 'password: "' + "a." * 1990, "x:" * 2000, ("a://b:" + "c" * 200) * 19,
               "eyJ" + "a" * 3997, ("-----BEGIN " + "A " * 3) * 200, ('pwd = "' + "a" * 300) * 12]
    start = time.perf_counter()
    for line in hostile:
        find_secrets(line, ".env", [line] * 4)
    assert time.perf_counter() - start < 2.0  # linear patterns: milliseconds; backtracking: minutes


def test_redact_secrets_masks_what_it_finds() -> None:
    text = f"the model says: key {AWS_ID} and token {GITHUB} leak\nsecond line"
    redacted = redact_secrets(text)
    assert AWS_ID not in redacted and GITHUB not in redacted
    assert redacted == "the model says: key AKIA******** and token ghp_******** leak\nsecond line"


def test_it_is_registered_before_the_model_and_required() -> None:
    ids = list(registry.ANALYZERS)
    assert registry.ANALYZERS["secrets"] is SECRETS and ids.index("secrets") < ids.index("model")
    assert SECRETS.required
    assert {r.id for r in SECRETS.rules} == {f"secrets/{k}" for k in KINDS}
    assert all(r.level == "error" and r.category == "security" for r in SECRETS.rules)


def test_its_failure_fails_the_review_closed(repo: git.Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    write(repo, {"a.py": "x = 1\n"})

    def broken(hunk: object) -> None:
        raise ReviewError("detector exploded")

    monkeypatch.setattr(secrets_module, "scan_hunk", broken)
    with pytest.raises(ReviewIncomplete, match="secrets analyzer failed"):
        review(repo)


def test_the_cli_blocks_a_pushed_aws_key_and_masks_it(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main").close()
    work = make_repo(tmp_path / "work")
    commit(work, {"app.py": "print('hi')\n"}, "first")
    work.create_remote("origin", str(origin))
    work.git.push("-u", "origin", "main")
    commit(work, {"app.py": f"print('hi')\nKEY_ID = '{AWS_ID}'\n"}, "add the key")
    work.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFCODE_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "lfcode", "review", "--analyzers", "secrets", "--format", "json"],
                         cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert AWS_ID not in run.stdout and AWS_ID not in run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["path"], f["line"], f["rule"], f["severity"]) for f in findings] == [
        ("app.py", 2, "secrets/aws-access-key-id", "error")]
    assert "AKIA********" in findings[0]["message"]
