-- fit's on_batch: Lua is called every batch_every batches, and the epoch
-- still runs the same batches in the same order as without it.
local bp = require("backprop")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)

local function setup(seed)
  bp.manual_seed(seed)
  local x = bp.randn(100, 5)
  local y = bp.zeros(100, 1)
  for i = 1, 100 do y:set(i, 1, x:get(i, 1) > 0 and 2 or 1) end
  local net = bp.Sequential{bp.Linear(5, 8), bp.Tanh(), bp.Linear(8, 2)}
  return net, x, y, bp.CrossEntropyLoss(), bp.SGD(net, {lr = 0.1, momentum = 0.9})
end

local function weights(net)
  local out = {}
  for _, p in ipairs(net:parameters()) do
    for _, v in ipairs(p:reshape(p:numel()):totable()) do out[#out + 1] = v end
  end
  return out
end

describe("fit with on_batch", function()
  it("calls back every batch_every batches and trains exactly as without it", function()
    local net, x, y, loss, opt = setup(1)
    local h1 = net:fit(x, y, {loss = loss, optimizer = opt, epochs = 2, batch_size = 10})
    local w1 = weights(net)

    local net2, x2, y2, loss2, opt2 = setup(1)
    local calls, parts = {}, {}
    local h2 = net2:fit(x2, y2, {
      loss = loss2, optimizer = opt2, epochs = 2, batch_size = 10, batch_every = 3,
      on_batch = function(epoch, batch, l)
        calls[#calls + 1] = epoch .. ":" .. batch
        parts[#parts + 1] = l
      end,
    })
    assert.same({"1:3", "1:6", "1:9", "1:10", "2:3", "2:6", "2:9", "2:10"}, calls)
    assert.same(w1, weights(net2))
    -- The parts' losses, weighted by their samples, give the epoch's loss.
    local e1 = (parts[1] * 30 + parts[2] * 30 + parts[3] * 30 + parts[4] * 10) / 100
    assert.is_true(math.abs(e1 - h2.loss[1]) < 1e-12)
    assert.is_true(math.abs(h1.loss[2] - h2.loss[2]) < 1e-12)
  end)

  it("stops when on_batch returns false, after the batches run so far", function()
    local net, x, y, loss, opt = setup(2)
    local h = net:fit(x, y, {
      loss = loss, optimizer = opt, epochs = 5, batch_size = 10, batch_every = 4,
      on_batch = function(epoch, batch) return not (epoch == 2 and batch == 4) end,
    })
    assert.equal(2, h.stopped_epoch)
    assert.equal(2, #h.loss)
    -- The same as one full epoch and 4 batches of the next, by hand.
    local net2, x2, y2, loss2, opt2 = setup(2)
    local trainer = internal.trainer(net2, x2, y2, loss2, opt2, {batch_size = 10, shuffle = true})
    trainer:run(1, 0)
    trainer:run(1, 4)
    assert.same(weights(net2), weights(net))
  end)

  it("rejects bad options by name", function()
    local net, x, y, loss, opt = setup(3)
    local function fit(o)
      o.loss, o.optimizer = loss, opt
      return pcall(net.fit, net, x, y, o)
    end
    local ok, err = fit({on_batch = 5})
    assert.is_false(ok)
    assert.matches("on_batch must be a function, got number", err, 1, true)
    ok, err = fit({batch_every = 2})
    assert.matches("batch_every needs on_batch", err, 1, true)
    ok, err = fit({batch_every = 0, on_batch = print})
    assert.matches("batch_every must be a positive integer, got 0", err, 1, true)
  end)
end)

describe("fit's validation in chunks", function()
  for _, red in ipairs({"mean", "sum", "none"}) do
    it("gives the loss of the whole set at once (reduction " .. red .. ")", function()
      bp.manual_seed(9)
      local x, vx = bp.randn(64, 5), bp.randn(1000, 5)    -- 1000 = 3 x 256 + 232
      local y, vy = bp.zeros(64), bp.zeros(1000)
      for i = 1, 64 do y:set(i, (i % 3) + 1) end
      for i = 1, 1000 do vy:set(i, (i % 3) + 1) end
      local net = bp.Sequential{bp.Linear(5, 16), bp.ReLU(), bp.Linear(16, 3)}
      local loss = bp.CrossEntropyLoss{reduction = red}
      assert.equal(red, loss:reduction())
      local h = net:fit(x, y, {loss = loss, optimizer = bp.Adam(net), epochs = 2,
                               batch_size = 16, validation = {vx, vy}})
      local whole = loss:forward(net:forward(vx), vy)
      if type(whole) ~= "number" then whole = whole:sum() end
      assert.is_true(math.abs(h.val_loss[2] - whole) <= 1e-5 * math.abs(whole),
                     ("%.9g vs %.9g"):format(h.val_loss[2], whole))
    end)
  end
end)

describe("fit on uint8 inputs", function()
  local function images(seed)
    bp.manual_seed(seed)
    local n = 60
    local x8 = (bp.rand(n, 1, 4, 4) * 255):byte()
    local y = bp.zeros(n)
    for i = 1, n do y:set(i, (i % 3) + 1) end
    return x8, y
  end
  local function net_for()
    return bp.Sequential{bp.Flatten(), bp.Linear(16, 8), bp.ReLU(), bp.Linear(8, 3)}
  end

  it("trains exactly as on the same data converted to float beforehand", function()
    local x8, y = images(1)
    local xf = x8:float() * (1 / 255)
    bp.manual_seed(7)
    local a = net_for()
    local ha = a:fit(x8, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(a),
                             epochs = 3, batch_size = 8, input_scale = 1 / 255,
                             validation = {x8, y}})
    bp.manual_seed(7)
    local b = net_for()
    local hb = b:fit(xf, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(b),
                             epochs = 3, batch_size = 8, validation = {xf, y}})
    assert.same(weights(b), weights(a))
    assert.same(hb.loss, ha.loss)
    assert.same(hb.val_loss, ha.val_loss)
  end)

  it("works with on_batch and without shuffling", function()
    local x8, y = images(2)
    local net = net_for()
    local calls = 0
    net:fit(x8, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1}),
                    shuffle = false, input_scale = 0.01, on_batch = function() calls = calls + 1 end,
                    batch_size = 16})
    assert.equal(4, calls)
  end)

  it("rejects input_scale on float inputs and strided uint8 views", function()
    local x8, y = images(3)
    local net = net_for()
    local opt = bp.SGD(net, {lr = 0.1})
    local ok, err = pcall(net.fit, net, x8:float(), y, {loss = bp.CrossEntropyLoss(),
                          optimizer = opt, input_scale = 0.5})
    assert.is_false(ok)
    assert.matches("input_scale applies to uint8 inputs only", err, 1, true)
    ok, err = pcall(net.fit, net, x8, y, {loss = bp.CrossEntropyLoss(),
                    optimizer = opt, input_scale = -1})
    assert.matches("input_scale must be a finite number > 0, got -1", err, 1, true)
    local wide = bp.zeros({60, 1, 4, 8}, "uint8")
    ok, err = pcall(net.fit, net, wide:narrow(4, 1, 4), y, {loss = bp.CrossEntropyLoss(),
                    optimizer = opt, input_scale = 0.5})
    assert.is_false(ok)
    assert.matches("must be contiguous", err, 1, true)
    ok, err = pcall(net.train_step, net, x8, y, bp.CrossEntropyLoss(), opt)
    assert.matches("expected a float32 tensor, got uint8", err, 1, true)
  end)
end)

describe("fit's restore_best with BatchNorm", function()
  it("puts back the best epoch's running statistics with its weights", function()
    bp.manual_seed(21)
    local x, vx = bp.randn(64, 4), bp.randn(32, 4)
    local y, vy = bp.zeros(64), bp.zeros(32)
    for i = 1, 64 do y:set(i, x:get(i, 1) > 0 and 2 or 1) end
    for i = 1, 32 do vy:set(i, 1) end          -- a validation set it cannot fit
    local net = bp.Sequential{bp.Linear(4, 8), bp.BatchNorm1d(8), bp.ReLU(), bp.Linear(8, 2)}
    local seen = {}
    local h = net:fit(x, y, {
      loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.5}), epochs = 8,
      batch_size = 16, validation = {vx, vy}, restore_best = true,
      on_epoch = function(epoch)
        seen[epoch] = {weights(net), net:buffers()[1]:totable(), net:buffers()[2]:totable()}
      end,
    })
    assert.is_true(h.restored, "the case must restore an earlier epoch")
    local best = seen[h.best_epoch]
    assert.same(best[1], weights(net))
    assert.same(best[2], net:buffers()[1]:totable())
    assert.same(best[3], net:buffers()[2]:totable())
  end)
end)
