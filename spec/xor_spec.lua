-- XOR with the classic recipe: 2-4-1, sigmoid units, squared error, plain
-- gradient descent.
--
-- Budget: measured over seeds 1..100 (full batch, train_step), lr 2 for
-- 2000 epochs solved all 100 (worst final MSE 1.3e-3); lr 0.5 for 1000
-- epochs solved only 32 (the rest still on the 0.25 plateau, not stuck
-- for good: 2000 epochs solve 95). Online SGD through fit (batch 1,
-- shuffled), lr 1 for 1000 epochs, also solved all 100 (worst 2e-3).
-- The specs below use those two budgets, on five seeds each.
local bp = require("backprop")

local SEEDS = { 1, 2, 3, 4, 5 }
local X = bp.tensor { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }
local Y = bp.tensor { { 0 }, { 1 }, { 1 }, { 0 } }

local function xor_net(seed)
  bp.manual_seed(seed)
  return bp.Sequential { bp.Linear(2, 4), bp.Sigmoid(), bp.Linear(4, 1), bp.Sigmoid() }
end

-- 1 if every output is on the right side of 0.5, and a description
local function judge(net)
  local out, right, vals = net:forward(X), true, {}
  for i = 1, 4 do
    local o = out:get(i, 1)
    vals[i] = ("%.3f"):format(o)
    if (o > 0.5) ~= (Y:get(i, 1) > 0.5) then right = false end
  end
  return right, table.concat(vals, " ")
end

local function report(results)
  local ok, lines = 0, {}
  for _, r in ipairs(results) do
    if r.right and r.loss < 0.01 then ok = ok + 1 end
    lines[#lines + 1] = ("seed %d: outputs %s, final loss %.3g%s"):format(r.seed, r.out, r.loss,
      (r.right and r.loss < 0.01) and "" or "  <- FAILED")
  end
  return ok, ("%d of %d seeds learned XOR:\n  %s"):format(ok, #results, table.concat(lines, "\n  "))
end

describe("XOR, 2-4-1 sigmoid, MSE, plain SGD", function()
  it("learns XOR by full-batch train_step (lr 2, 2000 epochs) on every seed", function()
    local results = {}
    for _, seed in ipairs(SEEDS) do
      local net = xor_net(seed)
      local loss, opt = bp.MSELoss(), bp.SGD(net, { lr = 2 })
      local first, last = net:train_step(X, Y, loss, opt), nil
      for _ = 2, 2000 do last = net:train_step(X, Y, loss, opt) end
      assert(last < first, ("seed %d: the loss did not fall (%.4g -> %.4g)"):format(seed, first, last))
      local right, out = judge(net)
      results[#results + 1] = { seed = seed, right = right, out = out, loss = loss:forward(net:forward(X), Y) }
    end
    local ok, msg = report(results)
    assert(ok == #SEEDS, msg)
  end)

  it("learns XOR by fit with online SGD (batch 1, shuffled, lr 1, 1000 epochs) on every seed", function()
    local results = {}
    for _, seed in ipairs(SEEDS) do
      local net = xor_net(seed)
      local h = net:fit(X, Y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 1 }), epochs = 1000,
                                batch_size = 1, shuffle = true })
      assert.are.equal(1000, #h.loss)
      local right, out = judge(net)
      results[#results + 1] = { seed = seed, right = right, out = out, loss = bp.MSELoss():forward(net:forward(X), Y) }
    end
    local ok, msg = report(results)
    assert(ok == #SEEDS, msg)
  end)

  it("fit with batch_size 4 and no shuffle follows train_step's trajectory exactly", function()
    local a, b = xor_net(3), xor_net(3)
    local la, lb = bp.MSELoss(), bp.MSELoss()
    local oa, ob = bp.SGD(a, { lr = 2 }), bp.SGD(b, { lr = 2 })
    local steps = {}
    for e = 1, 50 do steps[e] = a:train_step(X, Y, la, oa) end
    local h = b:fit(X, Y, { loss = lb, optimizer = ob, epochs = 50, batch_size = 4, shuffle = false })
    for e = 1, 50 do assert.are.equal(steps[e], h.loss[e]) end
    local pa, pb = a:parameters(), b:parameters()
    for i = 1, #pa do
      local ta, tb = pa[i]:totable(), pb[i]:totable()
      assert.are.same(ta, tb)
    end
  end)
end)
