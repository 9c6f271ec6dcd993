-- Finite-difference gradient checks of the layers of issue 3, in training
-- and eval mode where they differ (Dropout, BatchNorm), and of Residual
-- and a small CNN built from them. As in gradcheck_spec.lua: for a fixed
-- random R the objective is L = sum(net(x) .* R) (in double, in Lua), and
-- net:backward(R) and the gradients of net:parameters() are compared with
-- central differences (helper.gradcheck). Every case runs under the seeds
-- below; to rerun under another: BACKPROP_GRADCHECK_SEED=n busted spec/layers_gradcheck_spec.lua
local bp = require("backprop")
local H = require("helper")

local SEEDS = H.gradcheck_seeds({ 101, 202, 303 })

local TOL = { h = 1e-2, atol = 1e-4, rtol = 1e-2, ntol = 2e-3 }
-- BatchNorm and LayerNorm divide by a batch standard deviation: float32
-- rounding in the forward pass weighs more, so the element test is looser.
local NORM_TOL = { h = 1e-2, atol = 3e-4, rtol = 2e-2, ntol = 4e-3 }
-- The CNN stacks BatchNorm's sensitivity on two convolutions.
local CNN_TOL = { h = 2e-3, atol = 6e-4, rtol = 2e-2, ntol = 4e-3 }

local seeded, away_from_zero, ctx = H.seeded, H.away_from_zero, H.gradcheck_ctx
-- check_net(net, x, what, tol, opts): dL/dx (unless opts.skip_x) and
-- dL/dparams; opts.before() runs before every forward (Dropout reseeds
-- there so each pass draws the same mask). Returns dL/dx.
local check_net = H.check_net

-- Distinct values at least `gap` apart, shuffled: no near-ties for MaxPool.
local function distinct(shape, gap)
  local t = bp.zeros(shape)
  local f = t:reshape(t:numel())
  local perm = bp.randperm(f:numel())
  for i = 1, f:numel() do f:set(i, (perm:get(i) - f:numel() / 2) * gap) end
  return t
end

-- Give every bias (and BatchNorm/LayerNorm gamma, beta) random values.
local function shake(net)
  for _, p in ipairs(net:parameters()) do
    if p:dim() == 1 then p:copy(bp.randn(p:numel()) * 0.5 + (p:get(1) == 1 and 1 or 0)) end
  end
  return net
end

describe("gradient check of the new layers", function()
  it("Conv2d, random channels, kernel, stride and padding", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, cin, cout = math.random(1, 3), math.random(1, 3), math.random(1, 3)
      local kh, kw = math.random(1, 3), math.random(1, 3)
      local sh, sw, ph, pw = math.random(1, 2), math.random(1, 2), math.random(0, 1), math.random(0, 1)
      local h, w = kh + math.random(0, 4), kw + math.random(0, 4)
      local conv = shake(bp.Conv2d(cin, cout, { kh, kw }, { stride = { sh, sw }, padding = { ph, pw } }))
      check_net(conv, bp.randn(n, cin, h, w), ctx(seed, ("%s on %dx%dx%dx%d"):format(
        tostring(conv), n, cin, h, w)), TOL)
    end
  end)

  it("MaxPool2d and AvgPool2d, with and without padding", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, c, h, w = math.random(1, 2), math.random(1, 3), math.random(4, 7), math.random(4, 7)
      for _, make in ipairs({
        function() return bp.MaxPool2d(2) end,
        function() return bp.MaxPool2d(3, { stride = 2, padding = 1 }) end,
        function() return bp.AvgPool2d(2) end,
        function() return bp.AvgPool2d({ 3, 2 }, { stride = { 2, 1 }, padding = { 1, 1 } }) end,
      }) do
        local pool = make()
        check_net(pool, distinct({ n, c, h, w }, 0.05), ctx(seed, ("%s on %dx%dx%dx%d"):format(
          tostring(pool), n, c, h, w)), TOL)
      end
    end
  end)

  it("Flatten and Identity", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      check_net(bp.Flatten(), bp.randn(2, 3, 2, 2), ctx(seed, "Flatten"), TOL)
      check_net(bp.Identity(), bp.randn(3, 4), ctx(seed, "Identity"), TOL)
    end
  end)

  local activations = {
    { "GELU", bp.GELU, function(s) return bp.randn(s) * 2 end },
    { "ELU", bp.ELU, function(s) return away_from_zero(bp.randn(s) * 2, 0.1) end },
    { "ELU(0.5)", function() return bp.ELU(0.5) end, function(s) return away_from_zero(bp.randn(s) * 2, 0.1) end },
    { "SiLU", bp.SiLU, function(s) return bp.randn(s) * 2 end },
    { "Softplus", bp.Softplus, function(s) return bp.randn(s) * 2 end },
    -- beta x crosses the threshold 2 between the samples; kept off it
    { "Softplus(1.5, 2)", function() return bp.Softplus(1.5, 2) end, function(s)
      local t = bp.randn(s) * 2
      local f = t:reshape(t:numel())
      for i = 1, f:numel() do
        if math.abs(1.5 * f:get(i) - 2) < 0.1 then f:set(i, f:get(i) + 0.2) end
      end
      return t
    end },
  }
  for _, a in ipairs(activations) do
    it(a[1] .. " on 2-D and 4-D batches", function()
      for _, seed in ipairs(SEEDS) do
        seeded(seed)
        check_net(a[2](), a[3]({ math.random(1, 4), math.random(2, 6) }), ctx(seed, a[1] .. " 2-D"), TOL)
        check_net(a[2](), a[3]({ 2, 2, 2, 3 }), ctx(seed, a[1] .. " 4-D"), TOL)
      end
    end)
  end

  it("Dropout in training mode (same mask each pass) and in eval mode", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local d = bp.Dropout(0.3)
      local x = bp.randn(4, 6)
      local dx = check_net(d, x, ctx(seed, "Dropout(0.3) train"), TOL, {
        before = function() bp.manual_seed(seed + 1) end })
      local zeros = 0
      for _, v in ipairs(H.flat(dx)) do if v == 0 then zeros = zeros + 1 end end
      assert(zeros > 0 and zeros < 24, "a mask of 24 values at p = 0.3 dropped " .. zeros)
      d:eval()
      local g = check_net(d, x, ctx(seed, "Dropout(0.3) eval"), TOL)
      H.assert_close(d:forward(x), x, 0, 0, "eval is the identity")
      assert(#H.flat(g) == 24)
    end
  end)

  for _, mode in ipairs({ "train", "eval" }) do
    it("BatchNorm1d (N x C and N x C x L) and BatchNorm2d, " .. mode .. " mode", function()
      for _, seed in ipairs(SEEDS) do
        seeded(seed)
        local c = math.random(1, 3)
        for _, case in ipairs({
          { bp.BatchNorm1d(c), { math.random(2, 5), c } },
          { bp.BatchNorm1d(c), { math.random(2, 3), c, math.random(1, 3) } },
          { bp.BatchNorm2d(c), { math.random(1, 3), c, 2, math.random(2, 3) } },
        }) do
          local bn, shape = shake(case[1]), case[2]
          if mode == "eval" then
            local b = bn:buffers()
            b[1]:copy(bp.randn(c) * 0.5)
            b[2]:copy(bp.rand(c) + 0.5)
            bn:eval()
          end
          check_net(bn, bp.randn(shape) * 2 + 1, ctx(seed, ("%s %s on %s"):format(
            tostring(bn), mode, table.concat(shape, "x"))), NORM_TOL)
        end
      end
    end)
  end

  it("LayerNorm on N x D and N x L x D", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      -- d >= 3: with 2 values, LayerNorm is nearly a sign function, whose
      -- curvature defeats central differences when the two are close
      local d = math.random(3, 6)
      check_net(shake(bp.LayerNorm(d)), bp.randn(3, d) * 2, ctx(seed, "LayerNorm 2-D"), NORM_TOL)
      check_net(shake(bp.LayerNorm(d)), bp.randn(2, 3, d), ctx(seed, "LayerNorm 3-D"), NORM_TOL)
    end
  end)

  it("Embedding: the weight gradient (ids get none: dL/dx is zero)", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local num, dim, n, L = math.random(2, 6), math.random(1, 4), math.random(1, 3), math.random(1, 5)
      local ids = bp.zeros(n, L)
      for i = 1, n do for j = 1, L do ids:set(i, j, math.random(1, num)) end end
      local e = bp.Embedding(num, dim)
      local dx = check_net(e, ids, ctx(seed, "Embedding"), TOL, { skip_x = true })
      assert.same(H.flat(bp.zeros(n, L)), H.flat(dx))
    end
  end)
end)

describe("gradient check of containers and a CNN", function()
  it("Residual, nested Residual and nested Sequential", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local w = math.random(2, 5)
      local inner = bp.Residual(bp.Sequential { bp.Linear(w, w), bp.Tanh() })
      local net = shake(bp.Sequential {
        bp.Linear(3, w),
        bp.Residual(bp.Sequential { inner, bp.Linear(w, w), bp.SiLU() }),
        bp.Sequential { bp.Residual(bp.GELU()), bp.Linear(w, 2) },
      })
      check_net(net, bp.randn(math.random(1, 4), 3), ctx(seed, "nested residual width " .. w), NORM_TOL)
    end
  end)

  -- MaxPool's input is checked to have no near-tie in any window (a
  -- perturbation could switch the maximum, which central differences would
  -- straddle); the children run first, then the Sequential takes their weights.
  local function cnn(x)
    for _ = 1, 50 do
      local children = {
        bp.Conv2d(1, 3, 3, { padding = 1 }), bp.BatchNorm2d(3), bp.Tanh(), bp.AvgPool2d(2),
        bp.Conv2d(3, 2, 2), bp.MaxPool2d(2), bp.Flatten(), bp.Dropout(0.2), bp.Linear(2, 3),
      }
      for _, c in ipairs(children) do shake(c) end
      local v = x
      for i = 1, 5 do v = children[i]:forward(v) end
      local ok = true
      for s = 1, v:shape()[1] do
        for c = 1, 2 do
          local w = { v:get(s, c, 1, 1), v:get(s, c, 1, 2), v:get(s, c, 2, 1), v:get(s, c, 2, 2) }
          table.sort(w)
          if w[4] - w[3] < 0.05 then ok = false end
        end
      end
      if ok then return bp.Sequential(children) end
    end
    error("could not draw a CNN without near-ties in its MaxPool")
  end

  it("a small CNN: Conv2d-BatchNorm2d-Tanh-AvgPool2d-Conv2d-MaxPool2d-Flatten-Dropout-Linear, train and eval", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local x = bp.randn(3, 1, 6, 6)
      local net = cnn(x)
      check_net(net, x, ctx(seed, "small CNN train"), CNN_TOL, {
        before = function() bp.manual_seed(seed + 7) end })
      net:eval()
      check_net(net, x, ctx(seed, "small CNN eval"), CNN_TOL)
    end
  end)
end)
