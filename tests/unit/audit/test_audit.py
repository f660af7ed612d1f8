"""The audit log (issue 16, part 6): records per model call, the hash chain, tamper detection,
fail-closed writing, machine-level setting."""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from lfcode.audit import GENESIS, AuditedBackend, AuditError, AuditLog, audit_path, model_identity, verify_log
from lfcode.backends import make_backend
from lfcode.backends.base import BackendError, ChatMessage, GenerationRequest, UnavailableBackend
from lfcode.backends.fake import FakeBackend
from lfcode.backends.generation import generate_text
from lfcode.cli import cli
from lfcode.settings import Settings, load_settings


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def audited(tmp_path: Path, *responses: str, full: bool = False) -> AuditedBackend:
    return AuditedBackend(FakeBackend(list(responses)), AuditLog(tmp_path / "audit.jsonl"), "fake", {"name": "fake"}, full=full)


def lines(backend: AuditedBackend) -> list[bytes]:
    return backend.log.path.read_bytes().splitlines()


def records(backend: AuditedBackend) -> list[dict]:
    return [json.loads(line) for line in lines(backend)]


def run(backend, prompt: str = "def add(a, b):", feature: str | None = "completion") -> str:
    return "".join(backend.complete(GenerationRequest(prompt=prompt, feature=feature), threading.Event()))


def test_one_record_per_call_with_hashes_tokens_and_the_chain(tmp_path: Path) -> None:
    backend = audited(tmp_path, "return a + b", "It adds.")
    assert run(backend) == "return a + b"
    messages = [ChatMessage(role="user", content="explain add")]
    chat = backend.chat(messages, GenerationRequest(prompt="", feature="explain"), threading.Event())
    assert "".join(chat) == "It adds."
    first, second = records(backend)
    assert first["prev"] == GENESIS and second["prev"] == sha(lines(backend)[0])
    assert (first["feature"], first["backend"], first["model"], first["kind"], first["outcome"]) == (
        "completion", "fake", {"name": "fake"}, "complete", "done")
    assert first["prompt_sha256"] == sha("def add(a, b):") and first["answer_sha256"] == sha("return a + b")
    assert (first["prompt_tokens"], first["answer_tokens"]) == (10, 7)  # the fake's word/space/punctuation pieces
    assert datetime.fromisoformat(first["time"]).utcoffset().total_seconds() == 0
    assert (second["feature"], second["kind"]) == ("explain", "chat")
    assert second["prompt_sha256"] == sha('[{"role":"user","content":"explain add"}]')
    assert "prompt" not in first and "answer" not in second  # hashes only by default
    assert backend.log.path.stat().st_mode & 0o777 == 0o600
    assert backend.log.path.parent.stat().st_mode & 0o777 == 0o700


def test_full_mode_also_stores_the_texts(tmp_path: Path) -> None:
    backend = audited(tmp_path, "return a + b", "It adds.", full=True)
    run(backend)
    "".join(backend.chat([ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content="why")],
                         GenerationRequest(prompt=""), threading.Event()))
    first, second = records(backend)
    assert (first["prompt"], first["answer"]) == ("def add(a, b):", "return a + b")
    assert second["prompt"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why"}]
    assert second["answer"] == "It adds." and second["feature"] is None


def test_outcomes_closed_cancelled_and_error(tmp_path: Path) -> None:
    backend = audited(tmp_path, "one two three", "alpha beta gamma")
    stream = backend.complete(GenerationRequest(prompt="p"), threading.Event())
    assert next(stream) == "one"
    stream.close()  # the caller stops early
    cancel = threading.Event()
    got = []
    for piece in backend.complete(GenerationRequest(prompt="p"), cancel):
        got.append(piece)
        cancel.set()
    failing = AuditedBackend(UnavailableBackend("no model here"), backend.log, "fake", {"name": "fake"})
    with pytest.raises(BackendError, match="no model here"):
        failing.complete(GenerationRequest(prompt="p", feature="review"), threading.Event())
    closed, cancelled, error = records(backend)
    assert (closed["outcome"], closed["answer_sha256"]) == ("closed", sha("one"))
    assert (cancelled["outcome"], cancelled["answer_sha256"], got) == ("cancelled", sha("alpha"), ["alpha"])
    assert (error["outcome"], error["feature"], error["answer_sha256"]) == ("error", "review", sha(""))
    assert error["error"] == "BackendError: no model here" and error["prompt_tokens"] is None  # tokenize failed too
    assert verify_log(backend.log.path).problem is None


class MidwayFailure(FakeBackend):
    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        yield "partial"
        raise BackendError("the server died")


def test_a_failure_mid_stream_is_recorded_with_what_was_delivered(tmp_path: Path) -> None:
    backend = AuditedBackend(MidwayFailure(), AuditLog(tmp_path / "a.jsonl"), "openai", {"url": "http://127.0.0.1:1/v1"})
    with pytest.raises(BackendError, match="server died"):
        run(backend)
    [record] = records(backend)
    assert (record["outcome"], record["answer_sha256"], record["model"]) == ("error", sha("partial"), {"url": "http://127.0.0.1:1/v1"})


def test_generate_text_closes_a_stream_it_stops_early_so_the_record_is_written_at_once(tmp_path: Path) -> None:
    backend = audited(tmp_path, "a b c d")
    text = generate_text(backend, "p", GenerationRequest(prompt=""), threading.Event(), enough=lambda t: "b" in t)
    assert text == "a b"
    assert [r["outcome"] for r in records(backend)] == ["closed"]


def test_make_backend_wraps_only_when_audit_log_is_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert isinstance(make_backend(Settings(backend="fake")), FakeBackend)
    backend = make_backend(Settings(backend="fake", audit_log="full"))
    assert isinstance(backend, AuditedBackend) and backend.full
    assert backend.log.path == tmp_path / "data" / "lfcode" / "audit.jsonl" == audit_path()
    backend.queue("x")  # the fake's own methods and attributes pass through
    assert backend.prefill("abc", threading.Event()) == 1 and backend.prefilled == ["abc"]
    assert run(backend) == "x" and len(backend.requests) == 1


def test_audit_path_follows_xdg_and_ignores_a_relative_one(tmp_path: Path) -> None:
    assert audit_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "lfcode" / "audit.jsonl"
    assert audit_path({"XDG_DATA_HOME": "rel/dir"}) == Path.home() / ".local" / "share" / "lfcode" / "audit.jsonl"


def test_model_identity_sha256_of_files_url_of_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lfcode.audit import backend as module
    from lfcode.backends import embedded
    from lfcode.backends.openai_http import OpenAIBackend

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF weights")
    in_process = SimpleNamespace(model_path=gguf)
    hashed: list[Path] = []
    monkeypatch.setattr(embedded, "sha256_file", lambda p: hashed.append(p) or sha(p.read_bytes()))
    settings = Settings(model=str(gguf))
    assert model_identity(in_process, settings) == {"sha256": sha(b"GGUF weights"), "path": str(gguf)}
    assert model_identity(in_process, settings)["sha256"] == sha(b"GGUF weights") and hashed == [gguf]  # cached
    gguf.write_bytes(b"other weights!")  # size and mtime change: hashed again
    assert model_identity(in_process, settings)["sha256"] == sha(b"other weights!") and len(hashed) == 2
    assert model_identity(in_process, Settings())["sha256"] == embedded.SHA256 and len(hashed) == 2  # pinned, not re-hashed
    server = OpenAIBackend("http://127.0.0.1:9/v1")
    try:
        assert model_identity(server, Settings(backend="openai")) == {"url": "http://127.0.0.1:9/v1"}
    finally:
        server.close()
    missing = SimpleNamespace(model_path=tmp_path / "gone.gguf")
    with pytest.raises(BackendError, match="cannot hash the model"):
        model_identity(missing, settings)
    assert module._HASHES  # the in-memory cache is keyed by (path, size, mtime)


def write_log(tmp_path: Path, n: int = 4) -> Path:
    backend = audited(tmp_path, *[f"answer {i}" for i in range(n)])
    for i in range(n):
        run(backend, prompt=f"prompt {i}")
    return backend.log.path


def test_verify_accepts_an_intact_log_at_the_default_path(tmp_path: Path) -> None:
    path = write_log(tmp_path / "lfcode")
    result = CliRunner().invoke(cli, ["audit", "verify"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("audit log OK: 4 records, last record sha256 ")
    assert sha(path.read_bytes().splitlines()[-1]) in result.output


def tampered(tmp_path: Path, change) -> tuple[int, str]:
    path = write_log(tmp_path)
    original = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(change(original)))
    result = CliRunner().invoke(cli, ["audit", "verify", "--file", str(path)])
    return result.exit_code, result.output


def edit_second(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[1])
    record["feature"] = "review"
    return [lines[0], json.dumps(record, separators=(",", ":")).encode() + b"\n", *lines[2:]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (edit_second, "line 3: prev does not match line 2: a line was edited, deleted or moved"),
        (lambda ls: [ls[0], *ls[2:]], "line 2: prev does not match line 1"),
        (lambda ls: ls[1:], "line 1: prev is not 00000000"),
        (lambda ls: [ls[0], ls[2], ls[1], ls[3]], "line 2: prev does not match line 1"),
        (lambda ls: [*ls[:3], ls[3][:40]], "line 4: not a JSON record: it was edited or cut short"),
        (lambda ls: [*ls[:3], ls[3][:-1]], "line 4: no newline at the end: the last record was cut short"),
        (lambda ls: [ls[0], b"{}\n", *ls[1:]], "line 2: not an audit record (no prev field)"),
    ],
    ids=["edit", "delete", "delete-first", "reorder", "truncate-last", "cut-newline", "insert"],
)
def test_verify_exits_1_naming_the_first_bad_line(tmp_path: Path, change, expected: str) -> None:
    code, output = tampered(tmp_path, change)
    assert code == 1 and expected in output, output


def test_verify_a_missing_log_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--file", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "no audit log at" in result.output


def test_a_record_after_a_cut_line_starts_its_own_line(tmp_path: Path) -> None:
    path = write_log(tmp_path, 2)
    path.write_bytes(path.read_bytes()[:-10])
    backend = audited(tmp_path, "more")
    run(backend)
    assert len(path.read_bytes().splitlines()) == 3 and json.loads(path.read_bytes().splitlines()[-1])["outcome"] == "done"
    assert verify_log(path).problem == "line 2: not a JSON record: it was edited or cut short"


def test_a_project_file_cannot_turn_the_audit_log_on_or_off(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lfcode.toml").write_text("audit_log = true\nmax_tokens = 20\n")
    layers = load_settings(project, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert layers.settings.audit_log is False and layers.settings.max_tokens == 20
    assert "audit_log" in str(layers.problems[0]) and layers.problems[0].kind == "untrusted"
    (project / "lfcode.toml").write_text("audit_log = false\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "LFCODE_AUDIT_LOG": "Full"}
    assert load_settings(project, env).settings.audit_log == "full"
    config = tmp_path / "xdg" / "lfcode"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("audit_log = true\n")
    assert load_settings(project, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}).settings.audit_log is True
    bad = load_settings(None, {"XDG_CONFIG_HOME": str(tmp_path / "none"), "LFCODE_AUDIT_LOG": "partial"})
    assert bad.settings.audit_log is False and bad.problems[0].key == "audit_log"


def test_an_unwritable_log_stops_the_call_before_the_model_sees_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("not a folder")  # refused even for root, unlike chmod
    inner = FakeBackend(["secret answer"])
    backend = AuditedBackend(inner, AuditLog(tmp_path / "file" / "lfcode" / "audit.jsonl"), "fake", {"name": "fake"})
    with pytest.raises(AuditError, match=r"cannot open the audit log .*file/lfcode/audit.jsonl: .*audit_log is on"):
        run(backend)
    assert inner.requests == []
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "file"))
    with pytest.raises(BackendError, match="cannot open the audit log"):
        make_backend(Settings(backend="fake", audit_log=True))


def test_a_record_that_cannot_be_written_withholds_the_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = audited(tmp_path, "secret answer", "streamed answer")
    backend.log.check()

    def full_disk(fd: int, operation: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lfcode.audit.log.fcntl", SimpleNamespace(LOCK_EX=fcntl.LOCK_EX, flock=full_disk))
    with pytest.raises(AuditError, match="cannot write to the audit log .*No space left on device"):
        generate_text(backend, "p", GenerationRequest(prompt=""), threading.Event())
    stream = backend.complete(GenerationRequest(prompt="p"), threading.Event())
    with pytest.raises(AuditError):
        list(stream)
    assert backend.log.path.read_bytes() == b""


def test_two_threads_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        backend = AuditedBackend(FakeBackend(default=f"{name} says hi"), AuditLog(path), "fake", {"name": name})
        start.wait()
        try:
            for i in range(40):
                run(backend, prompt=f"{name} {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = verify_log(path)
    assert (check.problem, check.records) == (None, 80)
    names = [json.loads(line)["model"]["name"] for line in path.read_bytes().splitlines()]
    assert names.count("a") == names.count("b") == 40


def test_every_feature_names_itself_in_the_requests_it_builds() -> None:
    import ast

    from tests.conftest import ROOT

    found = {}
    for path in sorted((ROOT / "lfcode").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "GenerationRequest":
                keyword = next((k.value for k in node.keywords if k.arg == "feature"), None)
                found[f"{path.relative_to(ROOT)}:{node.lineno}"] = ast.unparse(keyword) if keyword is not None else None
    assert len(found) >= 6 and None not in found.values(), found
    assert {"'completion'", "'explain'", "'testgen'", "'review'"} <= set(found.values())


def test_any_text_makes_a_valid_record(tmp_path: Path) -> None:
    backend = audited(tmp_path, "réponse ✓", full=True)
    run(backend, prompt="x = '\udcff' # é")
    [record] = records(backend)
    assert record["prompt"] == "x = '\udcff' # é" and record["answer"] == "réponse ✓"
    assert record["answer_sha256"] == sha("réponse ✓") and verify_log(backend.log.path).records == 1
