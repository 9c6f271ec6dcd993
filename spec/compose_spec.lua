-- Composition shares (lcompose.c): a module put into a container is a view
-- of it, the same parameters; children are reachable with net:get(i) and
-- #net; a module is in one container; closing either side leaves the
-- other working.
local bp = require("backprop")
local H = require("helper")
local raises, same = H.raises, H.assert_same

local function flat(t) return H.flat(t) end

-- y = x W^T + b, by hand, from a Linear's parameters.
local function affine(x, w, b)
  return x:matmul(w:t()) + b
end

describe("composition shares the parameters", function()
  before_each(function() bp.manual_seed(5) end)

  it("a child's parameters are views of the container's buffers", function()
    local l = bp.Linear(3, 2)
    local net = bp.Sequential { l, bp.ReLU() }
    local pl, pn = l:parameters(), net:parameters()
    same(pl[1], pn[1], "weights")
    pn[1]:fill(0.25)
    pn[2]:fill(-1)
    assert.same({ 0.25, 0.25, 0.25, 0.25, 0.25, 0.25 }, flat(pl[1]))
    assert.same({ -1, -1 }, flat(l:parameters()[2]))
    pl[2]:fill(2)                                   -- and the other way
    assert.same({ 2, 2 }, flat(pn[2]))
  end)

  it("training the container changes what the child computes, and saving the child saves that", function()
    local l = bp.Linear(3, 2)
    local net = bp.Sequential { l, bp.Tanh(), bp.Linear(2, 1) }
    local x, y = bp.randn(16, 3), bp.randn(16, 1)
    local before = l:forward(x):clone()
    net:fit(x, y, { loss = bp.MSELoss(), epochs = 5, batch_size = 4, warnings = false,
                    optimizer = bp.SGD(net, { lr = 0.1 }) })
    local p = net:parameters()
    local now = l:forward(x)
    H.assert_close(now, affine(x, p[1], p[2]), 1e-6, 1e-6)
    assert.are_not.same(flat(before), flat(now))
    local dir = H.tmpdir()
    l:save(dir .. "/l.bp")
    local loaded = bp.load(dir .. "/l.bp")
    same(loaded:parameters()[1], p[1], "saved weights")
    same(loaded:forward(x), now, "saved child's output")
    H.rmtree(dir)
  end)

  it("an optimizer made for the child before composition steps the container's values", function()
    local l = bp.Linear(3, 2)
    local opt = bp.SGD(l, { lr = 0.5 })
    local net = bp.Sequential { l, bp.ReLU() }
    local w = net:parameters()[1]:clone()
    local x = bp.randn(4, 3)
    l:zero_grad()
    l:forward(x)
    local g = bp.randn(4, 2)
    l:backward(g)
    opt:step()
    -- SGD: w - 0.5 * dW, dW = g^T x
    H.assert_close(net:parameters()[1], w - g:t():matmul(x) * 0.5, 1e-6, 1e-6)
    -- and train_step with it runs on the same values
    local loss = bp.MSELoss()
    local before = net:parameters()[1]:clone()
    l:train_step(x, bp.randn(4, 2), loss, opt)
    assert.are_not.same(flat(before), flat(net:parameters()[1]))
    same(l:parameters()[1], net:parameters()[1], "one set of weights")
  end)

  it("views taken before composition move with the buffers (and views of them)", function()
    local l = bp.Linear(3, 2)
    local w, g = H.unpack({ l:parameters() })
    local row, cols, flatw = w[1][2], w[1]:narrow(2, 2, 2), w[1]:reshape(6)  -- views of a view
    local bn = bp.BatchNorm1d(2)
    local running = bn:buffers()
    local net = bp.Sequential { l, bn }
    local pn, gn = net:parameters()
    pn[1]:fill(3)
    assert.same({ 3, 3, 3, 3, 3, 3 }, flat(w[1]))
    assert.same({ 3, 3, 3 }, flat(row))
    assert.same({ 3, 3, 3, 3 }, flat(cols))
    assert.same({ 3, 3, 3, 3, 3, 3 }, flat(flatw))
    gn[1]:fill(7)
    assert.same({ 7, 7, 7, 7, 7, 7 }, flat(g[1]))
    net:buffers()[1]:fill(0.5)
    assert.same({ 0.5, 0.5 }, flat(running[1]))
    w[2]:fill(-4)                                   -- writes reach the container
    assert.same({ -4, -4 }, flat(pn[2]))
  end)

  it("a used child keeps its weights, an unused one gets the container's initialization", function()
    local used = bp.Linear(3, 2)
    local x = bp.randn(2, 3)
    local y = used:forward(x):clone()
    local fresh = bp.Linear(2, 2)
    local net = bp.Sequential { used, bp.ReLU(), fresh }
    same(used:forward(x), y, "the used child's output")
    same(fresh:parameters()[1], net:parameters()[3], "the fresh child's weights are the container's")
  end)
end)

describe("nested composition", function()
  before_each(function() bp.manual_seed(9) end)

  it("moves a container and its own children into the new one", function()
    local l1, l2 = bp.Linear(3, 4), bp.Linear(4, 2)
    local block = bp.Sequential { l1, bp.Tanh() }
    local w1 = l1:parameters()[1]
    local wb = block:parameters()[1]
    local net = bp.Sequential { block, l2 }
    assert.is_true(rawequal(block, net:get(1)))
    assert.is_true(rawequal(l1, block:get(1)))
    assert.is_true(rawequal(l1, net:get(1):get(1)))
    net:parameters()[1]:fill(0.5)
    assert.same(flat(net:parameters()[1]), flat(l1:parameters()[1]))
    assert.same(flat(net:parameters()[1]), flat(w1))
    assert.same(flat(net:parameters()[1]), flat(wb))
    local x = bp.randn(5, 3)
    same(net:forward(x), l2:forward(block:forward(x)), "the container through its children")
    same(block:forward(x), bp.Tanh():forward(l1:forward(x)), "the block through its child")
  end)

  it("children's children survive their parent's move however deep", function()
    local inner = bp.Linear(2, 2)
    local a = bp.Sequential { inner }
    local b = bp.Sequential { a }
    local c = bp.Residual(b)
    local d = bp.Sequential { bp.Linear(3, 2), c }
    d:parameters()[3]:fill(1.5)
    assert.same({ 1.5, 1.5, 1.5, 1.5 }, flat(inner:parameters()[1]))
    assert.is_true(rawequal(inner, d:get(2):get(1):get(1):get(1)))
  end)
end)

describe("a module is in one container", function()
  it("refuses a second container, and the same module twice", function()
    local l = bp.Linear(2, 2)
    local net = bp.Sequential { l }
    raises({ "backprop.Sequential: layer 2 (Linear) is already part of a Sequential: a module can be in one "
             .. "container (make another, or put that Sequential in instead)" },
           bp.Sequential, { bp.ReLU(), l })
    raises({ "backprop.Residual: module (Linear) is already part of a Sequential" }, bp.Residual, l)
    local m = bp.ReLU()
    raises({ "backprop.Sequential: layer 2 is layer 1 again" }, bp.Sequential, { m, m })
    -- the refused calls changed nothing
    assert.equal(1, #net)
    assert.is_true(rawequal(l, net:get(1)))
    net:forward(bp.randn(1, 2))
    local again = bp.Sequential { m }                 -- m was not taken
    assert.is_true(rawequal(m, again:get(1)))
  end)
end)

describe("children", function()
  it("#net and net:get(i): the modules it was built from", function()
    local a, b, c = bp.Linear(2, 3), bp.ReLU(), bp.Linear(3, 1)
    local net = bp.Sequential { a, b, c }
    assert.equal(3, #net)
    for i, m in ipairs({ a, b, c }) do assert.is_true(rawequal(m, net:get(i))) end
    local r = bp.Residual(bp.Linear(2, 2))
    assert.equal(1, #r)
    assert.equal(0, #a)
    raises({ "backprop.Linear:get: a Linear has no children (it is a single layer)" }, a.get, a, 1)
    raises({ "backprop.Sequential:get: index 4 is out of range 1..3" }, net.get, net, 4)
    raises({ "backprop.Sequential:get: index 0 is out of range 1..3" }, net.get, net, 0)
    raises({ "backprop.Sequential:get: index must be an integer, got 1.5" }, net.get, net, 1.5)
    raises({ "backprop.Sequential:get: index must be an integer, got string" }, net.get, net, "1")
  end)

  it("of a loaded network: its top-level layers and Residual blocks, views of it", function()
    bp.manual_seed(4)
    local net = bp.Sequential {
      bp.Linear(3, 4), bp.ReLU(),
      bp.Residual(bp.Sequential { bp.Linear(4, 4), bp.Tanh(), bp.Residual(bp.Linear(4, 4)) }),
      bp.Residual(bp.ReLU()), bp.Linear(4, 2),
    }
    local dir = H.tmpdir()
    net:save(dir .. "/n.bp")
    local loaded = bp.load(dir .. "/n.bp")
    H.rmtree(dir)
    assert.equal(5, #loaded)
    local names = {}
    for i = 1, #loaded do names[i] = tostring(loaded:get(i)):match("^backprop%.(%a+)") end
    assert.same({ "Linear", "ReLU", "Residual", "Residual", "Linear" }, names)
    local res = loaded:get(3)
    assert.equal(tostring(net:get(3)), tostring(res))
    assert.is_true(rawequal(res, loaded:get(3)))         -- made once
    assert.equal(1, #res)
    local body = res:get(1)
    assert.equal("backprop.Sequential {\n  Linear(4 -> 4)\n  Tanh\n  Residual {\n    Linear(4 -> 4)\n  }\n}",
                 tostring(body))
    assert.equal(3, #body)
    assert.equal(1, #body:get(3))
    -- views of the loaded network
    local x = bp.randn(2, 3)
    same(loaded:forward(x), net:forward(x), "loaded output")
    same(res:forward(loaded:get(2):forward(loaded:get(1):forward(x))),
         net:get(3):forward(net:get(2):forward(net:get(1):forward(x))), "through the children")
    body:get(1):parameters()[1]:fill(0)
    assert.same(flat(body:get(1):parameters()[1]), flat(loaded:parameters()[3]))
    assert.are_not.same(flat(loaded:forward(x)), flat(net:forward(x)))
  end)

  it("train() and eval() set the children's modes too", function()
    local d = bp.Dropout(0.5)
    local net = bp.Sequential { bp.Linear(2, 2), d }
    net:eval()
    assert.is_false(d:is_training())
    net:train()
    assert.is_true(d:is_training())
    local loaded_child
    do
      local dir = H.tmpdir()
      net:save(dir .. "/d.bp")
      local loaded = bp.load(dir .. "/d.bp")
      H.rmtree(dir)
      loaded:eval()
      loaded_child = loaded:get(2)               -- made after eval: eval too
      assert.is_false(loaded_child:is_training())
      loaded:train()
      assert.is_true(loaded_child:is_training())
    end
  end)
end)

describe("lazy initialization through children", function()
  it("a child of an unused Residual draws the Residual's weights on first use", function()
    bp.manual_seed(2)
    local l = bp.Linear(3, 3)
    local r = bp.Residual(l)
    l:forward(bp.randn(1, 3))                       -- first use: through the child
    same(l:parameters()[1], r:parameters()[1], "one set of weights")
    local w = flat(r:parameters()[1])
    r:forward(bp.randn(1, 3))                       -- not drawn again
    assert.same(w, flat(r:parameters()[1]))
  end)
end)

describe("closing", function()
  it("a child: the container keeps working", function()
    local l = bp.Linear(3, 2)
    local net = bp.Sequential { l, bp.ReLU() }
    local x = bp.randn(2, 3)
    local y = net:forward(x):clone()
    l:close()
    raises({ "backprop.Linear:forward: the module is closed" }, l.forward, l, x)
    same(net:forward(x), y, "the container's output")
    net:fit(x, bp.randn(2, 2), { loss = bp.MSELoss(), epochs = 2, batch_size = 2, warnings = false,
                                 optimizer = bp.SGD(net) })
  end)

  it("the container: its children keep working on the same values", function()
    local l = bp.Linear(3, 2)
    local x = bp.randn(2, 3)
    local y = H.closing(bp.Sequential { l, bp.ReLU() }, function(net)
      net:parameters()[1]:fill(0.5)
      return net:forward(x):clone()
    end)
    local out = l:forward(x)
    assert.same(flat(y), flat(bp.ReLU():forward(out)))
    assert.same({ 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 }, flat(l:parameters()[1]))
  end)

  it("a collected container: its children keep its buffers alive", function()
    local l = bp.Linear(3, 2)
    do
      local net = bp.Sequential { l, bp.Tanh() }
      net:parameters()[2]:fill(1)
    end
    collectgarbage()
    collectgarbage()
    assert.same({ 1, 1 }, flat(l:parameters()[2]))
    l:forward(bp.randn(2, 3))
  end)
end)
