-- Optimizer updates on every instruction set and thread count: the same
-- bits everywhere (kernels/update.h, small.h: each element is computed by
-- the same correctly rounded operations in the same order, none fused).
-- The buffers are 1071 floats (66 vectors of 16 and a tail of 15, or 133
-- of 8 and 7): whole vectors and the portable tail both run. Gradients
-- mix magnitudes from 1e-4 to 1e2 with zeros and subnormals, and go to 0
-- for a third of the elements after a few steps, so the moments decay
-- through the subnormal range (where Adam's and RMSprop's are stored as 0).
local bp = require("backprop")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)
local H = require("helper")

local ISAS, START_ISA = internal.isas(), internal.isa()

-- Every option set of every rule (each selects its own loop).
local CONFIGS = {
  { "SGD", { lr = 0.01 } },
  { "SGD", { lr = 0.01, weight_decay = 0.1 } },
  { "SGD", { lr = 0.01, momentum = 0.9, dampening = 0.1, weight_decay = 0.1 } },
  { "SGD", { lr = 0.01, momentum = 0.9, nesterov = true } },
  { "Adam", { lr = 0.01, betas = { 0.6, 0.6 } } },
  { "Adam", { lr = 0.01, betas = { 0.9, 0.9999 }, weight_decay = 0.1 } },
  { "Adam", { lr = 0.01, betas = { 0.6, 0.6 }, amsgrad = true } },
  { "Adam", { lr = 0.01, weight_decay = 0.1, amsgrad = true } },
  { "AdamW", { lr = 0.01, betas = { 0.6, 0.6 }, weight_decay = 0 } },
  { "AdamW", { lr = 0.01, betas = { 0.6, 0.6 } } },
  { "AdamW", { lr = 0.01, betas = { 0.6, 0.6 }, amsgrad = true, weight_decay = 0.5 } },
  { "Adam", { lr = 0.01, betas = { 0.6, 0.6 }, eps = 1e-30 } },   -- eps too small to flush v
  { "RMSprop", { lr = 0.01, alpha = 0.6 } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, weight_decay = 0.1 } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, centered = true } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, centered = true, weight_decay = 0.1 } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, momentum = 0.6 } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, momentum = 0.6, weight_decay = 0.1 } },
  { "RMSprop", { lr = 0.01, alpha = 0.6, momentum = 0.6, centered = true } },
  { "RMSprop", { lr = 0.01, alpha = 0.9999, momentum = 0.6, centered = true, weight_decay = 0.1 } },
  { "Adagrad", { lr = 0.1 } },
  { "Adagrad", { lr = 0.1, lr_decay = 0.01, weight_decay = 0.1, initial_accumulator_value = 0.5 } },
  { "Rprop", { lr = 0.01 } },
  { "Rprop", { lr = 0.01, etas = { 0.3, 1.5 }, step_sizes = { 0, 0.05 } } },
}

local function name(c)
  local keys = {}
  for k, v in pairs(c[2]) do
    keys[#keys + 1] = k .. "=" .. (type(v) == "table" and table.concat(v, "/") or tostring(v))
  end
  table.sort(keys)
  return c[1] .. "{" .. table.concat(keys, ", ") .. "}"
end

-- A deterministic stream in [0, 1) (independent of bp's generator).
local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
end

-- The gradient of element i at step t.
local function gradients(n, steps)
  local rnd, out = lcg(7), {}
  for t = 1, steps do
    local g = {}
    for i = 1, n do
      local r, mag = rnd(), 10 ^ (rnd() * 6 - 4)
      local sign = rnd() < 0.5 and -1 or 1
      if i % 3 == 0 and t > 3 then g[i] = 0            -- decays from here on
      elseif i % 97 == 0 then g[i] = sign * 1e-40      -- subnormal
      elseif i % 89 == 0 then g[i] = sign * 1e-22      -- g^2 underflows
      elseif r < 0.05 then g[i] = 0
      else g[i] = sign * mag end
    end
    out[t] = g
  end
  return out
end

local IN, OUT, STEPS = 50, 21, 120
local GW, GB = {}, {}   -- per step: the weight and bias gradients
for t, gt in ipairs(gradients(IN * OUT + OUT, STEPS)) do
  local w = {}
  for j = 1, OUT do w[j] = H.move(gt, (j - 1) * IN + 1, j * IN, 1, {}) end
  GW[t], GB[t] = bp.tensor(w), bp.tensor(H.move(gt, IN * OUT + 1, IN * OUT + OUT, 1, {}))
end

-- Parameters after every step of config c, as one flat list per step.
local function run(c)
  bp.manual_seed(1)
  local net = bp.Linear(IN, OUT)
  local _, g = net:parameters()
  local opt = bp[c[1]](net, c[2])
  local after = {}
  for t = 1, STEPS do
    g[1]:copy(GW[t])
    g[2]:copy(GB[t])
    opt:step()
    if t % 20 == 0 or t <= 5 then after[#after + 1] = H.flat((net:parameters())) end
  end
  return after
end

describe("optimizer updates on every ISA", function()
  teardown(function() internal.set_isa(START_ISA) end)

  for _, c in ipairs(CONFIGS) do
    it(name(c) .. " gives the same bits on " .. table.concat(ISAS, ", "), function()
      internal.set_isa("portable")
      local want = run(c)
      local moved = 0
      for i, v in ipairs(want[#want]) do if v ~= want[1][i] then moved = moved + 1 end end
      assert.is_true(moved > 500, "the parameters hardly moved: " .. moved)
      for _, isa in ipairs(ISAS) do
        internal.set_isa(isa)
        local got = run(c)
        for k = 1, #want do H.assert_same(got[k], want[k], ("%s on %s, check %d"):format(name(c), isa, k)) end
      end
    end)
  end
end)

describe("optimizer updates over two threads", function()
  local before = bp.get_num_threads()
  teardown(function()
    bp.set_num_threads(before)
    internal.set_isa(START_ISA)
  end)

  -- 66304 parameters: every rule splits over the pool (optim.c's
  -- MT_MIN_SGD, MT_MIN_OTHER); the LayerNorm keeps SGD off the fused per-layer path
  local function train(c, threads, isa)
    internal.set_isa(isa)
    bp.set_num_threads(threads)
    bp.manual_seed(2)
    local net = bp.Sequential { bp.Linear(256, 256), bp.LayerNorm(256) }
    local x, y = bp.randn(8, 256), bp.randn(8, 256)
    local opt, loss = bp[c[1]](net, c[2]), bp.MSELoss()
    for _ = 1, 4 do net:train_step(x, y, loss, opt) end
    return H.snapshot(net)
  end

  for _, c in ipairs(CONFIGS) do
    it(name(c) .. " gives the same bits with 2 threads as with 1 (every ISA)", function()
      for _, isa in ipairs(ISAS) do
        local one, two = train(c, 1, isa), train(c, 2, isa)
        for i = 1, #one do
          -- compared in C (66k values)
          local differ = two[i]:ne(one[i]):sum()
          assert.equal(0, differ, ("%s on %s: %d values of parameter %d differ"):format(name(c), isa, differ, i))
        end
      end
    end)
  end
end)
