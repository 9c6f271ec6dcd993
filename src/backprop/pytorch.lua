--- backprop.pytorch: what a backprop network is in PyTorch.
--
-- Every network has an equivalent PyTorch module, built the same way:
-- each Sequential an nn.Sequential (children named 0, 1, 2, ... by
-- position, parameterless layers included), each Residual(body) a module
-- whose one child is called `body` (its code comes with net:torch_code()),
-- each layer the nn layer of the same name and settings. The names of that
-- module's state_dict() are the names net:save_safetensors writes and
-- net:load_safetensors reads: "0.weight", "3.body.0.bias",
-- "1.running_mean", ...
--
-- The tree is the one net:get(i) and #net show: the modules a container
-- was built from. (A network from bp.load has its nested Sequentials
-- flattened: its children are its top-level layers and Residual blocks.)

local core = require("backprop.core")
local check = require("backprop.check")

local internal = core.internal

local M = {}

-- Each layer's tensors, in PyTorch's order: its parameters (in the order
-- of net:parameters()), then its buffers (net:buffers()), then, for
-- BatchNorm, the int64 num_batches_tracked.
local PARAMS = {
  Linear = { "weight", "bias" },
  Conv2d = { "weight", "bias" },
  BatchNorm1d = { "weight", "bias" },
  BatchNorm2d = { "weight", "bias" },
  LayerNorm = { "weight", "bias" },
  Embedding = { "weight" },
  PReLU = { "weight" },
}
local BUFFERS = {
  BatchNorm1d = { "running_mean", "running_var" },
  BatchNorm2d = { "running_mean", "running_var" },
}
M.COUNTER = "num_batches_tracked"

--- The class name of module m ("Sequential", "Residual", "Linear", ...)
-- and its settings by name (nil for Sequential and Residual); an error
-- naming fn when m is not a usable module.
function M.info(m, fn)
  local ok, kind, settings = pcall(internal.layer_info, m)
  if not ok then
    check.fail(fn, "self must be a backprop.Module, got %s",
               type(m) == "userdata" and tostring(m) or type(m))
  end
  return kind, settings
end

--- Calls visit(layer, kind, settings, prefix) for each layer of m, in
-- order; prefix is the layer's path in the equivalent PyTorch module
-- ("3.body.0."), "" for m itself.
function M.walk(m, visit, prefix)
  local kind, settings = internal.layer_info(m)
  prefix = prefix or ""
  if kind == "Sequential" then
    for i = 1, #m do M.walk(m:get(i), visit, prefix .. (i - 1) .. ".") end
  elseif kind == "Residual" then
    M.walk(m:get(1), visit, prefix .. "body.")
  else
    visit(m, kind, settings, prefix)
  end
end

--- A layer's tensors under their PyTorch names, in PyTorch's order: a
-- list of { name = "weight", tensor = (a view of the network's buffers) },
-- and for BatchNorm { name = "num_batches_tracked", counter = true }
-- last (backprop does not count batches).
function M.layer_tensors(layer, kind)
  local list, params = {}, layer:parameters()
  local names = PARAMS[kind] or {}
  assert(#params == #names, "backprop.pytorch: no PyTorch names for the parameters of " .. kind)
  for i, p in ipairs(params) do list[i] = { name = names[i], tensor = p } end
  if BUFFERS[kind] then
    for i, b in ipairs(layer:buffers()) do
      list[#list + 1] = { name = BUFFERS[kind][i], tensor = b }
    end
    list[#list + 1] = { name = M.COUNTER, counter = true }
  end
  return list
end

--- net's tensors as PyTorch's state_dict() lists them: the entries of
-- layer_tensors with each name prefixed by its layer's path ("3.body.0.").
function M.state_dict(net)
  local list = {}
  M.walk(net, function(layer, kind, _, prefix)
    for _, t in ipairs(M.layer_tensors(layer, kind)) do
      t.name = prefix .. t.name
      list[#list + 1] = t
    end
  end)
  return list
end

-- --- the PyTorch code ----------------------------------------------------

--- The shortest decimal that is the same float32 as v, as a Python float.
function M.float(v)
  local want = internal.f32_bytes(v)
  for digits = 1, 9 do
    local s = ("%." .. digits .. "g"):format(v)
    if internal.f32_bytes(tonumber(s)) == want then
      if not s:find("[%.eni]") then s = s .. ".0" end
      return s
    end
  end
  return ("%.9g"):format(v)
end
local float = M.float

-- A pair setting: one number when both agree, else a tuple.
local function pair(p)
  if p[1] == p[2] then return ("%d"):format(p[1]) end
  return ("(%d, %d)"):format(p[1], p[2])
end

local function window(s)
  return ("kernel_size=%s, stride=%s, padding=%s"):format(pair(s.kernel_size), pair(s.stride),
                                                         pair(s.padding))
end

local function batchnorm(s)
  return ("%d, eps=%s, momentum=%s"):format(s.num_features, float(s.eps), float(s.momentum))
end

-- Each layer's constructor arguments, in PyTorch's syntax.
local ARGS = {
  Linear = function(s) return ("%d, %d"):format(s.in_features, s.out_features) end,
  Conv2d = function(s) return ("%d, %d, %s"):format(s.in_channels, s.out_channels, window(s)) end,
  MaxPool2d = window,
  AvgPool2d = window,
  BatchNorm1d = batchnorm,
  BatchNorm2d = batchnorm,
  LayerNorm = function(s) return ("%d, eps=%s"):format(s.normalized_shape, float(s.eps)) end,
  Embedding = function(s) return ("%d, %d"):format(s.num_embeddings, s.embedding_dim) end,
  Dropout = function(s) return ("p=%s"):format(float(s.p)) end,
  LeakyReLU = function(s) return ("negative_slope=%s"):format(float(s.negative_slope)) end,
  ELU = function(s) return ("alpha=%s"):format(float(s.alpha)) end,
  Softplus = function(s) return ("beta=%s, threshold=%s"):format(float(s.beta), float(s.threshold)) end,
  PReLU = function(s) return ("num_parameters=%d, init=%s"):format(s.num_parameters, float(s.init)) end,
  Softmax = function() return "dim=-1" end,
  LogSoftmax = function() return "dim=-1" end,
}

local RESIDUAL = [[
class Residual(nn.Module):
    """backprop's Residual: y = x + body(x)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)
]]

-- The expression for module m, its lines indented by `indent`, and a
-- comment for its line (or nil); sets uses.residual when it needs the
-- class above.
local function expr(m, indent, uses)
  local kind, settings = internal.layer_info(m)
  if kind == "Sequential" then
    local lines = { "nn.Sequential(" }
    for i = 1, #m do
      local code, note = expr(m:get(i), indent .. "    ", uses)
      lines[#lines + 1] = indent .. "    " .. code .. "," .. (note and "  # " .. note or "")
    end
    lines[#lines + 1] = indent .. ")"
    return table.concat(lines, "\n")
  elseif kind == "Residual" then
    uses.residual = true
    local code, note = expr(m:get(1), indent, uses)
    return "Residual(" .. code .. ")", note
  end
  local code = "nn." .. kind .. "(" .. (ARGS[kind] and ARGS[kind](settings) or "") .. ")"
  return code, kind == "Embedding" and "ids are backprop's minus 1" or nil
end

--- net:torch_code(): Python source that builds `model`, the PyTorch
-- module equivalent to net (same layers, settings and state_dict names).
function M.torch_code(net)
  local kind = M.info(net, "backprop.Module:torch_code")
  local uses = {}
  local code, note = expr(net, "", uses)
  local head = "from torch import nn\n"
  if uses.residual then head = head .. "\n\n" .. RESIDUAL end
  return ("# The PyTorch module equivalent to a backprop.%s (net:torch_code()).\n%s\n\nmodel = %s%s\n")
    :format(kind, head, code, note and "  # " .. note or "")
end

function M.install(methods)
  methods.torch_code = M.torch_code
end

return M
