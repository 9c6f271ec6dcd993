-- examples/embed/game.lua: the script examples/embed/host.c runs, compiled
-- into the executable with backprop's own Lua files. A game's per-frame
-- use of a trained network: load it once, then each frame read the state
-- of the world into a table, run the network on it with the garbage-free
-- call net:forward(tbl, outtbl), and act on the outputs.
local bp = require("backprop")

local M = {}

local net, width
local input, output = {}, {}

--- Loads the model file (its first layer takes `inputs` values).
function M.load(path, inputs)
  net = bp.load(path)
  net:eval()
  width = inputs
end

--- Frame i: the world's state (here made up from i), the network's
-- outputs, and their sum, which the host adds up as a checksum.
function M.frame(i)
  for k = 1, width do input[k] = math.sin(0.01 * i * k) end
  net:forward(input, output)
  local s = 0
  for k = 1, #output do s = s + output[k] end
  return s
end

return M
