--- bp.checkpoint: a training run in one file, to stop it and go on
-- exactly where it was. A checkpoint is a model file (the network, its
-- metadata) with a "checkpoint" section (serialize.h) holding the
-- optimizer's state (opt:state()), the scheduler's (sched:state()), the
-- random generator's (bp.get_rng_state()) and whatever else was given
-- (epoch, history, ...), as data. It is written as every file is, whole or
-- not at all, and checked as every model file is before anything is made
-- from it; bp.load reads it as its network.
--
--   bp.checkpoint.save("run.ckpt", {net = net, optimizer = opt, scheduler = sched, epoch = e})
--   local ck = bp.checkpoint.restore("run.ckpt", {net = net, optimizer = opt, scheduler = sched})
--   for epoch = ck.epoch + 1, 100 do ... end

local check = require("backprop.check")
local core = require("backprop.core")
local predict = require("backprop.predict")
require("backprop.schedule")                -- adds internal.is_scheduler

local internal = core.internal
local M = {}

local function is(v, name)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == name
end

-- An error raised by a function of another name, under fn's name.
local function renamed(err, from, fn)
  return (tostring(err):gsub("^" .. from, fn, 1))
end

--- bp.checkpoint.save(path, {net =, optimizer =, scheduler =, ...}): net
-- (required) with its metadata, opt:state(), sched:state(), the
-- generator's state (rng, unless given) and every other field as it is:
-- strings, numbers, booleans, float32 tensors and tables of them.
function M.save(path, ck)
  local fn = "backprop.checkpoint.save"
  if type(path) ~= "string" then check.fail(fn, "path must be a string, got %s", type(path)) end
  if type(ck) ~= "table" then
    check.fail(fn, "the checkpoint must be a table {net = ..., optimizer = ..., ...}, got %s", type(ck))
  end
  if not is(ck.net, "backprop.Module") then check.fail(fn, "net must be a backprop.Module, got %s", type(ck.net)) end
  local state = {}
  for k, v in pairs(ck) do
    if k ~= "net" then state[k] = v end
  end
  if ck.optimizer ~= nil then
    if not is(ck.optimizer, "backprop.Optimizer") then
      check.fail(fn, "optimizer must be a backprop optimizer, got %s", type(ck.optimizer))
    end
    state.optimizer = ck.optimizer:state()
  end
  if ck.scheduler ~= nil then
    if not internal.is_scheduler(ck.scheduler) then
      check.fail(fn, "scheduler must be a bp.lr_scheduler scheduler, got %s", type(ck.scheduler))
    end
    state.scheduler = ck.scheduler:state()
  end
  if state.rng == nil then state.rng = core.get_rng_state() end
  local bytes = internal.encode(state, fn, "checkpoint")
  local ok, err = pcall(predict.save, ck.net, path, nil, { checkpoint = bytes })
  if not ok then error(renamed(err, "backprop%.%w+:save", fn), 0) end
end

--- bp.checkpoint.load(path): the checkpoint as saved, its network (net)
-- made from the file, optimizer and scheduler as their states (for
-- opt:load_state and sched:load_state), rng the generator's state.
function M.load(path)
  local fn = "backprop.checkpoint.load"
  if type(path) ~= "string" then check.fail(fn, "path must be a string, got %s", type(path)) end
  local ok, net, sections = pcall(predict.load_sections, path)
  if not ok then error(renamed(net, "backprop%.load", fn), 0) end
  if not sections or not sections.checkpoint then
    check.fail(fn, "'%s' is a model file without a checkpoint (written by net:save, not bp.checkpoint.save)", path)
  end
  local ck = check.call(internal.decode, sections.checkpoint, fn, path, "checkpoint")
  if type(ck) ~= "table" or ck.net ~= nil then
    check.fail(fn, "'%s' is corrupt (section 'checkpoint': not a table of fields)", path)
  end
  ck.net = net
  return ck
end

--- bp.checkpoint.restore(path_or_checkpoint, {net =, optimizer =, scheduler =}):
-- the checkpoint's weights into net (of the same layers), its states into
-- the optimizer and the scheduler given, and the generator put back as it
-- was. Everything is checked before anything changes. Returns the
-- checkpoint (bp.checkpoint.load's table).
function M.restore(source, into)
  local fn = "backprop.checkpoint.restore"
  local ck = source
  if type(source) == "string" then
    local ok, got = pcall(M.load, source)
    if not ok then error(renamed(got, "backprop%.checkpoint%.load", fn), 0) end
    ck = got
  elseif type(source) ~= "table" or not is(source.net, "backprop.Module") then
    check.fail(fn, "source must be a path or what bp.checkpoint.load returned, got %s", type(source))
  end
  into = check.options(fn, into, { net = true, optimizer = true, scheduler = true })
  if not is(into.net, "backprop.Module") then check.fail(fn, "net must be a backprop.Module, got %s", type(into.net)) end
  check.call(internal.copy_net, into.net, ck.net, fn, true)
  for _, part in ipairs({ "optimizer", "scheduler" }) do
    if into[part] ~= nil and type(ck[part]) ~= "table" then check.fail(fn, "the checkpoint has no %s state", part) end
  end
  -- The states, each checked whole by its load_state; a later one that
  -- fails puts the earlier back.
  local rng = core.get_rng_state()
  local undo = {}
  local ok, err = pcall(function()
    for _, part in ipairs({ "optimizer", "scheduler" }) do
      local obj = into[part]
      if obj ~= nil then
        local before = obj:state()
        check.call(obj.load_state, obj, ck[part])
        undo[#undo + 1] = function() obj:load_state(before) end
      end
    end
    if ck.rng ~= nil then check.call(core.set_rng_state, ck.rng) end
  end)
  if not ok then
    for i = #undo, 1, -1 do undo[i]() end
    core.set_rng_state(rng)
    error(fn .. ": " .. tostring(err), 0)
  end
  -- the weights last: a lone layer not used yet draws its own first
  rng = core.get_rng_state()
  check.call(internal.copy_net, into.net, ck.net, fn)
  core.set_rng_state(rng)
  return ck
end

return M
