--- backprop.safetensors: weights in the safetensors format, the one PyTorch
-- users exchange (safetensors.torch.save_file / load_file).
--
-- net:save_safetensors(path [, {metadata = {k = "v"}}]) writes net's
-- tensors under the names of PyTorch's state_dict() of the equivalent
-- module (backprop.pytorch); net:load_safetensors(path [, {strict =
-- true}]) reads them back into a network of the same architecture, as
-- load_state_dict does. bp.safetensors.save and .load read and write any
-- table of tensors. The format itself is in C (src/core/io/safetensors.c).

local core = require("backprop.core")
local check = require("backprop.check")
local pytorch = require("backprop.pytorch")

local internal = core.internal

local M = {}

-- The dtypes a float32 tensor loads from (converted: F64 rounded to
-- nearest, F16 and BF16 exactly).
local FLOAT = { F32 = true, F64 = true, F16 = true, BF16 = true }

local function shape_str(s)
  if #s == 0 then return "a scalar" end
  return table.concat(s, "x")
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

local function checkpath(fn, path)
  if type(path) ~= "string" then check.fail(fn, "path must be a string, got %s", type(path)) end
end

--- net:save_safetensors(path [, {metadata = {key = "value"}}])
local function save_net(net, path, opts)
  local fn = "backprop." .. pytorch.info(net, "backprop.Module:save_safetensors") .. ":save_safetensors"
  checkpath(fn, path)
  opts = check.options(fn, opts, { metadata = true })
  local names, values = {}, {}
  for _, t in ipairs(pytorch.state_dict(net)) do
    names[#names + 1] = t.name
    values[#values + 1] = t.counter and 0 or t.tensor
  end
  check.call(internal.st_write, path, names, values, opts.metadata, fn)
end

-- "3 more" after a name, for messages about lists.
local function more(list)
  if #list < 2 then return "" end
  return (" (and %d more: %s)"):format(#list - 1, table.concat(list, ", ", 2, math.min(#list, 4)) ..
    (#list > 4 and ", ..." or ""))
end

--- net:load_safetensors(path [, {strict = true}]) -> {missing_keys =,
-- unexpected_keys =, metadata =}
local function load_net(net, path, opts)
  local fn = "backprop." .. pytorch.info(net, "backprop.Module:load_safetensors") .. ":load_safetensors"
  checkpath(fn, path)
  opts = check.options(fn, opts, { strict = true })
  local strict = opts.strict
  if strict == nil then strict = true end
  if type(strict) ~= "boolean" then check.fail(fn, "strict must be a boolean, got %s", type(strict)) end
  local file, entries, metadata = check.call(internal.st_read, path, fn)
  local index = {}
  for i, e in ipairs(entries) do index[e.name] = i end
  -- Check everything, then copy: a file that does not fit changes nothing.
  local missing, used, copies = {}, {}, {}
  for _, t in ipairs(pytorch.state_dict(net)) do
    local i = index[t.name]
    if i == nil then
      missing[#missing + 1] = t.name
    else
      local e = entries[i]
      used[t.name] = true
      if t.counter then
        if e.dtype ~= "I64" or #e.shape ~= 0 then
          check.fail(fn, "'%s': tensor '%s' is %s %s, expected an I64 scalar (PyTorch's batch count)",
                     path, t.name, e.dtype, shape_str(e.shape))
        end
      else
        if not FLOAT[e.dtype] then
          check.fail(fn, "'%s': tensor '%s' has dtype %s, expected F32 (or F64, F16, BF16)",
                     path, t.name, e.dtype)
        end
        local want = t.tensor:shape()
        if not same_shape(e.shape, want) then
          check.fail(fn, "'%s': tensor '%s' has shape %s, the network's is %s", path, t.name,
                     shape_str(e.shape), shape_str(want))
        end
        copies[#copies + 1] = { i, t.tensor }
      end
    end
  end
  local unexpected = {}
  for _, e in ipairs(entries) do
    if not used[e.name] then unexpected[#unexpected + 1] = e.name end
  end
  if strict and #missing > 0 then
    check.fail(fn, "'%s' has no tensor '%s'%s; names follow PyTorch's state_dict of the equivalent " ..
               "module (net:torch_code()); {strict = false} loads the others", path, missing[1],
               more(missing))
  end
  if strict and #unexpected > 0 then
    check.fail(fn, "'%s' has tensor '%s'%s, which the network does not have; {strict = false} " ..
               "ignores it", path, unexpected[1], more(unexpected))
  end
  for _, c in ipairs(copies) do check.call(internal.st_copy, file, c[1], c[2], fn) end
  return { missing_keys = missing, unexpected_keys = unexpected, metadata = metadata }
end

--- bp.safetensors.save(path, tensors [, metadata]): tensors a table of
-- name -> tensor (float32 as F32, uint8 as U8), written in name order.
function M.save(path, tensors, metadata)
  local fn = "backprop.safetensors.save"
  checkpath(fn, path)
  if type(tensors) ~= "table" then check.fail(fn, "tensors must be a table of name = tensor, got %s", type(tensors)) end
  local names, values = {}, {}
  for name, t in pairs(tensors) do
    if type(name) ~= "string" then check.fail(fn, "tensor names must be strings, got %s", type(name)) end
    if not check.is_tensor(t) then
      check.fail(fn, "tensors['%s'] must be a backprop.Tensor, got %s", name, type(t))
    end
    names[#names + 1] = name
  end
  table.sort(names)
  for i, name in ipairs(names) do values[i] = tensors[name] end
  check.call(internal.st_write, path, names, values, metadata, fn)
end

--- bp.safetensors.load(path) -> tensors (name -> tensor), metadata.
-- F32, F64, F16 and BF16 load as float32 tensors, U8 and BOOL as uint8,
-- integer dtypes as float32 when every value is exact there; a scalar as
-- a tensor of shape {1}.
function M.load(path)
  local fn = "backprop.safetensors.load"
  checkpath(fn, path)
  local file, entries, metadata = check.call(internal.st_read, path, fn)
  local tensors = {}
  for i, e in ipairs(entries) do tensors[e.name] = check.call(internal.st_tensor, file, i, fn) end
  return tensors, metadata
end

function M.install(methods)
  methods.save_safetensors = save_net
  methods.load_safetensors = load_net
end

return M
