--- net:fit, the training loop. Each epoch runs in C (shuffle, batch,
-- forward, loss, backward, clipping, update: one call into the core); Lua
-- only sees epoch ends (and every batch_every batches with on_batch), where it evaluates the validation set, keeps the
-- best weights, steps the learning-rate scheduler, checks early stopping,
-- reports progress and calls the user's on_epoch hook.

local check = require("backprop.check")
local core = require("backprop.core")
require("backprop.schedule")    -- adds is_scheduler and wants_metric

local internal = core.internal

local M = {}
local FN = "backprop.Module:fit"

local OPTIONS = {
  loss = true, optimizer = true, epochs = true, batch_size = true,
  shuffle = true, validation = true, progress = true, on_epoch = true,
  scheduler = true, early_stopping = true, restore_best = true,
  clip_grad_norm = true, clip_grad_value = true, on_batch = true,
  batch_every = true, input_scale = true,
}

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
  local n = math.type(value) and math.tointeger(value)
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

-- The loss and the optimizer are checked by the C epoch too, but fit uses
-- them before (opt.lr, validation loss): same check, same message, which
-- names the class as the C side does ("backprop.Sequential:fit").
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

-- One line, rewritten in place (\r): only for a person at a terminal.
-- The caller ends it with a newline when training stops.
local function progress_line(epoch, epochs, loss, val_loss, lr, started)
  local line = string.format("\repoch %d/%d  loss %.6g", epoch, epochs, loss)
  if val_loss then line = line .. string.format("  val_loss %.6g", val_loss) end
  if lr then line = line .. string.format("  lr %.3g", lr) end
  line = line .. string.format("  %.1fs ", core.clock() - started)
  io.stderr:write(line)
  io.stderr:flush()
end

-- Validation runs in chunks of rows, so the network's scratch memory stays
-- the size of a chunk instead of growing to the whole validation set (5000
-- images through a CNN would hold gigabytes of activations). The outputs
-- go into tensors made once, here; this first pass also checks the shapes.
-- Rows start .. start + k - 1 of the validation inputs, as floats (uint8
-- rows converted, times input_scale, a chunk at a time).
local function val_rows(s, start, k)
  local rows = s.vx:narrow(1, start, k)
  if s.vbytes then rows = rows:float() * (s.scale or 1) end
  return rows
end

local function validation_setup(net, s)
  local n = s.vx:shape()[1]
  local c = math.min(n, math.max(s.batch_size, 256))
  s.vchunk, s.vmean = c, s.loss:reduction() == "mean"
  s.vbytes = s.vx:dtype() == "uint8"
  net:eval()
  s.vout = net:forward(val_rows(s, 1, c))
  s.loss:forward(s.vout, s.vy:narrow(1, 1, c))
  if n % c > 0 and n > c then
    s.vout_rest = net:forward(val_rows(s, n - n % c + 1, n % c))
  end
end

-- The validation loss under the loss's reduction ("none": the sum), the
-- chunks' losses combined (means weighted by their rows).
local function validation_loss(net, s)
  local n, c, total = s.vx:shape()[1], s.vchunk, 0
  for start = 1, n, c do
    local k = math.min(c, n - start + 1)
    local out = k == c and s.vout or s.vout_rest
    net:forward(val_rows(s, start, k), out)
    local l = s.loss:forward(out, s.vy:narrow(1, start, k))
    if type(l) ~= "number" then l = l:sum() end   -- reduction "none"
    total = total + (s.vmean and l * k or l)
  end
  return s.vmean and total / n or total
end

-- The checked options, as one table the loop reads.
local function settings(net, opts)
  -- Unlike the other option tables, fit's is required (it names the loss).
  if type(opts) ~= "table" then fail("options must be a table, got %s", type(opts)) end
  check.options(FN, opts, OPTIONS)
  local s = { loss = opts.loss, opt = opts.optimizer }
  if s.loss == nil then fail("options.loss is required (for example bp.MSELoss())") end
  if s.opt == nil then fail("options.optimizer is required (for example bp.SGD(net, {lr = 0.1}))") end
  check_object(net, s.loss, "backprop.Loss", "loss")
  check_object(net, s.opt, "backprop.Optimizer", "optimizer")
  s.epochs = positive_integer(opts.epochs, "epochs", 1)
  s.batch_size = positive_integer(opts.batch_size, "batch_size", 32)
  s.shuffle = boolean(opts.shuffle, "shuffle", true)
  s.show = boolean(opts.progress, "progress", false) and internal.stderr_isatty()
  s.on_epoch = opts.on_epoch
  if s.on_epoch ~= nil and type(s.on_epoch) ~= "function" then
    fail("on_epoch must be a function, got %s", type(s.on_epoch))
  end
  s.on_batch = opts.on_batch
  if s.on_batch ~= nil and type(s.on_batch) ~= "function" then
    fail("on_batch must be a function, got %s", type(s.on_batch))
  end
  s.batch_every = positive_integer(opts.batch_every, "batch_every", 1)
  if opts.input_scale ~= nil then
    s.scale = positive_number(opts.input_scale, "input_scale")
  end
  if opts.batch_every ~= nil and s.on_batch == nil then
    fail("batch_every needs on_batch (the function to call)")
  end
  s.sched = opts.scheduler
  if s.sched ~= nil then
    if not internal.is_scheduler(s.sched) then
      fail("scheduler must be a bp.lr_scheduler scheduler (for example " ..
           "bp.lr_scheduler.StepLR(opt, {step_size = 10})), got %s", type(s.sched))
    end
    if s.sched.optimizer ~= s.opt then fail("the scheduler was made for another optimizer") end
  end
  s.patience, s.min_delta = early_stopping_option(opts.early_stopping)
  s.restore = boolean(opts.restore_best, "restore_best", false)
  s.max_norm, s.norm_type = clip_norm_option(opts.clip_grad_norm)
  s.clip_value = 0
  if opts.clip_grad_value ~= nil then
    s.clip_value = positive_number(opts.clip_grad_value, "clip_grad_value")
  end
  if opts.validation ~= nil then
    local v = opts.validation
    if type(v) ~= "table" or not is_tensor(v[1]) or not is_tensor(v[2]) then
      fail("validation must be a table {x, y} of two tensors")
    end
    s.vx, s.vy = v[1], v[2]
    validation_setup(net, s)
  end
  return s
end

-- One epoch. Without on_batch, one call into C; with it, one call per
-- batch_every batches, on_batch(epoch, batch, loss) after each (loss over
-- those batches). Returns the epoch's loss and whether on_batch said stop.
-- Only the first call scans all of x for NaN and infinity (s.checked):
-- later ones check each batch just before its step.
local function run_epoch(net, x, y, s, epoch)
  if not s.on_batch then
    local l
    if s.scale then   -- whole epoch (batch 1 on), uint8 rows scaled
      l = net:_train_epoch(x, y, s.loss, s.opt, s.batch_size, s.shuffle, 1, 0, s.scale, s.checked)
    else
      l = net:_train_epoch(x, y, s.loss, s.opt, s.batch_size, s.shuffle, nil, nil, nil, s.checked)
    end
    s.checked = true
    return l, false
  end
  local n = x:shape()[1]
  local nbatches = (n + s.batch_size - 1) // s.batch_size
  local total, seen, first, mean = 0, 0, 1, true
  while first <= nbatches do
    local count = math.min(s.batch_every, nbatches - first + 1)
    local l, k
    l, k, mean = net:_train_epoch(x, y, s.loss, s.opt, s.batch_size, s.shuffle, first, count, s.scale,
                                  s.checked)
    s.checked = true
    total, seen = total + (mean and l * k or l), seen + k
    first = first + count
    if s.on_batch(epoch, first - 1, l) == false then
      return mean and total / seen or total, true
    end
  end
  return mean and total / seen or total, false
end

local function train(net, x, y, s)
  local history = { loss = {}, val_loss = s.vx and {} or nil, lr = {} }
  -- Best weights are copied into buffers made once, here.
  -- The state to restore: the parameters and the non-trainable buffers
  -- (BatchNorm's running statistics belong to the same epoch's weights).
  local params, best_params = {}, nil
  for _, p in ipairs(net:parameters()) do params[#params + 1] = p end
  for _, b in ipairs(net:buffers()) do params[#params + 1] = b end
  if s.restore then
    best_params = {}
    for i, p in ipairs(params) do best_params[i] = p:clone() end
  end
  local best, bad = math.huge, 0
  local started = core.clock()
  for epoch = 1, s.epochs do
    history.lr[epoch] = s.opt.lr
    net:train()
    local l, stop = run_epoch(net, x, y, s, epoch)
    history.loss[epoch] = l
    if stop then
      history.stopped_epoch = epoch
      break
    end
    local vl
    if s.vx then
      net:eval()
      vl = validation_loss(net, s)
      history.val_loss[epoch] = vl
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
    end
    if s.show then progress_line(epoch, s.epochs, l, vl, s.sched and s.opt.lr, started) end
    if s.on_epoch and s.on_epoch(epoch, l, vl) == false then break end
    if s.patience and bad >= s.patience then
      history.stopped_epoch = epoch
      break
    end
  end
  if s.show then io.stderr:write("\n") end
  local last = #history.loss
  if best_params and history.best_epoch and history.best_epoch ~= last then
    for i, p in ipairs(params) do p:copy(best_params[i]) end
    history.restored = true
  end
  net:eval()
  return history
end

--- Train the network on (x, y). Returns a history table: history.loss[e]
-- is epoch e's mean training loss, history.val_loss[e] the validation loss
-- when opts.validation = {x, y} is given, history.lr[e] the learning rate
-- epoch e ran with, history.best_epoch / best_loss the epoch with the
-- lowest monitored loss (val_loss, else loss), history.stopped_epoch the
-- epoch early stopping ended on, history.restored whether restore_best
-- copied the best epoch's weights back. See docs/API.md for the options.
function M.fit(net, x, y, opts)
  local s = settings(net, opts)
  if s.max_norm == 0 and s.clip_value == 0 then return train(net, x, y, s) end
  -- Clipping runs inside the C training step, configured on the
  -- optimizer for the length of this call and put back even on error.
  local old_norm, old_type, old_value = s.opt:_clip(s.max_norm, s.norm_type, s.clip_value)
  local ok, result = pcall(train, net, x, y, s)
  s.opt:_clip(old_norm, old_type, old_value)
  if not ok then error(result, 0) end
  return result
end

function M.install(methods)
  methods.fit = M.fit
end

return M
