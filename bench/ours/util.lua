-- bench/ours/util.lua: the pieces our bench programs share on top of
-- bench/lib.lua: exchange blocks to tensors and back, using only the
-- public API.

local bp = require("backprop")

local M = {}

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
M.lib = dofile(here .. "/../lib.lua")
M.root = here .. "/../.."

-- A block as a tensor: rows x cols, or a 1-D tensor when as_vector.
function M.tensor(block, as_vector)
  if as_vector then
    local t = {}
    for i = 1, block.rows * block.cols do t[i] = block[i] end
    return bp.tensor(t)
  end
  return bp.tensor(M.lib.rows(block))
end

-- Copies the blocks W1 b1 W2 b2 ... into the network's parameters.
function M.load_params(net, blocks)
  local params = net:parameters()
  assert(#params == #blocks.order, "parameter count differs from the init file")
  for i, p in ipairs(params) do
    local b = blocks[blocks.order[i]]
    p:copy(M.tensor(b, p:dim() == 1))
  end
end

-- Writes the network's parameters as blocks W1 b1 W2 b2 ... (PyTorch's
-- layout: W is out x in, b has out entries).
function M.write_params(path, net)
  local f = assert(io.open(path, "w"))
  for i, p in ipairs(net:parameters()) do
    local layer = math.floor((i + 1) / 2)
    if p:dim() == 2 then
      local t = p:totable()
      M.lib.write_block(f, "W" .. layer, #t, #t[1], function(r, c) return t[r][c] end)
    else
      local t = p:totable()
      M.lib.write_block(f, "b" .. layer, #t, 1, function(r) return t[r] end)
    end
  end
  f:close()
end

return M
