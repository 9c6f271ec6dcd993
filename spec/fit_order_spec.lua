-- fit{order = ids}: the caller's own visiting order (a tensor or a list of
-- 1-based row indices, or a function(epoch) returning one), gathered
-- batch by batch as shuffling is: the same training as on the data
-- reordered by x:index(1, ids), without the copy.
local bp = require("backprop")
local H = require("helper")
local internal = require("backprop.core").internal
local assert = require("luassert")

local function net_from(seed)
  bp.manual_seed(seed)
  return bp.Sequential{bp.Linear(4, 6), bp.Tanh(), bp.Linear(6, 2)}
end

local function options(net, extra)
  local o = {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.05}), epochs = 3,
             warnings = false, progress = false}
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("fit's order option", function()
  bp.manual_seed(1)
  local X, Y = bp.randn(23, 4), bp.rand(23, 2)
  local perm = bp.randperm(23)

  for _, batch in ipairs{1, 4} do
    it(string.format("trains as on x:index(1, ids) without shuffling, bit for bit (batch %d)", batch), function()
      local a, b = net_from(2), net_from(2)
      local ha = a:fit(X, Y, options(a, {batch_size = batch, order = perm}))
      local hb = b:fit(X:index(1, perm), Y:index(1, perm), options(b, {batch_size = batch, shuffle = false}))
      H.assert_same(ha.loss, hb.loss, "losses")
      H.assert_same((a:parameters()), (b:parameters()), "parameters")
    end)
  end

  it("takes a list, and a function of the epoch (a new order each epoch)", function()
    local list = perm:totable()
    local a, b, c = net_from(3), net_from(3), net_from(3)
    local ha = a:fit(X, Y, options(a, {batch_size = 2, order = list}))
    local hb = b:fit(X, Y, options(b, {batch_size = 2, order = perm}))
    H.assert_same(ha.loss, hb.loss, "losses")
    -- epoch e visits rows in the order rotated by e
    local seen = {}
    local function rotated(e)
      seen[#seen + 1] = e
      local ids = {}
      for i = 1, 23 do ids[i] = (i + e - 1) % 23 + 1 end
      return ids
    end
    local hc = c:fit(X, Y, options(c, {batch_size = 2, epochs = 2, order = rotated}))
    assert.same({1, 2}, seen)
    local d = net_from(3)
    local o = options(d, {batch_size = 2, epochs = 1, shuffle = false})
    local losses = {}
    for e = 1, 2 do
      local ids = bp.tensor(rotated(e))
      losses[e] = d:fit(X:index(1, ids), Y:index(1, ids), o).loss[1]
    end
    H.assert_same(hc.loss, losses, "losses epoch by epoch")
    H.assert_same((c:parameters()), (d:parameters()), "parameters")
  end)

  it("allows repeated rows (sampling with replacement) and uint8 inputs", function()
    local ids = {}
    for i = 1, 23 do ids[i] = (i % 3) + 1 end
    local a, b = net_from(4), net_from(4)
    local ha = a:fit(X, Y, options(a, {batch_size = 5, order = ids}))
    local t = bp.tensor(ids)
    local hb = b:fit(X:index(1, t), Y:index(1, t), options(b, {batch_size = 5, shuffle = false}))
    H.assert_same(ha.loss, hb.loss, "losses")
    local x8 = bp.rand(23, 4):mul(255):byte()
    local c, d = net_from(5), net_from(5)
    local hc = c:fit(x8, Y, options(c, {batch_size = 1, order = perm, input_scale = 1 / 255}))
    local hd = d:fit(x8:index(1, perm), Y:index(1, perm),
                     options(d, {batch_size = 1, shuffle = false, input_scale = 1 / 255}))
    H.assert_same(hc.loss, hd.loss, "uint8 losses")
  end)

  it("gathers rows instead of copying the data: as many allocations as shuffling", function()
    local big = bp.randn(2000, 4)
    local target = bp.rand(2000, 2)
    local ids = bp.randperm(2000)
    local net = net_from(6)
    local function count(extra)
      local o = options(net, extra)
      o.epochs = 1
      net:fit(big, target, o)                     -- warm
      local before = internal.alloc_count()
      net:fit(big, target, o)
      return internal.alloc_count() - before
    end
    assert.are.equal(count({batch_size = 8}), count({batch_size = 8, order = ids}))
  end)

  it("names what is wrong with an order", function()
    local net = net_from(7)
    local function fails(order, pattern, extra)
      local o = options(net, extra)
      o.order = order
      H.raises_match(pattern, function() net:fit(X, Y, o) end)
    end
    fails({1, 2}, "order must list 23 row indices %(one per sample%), got 2")
    local bad = perm:clone()
    bad[5] = 24
    fails(bad, "order%[5%] is 24, expected a row index in 1%.%.23")
    bad[5] = 2.5
    fails(bad, "order%[5%] is 2%.5, expected a row index in 1%.%.23")
    local list = perm:totable()
    list[2] = "x"
    fails(list, "order%[2%] is x, expected a row index in 1%.%.23")
    fails(bp.zeros(23, 1), "order must be a 1%-D tensor of row indices, got 2 dimensions")
    fails("1..23", "order must be a tensor or a list of row indices, or a function%(epoch%) returning one, got string")
    fails(function() return 7 end, "order%(1%) returned number, expected a tensor or a list of row indices")
    fails(function(e) return e == 1 and perm or {} end, "order%(2%) must list 23 row indices", {epochs = 2})
    fails(perm, "order and shuffle = true cannot be combined", {shuffle = true})
  end)
end)
