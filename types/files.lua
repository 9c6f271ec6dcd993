---@meta _
-- bp.checkpoint and bp.safetensors (docs/API.md, "Checkpoints", "PyTorch
-- and ONNX"). Saving a network is net:save (types/module.lua).

---`bp.checkpoint`: a training run in one file, to stop it and go on
---exactly where it was. `bp.load` reads a checkpoint as its network.
---@class backprop.checkpoint
local checkpoint = {}

---Writes `net` (required), `opt:state()`, `sched:state()`, the generator's
---state and every other field as it is (strings, numbers, booleans,
---float32 tensors and tables of them).
---@param path string
---@param ck backprop.CheckpointFields
function checkpoint.save(path, ck) end

---The saved table: `net` made from the file, the optimizer's and the
---scheduler's states, `rng`, and the other fields.
---@param path string
---@return backprop.Checkpoint
function checkpoint.load(path) end

---Puts a checkpoint (a path, or what `load` returned) into existing
---objects: weights and buffers into `net`, states into the optimizer and
---scheduler given, the generator back. Checked whole first. Returns the
---checkpoint.
---@param path string|backprop.Checkpoint
---@param into backprop.RestoreTargets
---@return backprop.Checkpoint
function checkpoint.restore(path, into) end

---What `bp.checkpoint.save` takes.
---@class backprop.CheckpointFields
---@field net backprop.Module Required.
---@field optimizer? backprop.Optimizer Saved as `opt:state()`.
---@field scheduler? backprop.Scheduler Saved as `sched:state()`.
---@field rng? integer[] The generator's state (`bp.get_rng_state()` unless given).
---@field [string] any Other fields (`epoch`, `history`, ...), saved as they are.

---What `bp.checkpoint.load` and `restore` return.
---@class backprop.Checkpoint
---@field net backprop.Module A network made from the file.
---@field optimizer? backprop.OptimizerState For `opt:load_state`.
---@field scheduler? backprop.SchedulerState For `sched:load_state`.
---@field rng? integer[] The generator's state.
---@field [string] any The other fields saved.

---What `bp.checkpoint.restore` puts a checkpoint into.
---@class backprop.RestoreTargets
---@field net backprop.Module Required: of the same layers as the saved one.
---@field optimizer? backprop.Optimizer Of the saved kind and options.
---@field scheduler? backprop.Scheduler Of the saved kind and options.

---`bp.safetensors`: any table of named tensors, to and from a safetensors file.
---@class backprop.safetensors
local safetensors = {}

---Writes the tensors (float32 as F32, uint8 as U8) in name order.
---@param path string
---@param tensors table<string, backprop.Tensor>
---@param metadata? table<string, string> The header's `__metadata__`.
function safetensors.save(path, tensors, metadata) end

---Reads every tensor (F32, F64, F16, BF16 as float32; U8, BOOL as uint8):
---`local tensors, metadata = bp.safetensors.load(path)`.
---@param path string
---@return table<string, backprop.Tensor> tensors
---@return table<string, string>? metadata
function safetensors.load(path) end
