-- Kernels: every fast gemm path and the SIMD transcendentals against plain
-- double-precision loops, on every instruction set this CPU can run
-- (internal.set_isa forces one), threads 1 vs 2 bit for bit, and training on
-- each ISA against the portable path.
local bp = require("backprop")
local H = require("helper")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)

local ISAS = internal.isas()
local START_ISA = internal.isa()

-- A deterministic stream of numbers in [-1, 1) (independent of bp's RNG).
local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 1073741824 - 1
  end
end

local function rand_tensor(n, rnd)
  local t = {}
  for i = 1, n do t[i] = rnd() end
  return bp.tensor(t)
end

-- C = alpha op(A) op(B) + beta C in double, with a rigorous error bound
-- per element: (K + 2) u (|alpha| sum |a b| + |beta c|), u = 2^-24.
local function check_gemm(c)
  local rnd = lcg(c.seed or 7)
  local M, N, K, ta, tb = c.M, c.N, c.K, c.ta, c.tb
  local offa, offb, offc = c.offa or 0, c.offb or 0, c.offc or 0
  local lda = (ta and M or K) + (c.pad or 0)
  local ldb = (tb and K or N) + (c.pad or 0)
  local ldc = N + (c.pad or 0)
  local A = rand_tensor(offa + (ta and K or M) * lda, rnd)
  local B = rand_tensor(offb + (tb and N or K) * ldb, rnd)
  local C = rand_tensor(offc + M * ldc, rnd)
  local a, b, c0 = A:totable(), B:totable(), C:totable()
  internal.gemm(ta, tb, M, N, K, c.alpha, A, offa, lda, B, offb, ldb, c.beta, C, offc, ldc, c.pool)
  local got = C:totable()
  -- elements to check: all of small products, a sample of large ones
  local cells = {}
  if M * N <= 4096 then
    for i = 0, M - 1 do for j = 0, N - 1 do cells[#cells + 1] = { i, j } end end
  else
    for _ = 1, 400 do cells[#cells + 1] = { math.floor((rnd() + 1) / 2 * M), math.floor((rnd() + 1) / 2 * N) } end
  end
  for _, ij in ipairs(cells) do
    local i, j = ij[1], ij[2]
    local s, sa = 0, 0
    for p = 0, K - 1 do
      local x = ta and a[offa + p * lda + i + 1] or a[offa + i * lda + p + 1]
      local y = tb and b[offb + j * ldb + p + 1] or b[offb + p * ldb + j + 1]
      s, sa = s + x * y, sa + math.abs(x * y)
    end
    local old = c0[offc + i * ldc + j + 1]
    local ref = c.alpha * s + (c.beta ~= 0 and c.beta * old or 0)
    local bound = (K + 2) * 2 ^ -24 * (math.abs(c.alpha) * sa + math.abs(c.beta * old)) + 1e-30
    local v = got[offc + i * ldc + j + 1]
    if not (math.abs(v - ref) <= bound) then
      return false, ("C[%d][%d] = %.9g, expected %.9g (bound %.3g)"):format(i, j, v, ref, bound)
    end
  end
  -- nothing outside the M x N view changed
  for k = 1, #got do
    local e = k - 1 - offc
    local inside = e >= 0 and e % ldc < N and math.floor(e / ldc) < M
    if not inside and got[k] ~= c0[k] then
      return false, ("element %d outside C was written"):format(k)
    end
  end
  return true
end

-- Shapes with the sizes 1, 3, 17, 255, 1023 (not all combinations), the
-- layer shapes, narrow ones, and one product large enough for the packed
-- path.
local SHAPES = {
  { 1, 1, 1 }, { 3, 17, 255 }, { 1023, 3, 17 }, { 17, 1023, 3 }, { 255, 17, 3 },
  { 1, 255, 17 }, { 3, 1, 1023 }, { 17, 17, 17 }, { 4, 33, 9 }, { 64, 10, 128 },
  { 13, 255, 31 }, { 255, 1, 17 },
  -- narrow outputs (N 5..16) take the dot-product paths; 10 and 16 rows
  -- the exact-row edge tiles; K above 512 the unpacked dot kernel
  { 64, 5, 128 }, { 65, 13, 600 }, { 10, 128, 64 }, { 64, 16, 17 }, { 300, 9, 7 },
  { 16, 33, 300 }, { 28, 12, 1 },
  -- a batch against a wide weight matrix: the narrow operand packed whole
  -- (B up to 128 columns, 4 or more A tiles), a transposed A at a stride
  -- of 1024 floats or more copied block by block, transposed tiles stored
  -- through the kernel's in-register transpose
  { 64, 1100, 300 }, { 50, 1030, 600 }, { 100, 130, 70 },
}
local BIG = { 400, 520, 70 }   -- packed (M >= 384, N >= 512)

local function describe_case(c)
  return ("%s %dx%dx%d %s%s alpha=%g beta=%g offs=%d,%d,%d pad=%d"):format(internal.isa(), c.M, c.N, c.K,
    c.ta and "t" or "n", c.tb and "t" or "n", c.alpha, c.beta, c.offa, c.offb, c.offc, c.pad)
end

describe("kernels: gemm", function()
  teardown(function() internal.set_isa(START_ISA) end)

  for _, isa in ipairs(ISAS) do
    it("matches a double-precision triple loop on every transposition, shape and view (" .. isa .. ")", function()
      internal.set_isa(isa)
      local rnd, n = lcg(99), 0
      local ab = { { 1, 0 }, { 1, 1 }, { -0.5, 0.25 }, { 2, 1 } }
      for si, s in ipairs(SHAPES) do
        for case = 0, 3 do
          local ta, tb = case % 2 == 1, case >= 2
          local pick = ab[(si + case) % #ab + 1]
          local c = { M = s[1], N = s[2], K = s[3], ta = ta, tb = tb, alpha = pick[1], beta = pick[2],
            offa = (si * 3 + case) % 16, offb = (si * 5 + case) % 15 + 1, offc = (si + case * 7) % 16,
            pad = (si + case) % 3, seed = si * 10 + case }
          local ok, msg = check_gemm(c)
          assert.is_true(ok, describe_case(c) .. ": " .. tostring(msg))
          n = n + 1
        end
      end
      for case = 0, 3 do
        local c = { M = BIG[1], N = BIG[2], K = BIG[3], ta = case % 2 == 1, tb = case >= 2, alpha = 1,
          beta = case == 0 and 0 or 0.5, offa = 3, offb = 1, offc = 5, pad = 1, seed = case }
        local ok, msg = check_gemm(c)
        assert.is_true(ok, describe_case(c) .. ": " .. tostring(msg))
      end
      assert.is_true(n > 40)
      local _ = rnd
    end)
  end

  it("overwrites C when beta is 0 even if it holds NaN, and reads nothing when alpha is 0", function()
    for _, isa in ipairs(ISAS) do
      internal.set_isa(isa)
      local A, B = bp.tensor { 1, 2, 3, 4, 5, 6 }, bp.tensor { 1, 0, 0, 1, 1, 1 }
      local C = bp.tensor { 0 / 0, 0 / 0, 0 / 0, 0 / 0 }
      internal.gemm(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 0, 2)
      assert.same({ 4, 5, 10, 11 }, C:totable())
      local An = bp.tensor { 0 / 0, 0 / 0, 0 / 0, 0 / 0, 0 / 0, 0 / 0 }
      internal.gemm(false, false, 2, 2, 3, 0, An, 0, 3, B, 0, 2, 2, C, 0, 2)
      assert.same({ 8, 10, 20, 22 }, C:totable())
    end
  end)

  it("gives the same bits with 2 threads as with 1, on every ISA", function()
    local before = bp.get_num_threads()
    bp.set_num_threads(2)
    assert.equal(2, bp.get_num_threads())
    for _, isa in ipairs(ISAS) do
      internal.set_isa(isa)
      for _, s in ipairs { { 64, 256, 300, false, true }, { 256, 300, 64, true, false }, { 400, 530, 70, false, false },
                           { 97, 131, 129, true, true }, { 64, 1100, 600, false, false }, { 64, 1030, 700, false, true } } do
        local M, N, K, ta, tb = s[1], s[2], s[3], s[4], s[5]
        local rnd = lcg(M + N)
        local A, B = rand_tensor(M * K, rnd), rand_tensor(K * N, rnd)
        local C0 = rand_tensor(M * N, rnd)
        local C1, C2 = C0:clone(), C0:clone()
        local lda, ldb = ta and M or K, tb and K or N
        internal.gemm(ta, tb, M, N, K, 0.5, A, 0, lda, B, 0, ldb, 0.25, C1, 0, N, false)
        internal.gemm(ta, tb, M, N, K, 0.5, A, 0, lda, B, 0, ldb, 0.25, C2, 0, N, true)
        local t1, t2 = C1:totable(), C2:totable()
        local diff = 0
        for k = 1, #t1 do if t1[k] ~= t2[k] then diff = diff + 1 end end
        assert.equal(0, diff, ("%s %dx%dx%d: %d elements differ between 1 and 2 threads"):format(isa, M, N, K, diff))
      end
    end
    bp.set_num_threads(before)
  end)

  it("rejects unknown ISAs and bad thread counts with clear errors", function()
    assert.has_error(function() internal.set_isa("sse9") end,
      "backprop.internal.set_isa: unknown ISA 'sse9' (expected portable, avx2 or avx512)")
    for _, name in ipairs { "portable", "avx2", "avx512" } do
      local supported = false
      for _, s in ipairs(ISAS) do if s == name then supported = true end end
      if not supported then
        assert.has_error(function() internal.set_isa(name) end,
          "backprop.internal.set_isa: this CPU cannot run the " .. name .. " kernels")
      end
    end
    assert.error_matches(function() bp.set_num_threads(0) end, "set_num_threads: argument 1")
    assert.error_matches(function() bp.set_num_threads(1.5) end, "set_num_threads: argument 1")
    assert.error_matches(function() bp.set_num_threads("x") end, "set_num_threads: argument 1")
    assert.equal(1, bp.get_num_threads())
    assert.error_matches(function()
      internal.gemm(false, false, 2, 2, 2, 1, bp.zeros(3), 0, 2, bp.zeros(4), 0, 2, 0, bp.zeros(4), 0, 2)
    end, "A: 2x2 matrix at offset 0 with ld 2 does not fit in 3 elements")
  end)
end)

-- ulp distance of float v from the double reference r.
local function ulps(v, r)
  if r ~= r then return v ~= v and 0 or math.huge end
  if math.abs(r) > 3.4028235677973366e38 * (1 + 2 ^ -25) then return v == r * math.huge and 0 or math.huge end
  local m, e = math.frexp(math.abs(r))
  local u = math.max(2.0 ^ (e - 24), 2.0 ^ -149)
  local _ = m
  return math.abs(v - r) / u
end

local function sigmoid(x) return 1 / (1 + math.exp(-x)) end
local function tanh(x)
  if x ~= x then return x end
  if math.abs(x) > 20 then return x > 0 and 1 or -1 end
  if math.abs(x) < 1e-4 then return x - x * x * x / 3 end
  local e = math.exp(2 * x)
  return (e - 1) / (e + 1)
end

local VMATH = {
  { "exp", math.exp, 2 },
  { "sigmoid", sigmoid, 3 },
  { "tanh", tanh, 2 },
}

describe("kernels: vmath", function()
  teardown(function() internal.set_isa(START_ISA) end)

  -- 200k inputs spread over the whole float range (log-spaced magnitudes
  -- of both signs) plus a dense stretch where the functions bend.
  local xs = {}
  for k = 0, 99999 do
    local mag = 2 ^ (-126 + k * 254 / 100000)
    xs[#xs + 1] = mag
    xs[#xs + 1] = -mag
  end
  for k = -20000, 20000 do xs[#xs + 1] = k / 200 end
  local X = bp.tensor(xs)
  local xf = X:totable()   -- rounded to float

  for _, isa in ipairs(ISAS) do
    for _, f in ipairs(VMATH) do
      it(("%s stays within %d ulp of libm in double over the float range (%s)"):format(f[1], f[3], isa), function()
        internal.set_isa(isa)
        local Y = bp.zeros(#xf)
        internal.vmath(f[1], X, Y)
        local y, worst, at = Y:totable(), 0, nil
        for i = 1, #xf do
          local e = ulps(y[i], f[2](xf[i]))
          if f[1] == "tanh" and math.abs(xf[i]) < 1e-4 then e = math.min(e, ulps(y[i], xf[i])) end
          if e > worst then worst, at = e, i end
        end
        assert.is_true(worst <= f[3], ("%s max error %.3f ulp at x = %.9g (got %.9g, want %.9g)"):format(
          f[1], worst, at and xf[at] or 0, at and y[at] or 0, at and f[2](xf[at]) or 0))
      end)
    end

    it("handles the edges: NaN propagates, infinities and -0 are exact, huge arguments saturate (" .. isa .. ")", function()
      internal.set_isa(isa)
      local inf, nan = math.huge, 0 / 0
      local X = bp.tensor { nan, inf, -inf, H.NEG_ZERO, 0.0, 1000, -1000, 88.8, -104, -87.5 }
      local Y = bp.zeros(10)
      internal.vmath("exp", X, Y)
      local y = Y:totable()
      assert.is_true(y[1] ~= y[1])
      assert.same({ inf, 0, 1, 1, inf, 0, inf, 0 }, { y[2], y[3], y[4], y[5], y[6], y[7], y[8], y[9] })
      assert.is_true(y[10] > 0 and ulps(y[10], math.exp(-87.5)) <= 2)
      internal.vmath("sigmoid", X, Y)
      y = Y:totable()
      assert.is_true(y[1] ~= y[1])
      assert.same({ 1, 0, 0.5, 0.5, 1, 0 }, { y[2], y[3], y[4], y[5], y[6], y[7] })
      internal.vmath("tanh", X, Y)
      y = Y:totable()
      assert.is_true(y[1] ~= y[1])
      assert.same({ 1, -1, 1, -1 }, { y[2], y[3], y[6], y[7] })
      assert.equal(-math.huge, 1 / y[4])   -- tanh(-0) is -0
      assert.equal(math.huge, 1 / y[5])
    end)
  end
end)

describe("kernels: training on every ISA", function()
  teardown(function() internal.set_isa(START_ISA) end)

  local function train(isa)
    internal.set_isa(isa)
    bp.manual_seed(3)
    local net = bp.Sequential { bp.Linear(13, 40), bp.Tanh(), bp.Linear(40, 33), bp.Sigmoid(), bp.Linear(33, 3) }
    local rnd = lcg(5)
    local xs, ys = {}, {}
    for i = 1, 37 do
      xs[i], ys[i] = {}, {}
      for j = 1, 13 do xs[i][j] = rnd() end
      for j = 1, 3 do ys[i][j] = rnd() end
    end
    local X, Y = bp.tensor(xs), bp.tensor(ys)
    local loss, opt = bp.MSELoss(), bp.SGD(net, { lr = 0.1, momentum = 0.9 })
    for _ = 1, 5 do net:train_step(X, Y, loss, opt) end
    local out = {}
    for _, p in ipairs(net:parameters()) do
      for _, v in ipairs(p:totable()) do
        if type(v) == "table" then for _, w in ipairs(v) do out[#out + 1] = w end else out[#out + 1] = v end
      end
    end
    return out
  end

  it("gives the portable path's weights after 5 SGD steps, within float32 rounding", function()
    local ref = train("portable")
    for _, isa in ipairs(ISAS) do
      local got = train(isa)
      assert.equal(#ref, #got)
      local worst = 0
      for i = 1, #ref do worst = math.max(worst, math.abs(got[i] - ref[i])) end
      assert.is_true(worst < 2e-5, ("%s: max weight difference %.3g from portable"):format(isa, worst))
    end
  end)
end)

describe("elementwise kernels at every length (masked tails)", function()
  -- Lanes are independent, so a value computed in a tail of length k must
  -- equal the same value computed in a full vector; and the elements after
  -- the tail must not be touched.
  for _, isa in ipairs(ISAS) do
    it("exp, sigmoid and tanh agree between tails and full vectors (" .. isa .. ")", function()
      internal.set_isa(isa)
      local rnd = lcg(11)
      local X = rand_tensor(48, rnd) * 6
      local full = bp.zeros(48)
      for _, f in ipairs({ "exp", "sigmoid", "tanh" }) do
        internal.vmath(f, X, full)
        for k = 1, 33 do
          local x, y = bp.zeros(k + 1), bp.zeros(k + 1):fill(7)
          for i = 1, k do x:set(i, X:get(i)) end
          internal.vmath(f, x:narrow(1, 1, k), y:narrow(1, 1, k))
          for i = 1, k do assert.equal(full:get(i), y:get(i)) end
          assert.equal(7, y:get(k + 1))
        end
      end
      internal.set_isa(START_ISA)
    end)

    it("ReLU and LeakyReLU match the scalar rule exactly, forward and backward (" .. isa .. ")", function()
      internal.set_isa(isa)
      local rnd = lcg(5)
      for _, a in ipairs({ 0, 0.1 }) do
        for k = 1, 37 do
          local xs, gs = {}, {}
          for i = 1, k do xs[i], gs[i] = rnd(), rnd() end
          local layer = a == 0 and bp.ReLU() or bp.LeakyReLU(a)
          local x, g = bp.tensor(xs), bp.tensor(gs)
          local y = layer:forward(x):totable()
          local dx = layer:backward(g):totable()
          local xf, gf = x:totable(), g:totable()
          for i = 1, k do
            local want = xf[i] > 0 and xf[i] or bp.tensor({ a })[1] * xf[i]
            assert.equal(bp.tensor({ want })[1], y[i])
            local wg = xf[i] > 0 and gf[i] or bp.tensor({ a })[1] * gf[i]
            assert.equal(bp.tensor({ wg })[1], dx[i])
          end
        end
      end
      internal.set_isa(START_ISA)
    end)
  end
end)
