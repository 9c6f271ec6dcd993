-- Finite-difference gradient checks of every loss, option and reduction.
--
-- "mean" and "sum": the objective is loss:forward(pred, target) (a double
-- computed from float32 inputs), checked against loss:backward().
-- "none": the objective is sum(g .* losses) for a fixed random g, checked
-- against loss:backward(g) (see check_none).
-- Residuals are kept away from the kinks (0 for L1, +-delta for Huber),
-- where central differences would straddle a change of slope.
--   BACKPROP_GRADCHECK_SEED=12345 busted spec/losses_gradcheck_spec.lua
local bp = require("backprop")
local H = require("helper")

local SEEDS = H.gradcheck_seeds({ 101, 202, 303, 404 })

local TOL = { h = 3e-4, atol = 1e-5, rtol = 1e-3, ntol = 1e-3 }
local NONE_TOL = { h = 2e-3, atol = 1e-3, rtol = 1e-3, ntol = 2e-3 }
local MARGIN = 0.05   -- > h of both tolerances

local seeded, uniform, labels = H.seeded, H.uniform, H.labels

local function positive(c)
  local t = {}
  for j = 1, c do t[j] = 0.2 + 2.8 * math.random() end
  return t
end

-- Move target values so no residual pred - target is within MARGIN of a
-- kink in `kinks`.
local function clear_kinks(pred, target, kinks)
  local p, t = pred:reshape(pred:numel()), target:reshape(target:numel())
  for i = 1, p:numel() do
    for _, k in ipairs(kinks) do
      local d = p:get(i) - t:get(i)
      if math.abs(d - k) < MARGIN then t:set(i, p:get(i) - k - (d >= k and -1 or 1) * 2 * MARGIN) end
    end
  end
  return target
end

-- Under "none" the losses are float32 values, so the objective carries their
-- rounding (up to ~6e-4 in the numeric derivative for weighted
-- cross-entropy): a looser check, backed by two exact ones: backward() is
-- bit for bit the (tightly checked) gradient of reduction "sum", and
-- backward(g) is g times it, row by row or element by element.
local function check_none(loss_fn, opts, pred, target, what)
  local o, s = { reduction = "none" }, { reduction = "sum" }
  for k, v in pairs(opts) do o[k], s[k] = v, v end
  local loss, sum = loss_fn(o), loss_fn(s)
  local values = loss:forward(pred, target)
  local total = sum:forward(pred, target)
  H.assert_close(values:sum(), total, 1e-5, 1e-5, what .. ": sum of the per-element losses")
  local grad = loss:backward():clone()
  H.assert_same(grad, sum:backward(), what .. ": backward() vs reduction sum")
  local g = bp.randn(values:shape())
  local gf, rows = H.flat(g), values:numel() < grad:numel()
  local weighted, want = H.flat(loss:backward(g)), H.flat(grad)
  local c = math.floor(grad:numel() / values:numel())
  for i = 1, #want do want[i] = want[i] * gf[rows and math.floor((i - 1) / c) + 1 or i] end
  -- through a tensor, so the products are rounded to float32 as in C
  H.assert_same(weighted, bp.tensor(want), what .. ": backward(g) vs g * backward()")
  local function objective()
    local v, acc = H.flat(loss:forward(pred, target)), 0.0
    for i = 1, #v do acc = acc + v[i] * gf[i] end
    return acc
  end
  objective()
  local ok, msg = H.gradcheck(objective, pred, loss:backward(g):clone(), NONE_TOL)
  assert(ok, what .. ", reduction none: " .. msg)
end

local function check(loss_fn, opts, pred, target, what)
  for _, reduction in ipairs({ "mean", "sum" }) do
    local o = { reduction = reduction }
    for k, v in pairs(opts) do o[k] = v end
    local loss = loss_fn(o)
    local function objective() return loss:forward(pred, target) end
    objective()
    local ok, msg = H.gradcheck(objective, pred, loss:backward():clone(), TOL)
    assert(ok, ("%s, reduction %s: %s"):format(what, reduction, msg))
  end
  check_none(loss_fn, opts, pred, target, what)
end

local function each_seed(f)
  for _, seed in ipairs(SEEDS) do
    seeded(seed)
    local n, c = math.random(1, 5), math.random(1, 5)
    f(n, c, ("seed %d, %dx%d"):format(seed, n, c))
  end
end

describe("gradient check of each loss under each reduction", function()
  it("MSELoss", function()
    each_seed(function(n, c, ctx)
      check(bp.MSELoss, {}, bp.randn(n, c), bp.randn(n, c), "MSELoss " .. ctx)
    end)
  end)

  it("L1Loss, residuals away from 0", function()
    each_seed(function(n, c, ctx)
      local p = bp.randn(n, c)
      check(bp.L1Loss, {}, p, clear_kinks(p, bp.randn(n, c), { 0 }), "L1Loss " .. ctx)
    end)
  end)

  it("HuberLoss with delta 1 (default), 0.5 and 2, residuals on both sides of delta", function()
    each_seed(function(n, c, ctx)
      for _, delta in ipairs({ 1.0, 0.5, 2.0 }) do
        local p = bp.randn(n, c) * 2
        local t = clear_kinks(p, bp.randn(n, c) * 2, { delta, -delta })
        local opts = delta == 1.0 and {} or { delta = delta }
        check(bp.HuberLoss, opts, p, t, ("HuberLoss delta %g %s"):format(delta, ctx))
      end
    end)
  end)

  it("BCELoss, predictions in (0.1, 0.9)", function()
    each_seed(function(n, c, ctx)
      check(bp.BCELoss, {}, uniform({ n, c }, 0.1, 0.9), bp.rand(n, c), "BCELoss " .. ctx)
    end)
  end)

  it("BCEWithLogitsLoss, with and without pos_weight, logits up to +-12", function()
    each_seed(function(n, c, ctx)
      check(bp.BCEWithLogitsLoss, {}, bp.randn(n, c) * 4, bp.rand(n, c), "BCEWithLogitsLoss " .. ctx)
      check(bp.BCEWithLogitsLoss, { pos_weight = positive(c) }, bp.randn(n, c) * 4, bp.rand(n, c),
        "BCEWithLogitsLoss pos_weight " .. ctx)
    end)
  end)

  it("CrossEntropyLoss with weight, label_smoothing and both", function()
    each_seed(function(n, c, ctx)
      for _, opts in ipairs({ {}, { weight = positive(c) }, { label_smoothing = 0.1 },
        { weight = positive(c), label_smoothing = 0.45 } }) do
        local desc = (opts.weight and "weight " or "") .. (opts.label_smoothing and "smoothing " or "")
        check(bp.CrossEntropyLoss, opts, bp.randn(n, c) * 2, labels(n, c), "CrossEntropyLoss " .. desc .. ctx)
      end
    end)
  end)

  it("NLLLoss with and without weight", function()
    each_seed(function(n, c, ctx)
      local logp = bp.LogSoftmax():forward(bp.randn(n, c) * 2)
      check(bp.NLLLoss, {}, logp, labels(n, c), "NLLLoss " .. ctx)
      check(bp.NLLLoss, { weight = positive(c) }, logp, labels(n, c), "NLLLoss weight " .. ctx)
    end)
  end)
end)
