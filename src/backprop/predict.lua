--- A predictor that travels as one file. A network can carry metadata: the
-- scaler its inputs were standardized with, a scaler for regression
-- targets, the class names, the task, and values of the user's own.
-- net:save writes them into the model file's "predictor" section (as
-- data: src/lua/lsave.c), bp.load gives them back, and net:predict /
-- net:predict_proba apply them, so one file turns a raw sample into a
-- label:
--
--   net:save("iris.bp", {scaler = scaler, classes = names})
--   ...
--   local net = bp.load("iris.bp")
--   print(net:predict({5.1, 3.5, 1.4, 0.2}))        --> setosa

local check = require("backprop.check")
local compat = require("backprop.compat")
local core = require("backprop.core")
local data = require("backprop.data")

local internal = core.internal
local M = {}

-- Each network's metadata (checked, as set_metadata stores it).
local store = setmetatable({}, { __mode = "k" })

local KEYS = { scaler = true, target_scaler = true, classes = true, meta = true, task = true }
local TASKS = { classification = true, regression = true }
-- Last layers whose output is already a probability.
local PROBABILITY = { Softmax = true, LogSoftmax = true, Sigmoid = true }

local function is_module(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "backprop.Module"
end

-- "backprop.Sequential:predict", as the C methods name themselves.
local function fname(net, method)
  local class = is_module(net) and tostring(net):match("^backprop%.(%w+)") or "Module"
  return "backprop." .. class .. ":" .. method
end

local function check_module(fn, net)
  if not is_module(net) then check.fail(fn, "self must be a backprop.Module, got %s", type(net)) end
end

--- Checking metadata ---------------------------------------------------------

local function check_scaler(fn, name, s)
  if type(s) ~= "table" or not check.is_tensor(s.mean) or not check.is_tensor(s.std) then
    check.fail(fn, "%s must be a scaler (bp.data.standardize's, or bp.data.scaler(mean, std)), got %s",
               name, type(s))
  end
  local ok, err = pcall(data.scaler, s.mean, s.std)
  if not ok then check.fail(fn, "%s: %s", name, (tostring(err):gsub("^backprop%.data%.scaler: ", ""))) end
  return s
end

-- meta: strings, numbers, booleans and tables of them, keyed by strings
-- and numbers.
local function check_meta(fn, v, path, depth)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return end
  if t ~= "table" then
    check.fail(fn, "%s is a %s: meta holds strings, numbers, booleans and tables of them", path,
               check.is_tensor(v) and "tensor" or t)
  end
  if depth > 30 then
    check.fail(fn, "%s: tables nested deeper than 30 levels (a table that contains itself?)", path)
  end
  for k, x in pairs(v) do
    local kt = type(k)
    if kt ~= "string" and kt ~= "number" then
      check.fail(fn, "%s has a key of type %s: keys must be strings or numbers", path, kt)
    end
    check_meta(fn, x, kt == "string" and path .. "." .. k or path .. "[" .. tostring(k) .. "]", depth + 1)
  end
end

local function check_classes(fn, c)
  if type(c) ~= "table" or #c == 0 then
    check.fail(fn, "classes must be a list of class names, like {\"setosa\", \"versicolor\"}, got %s",
               type(c) == "table" and "an empty table" or type(c))
  end
  local seen, n = {}, 0
  for k in pairs(c) do
    n = n + 1
    if not compat.isinteger(k) or k < 1 or k > #c then
      check.fail(fn, "classes must be a list (keys 1..n), it has the key %s", tostring(k))
    end
  end
  if n ~= #c then check.fail(fn, "classes must be a list without holes") end
  for i, name in ipairs(c) do
    if type(name) ~= "string" and type(name) ~= "number" then
      check.fail(fn, "classes[%d] must be a string or a number, got %s", i, type(name))
    end
    if seen[name] then check.fail(fn, "classes[%d] repeats classes[%d] (%s)", i, seen[name], tostring(name)) end
    seen[name] = i
  end
end

-- m checked: a new table of its fields.
local function checked(fn, m)
  if type(m) ~= "table" then
    check.fail(fn, "metadata must be a table {scaler =, target_scaler =, classes =, task =, meta =}, got %s", type(m))
  end
  check.options(fn .. ": metadata", m, KEYS)
  local out = {}
  if m.scaler ~= nil then out.scaler = check_scaler(fn, "scaler", m.scaler) end
  if m.target_scaler ~= nil then out.target_scaler = check_scaler(fn, "target_scaler", m.target_scaler) end
  if m.classes ~= nil then
    check_classes(fn, m.classes)
    out.classes = {}
    for i, name in ipairs(m.classes) do out.classes[i] = name end
  end
  if m.task ~= nil then
    if not TASKS[m.task] then
      check.fail(fn, "task must be \"classification\" or \"regression\", got %s", tostring(m.task))
    end
    out.task = m.task
  end
  if out.task == "regression" and out.classes then check.fail(fn, "classes are for task \"classification\"") end
  if out.task == "classification" and out.target_scaler then
    check.fail(fn, "target_scaler is for task \"regression\"")
  end
  if out.classes and out.target_scaler then
    check.fail(fn, "classes and target_scaler exclude each other (a classifier or a regression)")
  end
  if m.meta ~= nil then
    check_meta(fn, m.meta, "meta", 0)
    out.meta = m.meta
  end
  return out
end

--- Metadata on a network ------------------------------------------------------

--- net:set_metadata(m): m checked and kept with the network (nil: none);
-- returns net.
function M.set_metadata(net, m)
  local fn = fname(net, "set_metadata")
  check_module(fn, net)
  store[net] = m ~= nil and checked(fn, m) or nil
  return net
end

--- net:metadata(): a new table of the network's metadata (empty when it
-- has none): scaler, target_scaler, classes, task, meta.
function M.metadata(net)
  check_module(fname(net, "metadata"), net)
  local out = {}
  for k, v in pairs(store[net] or {}) do out[k] = v end
  return out
end

-- The "predictor" section of net's file, or nil without metadata.
function M.section(net, fn)
  local m = store[net]
  if not m then return nil end
  local plain = { classes = m.classes, task = m.task, meta = m.meta }
  if m.scaler then plain.scaler = { mean = m.scaler.mean, std = m.scaler.std } end
  if m.target_scaler then plain.target_scaler = { mean = m.target_scaler.mean, std = m.target_scaler.std } end
  return internal.encode(plain, fn, "metadata")
end

-- The metadata of a "predictor" section read from path, checked as
-- set_metadata checks it (a field this build does not know refuses the
-- file: it may change what predict computes), scalers rebuilt.
local function from_section(path, bytes)
  local v = check.call(internal.decode, bytes, "backprop.load", path, "predictor")
  local ok, m = pcall(checked, "x", v)
  if not ok then
    local why = tostring(m):gsub("^x: ", ""):gsub("^metadata: ", "")
    if why:match("^unknown option") then
      error(("backprop.load: '%s' has predictor metadata this build does not know (%s; written by a newer " ..
             "backprop?)"):format(path, why), 0)
    end
    error(("backprop.load: '%s' is corrupt (section 'predictor': %s)"):format(path, why), 0)
  end
  for _, k in ipairs({ "scaler", "target_scaler" }) do
    if m[k] then m[k] = data.scaler(m[k].mean, m[k].std) end
  end
  return m
end

--- Saving and loading ----------------------------------------------------------

local raw_save, raw_load = core.Module.save, core.load

--- net:save(path [, metadata]): with metadata, set it first (as
-- set_metadata); the network's metadata goes into the file. `extra`
-- (internal: checkpoint.lua) adds sections of its own.
function M.save(net, ...)
  local fn = fname(net, "save")
  local path, metadata, extra = ...
  if select("#", ...) == 0 or type(path) ~= "string" then
    return check.call(raw_save, net, ...)          -- its message
  end
  if metadata ~= nil then
    check_module(fn, net)
    store[net] = checked(fn, metadata)
  end
  local sections = extra or {}
  sections.predictor = is_module(net) and M.section(net, fn) or nil
  check.call(raw_save, net, path, sections)
end

--- bp.load's work: the network (with its metadata) and the other sections
-- the file has, as bytes (nil when none).
function M.load_sections(...)
  local net, sections = check.call(raw_load, ...)
  local path = ...
  if sections and sections.predictor then store[net] = from_section(path, sections.predictor) end
  return net, sections
end

--- bp.load(path): the network, its metadata attached (net:metadata()).
function M.load(...)
  return (M.load_sections(...))
end

--- Predicting --------------------------------------------------------------------

-- x as a new float32 tensor of samples (the caller's x is never changed),
-- scaled; `one` when x is one sample, `plain` when it is a Lua table.
local function samples(fn, info, x)
  local X, one
  local plain = type(x) == "table" and not check.is_tensor(x)
  if plain then
    if #x == 0 then check.fail(fn, "x is an empty table") end
    one = type(x[1]) ~= "table"
    local rows = one and { x } or x
    local width = #rows[1]
    for i, row in ipairs(rows) do
      local where = one and "x" or ("x[%d]"):format(i)
      if type(row) ~= "table" then check.fail(fn, "%s must be a table of numbers, got %s", where, type(row)) end
      if #row ~= width then
        check.fail(fn, "%s has %d values, x[1] has %d (every sample needs the same number)", where, #row, width)
      end
      for j = 1, width do
        local v = row[j]
        if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
          check.fail(fn, "%s[%d] must be a finite number, got %s", where, j,
                     type(v) == "number" and tostring(v) or type(v))
        end
      end
    end
    X = core.tensor(rows)
  elseif check.is_tensor(x) then
    if x:dtype() ~= "float32" then check.fail(fn, "x must be a float32 tensor, got %s", x:dtype()) end
    one = x:dim() == 1
    X = one and x:reshape(1, x:numel()):clone() or x:clone()
  else
    check.fail(fn, "x must be a table of numbers (one sample), a list of them, or a tensor, got %s", type(x))
  end
  if info.scaler then
    local d = info.scaler.mean:numel()
    if X:dim() ~= 2 or X:shape()[2] ~= d then
      check.fail(fn, "x has shape %s, but the scaler was fitted on %d features", table.concat(X:shape(), "x"), d)
    end
    info.scaler:apply(X)
  end
  return X, one, plain
end

-- The network's outputs for X, in eval mode (the mode is restored after),
-- as N x k.
local function outputs(fn, net, X)
  local was = net:is_training()
  net:eval()
  local ok, out = pcall(net.forward, net, X)
  if was then net:train() end
  if not ok then error((tostring(out):gsub("^backprop%.%w+:forward:", fn .. ":", 1)), 0) end
  if out:dim() ~= 2 then
    check.fail(fn, "needs a network whose output is N x outputs, got %s", table.concat(out:shape(), "x"))
  end
  return out
end

local function task_of(net, info)
  if info.task then return info.task end
  if info.classes then return "classification" end
  if info.target_scaler then return "regression" end
  return PROBABILITY[internal.last_layer(net)] and "classification" or "regression"
end

-- The classes the output's k columns stand for: k, or 2 for one column
-- (a probability or a logit of the second class).
local function check_classes_fit(fn, info, k)
  local want = k == 1 and 2 or k
  if info.classes and #info.classes ~= want then
    check.fail(fn, "the network's %d output%s stand%s for %d classes, but classes names %d", k,
               k == 1 and "" or "s", k == 1 and "s" or "", want, #info.classes)
  end
end

-- Each row's class id (1-based): the largest score, or for one column the
-- second class when the probability is above 0.5 (the logit above 0).
local function class_ids(net, out)
  local n, k = out:shape()[1], out:shape()[2]
  local ids = {}
  if k == 1 then
    local cut = internal.last_layer(net) == "Sigmoid" and 0.5 or 0
    local v = out:reshape(n):totable()
    for i = 1, n do ids[i] = v[i] > cut and 2 or 1 end
  else
    local a = out:argmax(2):reshape(n):totable()
    for i = 1, n do ids[i] = compat.tointeger(a[i]) end
  end
  return ids
end

local softmax, sigmoid          -- layers, made on first use

-- Probabilities, N x classes, from the outputs (see docs/API.md).
local function probabilities(net, out)
  local last, k = internal.last_layer(net), out:shape()[2]
  if k == 1 then
    sigmoid = sigmoid or core.Sigmoid()
    local p = last == "Sigmoid" and out or sigmoid:forward(out)
    return core.cat({ 1 - p, p }, 2)
  end
  if last == "Softmax" or last == "Sigmoid" then return out end
  if last == "LogSoftmax" then return out:exp() end
  softmax = softmax or core.Softmax()
  return softmax:forward(out)
end

--- net:predict(x): labels for a classifier (class names when classes are
-- known, ids otherwise), outputs for a regression (target_scaler undone).
-- x: one sample (a table of numbers, or a 1-D tensor) or many (a list of
-- such tables, or a tensor N x ...). See docs/API.md.
function M.predict(net, x)
  local fn = fname(net, "predict")
  check_module(fn, net)
  local info = store[net] or {}
  local X, one, plain = samples(fn, info, x)
  local out = outputs(fn, net, X)
  local k = out:shape()[2]
  if task_of(net, info) == "classification" then
    check_classes_fit(fn, info, k)
    local ids = class_ids(net, out)
    if info.classes then
      for i, id in ipairs(ids) do ids[i] = info.classes[id] end
    end
    if one then return ids[1] end
    return ids
  end
  if info.target_scaler then
    local d = info.target_scaler.mean:numel()
    if d ~= k then
      check.fail(fn, "the network gives %d output%s, but target_scaler was fitted on %d", k, k == 1 and "" or "s", d)
    end
    info.target_scaler:inverse(out)
  end
  if not plain then return one and out:reshape(k) or out end
  local rows = out:totable()
  for i, row in ipairs(rows) do
    if k == 1 then rows[i] = row[1] end
  end
  if one then return rows[1] end
  return rows
end

--- net:predict_proba(x): each class's probability (a classifier only); x
-- as for predict. A table of probabilities per sample for a Lua table, a
-- tensor (N x classes, or classes for one sample) for a tensor.
function M.predict_proba(net, x)
  local fn = fname(net, "predict_proba")
  check_module(fn, net)
  local info = store[net] or {}
  if task_of(net, info) ~= "classification" then
    check.fail(fn, "the network is a regression (no classes, and its last layer is %s): give it classes or " ..
               "task = \"classification\" in its metadata", internal.last_layer(net))
  end
  local X, one, plain = samples(fn, info, x)
  local out = outputs(fn, net, X)
  check_classes_fit(fn, info, out:shape()[2])
  local p = probabilities(net, out)
  if not plain then return one and p:reshape(p:numel()) or p end
  local rows = p:totable()
  if one then return rows[1] end
  return rows
end

--- Into the Module methods and bp (init.lua).
function M.install(methods, bp)
  methods.save = M.save
  methods.set_metadata = M.set_metadata
  methods.metadata = M.metadata
  methods.predict = M.predict
  methods.predict_proba = M.predict_proba
  bp.load = M.load
end

return M
