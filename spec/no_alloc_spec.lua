-- Steady-state loops allocate nothing: every allocation of the C core goes
-- through one counted allocator (tensor.h, bp_alloc_count), so after a
-- warm-up the count must not move, however many steps follow.
local bp = require("backprop")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)

local function data(n, d, c, seed)
  bp.manual_seed(seed)
  local x = bp.randn(n, d)
  local y = bp.zeros(n, 1)
  for i = 1, n do y:set(i, 1, (i % c) + 1) end
  return x, y
end

-- fit's trainer (made once per fit call) over x and y.
local function trainer(net, x, y, loss, opt, batch)
  return internal.trainer(net, x, y, loss, opt, {batch_size = batch, shuffle = true})
end

-- Allocations made by f() after one warm-up call.
local function allocs(f, rounds)
  f()
  local before = internal.alloc_count()
  for _ = 1, rounds or 50 do f() end
  return internal.alloc_count() - before
end

describe("the core's allocation counter", function()
  it("counts: creating a tensor or a network allocates", function()
    local before = internal.alloc_count()
    local t = bp.zeros(3)
    assert.is_true(internal.alloc_count() > before)
    before = internal.alloc_count()
    local net = bp.Sequential{bp.Linear(3, 2)}
    net:forward(t)
    assert.is_true(internal.alloc_count() > before)
  end)

  it("sees a larger batch grow the scratch once, then nothing", function()
    local net = bp.Sequential{bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 2)}
    local small, big = bp.randn(2, 4), bp.randn(64, 4)
    net:forward(small)
    local before = internal.alloc_count()
    local out = bp.zeros(64, 2)
    local after_out = internal.alloc_count()
    assert.is_true(after_out > before)
    net:forward(big, out)
    assert.is_true(internal.alloc_count() > after_out)   -- scratch grew
    assert.equal(0, allocs(function() net:forward(big, out) end))
  end)
end)

describe("no allocation in the steady state", function()
  local classic = function()
    return bp.Sequential{bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()}
  end

  it("fit, classic recipe, one sample per update, shuffled", function()
    local x = bp.randn(100, 30)
    local y = bp.rand(100, 1)
    local net = classic()
    local t = trainer(net, x, y, bp.MSELoss(), bp.SGD(net, {lr = 0.01}), 1)
    assert.equal(0, allocs(function() t:run(1, 0) end, 20))
  end)

  it("fit epochs with Adam, momentum SGD and clipping-free mini-batches", function()
    local x, y = data(200, 20, 4, 1)
    local net = bp.Sequential{bp.Linear(20, 32), bp.ReLU(), bp.Linear(32, 4)}
    local loss = bp.CrossEntropyLoss()
    for _, opt in ipairs({bp.Adam(net), bp.SGD(net, {lr = 0.01, momentum = 0.9}),
                          bp.RMSprop(net), bp.AdamW(net), bp.Adagrad(net), bp.Rprop(net)}) do
      local t = trainer(net, x, y, loss, opt, 32)
      assert.equal(0, allocs(function() t:run(1, 0) end, 10))
    end
  end)

  it("a whole fit call allocates as much in the core for 20 epochs as for 2", function()
    local x, y = data(120, 10, 3, 6)
    local vx, vy = data(50, 10, 3, 7)
    local net = bp.Sequential{bp.Linear(10, 16), bp.ReLU(), bp.Linear(16, 3)}
    local function fit(epochs)
      local opt = bp.SGD(net, {lr = 0.01, momentum = 0.9})
      local before = internal.alloc_count()
      net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = opt, epochs = epochs, batch_size = 16,
                     validation = {vx, vy}, clip_grad_norm = 1, on_batch = function() end, batch_every = 3})
      return internal.alloc_count() - before
    end
    fit(1)   -- the network's scratch grows once
    local two = fit(2)
    assert.is_true(two > 0)      -- the trainer's buffers, made once per call
    assert.are.equal(two, fit(20))
  end)

  it("train_step, forward into a tensor, backward", function()
    local x, y = data(16, 20, 4, 2)
    local net = bp.Sequential{bp.Linear(20, 32), bp.Tanh(), bp.Linear(32, 4)}
    local loss, opt = bp.CrossEntropyLoss(), bp.SGD(net, {lr = 0.1})
    local out = bp.zeros(16, 4)
    assert.equal(0, allocs(function() net:train_step(x, y, loss, opt) end))
    assert.equal(0, allocs(function() net:forward(x, out) end))
    assert.equal(0, allocs(function()
      net:forward(x, out)
      loss:forward(out, y)
      net:zero_grad()
      net:backward(loss:backward())
      opt:step()
    end))
  end)

  it("the game path: a Lua table in, a Lua table out", function()
    bp.manual_seed(3)
    local net = bp.Sequential{bp.Linear(16, 32), bp.Tanh(), bp.Linear(32, 32),
                              bp.Tanh(), bp.Linear(32, 4)}
    local x, out = {}, {}
    for i = 1, 16 do x[i] = i / 16 end
    assert.equal(0, allocs(function() net:forward(x, out) end, 1000))
  end)

  it("a CNN with dropout and batch norm, in training mode", function()
    bp.manual_seed(4)
    local net = bp.Sequential{
      bp.Conv2d(1, 4, 3, 1, 1), bp.BatchNorm2d(4), bp.ReLU(), bp.MaxPool2d(2),
      bp.Flatten(), bp.Dropout(0.25), bp.Linear(4 * 4 * 4, 3),
    }
    local x = bp.randn(12, 1, 8, 8)
    local y = bp.zeros(12, 1)
    for i = 1, 12 do y:set(i, 1, (i % 3) + 1) end
    local loss, opt = bp.CrossEntropyLoss(), bp.Adam(net)
    local t = trainer(net, x, y, loss, opt, 4)
    assert.equal(0, allocs(function() t:run(1, 0) end, 10))
  end)

  it("with two threads", function()
    bp.set_num_threads(2)
    local x, y = data(256, 256, 8, 5)
    local net = bp.Sequential{bp.Linear(256, 512), bp.ReLU(), bp.Linear(512, 8)}
    local loss, opt = bp.CrossEntropyLoss(), bp.SGD(net, {lr = 0.01, momentum = 0.9})
    local t = trainer(net, x, y, loss, opt, 64)
    local n = allocs(function() t:run(1, 0) end, 5)
    bp.set_num_threads(1)
    assert.equal(0, n)
  end)

  it("every optimizer's step split over two threads", function()
    bp.set_num_threads(2)
    local x, y = data(128, 256, 8, 5)
    -- the LayerNorm keeps the update out of the backward pass: a whole
    -- step over 135k parameters, split over the pool
    local net = bp.Sequential{bp.Linear(256, 512), bp.LayerNorm(512), bp.ReLU(), bp.Linear(512, 8)}
    local loss, n = bp.CrossEntropyLoss(), {}
    for _, opt in ipairs({bp.SGD(net, {lr = 0.01, momentum = 0.9}), bp.Adam(net, {amsgrad = true}),
                          bp.RMSprop(net, {centered = true, momentum = 0.5}), bp.Adagrad(net), bp.Rprop(net)}) do
      local t = trainer(net, x, y, loss, opt, 64)
      n[#n + 1] = allocs(function() t:run(1, 0) end, 5)
    end
    bp.set_num_threads(1)
    assert.same({0, 0, 0, 0, 0}, n)
  end)
end)
