-- Training with 2 threads gives the same bits as with 1: the products
-- split into blocks each computed exactly as in the whole product (a
-- layer's step by neurons: its outputs, its weight gradient's rows and
-- their update) and the elementwise work (zero_grad, the updates, batch
-- loads) in contiguous pieces each computed exactly as inline.
local bp = require("backprop")
local H = require("helper")

-- Trains a network from build() on `rows` random samples of `features`
-- (10 classes), 2 epochs in batches of `batch`, at `threads` threads;
-- returns the epoch losses and the weights. bytes: uint8 inputs scaled
-- by 1/255 and a shuffled order (the batches gathered and converted).
local function trained(threads, seed, build, rows, features, batch, optimizer, bytes)
  local before = bp.get_num_threads()
  bp.set_num_threads(threads)
  bp.manual_seed(seed)
  local net = build()
  local x = bytes and (bp.rand(rows, features) * 255):byte() or bp.randn(rows, features)
  local t = {}
  for i = 1, rows do t[i] = (i * 7) % 10 + 1 end
  local h = net:fit(x, bp.tensor(t), {loss = bp.CrossEntropyLoss(), epochs = 2, batch_size = batch,
                                      optimizer = optimizer(net), shuffle = bytes or false,
                                      input_scale = bytes and 1 / 255 or nil})
  bp.set_num_threads(before)
  return h.loss, H.snapshot(net)
end

local function same_bits(...)
  local l1, w1 = trained(1, ...)
  local l2, w2 = trained(2, ...)
  assert.are.same(l1, l2)
  H.assert_same(w2, w1, "weights")
end

-- 300k parameters: large enough for every split (products and updates;
-- the first two layers' steps split by neurons, the ReLUs in their jobs).
local function mlp()
  return bp.Sequential{bp.Linear(500, 512), bp.ReLU(), bp.Linear(512, 64), bp.ReLU(), bp.Linear(64, 10)}
end

describe("training with 2 threads", function()
  for _, opts in ipairs{{lr = 0.05, momentum = 0.9},
                        {lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 1e-3},
                        {lr = 0.05, weight_decay = 1e-3}, {lr = 0.05}} do
    local what = (opts.momentum and "momentum " or "") .. (opts.nesterov and "nesterov " or "") ..
                 (opts.weight_decay and "weight decay" or "plain")
    it("gives the same losses and weights bit for bit as 1 thread (SGD " .. what .. ")", function()
      same_bits(11, mlp, 96, 500, 32, function(net) return bp.SGD(net, opts) end)
    end)
  end

  for _, make in ipairs{"Adam", "RMSprop"} do
    it("gives the same losses and weights bit for bit as 1 thread (" .. make .. ")", function()
      same_bits(11, mlp, 96, 500, 32, function(net) return bp[make](net, {lr = 1e-3}) end)
    end)
  end

  local function sgd(net) return bp.SGD(net, {lr = 0.01, momentum = 0.9}) end

  it("gives the same bits as 1 thread from shuffled uint8 inputs (batches gathered on both threads)", function()
    same_bits(7, mlp, 400, 500, 64, sgd, true)
  end)

  -- A ReLU that starts a Residual's body has the skip's gradient joined
  -- to its own input's gradient, so the Linear before it must not run its
  -- backward (backward_act); one before a Residual may.
  it("gives the same bits as 1 thread with a Residual (ReLU first in the body)", function()
    same_bits(5, function()
      return bp.Sequential{bp.Linear(300, 256), bp.Residual(bp.Sequential{bp.ReLU(), bp.Linear(256, 256)}),
                           bp.ReLU(), bp.Linear(256, 10)}
    end, 96, 300, 32, sgd)
  end)

  it("gives the same bits as 1 thread with a Residual (ReLU before the Residual)", function()
    same_bits(5, function()
      return bp.Sequential{bp.Linear(300, 256), bp.ReLU(),
                           bp.Residual(bp.Sequential{bp.Linear(256, 256), bp.ReLU(), bp.Linear(256, 256)}),
                           bp.Linear(256, 10)}
    end, 96, 300, 32, sgd)
  end)

  it("gives the same bits over thousands of quick jobs (tasks claimed by whichever thread is free)", function()
    -- batches of 8: each step hands the pool a few short products and
    -- updates, one after another, so workers often wake late or find the
    -- caller has taken their share
    same_bits(3, function() return bp.Sequential{bp.Linear(300, 1024), bp.ReLU(), bp.Linear(1024, 10)} end,
              800, 300, 8, sgd)
  end)
end)

describe("bp.clock", function()
  it("is a monotonic wall clock in seconds", function()
    local a = bp.clock()
    local c0 = os.clock()
    while os.clock() - c0 < 0.02 do end   -- busy: wall time passes too
    local b = bp.clock()
    assert.is_number(a)
    assert.is_true(b >= a + 0.015 and b < a + 5, ("%g then %g"):format(a, b))
  end)
end)
