-- tilt-lsp with Neovim's built-in LSP client (0.7 or newer). Copy into your init.lua.
-- Needs `tilt-lsp` on PATH (pip install tilt-lsp).
local group = vim.api.nvim_create_augroup("tilt_lsp", { clear = true })

-- Filetype: Tiltfile, *.tiltfile and Tiltfile.* (Starlark, highlighted as Python).
vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
  group = group,
  pattern = { "Tiltfile", "*.tiltfile", "Tiltfile.*" },
  callback = function(args)
    vim.bo[args.buf].filetype = "tiltfile"
    vim.bo[args.buf].syntax = "python"
  end,
})

-- The project root is the nearest folder above the file that holds a Tiltfile.
local function tilt_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while true do
    if vim.loop.fs_stat(dir .. "/Tiltfile") then
      return dir
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return vim.fn.fnamemodify(path, ":p:h")
    end
    dir = parent
  end
end

local clients = {} -- root -> client id (for Neovim 0.7, which has no vim.lsp.start)

vim.api.nvim_create_autocmd("FileType", {
  group = group,
  pattern = { "tiltfile", "starlark" },
  callback = function(args)
    local root = tilt_root(vim.api.nvim_buf_get_name(args.buf))
    local config = {
      name = "tilt-lsp",
      cmd = { "tilt-lsp" },
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
      init_options = {
        settings = {
          diagnostics = { debounceMs = 200 },
          liveUpdate = { enabled = true, onSave = true, watch = true },
        },
      },
    }
    if vim.lsp.start then -- Neovim 0.8+
      vim.lsp.start(config, { bufnr = args.buf })
    else -- Neovim 0.7
      local id = clients[root]
      if not id or vim.lsp.client_is_stopped(id) then
        id = vim.lsp.start_client(config)
        clients[root] = id
      end
      vim.lsp.buf_attach_client(args.buf, id)
    end
    vim.bo[args.buf].omnifunc = "v:lua.vim.lsp.omnifunc"
  end,
})
