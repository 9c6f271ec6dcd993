-- Checkpoints (checkpoint.lua, fit's checkpoint and resume): opt:state(),
-- sched:state(), bp.get_rng_state() and one file holding them with the
-- network, so that a run stopped (killed) after an epoch and resumed in
-- another process ends with the same weights, bit for bit, as a run that
-- never stopped.
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local compat = require("backprop.compat")

local dir
local function path(name) return dir .. "/" .. name end

local function is_tensor(v) return H.is_tensor(v) end

-- The same values, tensors compared bit for bit, tables recursively.
local function same(a, b, what)
  if is_tensor(a) then
    assert(is_tensor(b), what .. ": not a tensor")
    assert.are.same(a:shape(), b:shape(), what .. ": shape")
    H.assert_same(b, a, what)
  elseif type(a) == "table" then
    assert.are.equal("table", type(b), what)
    for k, v in pairs(a) do same(v, b[k], what .. "." .. tostring(k)) end
    for k in pairs(b) do assert(a[k] ~= nil, what .. ": extra key " .. tostring(k)) end
  else
    assert.are.equal(a, b, what)
  end
end

-- The optimizers of the specs, each made for net.
local OPTIMIZERS = {
  { "SGD", function(net) return bp.SGD(net, { lr = 0.1 }) end },
  { "SGD momentum", function(net) return bp.SGD(net, { lr = 0.05, momentum = 0.9, dampening = 0.1, weight_decay = 1e-3 }) end },
  { "SGD nesterov", function(net) return bp.SGD(net, { lr = 0.05, momentum = 0.9, nesterov = true }) end },
  { "Adam", function(net) return bp.Adam(net, { lr = 0.01, weight_decay = 1e-3 }) end },
  { "AdamW amsgrad", function(net) return bp.AdamW(net, { lr = 0.01, amsgrad = true }) end },
  { "RMSprop centered momentum", function(net)
    return bp.RMSprop(net, { lr = 0.01, centered = true, momentum = 0.5 })
  end },
  { "Adagrad", function(net) return bp.Adagrad(net, { lr = 0.05, lr_decay = 0.01, initial_accumulator_value = 0.1 }) end },
  { "Rprop", function(net) return bp.Rprop(net, { lr = 0.01 }) end },
}

describe("optimizer state", function()
  local function setup_net()
    bp.manual_seed(4)
    local net = bp.Sequential { bp.Linear(3, 5), bp.Tanh(), bp.Linear(5, 2) }
    return net, bp.randn(8, 3), bp.randn(8, 2)
  end

  for _, o in ipairs(OPTIMIZERS) do
    it(o[1] .. ": state() then load_state() into a new optimizer goes on bit for bit", function()
      local net, x, y = setup_net()
      local loss = bp.MSELoss()
      local a = o[2](net)
      for _ = 1, 3 do net:train_step(x, y, loss, a) end
      local state = a:state()
      local before = H.snapshot(net)
      -- a goes on
      for _ = 1, 3 do net:train_step(x, y, loss, a) end
      local want = H.snapshot(net)
      -- b, made fresh, takes a's state at step 3 and goes on from the same weights
      for i, p in ipairs(net:parameters()) do p:copy(before[i]) end
      local b = o[2](net)
      b:load_state(state)
      assert.are.equal(3, b.steps)
      for _ = 1, 3 do net:train_step(x, y, loss, b) end
      for i, p in ipairs(net:parameters()) do H.assert_same(p, want[i], "parameter " .. i) end
      same(a:state(), b:state(), "states after")
    end)
  end

  it("is a plain table named as torch.optim names it: one tensor per parameter, its shape", function()
    local net, x, y = setup_net()
    local opt = bp.Adam(net, { amsgrad = true, betas = { 0.8, 0.99 } })
    net:train_step(x, y, bp.MSELoss(), opt)
    local s = opt:state()
    local keys = {}
    for k in pairs(s) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "exp_avg", "exp_avg_sq", "kind", "max_exp_avg_sq", "options", "step" }, keys)
    assert.are.equal("Adam", s.kind)
    assert.are.equal(1, s.step)
    assert.is_true(compat.isinttype(s.step))
    assert.are.same({ lr = 0.001, betas = { 0.8, 0.99 }, eps = 1e-8, weight_decay = 0, amsgrad = true }, s.options)
    local params = net:parameters()
    assert.are.equal(#params, #s.exp_avg)
    for i, p in ipairs(params) do assert.are.same(p:shape(), s.exp_avg[i]:shape()) end
    -- a copy: stepping again leaves it alone
    local copy = s.exp_avg[1]:clone()
    net:train_step(x, y, bp.MSELoss(), opt)
    H.assert_same(s.exp_avg[1], copy, "the state taken before")
    -- the names of the others
    local names = {
      { bp.SGD(net, { momentum = 0.9 }), { "momentum_buffer" } },
      { bp.SGD(net), {} },
      { bp.RMSprop(net, { centered = true, momentum = 0.1 }), { "grad_avg", "momentum_buffer", "square_avg" } },
      { bp.RMSprop(net), { "square_avg" } },
      { bp.Adagrad(net), { "sum" } },
      { bp.Rprop(net), { "prev", "step_size" } },
    }
    for _, c in ipairs(names) do
      local got = {}
      for k in pairs(c[1]:state()) do
        if k ~= "kind" and k ~= "step" and k ~= "options" then got[#got + 1] = k end
      end
      table.sort(got)
      assert.are.same(c[2], got)
    end
    -- the options rebuild the optimizer
    local again = bp.Adam(net, s.options)
    again:load_state(s)
  end)

  it("load_state takes the state's lr", function()
    local net = setup_net()
    local a, b = bp.SGD(net, { lr = 0.1 }), bp.SGD(net, { lr = 0.5 })
    a.lr = 0.025
    b:load_state(a:state())
    assert.are.equal(0.025, b.lr)
  end)

  it("load_state refuses a state of another kind, options or network, and changes nothing", function()
    local net, x, y = setup_net()
    local adam = bp.Adam(net)
    net:train_step(x, y, bp.MSELoss(), adam)
    local good = adam:state()
    local other = bp.Sequential { bp.Linear(3, 4), bp.Linear(4, 2) }
    local function variant(change)
      local s = adam:state()
      change(s)
      return s
    end
    local cases = {
      { bp.SGD(net):state(), "the state is of SGD, this optimizer is Adam" },
      { bp.Adam(net, { amsgrad = true }):state(), "the state's amsgrad differs from this optimizer's" },
      { bp.Adam(net, { betas = { 0.9, 0.99 } }):state(), "the state's betas differs" },
      { bp.Adam(other):state(), "state.exp_avg[1] has shape 4x3, its parameter 5x3" },
      { variant(function(s) s.exp_avg[4] = nil end), "state.exp_avg has 3 tensors, the network 4 parameter tensors" },
      { variant(function(s) s.exp_avg_sq = nil end), "state.exp_avg_sq must be a list of tensors, got nil" },
      { variant(function(s) s.exp_avg[2] = "x" end), "state.exp_avg[2] must be a backprop.Tensor, got string" },
      { variant(function(s) s.step = -1 end), "state.step must be an integer >= 0, got -1" },
      { variant(function(s) s.step = 1.5 end), "state.step must be an integer >= 0, got 1.5" },
      { variant(function(s) s.extra = 1 end), "unknown option 'extra'" },
      { variant(function(s) s.options.lr = -1 end), "state.options.lr must be >= 0" },
      { variant(function(s) s.options.eps = nil end), "state.options.eps is missing" },
      { variant(function(s) s.options.momentum = 0.9 end), "unknown option 'momentum'" },
      { 42, "state must be a table (from opt:state()), got number" },
    }
    local fresh = bp.Adam(net)
    local before = fresh:state()
    for _, c in ipairs(cases) do
      local ok, err = pcall(fresh.load_state, fresh, c[1])
      assert.is_false(ok, c[2])
      assert.matches("backprop.Adam:load_state: ", err, 1, true)
      assert.matches(c[2], err, 1, true)
      same(before, fresh:state(), "after " .. c[2])
    end
    fresh:load_state(good)
    assert.are.equal(1, fresh.steps)
  end)
end)

describe("scheduler state", function()
  local function make(kind)
    local net = bp.Sequential { bp.Linear(2, 1) }
    local opt = bp.SGD(net, { lr = 0.1 })
    local S = bp.lr_scheduler
    local scheds = {
      StepLR = function() return S.StepLR(opt, { step_size = 2, gamma = 0.5 }) end,
      MultiStepLR = function() return S.MultiStepLR(opt, { milestones = { 3, 1, 3 } }) end,
      ExponentialLR = function() return S.ExponentialLR(opt, { gamma = 0.9 }) end,
      CosineAnnealingLR = function() return S.CosineAnnealingLR(opt, { T_max = 4, eta_min = 0.01 }) end,
      ReduceLROnPlateau = function() return S.ReduceLROnPlateau(opt, { patience = 1, cooldown = 1 }) end,
    }
    return scheds[kind](), opt
  end

  for _, kind in ipairs({ "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau" }) do
    it(kind .. ": state() then load_state() goes on with the same learning rates", function()
      local metrics = { 1, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9 }
      local function step(s, e) if kind == "ReduceLROnPlateau" then s:step(metrics[e]) else s:step() end end
      local a, oa = make(kind)
      for e = 1, 4 do step(a, e) end
      local state = a:state()
      local b, ob = make(kind)
      ob:load_state(oa:state())               -- the lr is the optimizer's
      b:load_state(state)
      for e = 5, 10 do
        step(a, e)
        step(b, e)
        assert.are.equal(oa.lr, ob.lr, "epoch " .. e)
      end
      same(a:state(), b:state(), "states")
    end)
  end

  it("load_state refuses another kind or other options", function()
    local a = make("StepLR")
    local cases = {
      { make("ExponentialLR"):state(), "the state is of ExponentialLR, this scheduler is StepLR" },
      { (function() local s = a:state() s.options.gamma = 0.2 return s end)(), "the state's gamma differs" },
      { (function() local s = a:state() s.last_epoch = -1 return s end)(), "state.last_epoch must be an integer >= 0" },
      { (function() local s = a:state() s.last_lr = 0 / 0 return s end)(), "state.last_lr must be a finite number >= 0" },
      { (function() local s = a:state() s.best = 1 return s end)(), "unknown option 'best'" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(a.load_state, a, c[1])
      assert.is_false(ok)
      assert.matches("backprop.lr_scheduler.StepLR:load_state: ", err, 1, true)
      assert.matches(c[2], err, 1, true)
    end
    local p = make("MultiStepLR")
    assert.are.same({ 1, 3, 3 }, p:state().options.milestones)
  end)
end)

describe("the generator's state", function()
  it("round-trips exactly: the draws go on as they would have", function()
    bp.manual_seed(11)
    bp.randn(7)
    local s = bp.get_rng_state()
    assert.are.equal(4, #s)
    for _, w in ipairs(s) do assert.is_true(compat.isinteger(w) and w >= 0 and w < 2 ^ 32) end
    local a = { bp.randn(5):totable(), bp.rand(3):totable(), bp.randperm(9):totable() }
    bp.manual_seed(99)
    bp.set_rng_state(s)
    local b = { bp.randn(5):totable(), bp.rand(3):totable(), bp.randperm(9):totable() }
    assert.are.same(a, b)
    -- a copy: the table taken is not the generator
    s[1] = 0
    assert.are_not.equal(0, bp.get_rng_state()[1])
  end)

  it("refuses what is not a state", function()
    local cases = {
      { nil, "state must be a table of 4 integers (from bp.get_rng_state()), got nil" },
      { { 1, 2, 3 }, "state must be a table of 4 integers" },
      { { 1, 2, 3, 2 ^ 32 }, "state[4] must be an integer in 0 .. 2^32 - 1" },
      { { 1, 2, -1, 4 }, "state[3] must be an integer in 0 .. 2^32 - 1, got -1" },
      { { 1, 2.5, 3, 4 }, "state[2] must be an integer" },
      { { 1, "2", 3, 4 }, "state[2] must be an integer in 0 .. 2^32 - 1, got string" },
      { { 0, 0, 0, 0 }, "state cannot be all zeros" },
    }
    local before = bp.get_rng_state()
    for _, c in ipairs(cases) do
      local ok, err = pcall(bp.set_rng_state, c[1])
      assert.is_false(ok)
      assert.matches("backprop.set_rng_state: " .. c[2], err, 1, true)
    end
    assert.are.same(before, bp.get_rng_state())
  end)
end)

describe("bp.checkpoint", function()
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  local function trained()
    bp.manual_seed(21)
    local net = bp.Sequential { bp.Linear(3, 4), bp.BatchNorm1d(4), bp.ReLU(), bp.Linear(4, 2) }
    local opt = bp.Adam(net, { lr = 0.01 })
    local sched = bp.lr_scheduler.StepLR(opt, { step_size = 1, gamma = 0.5 })
    local x, y = bp.randn(16, 3), bp.randn(16, 2)
    for _ = 1, 3 do net:train_step(x, y, bp.MSELoss(), opt) sched:step() end
    return net, opt, sched
  end

  it("saves and loads the network, the states and the other fields", function()
    local net, opt, sched = trained()
    local rng = bp.get_rng_state()
    local history = { loss = { 0.5, 0.25 }, note = "x" }
    net:set_metadata { classes = { "a", "b" } }
    bp.checkpoint.save(path("run.ckpt"), { net = net, optimizer = opt, scheduler = sched, epoch = 2,
                                           history = history, tag = { 1, 2, true } })
    local ck = bp.checkpoint.load(path("run.ckpt"))
    same(opt:state(), ck.optimizer, "optimizer")
    same(sched:state(), ck.scheduler, "scheduler")
    same(rng, ck.rng, "rng")
    assert.are.equal(2, ck.epoch)
    same(history, ck.history, "history")
    same({ 1, 2, true }, ck.tag, "tag")
    local x = bp.randn(5, 3)
    net:eval()
    ck.net:eval()
    H.assert_same(ck.net:forward(x), net:forward(x), "the network (with BatchNorm's statistics)")
    assert.are.same({ "a", "b" }, ck.net:metadata().classes)
    -- bp.load reads a checkpoint as its network
    H.assert_same(bp.load(path("run.ckpt")):eval():forward(x), net:forward(x), "bp.load")
  end)

  it("restore puts everything into the objects given, checked first", function()
    local net, opt, sched = trained()
    bp.manual_seed(5)
    local rng = bp.get_rng_state()
    bp.checkpoint.save(path("run.ckpt"), { net = net, optimizer = opt, scheduler = sched, epoch = 3 })
    local draws = bp.randn(4):totable()
    -- a new process would build the same objects afresh
    bp.manual_seed(77)
    local net2 = bp.Sequential { bp.Linear(3, 4), bp.BatchNorm1d(4), bp.ReLU(), bp.Linear(4, 2) }
    local opt2 = bp.Adam(net2, { lr = 0.01 })
    local sched2 = bp.lr_scheduler.StepLR(opt2, { step_size = 1, gamma = 0.5 })
    local ck = bp.checkpoint.restore(path("run.ckpt"), { net = net2, optimizer = opt2, scheduler = sched2 })
    assert.are.equal(3, ck.epoch)
    same(opt:state(), opt2:state(), "optimizer")
    same(sched:state(), sched2:state(), "scheduler")
    same(rng, bp.get_rng_state(), "generator")
    assert.are.same(draws, bp.randn(4):totable())
    for i, p in ipairs(net:parameters()) do H.assert_same(net2:parameters()[i], p, "parameter " .. i) end
    for i, b in ipairs(net:buffers()) do H.assert_same(net2:buffers()[i], b, "buffer " .. i) end
    -- a lone layer not used yet takes the weights (its lazy draw comes first)
    local lin = bp.Linear(3, 2)
    bp.checkpoint.save(path("lin.ckpt"), { net = H.set_params(bp.Linear(3, 2), { bp.ones(2, 3), bp.ones(2) }) })
    bp.checkpoint.restore(path("lin.ckpt"), { net = lin })
    H.assert_same(lin:parameters()[1], bp.ones(2, 3), "lone layer")
  end)

  it("restore refuses another network, optimizer or scheduler, and changes nothing", function()
    local net, opt, sched = trained()
    bp.checkpoint.save(path("run.ckpt"), { net = net, optimizer = opt, scheduler = sched, epoch = 3 })
    bp.manual_seed(8)
    local other = bp.Sequential { bp.Linear(3, 5), bp.BatchNorm1d(5), bp.ReLU(), bp.Linear(5, 2) }
    local net2 = bp.Sequential { bp.Linear(3, 4), bp.BatchNorm1d(4), bp.ReLU(), bp.Linear(4, 2) }
    local sgd = bp.SGD(net2)
    local adam = bp.Adam(net2, { lr = 0.01 })
    local exp = bp.lr_scheduler.ExponentialLR(adam, { gamma = 0.5 })
    local cases = {
      { { net = other }, "layer 1 is Linear(3 -> 4) in the checkpoint, Linear(3 -> 5) here" },
      { { net = bp.Sequential { bp.Linear(3, 4) } }, "the checkpoint's network has 4 layers, this one 1" },
      { { net = net2, optimizer = sgd }, "backprop.SGD:load_state: the state is of Adam, this optimizer is SGD" },
      { { net = net2, optimizer = adam, scheduler = exp },
        "backprop.lr_scheduler.ExponentialLR:load_state: the state is of StepLR" },
      { { net = net2, optimizer = adam, extra = 1 }, "unknown option 'extra'" },
    }
    local params, state, rng = H.snapshot(net2), adam:state(), bp.get_rng_state()
    for _, c in ipairs(cases) do
      local ok, err = pcall(bp.checkpoint.restore, path("run.ckpt"), c[1])
      assert.is_false(ok)
      assert.matches("backprop.checkpoint.restore: ", err, 1, true)
      assert.matches(c[2], err, 1, true)
      for i, p in ipairs(net2:parameters()) do H.assert_same(p, params[i], "parameter " .. i) end
      same(state, adam:state(), "the optimizer")
      same(rng, bp.get_rng_state(), "the generator")
    end
    bp.checkpoint.save(path("bare.ckpt"), { net = net })
    local ok, err = pcall(bp.checkpoint.restore, path("bare.ckpt"), { net = net2, optimizer = adam })
    assert.is_false(ok)
    assert.matches("the checkpoint has no optimizer state", err, 1, true)
  end)

  it("refuses what cannot be saved, a model file, a damaged checkpoint", function()
    local net, opt = trained()
    local cases = {
      { { optimizer = opt }, "net must be a backprop.Module, got nil" },
      { { net = net, optimizer = net }, "optimizer must be a backprop optimizer" },
      { { net = net, scheduler = opt }, "scheduler must be a bp.lr_scheduler scheduler" },
      { { net = net, hook = print }, "checkpoint.hook is a function: only strings, numbers, booleans, float32 tensors" },
      { { net = net, x = { [{}] = 1 } }, "checkpoint.x has a key of type table" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(bp.checkpoint.save, path("bad.ckpt"), c[1])
      assert.is_false(ok)
      assert.matches("backprop.checkpoint.save: " .. c[2], err, 1, true)
    end
    assert.is_false(H.exists(path("bad.ckpt")))
    local ok, err = pcall(bp.checkpoint.save, path("no/dir/x.ckpt"), { net = net })
    assert.is_false(ok)
    assert.matches("backprop.checkpoint.save: cannot write '" .. path("no/dir/x.ckpt"), err, 1, true)
    net:save(path("model.bp"))
    ok, err = pcall(bp.checkpoint.load, path("model.bp"))
    assert.is_false(ok)
    assert.matches("backprop.checkpoint.load: '" .. path("model.bp") .. "' is a model file without a checkpoint", err, 1, true)
    ok, err = pcall(bp.checkpoint.load, path("missing.ckpt"))
    assert.is_false(ok)
    assert.matches("backprop.checkpoint.load: cannot open", err, 1, true)
    -- one flipped bit in the checkpoint section: the checksum
    bp.checkpoint.save(path("run.ckpt"), { net = net, optimizer = opt })
    local s = H.read(path("run.ckpt"))
    local at = #s - 10
    H.write(path("flip.ckpt"), s:sub(1, at - 1) .. string.char((s:byte(at) + 1) % 256) .. s:sub(at + 1))
    ok, err = pcall(bp.checkpoint.load, path("flip.ckpt"))
    assert.is_false(ok)
    assert.matches("backprop.checkpoint.load: '" .. path("flip.ckpt") .. "' is corrupt (checksum mismatch)", err, 1, true)
  end)
end)

describe("fit with checkpoint and resume", function()
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  -- The training script: shuffling, Dropout (both draw from the generator),
  -- BatchNorm (running statistics), a scheduler, validation, restore_best
  -- and early stopping (their counters). arg: mode (straight, first,
  -- resume), the checkpoint's path, where to save the final network, the
  -- optimizer's index in OPTIMIZERS, the scheduler, checkpoint_every.
  -- "first" kills its own process (kill -9) in on_epoch of epoch 5, right
  -- after that epoch's checkpoint.
  local SCRIPT = [[
    local bp = require("backprop")
    local mode, ckpath, out, which, sched_kind, every = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5], tonumber(arg[6])
    bp.manual_seed(42)
    local X = bp.randn(64, 5)
    local y = {}
    for i = 1, 64 do y[i] = (X[i][1] + X[i][2] * X[i][3] > 0) and 1 or 2 end
    local VX = bp.randn(24, 5)
    local vy = {}
    for i = 1, 24 do vy[i] = (VX[i][1] + VX[i][2] * VX[i][3] > 0) and 1 or 2 end
    local net = bp.Sequential { bp.Linear(5, 16), bp.BatchNorm1d(16), bp.ReLU(), bp.Dropout(0.3), bp.Linear(16, 2) }
    local OPTIMIZERS = {
      function() return bp.SGD(net, { lr = 0.1 }) end,
      function() return bp.SGD(net, { lr = 0.05, momentum = 0.9, dampening = 0.1, weight_decay = 1e-3 }) end,
      function() return bp.SGD(net, { lr = 0.05, momentum = 0.9, nesterov = true }) end,
      function() return bp.Adam(net, { lr = 0.01, weight_decay = 1e-3 }) end,
      function() return bp.AdamW(net, { lr = 0.01, amsgrad = true }) end,
      function() return bp.RMSprop(net, { lr = 0.01, centered = true, momentum = 0.5 }) end,
      function() return bp.Adagrad(net, { lr = 0.05, lr_decay = 0.01, initial_accumulator_value = 0.1 }) end,
      function() return bp.Rprop(net, { lr = 0.01 }) end,
    }
    local opt = OPTIMIZERS[which]()
    local sched = sched_kind == "plateau" and bp.lr_scheduler.ReduceLROnPlateau(opt, { patience = 1, factor = 0.5 })
                  or bp.lr_scheduler.StepLR(opt, { step_size = 3, gamma = 0.5 })
    local o = { loss = bp.CrossEntropyLoss(), optimizer = opt, scheduler = sched, epochs = 10, batch_size = 8,
                validation = { VX, bp.tensor(vy) }, metrics = { "accuracy" }, restore_best = true,
                early_stopping = { patience = 6 }, progress = false }
    if mode == "first" then
      o.checkpoint, o.checkpoint_every = ckpath, every
      o.on_epoch = function(e) if e == 5 then os.execute("kill -9 " .. os.getenv("BP_PID")) end end
    elseif mode == "resume" then
      o.resume, o.checkpoint = ckpath, ckpath
    end
    local h = net:fit(X, bp.tensor(y), o)
    net:save(out)
    local parts = {}
    for e = 1, #h.loss do
      parts[#parts + 1] = string.format("%.17g %.17g %.17g %.17g", h.loss[e], h.val_loss[e], h.val_accuracy[e], h.lr[e])
    end
    io.write(table.concat(parts, ";"), "|", tostring(h.best_epoch), "|", tostring(h.stopped_epoch), "|",
             tostring(h.restored), "\n")
  ]]

  local function run(args, kill)
    local cmd = ("%s %s %s %s"):format(S.inplace, S.lua, S.q(path("run.lua")), args)
    if kill then cmd = "exec env BP_PID=$$ " .. cmd end
    return S.run("sh -c " .. S.q(cmd))
  end

  local function case(which, sched, every)
    H.write(path("run.lua"), SCRIPT)
    local tail = (" %d %s %d"):format(which, sched, every)
    local ok, _, straight = run("straight " .. S.q(path("c.ckpt")) .. " " .. S.q(path("a.bp")) .. tail)
    assert(ok, straight)
    local killed, status = run("first " .. S.q(path("c.ckpt")) .. " " .. S.q(path("x.bp")) .. tail, true)
    assert.is_false(killed)
    assert.are.equal(137, status, "the first process was killed by SIGKILL")
    assert.is_false(H.exists(path("x.bp")), "the first process ended early")
    assert.are.equal(every == 1 and 5 or 4, bp.checkpoint.load(path("c.ckpt")).epoch)
    local resumed
    ok, _, resumed = run("resume " .. S.q(path("c.ckpt")) .. " " .. S.q(path("b.bp")) .. tail)
    assert(ok, resumed)
    -- the final weights (and BatchNorm's statistics), byte for byte
    assert(H.read(path("a.bp")) == H.read(path("b.bp")), "the final networks differ")
    -- and the same history: losses, metrics, learning rates, best epoch
    assert.are.equal(straight, resumed)
    -- the checkpoint file was left at the last epoch (early stopping may
    -- end the run before the tenth)
    local _, epochs = straight:match("^[^|]*"):gsub(";", "")
    assert.are.equal(epochs + 1, bp.checkpoint.load(path("c.ckpt")).epoch)
  end

  for which, o in ipairs(OPTIMIZERS) do
    it(o[1] .. ": 10 epochs straight = 5, kill -9, resume in a new process, 5 more (bit for bit)", function()
      case(which, "step", 1)
    end)
  end

  it("with ReduceLROnPlateau, and checkpoint_every = 2 (killed at 5, resumed from 4)", function()
    case(2, "plateau", 2)
    case(4, "plateau", 2)
  end)

  it("resume from a path with no file starts at epoch 1", function()
    local function fresh()
      bp.manual_seed(3)
      local net = bp.Sequential { bp.Linear(2, 3), bp.Linear(3, 1) }
      local X, Y = bp.randn(20, 2), bp.randn(20, 1)
      local h = net:fit(X, Y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.05, momentum = 0.9 }),
                                epochs = 4, resume = path("none.ckpt"), progress = false })
      return net, h
    end
    local a, ha = fresh()
    assert.are.equal(4, #ha.loss)
    assert.is_false(H.exists(path("none.ckpt")))
    bp.manual_seed(3)
    local b = bp.Sequential { bp.Linear(2, 3), bp.Linear(3, 1) }
    local X, Y = bp.randn(20, 2), bp.randn(20, 1)
    b:fit(X, Y, { loss = bp.MSELoss(), optimizer = bp.SGD(b, { lr = 0.05, momentum = 0.9 }), epochs = 4, progress = false })
    for i, p in ipairs(a:parameters()) do H.assert_same(p, b:parameters()[i], "parameter " .. i) end
  end)

  it("a resumed run that early stopping had ended stays ended", function()
    local function go(epochs, opts)
      bp.manual_seed(6)
      local net = bp.Sequential { bp.Linear(2, 1) }
      local X, Y = bp.randn(16, 2), bp.randn(16, 1)
      local o = { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 5 }), epochs = epochs, progress = false,
                  early_stopping = { patience = 2 } }
      for k, v in pairs(opts) do o[k] = v end
      return net, net:fit(X, Y, o)
    end
    local _, h = go(30, { checkpoint = path("s.ckpt") })
    assert(h.stopped_epoch and h.stopped_epoch < 30, "the run diverges and stops early")
    local net2, h2 = go(30, { resume = path("s.ckpt") })
    assert.are.equal(h.stopped_epoch, h2.stopped_epoch)
    assert.are.same(h.loss, h2.loss)
    assert.are.equal(h.stopped_epoch, bp.checkpoint.load(path("s.ckpt")).epoch)
    assert(net2)
  end)

  it("refuses bad options and a checkpoint of another run", function()
    bp.manual_seed(1)
    local net = bp.Sequential { bp.Linear(2, 1) }
    local X, Y = bp.randn(16, 2), bp.randn(16, 1)
    local opt = bp.SGD(net)
    local base = { loss = bp.MSELoss(), optimizer = opt, epochs = 2, progress = false }
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    local cases = {
      { { checkpoint = 1 }, "checkpoint must be a path (a string), got number" },
      { { resume = true }, "resume must be a path (a string), got boolean" },
      { { checkpoint_every = 2 }, "checkpoint_every needs checkpoint" },
      { { checkpoint = path("c"), checkpoint_every = 0 }, "checkpoint_every must be a positive integer, got 0" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(net.fit, net, X, Y, with(c[1]))
      assert.is_false(ok)
      assert.matches("backprop.Module:fit: " .. c[2], err, 1, true)
    end
    net:fit(X, Y, with { checkpoint = path("run.ckpt") })
    local more = {
      { { batch_size = 4 }, "was saved by a fit on 16 samples in batches of 32; this one has 16 in batches of 4" },
      { { scheduler = bp.lr_scheduler.StepLR(opt, { step_size = 1 }) }, "was saved by a fit without a scheduler; this one has one" },
      { { restore_best = true }, "was saved by a fit without restore_best" },
    }
    for _, c in ipairs(more) do
      local o = with(c[1])
      o.resume = path("run.ckpt")
      local ok, err = pcall(net.fit, net, X, Y, o)
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
    bp.checkpoint.save(path("hand.ckpt"), { net = net, optimizer = opt })
    local ok, err = pcall(net.fit, net, X, Y, with { resume = path("hand.ckpt") })
    assert.is_false(ok)
    assert.matches("is not a checkpoint of fit (resume it by hand: bp.checkpoint.restore)", err, 1, true)
  end)
end)
