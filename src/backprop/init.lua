--- backprop: neural networks with a C core and a Lua face.
-- This file gathers the public names: the C module (tensors, layers,
-- losses, optimizers, save/load), the training loop (fit), one step
-- explained (explain), predictors (metadata, predict), checkpoints, data
-- loading and metrics. See README.md and docs/API.md for the reference.

local core = require("backprop.core")

local bp = { _VERSION = "backprop 0.1.0" }

-- Every name of the C module but `internal`, what the Lua modules and the
-- specs share and users should not see (see src/lua/lbackprop.c).
for name, value in pairs(core) do
  if name ~= "internal" then bp[name] = value end
end

require("backprop.fit").install(core.Module)
require("backprop.explain").install(core.Module)
require("backprop.pytorch").install(core.Module)
bp.safetensors = require("backprop.safetensors")
bp.safetensors.install(core.Module)
require("backprop.onnx").install(core.Module)
require("backprop.predict").install(core.Module, bp)
-- Under LuaJIT with its compiler on, net:forward(tbl, outtbl) goes through
-- the FFI (backprop/ffi.lua): the same results, faster per call.
if jit and jit.status() and pcall(require, "ffi") then
  require("backprop.ffi").install(core.Module, core.internal)
end
bp.data = require("backprop.data")
bp.metrics = require("backprop.metrics")
bp.plot = require("backprop.plot")
bp.lr_scheduler = require("backprop.schedule")
bp.checkpoint = require("backprop.checkpoint")

return bp
