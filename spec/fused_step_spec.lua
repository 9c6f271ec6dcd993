-- The fused per-sample step (src/core/nn/chain.c, bp_dense_fwd and
-- bp_dense_bwd in src/core/kernels/small.c): a network of Linear layers,
-- each followed by at most one Sigmoid, Tanh, ReLU, LeakyReLU or Identity,
-- trained one sample at a time, runs as two kernel calls around the loss.
-- It must leave every parameter, gradient and loss the same bits as the
-- general path (the layers' own passes), for every loss and optimizer, on
-- every ISA; other networks must keep the general path.
local bp = require("backprop")
local internal = require("backprop.core").internal
local H = require("helper")
local assert = require("luassert")

-- One run of every case, in a child process: BACKPROP_ISA picks the small
-- kernels (read once per process), set_isa then moves vmath and the
-- optimizers alone, so the mixed cases run too. Prints "cases bad" and,
-- for the first bad case, what differed.
local script = [[
  package.path, package.cpath = %q, %q
  local bp = require("backprop")
  local internal = require("backprop.core").internal
  if %q ~= "" then internal.set_isa(%q) end

  -- the same value, bit for bit (NaN payloads aside): -0 is not +0
  local function same(a, b)
    if type(a) ~= "number" then return a == b end
    if a ~= a then return b ~= b end
    return a == b and 1 / a == 1 / b
  end
  local function flat(list)
    local out = {}
    for _, t in ipairs(list) do
      local v = t:reshape(t:numel()):totable()
      for i = 1, #v do out[#out + 1] = v[i] end
    end
    return out
  end
  local function differs(a, b)
    if #a ~= #b then return "sizes" end
    for i = 1, #a do
      if not same(a[i], b[i]) then
        return string.format("element %%d: %%.9g vs %%.9g", i, a[i], b[i])
      end
    end
  end

  local NETS = {
    classic = function() return {bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()} end,
    tanh = function() return {bp.Linear(7, 33), bp.Tanh(), bp.Linear(33, 3)} end,
    relus = function() return {bp.Linear(17, 8), bp.ReLU(), bp.Linear(8, 16), bp.LeakyReLU(0.1),
                               bp.Linear(16, 5), bp.Identity()} end,
    one = function() return {bp.Linear(33, 17)} end,
    stacked = function() return {bp.Linear(5, 9), bp.Linear(9, 4), bp.Sigmoid()} end,
    -- rows a whole number of vectors long: trained in place, not copied
    wide = function() return {bp.Linear(32, 16), bp.ReLU(), bp.Linear(16, 20), bp.Tanh(),
                              bp.Linear(20, 2)} end,
  }
  local LOSSES = {
    mse = function() return bp.MSELoss() end,
    bce = function() return bp.BCELoss() end,
    l1 = function() return bp.L1Loss() end,
    huber = function() return bp.HuberLoss({delta = 0.5}) end,
    ce = function() return bp.CrossEntropyLoss() end,
    logits = function() return bp.BCEWithLogitsLoss() end,
    sum = function() return bp.MSELoss({reduction = "sum"}) end,
  }
  -- losses whose input must be a probability only on a Sigmoid output
  local function fits(net, loss)
    local last = tostring(net:get(#net)):match("^backprop%%.(%%w+)")
    if loss == "bce" then return last == "Sigmoid" end
    return true
  end
  local OPTS = {
    {"SGD", {lr = 0.01}},
    {"SGD", {lr = 0.01, weight_decay = 0.01}},
    {"SGD", {lr = 0.003, momentum = 0.9}},
    {"SGD", {lr = 0.003, momentum = 0.9, nesterov = true, weight_decay = 0.001}},
    {"SGD", {lr = 0.01, momentum = 0.5, dampening = 0.3}},
    {"Adam", {lr = 0.01}},
    {"RMSprop", {lr = 0.01, momentum = 0.5}},
    {"Rprop", {lr = 0.01}},
  }

  local cases, bad, first = 0, 0, nil
  local names = {}
  for name in pairs(NETS) do names[#names + 1] = name end
  table.sort(names)
  local lnames = {}
  for name in pairs(LOSSES) do lnames[#lnames + 1] = name end
  table.sort(lnames)
  for _, nname in ipairs(names) do
    for _, lname in ipairs(lnames) do
      for oi, o in ipairs(OPTS) do
        bp.manual_seed(oi)
        local fused, plain = bp.Sequential(NETS[nname]()), bp.Sequential(NETS[nname]())
        if fits(fused, lname) then
          local params = fused:parameters()
          for i, p in ipairs(plain:parameters()) do p:copy(params[i]) end
          internal.fused(plain, false)
          local nin = fused:get(1):parameters()[1]:shape()[2]
          local nout = fused:forward(bp.zeros(1, nin)):shape()[2]
          local n = 23
          local x = bp.randn(n, nin)
          local y
          if lname == "ce" then
            y = bp.zeros(n)
            for i = 1, n do y[i] = (i * 7) %% nout + 1 end
          else
            y = bp.rand(n, nout)
          end
          local loss = LOSSES[lname]()
          local steps = {}
          for k, net in ipairs{fused, plain} do
            local kind = o[1]
            local opt = bp[kind](net, o[2])
            bp.manual_seed(100 + oi)
            local s = {}
            local ok, err = pcall(function()
              local h = net:fit(x, y, {loss = loss, optimizer = opt, epochs = 3, batch_size = 1,
                                       warnings = false, progress = false})
              for i = 1, 5 do s[i] = net:train_step(x:narrow(1, i, 1), y:narrow(1, i, 1), loss, opt) end
              for e = 1, 3 do s[#s + 1] = h.loss[e] end
            end)
            if not ok then s[#s + 1] = err end
            steps[k] = s
          end
          cases = cases + 1
          local why = differs(flat(fused:parameters()), flat(plain:parameters()))
            or differs(flat(select(2, fused:parameters())), flat(select(2, plain:parameters())))
            or differs(steps[1], steps[2])
          local _, nf = internal.fused(fused)
          local _, np = internal.fused(plain)
          local got = steps[1]
          if #got ~= 8 then why = why or tostring(got[#got]) end   -- an error
          if not why and (nf ~= 3 * n + 5 or np ~= 0) then
            why = string.format("fused steps %%d and %%d", nf, np)
          end
          if why then
            bad = bad + 1
            first = first or string.format("%%s, %%s, %%s %%d: %%s", nname, lname, o[1], oi, why)
          end
        end
      end
    end
  end
  io.write(cases, " ", bad, " ", first or "")
]]
local S = require("shell")   -- the interpreter under test

local function run(env_isa, set_isa)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(string.format(script, package.path, package.cpath, set_isa, set_isa))
  f:close()
  local _, _, text = S.run(string.format("BACKPROP_ISA=%s %s %s", env_isa, S.lua, S.q(file)))
  os.remove(file)
  local cases, bad = text:match("^(%d+) (%d+)")
  return tonumber(cases), tonumber(bad), text
end

describe("fused per-sample step", function()
  for _, env in ipairs(internal.isas()) do
    for _, set in ipairs{"", "portable"} do
      it(string.format("equals the general path bit for bit: parameters, gradients, losses " ..
                       "(BACKPROP_ISA=%s%s)", env, set ~= "" and ", vmath " .. set or ""), function()
        local cases, bad, text = run(env, set)
        assert.is_truthy(cases, text)
        -- every net with every loss and optimizer, but BCE only on a Sigmoid output
        assert.are.equal(6 * 7 * 8 - 4 * 8, cases, text)
        assert.are.equal(0, bad, text)
      end)
    end
  end
end)

describe("networks and steps outside the fused plan", function()
  local OUTSIDE = {
    ["a Dropout"] = function() return {bp.Linear(4, 8), bp.Dropout(0.5), bp.Linear(8, 2)} end,
    ["a Softmax"] = function() return {bp.Linear(4, 3), bp.Softmax()} end,
    ["a GELU"] = function() return {bp.Linear(4, 8), bp.GELU(), bp.Linear(8, 2)} end,
    ["two activations in a row"] = function() return {bp.Linear(4, 8), bp.ReLU(), bp.Tanh(), bp.Linear(8, 2)} end,
    ["an activation first"] = function() return {bp.Tanh(), bp.Linear(4, 2)} end,
    ["a BatchNorm1d"] = function() return {bp.Linear(4, 8), bp.BatchNorm1d(8), bp.Linear(8, 2)} end,
    ["a PReLU"] = function() return {bp.Linear(4, 8), bp.PReLU(), bp.Linear(8, 2)} end,
    ["a Residual"] = function() return {bp.Linear(4, 8), bp.Residual(bp.Sequential{bp.Linear(8, 8), bp.ReLU()}),
                                        bp.Linear(8, 2)} end,
  }
  for what, layers in pairs(OUTSIDE) do
    it("a network with " .. what .. " has no plan and trains on the general path", function()
      local net = bp.Sequential(layers())
      local has, steps = internal.fused(net)
      assert.is_false(has)
      local x = bp.randn(6, 4)
      local y = bp.rand(6, net:forward(x):shape()[2])
      -- BatchNorm needs two samples to train
      local batch = what == "a BatchNorm1d" and 2 or 1
      net:fit(x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.01}), batch_size = batch,
                     warnings = false, progress = false})
      has, steps = internal.fused(net)
      assert.are.equal(0, steps)
    end)
  end

  it("a chain takes the plan only one sample at a time and without clipping", function()
    local net = bp.Sequential{bp.Linear(4, 8), bp.Tanh(), bp.Linear(8, 2)}
    assert.is_true((internal.fused(net)))
    local x, y = bp.randn(6, 4), bp.rand(6, 2)
    local opt = bp.SGD(net, {lr = 0.01})
    local o = {loss = bp.MSELoss(), optimizer = opt, warnings = false, progress = false}
    o.batch_size = 2
    net:fit(x, y, o)
    net:train_step(x:narrow(1, 1, 3), y:narrow(1, 1, 3), o.loss, opt)
    assert.are.equal(0, select(2, internal.fused(net)))
    o.batch_size, o.clip_grad_norm = 1, 1
    net:fit(x, y, o)
    assert.are.equal(0, select(2, internal.fused(net)))
    o.clip_grad_norm = nil
    net:fit(x, y, o)
    net:train_step(x:narrow(1, 1, 1), y:narrow(1, 1, 1), o.loss, opt)
    assert.are.equal(7, select(2, internal.fused(net)))
  end)

  -- fused and plain: the same network, one without the plan
  local function pair(layers)
    local fused, plain = bp.Sequential(layers()), bp.Sequential(layers())
    local params = fused:parameters()
    for i, p in ipairs(plain:parameters()) do p:copy(params[i]) end
    internal.fused(plain, false)
    return fused, plain
  end
  local function same_params(a, b)
    local x, y = H.flat((a:parameters())), H.flat((b:parameters()))
    assert.are.equal(#y, #x)
    for i = 1, #x do assert.are.equal(tostring(y[i]), tostring(x[i])) end
  end
  local function classic() return {bp.Linear(5, 7), bp.Sigmoid(), bp.Linear(7, 2), bp.Sigmoid()} end

  it("trains uint8 inputs and rows it checks one at a time as the general path does", function()
    bp.manual_seed(11)
    local x8, y = bp.rand(40, 5):mul(255):byte(), bp.rand(40, 2)
    local fused, plain = pair(classic)
    local losses = {}
    for k, net in ipairs{fused, plain} do
      bp.manual_seed(12)
      losses[k] = net:fit(x8, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.1, momentum = 0.5}),
                                  batch_size = 1, epochs = 2, input_scale = 1 / 255,
                                  warnings = false, progress = false}).loss
    end
    H.assert_same(losses[1], losses[2], "losses")
    same_params(fused, plain)
    -- on_batch every 3 samples: each piece is too short for a scan of the
    -- whole set, so its shuffled rows are checked one by one as they come
    local x = bp.randn(40, 5)
    for k, net in ipairs{fused, plain} do
      bp.manual_seed(13)
      losses[k] = net:fit(x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.1}), batch_size = 1,
                                 on_batch = function() end, batch_every = 3,
                                 warnings = false, progress = false}).loss
    end
    H.assert_same(losses[1], losses[2], "losses")
    same_params(fused, plain)
    x[17][4] = 0 / 0
    local msgs = {}
    for k, net in ipairs{fused, plain} do
      bp.manual_seed(14)
      local ok, err = pcall(net.fit, net, x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.1}),
                                                 batch_size = 1, on_batch = function() end, batch_every = 3,
                                                 warnings = false, progress = false})
      assert.is_false(ok)
      msgs[k] = err
    end
    assert.matches("input contains %-?nan at row 17, element 4", msgs[1])
    assert.are.equal(msgs[2], msgs[1])
    same_params(fused, plain)
  end)

  it("keeps the general path's errors: a bad row, a bad target, a diverging loss", function()
    local net = bp.Sequential{bp.Linear(2, 3), bp.Sigmoid(), bp.Linear(3, 1), bp.Sigmoid()}
    local x, y = bp.randn(5, 2), bp.rand(5, 1)
    local opt = bp.SGD(net, {lr = 0.1})
    local before = net:parameters()[1]:clone()
    assert.has_error(function() net:train_step(x:narrow(1, 1, 1), bp.tensor{{2}}, bp.BCELoss(), opt) end,
      "backprop.Sequential:train_step: target 1 is 2, expected a value in [0, 1]")
    assert.same(before:totable(), net:parameters()[1]:totable())
    -- the same error at the same step on both paths, the same weights
    local fused = bp.Sequential{bp.Linear(2, 8), bp.Tanh(), bp.Linear(8, 1)}
    local plain = bp.Sequential{bp.Linear(2, 8), bp.Tanh(), bp.Linear(8, 1)}
    local params = fused:parameters()
    for i, p in ipairs(plain:parameters()) do p:copy(params[i]) end
    internal.fused(plain, false)
    local msgs = {}
    for k, net in ipairs{fused, plain} do
      local o = {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 1e6}), batch_size = 1, epochs = 50,
                 shuffle = false, warnings = false, progress = false}
      local ok, err = pcall(net.fit, net, x, y, o)
      assert.is_false(ok)
      msgs[k] = err
    end
    assert.matches("training diverged", msgs[1])
    assert.are.equal(msgs[2], msgs[1])
    local a, b = H.flat((fused:parameters())), H.flat((plain:parameters()))
    assert.are.equal(#b, #a)
    for i = 1, #a do assert.are.equal(tostring(b[i]), tostring(a[i])) end
  end)
end)
