-- fit keeps everything it needs in the call (its trainer): a fit run from
-- another fit's hooks on the same network leaves the outer epoch's order
-- alone, and losses averaged over batches or validation chunks weigh each
-- piece as the loss does (class weights included), so they equal the loss
-- of all the samples at once, as loss:forward and PyTorch define it.
-- (A fit abandoned in a coroutine: training_control_spec.lua.)
local bp = require("backprop")
local H = require("helper")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)

local function rows(t, from, count)
  return t:narrow(1, from, count):clone()
end

local function data(seed, n)
  bp.manual_seed(seed)
  local x, y = bp.randn(n, 4), bp.zeros(n)
  for i = 1, n do y[i] = (x[i][1] > 0 and 2 or 1) + (x[i][2] > 1 and 1 or 0) end
  return x, y
end

-- n labels 1, 2, 3, 1, 2, ...
local function cycle(n)
  local y = bp.zeros(n)
  for i = 1, n do y[i] = (i - 1) % 3 + 1 end
  return y
end

local function mlp(seed)
  bp.manual_seed(seed)
  return bp.Sequential{bp.Linear(4, 6), bp.Tanh(), bp.Linear(6, 3)}
end

describe("fit inside another fit's hooks, on the same network", function()
  local function inner(x2, y2, loss)
    return function(net)
      net:fit(x2, y2, {loss = loss, optimizer = bp.SGD(net, {lr = 0.05}), batch_size = 10, shuffle = true})
    end
  end

  it("from on_batch: the outer epoch goes on in its own order", function()
    local _, y = data(1, 40)
    local x8 = (bp.rand(40, 4) * 255):byte()   -- uint8 rows are gathered through the order
    local x = x8:float() * (1 / 255)
    local loss = bp.CrossEntropyLoss()
    local x2, y2 = data(2, 40)
    local inner_fit = inner(x2, y2, loss)
    -- Outer: file order, batches of 10; after batch 2, an inner fit that
    -- shuffles the same number of samples.
    local a = mlp(3)
    local oa = bp.SGD(a, {lr = 0.1, momentum = 0.9})
    bp.manual_seed(9)
    local h = a:fit(x8, y, {loss = loss, optimizer = oa, batch_size = 10, shuffle = false, batch_every = 2,
                            input_scale = 1 / 255,
                            on_batch = function(_, batch) if batch == 2 then inner_fit(a) end end})
    -- By hand: batches 1 and 2, the inner fit, then batches 3 and 4.
    local b = mlp(3)
    local ob = bp.SGD(b, {lr = 0.1, momentum = 0.9})
    local l = {}
    l[1] = b:train_step(rows(x, 1, 10), rows(y, 1, 10), loss, ob)
    l[2] = b:train_step(rows(x, 11, 10), rows(y, 11, 10), loss, ob)
    bp.manual_seed(9)
    inner_fit(b)
    l[3] = b:train_step(rows(x, 21, 10), rows(y, 21, 10), loss, ob)
    l[4] = b:train_step(rows(x, 31, 10), rows(y, 31, 10), loss, ob)
    H.assert_same(H.snapshot(a), H.snapshot(b), "parameters")
    H.near(h.loss[1], (l[1] + l[2] + l[3] + l[4]) / 4, 1e-12, "epoch loss")
  end)

  it("from on_batch, shuffled: the outer epoch keeps the order it drew", function()
    local x, y = data(1, 40)
    local loss = bp.CrossEntropyLoss()
    local inner_fit = inner(x, y, loss)
    local a = mlp(3)
    bp.manual_seed(9)
    a:fit(x, y, {loss = loss, optimizer = bp.SGD(a, {lr = 0.1}), batch_size = 10, batch_every = 2,
                 on_batch = function(_, batch) if batch == 2 then inner_fit(a) end end})
    -- By hand: the first two batches of a trainer's epoch, the inner fit,
    -- the rest of that epoch.
    local b = mlp(3)
    bp.manual_seed(9)
    local t = internal.trainer(b, x, y, loss, bp.SGD(b, {lr = 0.1}), {batch_size = 10, shuffle = true})
    t:run(1, 2)
    inner_fit(b)
    t:run(3, 0)
    H.assert_same(H.snapshot(a), H.snapshot(b), "parameters")
  end)

  it("from on_epoch: the next outer epoch draws its own order", function()
    local x, y = data(4, 30)
    local loss = bp.CrossEntropyLoss()
    local inner_fit = function(net)
      net:fit(x, y, {loss = loss, optimizer = bp.SGD(net, {lr = 0.05}), batch_size = 7, epochs = 2})
    end
    local a = mlp(5)
    bp.manual_seed(6)
    a:fit(x, y, {loss = loss, optimizer = bp.Adam(a), batch_size = 8, epochs = 2,
                 on_epoch = function(e) if e == 1 then inner_fit(a) end end})
    local b = mlp(5)
    bp.manual_seed(6)
    local t = internal.trainer(b, x, y, loss, bp.Adam(b), {batch_size = 8, shuffle = true})
    t:run(1, 0)
    inner_fit(b)
    t:run(1, 0)
    H.assert_same(H.snapshot(a), H.snapshot(b), "parameters")
  end)
end)

describe("fit's means with class weights", function()
  -- 300 rows: one validation chunk of 256 and one of 44, whose weight sums
  -- differ from their row counts.
  local function case(lossname)
    bp.manual_seed(12)
    local x, vx = bp.randn(64, 4), bp.randn(300, 4)
    local y, vy = cycle(64), bp.zeros(300)
    for i = 1, 300 do vy[i] = (i <= 256) and (i % 2 + 1) or 3 end
    local layers = {bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 3)}
    if lossname == "NLLLoss" then layers[#layers + 1] = bp.LogSoftmax() end
    local net = bp.Sequential(layers)
    local loss = bp[lossname]{weight = {1, 1, 10}}
    return net, loss, x, y, vx, vy
  end

  for _, name in ipairs{"CrossEntropyLoss", "NLLLoss"} do
    it(name .. ": the validation loss is the loss of the whole set", function()
      local net, loss, x, y, vx, vy = case(name)
      local h = net:fit(x, y, {loss = loss, optimizer = bp.SGD(net, {lr = 0.05}), epochs = 3, batch_size = 16,
                               validation = {vx, vy}})
      local whole = loss:forward(net:forward(vx), vy)
      H.near(h.val_loss[3], whole, 1e-6, "validation loss")
      -- The chunk means averaged by rows (the old rule) are far from it:
      -- the case tells the two apart.
      local out = net:forward(vx)
      local by_rows = (loss:forward(out:narrow(1, 1, 256), vy:narrow(1, 1, 256)) * 256 +
                       loss:forward(out:narrow(1, 257, 44), vy:narrow(1, 257, 44)) * 44) / 300
      assert(math.abs(by_rows - whole) > 1e-2 * whole, ("%g vs %g"):format(by_rows, whole))
    end)
  end

  it("the training loss of an epoch weighs each batch by the sum of its labels' weights", function()
    local _, loss, x, y = case("CrossEntropyLoss")
    local a, b = mlp(7), mlp(7)
    local h = a:fit(x, y, {loss = loss, optimizer = bp.SGD(a, {lr = 0.1}), batch_size = 20, shuffle = false})
    local ob, total, weight = bp.SGD(b, {lr = 0.1}), 0, 0
    for start = 1, 64, 20 do
      local k = math.min(20, 65 - start)
      local yb = rows(y, start, k)
      local l = b:train_step(rows(x, start, k), yb, loss, ob)
      local w = 0
      for i = 1, k do w = w + ({1, 1, 10})[yb[i]] end
      total, weight = total + l * w, weight + w
    end
    H.near(h.loss[1], total / weight, 1e-12, "epoch loss")
  end)
end)

describe("fit on strided views", function()
  it("trains on a view as on its copy, and sees changes made to it between epochs", function()
    bp.manual_seed(13)
    local wide, vwide = bp.randn(30, 6), bp.randn(20, 6)
    local y, vy = cycle(30), cycle(20)
    local x, vx = wide:narrow(2, 2, 4), vwide:narrow(2, 3, 4)   -- strided views
    local function run(xs, vxs, changing)
      local net = mlp(14)
      bp.manual_seed(15)
      return net:fit(xs, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1}), epochs = 3,
                             batch_size = 8, validation = {vxs, vy},
                             on_epoch = function(e) if e == 1 then changing[1][2] = 0.5 end end}), net
    end
    local xc, vxc = x:clone(), vx:clone()
    local ha, a = run(x, vx, x)                       -- changes the view after epoch 1
    local hb, b = run(xc, vxc, xc)                    -- the same change, on a copy
    H.assert_same(H.snapshot(a), H.snapshot(b), "parameters")
    assert.are.same(hb.val_loss, ha.val_loss)
    assert.are.equal(0.5, wide[1][3])
  end)
end)
