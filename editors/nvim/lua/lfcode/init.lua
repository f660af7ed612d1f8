--- lfcode for Neovim: a thin client of `lfcode serve`.
---
--- Every feature comes from the language server through the standard LSP: this module only
--- configures and starts the server (`vim.lsp.config` / `vim.lsp.enable`, Neovim 0.11+), passes
--- the settings as `init_options`, binds the inline-completion keys, tracks the `lfcode/status`
--- notification and fills the quickfix list with review findings.
---
--- ```lua
--- require("lfcode").setup({
---   cmd = { "lfcode", "serve" },            -- the server command
---   settings = { max_tokens = 64 },         -- README's settings table, flat snake_case keys
--- })
--- ```
local M = {}

local NAME = "lfcode"
local uv = vim.uv or vim.loop

--- Filetypes the server parses with tree-sitter (it completes any text; extend as you like,
--- or set `filetypes = "*"` for every filetype).
local FILETYPES = {
  "python", "javascript", "javascriptreact", "typescript", "typescriptreact",
  "go", "rust", "java", "c", "cpp",
}

M.defaults = {
  --- The server command; the review CLI and `--version` are derived from it (see below).
  cmd = { "lfcode", "serve" },
  filetypes = FILETYPES,
  root_markers = { "lfcode.toml", "pyproject.toml", ".git" },
  --- Server settings, sent as `initializationOptions` (flat snake_case keys, see README).
  settings = {},
  --- Use LSP inline completion (ghost text) on Neovim 0.12+; older versions and `false` fall
  --- back to completion items (`vim.lsp.completion`).
  inline_completion = true,
  --- Insert-mode keys for inline completion; set one to `false` to leave it unmapped.
  keymaps = { accept = "<Tab>", next = "<M-]>", prev = "<M-[>" },
  --- The completion-item fallback: trigger automatically while typing.
  completion = { autotrigger = true },
  review = {
    --- "auto": `workspace/executeCommand lfcode.review` when the server offers it, else the CLI;
    --- "lsp" or "cli" to force one.
    via = "auto",
    --- The CLI command without the format flag; default: `cmd` with `serve` replaced by `review`.
    cmd = nil,
    --- `arguments` of the `lfcode.review` command.
    arguments = nil,
    --- Open the quickfix window when there are findings.
    open = true,
    timeout_ms = 10 * 60 * 1000,
  },
  --- Command printing the version (`:checkhealth lfcode`); default: `cmd` with `serve`
  --- replaced by `--version`.
  version_cmd = nil,
}

---@type table? the merged options once `setup()` ran
M.config = nil

--- `lfcode/status` per client id: `{ state = "loading"|"ready"|"error", message = "..." }`.
M.states = {}

--- The last `:LfcodeReview`: `{ source = "lsp"|"cli", findings = {...}, notes = {...},
--- items = <quickfix items>, error = "..."? }`.
M.last_review = nil

local function notify(msg, level)
  vim.notify("lfcode: " .. msg, level or vim.log.levels.INFO)
end

--- `true` when this Neovim has LSP inline completion (0.12+).
function M.has_inline_completion()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

local function config()
  return M.config or vim.deepcopy(M.defaults)
end

--- `cmd` up to (not including) its `serve` argument, followed by `extra`.
local function derive(cmd, extra)
  local out = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      break
    end
    table.insert(out, part)
  end
  if #out == #cmd then -- no "serve": assume the executable is the first word
    out = { cmd[1] }
  end
  vim.list_extend(out, extra)
  return out
end

--- The command printing the server's version.
function M.version_cmd()
  local cfg = config()
  return cfg.version_cmd or derive(cfg.cmd, { "--version" })
end

--- The review CLI command (without `--format json`).
function M.review_cmd()
  local cfg = config()
  return cfg.review.cmd or derive(cfg.cmd, { "review" })
end

--- The running lfcode clients, those attached to `bufnr` first.
function M.clients(bufnr)
  local out = vim.lsp.get_clients({ name = NAME, bufnr = bufnr })
  if bufnr then
    local seen = {}
    for _, c in ipairs(out) do
      seen[c.id] = true
    end
    for _, c in ipairs(vim.lsp.get_clients({ name = NAME })) do
      if not seen[c.id] then
        table.insert(out, c)
      end
    end
  end
  return out
end

--- The model status of the lfcode client of `bufnr` (current buffer by default):
--- `{ state = "loading"|"ready"|"error", message = "..." }`, or nil without a client.
function M.status_info(bufnr)
  local client = M.clients(bufnr or vim.api.nvim_get_current_buf())[1]
  if not client then
    return nil
  end
  return M.states[client.id] or { state = "starting", message = "" }
end

--- A short status for a statusline: `"lfcode: ready"`, `"lfcode: loading model…"`,
--- `"lfcode: error"`, or `""` when no lfcode client runs.
function M.status(bufnr)
  local info = M.status_info(bufnr)
  if not info then
    return ""
  end
  if info.state == "loading" then
    return "lfcode: loading model…"
  end
  return "lfcode: " .. info.state
end

local function on_status(_, params, ctx)
  params = type(params) == "table" and params or {}
  M.states[ctx.client_id] = { state = params.state or "unknown", message = params.message or "" }
  vim.schedule(function()
    vim.api.nvim_exec_autocmds("User", {
      pattern = "LfcodeStatus",
      modeline = false,
      data = { client_id = ctx.client_id, state = params.state, message = params.message },
    })
    pcall(vim.cmd.redrawstatus)
  end)
end

local function map_inline_keys(bufnr, keys)
  local ic = vim.lsp.inline_completion
  local function set(lhs, rhs, desc, expr)
    if lhs then
      vim.keymap.set("i", lhs, rhs, { buffer = bufnr, expr = expr, desc = desc })
    end
  end
  local accept = keys.accept
  set(accept, function()
    if ic.get() then
      return ""
    end
    -- Nothing to accept: keep Neovim's own <Tab> (jump in an active snippet, else the key).
    if vim.snippet and vim.snippet.active({ direction = 1 }) then
      vim.schedule(function()
        vim.snippet.jump(1)
      end)
      return ""
    end
    return accept
  end, "lfcode: accept the inline completion", true)
  set(keys.next, function()
    ic.select({ count = 1 })
  end, "lfcode: next inline completion")
  set(keys.prev, function()
    ic.select({ count = -1 })
  end, "lfcode: previous inline completion")
end

--- The lfcode item of a completed complete-item (`v:completed_item`), or nil.
local function lfcode_item(completed, client_id)
  local lsp = vim.tbl_get(completed or {}, "user_data", "nvim", "lsp")
  if lsp and lsp.client_id == client_id then
    return lsp.completion_item
  end
end

--- Completion items for clients without inline completion (Neovim 0.11). Neovim inserts an
--- item's `word`, which it takes as the first non-blank run of a plain-text edit; lfcode's word is
--- the suggestion's first line instead, and the other lines of a block are added on accept.
local function enable_completion_items(client, bufnr, cfg)
  local function new_text(item)
    return item.textEdit and item.textEdit.newText or item.insertText or item.label
  end
  vim.lsp.completion.enable(true, client.id, bufnr, {
    autotrigger = cfg.completion.autotrigger,
    convert = function(item)
      if item.detail ~= NAME then
        return {}
      end
      return { word = vim.split(new_text(item), "\n", { plain = true })[1] }
    end,
  })
  vim.api.nvim_create_autocmd("CompleteDone", {
    buffer = bufnr,
    group = vim.api.nvim_create_augroup("lfcode.completion." .. bufnr, { clear = true }),
    callback = function()
      local item = lfcode_item(vim.v.completed_item, client.id)
      if not item or vim.v.event.reason == "cancel" then
        return
      end
      local lines = vim.split(new_text(item), "\n", { plain = true })
      if #lines < 2 then
        return
      end
      -- The first line was inserted where the edit starts: add the others after it.
      local row, col
      local start = item.textEdit and (item.textEdit.range or item.textEdit.insert).start
      if start then
        local text = vim.api.nvim_buf_get_lines(bufnr, start.line, start.line + 1, true)[1]
        row = start.line
        col = vim.str_byteindex(text, client.offset_encoding or "utf-16", start.character, false) + #lines[1]
      else
        local cursor = vim.api.nvim_win_get_cursor(0)
        row, col = cursor[1] - 1, cursor[2]
      end
      lines[1] = ""
      local tick = vim.b[bufnr].changedtick
      vim.schedule(function() -- once the accepting key is done with
        if vim.b[bufnr].changedtick ~= tick or vim.api.nvim_get_current_buf() ~= bufnr then
          return
        end
        vim.api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
        vim.api.nvim_win_set_cursor(0, { row + #lines, #lines[#lines] })
      end)
    end,
  })
end

--- Tell the server where the cursor rests (`lfcode/cursor`, LSP TextDocumentPositionParams) when
--- the user enters insert mode or the buffer is entered: it evaluates the prompt of a completion
--- there into the model's cache while the user reads, so the first suggestion is quick.
local function notify_cursor(client, bufnr)
  if vim.api.nvim_get_current_buf() ~= bufnr or client:is_stopped() then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding or "utf-16")
  client:notify("lfcode/cursor", params)
end

local function on_attach(client, bufnr)
  local cfg = config()
  vim.api.nvim_create_autocmd({ "InsertEnter", "BufEnter" }, {
    buffer = bufnr,
    group = vim.api.nvim_create_augroup("lfcode.cursor." .. bufnr, { clear = true }),
    callback = function()
      notify_cursor(client, bufnr)
    end,
  })
  if cfg.inline_completion and M.has_inline_completion() then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    map_inline_keys(bufnr, cfg.keymaps or {})
  elseif vim.lsp.completion and vim.lsp.completion.enable then
    enable_completion_items(client, bufnr, cfg)
  end
end

local function on_exit(_, _, client_id)
  M.states[client_id] = nil
end

local function severity_type(severity)
  return ({ error = "E", warning = "W", info = "I" })[severity] or "W"
end

local function is_absolute(path)
  return path:sub(1, 1) == "/" or path:match("^%a:[/\\]") ~= nil
end

--- Quickfix items for review findings; relative paths are resolved against `root`.
function M.findings_to_qf(findings, root)
  local items = {}
  for _, f in ipairs(findings or {}) do
    local path = f.path or ""
    if not is_absolute(path) and root then
      path = vim.fs.joinpath(root, path)
    end
    local text = f.message or ""
    if f.category and f.category ~= vim.NIL then
      text = ("[%s] %s"):format(f.category, text)
    end
    -- What the finding rests on (a quoted span, a tool's rule, a call run old and new).
    if type(f.evidence) == "table" and type(f.evidence.text) == "string" then
      text = ("%s | evidence: %s"):format(text, f.evidence.text)
    end
    table.insert(items, {
      filename = vim.fs.normalize(path),
      lnum = tonumber(f.line) or 1,
      end_lnum = tonumber(f.end_line) or nil,
      col = 1,
      type = severity_type(f.severity),
      text = text,
      user_data = { suggestion = f.suggestion ~= vim.NIL and f.suggestion or nil, finding = f },
    })
  end
  return items
end

local function finish_review(review, open)
  M.last_review = review
  if review.error then
    notify("review failed: " .. review.error, vim.log.levels.ERROR)
  else
    vim.fn.setqflist({}, " ", { title = "lfcode review", items = review.items, context = { lfcode = true } })
    for _, note in ipairs(review.notes or {}) do
      notify("review: " .. tostring(note), vim.log.levels.INFO)
    end
    if #review.items == 0 then
      notify("review: no findings")
    elseif open then
      vim.cmd("botright copen")
    end
  end
  vim.api.nvim_exec_autocmds("User", {
    pattern = "LfcodeReviewDone",
    modeline = false,
    data = { count = #(review.items or {}), source = review.source, error = review.error },
  })
end

--- A `--format json` answer: `{"findings": [...], "notes": [...], "root": ...}` or a bare list.
local function decode_review(text)
  local ok, data = pcall(vim.json.decode, text, { luanil = { object = true, array = true } })
  if not ok or type(data) ~= "table" then
    return nil
  end
  if vim.islist(data) then
    return { findings = data, notes = {} }
  end
  return data
end

local function offers_review(client)
  local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
  return provider and vim.tbl_contains(provider.commands or {}, "lfcode.review") or false
end

local function review_root(bufnr, client)
  local root = vim.fs.root(bufnr, ".git")
  return root or (client and client.root_dir) or uv.cwd()
end

local function review_lsp(client, bufnr, cfg)
  local arguments = cfg.review.arguments or { vim.empty_dict() }
  notify("reviewing changes…")
  client:request("workspace/executeCommand", { command = "lfcode.review", arguments = arguments }, function(err, result)
    local review = { source = "lsp", findings = {}, notes = {}, items = {} }
    if err then
      review.error = err.message or vim.inspect(err)
    elseif type(result) ~= "table" then
      review.error = "unexpected answer to lfcode.review: " .. vim.inspect(result)
    else
      local root = result.root or client.root_dir or review_root(bufnr, client)
      review.findings = result.findings or {}
      review.notes = result.notes or {}
      review.items = M.findings_to_qf(review.findings, root)
    end
    finish_review(review, cfg.review.open)
  end, bufnr)
end

local function review_cli(bufnr, cfg, args)
  local root = review_root(bufnr, M.clients(bufnr)[1])
  local cmd = vim.list_extend(vim.deepcopy(M.review_cmd()), { "--format", "json" })
  vim.list_extend(cmd, args or {})
  notify("reviewing changes…")
  local ok, err = pcall(vim.system, cmd, { cwd = root, text = true, timeout = cfg.review.timeout_ms }, vim.schedule_wrap(function(out)
    local review = { source = "cli", findings = {}, notes = {}, items = {}, cmd = cmd }
    local data = (out.code == 0 or out.code == 1) and decode_review(out.stdout or "") or nil
    if not data then
      local stderr = vim.trim(out.stderr or "")
      review.error = ("%s exited with %s%s"):format(
        table.concat(cmd, " "),
        out.signal ~= 0 and ("signal " .. out.signal) or out.code,
        stderr ~= "" and (": " .. stderr) or (out.code <= 1 and ": output is not JSON" or "")
      )
    else
      review.findings = data.findings or {}
      review.notes = data.notes or {}
      review.items = M.findings_to_qf(review.findings, data.root or root)
    end
    finish_review(review, cfg.review.open)
  end))
  if not ok then
    finish_review({ source = "cli", findings = {}, notes = {}, items = {}, error = tostring(err) }, false)
  end
end

--- Review the changes of the current repository into the quickfix list.
---@param opts? { via?: "auto"|"lsp"|"cli", args?: string[] } `args` go to the CLI (and force it)
function M.review(opts)
  opts = opts or {}
  local cfg = config()
  local bufnr = vim.api.nvim_get_current_buf()
  local via = opts.via or cfg.review.via
  local has_args = opts.args and #opts.args > 0
  if via ~= "cli" and not has_args then
    for _, client in ipairs(M.clients(bufnr)) do
      if offers_review(client) then
        return review_lsp(client, bufnr, cfg)
      end
    end
    if via == "lsp" then
      return finish_review({ source = "lsp", items = {}, error = "no running lfcode server offers lfcode.review" }, false)
    end
  end
  review_cli(bufnr, cfg, opts.args)
end

--- Run the server's code action whose title starts with `prefix` at the cursor.
local function run_action(prefix)
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return type(action.title) == "string" and vim.startswith(action.title, prefix)
    end,
  })
end

function M.explain()
  run_action("lfcode: Explain")
end

function M.generate_tests()
  run_action("lfcode: Generate tests")
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("LfcodeReview", function(a)
    M.review({ via = a.bang and "cli" or nil, args = a.fargs })
  end, { nargs = "*", bang = true, desc = "lfcode: review the changes into the quickfix list (! forces the CLI)" })
  cmd("LfcodeExplain", M.explain, { desc = "lfcode: explain the symbol under the cursor" })
  cmd("LfcodeGenerateTests", M.generate_tests, { desc = "lfcode: generate tests for the symbol under the cursor" })
  cmd("LfcodeStatus", function()
    local s = M.status()
    local info = M.status_info()
    print(s ~= "" and (s .. ((info and info.message ~= "") and (" (" .. info.message .. ")") or "")) or "lfcode: not running")
  end, { desc = "lfcode: show the model status" })
end

--- `defaults` overridden by `opts`: lists and plain values are replaced, dictionaries merged.
local function merge(defaults, opts)
  local out = vim.deepcopy(defaults)
  for key, value in pairs(opts) do
    local base = out[key]
    if type(value) == "table" and type(base) == "table" and not vim.islist(value) and not vim.islist(base) then
      out[key] = merge(base, value)
    else
      out[key] = vim.deepcopy(value)
    end
  end
  return out
end

--- Configure and enable the lfcode language server.
---@param opts? table see `M.defaults`
function M.setup(opts)
  if vim.fn.has("nvim-0.11") ~= 1 or not vim.lsp.config then
    notify("Neovim 0.11 or later is required (vim.lsp.config)", vim.log.levels.ERROR)
    return
  end
  local cfg = merge(M.defaults, opts or {})
  M.config = cfg

  vim.lsp.config(NAME, {
    cmd = cfg.cmd,
    filetypes = cfg.filetypes ~= "*" and cfg.filetypes or nil,
    root_markers = cfg.root_markers,
    init_options = next(cfg.settings) and cfg.settings or vim.empty_dict(),
    handlers = { ["lfcode/status"] = on_status },
    on_attach = on_attach,
    on_exit = on_exit,
  })
  vim.lsp.enable(NAME)
  if vim.v.vim_did_enter ~= 1 then
    -- Called during startup (e.g. from `-c`): files given on the command line may already be
    -- loaded; enabling again once startup is done attaches them too.
    vim.api.nvim_create_autocmd("VimEnter", {
      once = true,
      callback = function()
        vim.lsp.enable(NAME)
      end,
    })
  end
  create_commands()
end

return M
