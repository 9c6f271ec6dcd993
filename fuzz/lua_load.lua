-- fuzz/lua_load.lua: the checks of the lua_load fuzz target (lua_load.c),
-- which calls the function this file returns once per input with the
-- mode, the path of the file, its bytes and a scratch path. The function
-- returns nil when all is well, else a message: the finding.
--
-- Whatever the bytes, each call below must succeed or raise a clean error
-- (a string "backprop.<name>: ...", never Lua's "attempt to index ..."),
-- and a loading error must name the file (or say memory ran out). Then,
-- by mode:
--   0 bp.load: the network and its metadata; net:predict and
--     net:predict_proba on a sample, when the width is known; what loaded
--     saves and loads back with the same metadata.
--   1 bp.checkpoint.load, then bp.checkpoint.restore into a network loaded
--     from the same file, an optimizer and a scheduler made from the
--     states' options; a restore that fails changes none of them (nor the
--     generator); they work after it; and net:fit{resume = path} on data
--     of the checkpoint's size, when the checkpoint is fit's.
--   2, 3 net:load_safetensors, strict and not, into the MLP and the CNN
--     of spec/reference/interchange_nets.lua: a load that fails changes
--     nothing; the network runs after it.
--   4 bp.safetensors.load: what loads saves and loads back, bit for bit.
--   5 the section decoder (internal.decode): what it accepts encodes to
--     bytes that decode and encode to the same bytes again.
--   6 bp.data.read_csv with several sets of options: X has a name per
--     column, and Y (when there is a target) a row per row of X.
--   7 bp.data.read_idx.
-- Modes 0 and 1 read model files (lua_load.c fixes their checksum).
--
-- Plain Lua that runs on every version, though the target links Lua 5.4.

local bp = require("backprop")
local core = require("backprop.core")
local compat = require("backprop.compat")
local predict = require("backprop.predict")
local pytorch = require("backprop.pytorch")
local N = dofile("spec/reference/interchange_nets.lua")

local internal = core.internal

-- "backprop.Linear:forward: ..." and the like, never Lua's own errors
-- ("src/backprop/x.lua:12: attempt to index ..."), not even passed on
-- under a backprop name.
local function clean(err)
  local rest = type(err) == "string" and err:match("^backprop[%w_.:]*: (.*)$")
  return rest ~= nil and not rest:find("^%S*%.lua:%d+: ") and not rest:find("^attempt to")
end

-- nil when err is a clean error about the file at path, else the finding.
local function file_error(what, err, path)
  if not clean(err) then return what .. ": unclear error: " .. tostring(err) end
  if not err:find(path, 1, true) and not err:find("memory", 1, true) then
    return what .. ": an error that does not name the file: " .. err
  end
end

local function encode(v) return internal.encode(v, "fuzz", "value") end

-- Everything restore and load_safetensors may change, as bytes.
local function snapshot(net, opt, sched)
  local tensors = {}
  for _, t in ipairs(pytorch.state_dict(net)) do tensors[#tensors + 1] = t.tensor end
  return encode({ tensors = tensors, opt = opt and opt:state(), sched = sched and sched:state(),
                  rng = bp.get_rng_state() })
end

-- The width of one sample a network of Linear first layer takes, or nil.
local function width_of(net)
  local p = net:parameters()[1]
  if p and p:dim() == 2 and p:shape()[2] <= 4096 then return p:shape()[2] end
end

local function sample(width)
  local x = {}
  for i = 1, width do x[i] = (i % 5) * 0.25 - 0.5 end
  return x
end

-- The optimizer (and scheduler) a state describes, made as the error
-- messages tell users to: bp.Adam(net, state.options). nil when the state
-- names none; a finding (second result) when making it fails uncleanly.
local OPTIMIZERS = { SGD = true, Adam = true, AdamW = true, RMSprop = true, Adagrad = true, Rprop = true }
local function made(make, kinds, state, target)
  if type(state) ~= "table" or not kinds[state.kind] then return nil end
  local ok, obj = pcall(make[state.kind], target, state.options)
  if ok then return obj end
  if not clean(obj) then return nil, "bp." .. state.kind .. "(state.options): " .. tostring(obj) end
end

local SCHEDULERS = { StepLR = true, MultiStepLR = true, ExponentialLR = true,
                     CosineAnnealingLR = true, ReduceLROnPlateau = true }

local function load_model(path, saved)
  local ok, net = pcall(bp.load, path)
  if not ok then return file_error("bp.load", net, path) end
  local m = net:metadata()
  tostring(net)
  local width = m.scaler and m.scaler.mean:numel() or width_of(net)
  if width then
    net:eval()
    for _, f in ipairs({ "predict", "predict_proba" }) do
      local ok2, err = pcall(net[f], net, sample(width))
      if not ok2 and not clean(err) then return "net:" .. f .. ": " .. tostring(err) end
    end
  end
  local ok3, err3 = pcall(net.save, net, saved)
  if not ok3 then return "a network that loaded does not save: " .. tostring(err3) end
  local ok4, net2 = pcall(bp.load, saved)
  if not ok4 then return "a network saved after loading does not load: " .. tostring(net2) end
  if predict.section(net2, "fuzz") ~= predict.section(net, "fuzz") then
    return "the metadata changed in a save and load"
  end
end

-- fit{resume = path} on samples x width data, when the checkpoint is
-- fit's and small.
local function resume_fit(path, ck)
  local run = ck.fit
  if type(run) ~= "table" or not compat.isinteger(run.samples) or not compat.isinteger(run.batch_size)
     or run.samples < 1 or run.samples > 64 or run.batch_size < 1 then
    return
  end
  local net = bp.load(path)
  local width = width_of(net)
  if not width then return end
  local x = bp.randn(run.samples, width)
  local ok, y = pcall(net.forward, net, x)
  if not ok then return end
  local opt, why = made(bp, OPTIMIZERS, ck.optimizer, net)
  if why then return why end
  if not opt then return end
  local sched
  sched, why = made(bp.lr_scheduler, SCHEDULERS, ck.scheduler, opt)
  if why then return why end
  local epochs = 1
  if type(ck.epoch) == "number" and ck.epoch >= 0 and ck.epoch < 20 then epochs = math.floor(ck.epoch) + 1 end
  local okf, err = pcall(net.fit, net, x, y:clone(), {
    loss = bp.MSELoss(), optimizer = opt, scheduler = sched, epochs = epochs,
    batch_size = run.batch_size, resume = path, progress = false,
    restore_best = type(run.best_params) == "table", validation = type(ck.history) == "table"
      and type(ck.history.val_loss) == "table" and { x, y:clone() } or nil,
  })
  if not okf and not clean(err) then return "net:fit{resume}: " .. tostring(err) end
end

local function load_checkpoint(path)
  local ok, ck = pcall(bp.checkpoint.load, path)
  if not ok then return file_error("bp.checkpoint.load", ck, path) end
  local okn, net = pcall(bp.load, path)
  if not okn then return "bp.load refuses a checkpoint bp.checkpoint.load read: " .. tostring(net) end
  local opt, why = made(bp, OPTIMIZERS, ck.optimizer, net)
  if why then return why end
  opt = opt or bp.SGD(net, { lr = 0.1, momentum = 0.5 })
  local sched
  sched, why = made(bp.lr_scheduler, SCHEDULERS, ck.scheduler, opt)
  if why then return why end
  local before = snapshot(net, opt, sched)
  local okr, err = pcall(bp.checkpoint.restore, ck, { net = net, optimizer = opt, scheduler = sched })
  if not okr then
    if not clean(err) then return "bp.checkpoint.restore: unclear error: " .. tostring(err) end
    if snapshot(net, opt, sched) ~= before then return "a failed restore changed something: " .. err end
  end
  -- What was restored into works.
  opt:zero_grad()
  opt:step()
  if sched then
    if internal.wants_metric(sched) then sched:step(1) else sched:step() end
  end
  return resume_fit(path, ck)
end

local NETS = { N.roundtrip.mlp, N.roundtrip.cnn }

local function load_into(which, path)
  local spec = NETS[which]
  for _, strict in ipairs({ true, false }) do
    bp.manual_seed(1)
    local net = spec.build(bp)
    local before = snapshot(net)
    local ok, err = pcall(net.load_safetensors, net, path, { strict = strict })
    if not ok then
      local why = file_error("net:load_safetensors", err, path)
      if why then return why end
      if snapshot(net) ~= before then return "a failed load_safetensors changed the network: " .. err end
    end
    net:eval()
    local x = bp.randn(2, compat.unpack(spec.input))
    local okf, errf = pcall(net.forward, net, x)
    if not okf then return "the network does not run after load_safetensors: " .. tostring(errf) end
  end
end

local function same_tensor(a, b)
  if a:dtype() ~= b:dtype() or table.concat(a:shape(), "x") ~= table.concat(b:shape(), "x") then
    return false
  end
  if a:dtype() == "float32" then return encode(a) == encode(b) end
  local x, y = a:reshape(a:numel()):totable(), b:reshape(b:numel()):totable()
  for i = 1, #x do if x[i] ~= y[i] then return false end end
  return true
end

local function load_safetensors(path, saved)
  local ok, tensors, meta = pcall(bp.safetensors.load, path)
  if not ok then return file_error("bp.safetensors.load", tensors, path) end
  local oks, err = pcall(bp.safetensors.save, saved, tensors, meta)
  if not oks then return "what bp.safetensors.load read does not save: " .. tostring(err) end
  local again, meta2 = bp.safetensors.load(saved)
  for name, t in pairs(tensors) do
    if not again[name] or not same_tensor(t, again[name]) then return "tensor '" .. name .. "' changed" end
  end
  for name in pairs(again) do
    if not tensors[name] then return "tensor '" .. name .. "' appeared" end
  end
  if encode(meta or {}) ~= encode(meta2 or {}) then return "the metadata changed" end
end

local function decode(bytes)
  local ok, v = pcall(internal.decode, bytes, "backprop.fuzz", "f", "s")
  if not ok then
    if not clean(v) or not (v:find("'f' is corrupt (section 's': ", 1, true) or v:find("memory", 1, true)) then
      return "internal.decode: unclear error: " .. tostring(v)
    end
    return
  end
  local e1 = encode(v)
  local ok2, v2 = pcall(internal.decode, e1, "backprop.fuzz", "f", "s")
  if not ok2 then return "internal.decode refuses what internal.encode wrote: " .. tostring(v2) end
  if encode(v2) ~= e1 then return "encode(decode(encode(v))) differs from encode(v)" end
end

local CSV_OPTIONS = {
  { header = true, text = "onehot", missing = 0, na = { "NA", "?" } },
  { target = 1, text = "ids", missing = -1 },
  { target = "species", header = true },
  { sep = ";", header = true, text = "ids", drop = { 1 } },
}

local function read_csv(path)
  for _, opts in ipairs(CSV_OPTIONS) do
    local ok, X, Y, names = pcall(bp.data.read_csv, path, opts)
    if not ok then
      local why = file_error("bp.data.read_csv", X, path)
      if why then return why end
    else
      local rows, cols = X:shape()[1], X:shape()[2]
      if #names ~= cols then return ("%d names for %d columns"):format(#names, cols) end
      if Y and Y:shape()[1] ~= rows then return ("X has %d rows, Y %d"):format(rows, Y:shape()[1]) end
    end
  end
end

local function read_idx(path)
  local ok, t = pcall(bp.data.read_idx, path)
  if not ok then return file_error("bp.data.read_idx", t, path) end
  t:numel()
end

local MODES = {
  [0] = function(path, _, saved) return load_model(path, saved) end,
  function(path) return load_checkpoint(path) end,
  function(path) return load_into(1, path) end,
  function(path) return load_into(2, path) end,
  function(path, _, saved) return load_safetensors(path, saved) end,
  function(_, bytes) return decode(bytes) end,
  function(path) return read_csv(path) end,
  function(path) return read_idx(path) end,
}

local function one(mode, path, bytes, saved)
  bp.manual_seed(1)
  return MODES[mode](path, bytes, saved)
end

-- The function, the number of modes, and how many of them (the first)
-- read model files.
return one, #MODES + 1, 2
