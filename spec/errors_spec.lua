-- Misuse: every public function, given wrong types, wrong shapes, NaN,
-- empty tensors or damaged files, raises a Lua error that names the
-- function, the argument and what was expected; the process survives and
-- the objects involved stay usable.

local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua
local err_of, raises, raises_match = H.err_of, H.raises, H.raises_match
local tmpdir, rmtree, exists, read, write = H.tmpdir, H.rmtree, H.exists, H.read, H.write

-- Deep copy of a network's weights, as nested Lua tables.
local function weights(net)
  local ps = net:parameters()
  local out = {}
  for i, p in ipairs(ps) do out[i] = p:totable() end
  return out
end

local function small_net()
  return bp.Sequential({ bp.Linear(3, 4), bp.ReLU(), bp.Linear(4, 2) })
end

--------------------------------------------------------------------------
describe("tensor construction errors", function()
  it("bp.tensor rejects a non-table", function()
    raises({ "backprop.tensor:", "data must be a (nested) table of numbers", "got number" },
           bp.tensor, 5)
    raises({ "backprop.tensor:", "got string" }, bp.tensor, "1,2")
    raises({ "backprop.tensor:", "got nil" }, bp.tensor, nil)
  end)

  it("bp.tensor rejects ragged rows and names the row", function()
    raises({ "backprop.tensor:", "element [2] has 1 entries, expected 2", "same length" },
           bp.tensor, { { 1, 2 }, { 3 } })
    raises({ "backprop.tensor:", "element [3] has 3 entries, expected 2" },
           bp.tensor, { { 1, 2 }, { 3, 4 }, { 5, 6, 7 } })
    raises({ "backprop.tensor:", "element [2] is a number, expected a table" },
           bp.tensor, { { 1, 2 }, 3 })
    raises({ "backprop.tensor:", "element [2] is a table, expected a number" },
           bp.tensor, { 1, { 2 } })
    raises({ "backprop.tensor:", "element [1][2] has 1 entries, expected 2" },
           bp.tensor, { { { 1, 2 }, { 3 } } })
  end)

  it("bp.tensor rejects a non-number element and says where", function()
    raises({ "backprop.tensor:", "element [2] is a string, expected a number" },
           bp.tensor, { 1, "a" })
    raises({ "backprop.tensor:", "element [2][1] is a boolean, expected a number" },
           bp.tensor, { { 1, 2 }, { true, 3 } })
  end)

  it("bp.tensor rejects empty tables", function()
    raises({ "backprop.tensor:", "empty table at nesting level 1", "not supported" },
           bp.tensor, {})
    raises({ "backprop.tensor:", "empty table at nesting level 2" }, bp.tensor, { {} })
  end)

  it("bp.tensor rejects more nesting than tensors have dimensions", function()
    local deep = { 1 }
    for _ = 1, 9 do deep = { deep } end
    raises({ "backprop.tensor:", "more than 8 levels of nesting" }, bp.tensor, deep)
  end)

  for _, name in ipairs({ "zeros", "ones", "randn", "rand" }) do
    it("bp." .. name .. " rejects bad sizes", function()
      local f, fn = bp[name], "backprop." .. name .. ":"
      raises({ fn, "size must be a positive integer, got 0" }, f, 0)
      raises({ fn, "size must be a positive integer, got -1" }, f, -1)
      raises({ fn, "size must be a positive integer, got 2.5" }, f, 2.5)
      raises_match("^backprop%." .. name .. ": size must be a positive integer, got %-?nan$",
                   f, 0 / 0)
      raises({ fn, "size must be a positive integer, got inf" }, f, math.huge)
      raises({ fn, "size must be a positive integer, got string" }, f, "3")
      raises({ fn, "size must be a positive integer, got 0" }, f, 2, 0)
      raises({ fn, "size must be a positive integer, got 0" }, f, { 3, 0 })
      raises({ fn, "expected 1 to 8 sizes, got 9" }, f, 1, 1, 1, 1, 1, 1, 1, 1, 1)
      raises({ fn, "expected 1 to 8 sizes, got 9" }, f, { 1, 1, 1, 1, 1, 1, 1, 1, 1 })
      raises({ fn, "expected 1 to 8 sizes, got 0" }, f)
      raises({ fn, "expected 1 to 8 sizes, got 0" }, f, {})
    end)
  end

  it("bp.zeros rejects a tensor too large to address", function()
    raises({ "backprop.zeros:", "too large" }, bp.zeros, 2 ^ 40, 2 ^ 40)
  end)

  it("bp.randperm and bp.manual_seed reject bad arguments", function()
    raises({ "backprop.randperm:", "n must be a positive integer, got 0" }, bp.randperm, 0)
    raises({ "backprop.randperm:", "n must be a positive integer, got string" }, bp.randperm, "5")
    raises({ "backprop.randperm:", "seed must be an integer, got 1.5" }, bp.randperm, 5, 1.5)
    raises({ "backprop.randperm:", "seed must be an integer, got string" }, bp.randperm, 5, "x")
    raises({ "backprop.manual_seed:", "seed must be an integer, got string" }, bp.manual_seed, "x")
    raises({ "backprop.manual_seed:", "seed must be an integer, got 1.5" }, bp.manual_seed, 1.5)
    raises({ "backprop.manual_seed:", "seed must be an integer, got no value" }, bp.manual_seed)
    raises({ "backprop.manual_seed:", "seed must be an integer, got inf" }, bp.manual_seed, math.huge)
    -- an integral float beyond the integer range (casting it would be UB)
    raises({ "backprop.manual_seed:", "seed must be an integer, got 9.2233720368548e+18" },
           bp.manual_seed, 2 ^ 63)
  end)
end)

--------------------------------------------------------------------------
describe("tensor method errors", function()
  local t
  before_each(function()
    t = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
  end)

  it("get rejects out-of-range, missing and non-integer indices", function()
    raises({ "backprop.Tensor:get:", "index 1 is 3, out of range 1..2" }, t.get, t, 3, 1)
    raises({ "backprop.Tensor:get:", "index 2 is 4, out of range 1..3" }, t.get, t, 1, 4)
    raises({ "backprop.Tensor:get:", "index must be a positive integer, got 0" }, t.get, t, 0, 1)
    raises({ "backprop.Tensor:get:", "expected 2 indices for a 2-D tensor, got 1" }, t.get, t, 1)
    raises({ "backprop.Tensor:get:", "expected 2 indices for a 2-D tensor, got 3" },
           t.get, t, 1, 1, 1)
    raises({ "backprop.Tensor:get:", "index must be a positive integer, got 1.5" },
           t.get, t, 1.5, 1)
    raises({ "backprop.Tensor:get:", "index must be a positive integer, got string" },
           t.get, t, "1", 1)
    raises({ "backprop.Tensor:get:", "expected 1 index for a 1-D tensor, got 0" },
           bp.zeros(3).get, bp.zeros(3))
  end)

  it("set rejects bad indices and values, and changes nothing", function()
    raises({ "backprop.Tensor:set:", "index 1 is 3, out of range 1..2" }, t.set, t, 3, 1, 0)
    raises({ "backprop.Tensor:set:", "expected 2 indices for a 2-D tensor, got 1" },
           t.set, t, 1, 5)
    raises({ "backprop.Tensor:set:", "expected indices then a number value, got string last" },
           t.set, t, 1, 1, "x")
    raises({ "backprop.Tensor:set:", "expected indices then a number value, got nil last" },
           t.set, t, 1, 1, nil)
    raises({ "backprop.Tensor:set:", "index must be a positive integer, got 0.5" },
           t.set, t, 0.5, 1, 9)
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
  end)

  it("arithmetic rejects shapes that cannot be broadcast, naming both", function()
    local u = bp.zeros(3, 2)
    raises({ "backprop.Tensor:add:", "shapes 2x3 and 3x2 cannot be broadcast" }, function() return t + u end)
    raises({ "backprop.Tensor:sub:", "shapes 2x3 and 3x2 cannot be broadcast" }, function() return t - u end)
    raises({ "backprop.Tensor:mul:", "shapes 2x3 and 3x2 cannot be broadcast" }, function() return t * u end)
    raises({ "backprop.Tensor:div:", "shapes 2x3 and 3x2 cannot be broadcast" }, function() return t / u end)
    raises({ "backprop.Tensor:add:", "shapes 2x3 and 6 cannot be broadcast" }, t.add, t, bp.zeros(6))
    raises({ "backprop.Tensor:mul:", "shapes 2x3 and 2x3x1 cannot be broadcast" },
           t.mul, t, bp.zeros(2, 3, 1))
  end)

  it("arithmetic rejects non-tensors on either side", function()
    raises({ "backprop.Tensor:add:", "right must be a backprop.Tensor, got string" },
           function() return t + "x" end)
    raises({ "backprop.Tensor:add:", "right must be a backprop.Tensor, got table" },
           function() return t + {} end)
    raises({ "backprop.Tensor:sub:", "left must be a backprop.Tensor, got string" },
           function() return "x" - t end)
    raises({ "backprop.Tensor:mul:", "right must be a backprop.Tensor, got boolean" },
           function() return t * true end)
    raises({ "backprop.Tensor:div:", "right must be a backprop.Tensor, got backprop.Module" },
           function() return t / bp.ReLU() end)
    raises({ "backprop.Tensor:add:", "right must be a backprop.Tensor, got no value" }, t.add, t)
    raises({ "backprop.Tensor:add:", "expected at least one backprop.Tensor" }, t.add, 1, 2)
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
  end)

  it("matmul rejects inner-size mismatches and 3-D operands", function()
    raises({ "backprop.Tensor:matmul:", "cannot multiply 2x3 by 2x3 (inner sizes 3 and 2 differ)" },
           t.matmul, t, bp.zeros(2, 3))
    raises({ "backprop.Tensor:matmul:", "cannot multiply 2 by 3 (inner sizes 2 and 3 differ)" },
           bp.zeros(2).matmul, bp.zeros(2), bp.zeros(3))
    raises({ "backprop.Tensor:matmul:", "expected 1-D or 2-D tensors, got 2x3 and 3x2x2" },
           t.matmul, t, bp.zeros(3, 2, 2))
    raises({ "backprop.Tensor:matmul:", "expected 1-D or 2-D tensors, got 2x2x2 and 2" },
           bp.zeros(2, 2, 2).matmul, bp.zeros(2, 2, 2), bp.zeros(2))
    raises({ "backprop.Tensor:matmul:", "other must be a backprop.Tensor, got number" },
           t.matmul, t, 2)
  end)

  it("reshape rejects a wrong element count", function()
    raises({ "backprop.Tensor:reshape:", "cannot reshape 2x3 (6 elements) to 4 (4 elements)" },
           t.reshape, t, 4)
    raises({ "backprop.Tensor:reshape:", "cannot reshape 2x3 (6 elements) to 2x2x2 (8 elements)" },
           t.reshape, t, { 2, 2, 2 })
    raises({ "backprop.Tensor:reshape:", "cannot infer the size for -1: 6 elements do not divide by 4" },
           t.reshape, t, -1, 4)
    raises({ "backprop.Tensor:reshape:", "only one size can be -1" }, t.reshape, t, -1, -1)
    raises({ "backprop.Tensor:reshape:", "size must be a positive integer, got 0" }, t.reshape, t, 0, 6)
    raises({ "backprop.Tensor:reshape:", "size must be a positive integer, got -2" }, t.reshape, t, -2, -3)
    raises({ "backprop.Tensor:reshape:", "expected 1 to 8 sizes, got 0" }, t.reshape, t)
    raises({ "backprop.Tensor:reshape:", "expected 1 to 8 sizes, got 0" }, t.reshape, t, {})
  end)

  it("reshape rejects a long size table without overflowing the Lua stack", function()
    local long = {}
    for i = 1, 5000 do long[i] = 1 end
    for _ = 1, 20 do
      raises({ "backprop.Tensor:reshape:", "expected 1 to 8 sizes, got 5000" }, t.reshape, t, long)
    end
    collectgarbage()
    assert.same({ 3, 2 }, t:reshape(3, 2):shape())
  end)

  it("sum, mean and argmax reject bad dimensions", function()
    raises({ "backprop.Tensor:argmax:", "dim is 3, but the tensor has 2 dimensions" }, t.argmax, t, 3)
    raises({ "backprop.Tensor:sum:", "dim must be a positive integer, got 0" }, t.sum, t, 0)
    raises({ "backprop.Tensor:sum:", "dim is 3, but the tensor has 2 dimensions" }, t.sum, t, 3)
    raises({ "backprop.Tensor:mean:", "dim must be a positive integer, got string" }, t.mean, t, "x")
    raises({ "backprop.Tensor:mean:", "dim must be a positive integer, got 1.5" }, t.mean, t, 1.5)
    local v = bp.zeros(3)
    raises({ "backprop.Tensor:sum:", "dim is 2, but the tensor has 1 dimension" }, v.sum, v, 2)
    raises({ "backprop.Tensor:argmax:", "dim is 2, but the tensor has 1 dimension" }, v.argmax, v, 2)
  end)

  it("copy rejects a source of another shape, and changes nothing", function()
    raises({ "backprop.Tensor:copy:", "shapes 2x3 and 3x2 do not match" }, t.copy, t, bp.ones(3, 2))
    raises({ "backprop.Tensor:copy:", "source must be a backprop.Tensor, got table" },
           t.copy, t, { { 1, 2, 3 }, { 4, 5, 6 } })
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
  end)

  it("index rejects bad ids and bad dimensions", function()
    raises({ "backprop.Tensor:index:", "ids: entry 1 is not an index in 1..2" }, t.index, t, 1, { 3 })
    raises({ "backprop.Tensor:index:", "ids: entry 2 is not an index in 1..2" }, t.index, t, 1, { 1, 0 })
    raises({ "backprop.Tensor:index:", "ids: entry 1 is not an index in 1..3" }, t.index, t, 2, { 1.5 })
    raises({ "backprop.Tensor:index:", "ids: entry 1 is not an index in 1..3" }, t.index, t, 2, { 0 / 0 })
    raises({ "backprop.Tensor:index:", "ids: entry 1 is not an index in 1..2" }, t.index, t, 1, { "1" })
    raises({ "backprop.Tensor:index:", "ids is empty" }, t.index, t, 1, {})
    raises({ "backprop.Tensor:index:", "ids must be a table or backprop.Tensor of indices, got string" },
           t.index, t, 1, "1")
    raises({ "backprop.Tensor:index:", "ids must be a 1-D tensor of indices" },
           t.index, t, 1, bp.ones(1, 1))
    raises({ "backprop.Tensor:index:", "dim is 3, but the tensor has 2 dimensions" }, t.index, t, 3, { 1 })
    raises({ "backprop.Tensor:index:", "dim must be a positive integer, got nil" }, t.index, t, nil, { 1 })
  end)

  it("fill and t reject bad input", function()
    raises({ "backprop.Tensor:fill:", "value must be a number, got string" }, t.fill, t, "1")
    raises({ "backprop.Tensor:fill:", "value must be a number, got no value" }, t.fill, t)
    raises({ "backprop.Tensor:t:", "expected a 1-D or 2-D tensor, got shape 2x2x2" },
           bp.zeros(2, 2, 2).t, bp.zeros(2, 2, 2))
  end)

  it("extra or wrong-typed arguments are errors, not ignored (issue 10)", function()
    local u = bp.ones(2, 3)
    raises({ "backprop.Tensor:add:", "takes at most 1 argument, got 2" }, t.add, t, u, u)
    raises({ "backprop.Tensor:mul:", "takes at most 1 argument, got 2" }, t.mul, t, 2, 3)
    raises({ "backprop.Tensor:max:", "keepdim must be a boolean, got string" }, t.max, t, 1, "x")
    raises({ "backprop.Tensor:sum:", "keepdim must be a boolean, got number" }, t.sum, t, 1, 1)
    raises({ "backprop.Tensor:sum:", "keepdim is given without a dim" }, t.sum, t, nil, true)
    raises({ "backprop.Tensor:argmax:", "takes at most 2 arguments, got 3" }, t.argmax, t, 1, true, 1)
    raises({ "backprop.Tensor:exp:", "takes no arguments, got 1" }, t.exp, t, 2)
    raises({ "backprop.Tensor:clone:", "takes no arguments, got 1" }, t.clone, t, t)
    raises({ "backprop.Tensor:shape:", "takes no arguments, got 1" }, t.shape, t, 1)
    raises({ "backprop.Tensor:float:", "takes no arguments, got 1" }, t.float, t, "uint8")
    raises({ "backprop.Tensor:copy:", "takes at most 1 argument, got 2" }, t.copy, t, u, u)
    raises({ "backprop.Tensor:fill:", "takes at most 1 argument, got 2" }, t.fill, t, 1, 2)
    raises({ "backprop.Tensor:clamp:", "takes at most 2 arguments, got 3" }, t.clamp, t, 0, 1, 2)
    raises({ "backprop.Tensor:matmul:", "takes at most 1 argument, got 2" }, t.matmul, t, u:t(), u)
    raises({ "backprop.Tensor:narrow:", "takes at most 3 arguments, got 4" }, t.narrow, t, 1, 1, 1, 1)
    raises({ "backprop.Tensor:select:", "takes at most 2 arguments, got 3" }, t.select, t, 1, 1, 1)
    raises({ "backprop.Tensor:index:", "takes at most 2 arguments, got 3" }, t.index, t, 1, { 1 }, 1)
    raises({ "backprop.Tensor:reshape:", "takes at most 1 argument, got 2" }, t.reshape, t, { 6 }, 1)
    raises({ "backprop.cat:", "takes at most 2 arguments, got 3" }, bp.cat, { u, u }, 1, 2)
    raises({ "backprop.stack:", "takes at most 2 arguments, got 3" }, bp.stack, { u, u }, 1, 2)
    raises({ "backprop.randperm:", "takes at most 2 arguments, got 3" }, bp.randperm, 3, 1, 1)
    raises({ "backprop.linspace:", "takes at most 3 arguments, got 4" }, bp.linspace, 0, 1, 3, 4)
    raises({ "backprop.one_hot:", "takes at most 2 arguments, got 3" }, bp.one_hot, { 1 }, 2, 3)
    raises({ "backprop.tensor:", "takes at most 2 arguments, got 3" }, bp.tensor, { 1 }, "float32", 1)
    raises({ "backprop.zeros:", "expected the sizes as numbers or one table, got a table then number" },
           bp.zeros, { 2, 2 }, 3)
    -- a trailing nil is no argument; operators are unaffected
    assert.equal(27, t:add(u, nil):sum())
    assert.equal(27, (t + u):sum())
    assert.equal(-6, (-u):sum())
  end)

  it("tables with holes or other keys are errors, not cut short (issue 10)", function()
    raises({ "backprop.tensor:", "data is not a list: it has 2 keys but its length is" },
           bp.tensor, { [1] = 1, [3] = 3 })
    raises({ "backprop.tensor:", "element [2] is not a list: it has 3 keys but its length is 2" },
           bp.tensor, { { 1, 2 }, { 3, 4, x = 5 } })
    raises({ "backprop.Tensor:index:", "ids is not a list" }, t.index, t, 1, { [1] = 1, [3] = 2 })
    raises({ "backprop.one_hot:", "labels is not a list" }, bp.one_hot, { 1, 2, n = 2 })
    raises({ "backprop.cat:", "tensors is not a list" }, bp.cat, { t, [3] = t })
    raises({ "backprop.zeros:", "sizes is not a list" }, bp.zeros, { 2, [3] = 2 })
  end)

  it("methods reject a self that is not a tensor", function()
    raises({ "backprop.Tensor:shape:", "self must be a backprop.Tensor, got table" }, t.shape, {})
    raises({ "backprop.Tensor:sum:", "self must be a backprop.Tensor, got number" }, t.sum, 3)
    raises({ "backprop.Tensor:clone:", "self must be a backprop.Tensor, got backprop.Module" },
           t.clone, bp.ReLU())
  end)
end)

--------------------------------------------------------------------------
describe("layer constructor errors", function()
  it("Linear checks both sizes", function()
    raises({ "backprop.Linear:", "in_features must be a positive integer, got 0" }, bp.Linear, 0, 3)
    raises({ "backprop.Linear:", "out_features must be a positive integer, got -2" }, bp.Linear, 3, -2)
    raises({ "backprop.Linear:", "out_features must be a positive integer, got no value" }, bp.Linear, 3)
    raises({ "backprop.Linear:", "in_features must be a positive integer, got string" }, bp.Linear, "a", 3)
    raises({ "backprop.Linear:", "in_features must be a positive integer, got 2.5" }, bp.Linear, 2.5, 3)
    raises_match("^backprop%.Linear: out_features must be a positive integer, got %-?nan$",
                 bp.Linear, 3, 0 / 0)
    raises({ "backprop.Linear:", "too large" }, bp.Linear, 2 ^ 20, 2 ^ 20)
  end)

  it("LeakyReLU checks its slope", function()
    raises({ "backprop.LeakyReLU:", "negative_slope must be a number, got string" }, bp.LeakyReLU, "x")
    raises_match("^backprop%.LeakyReLU: negative_slope must be a finite number, got %-?nan$",
                 bp.LeakyReLU, 0 / 0)
    raises({ "backprop.LeakyReLU:", "negative_slope must be a finite number, got inf" },
           bp.LeakyReLU, math.huge)
  end)

  for _, name in ipairs({ "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax" }) do
    it(name .. " takes no arguments", function()
      raises({ "backprop." .. name .. ":", "takes no arguments" }, bp[name], 3)
      raises({ "backprop." .. name .. ":", "takes no arguments" }, bp[name], {})
    end)
  end

  it("Sequential needs layers that are modules and fit together", function()
    raises({ "backprop.Sequential:", "needs at least one layer" }, bp.Sequential)
    raises({ "backprop.Sequential:", "needs at least one layer" }, bp.Sequential, {})
    raises({ "backprop.Sequential:", "layer 2 must be a backprop.Module, got number" },
           bp.Sequential, { bp.Linear(2, 3), 5 })
    raises({ "backprop.Sequential:", "layer 1 must be a backprop.Module, got backprop.Tensor" },
           bp.Sequential, { bp.zeros(2) })
    raises({ "backprop.Sequential:", "layer 2 must be a backprop.Module, got string" },
           bp.Sequential, bp.ReLU(), "Linear")
    raises({ "backprop.Sequential:",
             "layer 3 (Linear) expects 4 input features, but the layer before it gives 3" },
           bp.Sequential, { bp.Linear(2, 3), bp.ReLU(), bp.Linear(4, 1) })
    -- the count is over the flattened layers of nested Sequentials
    local inner = bp.Sequential({ bp.Linear(2, 5), bp.Tanh() })
    raises({ "backprop.Sequential:", "layer 3 (Linear) expects 4 input features, but the layer before it gives 5" },
           bp.Sequential, { inner, bp.Linear(4, 1) })
  end)
end)

--------------------------------------------------------------------------
describe("forward errors", function()
  local net, x, y0
  before_each(function()
    bp.manual_seed(7)
    net = bp.Sequential({ bp.Linear(30, 16), bp.ReLU(), bp.Linear(16, 1), bp.Sigmoid() })
    x = bp.randn(8, 30)
    y0 = net:forward(x):totable()
  end)

  -- After a failed call the net must give exactly the same output as before.
  local function still_works()
    assert.same(y0, net:forward(x):totable())
  end

  it("rejects a non-tensor input", function()
    raises({ "backprop.Sequential:forward:", "input must be a backprop.Tensor, got number" },
           net.forward, net, 5)
    raises({ "backprop.Sequential:forward:", "input[1] must be a number, got table (a table input is one sample" },
           net.forward, net, { { 1, 2 } })
    raises({ "backprop.Sequential:forward:", "input must be a backprop.Tensor, got no value" },
           net.forward, net)
    still_works()
  end)

  it("names the expected and actual width (lone layer)", function()
    local lin = bp.Linear(30, 2)
    local err = err_of(lin.forward, lin, bp.zeros(8, 29))
    assert.equal("backprop.Linear:forward: expected input with 30 features, got 29 (input shape 8x29)", err)
    raises({ "backprop.Linear:forward:", "expected input with 30 features, got 31 (input shape 31)" },
           lin.forward, lin, bp.zeros(31))
  end)

  it("names the layer that rejects the width (Sequential)", function()
    local err = err_of(net.forward, net, bp.zeros(8, 29))
    assert.equal("backprop.Sequential:forward: layer 1 (Linear) expected input with 30 features, "
                 .. "got 29 (input shape 8x29)", err)
    local n2 = bp.Sequential({ bp.ReLU(), bp.Linear(4, 2) })
    raises({ "backprop.Sequential:forward:", "layer 2 (Linear) expected input with 4 features, got 3",
             "(input shape 5x3)" }, n2.forward, n2, bp.zeros(5, 3))
    still_works()
  end)

  it("rejects a 3-D input", function()
    raises({ "backprop.Sequential:forward:", "expected input of shape N x features",
             "got 2x8x30" }, net.forward, net, bp.zeros(2, 8, 30))
    still_works()
  end)

  it("rejects NaN and infinite inputs, naming the position", function()
    local bad = x:clone()
    bad:set(2, 3, 0 / 0)
    raises_match("^backprop%.Sequential:forward: input contains %-?nan at row 2, element 3 %(shape 8x30%)$",
                 net.forward, net, bad)
    bad:set(2, 3, math.huge)
    raises({ "backprop.Sequential:forward:", "input contains inf at row 2, element 3 (shape 8x30)" },
           net.forward, net, bad)
    bad:set(2, 3, 1)
    bad:set(8, 30, -math.huge)
    raises({ "backprop.Sequential:forward:", "input contains -inf at row 8, element 30 (shape 8x30)" },
           net.forward, net, bad)
    local v = bp.zeros(30)
    v:set(5, 0 / 0)
    raises_match("input contains %-?nan at element 5 %(shape 30%)", net.forward, net, v)
    still_works()
  end)

  it("rejects an out tensor of the wrong shape", function()
    raises({ "backprop.Sequential:forward:", "out has shape 8x2, expected 8x1" },
           net.forward, net, x, bp.zeros(8, 2))
    raises({ "backprop.Sequential:forward:", "out has shape 8, expected 8x1" },
           net.forward, net, x, bp.zeros(8))
    raises({ "backprop.Sequential:forward:", "out must be a backprop.Tensor, got string" },
           net.forward, net, x, "out")
    still_works()
    local out = bp.zeros(8, 1)
    assert.equal(out, net:forward(x, out))
    assert.same(y0, out:totable())
  end)

  it("rejects a self that is not a module", function()
    raises({ "backprop.Module:forward:", "self must be a backprop.Module, got backprop.Tensor" },
           net.forward, x, x)
  end)
end)

--------------------------------------------------------------------------
describe("backward errors", function()
  it("refuses to run before any forward", function()
    local net = small_net()
    raises({ "backprop.Sequential:backward:", "no forward pass to backpropagate (call forward first)" },
           net.backward, net, bp.zeros(5, 2))
    local lin = bp.Linear(3, 2)
    raises({ "backprop.Linear:backward:", "call forward first" }, lin.backward, lin, bp.zeros(1, 2))
  end)

  it("rejects a gradient of the wrong shape, then works", function()
    local net = small_net()
    net:forward(bp.randn(5, 3))
    raises({ "backprop.Sequential:backward:",
             "expected a gradient of shape 5x2 (the last forward's output), got 5x3" },
           net.backward, net, bp.zeros(5, 3))
    raises({ "backprop.Sequential:backward:", "expected a gradient of shape 5x2", "got 4x2" },
           net.backward, net, bp.zeros(4, 2))
    raises({ "backprop.Sequential:backward:", "gradient must be 1-D or 2-D, got shape 5x2x1" },
           net.backward, net, bp.zeros(5, 2, 1))
    raises({ "backprop.Sequential:backward:", "gradient must be a backprop.Tensor, got nil" },
           net.backward, net, nil)
    local g = bp.ones(5, 2)
    g:set(3, 1, 0 / 0)
    raises_match("gradient contains %-?nan at row 3, element 1", net.backward, net, g)
    local dx = net:backward(bp.ones(5, 2))
    assert.same({ 5, 3 }, dx:shape())
  end)
end)

--------------------------------------------------------------------------
describe("train_step errors leave the weights unchanged", function()
  local net, x, opt, w0
  local mse, ce = bp.MSELoss(), bp.CrossEntropyLoss()
  before_each(function()
    bp.manual_seed(11)
    net = small_net()
    x = bp.randn(5, 3)
    opt = bp.SGD(net, { lr = 0.1 })
    w0 = weights(net)
  end)

  local function unchanged()
    assert.same(w0, weights(net))
  end

  it("wrong target shape", function()
    raises({ "backprop.Sequential:train_step:", "expected target of shape 5x2, got 5x3" },
           net.train_step, net, x, bp.zeros(5, 3), mse, opt)
    raises({ "backprop.Sequential:train_step:", "expected target of shape 5x2, got 4x2" },
           net.train_step, net, x, bp.zeros(4, 2), mse, opt)
    raises({ "backprop.Sequential:train_step:", "expected 5 class labels (shape 5 or 5x1), got shape 5x2" },
           net.train_step, net, x, bp.ones(5, 2), ce, opt)
    unchanged()
  end)

  it("NaN in the target", function()
    local y = bp.zeros(5, 2)
    y:set(4, 2, 0 / 0)
    raises_match("train_step: target contains %-?nan at row 4, element 2", net.train_step, net, x, y, mse, opt)
    unchanged()
  end)

  it("cross-entropy labels out of range: 0, C + 1, 1.5", function()
    raises({ "backprop.Sequential:train_step:", "label 3 is 0, expected an integer class in 1..2" },
           net.train_step, net, x, bp.tensor({ 1, 2, 0, 1, 1 }), ce, opt)
    raises({ "backprop.Sequential:train_step:", "label 5 is 3, expected an integer class in 1..2" },
           net.train_step, net, x, bp.tensor({ 1, 2, 1, 1, 3 }), ce, opt)
    raises({ "backprop.Sequential:train_step:", "label 1 is 1.5, expected an integer class in 1..2" },
           net.train_step, net, x, bp.tensor({ { 1.5 }, { 1 }, { 1 }, { 1 }, { 1 } }), ce, opt)
    unchanged()
    -- and good labels do train
    local l = net:train_step(x, bp.tensor({ 1, 2, 2, 1, 1 }), ce, opt)
    assert(l > 0 and l < math.huge)
    assert.are_not.same(w0, weights(net))
  end)

  it("BCE with predictions or targets outside [0, 1]", function()
    -- Linear(3, 1) with all weights 1 and bias 0 predicts 3 for a row of ones
    local lin = bp.Linear(3, 1)
    local p = lin:parameters()
    p[1]:fill(1)
    p[2]:fill(0)
    local o = bp.SGD(lin, { lr = 0.1 })
    local before = weights(lin)
    raises({ "backprop.Linear:train_step:",
             "prediction 1 is 3, expected a probability in [0, 1] (end the network with Sigmoid)" },
           lin.train_step, lin, bp.ones(2, 3), bp.zeros(2, 1), bp.BCELoss(), o)
    assert.same(before, weights(lin))

    local sig = bp.Sequential({ bp.Linear(3, 1), bp.Sigmoid() })
    local so = bp.SGD(sig, { lr = 0.1 })
    local sw = weights(sig)
    raises({ "backprop.Sequential:train_step:", "target 1 is 2, expected a value in [0, 1]" },
           sig.train_step, sig, bp.ones(2, 3), bp.tensor({ { 2 }, { 0 } }), bp.BCELoss(), so)
    raises({ "backprop.Sequential:train_step:", "target 2 is -1, expected a value in [0, 1]" },
           sig.train_step, sig, bp.ones(2, 3), bp.tensor({ { 1 }, { -1 } }), bp.BCELoss(), so)
    assert.same(sw, weights(sig))
  end)

  it("an optimizer built for another network", function()
    local other = small_net()
    local o2 = bp.SGD(other, { lr = 0.1 })
    local ow = weights(other)
    raises({ "backprop.Sequential:train_step:", "the optimizer was made for another network" },
           net.train_step, net, x, bp.zeros(5, 2), mse, o2)
    unchanged()
    assert.same(ow, weights(other))
  end)

  it("wrong argument types", function()
    raises({ "backprop.Sequential:train_step:", "loss must be a backprop.Loss, got table" },
           net.train_step, net, x, bp.zeros(5, 2), {}, opt)
    raises({ "backprop.Sequential:train_step:", "optimizer must be a backprop.Optimizer, got backprop.Loss" },
           net.train_step, net, x, bp.zeros(5, 2), mse, mse)
    raises({ "backprop.Sequential:train_step:", "target must be a backprop.Tensor, got nil" },
           net.train_step, net, x, nil, mse, opt)
    raises({ "backprop.Sequential:train_step:", "layer 1 (Linear) expected input with 3 features, got 4" },
           net.train_step, net, bp.zeros(5, 4), bp.zeros(5, 2), mse, opt)
    unchanged()
  end)

  it("a diverging loss: clear error, and that step does not update", function()
    -- Linear(1, 1), w = 0.5, b = 0, x = 4, y = 0, lr = 1e37, MSE.
    -- Step 1: prediction 2, loss 4; dL/dw = 2 * 2 * 4 = 16, dL/db = 4, so
    --   w = 0.5 - 1.6e38 = -1.6e38 and b = -4e37 (still finite in float32).
    -- Step 2: prediction 4 * -1.6e38 - 4e37 overflows float32: the loss is inf.
    local lin = bp.Linear(1, 1)
    local p = lin:parameters()
    p[1]:set(1, 1, 0.5)
    p[2]:set(1, 0)
    local o = bp.SGD(lin, { lr = 1e37 })
    local xx, yy = bp.tensor({ { 4 } }), bp.tensor({ { 0 } })
    assert.equal(4, lin:train_step(xx, yy, bp.MSELoss(), o))
    local w1, b1 = p[1]:get(1, 1), p[2]:get(1)
    assert(math.abs(w1 / -1.6e38 - 1) < 1e-6, "w after step 1: " .. w1)
    assert(math.abs(b1 / -4e37 - 1) < 1e-6, "b after step 1: " .. b1)
    raises({ "backprop.Linear:train_step:", "the loss is inf: training diverged (try a lower learning rate)" },
           lin.train_step, lin, xx, yy, bp.MSELoss(), o)
    assert.equal(w1, p[1]:get(1, 1))
    assert.equal(b1, p[2]:get(1))
    assert.equal(1, o.steps)
  end)
end)

--------------------------------------------------------------------------
describe("loss errors", function()
  it("MSELoss rejects mismatched shapes and NaN", function()
    local mse = bp.MSELoss()
    raises({ "backprop.MSELoss:forward:", "expected target of shape 3x2, got 3x3" },
           mse.forward, mse, bp.zeros(3, 2), bp.zeros(3, 3))
    raises({ "backprop.MSELoss:forward:", "expected target of shape 3x1 (or a vector), got 2" },
           mse.forward, mse, bp.zeros(3, 1), bp.zeros(2))
    local p = bp.zeros(3, 2)
    p:set(1, 1, 0 / 0)
    raises_match("^backprop%.MSELoss:forward: prediction contains %-?nan at row 1, element 1 %(shape 3x2%)$",
                 mse.forward, mse, p, bp.zeros(3, 2))
    local y = bp.zeros(3, 2)
    y:set(3, 2, math.huge)
    raises({ "backprop.MSELoss:forward:", "target contains inf at row 3, element 2" },
           mse.forward, mse, bp.zeros(3, 2), y)
    raises({ "backprop.MSELoss:forward:", "prediction must be N x C", "got shape 2x2x2" },
           mse.forward, mse, bp.zeros(2, 2, 2), bp.zeros(2, 2, 2))
    raises({ "backprop.MSELoss:forward:", "prediction must be a backprop.Tensor, got number" },
           mse.forward, mse, 1, bp.zeros(1))
    raises({ "backprop.MSELoss:forward:", "target must be a backprop.Tensor, got table" },
           mse.forward, mse, bp.zeros(1), { 1 })
  end)

  it("CrossEntropyLoss rejects bad label shapes and values", function()
    local ce = bp.CrossEntropyLoss()
    raises({ "backprop.CrossEntropyLoss:forward:", "expected 3 class labels (shape 3 or 3x1), got shape 3x2" },
           ce.forward, ce, bp.zeros(3, 2), bp.zeros(3, 2))
    raises({ "backprop.CrossEntropyLoss:forward:", "label 2 is 4, expected an integer class in 1..3" },
           ce.forward, ce, bp.zeros(2, 3), bp.tensor({ 1, 4 }))
    raises_match("label 1 is %-?nan, expected an integer class in 1%.%.3",
                 ce.forward, ce, bp.zeros(2, 3), bp.tensor({ 0 / 0, 1 }))
  end)

  it("BCELoss rejects values outside [0, 1]", function()
    local bce = bp.BCELoss()
    raises({ "backprop.BCELoss:forward:", "prediction 1 is 2, expected a probability in [0, 1]" },
           bce.forward, bce, bp.ones(3, 1) * 2, bp.zeros(3, 1))
    raises({ "backprop.BCELoss:forward:", "target 2 is 1.5, expected a value in [0, 1]" },
           bce.forward, bce, bp.ones(2, 1) * 0.5, bp.tensor({ { 0 }, { 1.5 } }))
  end)

  it("backward before forward", function()
    for _, name in ipairs({ "MSELoss", "BCELoss", "CrossEntropyLoss" }) do
      local l = bp[name]()
      raises({ "backprop." .. name .. ":backward:", "no gradient yet (call forward first)" }, l.backward, l)
    end
  end)

  it("a loss whose forward failed on bad values has no gradient", function()
    local ce = bp.CrossEntropyLoss()
    ce:forward(bp.zeros(2, 3), bp.tensor({ 1, 2 }))
    assert.same({ 2, 3 }, ce:backward():shape())
    raises("label 1 is 7", ce.forward, ce, bp.zeros(2, 3), bp.tensor({ 7, 2 }))
    raises("call forward first", ce.backward, ce)
  end)

  it("loss constructors reject unknown options", function()
    raises({ "backprop.MSELoss:", "unknown option 'reductio'", "expected one of: reduction" },
           bp.MSELoss, { reductio = "sum" })
    raises({ "backprop.BCELoss:", "options must be a table, got number" }, bp.BCELoss, 5)
  end)
end)

--------------------------------------------------------------------------
describe("optimizer errors", function()
  local net
  before_each(function() net = small_net() end)

  it("unknown options are named, with the valid ones", function()
    raises({ "backprop.SGD:", "unknown option 'learning_rate'",
             "(expected one of: lr, momentum, dampening, weight_decay, nesterov)" },
           bp.SGD, net, { learning_rate = 0.1 })
    raises({ "backprop.Adam:", "unknown option 'beta'", "(expected one of: lr, betas, eps, weight_decay, amsgrad)" },
           bp.Adam, net, { lr = 0.01, beta = { 0.9, 0.99 } })
    raises({ "backprop.SGD:", "unknown option '1'" }, bp.SGD, net, { 0.1 })
  end)

  it("lr must be a finite number >= 0", function()
    raises({ "backprop.SGD:", "lr must be >= 0, got -1" }, bp.SGD, net, { lr = -1 })
    raises({ "backprop.Adam:", "lr must be >= 0, got -0.5" }, bp.Adam, net, { lr = -0.5 })
    raises_match("^backprop%.SGD: lr must be a finite number, got %-?nan$", bp.SGD, net, { lr = 0 / 0 })
    raises({ "backprop.Adam:", "lr must be a finite number, got inf" }, bp.Adam, net, { lr = math.huge })
    raises({ "backprop.SGD:", "lr must be a number, got string" }, bp.SGD, net, { lr = "0.1" })
  end)

  it("SGD checks momentum, dampening, weight decay and nesterov", function()
    raises({ "backprop.SGD:", "nesterov needs momentum > 0 and dampening = 0" },
           bp.SGD, net, { lr = 0.1, nesterov = true })
    raises({ "backprop.SGD:", "nesterov needs momentum > 0 and dampening = 0" },
           bp.SGD, net, { lr = 0.1, nesterov = true, momentum = 0.9, dampening = 0.1 })
    raises({ "backprop.SGD:", "nesterov must be a boolean, got string" },
           bp.SGD, net, { lr = 0.1, momentum = 0.9, nesterov = "yes" })
    raises({ "backprop.SGD:", "momentum must be >= 0, got -0.9" }, bp.SGD, net, { momentum = -0.9 })
    raises({ "backprop.SGD:", "dampening must be in [0, 1], got 2" }, bp.SGD, net, { dampening = 2 })
    raises({ "backprop.SGD:", "weight_decay must be >= 0, got -1" }, bp.SGD, net, { weight_decay = -1 })
  end)

  it("Adam checks betas and eps", function()
    raises({ "backprop.Adam:", "betas must be a table of two numbers" }, bp.Adam, net, { betas = { 0.9 } })
    raises({ "backprop.Adam:", "betas must be a table of two numbers" }, bp.Adam, net, { betas = 0.9 })
    raises({ "backprop.Adam:", "beta1 must be in [0, 1), got 1.5" }, bp.Adam, net, { betas = { 1.5, 0.9 } })
    raises({ "backprop.Adam:", "beta2 must be in [0, 1), got 1" }, bp.Adam, net, { betas = { 0.9, 1 } })
    raises({ "backprop.Adam:", "betas[2] must be a number, got string" },
           bp.Adam, net, { betas = { 0.9, "x" } })
    raises({ "backprop.Adam:", "eps must be > 0, got 0" }, bp.Adam, net, { eps = 0 })
  end)

  it("the network and options arguments are checked", function()
    raises({ "backprop.SGD:", "network must be a backprop.Module, got number" }, bp.SGD, 5)
    raises({ "backprop.Adam:", "network must be a backprop.Module, got no value" }, bp.Adam)
    raises({ "backprop.SGD:", "options must be a table, got number" }, bp.SGD, net, 0.1)
  end)

  it("only lr can be set afterwards, and only to a valid value", function()
    local opt = bp.SGD(net, { lr = 0.1, momentum = 0.5 })
    raises({ "backprop.SGD:", "lr must be a number, got string" }, function() opt.lr = "x" end)
    raises_match("backprop%.SGD: lr must be a finite number, got %-?nan", function() opt.lr = 0 / 0 end)
    raises({ "backprop.SGD:", "lr must be >= 0, got -1" }, function() opt.lr = -1 end)
    raises({ "backprop.SGD:", "cannot set 'momentum' (only lr can change after creation)" },
           function() opt.momentum = 0.9 end)
    raises({ "backprop.SGD:", "cannot set 'foo'" }, function() opt.foo = 1 end)
    assert.equal(0.1, opt.lr)
    assert.equal(0.5, opt.momentum)
    opt.lr = 0.05
    assert.equal(0.05, opt.lr)
    local adam = bp.Adam(net)
    raises({ "backprop.Adam:", "cannot set 'betas'" }, function() adam.betas = { 0.5, 0.5 } end)
  end)
end)

--------------------------------------------------------------------------
describe("fit errors", function()
  local net, x, y, opt, mse, w0
  before_each(function()
    bp.manual_seed(3)
    net = small_net()
    x, y = bp.randn(5, 3), bp.zeros(5, 2)
    opt = bp.SGD(net, { lr = 0.1 })
    mse = bp.MSELoss()
    w0 = weights(net)
  end)

  local function fit(opts) return net:fit(x, y, opts) end

  it("requires loss and optimizer", function()
    raises({ "backprop.Module:fit:", "options.loss is required" }, fit, { optimizer = opt })
    raises({ "backprop.Module:fit:", "options.optimizer is required" }, fit, { loss = mse })
    raises({ "backprop.Module:fit:", "options must be a table, got nil" }, fit, nil)
    raises({ "backprop.Sequential:fit:", "loss must be a backprop.Loss, got number" },
           fit, { loss = 5, optimizer = opt })
    raises({ "backprop.Sequential:fit:", "optimizer must be a backprop.Optimizer, got number" },
           fit, { loss = mse, optimizer = 5 })
    assert.same(w0, weights(net))
  end)

  it("rejects unknown options", function()
    raises({ "backprop.Module:fit:", "unknown option 'epoch'", "expected one of:", "epochs" },
           fit, { loss = mse, optimizer = opt, epoch = 3 })
    assert.same(w0, weights(net))
  end)

  it("rejects bad epochs and batch_size", function()
    local bads = { 0, -1, 1.5, math.huge, -math.huge, 2 ^ 70, "3", {} }
    local shown = { "0", "-1", "1.5", "inf", "-inf", "1.1805916207174e+21", "string", "table" }
    for i, bad in ipairs(bads) do
      local e = raises({ "backprop.Module:fit:", "epochs must be a positive integer, got " .. shown[i] },
                       fit, { loss = mse, optimizer = opt, epochs = bad })
      assert(e:sub(-#shown[i]) == shown[i], e)
      raises({ "backprop.Module:fit:", "batch_size must be a positive integer, got " .. shown[i] },
             fit, { loss = mse, optimizer = opt, batch_size = bad })
    end
    raises_match("epochs must be a positive integer, got %-?nan", fit, { loss = mse, optimizer = opt, epochs = 0 / 0 })
    raises({ "backprop.Module:fit:", "shuffle must be a boolean, got string" },
           fit, { loss = mse, optimizer = opt, shuffle = "yes" })
    raises({ "backprop.Module:fit:", "on_epoch must be a function, got number" },
           fit, { loss = mse, optimizer = opt, on_epoch = 1 })
    assert.same(w0, weights(net))
    -- a float with an integer value is fine
    local h = fit({ loss = mse, optimizer = opt, epochs = 2.0, batch_size = 5.0 })
    assert.equal(2, #h.loss)
  end)

  it("rejects a bad validation set before training", function()
    raises({ "backprop.Module:fit:", "validation must be a table {x, y} of two tensors" },
           fit, { loss = mse, optimizer = opt, validation = { x } })
    raises({ "backprop.Module:fit:", "validation must be a table {x, y} of two tensors" },
           fit, { loss = mse, optimizer = opt, validation = x })
    raises({ "backprop.Sequential:fit: validation: expected target of shape 2x2, got 2x3" },
           fit, { loss = mse, optimizer = opt, validation = { bp.zeros(2, 3), bp.zeros(2, 3) } })
    raises({ "backprop.Sequential:fit: validation: layer 1 (Linear) expected input with 3 features, got 4" },
           fit, { loss = mse, optimizer = opt, validation = { bp.zeros(2, 4), bp.zeros(2, 2) } })
    local bad = bp.zeros(2, 3)
    bad[2][3] = 0 / 0
    raises_match("backprop%.Sequential:fit: validation: input contains %-?nan at row 2, element 3",
                 fit, { loss = mse, optimizer = opt, validation = { bad, bp.zeros(2, 2) } })
    assert.same(w0, weights(net))
  end)

  it("rejects training data of the wrong shape", function()
    raises({ "backprop.Sequential:fit:", "expected target of shape 5x2, got 5x3" },
           function() return net:fit(x, bp.zeros(5, 3), { loss = mse, optimizer = opt }) end)
    raises({ "backprop.Sequential:fit:", "expected input of shape N x features, got 3" },
           function() return net:fit(bp.zeros(3), y, { loss = mse, optimizer = opt }) end)
    raises({ "backprop.Sequential:fit:", "input must be a backprop.Tensor, got table" },
           function() return net:fit({}, y, { loss = mse, optimizer = opt }) end)
    assert.same(w0, weights(net))
  end)
end)

--------------------------------------------------------------------------
describe("bp.load and net:save errors", function()
  local dir, path, saved, net, x, y0
  setup(function()
    dir = tmpdir()
    path = dir .. "/model.bpn"
    bp.manual_seed(99)
    net = small_net()
    net:save(path)
    saved = read(path)
    x = bp.randn(4, 3)
    y0 = net:forward(x):totable()
  end)
  teardown(function() rmtree(dir) end)

  local function load_ok()
    local again = bp.load(path)
    assert.same(y0, again:forward(x):totable())
  end

  it("a missing file", function()
    local p = dir .. "/does-not-exist.bpn"
    raises({ "backprop.load:", "cannot open '" .. p .. "'", "No such file" }, bp.load, p)
    load_ok()
  end)

  it("a path that is not a string", function()
    raises({ "backprop.load:", "path must be a string, got number" }, bp.load, 5)
    raises({ "backprop.load:", "path must be a string, got no value" }, bp.load)
  end)

  it("an empty file and a text file", function()
    local e = write(dir .. "/empty.bpn", "")
    raises({ "backprop.load:", "'" .. e .. "' is not a backprop model file" }, bp.load, e)
    local t = write(dir .. "/text.bpn", "layer Linear 3 4\nweights 0.1 0.2\n")
    raises({ "backprop.load:", "'" .. t .. "' is not a backprop model file" }, bp.load, t)
    load_ok()
  end)

  it("a truncated copy, at every length", function()
    local p = dir .. "/cut.bpn"
    for n = 0, #saved - 1 do
      write(p, saved:sub(1, n))
      local err = err_of(bp.load, p)
      assert(err:find("backprop.load: ", 1, true), err)
      assert(err:find("truncated", 1, true) or err:find("not a backprop model file", 1, true),
             "length " .. n .. ": " .. err)
    end
    write(p, saved:sub(1, #saved - 10))
    raises({ "backprop.load:", "is truncated (weights)" }, bp.load, p)
    load_ok()
  end)

  it("one byte flipped in the weights", function()
    -- the weights are the last 4 x P bytes before the 4-byte checksum;
    -- flip a byte of the 5th weight
    local at = #saved - 4 - 4 * net:num_parameters() + 4 * 4 + 2
    local bad = saved:sub(1, at - 1) .. string.char(B.bxor(saved:byte(at), 0x10)) .. saved:sub(at + 1)
    local p = write(dir .. "/flipped.bpn", bad)
    raises({ "backprop.load:", "is corrupt (checksum mismatch)" }, bp.load, p)
    load_ok()
  end)

  it("a changed version field", function()
    local bad = saved:sub(1, 8) .. B.pack("<I4", 4) .. saved:sub(13)
    local p = write(dir .. "/v4.bpn", bad)
    raises({ "backprop.load:", "has format version 4", "reads versions 1 to 3" }, bp.load, p)
    load_ok()
  end)

  it("trailing bytes", function()
    local p = write(dir .. "/trail.bpn", saved .. "\0")
    raises({ "backprop.load:", "corrupt (trailing bytes)" }, bp.load, p)
  end)

  it("save into a directory that does not exist leaves no file", function()
    local p = dir .. "/no/such/dir/model.bpn"
    raises({ "backprop.Sequential:save:", "cannot write", "no/such/dir/model.bpn", "No such file" },
           net.save, net, p)
    assert.is_false(exists(p))
    assert.is_false(exists(p .. ".tmp"))
    assert.is_false(exists(dir .. "/no"))
  end)

  it("save over a directory fails and leaves the directory alone", function()
    local empty = dir .. "/an-empty-dir"
    assert(os.execute("mkdir '" .. empty .. "'"))
    raises({ "backprop.Sequential:save:", "cannot write '" .. empty .. "'" }, net.save, net, empty)
    assert.truthy(os.execute("test -d '" .. empty .. "'"), "the directory was removed")
    assert.is_false(exists(empty .. ".tmp"))
  end)

  it("save with a bad path argument", function()
    raises({ "backprop.Sequential:save:", "path must be a string, got number" }, net.save, net, 5)
    raises({ "backprop.Sequential:save:", "path must be a string, got no value" }, net.save, net)
  end)

  it("the original file is intact after all that", function()
    assert.equal(saved, read(path))
    load_ok()
  end)
end)

--------------------------------------------------------------------------
describe("closed objects", function()
  -- H.closing closes through a to-be-closed variable (the __close
  -- metamethod) on Lua 5.4, by :close() elsewhere.
  if not H.has_close then
    pending("closing by a to-be-closed variable (local x <close>): Lua 5.4 only; " ..
            "the same specs close by :close() on " .. H.lua_version)
  end

  it("a closed tensor errors cleanly", function()
    local t = H.closing(bp.tensor({ 1, 2 }), function(c)
      assert.equal(2, c:get(2))
      return c
    end)
    raises({ "backprop.Tensor:get:", "self is a closed tensor" }, t.get, t, 1)
    raises({ "backprop.Tensor:add:", "left is a closed tensor" }, function() return t + 1 end)
    raises({ "backprop.Tensor:add:", "right is a closed tensor" }, function() return bp.zeros(2) + t end)
    raises({ "backprop.Tensor:__len:", "closed" }, function() return #t end)
    raises({ "backprop.Tensor:copy:", "source is a closed tensor" }, bp.zeros(2).copy, bp.zeros(2), t)
    raises({ "backprop.tensor:", "closed" }, bp.tensor, t)
    raises({ "backprop.Linear:forward:", "input is a closed tensor" }, function()
      local l = bp.Linear(2, 1)
      return l:forward(t)
    end)
    assert.equal("backprop.Tensor (closed)", tostring(t))
    t:close()                                    -- closing twice is harmless
  end)

  it("a view survives its owner's close", function()
    local owner = bp.tensor({ 1, 2, 3, 4 })
    local v = H.closing(owner, function(t) return t:reshape(2, 2) end)
    raises("closed", owner.get, owner, 1)
    assert.same({ { 1, 2 }, { 3, 4 } }, v:totable())
    v:set(2, 2, 40)
    assert.equal(40, v:get(2, 2))
    collectgarbage()
    collectgarbage()
    assert.equal(1 + 2 + 3 + 40, v:sum())
  end)

  it("a closed module errors cleanly; its optimizer too", function()
    local net, opt, params, p11 = bp.Linear(2, 2), nil, nil, nil
    H.closing(net, function(n)
      params = n:parameters()
      p11 = params[1]:get(1, 1)
      opt = bp.SGD(n, { lr = 0.1 })
    end)
    raises({ "backprop.Linear:forward:", "the module is closed" }, net.forward, net, bp.zeros(2))
    local p = os.tmpname()
    os.remove(p)
    raises({ "backprop.Linear:save:", "the module is closed" }, net.save, net, p)
    assert.is_false(exists(p))
    raises({ "backprop.SGD:step:", "its network is a closed module" }, opt.step, opt)
    raises({ "backprop.Sequential:", "layer 1 is a closed module" }, bp.Sequential, { net })
    raises({ "backprop.SGD:", "network is a closed module" }, bp.SGD, net)
    assert.equal("backprop.Linear (closed)", tostring(net))
    -- parameter views taken before the close still read the weights
    assert.equal(p11, params[1]:get(1, 1))
    collectgarbage()
    assert.equal(p11, params[1]:get(1, 1))
  end)
end)

--------------------------------------------------------------------------
describe("garbage collection", function()
  it("views, parameters and optimizers outlive the variables they came from", function()
    local keep = {}
    for i = 1, 300 do
      local t = bp.randn(10, 10)
      local v = t:reshape(100):reshape(4, 25)
      local net = bp.Sequential({ bp.Linear(4, 8), bp.Tanh(), bp.Linear(8, 2) })
      local params, grads = net:parameters()
      local opt = bp.Adam(net, { lr = 0.01 })
      local loss = bp.MSELoss()
      net:train_step(bp.ones(3, 4), bp.zeros(3, 2), loss, opt)
      loss:forward(net:forward(bp.ones(3, 4)), bp.zeros(3, 2))
      if i % 50 == 0 then
        keep[#keep + 1] = { view = v, sum = v:sum(), w = params[1], w11 = params[1]:get(1, 1),
                            g = grads[1], opt = opt, grad = loss:backward() }
      end
      if i % 25 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    for _, k in ipairs(keep) do
      assert.equal(k.sum, k.view:sum())
      assert.equal(k.w11, k.w:get(1, 1))
      assert.same({ 8, 4 }, k.g:shape())
      assert.same({ 3, 2 }, k.grad:shape())
      k.opt:step()                            -- its network is still alive
      k.w:fill(1)
      assert.equal(32, k.w:sum())
    end
  end)

  it("closing and dropping in any order does not crash", function()
    for _ = 1, 200 do
      local t = bp.zeros(16, 16)
      local v = t:reshape(256)
      t:close()
      v:fill(2)
      local n = bp.Linear(3, 3)
      local ps = n:parameters()
      n:close()
      ps[2]:fill(1)
      local w = bp.zeros(3)
      w:close()
      w:close()
    end
    collectgarbage()
    collectgarbage()
    assert.equal(2 * 256, bp.zeros(256):fill(2):sum())
  end)
end)

--------------------------------------------------------------------------
describe("bp.data errors", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() rmtree(dir) end)

  it("read_csv: a missing file", function()
    local p = dir .. "/missing.csv"
    raises({ "backprop.data.read_csv:", "cannot open '" .. p .. "'", "No such file" },
           bp.data.read_csv, p)
    raises({ "backprop.data.read_csv:", "path must be a string, got number" }, bp.data.read_csv, 1)
  end)

  it("read_csv: a non-numeric cell names the line and column", function()
    local p = write(dir .. "/bad.csv", "a,b,c\n1,2,3\n4,x,6\n")
    raises({ "backprop.data.read_csv:", "line 3, column 'b': 'x' is not a number" }, bp.data.read_csv, p)
    local q = write(dir .. "/bad2.csv", "1,2,3\n4,5,oops\n")
    raises({ "backprop.data.read_csv:", "line 2, column 3: 'oops' is not a number" },
           bp.data.read_csv, q, { header = false })
    local r = write(dir .. "/bad3.csv", "a,b\n1,\n")
    -- An empty cell is a missing value now (issue 11), reported as such.
    raises({ "backprop.data.read_csv:", "line 2, column 'b': missing value (an empty cell" }, bp.data.read_csv, r)
  end)

  it("read_csv: ragged rows and unterminated quotes", function()
    local p = write(dir .. "/ragged.csv", "a,b,c\n1,2,3\n4,6\n")
    raises({ "backprop.data.read_csv:", "line 3 has 2 fields, expected 3" }, bp.data.read_csv, p)
    local q = write(dir .. "/quote.csv", "a,b\n\"1,2\n")
    raises({ "backprop.data.read_csv:", "line 2: unterminated quote" }, bp.data.read_csv, q)
  end)

  it("read_csv: an unknown target column", function()
    local p = write(dir .. "/ok.csv", "a,b,c\n1,2,3\n4,5,6\n")
    raises({ "backprop.data.read_csv:", "has no column named 'd'" }, bp.data.read_csv, p, { target = "d" })
    raises({ "backprop.data.read_csv:", "target must be a column name or an index in 1..3, got 4" },
           bp.data.read_csv, p, { target = 4 })
    raises({ "backprop.data.read_csv:", "index in 1..3, got 0" }, bp.data.read_csv, p, { target = 0 })
    raises({ "backprop.data.read_csv:", "unknown option 'targt' (expected one of: drop, header, missing, na, sep, target, text)" },
           bp.data.read_csv, p, { targt = "a" })
    raises({ "backprop.data.read_csv:", "sep must be one character" }, bp.data.read_csv, p, { sep = ";;" })
    local h = write(dir .. "/header-only.csv", "a,b,c\n")
    raises({ "backprop.data.read_csv:", "has no data rows" }, bp.data.read_csv, h)
  end)

  it("split: a bad fraction, mismatched x/y, bad seed", function()
    local X, Y = bp.zeros(10, 2), bp.zeros(10, 1)
    for _, bad in ipairs({ 0, 1, 1.5, -0.2, "x" }) do
      raises({ "backprop.data.split:", "test must be a fraction between 0 and 1, got " .. tostring(bad) },
             bp.data.split, X, Y, { test = bad })
    end
    raises_match("test must be a fraction between 0 and 1, got %-?nan", bp.data.split, X, Y, { test = 0 / 0 })
    raises({ "backprop.data.split:", "a test fraction of 0.01 leaves 0 of 10 samples for testing" },
           bp.data.split, X, Y, { test = 0.01 })
    raises({ "backprop.data.split:", "a test fraction of 0.98 leaves 10 of 10 samples" },
           bp.data.split, X, Y, { test = 0.98 })
    raises({ "backprop.data.split:", "x has 10 samples but y has 9" }, bp.data.split, X, bp.zeros(9, 1))
    raises({ "backprop.data.split:", "x must be a backprop.Tensor, got table" }, bp.data.split, {}, Y)
    raises({ "backprop.data.split:", "y must be a backprop.Tensor or nil, got string" }, bp.data.split, X, "y")
    raises({ "backprop.data.split:", "seed must be an integer, got 1.5" }, bp.data.split, X, Y, { seed = 1.5 })
    raises({ "backprop.data.split:", "unknown option 'frac'" }, bp.data.split, X, Y, { frac = 0.5 })
  end)

  it("standardize: bad input", function()
    raises({ "backprop.data.standardize:", "x must be a backprop.Tensor, got table" }, bp.data.standardize, {})
    raises({ "backprop.data.standardize:", "x must be N x features, got 1 dimensions" },
           bp.data.standardize, bp.zeros(3))
    local x = bp.tensor({ { 1, 2 }, { 3, 4 } })
    x:set(2, 1, 0 / 0)
    raises_match("backprop%.data%.standardize: x contains %-?nan at row 2, element 1", bp.data.standardize, x)
    local s = bp.data.standardize(bp.tensor({ { 1, 2 }, { 3, 4 } }))
    -- named as the method called (it was backprop.data.standardize before)
    raises({ "backprop.Scaler:apply:", "x has 3 features (shape 2x3), but the scaler was fitted on 2" },
           s.apply, s, bp.zeros(2, 3))
  end)
end)

--------------------------------------------------------------------------
describe("bp.metrics errors", function()
  it("accuracy and confusion_matrix with mismatched rows", function()
    raises({ "backprop.metrics.accuracy:", "pred has 4 rows but target has 3" },
           bp.metrics.accuracy, bp.zeros(4, 1), bp.zeros(3, 1))
    raises({ "backprop.metrics.accuracy:", "pred has 4 rows but target has 3" },
           bp.metrics.accuracy, bp.zeros(4, 3), bp.tensor({ 1, 2, 3 }))
    raises({ "backprop.metrics.confusion_matrix:", "pred has 4 rows but target has 5" },
           bp.metrics.confusion_matrix, bp.zeros(4, 1), bp.zeros(5, 1))
  end)

  it("bad targets and arguments", function()
    raises({ "backprop.metrics.accuracy:", "target must be a backprop.Tensor, got string" },
           bp.metrics.accuracy, bp.zeros(4, 1), "y")
    raises({ "backprop.metrics.accuracy:", "pred must be a backprop.Tensor, got nil" },
           bp.metrics.accuracy, nil, bp.zeros(4, 1))
    raises({ "backprop.metrics.accuracy:", "target 2 is 0.5, expected 0 or 1" },
           bp.metrics.accuracy, bp.zeros(2, 1), bp.tensor({ { 1 }, { 0.5 } }))
    raises({ "backprop.metrics.accuracy:", "label 1 is 4, expected an integer in 1..3" },
           bp.metrics.accuracy, bp.zeros(2, 3), bp.tensor({ 4, 1 }))
    raises({ "backprop.metrics.confusion_matrix:", "target must be N labels or N x 3 one-hot rows" },
           bp.metrics.confusion_matrix, bp.zeros(2, 3), bp.zeros(2, 2))
    raises({ "backprop.metrics.accuracy:", "pred must be N x C, got 3 dimensions" },
           bp.metrics.accuracy, bp.zeros(2, 2, 2), bp.zeros(2))
    raises({ "backprop.metrics.accuracy:", "threshold must be a number, got x" },
           bp.metrics.accuracy, bp.zeros(2, 1), bp.zeros(2, 1), "x")
  end)
end)

describe("errors found after review", function()
  it("a failed loss:forward leaves no stale gradient for backward", function()
    local loss = bp.MSELoss()
    loss:forward(bp.ones(2, 1), bp.zeros(2, 1))
    raises("expected target of shape 2x1", loss.forward, loss, bp.ones(2, 1), bp.zeros(3))
    raises({ "backprop.MSELoss:backward:", "call forward first" }, loss.backward, loss)
  end)

  it("an optimizer's non-string keys read as nil and cannot be set", function()
    local opt = bp.SGD(bp.Linear(1, 1))
    assert.is_nil(opt[true])
    assert.is_nil(opt[1])
    raises({ "backprop.SGD:", "cannot set a boolean key" }, function() opt[true] = 1 end)
    raises({ "backprop.SGD:", "cannot set 'momentum'" }, function() opt.momentum = 0.5 end)
  end)

  it("metrics refuse NaN predictions", function()
    raises({ "backprop.metrics.accuracy:", "prediction 2 is nan" },
           bp.metrics.accuracy, bp.tensor({{0.2}, {0 / 0}}), bp.tensor({{0}, {1}}))
    raises({ "backprop.metrics.accuracy:", "pred contains nan or inf" },
           bp.metrics.accuracy, bp.tensor({{0.2, 0 / 0}}), bp.tensor({1}))
  end)

  it("metrics refuse infinite scores and 3-D targets", function()
    raises({ "backprop.metrics.accuracy:", "pred contains nan or inf" },
           bp.metrics.accuracy, bp.tensor({{1 / 0, -1 / 0}}), bp.tensor({1}))
    raises({ "backprop.metrics.accuracy:", "target must be N or N x C, got 3 dimensions" },
           bp.metrics.accuracy, bp.zeros(2, 2), bp.zeros(2, 2, 2))
  end)

  it("errors from the Lua modules carry no position inside the library", function()
    local net = bp.Sequential{bp.Linear(1, 1)}
    local err = raises("backprop.Module:fit:", net.fit, net, bp.zeros(2, 1), bp.zeros(2, 1),
                       {loss = bp.MSELoss(), optimizer = bp.SGD(net), epochs = 1.5})
    assert.is_nil(err:find("fit.lua", 1, true), err)
    err = raises("backprop.data.split:", bp.data.split, bp.zeros(4, 1), nil, {test = 2})
    assert.is_nil(err:find("data.lua", 1, true), err)
  end)
end)

describe("fit's progress option", function()
  it("must be a boolean", function()
    local net = bp.Sequential{bp.Linear(1, 1)}
    raises({ "backprop.Module:fit:", "progress must be a boolean, got string" }, net.fit, net,
           bp.zeros(2, 1), bp.zeros(2, 1), {loss = bp.MSELoss(), optimizer = bp.SGD(net), progress = "yes"})
  end)
end)
