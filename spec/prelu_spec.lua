-- PReLU (nn/prelu.c): against PyTorch (spec/reference/prelu_ref.lua, made
-- by make_prelu_reference.py), a finite-difference gradient check, the
-- model file, its constructor's checks, and learning its slopes.
local bp = require("backprop")
local H = require("helper")
local ref = dofile("spec/reference/prelu_ref.lua")
local raises = H.raises

local SEEDS = H.gradcheck_seeds({ 101, 202, 303 })
local TOL = { h = 1e-2, atol = 1e-4, rtol = 1e-2, ntol = 2e-3 }

describe("PReLU", function()
  describe("against PyTorch", function()
    for _, c in ipairs(ref) do
      it(c.name, function()
        local p = bp.PReLU(c.num_parameters, c.init)
        -- the initial slopes, exactly
        assert.same(c.init_weight, H.flat(p:parameters()[1]))
        H.set_params(p, { c.slopes })
        local x = bp.tensor(c.x)
        -- y and dL/dx are one product or a copy per value: the same bits
        H.assert_same(p:forward(x), c.y, "output")
        H.assert_same(p:backward(bp.tensor(c.R)), c.dx, "dL/dx")
        -- dL/dslopes are sums, in another order than PyTorch's
        H.assert_close(select(2, p:parameters())[1], c.dslopes, 1e-5, 1e-5, "dL/dslopes")
      end)
    end
  end)

  it("passes a finite-difference gradient check, one slope and one per channel", function()
    for _, seed in ipairs(SEEDS) do
      H.seeded(seed)
      for _, case in ipairs({ { 1, { 3, 5 } }, { 4, { 2, 4 } }, { 3, { 2, 3, 4, 5 } }, { 2, { 3, 2, 6 } } }) do
        local n, shape = case[1], case[2]
        local p = bp.PReLU(n)
        p:parameters()[1]:copy(bp.randn(n) * 0.5)
        local x = H.away_from_zero(bp.randn(H.unpack(shape)), 0.05)
        H.check_net(p, x, H.gradcheck_ctx(seed, ("%s on %s"):format(tostring(p), table.concat(shape, "x"))), TOL)
      end
      local net = bp.Sequential { bp.Linear(3, 4), bp.PReLU(4), bp.Linear(4, 2), bp.PReLU() }
      H.check_net(net, bp.randn(5, 3), H.gradcheck_ctx(seed, "Linear-PReLU(4)-Linear-PReLU"), TOL)
    end
  end)

  it("is described, saved and loaded by its settings", function()
    bp.manual_seed(3)
    assert.equal("backprop.PReLU(1, init 0.25)", tostring(bp.PReLU()))
    assert.equal("backprop.PReLU(3, init 0.1)", tostring(bp.PReLU(3, 0.1)))
    assert.equal("backprop.PReLU(1, init 0.5)", tostring(bp.PReLU { init = 0.5 }))
    local net = bp.Sequential { bp.Conv2d(1, 3, 3), bp.PReLU(3, 0.1), bp.Flatten(), bp.Linear(12, 2) }
    net:parameters()[3]:copy(bp.tensor { -0.5, 0.2, 0.7 })
    local dir = H.tmpdir()
    net:save(dir .. "/p.bp")
    local s = H.read(dir .. "/p.bp")
    local records = H.model_records(s, 4, 17)
    assert.equal(23, records[2].kind)
    assert.same({ { "num_parameters", 1, 3 }, { "init", 3, H.f32(0.1) } }, records[2].settings)
    local loaded = bp.load(dir .. "/p.bp")
    H.rmtree(dir)
    assert.equal(tostring(net), tostring(loaded))
    local x = bp.randn(2, 1, 4, 4)
    H.assert_same(loaded:forward(x), net:forward(x), "loaded output")
  end)

  it("checks its arguments and its input", function()
    raises({ "backprop.PReLU: num_parameters must be a positive integer, got 0" }, bp.PReLU, 0)
    raises({ "backprop.PReLU: init must be a finite number, got inf" }, bp.PReLU, 1, math.huge)
    raises({ "backprop.PReLU: init must be a number, got string" }, bp.PReLU, 1, "x")
    raises({ "backprop.PReLU: takes at most 2 arguments, got 3" }, bp.PReLU, 1, 0.25, 1)
    raises({ "backprop.PReLU: unknown option 'num' (expected one of: num_parameters, init)" }, bp.PReLU, { num = 2 })
    local p = bp.PReLU(3)
    assert.equal("backprop.PReLU:forward: expected 3 channels (dim 2 of the input, one per slope), got 4 "
                 .. "(input shape 2x4x5)", H.err_of(p.forward, p, bp.zeros(2, 4, 5)))
    assert.equal("2x3x5", table.concat(p:forward(bp.zeros(2, 3, 5)):shape(), "x"))
  end)

  it("gives the Linear before it He initialization for its initial slope", function()
    bp.manual_seed(6)
    local IN = 300
    local net = bp.Sequential { bp.Linear(IN, 200), bp.PReLU(1, 0.5) }
    local bound, max = math.sqrt(6 / (1.25 * IN)), 0
    for _, v in ipairs(H.flat(net:parameters()[1])) do max = math.max(max, math.abs(v)) end
    assert(max <= bound and max > 0.99 * bound, ("max |w| %g, He bound %g"):format(max, bound))
  end)

  it("learns its slopes; train_step matches the steps written by hand", function()
    bp.manual_seed(8)
    -- a target that is 0.8 x below 0: the slope must move from 0.25 to it
    local x = bp.randn(64, 1)
    local y = x:clone()
    for i = 1, 64 do if x:get(i, 1) < 0 then y:set(i, 1, 0.8 * x:get(i, 1)) end end
    local p = bp.PReLU()
    local opt = bp.SGD(p, { lr = 0.5 })
    for _ = 1, 200 do p:train_step(x, y, bp.MSELoss(), opt) end
    H.near(p:parameters()[1]:get(1), 0.8, 1e-4, "learned slope")
    local a = bp.Sequential { bp.Linear(2, 3), bp.PReLU(3) }
    local b = bp.Sequential { bp.Linear(2, 3), bp.PReLU(3) }
    H.set_params(b, H.snapshot(a))
    local oa, ob = bp.SGD(a, { lr = 0.1, momentum = 0.9 }), bp.SGD(b, { lr = 0.1, momentum = 0.9 })
    local xs, ys = bp.randn(8, 2), bp.randn(8, 3)
    for _ = 1, 3 do
      a:train_step(xs, ys, bp.MSELoss(), oa)
      H.manual_step(b, xs, ys, bp.MSELoss(), ob)
    end
    for i, t in ipairs(a:parameters()) do H.assert_same(b:parameters()[i], t, "parameter " .. i) end
  end)
end)
