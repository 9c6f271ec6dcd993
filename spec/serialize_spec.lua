-- Saving and loading (serialize.h), determinism of seeded runs, and the
-- weight initialization rule (linear.c).
local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua
local read, write = H.read, H.write
local lfs = require("lfs")

local dir                       -- a fresh temporary directory for the files

local function path(name) return dir .. "/" .. name end

local function exists(p) return lfs.attributes(p) ~= nil end

-- Every layer kind, with non-zero biases.
local function every_kind(head)
  local net = bp.Sequential {
    bp.Linear(3, 5), bp.Sigmoid(), bp.Linear(5, 4), bp.Tanh(), bp.Linear(4, 6), bp.ReLU(),
    bp.Linear(6, 3), bp.LeakyReLU(0.37), bp.Linear(3, 4), head or bp.Softmax(),
  }
  local params = net:parameters()
  for i = 2, #params, 2 do params[i]:copy(bp.randn(params[i]:numel()) * 0.5) end
  return net
end

local function params_of(net)
  local out = {}
  for i, p in ipairs(net:parameters()) do out[i] = p:totable() end
  return out
end

local function assert_same_net(a, b, x, what)
  -- the file does not record whether a one-layer net was a lone layer:
  -- it loads as a Sequential of that layer
  local name = tostring(a):gsub("^backprop%.(%w+%b())$", "backprop.Sequential {\n  %1\n}")
  assert.are.equal(name, tostring(b))
  local pa, pb = params_of(a), params_of(b)
  assert.are.equal(#pa, #pb)
  for i = 1, #pa do H.assert_same(pb[i], pa[i], what .. ": parameter " .. i) end
  H.assert_same(b:forward(x), a:forward(x), what .. ": output")
end

describe("save and load", function()
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(lfs.mkdir(dir))
  end)

  teardown(function()
    local names = {}
    for name in lfs.dir(dir) do
      if name ~= "." and name ~= ".." then names[#names + 1] = path(name) end
    end
    for _, p in ipairs(names) do
      if lfs.attributes(p, "mode") == "directory" then lfs.rmdir(p) else os.remove(p) end
    end
    lfs.rmdir(dir)
  end)

  before_each(function() bp.manual_seed(42) end)

  it("round-trips nets with every layer kind: bit-identical parameters and outputs", function()
    for _, head in ipairs({ "Softmax", "LogSoftmax" }) do
      local net = every_kind(bp[head]())
      local x = bp.randn(7, 3) * 2
      net:save(path("every.bp"))
      local loaded = bp.load(path("every.bp"))
      assert_same_net(net, loaded, x, head)
      assert.matches("LeakyReLU%(0%.37", tostring(loaded))
    end
  end)

  it("keeps LeakyReLU's slope, also in a net of that layer alone", function()
    local net = bp.LeakyReLU(0.37)
    net:save(path("leaky.bp"))
    local loaded = bp.load(path("leaky.bp"))
    local x = bp.tensor { { -1, -2, 3 }, { 0.5, -0.25, -8 } }
    H.assert_same(loaded:forward(x), net:forward(x), "LeakyReLU outputs")
    -- float32(0.37) * -8, exactly as the original computes it
    assert.are.equal(H.f32(0.37) * -8, loaded:forward(x):get(2, 3))
  end)

  it("round-trips a lone Linear that was never used (weights drawn at save)", function()
    local lin = bp.Linear(4, 2)
    lin:save(path("lin.bp"))
    local loaded = bp.load(path("lin.bp"))
    assert_same_net(lin, loaded, bp.randn(3, 4), "lone Linear")
  end)

  it("replaces an existing file", function()
    local a = every_kind()
    local b = bp.Sequential { bp.Linear(2, 3), bp.Tanh() }
    a:save(path("over.bp"))
    b:save(path("over.bp"))
    local loaded = bp.load(path("over.bp"))
    assert_same_net(b, loaded, bp.randn(2, 2), "second save")
    assert.is_false(exists(path("over.bp.tmp")))
  end)

  it("raises on a path in a missing directory and leaves no file behind", function()
    local p = path("no/such/dir/model.bp")
    local ok, err = pcall(every_kind().save, every_kind(), p)
    assert.is_false(ok)
    assert.matches("save", tostring(err))
    assert.matches("no/such/dir/model.bp", tostring(err), 1, true)
    assert.is_false(exists(p))
    assert.is_false(exists(p .. ".tmp"))
  end)

  it("saves past a directory at <path>.tmp (the temporary file has a name of its own)", function()
    local old, new = every_kind(), bp.Sequential { bp.Linear(3, 1) }
    local p = path("keep.bp")
    old:save(p)
    -- main's save wrote "<path>.tmp" and failed here; the name is now
    -- drawn for each save and created exclusively (save_atomic_spec.lua)
    assert(lfs.mkdir(p .. ".tmp"))
    new:save(p)
    assert_same_net(new, bp.load(p), bp.randn(2, 3), "new file")
    assert.are.equal("directory", lfs.attributes(p .. ".tmp", "mode"))
    lfs.rmdir(p .. ".tmp")
  end)

  it("raises when the final rename fails, and removes its temporary file", function()
    -- path is a non-empty directory: the temporary file is written, the
    -- rename over path cannot succeed
    local p = path("adir.bp")
    assert(lfs.mkdir(p))
    write(p .. "/inside", "keep me")
    local ok = pcall(every_kind().save, every_kind(), p)
    assert.is_false(ok)
    assert.is_false(exists(p .. ".tmp"))
    assert.are.equal("keep me", read(p .. "/inside"))
    os.remove(p .. "/inside")
    lfs.rmdir(p)
  end)

  it("writes the layout of serialize.h", function()
    local net = every_kind()
    local p = path("layout.bp")
    net:save(p)
    local s = read(p)
    assert.are.equal("\137BPNET\r\n", s:sub(1, 8))
    local version, nlayers = B.unpack("<I4I4", s, 9)
    assert.are.equal(3, version)
    assert.are.equal(10, nlayers)
    -- layer kinds as written (layer.h): Linear 1, Sigmoid 2, Tanh 3, ReLU 4,
    -- LeakyReLU 5, Softmax 6; each setting by name, type (1 size, 3 float)
    -- and value; no state
    local function linear(a, b) return { 1, { { "in_features", 1, a }, { "out_features", 1, b } } } end
    local want = {
      linear(3, 5), { 2, {} }, linear(5, 4), { 3, {} }, linear(4, 6), { 4, {} },
      linear(6, 3), { 5, { { "negative_slope", 3, H.f32(0.37) } } }, linear(3, 4), { 6, {} },
    }
    local records, at = H.model_records(s, nlayers, 17)
    for i, r in ipairs(records) do
      assert.are.same(want[i], { r.kind, r.settings }, "layer " .. i)
      assert.are.same({}, r.state)
      local len = 8
      for _, set in ipairs(r.settings) do len = len + 2 + #set[1] + 4 end
      assert.are.equal(len, r.len, "layer " .. i .. " record length")
    end
    local nfloats
    nfloats, at = B.unpack("<I8", s, at)
    assert.are.equal(net:num_parameters(), nfloats)
    local values = {}
    for _, t in ipairs(net:parameters()) do H.flat(t, values) end
    assert.are.equal(nfloats, #values)
    for i = 1, nfloats do
      local v
      v, at = B.unpack("<f", s, at)
      assert(v == values[i], "parameter float " .. i .. " differs")
    end
    -- no sections: a network without metadata
    local nsections
    nsections, at = B.unpack("<I4", s, at)
    assert.are.equal(0, nsections)
    -- CRC-32 (IEEE, reflected, polynomial 0xEDB88320) of everything before it
    local stored
    stored, at = B.unpack("<I4", s, at)
    assert.are.equal(H.crc32(s:sub(1, at - 5)), stored)
    assert.are.equal(#s + 1, at)        -- nothing after the checksum
  end)

  it("refuses a copy with one flipped bit or a missing byte", function()
    local p = path("bits.bp")
    every_kind():save(p)
    local s = read(p)
    local at = #s - 20                  -- inside the weights
    write(path("flipped.bp"), s:sub(1, at - 1) .. string.char(B.bxor(s:byte(at), 1)) .. s:sub(at + 1))
    local ok, err = pcall(bp.load, path("flipped.bp"))
    assert.is_false(ok)
    assert.matches("checksum", tostring(err))
    write(path("short.bp"), s:sub(1, #s - 1))
    ok = pcall(bp.load, path("short.bp"))
    assert.is_false(ok)
  end)
end)

describe("determinism", function()
  local function fresh(seed)
    bp.manual_seed(seed)
    return bp.Sequential { bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 3) }
  end

  it("the same seed gives bit-identical initial weights; another seed, different ones", function()
    local a, b, c = params_of(fresh(7)), params_of(fresh(7)), params_of(fresh(8))
    for i = 1, #a do H.assert_same(b[i], a[i], "parameter " .. i) end
    assert.are_not.same(a[1], c[1])
    assert.are_not.same(a[3], c[3])
  end)

  it("the same seed gives a bit-identical training run (fit, shuffled, 5 epochs)", function()
    local function run(seed)
      local net = fresh(seed)
      local x = bp.randn(40, 4)
      local y = bp.tensor((function()
        local t = {}
        for i = 1, 40 do t[i] = (i % 3) + 1 end
        return t
      end)())
      local h = net:fit(x, y, { loss = bp.CrossEntropyLoss(), epochs = 5, batch_size = 8, shuffle = true,
                                optimizer = bp.SGD(net, { lr = 0.1, momentum = 0.9 }) })
      return params_of(net), h.loss
    end
    local pa, la = run(11)
    local pb, lb = run(11)
    assert.are.same(la, lb)
    for i = 1, #pa do H.assert_same(pb[i], pa[i], "trained parameter " .. i) end
    local pc, lc = run(12)
    assert.are_not.same(la, lc)
    assert.are_not.same(pa[1], pc[1])
  end)
end)

describe("weight initialization", function()
  -- Linear(300, 200): 60000 weights, uniform in [-bound, bound], variance
  -- bound^2 / 3. The sample variance has a relative standard error of
  -- about 0.4%, so 3% separates Xavier from He (variances 5:3 apart).
  local IN, OUT = 300, 200
  local XAVIER = math.sqrt(6 / (IN + OUT))
  local HE = math.sqrt(6 / IN)

  local function check(net, bound, what)
    local p = net:parameters()
    local w, b = H.flat(p[1]), H.flat(p[2])
    assert.are.equal(IN * OUT, #w)
    local max, sum, sq = 0, 0, 0
    for _, v in ipairs(w) do
      max = math.max(max, math.abs(v))
      sum, sq = sum + v, sq + v * v
    end
    local n = #w
    local mean = sum / n
    local var = sq / n - mean * mean
    local want = bound * bound / 3
    assert(max <= bound, ("%s: max |w| %.6g exceeds the bound %.6g"):format(what, max, bound))
    assert(max >= 0.99 * bound, ("%s: max |w| %.6g is well inside the bound %.6g"):format(what, max, bound))
    assert(math.abs(mean) < 5 * math.sqrt(want / n), ("%s: mean %.3g is not near 0"):format(what, mean))
    assert(math.abs(var / want - 1) < 0.03,
      ("%s: variance %.6g, expected bound^2/3 = %.6g (bound %.6g)"):format(what, var, want, bound))
    for i, v in ipairs(b) do assert(v == 0, what .. ": bias " .. i .. " is not zero") end
  end

  before_each(function() bp.manual_seed(3) end)

  it("Xavier, sqrt(6 / (in + out)), before Sigmoid, Tanh, Softmax, LogSoftmax or another Linear", function()
    check(bp.Sequential { bp.Linear(IN, OUT), bp.Sigmoid() }, XAVIER, "before Sigmoid")
    check(bp.Sequential { bp.Linear(IN, OUT), bp.Tanh() }, XAVIER, "before Tanh")
    check(bp.Sequential { bp.Linear(IN, OUT), bp.Softmax() }, XAVIER, "before Softmax")
    check(bp.Sequential { bp.Linear(IN, OUT), bp.LogSoftmax() }, XAVIER, "before LogSoftmax")
    check(bp.Sequential { bp.Linear(IN, OUT), bp.Linear(OUT, 2) }, XAVIER, "before Linear")
  end)

  it("Xavier for a last layer, in a Sequential or alone", function()
    local net = bp.Sequential { bp.Linear(5, IN), bp.Tanh(), bp.Linear(IN, OUT) }
    local p = net:parameters()
    local last = H.set_params(bp.Linear(IN, OUT), { p[3], p[4] })
    check(last, XAVIER, "last in a Sequential")
    check(bp.Linear(IN, OUT), XAVIER, "a lone Linear")
  end)

  it("He, sqrt(6 / in), before ReLU", function()
    check(bp.Sequential { bp.Linear(IN, OUT), bp.ReLU() }, HE, "before ReLU")
  end)

  it("He with the leaky gain, sqrt(6 / ((1 + a^2) in)), before LeakyReLU(a)", function()
    check(bp.Sequential { bp.Linear(IN, OUT), bp.LeakyReLU(0.5) }, math.sqrt(6 / (1.25 * IN)), "before LeakyReLU(0.5)")
  end)

  it("a layer used before joining a Sequential keeps its weights", function()
    local lin = bp.Linear(3, 2)
    lin:forward(bp.randn(1, 3))          -- drawn now (as a last layer)
    local before = params_of(lin)
    local net = bp.Sequential { lin, bp.ReLU() }
    local after = params_of(net)
    H.assert_same(after[1], before[1], "weights")
  end)
end)
