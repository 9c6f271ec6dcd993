--- bp.lr_scheduler: learning-rate schedules, as torch.optim.lr_scheduler.
-- A scheduler changes its optimizer's opt.lr when stepped, once per epoch:
-- by hand (`sched:step()`, or `sched:step(val_loss)` for
-- ReduceLROnPlateau) or by fit (option `scheduler = sched`). They run once
-- per epoch, so Lua is fast enough. The rules are PyTorch's recursive
-- ("chainable") forms: each step scales the current lr, so a change made
-- by hand or by another scheduler carries on, and numbers agree with
-- PyTorch to the last bit.

local compat = require("backprop.compat")
local check = require("backprop.check")
local internal = require("backprop.core").internal

local M = {}

local function is_optimizer(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "backprop.Optimizer"
end

local function number(fn, opts, key, default, ok, what)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    check.fail(fn, "%s must be a finite number, got %s", key,
               v ~= v and "nan" or type(v) == "number" and tostring(v) or type(v))
  end
  if not ok(v) then check.fail(fn, "%s must be %s, got %s", key, what, tostring(v)) end
  return v
end

local function integer(fn, v, name, default, min)
  if v == nil and default ~= nil then return default end
  local n = compat.tointeger(v)
  if not n or n < min then
    check.fail(fn, "%s must be an integer >= %d, got %s", name, min,
               v == nil and "nothing" or type(v) == "number" and tostring(v) or type(v))
  end
  return n
end

local function positive(v) return v > 0 end
local function nonnegative(v) return v >= 0 end

local Scheduler = {}
Scheduler.__index = Scheduler

--- The learning rate the last step set (a number; PyTorch returns a list).
function Scheduler:get_last_lr()
  return self.last_lr
end

--- One epoch on: opt.lr becomes the next value of the schedule.
function Scheduler:step(...)
  if select("#", ...) > 0 then
    check.fail("backprop.lr_scheduler." .. self.kind .. ":step",
               "takes no argument (only ReduceLROnPlateau:step takes a metric)")
  end
  self.last_epoch = self.last_epoch + 1
  self.optimizer.lr = self:_next(self.optimizer.lr)
  self.last_lr = self.optimizer.lr
end

function Scheduler:__tostring()
  return string.format("backprop.lr_scheduler.%s(last_epoch=%d, lr=%g)",
                       self.kind, self.last_epoch, self.last_lr)
end

-- A scheduler of `kind` over opt, from the checked options in fields.
-- As in PyTorch, creating it counts as step 0 and base_lr is opt.lr then.
local function new(kind, opt, fields)
  local s = setmetatable(fields, Scheduler)
  s.kind, s.optimizer = kind, opt
  s.base_lr, s.last_lr, s.last_epoch = opt.lr, opt.lr, 0
  return s
end

-- The checks every constructor starts with; returns the options table.
local function begin(kind, opt, opts, known)
  local fn = "backprop.lr_scheduler." .. kind
  if not is_optimizer(opt) then
    check.fail(fn, "optimizer must be a backprop optimizer (bp.SGD(net), ...), got %s", type(opt))
  end
  return fn, check.options(fn, opts, known)
end

--- StepLR(opt, {step_size = n, gamma = 0.1}): lr *= gamma every step_size epochs.
function M.StepLR(opt, opts)
  local fn, o = begin("StepLR", opt, opts, { step_size = true, gamma = true })
  return new("StepLR", opt, {
    step_size = integer(fn, o.step_size, "step_size", nil, 1),
    gamma = number(fn, o, "gamma", 0.1, positive, "> 0"),
    _next = function(self, lr)
      if self.last_epoch % self.step_size ~= 0 then return lr end
      return lr * self.gamma
    end,
  })
end

--- MultiStepLR(opt, {milestones = {e1, e2, ...}, gamma = 0.1}): lr *= gamma
-- at each milestone epoch (twice if listed twice).
function M.MultiStepLR(opt, opts)
  local fn, o = begin("MultiStepLR", opt, opts, { milestones = true, gamma = true })
  local ms = o.milestones
  if type(ms) ~= "table" or #ms == 0 then
    check.fail(fn, "milestones must be a list of epochs, like {30, 80}, got %s", type(ms))
  end
  local count = {}
  for i = 1, #ms do
    local e = integer(fn, ms[i], "milestones[" .. i .. "]", nil, 1)
    count[e] = (count[e] or 0) + 1
  end
  return new("MultiStepLR", opt, {
    milestones = count,
    gamma = number(fn, o, "gamma", 0.1, positive, "> 0"),
    _next = function(self, lr)
      local c = self.milestones[self.last_epoch]
      if not c then return lr end
      return lr * self.gamma ^ c
    end,
  })
end

--- ExponentialLR(opt, {gamma = g}): lr *= gamma every epoch.
function M.ExponentialLR(opt, opts)
  local fn, o = begin("ExponentialLR", opt, opts, { gamma = true })
  if o.gamma == nil then check.fail(fn, "gamma is required (for example {gamma = 0.95})") end
  return new("ExponentialLR", opt, {
    gamma = number(fn, o, "gamma", nil, positive, "> 0"),
    _next = function(self, lr) return lr * self.gamma end,
  })
end

--- CosineAnnealingLR(opt, {T_max = n, eta_min = 0}): from base_lr down to
-- eta_min along half a cosine over T_max epochs, then back up (the cosine
-- goes on, as in PyTorch; pair with a T_max of the epoch count to end at
-- eta_min).
function M.CosineAnnealingLR(opt, opts)
  local fn, o = begin("CosineAnnealingLR", opt, opts, { T_max = true, eta_min = true })
  local cos, pi = math.cos, math.pi
  return new("CosineAnnealingLR", opt, {
    T_max = integer(fn, o.T_max, "T_max", nil, 1),
    eta_min = number(fn, o, "eta_min", 0, nonnegative, ">= 0"),
    _next = function(self, lr)
      local e, T, lo = self.last_epoch, self.T_max, self.eta_min
      -- At the trough the ratio below would divide by 1 + cos(pi) = 0.
      if (e - 1 - T) % (2 * T) == 0 then
        return lr + (self.base_lr - lo) * (1 - cos(pi / T)) / 2
      end
      return (1 + cos(pi * e / T)) / (1 + cos(pi * (e - 1) / T)) * (lr - lo) + lo
    end,
  })
end

local Plateau = setmetatable({}, { __index = Scheduler })
Plateau.__index = Plateau
Plateau.__tostring = Scheduler.__tostring

--- ReduceLROnPlateau(opt, {mode = "min", factor = 0.1, patience = 10,
-- threshold = 1e-4, threshold_mode = "rel", cooldown = 0, min_lr = 0,
-- eps = 1e-8}): lr *= factor (not below min_lr) once the metric has not
-- improved for more than `patience` epochs; then waits `cooldown` epochs.
-- Changes smaller than eps are skipped.
function M.ReduceLROnPlateau(opt, opts)
  local fn, o = begin("ReduceLROnPlateau", opt, opts, {
    mode = true, factor = true, patience = true, threshold = true,
    threshold_mode = true, cooldown = true, min_lr = true, eps = true,
  })
  local mode, tmode = o.mode or "min", o.threshold_mode or "rel"
  if mode ~= "min" and mode ~= "max" then
    check.fail(fn, "mode must be \"min\" or \"max\", got %s", tostring(mode))
  end
  if tmode ~= "rel" and tmode ~= "abs" then
    check.fail(fn, "threshold_mode must be \"rel\" or \"abs\", got %s", tostring(tmode))
  end
  local s = new("ReduceLROnPlateau", opt, {
    mode = mode, threshold_mode = tmode,
    factor = number(fn, o, "factor", 0.1, function(v) return v > 0 and v < 1 end, "in (0, 1)"),
    patience = integer(fn, o.patience, "patience", 10, 0),
    threshold = number(fn, o, "threshold", 1e-4, nonnegative, ">= 0"),
    cooldown = integer(fn, o.cooldown, "cooldown", 0, 0),
    min_lr = number(fn, o, "min_lr", 0, nonnegative, ">= 0"),
    eps = number(fn, o, "eps", 1e-8, nonnegative, ">= 0"),
    best = mode == "min" and math.huge or -math.huge,
    num_bad_epochs = 0, cooldown_counter = 0,
  })
  return setmetatable(s, Plateau)
end

function Plateau:is_better(a)
  local best, t = self.best, self.threshold
  if self.mode == "min" then
    if self.threshold_mode == "rel" then return a < best * (1 - t) end
    return a < best - t
  end
  if self.threshold_mode == "rel" then return a > best * (t + 1) end
  return a > best + t
end

--- One epoch on, with this epoch's metric (for example the validation loss).
function Plateau:step(metric)
  if type(metric) ~= "number" then
    check.fail("backprop.lr_scheduler.ReduceLROnPlateau:step",
               "metric must be a number (for example the validation loss), got %s", type(metric))
  end
  self.last_epoch = self.last_epoch + 1
  if self:is_better(metric) then
    self.best, self.num_bad_epochs = metric, 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0
  end
  if self.num_bad_epochs > self.patience then
    local old = self.optimizer.lr
    local new_lr = math.max(old * self.factor, self.min_lr)
    if old - new_lr > self.eps then self.optimizer.lr = new_lr end
    self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
  end
  self.last_lr = self.optimizer.lr
end

--- State ---------------------------------------------------------------------

-- Each kind's options (what the constructor takes), and what steps change.
local OPTIONS = {
  StepLR = { "step_size", "gamma" },
  MultiStepLR = { "milestones", "gamma" },
  ExponentialLR = { "gamma" },
  CosineAnnealingLR = { "T_max", "eta_min" },
  ReduceLROnPlateau = { "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps" },
}
local STEPPED = { last_epoch = "count", last_lr = "lr", base_lr = "lr" }
local PLATEAU_STEPPED = { best = "any", num_bad_epochs = "count", cooldown_counter = "count" }

local function stepped_fields(self)
  if getmetatable(self) ~= Plateau then return STEPPED end
  local all = {}
  for k, v in pairs(STEPPED) do all[k] = v end
  for k, v in pairs(PLATEAU_STEPPED) do all[k] = v end
  return all
end

-- MultiStepLR keeps its milestones as counts per epoch; its options give
-- them as the constructor takes them, a sorted list.
local function option_value(self, key)
  if key ~= "milestones" then return self[key] end
  local list = {}
  for e, c in pairs(self.milestones) do
    for _ = 1, c do list[#list + 1] = e end
  end
  table.sort(list)
  return list
end

local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

--- sched:state(): a plain table of what the steps have changed (last_epoch,
-- last_lr, base_lr; ReduceLROnPlateau's best, num_bad_epochs and
-- cooldown_counter), its kind and its options, as load_state takes it
-- (PyTorch's state_dict).
function Scheduler:state()
  local s = { kind = self.kind, options = {} }
  for _, key in ipairs(OPTIONS[self.kind]) do s.options[key] = option_value(self, key) end
  for key in pairs(stepped_fields(self)) do s[key] = self[key] end
  return s
end

--- sched:load_state(state): a state from sched:state() of a scheduler of
-- the same kind and options; checked whole before anything changes. The
-- optimizer's lr is the optimizer's state (opt:load_state).
function Scheduler:load_state(state)
  local fn = "backprop.lr_scheduler." .. self.kind .. ":load_state"
  if type(state) ~= "table" then check.fail(fn, "state must be a table (from sched:state()), got %s", type(state)) end
  local fields = stepped_fields(self)
  local known = { kind = true, options = true }
  for key in pairs(fields) do known[key] = true end
  if state.kind ~= self.kind then
    check.fail(fn, "the state is of %s, this scheduler is %s", tostring(state.kind), self.kind)
  end
  check.options(fn, state, known)
  if type(state.options) ~= "table" then check.fail(fn, "state.options must be a table, got %s", type(state.options)) end
  local names = {}
  for _, key in ipairs(OPTIONS[self.kind]) do names[key] = true end
  check.options(fn .. ": state.options", state.options, names)
  for _, key in ipairs(OPTIONS[self.kind]) do
    if not same(state.options[key], option_value(self, key)) then
      check.fail(fn, "the state's %s differs from this scheduler's", key)
    end
  end
  for key, kind in pairs(fields) do
    local v = state[key]
    local ok = type(v) == "number" and v == v
    if kind == "count" then ok = ok and compat.isinteger(v) and v >= 0 end
    if kind == "lr" then ok = ok and v >= 0 and v < math.huge end
    if not ok then
      check.fail(fn, "state.%s must be %s, got %s", key,
                 kind == "count" and "an integer >= 0" or kind == "lr" and "a finite number >= 0" or "a number",
                 type(v) == "number" and tostring(v) or type(v))
    end
  end
  for key in pairs(fields) do self[key] = state[key] end
end

-- For fit, through the internal table (see src/lua/lbackprop.c), not
-- bp.lr_scheduler: whether v is a scheduler made here, and whether it
-- wants a metric.
function internal.is_scheduler(v)
  local mt = getmetatable(v)
  return mt == Scheduler or mt == Plateau
end

function internal.wants_metric(v)
  return getmetatable(v) == Plateau
end

return M
