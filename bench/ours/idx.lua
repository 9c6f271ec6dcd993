-- bench/ours/idx.lua: reads gzipped IDX files (the MNIST format) into
-- backprop tensors with the public API only: zcat through a pipe, bytes
-- with string.byte, elements with t:set on a flat view. Slow (seconds),
-- but loading is not timed; bp.data.read_idx will replace it.

local bp = require("backprop")

local M = {}

local function open(path, magic)
  local f = assert(io.popen("zcat '" .. path:gsub("'", "'\\''") .. "'", "r"))
  local head = f:read(4)
  assert(head and #head == 4, path .. ": cannot read (is zcat installed?)")
  local m = string.unpack(">I4", head)
  assert(m == magic, string.format("%s: magic %d, expected %d", path, m, magic))
  return f
end

-- Images as an N x (rows*cols) uint8 tensor (one byte a pixel, as in the
-- file: train with fit's input_scale = 1/255); image i of the file goes to
-- row at[i] (the identity when at is nil).
function M.images(path, at)
  local f = open(path, 2051)
  local n, rows, cols = string.unpack(">I4>I4>I4", f:read(12))
  local width = rows * cols
  local X = bp.zeros({n, width}, "uint8")
  local flat = X:reshape(-1)
  local set, byte = flat.set, string.byte
  for i = 1, n do
    local s = f:read(width)
    assert(s and #s == width, path .. ": truncated")
    local base = ((at and at[i] or i) - 1) * width
    local b = {byte(s, 1, width)}
    for j = 1, width do
      local v = b[j]
      if v ~= 0 then set(flat, base + j, v) end
    end
    -- The row tables are garbage at once; collect often so they never
    -- show in the peak memory the bench reports.
    if i % 2048 == 0 then collectgarbage() end
  end
  f:close()
  return X
end

-- Labels as a 1-D tensor of classes 1..10 (file label + 1), reordered
-- like images.
function M.labels(path, at)
  local f = open(path, 2049)
  local n = string.unpack(">I4", f:read(4))
  local s = f:read(n)
  assert(s and #s == n, path .. ": truncated")
  f:close()
  local t = {}
  for i = 1, n do t[at and at[i] or i] = s:byte(i) + 1 end
  return bp.tensor(t)
end

return M
