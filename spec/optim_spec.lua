-- Optimizer updates checked against numbers worked out by hand.
--
-- The case: Linear(2, 1) with w = [0.5, -0.25], b = 0.1, one sample
-- x = [1, 2], target y = 1, MSELoss (mean over 1 element):
--   out  = 0.5*1 + (-0.25)*2 + 0.1 = 0.1
--   loss = (0.1 - 1)^2 = 0.81
--   dL/dout = 2 * (0.1 - 1) = -1.8
--   g = dL/d[w1, w2, b] = -1.8 * [1, 2, 1] = [-1.8, -3.6, -1.8]
-- After any update (w1', w2', b'), the next gradient is
--   2 * (w1' + 2 w2' + b' - 1) * [1, 2, 1].
-- Values are float32, so they are compared to 2e-6.
local bp = require("backprop")
local H = require("helper")

local TOL = 2e-6

local function setup()
  local net = H.set_params(bp.Linear(2, 1), { { { 0.5, -0.25 } }, { 0.1 } })
  return net, bp.tensor { { 1, 2 } }, bp.tensor { { 1 } }, bp.MSELoss()
end

-- forward, loss, backward (grads accumulate: no zero_grad here)
local function backward(net, x, y, loss)
  local value = loss:forward(net:forward(x), y)
  net:backward(loss:backward())
  return value
end

local function step(net, x, y, loss, opt)
  opt:zero_grad()
  local value = backward(net, x, y, loss)
  opt:step()
  return value
end

-- assert w = {w1, w2} and b
local function expect(net, w1, w2, b, what)
  local p = net:parameters()
  H.assert_close(p[1], { { w1, w2 } }, TOL, 0, what .. ": weight")
  H.assert_close(p[2], { b }, TOL, 0, what .. ": bias")
end

local function expect_grads(net, g1, g2, gb, what)
  local _, g = net:parameters()
  H.assert_close(g[1], { { g1, g2 } }, TOL, 0, what .. ": weight gradient")
  H.assert_close(g[2], { gb }, TOL, 0, what .. ": bias gradient")
end

describe("the hand-worked case", function()
  it("has loss 0.81 and gradient [-1.8, -3.6], -1.8", function()
    local net, x, y, loss = setup()
    net:zero_grad()
    assert.is_true(math.abs(backward(net, x, y, loss) - 0.81) < TOL)
    expect_grads(net, -1.8, -3.6, -1.8, "first gradient")
  end)
end)

describe("SGD", function()
  it("plain: p -= lr * g, two steps", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1 })
    step(net, x, y, loss, opt)
    -- w = [0.5 + 0.18, -0.25 + 0.36] = [0.68, 0.11]; b = 0.1 + 0.18 = 0.28
    expect(net, 0.68, 0.11, 0.28, "step 1")
    step(net, x, y, loss, opt)
    -- out = 0.68 + 0.22 + 0.28 = 1.18; g = 0.36 * [1, 2, 1] = [0.36, 0.72, 0.36]
    -- w = [0.68 - 0.036, 0.11 - 0.072] = [0.644, 0.038]; b = 0.28 - 0.036 = 0.244
    expect(net, 0.644, 0.038, 0.244, "step 2")
    assert.are.equal(2, opt.steps)
  end)

  it("momentum 0.9: the first step uses buf = g, the second buf = 0.9 buf + g", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1, momentum = 0.9 })
    step(net, x, y, loss, opt)
    -- buf = g = [-1.8, -3.6, -1.8]: the same as plain SGD
    expect(net, 0.68, 0.11, 0.28, "step 1")
    step(net, x, y, loss, opt)
    -- g = [0.36, 0.72, 0.36]; buf = 0.9 * [-1.8, -3.6, -1.8] + g = [-1.26, -2.52, -1.26]
    -- w = [0.68 + 0.126, 0.11 + 0.252] = [0.806, 0.362]; b = 0.28 + 0.126 = 0.406
    expect(net, 0.806, 0.362, 0.406, "step 2")
  end)

  it("momentum 0.9 with dampening 0.1: buf = 0.9 buf + 0.9 g from the second step on", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1, momentum = 0.9, dampening = 0.1 })
    step(net, x, y, loss, opt)
    -- first step: buf = g, undamped (as PyTorch)
    expect(net, 0.68, 0.11, 0.28, "step 1")
    step(net, x, y, loss, opt)
    -- buf = 0.9 * [-1.8, -3.6, -1.8] + 0.9 * [0.36, 0.72, 0.36] = [-1.296, -2.592, -1.296]
    -- w = [0.68 + 0.1296, 0.11 + 0.2592] = [0.8096, 0.3692]; b = 0.28 + 0.1296 = 0.4096
    expect(net, 0.8096, 0.3692, 0.4096, "step 2")
  end)

  it("Nesterov momentum 0.9: d = g + 0.9 buf", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1, momentum = 0.9, nesterov = true })
    step(net, x, y, loss, opt)
    -- buf = g; d = g + 0.9 g = 1.9 * [-1.8, -3.6, -1.8] = [-3.42, -6.84, -3.42]
    -- w = [0.5 + 0.342, -0.25 + 0.684] = [0.842, 0.434]; b = 0.1 + 0.342 = 0.442
    expect(net, 0.842, 0.434, 0.442, "step 1")
    step(net, x, y, loss, opt)
    -- out = 0.842 + 0.868 + 0.442 = 2.152; g = 2.304 * [1, 2, 1] = [2.304, 4.608, 2.304]
    -- buf = 0.9 * [-1.8, -3.6, -1.8] + g = [0.684, 1.368, 0.684]
    -- d = g + 0.9 buf = [2.9196, 5.8392, 2.9196]
    -- w = [0.842 - 0.29196, 0.434 - 0.58392] = [0.55004, -0.14992]; b = 0.442 - 0.29196 = 0.15004
    expect(net, 0.55004, -0.14992, 0.15004, "step 2")
  end)

  it("weight decay 0.1: d = g + 0.1 p (bias included, as PyTorch)", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1, weight_decay = 0.1 })
    step(net, x, y, loss, opt)
    -- d = [-1.8 + 0.05, -3.6 - 0.025, -1.8 + 0.01] = [-1.75, -3.625, -1.79]
    -- w = [0.5 + 0.175, -0.25 + 0.3625] = [0.675, 0.1125]; b = 0.1 + 0.179 = 0.279
    expect(net, 0.675, 0.1125, 0.279, "step 1")
  end)
end)

describe("Adam", function()
  it("first and second steps, with bias correction (lr 0.1, betas 0.9/0.999, eps 1e-8)", function()
    local net, x, y, loss = setup()
    local opt = bp.Adam(net, { lr = 0.1 })
    step(net, x, y, loss, opt)
    -- m = 0.1 g, v = 0.001 g^2; m^ = m / (1 - 0.9) = g, v^ = v / (1 - 0.999) = g^2
    -- p -= 0.1 * g / (|g| + 1e-8) = 0.1 * sign(g) (up to 6e-10)
    -- w = [0.6, -0.15]; b = 0.2      (without bias correction it would move by 0.316)
    expect(net, 0.6, -0.15, 0.2, "step 1")
    step(net, x, y, loss, opt)
    -- out = 0.6 - 0.3 + 0.2 = 0.5; g2 = 2 * (0.5 - 1) * [1, 2, 1] = [-1, -2, -1]
    -- m = 0.9 * [-0.18, -0.36, -0.18] + 0.1 * g2 = [-0.262, -0.524, -0.262]
    -- v = 0.999 * [0.00324, 0.01296, 0.00324] + 0.001 * [1, 4, 1]
    --   = [0.00423676, 0.01694704, 0.00423676]
    -- m^ = m / (1 - 0.9^2 = 0.19) = [-1.3789474, -2.7578947, -1.3789474]
    -- v^ = v / (1 - 0.999^2 = 0.001999) = [2.1194397, 8.4777589, 2.1194397]
    -- sqrt(v^) = [1.4558296, 2.9116591, 1.4558296]
    -- step = 0.1 * m^ / (sqrt(v^) + 1e-8) = -0.0947190 for every element
    -- w = [0.6947190, -0.0552810]; b = 0.2947190
    expect(net, 0.6947190, -0.0552810, 0.2947190, "step 2")
  end)
end)

describe("optimizer state and gradients", function()
  it("a new opt.lr takes effect at the next step (also through train_step)", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1 })
    assert.are.equal(0.1, opt.lr)
    assert.is_true(math.abs(net:train_step(x, y, loss, opt) - 0.81) < TOL)
    expect(net, 0.68, 0.11, 0.28, "step 1")
    opt.lr = 0.05
    assert.are.equal(0.05, opt.lr)
    -- loss = (1.18 - 1)^2 = 0.0324; g = [0.36, 0.72, 0.36]
    -- w = [0.68 - 0.018, 0.11 - 0.036] = [0.662, 0.074]; b = 0.28 - 0.018 = 0.262
    assert.is_true(math.abs(net:train_step(x, y, loss, opt) - 0.0324) < TOL)
    expect(net, 0.662, 0.074, 0.262, "step 2 at lr 0.05")
  end)

  it("opt:zero_grad and net:zero_grad zero every gradient", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1 })
    backward(net, x, y, loss)
    expect_grads(net, -1.8, -3.6, -1.8, "before zero_grad")
    opt:zero_grad()
    expect_grads(net, 0, 0, 0, "after opt:zero_grad")
    backward(net, x, y, loss)
    net:zero_grad()
    expect_grads(net, 0, 0, 0, "after net:zero_grad")
  end)

  it("gradients accumulate over two backward calls without zero_grad, and step uses the sum", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1 })
    opt:zero_grad()
    backward(net, x, y, loss)
    backward(net, x, y, loss)
    expect_grads(net, -3.6, -7.2, -3.6, "after two backward calls")
    opt:step()
    -- w = [0.5 + 0.36, -0.25 + 0.72] = [0.86, 0.47]; b = 0.1 + 0.36 = 0.46
    expect(net, 0.86, 0.47, 0.46, "step on the accumulated gradient")
  end)

  it("train_step zeroes the gradients itself", function()
    local net, x, y, loss = setup()
    local opt = bp.SGD(net, { lr = 0.1 })
    backward(net, x, y, loss)          -- stale gradient left in the buffer
    net:train_step(x, y, loss, opt)
    expect(net, 0.68, 0.11, 0.28, "train_step after a stale backward")
  end)
end)
