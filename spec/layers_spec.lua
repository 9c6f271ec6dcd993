-- Behaviour of the layers of issue 3 beyond their gradients: shapes,
-- training and eval mode, Dropout's determinism, containers, summary,
-- save/load of every layer kind, and a CNN that learns.
local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua

local function shape(t) return table.concat(t:shape(), "x") end

-- One network holding every layer kind (and a nested Residual).
local function every_kind()
  return bp.Sequential {
    bp.Conv2d(1, 4, 3, { padding = 1 }), bp.BatchNorm2d(4), bp.ReLU(), bp.MaxPool2d(2),
    bp.Conv2d(4, 6, { 3, 2 }, { stride = { 1, 2 }, padding = { 1, 0 } }), bp.AvgPool2d(2, 1),
    bp.Flatten(), bp.Dropout(0.3), bp.Linear(6 * 3 * 1, 8), bp.BatchNorm1d(8), bp.LayerNorm(8),
    bp.GELU(), bp.Residual(bp.Sequential { bp.Linear(8, 8), bp.ELU(0.5), bp.Residual(bp.SiLU()) }),
    bp.Softplus(2, 10), bp.Identity(), bp.Tanh(), bp.Sigmoid(), bp.LeakyReLU(0.2),
    bp.Linear(8, 3), bp.LogSoftmax(),
  }
end

describe("layer shapes", function()
  it("Conv2d, pools and Flatten give PyTorch's output sizes", function()
    local x = bp.randn(2, 3, 9, 8)
    assert.equal("2x5x9x8", shape(bp.Conv2d(3, 5, 3, { padding = 1 }):forward(x)))
    assert.equal("2x5x5x4", shape(bp.Conv2d(3, 5, 3, 2, 1):forward(x)))
    assert.equal("2x5x8x3", shape(bp.Conv2d(3, 5, { 2, 3 }, { stride = { 1, 2 } }):forward(x)))
    assert.equal("2x3x4x4", shape(bp.MaxPool2d(2):forward(x)))
    assert.equal("2x3x5x4", shape(bp.MaxPool2d(3, 2, 1):forward(x)))
    assert.equal("2x3x8x7", shape(bp.AvgPool2d(2, { stride = 1 }):forward(x)))
    assert.equal("2x216", shape(bp.Flatten():forward(x)))
  end)

  it("Embedding maps N x L ids to N x L x dim, and one vector of ids to L x dim", function()
    local e = bp.Embedding(10, 4)
    local w = e:parameters()[1]
    local y = e:forward(bp.tensor({ { 1, 10, 3 }, { 3, 3, 2 } }))
    assert.equal("2x3x4", shape(y))
    for k = 1, 4 do
      assert.equal(w:get(10, k), y:get(1, 2, k))
      assert.equal(w:get(3, k), y:get(2, 1, k))
    end
    assert.equal("3x4", shape(e:forward(bp.tensor({ 4, 5, 6 }))))
    -- then LayerNorm over the last dim and Flatten into a Linear head
    local net = bp.Sequential { e, bp.LayerNorm(4), bp.Flatten(), bp.Linear(12, 2) }
    assert.equal("5x2", shape(net:forward(bp.ones(5, 3))))
  end)

  it("activations and Softmax keep any shape; Softmax works on the last dim", function()
    local x = bp.randn(2, 3, 4, 5)
    for _, m in ipairs({ bp.GELU(), bp.ELU(), bp.SiLU(), bp.Softplus(), bp.Identity(), bp.Tanh() }) do
      assert.equal("2x3x4x5", shape(m:forward(x)))
    end
    local y = bp.Softmax():forward(x)
    local s = 0
    for k = 1, 5 do s = s + y:get(2, 3, 4, k) end
    assert(math.abs(s - 1) < 1e-6)
  end)

  it("forward's out tensor and backward's gradient follow the N-D shapes", function()
    local net = bp.Sequential { bp.Conv2d(1, 2, 3), bp.ReLU() }
    local x = bp.randn(4, 1, 5, 5)
    local out = bp.zeros(4, 2, 3, 3)
    assert.equal(out, net:forward(x, out))
    local dx = net:backward(bp.ones(4, 2, 3, 3))
    assert.equal("4x1x5x5", shape(dx))
  end)

  it("Identity and a Residual of it: y = x and y = 2x", function()
    local x = bp.randn(3, 4)
    H.assert_same(bp.Identity():forward(x), x, "Identity")
    H.assert_same(bp.Residual(bp.Identity()):forward(x), x * 2, "Residual(Identity)")
  end)
end)

describe("training and eval mode", function()
  it("defaults to training; train() and eval() switch and return self", function()
    local net = bp.Sequential { bp.Linear(3, 3), bp.Dropout() }
    assert.is_true(net:is_training())
    assert.equal(net, net:eval())
    assert.is_false(net:is_training())
    assert.equal(net, net:train())
    assert.is_true(net:is_training())
    net:train(false)
    assert.is_false(net:is_training())
  end)

  it("Dropout drops about p of the values and scales the rest by 1/(1-p); eval is the identity", function()
    local d = bp.Dropout(0.25)
    local x = bp.ones(100, 100)
    local y = d:forward(x)
    local zeros, kept = 0, 0
    for _, v in ipairs(H.flat(y)) do
      if v == 0 then zeros = zeros + 1 else kept = kept + 1; assert.equal(H.f32(1 / 0.75), v) end
    end
    assert(zeros > 2300 and zeros < 2700, "dropped " .. zeros .. " of 10000 at p = 0.25")
    d:eval()
    H.assert_same(d:forward(x), x, "eval")
    assert.same(H.flat(bp.zeros(3, 3)), H.flat(bp.Dropout(1):forward(bp.ones(3, 3))))
    H.assert_same(bp.Dropout(0):forward(x), x, "p = 0")
  end)

  it("Dropout masks follow bp.manual_seed: same seed, same run", function()
    local function run()
      bp.manual_seed(42)
      local net = bp.Sequential { bp.Linear(5, 8), bp.Dropout(0.5), bp.Linear(8, 2) }
      local x, y = bp.randn(16, 5), bp.randn(16, 2)
      local opt = bp.SGD(net, { lr = 0.1 })
      local losses = {}
      for i = 1, 5 do losses[i] = net:train_step(x, y, bp.MSELoss(), opt) end
      return losses, net:forward(x)
    end
    local l1, y1 = run()
    local l2, y2 = run()
    assert.same(l1, l2)
    H.assert_same(y1, y2, "outputs")
    assert(l1[1] ~= l1[2])
  end)

  it("BatchNorm: batch statistics in training (and running ones move), running ones in eval", function()
    local bn = bp.BatchNorm1d(2)
    local x = bp.tensor({ { 1, 10 }, { 3, 20 }, { 5, 60 } })
    local y = bn:forward(x)
    -- each column normalized: mean 0, biased variance 1 (up to eps)
    for c = 1, 2 do
      local m, v = 0, 0
      for i = 1, 3 do m = m + y:get(i, c) / 3 end
      for i = 1, 3 do v = v + (y:get(i, c) - m) ^ 2 / 3 end
      assert(math.abs(m) < 1e-6 and math.abs(v - 1) < 1e-3)
    end
    local b = bn:buffers()
    H.assert_close(b[1], { 0.3, 3.0 }, 1e-6, 1e-6, "running mean")          -- 0.1 * batch mean
    H.assert_close(b[2], { 0.9 + 0.1 * 4, 0.9 + 0.1 * 700 }, 1e-5, 1e-5, "running var (unbiased)")
    bn:eval()
    local r = bn:forward(x)
    H.assert_close(r:get(1, 1), (1 - 0.3) / math.sqrt(1.3 + 1e-5), 1e-6, 1e-6, "eval uses the running stats")
    H.assert_close(bn:buffers()[1], { 0.3, 3.0 }, 1e-6, 1e-6, "eval leaves them alone")
  end)
end)

describe("containers", function()
  it("nested Sequential and Residual keep every parameter in the parent's buffers", function()
    local inner = bp.Sequential { bp.Linear(4, 4), bp.Tanh() }
    local net = bp.Sequential { bp.Linear(3, 4), bp.Residual(inner), bp.Sequential { bp.Linear(4, 2) } }
    assert.equal(16 + 20 + 10, net:num_parameters())
    assert.equal(6, #net:parameters())
    -- y = x + f(x), checked by hand through the views
    local p = net:parameters()
    local x = bp.randn(5, 3)
    local h = x:matmul(p[1]:t()) + bp.ones(5, 1):matmul(p[2]:reshape(1, 4))
    local f = (h:matmul(p[3]:t()) + bp.ones(5, 1):matmul(p[4]:reshape(1, 4)))
    local ft = bp.tensor(f)
    local fflat = ft:reshape(20)
    for i = 1, 20 do fflat:set(i, math.tanh(fflat:get(i))) end
    local r = h + ft
    local want = r:matmul(p[5]:t()) + bp.ones(5, 1):matmul(p[6]:reshape(1, 2))
    H.assert_close(net:forward(x), want, 1e-5, 1e-5, "residual network by hand")
  end)

  it("tostring shows the nesting", function()
    local r = bp.Residual(bp.Sequential { bp.Linear(2, 2), bp.ReLU() })
    assert.equal("backprop.Residual {\n  Linear(2 -> 2)\n  ReLU\n}", tostring(r))
    local net = bp.Sequential { bp.Linear(3, 2), r }
    assert.equal("backprop.Sequential {\n  Linear(3 -> 2)\n  Residual {\n    Linear(2 -> 2)\n    ReLU\n  }\n}",
                 tostring(net))
    assert.equal("backprop.Conv2d(1 -> 8, kernel 3x2, stride 1, padding 1x0)",
                 tostring(bp.Conv2d(1, 8, { 3, 2 }, 1, { 1, 0 })))
  end)

  it("summary lists each layer, its output shape and parameter count", function()
    local net = bp.Sequential {
      bp.Conv2d(1, 8, 3, { padding = 1 }), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(),
      bp.Residual(bp.Linear(8 * 14 * 14, 8 * 14 * 14)), bp.BatchNorm1d(1568), bp.Linear(1568, 10),
    }
    local text = net:summary({ 64, 1, 28, 28 })
    assert.is_string(text)
    local lines = {}
    for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.matches("input 64x1x28x28", lines[1])
    assert.matches("^1%s+Conv2d%(1 %-> 8, kernel 3, stride 1, padding 1%)%s+64x8x28x28%s+80$", lines[3])
    assert.matches("^3%s+MaxPool2d.-%s+64x8x14x14%s+0$", lines[5])
    assert.matches("^4%s+Flatten%s+64x1568%s+0$", lines[6])
    assert.matches("^5%s+  Linear%(1568 %-> 1568%)%s+64x1568%s+" .. (1568 * 1568 + 1568) .. "$", lines[7])
    assert.matches("^6%s+%+ Residual", lines[8])
    assert.matches("total parameters: " .. net:num_parameters(), text)
    assert.matches("non%-trainable state values: 3136", text)
    -- without a shape: the last forward's, else "?"
    assert.matches("input %?", bp.Linear(2, 3):summary())
    local lin = bp.Linear(2, 3)
    lin:forward(bp.zeros(7, 2))
    assert.matches("7x3", lin:summary())
    -- one sample as a vector: shapes without the batch dim
    assert.matches("^backprop.Linear, input 3\n.-\n1%s+Linear%(3 %-> 2%)%s+2%s+8\n", bp.Linear(3, 2):summary({ 3 }))
  end)
end)

describe("save and load", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rmtree(dir) end)

  it("round-trips a network of every layer kind, bit for bit, in both modes", function()
    bp.manual_seed(7)
    local net = every_kind()
    local x = bp.randn(4, 1, 8, 9)
    for _ = 1, 3 do net:forward(x) end          -- move the running statistics
    local p = dir .. "/every.bp"
    net:save(p)
    local loaded = bp.load(p)
    assert.equal(tostring(net), tostring(loaded))
    assert.equal(net:num_parameters(), loaded:num_parameters())
    for i, b in ipairs(net:buffers()) do H.assert_same(loaded:buffers()[i], b, "buffer " .. i) end
    net:eval(); loaded:eval()
    H.assert_same(loaded:forward(x), net:forward(x), "eval outputs")
    net:train(); loaded:train()
    bp.manual_seed(3)
    local a = net:forward(x)
    bp.manual_seed(3)
    H.assert_same(loaded:forward(x), a, "training outputs (same dropout masks)")
  end)

  it("writes each setting by name and the state after them", function()
    local p = dir .. "/bn.bp"
    local bn = bp.BatchNorm1d(3, { eps = 1e-3, momentum = 0.25 })
    bn:forward(bp.randn(4, 3))                 -- running statistics move
    bn:save(p)
    local s = H.read(p)
    assert.equal(3, (B.unpack("<I4", s, 9)))
    local r = H.model_records(s, 1, 17)[1]
    assert.equal(13, r.kind)
    assert.same({ { "num_features", 1, 3 }, { "eps", 3, H.f32(1e-3) }, { "momentum", 3, H.f32(0.25) } },
                r.settings)
    local state = {}
    for _, b in ipairs(bn:buffers()) do H.flat(b, state) end
    assert.same(state, r.state)
  end)

  it("refuses a file whose BatchNorm record is cut short", function()
    local p = dir .. "/bn.bp"
    bp.BatchNorm1d(3):save(p)
    local s = H.read(p)
    -- layer 1's record (from byte 25) ends with its 6 state values: drop the
    -- last one, shorten the record, and give the file a valid checksum
    local len = B.unpack("<I4", s, 21)
    local cut = s:sub(1, 20) .. B.pack("<I4", len - 4) .. s:sub(25, 24 + len - 4) .. s:sub(25 + len, -5)
    local ok, err = pcall(bp.load, H.write(dir .. "/bad.bp", H.with_crc(cut)))
    assert.is_false(ok)
    assert.matches("is corrupt %(layer 1 %(BatchNorm1d%): record of 20 bytes for 6 state values%)", err)
  end)
end)

describe("a CNN end to end", function()
  it("learns a tiny synthetic image problem (fit on N x 1 x 8 x 8)", function()
    bp.manual_seed(11)
    -- class 1: a bright vertical bar, class 2: a horizontal one, at random places
    local n = 64
    local X, Y = bp.randn(n, 1, 8, 8) * 0.3, bp.zeros(n)
    for i = 1, n do
      local c, at = (i % 2) + 1, math.random(2, 7)
      Y:set(i, c)
      for k = 1, 8 do
        if c == 1 then X:set(i, 1, k, at, X:get(i, 1, k, at) + 1) else X:set(i, 1, at, k, X:get(i, 1, at, k) + 1) end
      end
    end
    local net = bp.Sequential {
      bp.Conv2d(1, 4, 3, { padding = 1 }), bp.BatchNorm2d(4), bp.ReLU(), bp.MaxPool2d(2),
      bp.Conv2d(4, 4, 3, { padding = 1 }), bp.ReLU(), bp.AvgPool2d(2),
      bp.Flatten(), bp.Dropout(0.1), bp.Linear(16, 2),
    }
    local loss, opt = bp.CrossEntropyLoss(), nil
    opt = bp.Adam(net, { lr = 0.01 })
    local h = net:fit(X, Y, { loss = loss, optimizer = opt, epochs = 30, batch_size = 16 })
    assert(h.loss[30] < 0.5 * h.loss[1], ("loss %g -> %g"):format(h.loss[1], h.loss[30]))
    net:eval()
    local acc = bp.metrics.accuracy(net:forward(X), Y)
    assert(acc > 0.9, "training accuracy " .. acc)
  end)
end)
