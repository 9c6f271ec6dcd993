-- Export every network of interchange_nets.lua's ONNX list into a
-- directory, for onnx_reference.py (which checks them with onnx and runs
-- them): <dir>/<name>.onnx and <dir>/<name>.safetensors holding the input
-- batch `x` and backprop's eval-mode output `y`. Run from the checkout:
--
--   lua5.4 spec/reference/onnx_export.lua DIR [name ...]
--
-- (with LUA_PATH/LUA_CPATH pointing at src/ and build/, as make does).
local bp = require("backprop")
local N = dofile("spec/reference/interchange_nets.lua")

local dir = assert(arg[1], "usage: onnx_export.lua DIR [name ...]")
local only = {}
for i = 2, #arg do only[arg[i]] = true end

for _, c in ipairs(N.onnx) do
  if next(only) == nil or only[c.name] then
    local case = N.onnx_case(c.name)
    local net = case.build(bp)
    N.fill(bp, net)
    net:eval()
    local x = N.input(bp, case, 3)
    local shape = x:shape()
    shape[1] = 1
    net:export_onnx(dir .. "/" .. case.name .. ".onnx", { input_shape = shape, opset = case.opset })
    bp.safetensors.save(dir .. "/" .. case.name .. ".safetensors", { x = x, y = net:forward(x) })
  end
end
