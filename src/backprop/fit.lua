--- net:fit, the training loop. A trainer made once per call (the C side,
-- src/lua/ltrain.c) holds the loss, the optimizer, clipping, batch size,
-- shuffling, input scale and the epoch's sample order, and runs any range
-- of an epoch's batches (shuffle, forward, loss, backward, clipping,
-- update) in one call into C. This file owns the epochs: validation,
-- metrics, the best weights, the learning-rate scheduler, early stopping,
-- progress, warnings, checkpoints and the user's hooks. Everything a call
-- needs lives in that call (its trainer and the table `s`), so a fit
-- abandoned inside a coroutine, or a fit run from another fit's hook,
-- leaves nothing behind.

local checkpoint = require("backprop.checkpoint")
local compat = require("backprop.compat")
local check = require("backprop.check")
local core = require("backprop.core")
local metrics_lib = require("backprop.metrics")
local Progress = require("backprop.progress")
require("backprop.schedule")    -- adds is_scheduler and wants_metric

local internal = core.internal
local M = {}
local FN = "backprop.Module:fit"


-- history fields a metric name must not take.
local RESERVED = {
  loss = true, lr = true, best_epoch = true, best_loss = true,
  stopped_epoch = true, restored = true, plot = true,
}

-- The history's one method: history:plot(path [, opts]) writes its curves
-- as an SVG file (bp.plot.history; required on first use).
local History = { __index = {
  plot = function(history, path, opts)
    return require("backprop.plot").history(history, path, opts)
  end,
} }

local function fail(msg, ...)
  check.fail(FN, msg, ...)
end

local function describe(value)
  return type(value) == "number" and tostring(value) or type(value)
end

local function positive_integer(value, name, default)
  if value == nil then return default end
  -- math.tointeger is nil for fractions, NaN and floats beyond the integer
  -- range (math.huge passed a value == floor(value) test and broke the loop).
  local n = compat.tointeger(value)
  if not n or n < 1 then
    fail("%s must be a positive integer, got %s", name, describe(value))
  end
  return n
end

local function positive_number(value, name)
  if type(value) ~= "number" or not (value > 0) or value == math.huge then
    fail("%s must be a finite number > 0, got %s", name, describe(value))
  end
  return value
end

local function boolean(value, name, default)
  if value == nil then return default end
  if type(value) ~= "boolean" then fail("%s must be a boolean, got %s", name, type(value)) end
  return value
end

local is_tensor = check.is_tensor

-- The loss and the optimizer are checked by the trainer too, but fit uses
-- them before (opt.lr, the loss's reduction): same check, same message,
-- which names the class as the C side does ("backprop.Sequential:fit").
local function check_object(net, v, tname, what)
  local mt = getmetatable(v)
  if type(mt) ~= "table" or mt.__name ~= tname then
    local class = tostring(net):match("^backprop%.%w+") or "backprop.Module"
    check.fail(class .. ":fit", "%s must be a %s, got %s", what, tname,
               type(mt) == "table" and mt.__name or type(v))
  end
end

-- clip_grad_norm = max_norm or {max_norm = m, norm_type = p}: max_norm, p.
local function clip_norm_option(v)
  if v == nil then return 0, 2 end
  if type(v) == "number" then return positive_number(v, "clip_grad_norm"), 2 end
  if type(v) ~= "table" then
    fail("clip_grad_norm must be a number or a table {max_norm = m, norm_type = p}, got %s", type(v))
  end
  check.options(FN .. ": clip_grad_norm", v, { max_norm = true, norm_type = true })
  local p = v.norm_type or 2
  if type(p) ~= "number" or not (p > 0) then
    fail("clip_grad_norm.norm_type must be a number > 0 (math.huge for the max norm), got %s", describe(p))
  end
  return positive_number(v.max_norm, "clip_grad_norm.max_norm"), p
end

-- early_stopping = {patience = 5, min_delta = 0}: patience, min_delta.
local function early_stopping_option(v)
  if v == nil then return nil, 0 end
  if type(v) ~= "table" then
    fail("early_stopping must be a table like {patience = 5, min_delta = 0}, got %s", type(v))
  end
  check.options(FN .. ": early_stopping", v, { patience = true, min_delta = true })
  local delta = v.min_delta or 0
  if type(delta) ~= "number" or not (delta >= 0) or delta == math.huge then
    fail("early_stopping.min_delta must be a finite number >= 0, got %s", describe(delta))
  end
  return positive_integer(v.patience, "early_stopping.patience", 5), delta
end

local function known_metrics()
  local names = {}
  for name, f in pairs(metrics_lib) do
    if type(f) == "function" then names[#names + 1] = name end
  end
  table.sort(names)
  return table.concat(names, ", ")
end

-- metrics = {"accuracy", ..., name = function(output, target) ... end}: a
-- list of {name, function}, names first in their order, then the named
-- functions sorted; nil when there are none. Names resolve in bp.metrics
-- now, at the call, so metrics added to it later are found.
local function metrics_option(v)
  if v == nil then return nil end
  if type(v) ~= "table" then
    fail("metrics must be a list of metric names such as {\"accuracy\"}, got %s", type(v))
  end
  local list, named = {}, {}
  for key, f in pairs(v) do
    if compat.isinteger(key) and key >= 1 and key <= #v then
      if type(f) ~= "string" then
        fail("metrics[%d] must be the name of a bp.metrics function, got %s", key, type(f))
      end
      if type(metrics_lib[f]) ~= "function" then
        fail("unknown metric '%s' (known: %s; or pass name = function(output, target))", f, known_metrics())
      end
      list[key] = {f, metrics_lib[f]}
    elseif type(key) == "string" and type(f) == "function" then
      named[#named + 1] = key
    else
      fail("metrics: %s = %s is neither a metric name in the list nor name = function(output, target)",
           tostring(key), type(f))
    end
  end
  table.sort(named)
  for _, name in ipairs(named) do list[#list + 1] = {name, v[name]} end
  local seen = {}
  for _, m in ipairs(list) do
    local name = m[1]
    if not name:match("^[%a_][%w_]*$") or RESERVED[name] then
      fail("metric name '%s' cannot be used (it must be an identifier, and not one of history's own fields)", name)
    end
    if seen[name] then fail("metric '%s' is asked for twice", name) end
    seen[name] = true
  end
  if #list == 0 then return nil end
  return list
end

local function func(v, name)
  if type(v) ~= "function" then fail("%s must be a function, got %s", name, type(v)) end
  return v
end

local function path(v, name)
  if type(v) ~= "string" then fail("%s must be a path (a string), got %s", name, type(v)) end
  return v
end

-- Each option given: its value checked into the settings s. An option
-- left out costs nothing (fit is often called once per sample or batch).
local SET = {
  loss = function() end, optimizer = function() end,    -- checked first
  epochs = function(s, v) s.epochs = positive_integer(v, "epochs") end,
  batch_size = function(s, v) s.batch_size = positive_integer(v, "batch_size") end,
  shuffle = function(s, v) s.shuffle = boolean(v, "shuffle") end,
  order = function(s, v)
    local t = type(v)
    if not is_tensor(v) and t ~= "table" and t ~= "function" then
      fail("order must be a tensor or a list of row indices, or a function(epoch) returning one, got %s", t)
    end
    s.order = v
  end,
  progress = function(s, v) s.progress = boolean(v, "progress") end,
  warnings = function(s, v) s.warnings = boolean(v, "warnings") end,
  on_epoch = function(s, v) s.on_epoch = func(v, "on_epoch") end,
  on_batch = function(s, v) s.on_batch = func(v, "on_batch") end,
  batch_every = function(s, v) s.batch_every = positive_integer(v, "batch_every") end,
  input_scale = function(s, v) s.input_scale = positive_number(v, "input_scale") end,
  scheduler = function(s, v)
    if not internal.is_scheduler(v) then
      fail("scheduler must be a bp.lr_scheduler scheduler (for example " ..
           "bp.lr_scheduler.StepLR(opt, {step_size = 10})), got %s", type(v))
    end
    if v.optimizer ~= s.opt then fail("the scheduler was made for another optimizer") end
    s.sched = v
  end,
  early_stopping = function(s, v) s.patience, s.min_delta = early_stopping_option(v) end,
  restore_best = function(s, v) s.restore = boolean(v, "restore_best") end,
  clip_grad_norm = function(s, v) s.max_norm, s.norm_type = clip_norm_option(v) end,
  clip_grad_value = function(s, v) s.clip_value = positive_number(v, "clip_grad_value") end,
  validation = function(s, v)
    if type(v) ~= "table" or not is_tensor(v[1]) or not is_tensor(v[2]) then
      fail("validation must be a table {x, y} of two tensors")
    end
    s.validation = v
  end,
  metrics = function(s, v) s.metrics = metrics_option(v) end,
  checkpoint = function(s, v) s.checkpoint = path(v, "checkpoint") end,
  resume = function(s, v) s.resume = path(v, "resume") end,
  checkpoint_every = function(s, v)
    s.checkpoint_every = positive_integer(v, "checkpoint_every")
  end,
}

-- The checked options, as one table the loop reads.
local function settings(net, opts)
  -- Unlike the other option tables, fit's is required (it names the loss).
  if type(opts) ~= "table" then fail("options must be a table, got %s", type(opts)) end
  check.options(FN, opts, SET)
  -- Every field the call uses, listed once (those nil by default in the
  -- comments: a table is sized by its constructor, and fit is called often).
  local s = {
    loss = opts.loss, opt = opts.optimizer, mean = false, epochs = 1,
    batch_size = 32, shuffle = true, warnings = true, batch_every = 1,
    min_delta = 0, restore = false, max_norm = 0, norm_type = 2,
    clip_value = 0, checkpoint_every = 1, samples = 0,
    -- progress, on_epoch, on_batch, input_scale, sched, patience,
    -- validation, metrics, checkpoint, resume, order: nil by default.
    -- Set by fit: the set trainer:evaluate runs (evaluate) and its targets
    -- (metric_y), whether it keeps the outputs; batches per epoch; pieces
    -- of an epoch (for a bar).
    outputs = false, nbatches = 0, pieces = false, piece = 0,
  }
  if s.loss == nil then fail("options.loss is required (for example bp.MSELoss())") end
  if s.opt == nil then fail("options.optimizer is required (for example bp.SGD(net, {lr = 0.1}))") end
  check_object(net, s.loss, "backprop.Loss", "loss")
  check_object(net, s.opt, "backprop.Optimizer", "optimizer")
  s.mean = s.loss:reduction() == "mean"
  for key, v in pairs(opts) do SET[key](s, v) end
  -- What the options ask of each other.
  if s.order ~= nil then
    if opts.shuffle then fail("order and shuffle = true cannot be combined: order sets the visiting order") end
    s.shuffle = false
  end
  if opts.batch_every ~= nil and s.on_batch == nil then
    fail("batch_every needs on_batch (the function to call)")
  end
  if opts.checkpoint_every ~= nil and not s.checkpoint then
    fail("checkpoint_every needs checkpoint (the path to save to)")
  end
  return s
end

-- The loss of what a run or an evaluation added up (bp_train_sum in
-- train.h): the mean over the samples for reduction "mean", weighted as
-- the loss weighs them (class weights), else the sum. Every mean fit
-- reports (epoch, on_batch part, validation) is taken here.
local function loss_of(s, total, weight)
  if s.mean then return total / weight end
  return total
end

--- Warnings --------------------------------------------------------------
-- Mistakes that train without an error, but badly. Each is written to
-- stderr at most once per network (and kind), when fit starts; the option
-- warnings = false turns them off.

local warned = setmetatable({}, { __mode = "k" })

-- A feature whose root mean square is above this was likely not
-- standardized (a forgotten scaler gave one user an epoch-1 loss of 5.6e17).
local SCALE_LIMIT = 100

-- The loss applies this activation itself, or expects another one.
local DOUBLED = {
  CrossEntropyLoss = { Softmax = "CrossEntropyLoss applies log-softmax itself: remove the Softmax layer " ..
                                 "(the network should output raw scores)" },
  NLLLoss = { Softmax = "NLLLoss expects log-probabilities: end the network with LogSoftmax, not Softmax" },
  BCEWithLogitsLoss = { Sigmoid = "BCEWithLogitsLoss applies the sigmoid itself: remove the Sigmoid layer " ..
                                  "(or use BCELoss)" },
}

local function warn(net, kind, msg, ...)
  local seen = warned[net]
  if not seen then
    seen = {}
    warned[net] = seen
  end
  if seen[kind] then return end
  seen[kind] = true
  local err = io.stderr
  err:write("backprop warning: ", string.format(msg, ...),
            " (fit's option warnings = false turns this off)\n")
  err:flush()
end

local NONE = {}
-- net -> the loss its last layer was last checked with, and the float
-- input whose scale it last looked at (fit is often called once per
-- sample or batch, on the same tensors: a look each time would cost as
-- much as the training step)
local paired = setmetatable({}, { __mode = "kv" })
local scanned = setmetatable({}, { __mode = "kv" })

local function check_mistakes(net, x, s)
  local seen = warned[net] or NONE
  if x:dtype() == "uint8" then
    if not s.input_scale then
      warn(net, "uint8", "the input is uint8 and fit has no input_scale, so the network sees raw values " ..
                         "0..255; pass input_scale = 1/255")
    end
  elseif not seen.scale and scanned[net] ~= x then
    scanned[net] = x
    local rms, feature, rows = internal.column_rms(x)
    if rms > SCALE_LIMIT then
      warn(net, "scale", "input feature %d has a root mean square of %.3g (over %d rows): features far " ..
                         "from 1 make training slow or diverge; standardize them (bp.data.standardize)",
           feature, rms, rows)
    end
  end
  -- A network's layers never change: its last layer and a loss are
  -- checked together once (fit is often called once per sample or batch).
  if not seen.doubled and paired[net] ~= s.loss then
    paired[net] = s.loss
    local last = internal.last_layer(net)
    if last == "Softmax" or last == "Sigmoid" then
      local loss = DOUBLED[tostring(s.loss):match("^backprop%.(%w+)")]
      if loss and loss[last] then warn(net, "doubled", "%s", loss[last]) end
    end
  end
end

--- Checkpoints -----------------------------------------------------------
-- fit{checkpoint = path} saves, at the end of an epoch (after the
-- scheduler's step, before on_epoch), everything the epochs after it
-- depend on: the network, the optimizer's and the scheduler's states, the
-- generator (the next epoch's order and Dropout masks), the history and
-- the best-epoch and early-stopping counters (and restore_best's weights).
-- fit{resume = path} puts all of it back, so the run goes on as if it had
-- never stopped: the same weights, bit for bit.

local function save_checkpoint(net, s, epoch, history, best, bad, best_params)
  checkpoint.save(s.checkpoint, {
    net = net, optimizer = s.opt, scheduler = s.sched, epoch = epoch, history = history,
    fit = { samples = s.samples, batch_size = s.batch_size, best = best, bad = bad, best_params = best_params },
  })
end

local HISTORY_SCALARS = { best_epoch = "integer", stopped_epoch = "integer", best_loss = "number",
                          restored = "boolean" }

local function same_shape(a, b)
  local x, y = a:shape(), b:shape()
  if #x ~= #y then return false end
  for i = 1, #x do if x[i] ~= y[i] then return false end end
  return true
end

-- What resume takes from a fit checkpoint besides the states, checked
-- before anything is restored: a damaged one is "corrupt", by name,
-- never an error deep inside the loop.
local function check_run(s, ck, best_params)
  local run = ck.fit
  local function corrupt(what, ...)
    fail("'%s' is corrupt (checkpoint of fit: " .. what .. ")", s.resume, ...)
  end
  if not compat.isinteger(ck.epoch) or ck.epoch < 0 then corrupt("epoch is %s", describe(ck.epoch)) end
  if type(run.best) ~= "number" then corrupt("best is %s", describe(run.best)) end
  if not compat.isinteger(run.bad) or run.bad < 0 then corrupt("bad is %s", describe(run.bad)) end
  for key, v in pairs(ck.history) do
    local want = HISTORY_SCALARS[key]
    if type(key) ~= "string" or key == "plot" then corrupt("history has the key %s", tostring(key)) end
    if want == "integer" then
      if not compat.isinteger(v) then corrupt("history.%s is %s", key, describe(v)) end
    elseif want then
      if type(v) ~= want then corrupt("history.%s is %s", key, describe(v)) end
    else
      if type(v) ~= "table" then corrupt("history.%s is %s, not a list", key, describe(v)) end
      for i, x in pairs(v) do
        if not compat.isinteger(i) or i < 1 or type(x) ~= "number" then
          corrupt("history.%s[%s] is %s", key, tostring(i), describe(x))
        end
      end
    end
  end
  for i, t in ipairs(best_params or {}) do
    local b = run.best_params[i]
    if not check.is_tensor(b) or b:dtype() ~= "float32" or not same_shape(b, t) then
      corrupt("best_params[%d] is not a tensor of shape %s", i, table.concat(t:shape(), "x"))
    end
  end
end

-- The run saved at s.resume into net, the optimizer, the scheduler, the
-- generator, history and best_params; returns the next epoch, best and
-- bad. A path with no file starts at epoch 1 (so one script can be run
-- again until its run is done).
local function resume(net, s, history, best_params)
  local f = io.open(s.resume, "rb")
  if not f then return 1, math.huge, 0 end
  f:close()
  local ck = checkpoint.load(s.resume)
  local run = ck.fit
  if type(run) ~= "table" or type(ck.epoch) ~= "number" or type(ck.history) ~= "table" then
    fail("'%s' is not a checkpoint of fit (resume it by hand: bp.checkpoint.restore)", s.resume)
  end
  if run.samples ~= s.samples or run.batch_size ~= s.batch_size then
    fail("'%s' was saved by a fit on %s samples in batches of %s; this one has %d in batches of %d",
         s.resume, tostring(run.samples), tostring(run.batch_size), s.samples, s.batch_size)
  end
  if (ck.scheduler ~= nil) ~= (s.sched ~= nil) then
    fail("'%s' was saved by a fit %s a scheduler; this one has %s", s.resume,
         ck.scheduler and "with" or "without", s.sched and "one" or "none")
  end
  if best_params and type(run.best_params) ~= "table" then
    fail("'%s' was saved by a fit without restore_best", s.resume)
  end
  check_run(s, ck, best_params)
  checkpoint.restore(ck, { net = net, optimizer = s.opt, scheduler = s.sched })
  for key, v in pairs(ck.history) do history[key] = v end
  if best_params then
    for i, t in ipairs(best_params) do t:copy(run.best_params[i]) end
  end
  return ck.epoch + 1, run.best, run.bad
end

--- Progress --------------------------------------------------------------

-- progress = true: a bar on a terminal, a line per epoch otherwise; nil
-- (the default): the bar, once training has run a second, on a terminal
-- only; false: nothing.
local function progress_for(s, x)
  if s.progress == false then return nil end
  local tty = internal.stderr_isatty()
  if not tty and s.progress == nil then return nil end
  return Progress.new{
    mode = tty and "bar" or "lines", out = io.stderr, clock = core.clock,
    epochs = s.epochs, batches = s.nbatches, samples = s.samples,
    delay = s.progress == nil and 1 or 0,
  }
end

--- The loop ----------------------------------------------------------------

-- One epoch: one call into C, or pieces of it when on_batch is called
-- every batch_every batches (with the loss over those batches) or a bar
-- is drawn (pieces of 25 to 100 ms). Returns the epoch's loss, whether
-- on_batch said stop, and the batches and samples run.
local function run_epoch(trainer, s, epoch, bar)
  local nb = s.nbatches
  if not s.on_batch and not s.pieces then
    local total, weight, seen = check.call(trainer.run, trainer, 1, 0)
    return loss_of(s, total, weight), false, nb, seen
  end
  local total, weight, seen = 0, 0, 0
  local ptotal, pweight = 0, 0          -- since on_batch was last called
  local first = 1
  while first <= nb do
    local count = math.min(s.piece, nb - first + 1)
    if s.on_batch then count = math.min(count, s.batch_every - (first - 1) % s.batch_every) end
    local t0 = s.pieces and core.clock()
    local t, w, k = check.call(trainer.run, trainer, first, count)
    total, weight, seen = total + t, weight + w, seen + k
    ptotal, pweight = ptotal + t, pweight + w
    first = first + count
    if s.pieces then
      local dt = core.clock() - t0
      if dt < 0.025 and count == s.piece then s.piece = s.piece * 2
      elseif dt > 0.1 and s.piece > 1 then s.piece = compat.idiv(s.piece, 2) end
      bar:update(epoch, first - 1, seen, loss_of(s, total, weight))
    end
    if s.on_batch and ((first - 1) % s.batch_every == 0 or first > nb) then
      local l = loss_of(s, ptotal, pweight)
      ptotal, pweight = 0, 0
      if s.on_batch(epoch, first - 1, l) == false then
        return loss_of(s, total, weight), true, first - 1, seen
      end
    end
  end
  return loss_of(s, total, weight), false, nb, seen
end

-- order = ids or function(epoch) returning ids: the rows epoch visits, in
-- that order, read at its start (the trainer gathers them batch by batch,
-- as it does for shuffling: the data set is not copied).
local function set_order(trainer, order, epoch)
  if type(order) ~= "function" then return trainer:set_order(order) end
  local ids = order(epoch)
  if not is_tensor(ids) and type(ids) ~= "table" then
    fail("order(%d) returned %s, expected a tensor or a list of row indices", epoch, type(ids))
  end
  trainer:set_order(ids, "order(" .. epoch .. ")")
end

-- Each metric on the evaluation outputs, into history (val_<name> on the
-- validation set, else <name> on the training data) and, as {name, value}
-- pairs, into shown (the progress line's, or nil).
local function record_metrics(s, history, epoch, outputs, shown)
  for _, m in ipairs(s.metrics) do
    local value = m[2](outputs, s.metric_y)
    if type(value) ~= "number" then
      fail("metric '%s' returned %s, expected a number", m[1], type(value))
    end
    local key = s.validation and "val_" .. m[1] or m[1]
    history[key][epoch] = value
    if shown then shown[#shown + 1] = {key, value} end
  end
end

local function train(net, x, y, s, trainer, bar)
  local history = setmetatable({ loss = {}, lr = {} }, History)
  if s.validation then history.val_loss = {} end
  if s.metrics then
    for _, m in ipairs(s.metrics) do history[s.validation and "val_" .. m[1] or m[1]] = {} end
  end
  -- The state to restore: the parameters and the non-trainable buffers
  -- (BatchNorm's running statistics belong to the same epoch's weights),
  -- copied into buffers made once, here.
  local params, best_params
  if s.restore then
    params, best_params = {}, {}
    for _, p in ipairs(net:parameters()) do params[#params + 1] = p end
    for _, b in ipairs(net:buffers()) do params[#params + 1] = b end
    for i, p in ipairs(params) do best_params[i] = p:clone() end
  end
  local first, best, bad = 1, math.huge, 0
  if s.resume then first, best, bad = resume(net, s, history, best_params) end
  -- saved after an epoch whose early-stopping check ended the run
  if s.patience and bad >= s.patience and first > 1 then
    history.stopped_epoch, first = first - 1, s.epochs + 1
  end
  for epoch = first, s.epochs do
    history.lr[epoch] = s.opt.lr
    if s.order then set_order(trainer, s.order, epoch) end
    net:train()
    if bar then bar:epoch_start() end
    local l, stop, batches, seen = run_epoch(trainer, s, epoch, bar)
    history.loss[epoch] = l
    -- What the progress line shows: {name, value} pairs.
    local shown = bar and { {"loss", l} }
    if stop then
      history.stopped_epoch = epoch
      if bar then bar:epoch_end(epoch, batches, seen, shown) end
      break
    end
    local vl
    if s.evaluate then
      net:eval()
      local total, weight, _, outputs = check.call(trainer.evaluate, trainer)
      if s.validation then
        vl = loss_of(s, total, weight)
        history.val_loss[epoch] = vl
        if bar then shown[#shown + 1] = {"val_loss", vl} end
      end
      if s.metrics then record_metrics(s, history, epoch, outputs, shown) end
    end
    local monitored = vl or l
    if monitored < best - s.min_delta then
      best, bad = monitored, 0
      history.best_epoch, history.best_loss = epoch, monitored
      if best_params then
        for i, p in ipairs(params) do best_params[i]:copy(p) end
      end
    else
      bad = bad + 1
    end
    if s.sched then
      if internal.wants_metric(s.sched) then s.sched:step(monitored) else s.sched:step() end
      if bar then shown[#shown + 1] = {"lr", history.lr[epoch]} end   -- the lr it ran with
    end
    if s.checkpoint and (epoch % s.checkpoint_every == 0 or epoch == s.epochs or
                         (s.patience and bad >= s.patience)) then
      save_checkpoint(net, s, epoch, history, best, bad, best_params)
    end
    if bar then bar:epoch_end(epoch, batches, seen, shown) end
    if s.on_epoch and s.on_epoch(epoch, l, vl, history) == false then break end
    if s.patience and bad >= s.patience then
      history.stopped_epoch = epoch
      break
    end
  end
  local last = #history.loss
  if best_params and history.best_epoch and history.best_epoch ~= last then
    for i, p in ipairs(params) do p:copy(best_params[i]) end
    history.restored = true
  end
  net:eval()
  return history
end

--- Train the network on (x, y). Returns a history table: history.loss[e]
-- is epoch e's training loss, history.val_loss[e] the validation loss
-- when opts.validation = {x, y} is given, history.val_<metric>[e] (or
-- history.<metric>[e] on the training data, without validation) each
-- metric of opts.metrics, history.lr[e] the learning rate epoch e ran
-- with, history.best_epoch / best_loss the epoch with the lowest monitored
-- loss (val_loss, else loss), history.stopped_epoch the epoch early
-- stopping (or on_batch) ended on, history.restored whether restore_best
-- copied the best epoch's weights back. See docs/API.md for the options.
function M.fit(net, x, y, opts)
  local s = settings(net, opts)
  -- Metrics are computed on the validation set, or without one on the
  -- training data (a forward pass over it in eval mode, each epoch).
  s.evaluate = s.validation
  if not s.evaluate and s.metrics then s.evaluate = {x, y} end
  s.metric_y = s.evaluate and s.evaluate[2]
  s.outputs = s.metrics ~= nil
  -- The validation set is checked in eval mode, the mode it runs in.
  if s.validation then net:eval() end
  -- The trainer reads batch_size, shuffle, input_scale, max_norm,
  -- norm_type, clip_value, evaluate and outputs from s.
  local trainer
  trainer, s.nbatches, s.samples = check.call(internal.trainer, net, x, y, s.loss, s.opt, s)
  if s.warnings then check_mistakes(net, x, s) end
  local bar = progress_for(s, x)
  -- A bar is drawn between pieces of an epoch: they start at one batch
  -- and double (or halve) to take 25 to 100 ms each.
  s.pieces = bar ~= nil and bar:wants_updates()
  s.piece = s.pieces and 1 or s.nbatches
  if not bar then return train(net, x, y, s, trainer, nil) end
  local ok, history = pcall(train, net, x, y, s, trainer, bar)
  bar:finish()
  if not ok then error(history, 0) end
  return history
end

function M.install(methods)
  methods.fit = M.fit
end

return M
