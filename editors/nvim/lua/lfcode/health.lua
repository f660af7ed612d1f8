--- `:checkhealth lfcode`: the server command, its version and the model status.
local M = {}

local function fmt(cmd)
  return table.concat(
    vim.tbl_map(function(part)
      return part:find("[%s\"']") and vim.fn.shellescape(part) or part
    end, cmd),
    " "
  )
end

function M.check()
  local health = vim.health
  local lfcode = require("lfcode")

  health.start("lfcode: Neovim")
  local version = tostring(vim.version())
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. version .. " (vim.lsp.config and vim.lsp.enable)")
  else
    health.error("Neovim " .. version .. ": lfcode needs 0.11 or later")
  end
  if lfcode.has_inline_completion() then
    health.ok("inline completion (ghost text) through vim.lsp.inline_completion")
  else
    health.info("vim.lsp.inline_completion is missing (Neovim < 0.12): completion items are used instead")
  end

  health.start("lfcode: server")
  local cfg = lfcode.config
  if not cfg then
    health.warn('require("lfcode").setup() has not been called; showing the defaults')
    cfg = lfcode.defaults
  end
  health.info("server command: " .. fmt(cfg.cmd))
  local exe = cfg.cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    health.error(("%s is not executable"):format(exe), {
      'install lfcode (pip install lfcode) or set the command: require("lfcode").setup({ cmd = { "/path/to/lfcode", "serve" } })',
    })
  else
    local vcmd = lfcode.version_cmd()
    local ok, proc = pcall(vim.system, vcmd, { text = true })
    local out = ok and proc:wait(20000) or nil
    if not ok then
      health.error(("%s failed to start: %s"):format(fmt(vcmd), tostring(proc)))
    elseif out.code ~= 0 then
      health.error(("%s exited with %s: %s"):format(fmt(vcmd), tostring(out.code), vim.trim(out.stderr or "")))
    else
      health.ok("server version: " .. vim.trim(out.stdout or ""))
    end
  end

  health.start("lfcode: model")
  local clients = lfcode.clients()
  if #clients == 0 then
    health.info("no lfcode client is running: open a file of a configured filetype to start one")
  end
  for _, client in ipairs(clients) do
    local st = lfcode.states[client.id]
    local where = ("client %d (root %s)"):format(client.id, client.root_dir or "none")
    if not st then
      health.info(where .. ": no model status received yet")
    elseif st.state == "ready" then
      health.ok(where .. ": model ready" .. (st.message ~= "" and (": " .. st.message) or ""))
    elseif st.state == "loading" then
      health.info(where .. ": model loading" .. (st.message ~= "" and (": " .. st.message) or ""))
    else
      health.error(where .. ": model " .. st.state .. (st.message ~= "" and (": " .. st.message) or ""))
    end
  end
end

return M
