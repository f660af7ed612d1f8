"""A hostile repository and a user's machine to attack, for the security tests.

The "machine" is a temporary ``HOME`` with its own ``~/.bashrc``, ``~/.ssh/id_rsa`` and
``~/.config/lfcode/config.toml`` (the user's config). The user's config points ``model`` at a
file that does not exist, so that nothing heavy loads: whatever a repository tries, lfcode then
has no model and must fail safely (closed) rather than do what the repository asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import git

from tests.conftest import GUARD

BASHRC = "# the user's own shell start-up file\nexport PS1='$ '\n"
SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- lfcode-canary-7f3a -----END OPENSSH PRIVATE KEY-----\n"



@dataclass
class Machine:
    """The user's side: ``home`` (with ``.bashrc`` and ``.ssh/id_rsa``) and ``env`` for lfcode."""

    home: Path
    env: dict[str, str]

    @property
    def bashrc(self) -> Path:
        return self.home / ".bashrc"

    def untouched(self) -> bool:
        """True when the user's start-up file and key are exactly as they were."""
        return self.bashrc.read_text() == BASHRC and (self.home / ".ssh" / "id_rsa").read_text() == SECRET

    def user_config(self, text: str) -> None:
        """Write the user's own ``~/.config/lfcode/config.toml`` (machine-level settings)."""
        (self.home / ".config" / "lfcode" / "config.toml").write_text(text)


def make_machine(tmp_path: Path) -> Machine:
    """A fresh HOME and an environment with no ``LFCODE_*`` variable and no git identity leak."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".config" / "lfcode").mkdir(parents=True)
    (home / ".bashrc").write_text(BASHRC)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LFCODE_", "GIT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    (tmp_path / "gitconfig").write_text('[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n')
    machine = Machine(home, env)
    machine.user_config(f'model = "{tmp_path / "no-model-here.gguf"}"\n')
    return machine


def make_repo(root: Path, env: dict[str, str], files: dict[str, str]) -> git.Repo:
    """A repository with ``calc.py`` committed and then changed (one hunk to review), plus
    ``files`` (the attacker's configuration) committed with it."""
    root.mkdir(parents=True)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.git.custom_environment(**{k: v for k, v in env.items() if k.startswith("GIT_")}):
        (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        for name, text in files.items():
            (root / name).write_text(text)
        repo.git.add("-A")
        repo.git.commit("-m", "initial")
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return repo


def fake_script(path: Path, responses: list[str] | None = None, default: str = "[]", **extra: object) -> Path:
    """A fake-backend script (``extra`` adds keys, such as an attacker's ``record``)."""
    path.write_text(json.dumps({"responses": responses or [], "default": default, **extra}))
    return path


def run_lfcode(args: list[str], cwd: Path, env: dict[str, str], guard_log: Path | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the lfcode CLI as a user would, optionally under :data:`GUARD`."""
    code = f"import sys\nsys.argv = ['lfcode', *{args!r}]\nfrom lfcode.cli import main\nmain()\n"
    if guard_log is not None:
        code = GUARD.format(log=str(guard_log)) + code
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
