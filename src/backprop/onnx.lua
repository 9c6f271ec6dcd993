--- backprop.onnx: net:export_onnx(path, {input_shape = {1, 784}, ...}),
-- the network's inference graph as an ONNX model (opset 13 by default,
-- 13 to 17), for runtimes such as onnxruntime.
--
-- The graph computes what net:eval():forward(x) does: Dropout is the
-- identity and BatchNorm uses its running statistics, whatever mode the
-- network is in. The first dimension of the input is a dynamic batch
-- ("batch"); the others are input_shape's. Weights are initializers
-- named as PyTorch's state_dict names them ("0.weight"); nodes are named
-- after their layer's path ("3.body.0.Gemm").
--
-- Each layer becomes the ONNX operator of the same meaning, or a few:
-- Linear Gemm; Conv2d Conv; the pools MaxPool and AveragePool (padding
-- counted in the average); BatchNorm BatchNormalization; LayerNorm
-- LayerNormalization from opset 17, below it ReduceMean, Sub, Mul, Add,
-- Sqrt, Div; GELU x/2 (1 + Erf(x/sqrt 2)); SiLU x Sigmoid(x); Softplus
-- Where(beta x > threshold, x, Softplus(beta x) / beta); Softmax and
-- LogSoftmax on the last axis; PReLU PRelu (the slopes shaped to
-- broadcast over the channels); Dropout and Identity Identity; Embedding
-- Sub 1, Cast to int64, Gather (our ids are 1-based floats); Residual Add.
--
-- The protobuf encoding is written here by hand: a message is the
-- concatenation of its fields, each a key (field number and wire type)
-- and a varint, a length-delimited string or 4 bytes (a float).

local core = require("backprop.core")
local check = require("backprop.check")
local compat = require("backprop.compat")
local pytorch = require("backprop.pytorch")

local internal = core.internal

local M = {}

-- --- protobuf ------------------------------------------------------------

-- A non-negative integer as a varint (7 bits a byte, low first).
local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = compat.idiv(n - b, 128)
    out[#out + 1] = string.char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(out)
end

local function key(field, wire) return varint(field * 8 + wire) end
local function int(field, v) return key(field, 0) .. varint(v) end
local function bytes(field, s) return key(field, 2) .. varint(#s) .. s end
local function float(field, v) return key(field, 5) .. internal.f32_bytes(v) end

-- ONNX's numbers (onnx.proto).
local FLOAT32, INT64 = 1, 7                        -- TensorProto.DataType
local ATTR_FLOAT, ATTR_INT, ATTR_INTS = 1, 2, 7    -- AttributeProto.AttributeType

-- Attributes: { name, kind, value }.
local function attribute(a)
  local name, kind, v = a[1], a[2], a[3]
  local s = bytes(1, name) .. int(20, kind)
  if kind == ATTR_FLOAT then return s .. float(2, v) end
  if kind == ATTR_INT then return s .. int(3, v) end
  for _, x in ipairs(v) do s = s .. int(8, x) end
  return s
end

local function attr_f(name, v) return { name, ATTR_FLOAT, v } end
local function attr_i(name, v) return { name, ATTR_INT, v } end
local function attr_ints(name, v) return { name, ATTR_INTS, v } end

-- A float32 tensor's type and shape; a dim is a size or a name (dynamic).
local function value_info(name, shape)
  local dims = {}
  for i, d in ipairs(shape) do
    dims[i] = bytes(1, type(d) == "string" and bytes(2, d) or int(1, d))
  end
  local tensor_type = int(1, FLOAT32) .. bytes(2, table.concat(dims))
  return bytes(1, name) .. bytes(2, bytes(1, tensor_type))
end

-- --- the graph -------------------------------------------------------------

local Graph = {}
Graph.__index = Graph

local function new_graph()
  return setmetatable({ nodes = {}, inits = {}, names = {} }, Graph)
end

-- A name not used yet, from `want`.
function Graph:unique(want)
  local name, k = want, 1
  while self.names[name] do
    k = k + 1
    name = want .. "_" .. k
  end
  self.names[name] = true
  return name
end

-- An initializer: float32 values (a string of their bytes) of shape dims.
function Graph:init(name, dims, data, dtype)
  name = self:unique(name)
  local s = ""
  for _, d in ipairs(dims) do s = s .. int(1, d) end
  self.inits[#self.inits + 1] = s .. int(2, dtype or FLOAT32) .. bytes(8, name) .. bytes(9, data)
  return name
end

-- The values of tensor t as an initializer called name, reshaped to dims
-- (default: t's shape).
function Graph:weight(name, t, dims)
  return self:init(name, dims or t:shape(), internal.f32_bytes(t))
end

-- A float32 scalar constant.
function Graph:const(prefix, what, v)
  return self:init(prefix .. what, {}, internal.f32_bytes(v))
end

-- A node of op over the inputs; returns its output's name.
function Graph:node(prefix, op, inputs, attrs)
  local name = self:unique(prefix .. op)
  local n = { name = name, op = op, inputs = inputs, attrs = attrs or {}, out = self:unique(name .. ":0") }
  self.nodes[#self.nodes + 1] = n
  return n.out
end

local function node_proto(n)
  local s = {}
  for _, x in ipairs(n.inputs) do s[#s + 1] = bytes(1, x) end
  s[#s + 1] = bytes(2, n.out) .. bytes(3, n.name) .. bytes(4, n.op)
  for _, a in ipairs(n.attrs) do s[#s + 1] = bytes(5, attribute(a)) end
  return table.concat(s)
end

-- --- the layers --------------------------------------------------------------

-- A layer's tensors by PyTorch name.
local function tensors(layer, kind)
  local byname = {}
  for _, t in ipairs(pytorch.layer_tensors(layer, kind)) do byname[t.name] = t.tensor end
  return byname
end

local function pads(s) return { s.padding[1], s.padding[2], s.padding[1], s.padding[2] } end

local function window_attrs(s)
  return { attr_ints("kernel_shape", s.kernel_size), attr_ints("strides", s.stride),
           attr_ints("pads", pads(s)) }
end

-- Each layer's nodes: OPS[kind](g, layer, x, c) returns the output's name;
-- c holds settings, prefix (the layer's path: "3.body.0."), rank (of x,
-- batch included) and opset.
local OPS = {}

local function simple(op)
  return function(g, _, x, c) return g:node(c.prefix, op, { x }) end
end
OPS.Sigmoid = simple("Sigmoid")
OPS.Tanh = simple("Tanh")
OPS.ReLU = simple("Relu")
OPS.Identity = simple("Identity")
OPS.Dropout = simple("Identity")

function OPS.Linear(g, layer, x, c)
  local t = tensors(layer, "Linear")
  return g:node(c.prefix, "Gemm", { x, g:weight(c.prefix .. "weight", t.weight),
                                    g:weight(c.prefix .. "bias", t.bias) },
                { attr_i("transB", 1) })
end

function OPS.Conv2d(g, layer, x, c)
  local t = tensors(layer, "Conv2d")
  return g:node(c.prefix, "Conv", { x, g:weight(c.prefix .. "weight", t.weight),
                                    g:weight(c.prefix .. "bias", t.bias) },
                window_attrs(c.settings))
end

function OPS.MaxPool2d(g, _, x, c)
  return g:node(c.prefix, "MaxPool", { x }, window_attrs(c.settings))
end

function OPS.AvgPool2d(g, _, x, c)
  local attrs = window_attrs(c.settings)
  attrs[#attrs + 1] = attr_i("count_include_pad", 1)
  return g:node(c.prefix, "AveragePool", { x }, attrs)
end

function OPS.Flatten(g, _, x, c)
  return g:node(c.prefix, "Flatten", { x }, { attr_i("axis", 1) })
end

local function batchnorm(g, layer, x, c)
  local t, p = tensors(layer, c.kind), c.prefix
  return g:node(p, "BatchNormalization",
                { x, g:weight(p .. "weight", t.weight), g:weight(p .. "bias", t.bias),
                  g:weight(p .. "running_mean", t.running_mean),
                  g:weight(p .. "running_var", t.running_var) },
                { attr_f("epsilon", c.settings.eps) })
end
OPS.BatchNorm1d = batchnorm
OPS.BatchNorm2d = batchnorm

-- Below opset 17: (x - mean) / sqrt(var + eps) * gamma + beta over the
-- last axis, the variance biased, as LayerNormalization computes it.
function OPS.LayerNorm(g, layer, x, c)
  local t, p, last = tensors(layer, "LayerNorm"), c.prefix, c.rank - 1
  local gamma, beta = g:weight(p .. "weight", t.weight), g:weight(p .. "bias", t.bias)
  if c.opset >= 17 then
    return g:node(p, "LayerNormalization", { x, gamma, beta },
                  { attr_i("axis", last), attr_f("epsilon", c.settings.eps) })
  end
  local axes = { attr_ints("axes", { last }), attr_i("keepdims", 1) }
  local d = g:node(p, "Sub", { x, g:node(p, "ReduceMean", { x }, axes) })
  local var = g:node(p, "ReduceMean", { g:node(p, "Mul", { d, d }) }, axes)
  local std = g:node(p, "Sqrt", { g:node(p, "Add", { var, g:const(p, "eps", c.settings.eps) }) })
  local y = g:node(p, "Mul", { g:node(p, "Div", { d, std }), gamma })
  return g:node(p, "Add", { y, beta })
end

function OPS.Embedding(g, layer, x, c)
  local p = c.prefix
  local ids = g:node(p, "Cast", { g:node(p, "Sub", { x, g:const(p, "one", 1) }) },
                     { attr_i("to", INT64) })
  return g:node(p, "Gather", { g:weight(p .. "weight", tensors(layer, "Embedding").weight), ids },
                { attr_i("axis", 0) })
end

function OPS.LeakyReLU(g, _, x, c)
  return g:node(c.prefix, "LeakyRelu", { x }, { attr_f("alpha", c.settings.negative_slope) })
end

function OPS.ELU(g, _, x, c)
  return g:node(c.prefix, "Elu", { x }, { attr_f("alpha", c.settings.alpha) })
end

-- x/2 (1 + erf(x / sqrt 2)), in the order backprop computes it.
function OPS.GELU(g, _, x, c)
  local p = c.prefix
  local half = g:node(p, "Mul", { x, g:const(p, "half", 0.5) })
  local erf = g:node(p, "Erf", { g:node(p, "Mul", { x, g:const(p, "rsqrt2", 0.70710678118654752) }) })
  return g:node(p, "Mul", { half, g:node(p, "Add", { erf, g:const(p, "one", 1) }) })
end

function OPS.SiLU(g, _, x, c)
  return g:node(c.prefix, "Mul", { x, g:node(c.prefix, "Sigmoid", { x }) })
end

function OPS.Softplus(g, _, x, c)
  local p, beta = c.prefix, c.settings.beta
  local z = x
  if beta ~= 1 then z = g:node(p, "Mul", { x, g:const(p, "beta", beta) }) end
  local s = g:node(p, "Softplus", { z })
  if beta ~= 1 then s = g:node(p, "Div", { s, g:const(p, "beta", beta) }) end
  local above = g:node(p, "Greater", { z, g:const(p, "threshold", c.settings.threshold) })
  return g:node(p, "Where", { above, x, s })
end

function OPS.Softmax(g, _, x, c)
  return g:node(c.prefix, "Softmax", { x }, { attr_i("axis", c.rank - 1) })
end

function OPS.LogSoftmax(g, _, x, c)
  return g:node(c.prefix, "LogSoftmax", { x }, { attr_i("axis", c.rank - 1) })
end

-- ONNX broadcasts the slopes from the right: one per channel (dim 2 of x)
-- needs shape C x 1 x ... x 1.
function OPS.PReLU(g, layer, x, c)
  local w = tensors(layer, "PReLU").weight
  local dims = { w:numel() }
  if w:numel() > 1 then
    for _ = 3, c.rank do dims[#dims + 1] = 1 end
  end
  return g:node(c.prefix, "PRelu", { x, g:weight(c.prefix .. "weight", w, dims) })
end

-- The nodes of module m on x (of shape `shape`, batch first), under the
-- path prefix; returns the output's name and shape.
local function emit(g, m, x, shape, prefix, opts)
  local kind, settings = internal.layer_info(m)
  if kind == "Sequential" then
    for i = 1, #m do x, shape = emit(g, m:get(i), x, shape, prefix .. (i - 1) .. ".", opts) end
    return x, shape
  elseif kind == "Residual" then
    local y, out = emit(g, m:get(1), x, shape, prefix .. "body.", opts)
    return g:node(prefix, "Add", { y, x }), out
  end
  local op = OPS[kind]
  if op == nil then check.fail(opts.fn, "layer %s (%s) has no ONNX form yet", prefix, kind) end
  local out = internal.out_shape(m, shape, opts.fn)
  local c = { kind = kind, settings = settings, prefix = prefix, rank = #shape, opset = opts.opset }
  return op(g, m, x, c), out
end

-- --- the model ---------------------------------------------------------------

local IR_VERSION = { [13] = 7, [14] = 7, [15] = 8, [16] = 8, [17] = 8 }

local function check_name(fn, opts, field, default)
  local v = opts[field]
  if v == nil then return default end
  if type(v) ~= "string" or v == "" then
    check.fail(fn, "%s must be a non-empty string, got %s", field, type(v))
  end
  return v
end

--- The ONNX model of net's inference graph, as a string of bytes.
function M.encode(net, opts, fn)
  opts = check.options(fn, opts, { input_shape = true, opset = true, input_name = true,
                                   output_name = true })
  local shape = opts.input_shape
  if type(shape) ~= "table" then
    check.fail(fn, "input_shape is required: the shape of an input batch, batch first (like {1, 784}), got %s",
               type(shape))
  end
  local opset = opts.opset == nil and 13 or opts.opset
  if not IR_VERSION[opset] then
    check.fail(fn, "opset must be an integer from 13 to 17, got %s", tostring(opset))
  end
  local input = check_name(fn, opts, "input_name", "input")
  local output = check_name(fn, opts, "output_name", "output")
  if input == output then check.fail(fn, "input_name and output_name must differ (both '%s')", input) end
  local out_shape = internal.out_shape(net, shape, fn)   -- checks the whole network first
  local g = new_graph()
  g.names[input] = true
  g.names[output] = true
  local y = emit(g, net, input, shape, "", { fn = fn, opset = opset })
  -- The last node writes the graph's output under its name.
  local last = g.nodes[#g.nodes]
  assert(last.out == y, "backprop.onnx: the last node is not the output")
  last.out = output
  local graph = {}
  for _, n in ipairs(g.nodes) do graph[#graph + 1] = bytes(1, node_proto(n)) end
  graph[#graph + 1] = bytes(2, "backprop")
  for _, t in ipairs(g.inits) do graph[#graph + 1] = bytes(5, t) end
  local batch_in, batch_out = { "batch" }, { "batch" }
  for i = 2, #shape do batch_in[i] = shape[i] end
  for i = 2, #out_shape do batch_out[i] = out_shape[i] end
  graph[#graph + 1] = bytes(11, value_info(input, batch_in))
  graph[#graph + 1] = bytes(12, value_info(output, batch_out))
  local version = require("backprop")._VERSION:match("[%d.]+$")
  return int(1, IR_VERSION[opset]) .. bytes(2, "backprop") .. bytes(3, version)
    .. bytes(7, table.concat(graph)) .. bytes(8, bytes(1, "") .. int(2, opset))
end

--- net:export_onnx(path, {input_shape = {1, 784} [, opset = 13]
-- [, input_name = "input"] [, output_name = "output"]})
local function export(net, path, opts)
  local fn = "backprop." .. pytorch.info(net, "backprop.Module:export_onnx") .. ":export_onnx"
  if type(path) ~= "string" then check.fail(fn, "path must be a string, got %s", type(path)) end
  local ok, err = internal.write_file(path, M.encode(net, opts, fn))
  if not ok then check.fail(fn, "%s", err) end
end

function M.install(methods)
  methods.export_onnx = export
end

return M
