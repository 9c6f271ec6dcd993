-- net:forward with plain Lua tables: the per-frame path of a game.
local bp = require("backprop")
local H = require("helper")

local function game_net()
  bp.manual_seed(3)
  return bp.Sequential{bp.Linear(16, 32), bp.Tanh(), bp.Linear(32, 32),
                       bp.Tanh(), bp.Linear(32, 4)}
end

local function input()
  local x = {}
  for i = 1, 16 do x[i] = math.sin(i) end
  return x
end

describe("net:forward with a table", function()
  it("gives the same numbers as a tensor input", function()
    local net, x = game_net(), input()
    local y = net:forward(x)
    local ref = net:forward(bp.tensor(x))
    assert.equal(4, #y)
    for i = 1, 4 do assert.equal(ref:get(i), y[i]) end
  end)

  it("fills and returns the out table, keeping nothing else in it", function()
    local net, x, out = game_net(), input(), {}
    local r = net:forward(x, out)
    assert.equal(out, r)
    local first = {H.unpack(out)}
    x[1] = x[1] + 1
    net:forward(x, out)
    assert.equal(4, #out)
    assert.are_not.same(first, out)
  end)

  it("creates no garbage once warm", function()
    local net, x, out = game_net(), input(), {}
    -- Warm: the loop ran once (LuaJIT allocates its compiled trace then).
    local function frames() for _ = 1, 2000 do net:forward(x, out) end end
    frames()
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    frames()
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    assert.is_true(grown < 1, "grew by " .. grown .. " KB")
  end)

  it("follows bp.set_num_threads changes made after the network was built", function()
    local net, x = game_net(), input()
    local a = net:forward(x)
    bp.set_num_threads(2)
    local b = net:forward(x)
    bp.set_num_threads(1)
    local c = net:forward(x)
    assert.same(a, b)
    assert.same(a, c)
  end)

  it("works for a lone layer and after the input width changes", function()
    local lin = bp.Linear(3, 2)
    local y = lin:forward({1, 2, 3})
    assert.equal(2, #y)
    local seq = bp.Sequential{bp.ReLU()}
    assert.same({0, 2}, seq:forward({-1, 2}))
    assert.same({0, 2, 0}, seq:forward({-1, 2, -3}))
  end)

  it("rejects bad tables by name and stays usable", function()
    local net, x = game_net(), input()
    local ok, err = pcall(net.forward, net, {})
    assert.is_false(ok)
    assert.matches("backprop.Sequential:forward: input is an empty table", err, 1, true)
    x[5] = "abc"
    ok, err = pcall(net.forward, net, x)
    assert.is_false(ok)
    assert.matches("input[5] must be a number, got string", err, 1, true)
    x[5] = 0 / 0
    ok, err = pcall(net.forward, net, x)
    assert.matches("input[5] must be finite, got ", err, 1, true)
    x[5] = 1
    ok, err = pcall(net.forward, net, {1, 2, 3})
    assert.is_false(ok)
    assert.matches("16 features, got 3", err, 1, true)
    ok, err = pcall(net.forward, net, x, 7)
    assert.matches("out must be a table when the input is a table, got number", err, 1, true)
    assert.equal(4, #net:forward(x))
  end)

  it("rejects networks whose output is not one vector", function()
    local net = bp.Sequential{bp.Linear(4, 8), bp.Identity()}
    assert.equal(8, #net:forward({1, 2, 3, 4}))
    local emb = bp.Embedding(5, 3)
    local ok, err = pcall(emb.forward, emb, {1, 2})
    assert.is_false(ok)
    assert.matches("one vector", err, 1, true)
  end)
end)
