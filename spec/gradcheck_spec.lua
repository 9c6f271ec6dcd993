-- Finite-difference gradient checks of every layer and every loss.
--
-- For a network f and a fixed random R, the scalar objective is
-- L = sum(f(x) .* R), products and sum in double in Lua, so every output
-- element matters; dL/dout = R, which is what net:backward receives. The analytic
-- gradients (net:backward's result and the grads of net:parameters()) are
-- compared with central differences (helper.gradcheck).
--
-- Every case runs under the seeds below; a failure message names the seed
-- and the shape. To rerun a case under another seed:
--   BACKPROP_GRADCHECK_SEED=12345 busted spec/gradcheck_spec.lua
local bp = require("backprop")
local H = require("helper")

local SEEDS = H.gradcheck_seeds({ 101, 202, 303, 404 })

-- Tolerances (see helper.gradcheck): h is the central-difference step. The
-- float32 forward pass limits the accuracy of the layer checks to ~1e-5;
-- the losses compute in double from float32 inputs, so their checks are
-- tighter. Calibrated over 300 further seeds: the worst case used about half
-- of its allowance, while a gradient off by 10% exceeds it many times over.
local LAYER_TOL = { h = 1e-2, atol = 1e-4, rtol = 1e-2, ntol = 2e-3 }
local LOSS_TOL = { h = 1e-3, atol = 1e-5, rtol = 1e-3, ntol = 1e-3 }

local seeded, uniform, away_from_zero, dot = H.seeded, H.uniform, H.away_from_zero, H.dot
local labels, ctx, check_net = H.labels, H.gradcheck_ctx, H.check_net

describe("gradient check of each layer", function()
  it("Linear, several (batch, in, out)", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, i, o = math.random(1, 5), math.random(1, 6), math.random(1, 6)
      local net = bp.Linear(i, o)
      local x = bp.randn(n, i)
      -- non-zero biases, so they take part in the forward pass
      local _ = net:forward(x)
      net:parameters()[2]:copy(bp.randn(o))
      local _, np = check_net(net, x, ctx(seed, ("Linear batch=%d in=%d out=%d"):format(n, i, o)), LAYER_TOL)
      assert.are.equal(2, np)
    end
  end)

  it("Linear on one sample given as a vector", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local i, o = math.random(1, 6), math.random(1, 6)
      check_net(bp.Linear(i, o), bp.randn(i), ctx(seed, ("Linear 1-D input in=%d out=%d"):format(i, o)), LAYER_TOL)
    end
  end)

  local activations = {
    { "Sigmoid", function() return bp.Sigmoid() end, function(s) return bp.randn(s) * 2 end },
    { "Tanh", function() return bp.Tanh() end, function(s) return bp.randn(s) * 2 end },
    { "ReLU", function() return bp.ReLU() end, function(s) return away_from_zero(bp.randn(s), 0.1) end },
    { "LeakyReLU(default slope)", function() return bp.LeakyReLU() end,
      function(s) return away_from_zero(bp.randn(s), 0.1) end },
    { "LeakyReLU(random slope)", function() return bp.LeakyReLU(0.05 + 0.9 * math.random()) end,
      function(s) return away_from_zero(bp.randn(s), 0.1) end },
    { "Softmax", function() return bp.Softmax() end, function(s) return bp.randn(s) * 2 end },
    { "LogSoftmax", function() return bp.LogSoftmax() end, function(s) return bp.randn(s) * 2 end },
  }
  for _, a in ipairs(activations) do
    local name, make, input = a[1], a[2], a[3]
    it(name .. ", several (batch, width)", function()
      for _, seed in ipairs(SEEDS) do
        seeded(seed)
        local n, w = math.random(1, 5), math.random(2, 7)
        local layer = make()
        local x = input({ n, w })
        local _, np = check_net(layer, x, ctx(seed, ("%s %s batch=%d width=%d"):format(name, tostring(layer), n, w)), LAYER_TOL)
        assert.are.equal(0, np)
      end
    end)
  end

  it("Softmax and LogSoftmax on one sample given as a vector", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local w = math.random(2, 7)
      check_net(bp.Softmax(), bp.randn(w) * 2, ctx(seed, "Softmax 1-D width=" .. w), LAYER_TOL)
      check_net(bp.LogSoftmax(), bp.randn(w) * 2, ctx(seed, "LogSoftmax 1-D width=" .. w), LAYER_TOL)
    end
  end)
end)

-- A deep Sequential mixing every layer kind. Its children are used first
-- (forward on each row of x, in turn) so that every ReLU/LeakyReLU input
-- can be checked to stay at least MARGIN from the kink; a row that comes
-- too close is drawn again. The Sequential then takes the children's weights.
local MARGIN = 0.1
local DEEP_TOL = { h = 1e-2, atol = 1e-4, rtol = 1e-2, ntol = 2e-3 }

local function deep_net(head_name, n)
  local w = { math.random(2, 5), math.random(2, 5), math.random(2, 5), math.random(2, 5), math.random(2, 5),
              math.random(2, 4) }
  for _ = 1, 50 do                           -- fresh weights if a unit sits at a kink
    local children = {
      bp.Linear(w[1], w[2]), bp.ReLU(), bp.Linear(w[2], w[3]), bp.Tanh(),
      bp.Linear(w[3], w[4]), bp.LeakyReLU(0.2), bp.Linear(w[4], w[5]), bp.Sigmoid(),
      bp.Linear(w[5], w[6]), bp[head_name](),
    }
    for _, c in ipairs(children) do         -- draw the weights now;
      local params = c:parameters()          -- give the biases non-zero values
      if params[2] then params[2]:copy(bp.randn(params[2]:numel()) * 0.3) end
    end
    local rows = {}
    for r = 1, n do
      for _ = 1, 100 do
        local row = uniform({ 1, w[1] }, -2, 2)
        local v, good = row, true
        for _, c in ipairs(children) do
          if tostring(c):find("ReLU") then
            for _, z in ipairs(H.flat(v)) do
              if math.abs(z) < MARGIN then good = false end
            end
          end
          v = c:forward(v)
        end
        if good then rows[r] = H.flat(row) break end
      end
      if not rows[r] then break end
    end
    if #rows == n then
      return bp.Sequential(children), bp.tensor(rows), w   -- takes the children's weights
    end
  end
  error("could not draw a network and inputs away from the ReLU kinks")
end

describe("gradient check of a deep Sequential", function()
  for _, head in ipairs({ "Softmax", "LogSoftmax" }) do
    it("Linear-ReLU-Linear-Tanh-Linear-LeakyReLU-Linear-Sigmoid-Linear-" .. head, function()
      for _, seed in ipairs(SEEDS) do
        seeded(seed)
        local n = math.random(1, 4)
        local net, x, w = deep_net(head, n)
        local _, np = check_net(net, x, ctx(seed, ("deep net widths %s, batch %d, head %s"):format(
          table.concat(w, "-"), n, head)), DEEP_TOL)
        assert.are.equal(10, np)
      end
    end)
  end
end)

-- Losses: dLoss/dprediction (loss:backward) by finite differences on the
-- prediction; then through a network, dLoss/dparameters.
local function check_loss(loss, pred, target, what)
  local function objective() return loss:forward(pred, target) end
  objective()
  local g = loss:backward():clone()
  local ok, msg = H.gradcheck(objective, pred, g, LOSS_TOL)
  assert(ok, what .. ", dLoss/dprediction: " .. msg)
end

describe("gradient check of each loss", function()
  it("MSELoss", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, c = math.random(1, 5), math.random(1, 5)
      check_loss(bp.MSELoss(), bp.randn(n, c), bp.randn(n, c), ctx(seed, ("MSELoss %dx%d"):format(n, c)))
    end
  end)

  it("BCELoss, soft and hard targets, predictions in (0.05, 0.95)", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, c = math.random(1, 5), math.random(1, 5)
      check_loss(bp.BCELoss(), uniform({ n, c }, 0.05, 0.95), bp.rand(n, c),
        ctx(seed, ("BCELoss soft targets %dx%d"):format(n, c)))
      local hard = bp.rand(n, c)
      local hf = hard:reshape(n * c)
      for i = 1, n * c do hf:set(i, hf:get(i) < 0.5 and 0 or 1) end
      check_loss(bp.BCELoss(), uniform({ n, c }, 0.05, 0.95), hard,
        ctx(seed, ("BCELoss 0/1 targets %dx%d"):format(n, c)))
    end
  end)

  it("CrossEntropyLoss, labels as N and as N x 1", function()
    for _, seed in ipairs(SEEDS) do
      seeded(seed)
      local n, c = math.random(1, 5), math.random(2, 6)
      check_loss(bp.CrossEntropyLoss(), bp.randn(n, c) * 2, labels(n, c, false),
        ctx(seed, ("CrossEntropyLoss %dx%d, labels N"):format(n, c)))
      check_loss(bp.CrossEntropyLoss(), bp.randn(n, c) * 2, labels(n, c, true),
        ctx(seed, ("CrossEntropyLoss %dx%d, labels Nx1"):format(n, c)))
    end
  end)

  -- loss(net(x)): dLoss/dx and dLoss/dparameters through a small network
  local cases = {
    { "MSELoss", function() return bp.MSELoss() end, function(n, c) return bp.randn(n, c) end, nil },
    { "BCELoss", function() return bp.BCELoss() end, function(n, c) return bp.rand(n, c) end, bp.Sigmoid },
    { "CrossEntropyLoss", function() return bp.CrossEntropyLoss() end, function(n, c) return labels(n, c) end, nil },
  }
  for _, case in ipairs(cases) do
    local name, make, target, head = case[1], case[2], case[3], case[4]
    it(name .. " through Linear-Tanh-Linear" .. (head and "-Sigmoid" or "") .. ": parameter gradients", function()
      for _, seed in ipairs(SEEDS) do
        seeded(seed)
        local n, i, hdim, c = math.random(1, 5), math.random(1, 4), math.random(2, 5), math.random(2, 4)
        local layers = { bp.Linear(i, hdim), bp.Tanh(), bp.Linear(hdim, c) }
        if head then layers[#layers + 1] = head() end
        local net, loss = bp.Sequential(layers), make()
        local x, y = bp.randn(n, i), target(n, c)
        local params, grads = net:parameters()
        params[2]:copy(bp.randn(hdim) * 0.5)
        params[4]:copy(bp.randn(c) * 0.5)
        local function objective() return loss:forward(net:forward(x), y) end
        net:zero_grad()
        objective()
        local dx = net:backward(loss:backward()):clone()
        local what = ctx(seed, ("%s through net %d-%d-%d, batch %d"):format(name, i, hdim, c, n))
        local tol = { h = 1e-2, atol = 1e-4, rtol = 1e-2, ntol = 2e-3 }
        local ok, msg = H.gradcheck(objective, x, dx, tol)
        assert(ok, what .. ", dLoss/dx: " .. msg)
        for k, p in ipairs(params) do
          ok, msg = H.gradcheck(objective, p, grads[k]:clone(), tol)
          assert(ok, what .. ", dLoss/dparameter " .. k .. ": " .. msg)
        end
      end
    end)
  end
end)

describe("the gradient checker", function()
  -- A checker that cannot fail proves nothing: a wrong gradient must fail.
  local function setup()
    seeded(7)
    local net = bp.Sequential { bp.Linear(4, 3), bp.Tanh(), bp.Linear(3, 2) }
    local x = bp.randn(5, 4)
    local R = bp.randn(5, 2)
    local rf = H.flat(R)
    local function objective() return dot(net:forward(x), rf) end
    net:zero_grad()
    net:forward(x)
    local dx = net:backward(R):clone()
    local params, grads = net:parameters()
    return objective, x, dx, params, grads
  end

  it("accepts the true gradients of the case below", function()
    local objective, x, dx, params, grads = setup()
    local ok, msg = H.gradcheck(objective, x, dx, LAYER_TOL)
    assert(ok, msg)
    ok, msg = H.gradcheck(objective, params[1], grads[1]:clone(), LAYER_TOL)
    assert(ok, msg)
  end)

  it("reports a gradient scaled by 1.1", function()
    local objective, x, dx, params, grads = setup()
    local ok, msg = H.gradcheck(objective, params[1], grads[1] * 1.1, LAYER_TOL)
    assert.is_false(ok)
    assert.matches("MISMATCH", msg)
    ok, msg = H.gradcheck(objective, x, dx * 1.1, LAYER_TOL)
    assert.is_false(ok)
    assert.matches("MISMATCH", msg)
  end)

  it("reports one wrong element", function()
    local objective, x, dx = setup()
    local bad = dx:clone()
    bad:set(3, 2, bad:get(3, 2) + 0.05)     -- flat element (3-1)*4+2 = 10
    local ok, msg = H.gradcheck(objective, x, bad, LAYER_TOL)
    assert.is_false(ok)
    assert.matches("worst element 10 of 20", msg)
  end)

  it("reports a gradient of the wrong sign in a loss", function()
    seeded(8)
    local loss, p, t = bp.MSELoss(), bp.randn(3, 2), bp.randn(3, 2)
    loss:forward(p, t)
    local ok = H.gradcheck(function() return loss:forward(p, t) end, p, -loss:backward(), LOSS_TOL)
    assert.is_false(ok)
  end)
end)
