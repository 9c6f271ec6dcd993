-- Every loss, option and reduction through the C training path:
-- net:train_step must do exactly what forward / loss / backward / step do
-- by hand (bit for bit), and net:fit's epoch loss must combine the batch
-- losses as documented (for "mean", the mean of the batch losses weighted
-- by each batch's weight: its rows, or with class weights the sum of its
-- labels' weights, as the loss of all the rows at once; the sum for
-- "sum"/"none").
local bp = require("backprop")
local H = require("helper")

local N, IN, C = 6, 3, 3

-- name, constructor, options, head layer (or nil), target maker
local function labels()
  return bp.tensor({ 1, 3, 2, 2, 3, 1 })
end
local CASES = {
  { "MSELoss", {}, nil, function() return bp.randn(N, C) end },
  { "L1Loss", {}, nil, function() return bp.randn(N, C) end },
  { "HuberLoss", { delta = 0.5 }, nil, function() return bp.randn(N, C) * 2 end },
  { "BCELoss", {}, bp.Sigmoid, function() return bp.rand(N, C) end },
  { "BCEWithLogitsLoss", { pos_weight = { 2, 0.5, 1 } }, nil, function() return bp.rand(N, C) end },
  { "CrossEntropyLoss", { weight = { 0.5, 2, 1 }, label_smoothing = 0.2 }, nil, labels },
  { "NLLLoss", { weight = { 3, 1, 0.25 } }, bp.LogSoftmax, labels },
}

local function make_net(seed, head)
  bp.manual_seed(seed)
  local layers = { bp.Linear(IN, 5), bp.Tanh(), bp.Linear(5, C) }
  if head then layers[#layers + 1] = head() end
  return bp.Sequential(layers)
end

local function with(opts, reduction)
  local o = { reduction = reduction }
  for k, v in pairs(opts) do o[k] = v end
  return o
end

-- Rows from..from+count-1 of t, as a new tensor (no views on this branch).
local function rows(t, from, count)
  local all, out = t:totable(), {}
  for i = 1, count do out[i] = all[from + i - 1] end
  return bp.tensor(out)
end

local function total(v)
  return type(v) == "number" and v or v:sum()
end

for _, case in ipairs(CASES) do
  local name, opts, head, target = case[1], case[2], case[3], case[4]
  for _, reduction in ipairs({ "mean", "sum", "none" }) do
    describe(("%s, reduction %s"):format(name, reduction), function()
      it("net:train_step equals forward, loss, backward and step by hand", function()
        bp.manual_seed(7)
        local x, y = bp.randn(N, IN), target()
        local a, b = make_net(11, head), make_net(11, head)
        local la, lb = bp[name](with(opts, reduction)), bp[name](with(opts, reduction))
        local oa, ob = bp.SGD(a, { lr = 0.05 }), bp.SGD(b, { lr = 0.05 })
        for step = 1, 3 do
          local va = a:train_step(x, y, la, oa)
          ob:zero_grad()
          local vb = lb:forward(b:forward(x), y)
          b:backward(lb:backward())
          ob:step()
          assert.are.equal("number", type(va))
          H.assert_close(va, total(vb), 1e-6, 1e-6, "step " .. step .. " loss")
          for i, p in ipairs(a:parameters()) do
            H.assert_same(p, b:parameters()[i], ("step %d parameter %d"):format(step, i))
          end
        end
      end)

      it("net:fit combines the batch losses and reports validation loss as a number", function()
        bp.manual_seed(8)
        local x, y = bp.randn(N, IN), target()
        local a, b = make_net(12, head), make_net(12, head)
        local la, lb = bp[name](with(opts, reduction)), bp[name](with(opts, reduction))
        local oa, ob = bp.Adam(a, { lr = 0.01 }), bp.Adam(b, { lr = 0.01 })
        local h = a:fit(x, y, { loss = la, optimizer = oa, epochs = 1, batch_size = 4, shuffle = false,
                                validation = { x, y } })
        -- the same two batches (4 then 2 samples) by hand
        local l1 = b:train_step(rows(x, 1, 4), rows(y, 1, 4), lb, ob)
        local l2 = b:train_step(rows(x, 5, 2), rows(y, 5, 2), lb, ob)
        local w1, w2 = 4, 2
        if opts.weight then   -- a class-weighted loss: the labels' weights
          w1, w2 = 0, 0
          for i = 1, 6 do
            local w = opts.weight[y:get(i)]
            if i <= 4 then w1 = w1 + w else w2 = w2 + w end
          end
        end
        local want = reduction == "mean" and (w1 * l1 + w2 * l2) / (w1 + w2) or l1 + l2
        H.assert_close(h.loss[1], want, 1e-12, 1e-12, "epoch loss")
        for i, p in ipairs(a:parameters()) do H.assert_same(p, b:parameters()[i], "parameter " .. i) end
        assert.are.equal("number", type(h.val_loss[1]))
        H.assert_close(h.val_loss[1], total(lb:forward(b:forward(x), y)), 1e-5, 1e-6, "validation loss")
      end)
    end)
  end
end

describe("training with the new losses", function()
  it("a weight of the wrong length stops train_step before any update", function()
    local net = make_net(3)
    local before = H.snapshot(net)
    local ce = bp.CrossEntropyLoss({ weight = { 1, 2 } })
    local ok, err = pcall(net.train_step, net, bp.randn(4, IN), bp.tensor({ 1, 2, 1, 2 }), ce, bp.SGD(net, { lr = 1 }))
    assert.is_false(ok)
    assert.truthy(err:find("backprop.Sequential:train_step: weight has 2 value(s), expected one per class", 1, true), err)
    for i, p in ipairs(net:parameters()) do H.assert_same(p, before[i], "parameter " .. i) end
  end)

  it("every loss lowers its training loss over a few epochs of fit", function()
    for _, case in ipairs(CASES) do
      local name, opts, head, target = case[1], case[2], case[3], case[4]
      bp.manual_seed(21)
      local x, y = bp.randn(N, IN), target()
      local net = make_net(22, head)
      local h = net:fit(x, y, { loss = bp[name](opts), optimizer = bp.Adam(net, { lr = 0.05 }), epochs = 40,
                                batch_size = N })
      assert(h.loss[40] < 0.9 * h.loss[1], ("%s: loss %g -> %g"):format(name, h.loss[1], h.loss[40]))
    end
  end)
end)
