-- The per-sample hot path (src/core/kernels/small.c): the small-batch Linear
-- kernels, the fused plain-SGD step, and every SIMD path the CPU has
-- (forced through BACKPROP_ISA in a child process).
local bp = require("backprop")
local H = require("helper")
local assert = require("luassert")

local function mlp(nin, nhid, nout)
  return bp.Sequential{bp.Linear(nin, nhid), bp.Sigmoid(), bp.Linear(nhid, nout), bp.Sigmoid()}
end

-- Two copies of one freshly initialized network.
local function twins(nin, nhid, nout)
  local a = mlp(nin, nhid, nout)
  local b = mlp(nin, nhid, nout)
  H.set_params(b, H.snapshot(a))
  return a, b
end

describe("fused plain SGD step", function()
  -- Batches 1 and 3 take the small kernels, 40 x 30 the fused kernel for
  -- larger batches, 40 x 200 the product path with a separate update.
  for _, case in ipairs{{1, 30}, {3, 30}, {40, 30}, {40, 200}, {5, 7}} do
    local n, nin = case[1], case[2]
    it(string.format("equals zero_grad, backward and step bit for bit (batch %d, %d inputs)", n, nin), function()
      bp.manual_seed(7)
      local fused, manual = twins(nin, 16, 3)
      local loss = bp.MSELoss()
      local o1 = bp.SGD(fused, {lr = 0.05})
      local o2 = bp.SGD(manual, {lr = 0.05})
      for _ = 1, 5 do
        local x, y = bp.randn(n, nin), bp.rand(n, 3)
        local l1 = fused:train_step(x, y, loss, o1)
        local l2 = H.manual_step(manual, x, y, loss, o2)
        assert.are.equal(l2, l1)
      end
      H.assert_same(H.snapshot(fused), H.snapshot(manual), "parameters")
      H.assert_same(H.snapshot(fused, 2), H.snapshot(manual, 2), "gradients")
    end)
  end

  it("writes gradients that earlier backward calls left (they do not leak in)", function()
    bp.manual_seed(8)
    local a, b = twins(5, 4, 2)
    local loss, x, y = bp.MSELoss(), bp.randn(1, 5), bp.rand(1, 2)
    a:forward(bp.randn(1, 5))
    a:backward(bp.randn(1, 2))          -- stale gradients in a
    a:train_step(x, y, loss, bp.SGD(a, {lr = 0.1}))
    b:train_step(x, y, loss, bp.SGD(b, {lr = 0.1}))
    H.assert_same(H.snapshot(a), H.snapshot(b), "parameters")
    H.assert_same(H.snapshot(a, 2), H.snapshot(b, 2), "gradients")
  end)

  it("trains with momentum or weight decay, and with clipping (not fused)", function()
    for _, opts in ipairs{{momentum = 0.9}, {weight_decay = 0.01}} do
      bp.manual_seed(9)
      local net = mlp(4, 8, 1)
      local x = bp.randn(64, 4)
      local y = (x:select(2, 1) + x:select(2, 2)):gt(0):float():reshape(64, 1)
      opts.lr = 0.5
      local h = net:fit(x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, opts), epochs = 30,
                               batch_size = 1, clip_grad_value = 10})
      assert.is_true(h.loss[30] < h.loss[1])
    end
  end)
end)

describe("small-batch Linear kernels", function()
  it("forward of single samples matches the batched forward", function()
    bp.manual_seed(10)
    for _, nin in ipairs{1, 3, 16, 17, 30, 33} do
      local net = bp.Linear(nin, 37)
      local x = bp.randn(9, nin)
      local all = net:forward(x):clone()
      for i = 1, 9 do
        H.assert_close(net:forward(x:narrow(1, i, 1):clone()), all:narrow(1, i, 1), 1e-5, 1e-5,
                       "row " .. i .. " of " .. nin .. " inputs")
      end
    end
  end)

  it("backward of a small batch matches the batched backward", function()
    bp.manual_seed(11)
    for _, nin in ipairs{1, 5, 16, 31} do
      local small, big = bp.Linear(nin, 19), bp.Linear(nin, 19)
      H.set_params(big, H.snapshot(small))
      local x, dy = bp.randn(3, nin), bp.randn(3, 19)
      -- the same 3 samples padded to 8 with zero gradients: the batched path
      local x8, dy8 = bp.zeros(8, nin), bp.zeros(8, 19)
      x8:narrow(1, 1, 3):copy(x)
      dy8:narrow(1, 1, 3):copy(dy)
      small:zero_grad(); big:zero_grad()
      small:forward(x); big:forward(x8)
      local dx = small:backward(dy):clone()
      local dx8 = big:backward(dy8)
      H.assert_close(dx, dx8:narrow(1, 1, 3), 1e-5, 1e-5, "dx")
      H.assert_close(H.snapshot(small, 2), H.snapshot(big, 2), 1e-5, 1e-5, "gradients")
    end
  end)
end)

describe("every kernel path", function()
  -- A child process per ISA (BACKPROP_ISA is read once per process);
  -- one the CPU lacks falls back to the best it has, so this runs anywhere.
  local script = [[
    package.path, package.cpath = %q, %q
    local bp = require("backprop")
    bp.manual_seed(3)
    local net = bp.Sequential{bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()}
    local x = bp.randn(50, 30)
    local y = x:select(2, 1):gt(0):float():reshape(50, 1)
    local h = net:fit(x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net, {lr = 0.1}),
                             epochs = 3, batch_size = 1})
    local m = bp.Sequential{bp.Linear(30, 8), bp.Tanh(), bp.Linear(8, 2)}
    m:fit(x, bp.randn(50, 2), {loss = bp.MSELoss(), epochs = 2, batch_size = 3,
                               optimizer = bp.SGD(m, {lr = 0.01, momentum = 0.9, nesterov = true})})
    local out = {h.loss[3]}
    for _, t in ipairs{net:parameters()} do for _, v in ipairs(require("helper").flat(t)) do out[#out + 1] = v end end
    for _, t in ipairs{m:parameters()} do for _, v in ipairs(require("helper").flat(t)) do out[#out + 1] = v end end
    for i, v in ipairs(out) do out[i] = string.format("%%.9g", v) end
    io.write(table.concat(out, " "))
  ]]
  local lua = require("shell").lua   -- the interpreter under test

  local function run(isa)
    local code = string.format(script, package.path, package.cpath)
    local p = assert(io.popen(string.format("BACKPROP_ISA=%s %s -e %q", isa, lua, code)))
    local text = p:read("*a")
    p:close()
    local vals = {}
    for v in text:gmatch("%S+") do vals[#vals + 1] = tonumber(v) end
    return vals
  end

  it("portable, AVX2 and AVX-512 train to the same values within float32 rounding", function()
    local ref = run("portable")
    assert.is_true(#ref > 500, "the child process printed its results")
    for _, isa in ipairs{"avx2", "avx512"} do
      local got = run(isa)
      assert.are.equal(#ref, #got)
      H.assert_close(got, ref, 1e-5, 1e-4, isa .. " vs portable")
    end
  end)
end)
