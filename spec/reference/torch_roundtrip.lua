-- backprop's side of torch_roundtrip.py (which runs it; see there):
--
--   lua5.4 spec/reference/torch_roundtrip.lua train NAME DIR
--       trains network NAME of interchange_nets.lua on DIR/NAME_data
--       .safetensors (x_train, y_train with labels 1..3, x_test), then
--       writes DIR/NAME_bp.safetensors (its weights), DIR/NAME_bp_out
--       .safetensors (y, its eval-mode output on x_test) and DIR/NAME.py
--       (net:torch_code())
--   lua5.4 spec/reference/torch_roundtrip.lua load NAME DIR
--       loads DIR/NAME_torch.safetensors (written by PyTorch) into a new
--       network NAME, strictly, and writes its output on x_test to
--       DIR/NAME_bp_after.safetensors, then trains it one more epoch
--       (the weights PyTorch wrote are trainable here too)
local bp = require("backprop")
local N = dofile("spec/reference/interchange_nets.lua")

local mode, name, dir = arg[1], arg[2], arg[3]
assert(mode and N.roundtrip[name] and dir, "usage: torch_roundtrip.lua train|load NAME DIR")
local data = bp.safetensors.load(dir .. "/" .. name .. "_data.safetensors")

bp.manual_seed(42)
local net = N.roundtrip[name].build(bp)
local function fit(epochs, lr)
  return net:fit(data.x_train, data.y_train, {
    loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, { lr = lr, momentum = 0.9 }),
    epochs = epochs, batch_size = 16, progress = false, warnings = false,
  })
end

if mode == "train" then
  local h = fit(30, 0.05)
  io.stderr:write(("backprop trained %s: loss %.4f -> %.4f\n"):format(name, h.loss[1], h.loss[#h.loss]))
  net:save_safetensors(dir .. "/" .. name .. "_bp.safetensors", { metadata = { written_by = "backprop" } })
  bp.safetensors.save(dir .. "/" .. name .. "_bp_out.safetensors", { y = net:eval():forward(data.x_test) })
  local f = assert(io.open(dir .. "/" .. name .. ".py", "w"))
  f:write(net:torch_code())
  f:close()
else
  net:load_safetensors(dir .. "/" .. name .. "_torch.safetensors")
  bp.safetensors.save(dir .. "/" .. name .. "_bp_after.safetensors", { y = net:eval():forward(data.x_test) })
  net:train()
  local h = fit(1, 0.005)
  assert(h.loss[1] == h.loss[1] and h.loss[1] < 2, "training after the load went wrong")
  io.stderr:write(("backprop trained %s one more epoch after PyTorch: loss %.4f\n"):format(name, h.loss[1]))
end
