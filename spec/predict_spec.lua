-- A predictor that travels as one file (predict.lua, serialize.h's
-- sections, lsave.c's values): net:save(path, {scaler, classes, meta, ...}),
-- bp.load giving them back, net:predict and net:predict_proba.
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local compat = require("backprop.compat")
local internal = require("backprop.core").internal

local dir
local function path(name) return dir .. "/" .. name end

-- Little-endian bytes, for files built by hand.
local function le(v, n)
  local out = {}
  for i = 1, n do
    out[i] = string.char(v % 256)
    v = math.floor(v / 256)
  end
  return table.concat(out)
end

-- A file of `net` with these sections (a list of {name, bytes, flags}),
-- built from its section-less save: the section list replaces the count
-- 0, and the checksum is made again.
local function with_sections(net, sections)
  local p = path("plain.bp")
  net:set_metadata(nil)
  net:save(p)
  local s = H.read(p)
  local body = s:sub(1, #s - 8) .. le(#sections, 4)
  for _, sec in ipairs(sections) do
    body = body .. string.char(#sec[1]) .. sec[1] .. string.char(sec[3] or 0) .. le(#sec[2], 8) .. sec[2]
  end
  return H.with_crc(body)
end

-- Iris-like data: 4 features far from standardized, 3 classes.
local NAMES = { "setosa", "versicolor", "virginica" }
local function flowers(n)
  bp.manual_seed(5)
  local x, y = {}, {}
  for i = 1, n do
    local c = (i - 1) % 3 + 1
    y[i] = c
    x[i] = {}
    for j = 1, 4 do x[i][j] = 4 + 2 * c + j + (math.sin(i * 7 + j) * 0.4) end
  end
  return bp.tensor(x), bp.tensor(y), x
end

-- A trained classifier (ending in Linear: raw scores) and its scaler.
local function classifier()
  local X, Y, rows = flowers(60)
  local scaler = bp.data.standardize(X)
  bp.manual_seed(6)
  local net = bp.Sequential { bp.Linear(4, 8), bp.Tanh(), bp.Linear(8, 3) }
  net:fit(X, Y, { loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(net, { lr = 0.05 }), epochs = 40,
                  batch_size = 20, progress = false })
  return net, scaler, rows, Y
end

-- What predict must compute, by hand: the scaler, eval mode, the outputs.
local function scores(net, scaler, rows)
  local x = scaler:apply(bp.tensor(rows))
  net:eval()
  return net:forward(x):totable()
end

local function argmax(row)
  local best = 1
  for j = 2, #row do if row[j] > row[best] then best = j end end
  return best
end

describe("a predictor in one file", function()
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("bp.load gives back the scaler, classes and meta, bit for bit", function()
    local net, scaler = classifier()
    local meta = { name = "iris", version = 3, ratio = 2.0, ok = true, tags = { "a", "b" },
                   nested = { deep = { 1.5, -0.0, 1e300 } } }
    net:save(path("iris.bp"), { scaler = scaler, classes = NAMES, meta = meta })
    local loaded = bp.load(path("iris.bp"))
    local m = loaded:metadata()
    assert.are.same(NAMES, m.classes)
    H.assert_same(m.scaler.mean, scaler.mean, "scaler mean")
    H.assert_same(m.scaler.std, scaler.std, "scaler std")
    assert.are.same(meta, m.meta)
    -- numbers keep their kind (integers and floats, on Lua 5.3 and later)
    assert.are.equal(compat.isinttype(3), compat.isinttype(m.meta.version))
    assert.is_true(m.meta.ratio == 2 and (not math.type or math.type(m.meta.ratio) == "float"))
    assert.are.equal(-math.huge, 1 / m.meta.nested.deep[2])          -- -0 keeps its sign
    -- the scaler is a working bp.data scaler
    H.assert_same(m.scaler:apply({ 5, 6, 7, 8 }), scaler:apply({ 5, 6, 7, 8 }), "scaler:apply")
    -- saved again without metadata: the network's own goes along
    loaded:save(path("again.bp"))
    assert.are.same(NAMES, bp.load(path("again.bp")):metadata().classes)
    -- a file without metadata: an empty table
    bp.Linear(2, 2):save(path("plain.bp"))
    assert.are.same({}, bp.load(path("plain.bp")):metadata())
  end)

  it("the same metadata gives the same bytes", function()
    local net, scaler = classifier()
    local meta = { b = 1, a = { z = 1, y = 2, [3] = "x", [1] = "w" } }
    net:save(path("a.bp"), { scaler = scaler, classes = NAMES, meta = meta })
    net:save(path("b.bp"))
    assert.are.equal(H.read(path("a.bp")), H.read(path("b.bp")))
  end)

  it("a new process predicts a raw sample by name from the file alone", function()
    local net, scaler = classifier()
    net:save(path("iris.bp"), { scaler = scaler, classes = NAMES })
    local s = scores(net, scaler, { { 5.1, 3.5, 1.4, 0.2 } })
    H.write(path("use.lua"), [[
      local bp = require("backprop")
      local net = bp.load(arg[1])
      io.write(net:predict({5.1, 3.5, 1.4, 0.2}), "\n")
    ]])
    local out = S.check(("%s %s %s %s"):format(S.inplace, S.lua, S.q(path("use.lua")), S.q(path("iris.bp"))))
    assert.are.equal(NAMES[argmax(s[1])] .. "\n", out)
  end)

  it("predict: labels by name for a table, a list, a 1-D or a 2-D tensor, as computed by hand", function()
    local net, scaler, rows = classifier()
    net:set_metadata { scaler = scaler, classes = NAMES }
    local want = {}
    for i, row in ipairs(scores(net, scaler, rows)) do want[i] = NAMES[argmax(row)] end
    assert.are.same(want, net:predict(rows))
    local X = bp.tensor(rows)
    local before = X:clone()
    assert.are.same(want, net:predict(X))
    H.assert_same(X, before, "the caller's tensor")           -- not standardized in place
    for i = 1, 5 do
      assert.are.equal(want[i], net:predict(rows[i]))
      assert.are.equal(want[i], net:predict(X[i]))
    end
    local correct = 0
    local _, Y = flowers(60)
    for i, name in ipairs(net:predict(rows)) do
      if name == NAMES[Y:get(i)] then correct = correct + 1 end
    end
    assert(correct >= 55, correct .. " of 60 training flowers right")
  end)

  it("predict without classes gives class ids; predict_proba the softmax of the scores", function()
    local net, scaler, rows = classifier()
    net:set_metadata { scaler = scaler, task = "classification" }
    local s = scores(net, scaler, rows)
    local p = net:predict_proba(rows)
    local softmax = bp.Softmax():forward(bp.tensor(s)):totable()
    for i = 1, #rows do
      assert.are.equal(argmax(s[i]), net:predict(rows[i]))
      assert.is_true(compat.isinttype(net:predict(rows[i])))
      H.assert_same(p[i], softmax[i], "probabilities of sample " .. i)
    end
    -- one sample runs as a batch of one (its own kernels: the same to rounding)
    local one = bp.Softmax():forward(bp.tensor(scores(net, scaler, { rows[1] }))):totable()[1]
    H.assert_same(net:predict_proba(rows[1]), one, "one sample")
    local pt = net:predict_proba(bp.tensor(rows))
    assert.are.same({ #rows, 3 }, pt:shape())
    H.assert_same(pt, softmax, "a tensor in, a tensor out")
    assert.are.same({ 3 }, net:predict_proba(bp.tensor(rows[2])):shape())
  end)

  it("predict_proba after Softmax, LogSoftmax, and for one column (Sigmoid or a logit)", function()
    bp.manual_seed(8)
    local x = { { 0.5, -1 }, { 2, 0.25 }, { -0.3, 0.1 } }
    local base = bp.Sequential { bp.Linear(2, 3) }
    local raw = base:forward(bp.tensor(x))
    local sm = bp.Softmax():forward(raw):totable()
    local w = base:parameters()
    local function with(last)
      local net = bp.Sequential { bp.Linear(2, 3), last }
      H.set_params(net, { w[1], w[2] })
      return net
    end
    local a = with(bp.Softmax())
    H.assert_same(a:predict_proba(x), sm, "after Softmax: the outputs")
    local b = with(bp.LogSoftmax())
    H.assert_same(b:predict_proba(x), bp.LogSoftmax():forward(raw):exp(), "after LogSoftmax: exp")
    -- one column: {1 - p, p}, p the Sigmoid's output (or the sigmoid of a logit)
    local one = bp.Sequential { bp.Linear(2, 1) }
    local logit = one:forward(bp.tensor(x))
    local pw = one:parameters()
    local sig = bp.Sequential { bp.Linear(2, 1), bp.Sigmoid() }
    H.set_params(sig, { pw[1], pw[2] })
    local p = bp.Sigmoid():forward(logit):totable()
    sig:set_metadata { classes = { "no", "yes" } }
    one:set_metadata { classes = { "no", "yes" } }
    for _, net in ipairs({ sig, one }) do
      local got = net:predict_proba(x)
      for i = 1, #x do
        H.assert_same(got[i], { H.f32(1 - p[i][1]), p[i][1] }, "one column, sample " .. i)
        assert.are.equal(p[i][1] > 0.5 and "yes" or "no", net:predict(x[i]))
      end
    end
  end)

  it("a regression: outputs with the target scaler undone; numbers for tables, tensors for tensors", function()
    bp.manual_seed(9)
    local X = bp.randn(50, 3) * 10 + 100
    local Y = (X:sum(2, true) * 2 + 7)
    local raw = X:clone()
    local sx, sy = bp.data.standardize(X), bp.data.standardize(Y)
    local net = bp.Sequential { bp.Linear(3, 1) }
    net:fit(X, Y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.1 }), epochs = 60, progress = false })
    net:save(path("reg.bp"), { scaler = sx, target_scaler = sy })
    local loaded = bp.load(path("reg.bp"))
    local rows = raw:totable()
    local want = sy:inverse(net:eval():forward(sx:apply(raw:clone())))
    local got = loaded:predict(rows)
    for i = 1, 50 do assert.are.equal(want:get(i, 1), got[i]) end
    assert.are.equal(want:get(3, 1), loaded:predict(rows[3]))
    H.assert_same(loaded:predict(raw), want, "tensor in, tensor out")
    assert.are.same({ 1 }, loaded:predict(raw[2]):shape())
    H.near(got[1], rows[1][1] * 2 + rows[1][2] * 2 + rows[1][3] * 2 + 7, 1e-2, "learned the rule")
    local ok, err = pcall(loaded.predict_proba, loaded, rows[1])
    assert.is_false(ok)
    assert.matches("predict_proba: the network is a regression", err)
  end)

  it("decides the task by classes, target_scaler, task, then the last layer", function()
    local lin = bp.Sequential { bp.Linear(2, 3) }
    local out = lin:eval():forward(bp.tensor { { 1, 2 } }):totable()[1]
    assert.are.same(out, lin:predict({ 1, 2 }))                        -- regression: the outputs
    lin:set_metadata { task = "classification" }
    assert.are.equal(argmax(out), lin:predict({ 1, 2 }))
    local soft = bp.Sequential { bp.Linear(2, 3), bp.Softmax() }
    assert.is_true(compat.isinteger(soft:predict({ 1, 2 })))           -- a class id
    soft:set_metadata { task = "regression" }
    assert.are.equal("table", type(soft:predict({ 1, 2 })))
  end)

  it("predict leaves the network's mode and returns to it after an error", function()
    local net = bp.Sequential { bp.Linear(2, 4), bp.Dropout(0.5), bp.Linear(4, 2) }
    net:set_metadata { classes = { "a", "b" } }
    net:train()
    local a = net:predict_proba({ 1, 2 })
    for _ = 1, 5 do H.assert_same(net:predict_proba({ 1, 2 }), a, "eval mode: no dropout") end
    assert.is_true(net:is_training())
    assert.is_false(pcall(net.predict, net, { 1, 2, 3 }))
    assert.is_true(net:is_training())
    net:eval()
    net:predict({ 1, 2 })
    assert.is_false(net:is_training())
  end)

  it("refuses bad metadata, naming what is wrong, and keeps what the network had", function()
    local net, scaler = classifier()
    net:set_metadata { classes = NAMES }
    local cases = {
      { { meta = { f = print } }, "meta.f is a function: meta holds strings, numbers, booleans and tables of them" },
      { { meta = { t = { bp.zeros(2) } } }, "meta.t[1] is a tensor" },
      { { meta = { [true] = 1 } }, "meta has a key of type boolean" },
      { { classes = { "a", "a" } }, "classes[2] repeats classes[1] (a)" },
      { { classes = {} }, "classes must be a list of class names" },
      { { classes = { "a", [3] = "c" } }, "classes must be a list" },
      { { classes = { "a", {} } }, "classes[2] must be a string or a number, got table" },
      { { scaler = { mean = 1 } }, "scaler must be a scaler" },
      { { scaler = bp.data.scaler(bp.zeros(2), bp.ones(2)), classes = NAMES, target_scaler = scaler },
        "classes and target_scaler exclude each other" },
      { { task = "ranking" }, "task must be \"classification\" or \"regression\", got ranking" },
      { { klasses = NAMES }, "unknown option 'klasses'" },
      { "iris", "metadata must be a table" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(net.save, net, path("bad.bp"), c[1])
      assert.is_false(ok)
      assert.matches("backprop.Sequential:save: ", err, 1, true)
      assert.matches(c[2], err, 1, true)
      local ok2, err2 = pcall(net.set_metadata, net, c[1])
      assert.is_false(ok2)
      assert.matches(c[2], err2, 1, true)
    end
    assert.is_false(H.exists(path("bad.bp")))
    assert.are.same(NAMES, net:metadata().classes)
    local c = { { 0 }, "scaler" }
    assert.is_false(pcall(net.save, net, path("bad.bp"), { scaler = c }))
  end)

  it("refuses bad input to predict, naming it", function()
    local net, scaler = classifier()
    net:set_metadata { scaler = scaler, classes = NAMES }
    local cases = {
      { { 1, 2, 3 }, "x has shape 1x3, but the scaler was fitted on 4 features" },
      { { 1, 2, 3, "4" }, "x[4] must be a finite number, got string" },
      { { 1, 2, 3, 0 / 0 }, "x[4] must be a finite number, got" },
      { { { 1, 2, 3, 4 }, { 1, 2 } }, "x[2] has 2 values, x[1] has 4" },
      { {}, "x is an empty table" },
      { "1,2,3,4", "x must be a table of numbers (one sample), a list of them, or a tensor, got string" },
      { bp.zeros(2, 4, "uint8"), "x must be a float32 tensor, got uint8" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(net.predict, net, c[1])
      assert.is_false(ok)
      assert.matches("backprop.Sequential:predict: " .. c[2], err, 1, true)
    end
    -- the network's own check, under predict's name
    net:set_metadata { classes = NAMES }
    local ok, err = pcall(net.predict, net, { 1, 2, 3 })
    assert.is_false(ok)
    assert.matches("backprop.Sequential:predict: layer 1 (Linear) expected input with 4 features, got 3", err, 1, true)
    net:set_metadata { classes = { "a", "b" } }
    ok, err = pcall(net.predict, net, { 1, 2, 3, 4 })
    assert.is_false(ok)
    assert.matches("the network's 3 outputs stand for 3 classes, but classes names 2", err, 1, true)
  end)

  describe("the file", function()
    it("a predictor field this build does not know refuses the file (written by a newer backprop?)", function()
      local net = bp.Sequential { bp.Linear(2, 2) }
      local bytes = internal.encode({ classes = { "a", "b" }, input_scale = 2 }, "spec", "metadata")
      local p = H.write(path("newer.bp"), with_sections(net, { { "predictor", bytes } }))
      local ok, err = pcall(bp.load, p)
      assert.is_false(ok)
      assert.are.equal("backprop.load: '" .. p .. "' has predictor metadata this build does not know "
                       .. "(unknown option 'input_scale' (expected one of: classes, meta, scaler, "
                       .. "target_scaler, task); written by a newer backprop?)", err)
    end)

    it("an unknown section is skipped, unless it is marked required", function()
      local net = bp.Sequential { bp.Linear(2, 2) }
      local x = bp.randn(2, 2)
      local p = H.write(path("extra.bp"), with_sections(net, { { "thumbnail", "any bytes" } }))
      H.assert_same(bp.load(p):forward(x), net:forward(x), "loaded past the section")
      p = H.write(path("required.bp"), with_sections(net, { { "quantized", "any bytes", 1 } }))
      local ok, err = pcall(bp.load, p)
      assert.is_false(ok)
      assert.are.equal("backprop.load: '" .. p .. "' has a section 'quantized' that this build does not know "
                       .. "(written by a newer backprop?)", err)
    end)

    it("damaged sections (with a valid checksum) are corrupt, naming the file and the section", function()
      local net = bp.Sequential { bp.Linear(2, 2) }
      local good = internal.encode({ classes = { "a", "b" } }, "spec", "metadata")
      local cases = {
        { { { "predictor", good }, { "predictor", good } }, "is corrupt (section 'predictor' twice)" },
        { { { "predictor", good:sub(1, -2) } }, "is corrupt (section 'predictor': a string of 1 bytes past the end)" },
        { { { "predictor", good .. "\0" } }, "is corrupt (section 'predictor': 1 bytes after the value)" },
        { { { "predictor", "\9" } }, "is corrupt (section 'predictor': a value of unknown type 9)" },
        { { { "predictor", internal.encode({ classes = "ab" }, "s", "m") } },
          "is corrupt (section 'predictor': classes must be a list of class names" },
        { { { "predictor", internal.encode({ scaler = { mean = bp.zeros(2), std = bp.zeros(2) } }, "s", "m") } },
          "is corrupt (section 'predictor': scaler: every std must be a finite number > 0)" },
        -- a table of 2^32 - 1 entries in a few bytes
        { { { "predictor", "\5\255\255\255\255" } }, "is corrupt (section 'predictor': a table of 4294967295 entries past the end)" },
        -- the same key twice
        { { { "predictor", "\5\2\0\0\0\4\1\0\0\0a\1\4\1\0\0\0a\0" } }, "is corrupt (section 'predictor': a table key twice)" },
        { { { "", "x" } }, "is corrupt (section 1 has no name, or a zero byte in it)" },
      }
      for i, c in ipairs(cases) do
        local p = H.write(path("bad" .. i .. ".bp"), with_sections(net, c[1]))
        local ok, err = pcall(bp.load, p)
        assert.is_false(ok, "case " .. i .. " loaded")
        assert.matches("backprop.load: '" .. p .. "' " .. c[2], err, 1, true)
      end
    end)

    it("a tensor claiming more values than the section holds is refused before it is allocated", function()
      local net = bp.Sequential { bp.Linear(2, 2) }
      -- scaler.mean: a tensor of 2^40 floats in 8 bytes
      local tensor = "\6\1" .. le(2 ^ 40, 8) .. "\0\0\0\0\0\0\0\0"
      local bytes = "\5\1\0\0\0" .. "\4\6\0\0\0scaler" .. "\5\1\0\0\0" .. "\4\4\0\0\0mean" .. tensor
      local p = H.write(path("big.bp"), with_sections(net, { { "predictor", bytes } }))
      local before = internal.alloc_count()
      local ok, err = pcall(bp.load, p)
      assert.is_false(ok)
      assert.matches("a tensor of more values than the bytes left", err, 1, true)
      -- the file, the layer table, the network: nothing the size of the claim
      assert.is_true(internal.alloc_count() - before < 16)
    end)

    it("section lengths past the end of the file are truncated", function()
      local net = bp.Sequential { bp.Linear(2, 2) }
      local s = with_sections(net, { { "predictor", "\1" } })
      -- the section's length claims 2^40 bytes
      local at = #s - 4 - 1 - 8 + 1
      local bad = H.with_crc(s:sub(1, at - 1) .. le(2 ^ 40, 8) .. s:sub(at + 8, #s - 4))
      local p = H.write(path("long.bp"), bad)
      local ok, err = pcall(bp.load, p)
      assert.is_false(ok)
      assert.matches("is truncated (sections)", err, 1, true)
    end)
  end)
end)
