-- Drives headless Neovim after docs/neovim.lua was loaded as the init file.
-- Writes what the client saw to $TILT_NVIM_OUT as JSON.
local out = {}
local function done(ok, err)
  out.ok = ok
  out.error = err
  local f = io.open(os.getenv("TILT_NVIM_OUT"), "w")
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("TILT_NVIM_FILE")))
  out.filetype = vim.bo.filetype
  local attached = vim.wait(20000, function()
    return #vim.lsp.buf_get_clients(0) > 0
  end, 50)
  out.attached = attached
  if not attached then
    error("client did not attach")
  end

  vim.wait(20000, function()
    return #vim.diagnostic.get(0) > 0
  end, 50)
  out.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(out.diagnostics, { code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code), message = d.message, lnum = d.lnum })
  end

  local function request(method, line, col)
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(0) },
      position = { line = line, character = col },
    }
    local res = vim.lsp.buf_request_sync(0, method, params, 10000)
    for _, r in pairs(res or {}) do
      if r.result then
        return r.result
      end
    end
    return nil
  end

  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local function find(needle)
    for i, l in ipairs(lines) do
      local c = l:find(needle, 1, true)
      if c then
        return i - 1, c - 1
      end
    end
    error("not found: " .. needle)
  end

  -- completion: append "docker_b" on a new last line and complete at its end
  vim.api.nvim_buf_set_lines(0, -1, -1, false, { "docker_b" })
  local n = vim.api.nvim_buf_line_count(0)
  local comp = request("textDocument/completion", n - 1, 8)
  local items = comp and (comp.items or comp) or {}
  out.completion = {}
  for _, it in ipairs(items) do
    table.insert(out.completion, it.label)
  end
  vim.api.nvim_buf_set_lines(0, n - 1, n, false, {})

  local l, c = find("docker_build(")
  local hover = request("textDocument/hover", l, c + 2)
  out.hover = hover and hover.contents and (hover.contents.value or hover.contents) or vim.NIL

  l, c = find("make_image('example/worker')")
  local def = request("textDocument/definition", l, c + 1)
  if def and def[1] then
    def = def[1]
  end
  out.definition = def and (def.uri or def.targetUri) or vim.NIL
end)
done(ok, ok and vim.NIL or tostring(err))
