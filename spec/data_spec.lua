-- bp.data (read_csv, split, standardize) and bp.metrics (accuracy,
-- confusion_matrix). Expected values are written out by hand or, for the
-- bundled data set, copied from the CSV file itself.

local bp = require("backprop")
local H = require("helper")
local tmpdir, write = H.tmpdir, H.write

local CSV = "examples/data/breast_cancer.csv"

local near = H.near

-- Column j of an N x d tensor as a Lua list.
local function column(t, j)
  local out = {}
  for i = 1, #t do out[i] = t:get(i, j) end
  return out
end

local function mean_std(list)
  local s, ss = 0, 0
  for _, v in ipairs(list) do s = s + v end
  local m = s / #list
  for _, v in ipairs(list) do ss = ss + (v - m) ^ 2 end
  return m, math.sqrt(ss / #list)
end

--------------------------------------------------------------------------
describe("read_csv on the bundled breast cancer data", function()
  local X, Y, names
  setup(function()
    X, Y, names = bp.data.read_csv(CSV, { target = "malignant" })
  end)

  it("has 569 samples of 30 features and one target column", function()
    assert.same({ 569, 30 }, X:shape())
    assert.same({ 569, 1 }, Y:shape())
    assert.equal(30, #names)
    assert.equal("mean_radius", names[1])
    assert.equal("mean_texture", names[2])
    assert.equal("worst_fractal_dimension", names[30])
    for _, n in ipairs(names) do assert.are_not.equal("malignant", n) end
  end)

  it("reads the first and last rows as in the file", function()
    -- line 2 of the file
    local first = { 17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871,
                    1.095, 0.9053, 8.589, 153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003,
                    0.006193, 25.38, 17.33, 184.6, 2019, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601,
                    0.1189 }
    for j = 1, 30 do near(X:get(1, j), first[j], 1e-6, "X[1][" .. j .. "]") end
    assert.equal(1, Y:get(1, 1))
    -- line 570, the last
    local last = { 7.76, 24.54, 47.92, 181, 0.05263, 0.04362, 0, 0, 0.1587, 0.05884, 0.3857, 1.428,
                   2.548, 19.15, 0.007189, 0.00466, 0, 0, 0.02676, 0.002783, 9.456, 30.37, 59.16,
                   268.6, 0.08996, 0.06444, 0, 0, 0.2871, 0.07039 }
    for j = 1, 30 do near(X:get(569, j), last[j], 1e-6, "X[569][" .. j .. "]") end
    assert.equal(0, Y:get(569, 1))
  end)

  it("has labels 0 and 1, with 212 ones", function()
    local ones = 0
    for i = 1, 569 do
      local v = Y:get(i, 1)
      assert(v == 0 or v == 1, "label " .. i .. " is " .. v)
      if v == 1 then ones = ones + 1 end
    end
    assert.equal(212, ones)
    assert.equal(212, Y:sum())
  end)

  it("gives the same result with the target given by index", function()
    local X2, Y2, names2 = bp.data.read_csv(CSV, { target = 31 })
    assert.same(X:totable(), X2:totable())
    assert.same(Y:totable(), Y2:totable())
    assert.same(names, names2)
  end)

  it("without a target returns every column and no Y", function()
    local all, none, cols = bp.data.read_csv(CSV)
    assert.same({ 569, 31 }, all:shape())
    assert.is_nil(none)
    assert.equal(31, #cols)
    assert.equal("malignant", cols[31])
    assert.equal(1, all:get(1, 31))
  end)
end)

--------------------------------------------------------------------------
describe("read_csv on small files", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("with a header, target by name", function()
    local p = write(dir .. "/a.csv", "a,b,c\n1,2,3\n4,5,6\n")
    local X, Y, names = bp.data.read_csv(p, { target = "b" })
    assert.same({ { 1, 3 }, { 4, 6 } }, X:totable())
    assert.same({ { 2 }, { 5 } }, Y:totable())
    assert.same({ "a", "c" }, names)
  end)

  it("with a header, target by index", function()
    local p = write(dir .. "/b.csv", "a,b,c\n1,2,3\n4,5,6\n")
    local X, Y, names = bp.data.read_csv(p, { target = 1 })
    assert.same({ { 2, 3 }, { 5, 6 } }, X:totable())
    assert.same({ { 1 }, { 4 } }, Y:totable())
    assert.same({ "b", "c" }, names)
    local X3, Y3 = bp.data.read_csv(p, { target = 3 })
    assert.same({ { 1, 2 }, { 4, 5 } }, X3:totable())
    assert.same({ { 3 }, { 6 } }, Y3:totable())
  end)

  it("without a header", function()
    local p = write(dir .. "/c.csv", "1,2,3\n4,5,6\n7,8,9\n")
    local X, Y, names = bp.data.read_csv(p, { header = false, target = 2 })
    assert.same({ { 1, 3 }, { 4, 6 }, { 7, 9 } }, X:totable())
    assert.same({ { 2 }, { 5 }, { 8 } }, Y:totable())
    assert.same({ "column1", "column3" }, names)
    local all = bp.data.read_csv(p, { header = false })
    assert.same({ 3, 3 }, all:shape())
    -- with the default header = true, the first line would be the names
    local rest, _, hnames = bp.data.read_csv(p)
    assert.same({ { 4, 5, 6 }, { 7, 8, 9 } }, rest:totable())
    assert.same({ "1", "2", "3" }, hnames)
  end)

  it("with quoted fields, quoted separators included", function()
    local p = write(dir .. "/d.csv",
      '"id","x, with comma",y\n"1","2.5",3\n4,"-5",6\n')
    local X, Y, names = bp.data.read_csv(p, { target = "y" })
    assert.same({ "id", "x, with comma" }, names)
    assert.same({ { 1, 2.5 }, { 4, -5 } }, X:totable())
    assert.same({ { 3 }, { 6 } }, Y:totable())
  end)

  it("with CRLF line endings and blank lines", function()
    local p = write(dir .. "/e.csv", "a,b\r\n\r\n1,2\r\n\r\n   \r\n3,4\r\n\r\n")
    local X, Y, names = bp.data.read_csv(p, { target = "b" })
    assert.same({ { 1 }, { 3 } }, X:totable())
    assert.same({ { 2 }, { 4 } }, Y:totable())
    assert.same({ "a" }, names)           -- no stray \r in the last name
    local q = write(dir .. "/f.csv", "\n\nx,y\n5,6\n\n7,8")   -- no final newline
    local X2, Y2 = bp.data.read_csv(q, { target = "y" })
    assert.same({ { 5 }, { 7 } }, X2:totable())
    assert.same({ { 6 }, { 8 } }, Y2:totable())
  end)

  it("reads number formats Lua reads, rounded to float32", function()
    local p = write(dir .. "/g.csv", "a,b,c\n1e3,-2.5,0.1\n 7 ,+3,-0\n")
    local X = bp.data.read_csv(p)
    assert.equal(1000, X:get(1, 1))
    assert.equal(-2.5, X:get(1, 2))
    near(X:get(1, 3), 0.1, 1e-7)
    assert.equal(7, X:get(2, 1))
    assert.equal(3, X:get(2, 2))
    assert.equal(0, X:get(2, 3))
  end)

  it("with another separator", function()
    local p = write(dir .. "/h.csv", "a;b\n1,5;2\n")
    local ok = pcall(bp.data.read_csv, p, { sep = ";" })
    assert.is_false(ok)                    -- "1,5" is not a number
    local q = write(dir .. "/i.csv", "a;b;c\n1;2;3\n")
    local X, Y = bp.data.read_csv(q, { sep = ";", target = "c" })
    assert.same({ { 1, 2 } }, X:totable())
    assert.same({ { 3 } }, Y:totable())
  end)
end)

--------------------------------------------------------------------------
describe("split", function()
  -- 20 samples; feature 1 is the sample id, y is 10 x id
  local N = 20
  local X, Y
  setup(function()
    local xs, ys = {}, {}
    for i = 1, N do
      xs[i] = { i, -i }
      ys[i] = { 10 * i }
    end
    X, Y = bp.tensor(xs), bp.tensor(ys)
  end)

  local function ids(part)
    local out = {}
    for i = 1, #part.x do out[i] = part.x:get(i, 1) end
    return out
  end

  it("has the requested sizes", function()
    local train, test = bp.data.split(X, Y, { test = 0.25, seed = 1 })
    assert.same({ 15, 2 }, train.x:shape())
    assert.same({ 15, 1 }, train.y:shape())
    assert.same({ 5, 2 }, test.x:shape())
    assert.same({ 5, 1 }, test.y:shape())
    local tr2, te2 = bp.data.split(X, Y, { seed = 1 })      -- default 0.2
    assert.equal(16, #tr2.x)
    assert.equal(4, #te2.x)
    local tr3, te3 = bp.data.split(X, Y, { test = 0.5, seed = 1 })
    assert.equal(10, #tr3.x)
    assert.equal(10, #te3.x)
  end)

  it("is disjoint, covers every row and keeps x and y together", function()
    local train, test = bp.data.split(X, Y, { test = 0.3, seed = 42 })
    local seen = {}
    for _, part in ipairs({ train, test }) do
      for i, id in ipairs(ids(part)) do
        assert(id >= 1 and id <= N and id == math.floor(id), "bad id " .. id)
        assert.is_nil(seen[id], "row " .. id .. " appears twice")
        seen[id] = true
        assert.equal(-id, part.x:get(i, 2))
        assert.equal(10 * id, part.y:get(i, 1))
      end
    end
    for id = 1, N do assert.is_true(seen[id], "row " .. id .. " is missing") end
    assert.equal(14, #train.x)
    assert.equal(6, #test.x)
  end)

  it("shuffles", function()
    local train = bp.data.split(X, Y, { test = 0.5, seed = 3 })
    local in_order = true
    for i, id in ipairs(ids(train)) do
      if id ~= i then in_order = false end
    end
    assert.is_false(in_order)
  end)

  it("gives the same split for the same seed, another for another seed", function()
    local a1, b1 = bp.data.split(X, Y, { test = 0.25, seed = 7 })
    local a2, b2 = bp.data.split(X, Y, { test = 0.25, seed = 7 })
    assert.same(ids(a1), ids(a2))
    assert.same(ids(b1), ids(b2))
    local a3 = bp.data.split(X, Y, { test = 0.25, seed = 8 })
    assert.are_not.same(ids(a1), ids(a3))
  end)

  it("without a seed follows bp.manual_seed", function()
    bp.manual_seed(77)
    local a1 = bp.data.split(X, Y)
    bp.manual_seed(77)
    local a2 = bp.data.split(X, Y)
    assert.same(ids(a1), ids(a2))
  end)

  it("with a seed leaves the global generator alone", function()
    bp.manual_seed(5)
    local r1 = bp.randn(4):totable()
    bp.manual_seed(5)
    bp.data.split(X, Y, { seed = 123 })
    assert.same(r1, bp.randn(4):totable())
  end)

  it("works without y", function()
    local train, test = bp.data.split(X, nil, { test = 0.25, seed = 1 })
    assert.is_nil(train.y)
    assert.is_nil(test.y)
    assert.equal(15, #train.x)
    assert.equal(5, #test.x)
  end)

  it("returns copies: the parts do not alias the data", function()
    local train = bp.data.split(X, Y, { seed = 1 })
    local id = train.x:get(1, 1)
    train.x:set(1, 1, 1000)
    assert.equal(id, X:get(id, 1))
  end)
end)

--------------------------------------------------------------------------
describe("split with stratify", function()
  -- 30 samples: 15 of class 1, 9 of class 2, 6 of class 3; feature 1 is the id
  local N = 30
  local function dataset()
    local xs, ys = {}, {}
    for i = 1, N do
      xs[i] = { i }
      ys[i] = { i <= 15 and 1 or i <= 24 and 2 or 3 }
    end
    return bp.tensor(xs), bp.tensor(ys)
  end

  local function counts(part)
    local c = { 0, 0, 0 }
    for i = 1, #part.y do c[part.y:get(i, 1)] = c[part.y:get(i, 1)] + 1 end
    return c
  end

  it("keeps each class's share in both parts", function()
    local X, Y = dataset()
    for seed = 1, 20 do
      local train, test = bp.data.split(X, Y, { test = 1 / 3, stratify = true, seed = seed })
      assert.same({ 5, 3, 2 }, counts(test))         -- a third of 15, 9, 6
      assert.same({ 10, 6, 4 }, counts(train))
      -- x and y stay together, index names the rows
      for i, id in ipairs(test.index) do
        assert.equal(id, test.x:get(i, 1))
        assert.equal(Y:get(id, 1), test.y:get(i, 1))
      end
      local seen = {}
      for _, id in ipairs(train.index) do seen[id] = true end
      for _, id in ipairs(test.index) do
        assert.is_nil(seen[id])
        seen[id] = true
      end
      for id = 1, N do assert.is_true(seen[id]) end
    end
  end)

  it("rounds by largest remainders, takes labels as a tensor or a list, and draws at random", function()
    local X, Y = dataset()
    -- 0.2 of 30 = 6: 15 -> 3, 9 -> 1.8, 6 -> 1.2 give 3 + 1 + 1 = 5, and the
    -- largest remainder (0.8, class 2) takes the sixth
    local _, test = bp.data.split(X, Y, { test = 0.2, stratify = true, seed = 4 })
    assert.same({ 3, 2, 1 }, counts(test))
    local labels = {}
    for i = 1, N do labels[i] = ({ "a", "b", "c" })[Y:get(i, 1)] end
    local _, t2 = bp.data.split(X, nil, { test = 0.2, stratify = labels, seed = 4 })
    assert.same(test.index, t2.index)
    local _, t3 = bp.data.split(X, nil, { test = 0.2, stratify = Y:reshape(N), seed = 4 })
    assert.same(test.index, t3.index)
    local _, t4 = bp.data.split(X, nil, { test = 0.2, stratify = bp.one_hot(Y:reshape(N)), seed = 4 })
    assert.same(test.index, t4.index)
    local _, t5 = bp.data.split(X, Y, { test = 0.2, stratify = true, seed = 5 })
    assert.are_not.same(test.index, t5.index)
    bp.manual_seed(9)
    local _, a = bp.data.split(X, Y, { stratify = true })
    bp.manual_seed(9)
    local _, b = bp.data.split(X, Y, { stratify = true })
    assert.same(a.index, b.index)
  end)

  it("refuses what cannot be stratified", function()
    local X, Y = dataset()
    local function err(opts, y)
      local ok, e = pcall(bp.data.split, X, y == nil and Y or y or nil, opts)
      assert.is_false(ok)
      return e
    end
    assert.matches("stratify = true needs y", err({ stratify = true }, false), 1, true)
    assert.matches("stratify: 3 labels for 30 samples", err({ stratify = { 1, 2, 3 } }), 1, true)
    local one = Y:clone()
    one:set(30, 1, 7)
    assert.matches("stratify: class 7 has only 1 sample (row 30)", err({ stratify = one }), 1, true)
    assert.matches("stratify: 2 test and 28 training samples cannot each hold all 3 classes",
                   err({ stratify = true, test = 0.05 }), 1, true)
    assert.matches("stratify must be true (the labels in y), a tensor or a list of labels, got string",
                   err({ stratify = "y" }), 1, true)
  end)
end)

--------------------------------------------------------------------------
describe("kfold", function()
  local REF = dofile("spec/reference/folds_ref.lua")

  local function folds(n, k, y, opts)
    local X = bp.arange(1, n + 1):reshape(n, 1)
    local out = {}
    for f, train, val in bp.data.kfold(X, y, k, opts) do
      assert.equal(#out + 1, f)
      -- every row once, x and y in step, rows ascending
      local seen = {}
      for _, p in ipairs({ train, val }) do
        for i, id in ipairs(p.index) do
          assert.is_nil(seen[id])
          seen[id] = true
          assert.equal(id, p.x:get(i, 1))
          if y then assert.equal(y:get(id), p.y:get(i)) end
          if i > 1 then assert(p.index[i - 1] < id, "rows ascending") end
        end
      end
      for id = 1, n do assert.is_true(seen[id]) end
      out[f] = val.index
    end
    assert.equal(k, #out)
    return out
  end

  it("gives scikit-learn's KFold and StratifiedKFold folds (no shuffle)", function()
    for c, case in ipairs(REF) do
      local y = bp.tensor(case.y)
      assert.same(case.kfold, folds(#case.y, case.k, y), "KFold case " .. c)
      assert.same(case.stratified, folds(#case.y, case.k, y, { stratify = true }), "StratifiedKFold case " .. c)
    end
  end)

  it("shuffles with a seed: same folds for the same seed, class shares kept", function()
    local y = {}
    for i = 1, 50 do y[i] = i <= 40 and 1 or i <= 47 and 2 or 3 end
    local Y = bp.tensor(y)
    local a = folds(50, 5, Y, { shuffle = true, seed = 3, stratify = true })
    assert.same(a, folds(50, 5, Y, { shuffle = true, seed = 3, stratify = true }))
    assert.are_not.same(a, folds(50, 5, Y, { shuffle = true, seed = 4, stratify = true }))
    assert.are_not.same(folds(50, 5, Y, { stratify = true }), a)
    for _, val in ipairs(a) do
      local c = { 0, 0, 0 }
      for _, id in ipairs(val) do c[y[id]] = c[y[id]] + 1 end
      assert.same({ 8 }, { c[1] })              -- 40 / 5
      assert(c[2] == 1 or c[2] == 2, "class 2 in a fold: " .. c[2])
      assert(c[3] <= 1, "class 3 in a fold: " .. c[3])
    end
    local plain = folds(50, 5, nil, { shuffle = true, seed = 3 })
    for _, val in ipairs(plain) do assert.equal(10, #val) end
    assert.are_not.same(folds(50, 5), plain)
  end)

  it("works without y, and refuses bad arguments", function()
    local X = bp.zeros(6, 2)
    local n = 0
    for _, train, val in bp.data.kfold(X, 3) do
      n = n + 1
      assert.is_nil(train.y)
      assert.equal(2, #val.x)
    end
    assert.equal(3, n)
    local function err(...)
      local ok, e = pcall(bp.data.kfold, ...)
      assert.is_false(ok)
      return e
    end
    assert.matches("k must be an integer in 2..6 (the number of samples), got 7", err(X, nil, 7), 1, true)
    assert.matches("k must be an integer in 2..6", err(X, nil, 1), 1, true)
    assert.matches("seed is given but shuffle is not true", err(X, nil, 2, { seed = 1 }), 1, true)
    assert.matches("unknown option 'shufle'", err(X, nil, 2, { shufle = true }), 1, true)
    assert.matches("stratify: k = 4 is more than the samples of every class (at most 3)",
                   err(X, bp.tensor({ 1, 1, 1, 2, 2, 2 }), 4, { stratify = true }), 1, true)
  end)
end)

--------------------------------------------------------------------------
describe("scaler apply and inverse", function()
  local function fitted()
    return bp.data.standardize(bp.tensor({ { 1, 10, -1 }, { 2, 10, 0 }, { 3, 10, 0 }, { 4, 10, 5 } }))
  end
  -- mean {2.5, 10, 1}, std {1.1180340, 1, 2.3452079}

  it("takes a tensor of any batch size, in place, and returns it", function()
    local s = fitted()
    for _, n in ipairs({ 1, 3, 100 }) do
      local x = bp.ones(n, 3) * 5
      local y = s:apply(x)
      assert.equal(x, y)
      for i = 1, n do
        near(x:get(i, 1), (5 - 2.5) / 1.1180340, 1e-6)
        near(x:get(i, 2), -5)
        near(x:get(i, 3), 4 / 2.3452079, 1e-6)
      end
    end
  end)

  it("takes one sample as a 1-D tensor, in place", function()
    local s = fitted()
    local x = bp.tensor({ 5, 12, 1 })
    assert.equal(x, s:apply(x))
    near(x:get(1), 2.2360680, 1e-6)
    near(x:get(2), 2)
    near(x:get(3), 0)
    -- a row view is written through
    local m = bp.tensor({ { 5, 12, 1 }, { 2.5, 10, 1 } })
    s:apply(m[2])
    assert.same({ 0, 0, 0 }, m[2]:totable())
    assert.equal(5, m:get(1, 1))
  end)

  it("takes a plain table, one sample or rows, returning a new table", function()
    local s = fitted()
    local row = { 5, 12, 1 }
    local out = s:apply(row)
    assert.same({ 5, 12, 1 }, row)                 -- not touched
    assert.equal("table", type(out))
    near(out[1], (5 - 2.5) / H.f32(math.sqrt(1.25)), 1e-12)
    near(out[2], 2)
    near(out[3], 0)
    local rows = s:apply({ { 5, 12, 1 }, { 2.5, 10, 1 } })
    near(rows[1][1], out[1], 1e-12)
    assert.same({ 0, 0, 0 }, rows[2])
    -- the same values as the tensor path, to float32 rounding
    local t = s:apply(bp.tensor({ { 5, 12, 1 } }))
    for j = 1, 3 do near(t:get(1, j), out[j], 1e-6) end
  end)

  it("inverse undoes apply, for every kind", function()
    local s = fitted()
    local x = bp.tensor({ { 5, 12, 1 }, { -3, 0, 7 } })
    local orig = x:totable()
    assert.equal(x, s:inverse(s:apply(x)))
    H.assert_close(x, orig, 1e-5)
    local v = bp.tensor({ 0.5, -1, 2 })
    s:inverse(v)
    near(v:get(1), 0.5 * H.f32(math.sqrt(1.25)) + 2.5, 1e-6)
    near(v:get(2), 9)
    near(v:get(3), 2 * H.f32(math.sqrt(5.5)) + 1, 1e-6)
    local tab = s:inverse(s:apply({ 5, 12, 1 }))
    H.assert_close(tab, { 5, 12, 1 }, 1e-12)
  end)

  it("standardizes regression targets and maps predictions back", function()
    -- y = 3x + 100: a network trained on standardized y predicts in those
    -- units; inverse gives the original ones.
    bp.manual_seed(2)
    local x = bp.rand(64, 1)
    local y = x * 3 + 100
    local sx, sy = bp.data.standardize(x), bp.data.standardize(y)
    local net = bp.Sequential{ bp.Linear(1, 1) }
    net:fit(x, y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.1 }), epochs = 200, batch_size = 16 })
    local q = sx:apply(bp.tensor({ { 0.5 } }))
    local pred = sy:inverse(net:forward(q))
    near(pred:get(1, 1), 101.5, 1e-3)
  end)

  it("refuses other widths and kinds, naming the method", function()
    local s = fitted()
    local function err(method, x)
      local ok, e = pcall(s[method], s, x)
      assert.is_false(ok)
      return e
    end
    assert.matches("backprop.Scaler:apply: x has 2 features (shape 4x2), but the scaler was fitted on 3",
                   err("apply", bp.zeros(4, 2)), 1, true)
    assert.matches("backprop.Scaler:inverse: x has 4 features (shape 4), but the scaler was fitted on 3",
                   err("inverse", bp.zeros(4)), 1, true)
    assert.matches("x must be N x features or one sample, got 3 dimensions", err("apply", bp.zeros(2, 2, 3)), 1, true)
    assert.matches("x must be a float32 tensor, got uint8", err("apply", bp.zeros(2, 3, "uint8")), 1, true)
    assert.matches("x has 2 features, but the scaler was fitted on 3", err("apply", { 1, 2 }), 1, true)
    assert.matches("x row 2 has 1 features", err("apply", { { 1, 2, 3 }, { 1 } }), 1, true)
    assert.matches("x feature 2 is a string, expected a number", err("inverse", { 1, "2", 3 }), 1, true)
    assert.matches("x must be a backprop.Tensor or a table of numbers, got number", err("apply", 3), 1, true)
  end)
end)

--------------------------------------------------------------------------
describe("standardize", function()
  -- col 1: 1 2 3 4    mean 2.5, population std sqrt(1.25) = 1.1180340
  -- col 2: constant 10
  -- col 3: -1 0 0 5   mean 1, deviations -2 -1 -1 4, variance 22/4 = 5.5,
  --                   std sqrt(5.5) = 2.3452079
  local function data()
    return bp.tensor({ { 1, 10, -1 }, { 2, 10, 0 }, { 3, 10, 0 }, { 4, 10, 5 } })
  end

  it("fits mean and std per column and standardizes in place", function()
    local x = data()
    local s = bp.data.standardize(x)
    assert.same({ 3 }, s.mean:shape())
    near(s.mean:get(1), 2.5)
    near(s.mean:get(2), 10)
    near(s.mean:get(3), 1)
    near(s.std:get(1), 1.1180340)
    assert.equal(1, s.std:get(2))            -- constant column: deviation 1
    near(s.std:get(3), 2.3452079)
    local expected = {
      { -1.3416408, 0, -0.8528029 },
      { -0.4472136, 0, -0.4264014 },
      { 0.4472136, 0, -0.4264014 },
      { 1.3416408, 0, 1.7056057 },
    }
    for i = 1, 4 do
      for j = 1, 3 do near(x:get(i, j), expected[i][j], 1e-6, "x[" .. i .. "][" .. j .. "]") end
    end
  end)

  it("leaves columns with mean 0 and std 1 (std 0 for a constant one)", function()
    local x = data()
    bp.data.standardize(x)
    for j = 1, 3 do
      local m, sd = mean_std(column(x, j))
      near(m, 0, 1e-6, "mean of column " .. j)
      near(sd, j == 2 and 0 or 1, 1e-6, "std of column " .. j)
    end
    for i = 1, 4 do
      local v = x:get(i, 2)
      assert(v == 0, "constant column gave " .. tostring(v))
    end
  end)

  it("apply uses the training statistics", function()
    local train = data()
    local s = bp.data.standardize(train)
    local test = bp.tensor({ { 5, 10, 1 }, { 2.5, 12, 3.3452079 } })
    assert.equal(test, s:apply(test))
    near(test:get(1, 1), 2.2360680)          -- (5 - 2.5) / 1.118034
    near(test:get(1, 2), 0)
    near(test:get(1, 3), 0)
    near(test:get(2, 1), 0)
    near(test:get(2, 2), 2)                  -- (12 - 10) / 1: constant column
    near(test:get(2, 3), 1, 1e-6)            -- (1 + 2.3452079 - 1) / 2.3452079
    -- the scaler itself did not move
    near(s.mean:get(1), 2.5)
    near(s.std:get(3), 2.3452079)
  end)

  it("standardizes the breast cancer features", function()
    local X = bp.data.read_csv(CSV, { target = "malignant" })
    local s = bp.data.standardize(X)
    for j = 1, 30 do
      local m, sd = mean_std(column(X, j))
      assert(math.abs(m) < 1e-5, "column " .. j .. " mean " .. m)
      assert(math.abs(sd - 1) < 1e-4, "column " .. j .. " std " .. sd)
    end
    near(s.mean:get(4), 654.88910369068543, 1e-5)   -- mean_area, from the file
  end)
end)

--------------------------------------------------------------------------
describe("metrics", function()
  describe("one output column (probabilities)", function()
    local pred = { { 0.9 }, { 0.2 }, { 0.5 }, { 0.4 } }
    local y = { { 1 }, { 0 }, { 0 }, { 1 } }

    it("accuracy with the default threshold 0.5 (inclusive)", function()
      -- predicted 1, 0, 1, 0 against 1, 0, 0, 1
      assert.equal(0.5, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(y)))
    end)

    it("accuracy with another threshold", function()
      -- 0.3: predicted 1, 0, 1, 1
      assert.equal(0.75, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(y), 0.3))
      -- 0.95: all 0
      assert.equal(0.5, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(y), 0.95))
    end)

    it("confusion_matrix[true][predicted], class 1 = 0 and class 2 = 1", function()
      assert.same({ { 1, 1 }, { 1, 1 } },
                  bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(y)))
      assert.same({ { 1, 1 }, { 0, 2 } },
                  bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(y), 0.3))
      assert.same({ { 2, 0 }, { 2, 0 } },
                  bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(y), 0.95))
    end)

    it("takes vectors as well as N x 1", function()
      assert.equal(1, bp.metrics.accuracy(bp.tensor({ 0.9, 0.2 }), bp.tensor({ 1, 0 })))
      assert.equal(0, bp.metrics.accuracy(bp.tensor({ { 0.9 }, { 0.2 } }), bp.tensor({ 0, 1 })))
    end)
  end)

  describe("several output columns (argmax)", function()
    -- argmax of each row: 2, 1, 3, 2, 1
    local pred = {
      { 0.1, 0.7, 0.2 },
      { 0.8, 0.1, 0.1 },
      { 0.2, 0.3, 0.5 },
      { 0.3, 0.4, 0.3 },
      { 0.6, 0.2, 0.2 },
    }
    local labels = { 2, 1, 2, 2, 3 }         -- right, right, wrong, right, wrong
    local onehot = { { 0, 1, 0 }, { 1, 0, 0 }, { 0, 1, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }
    local cm = { { 1, 0, 0 }, { 0, 2, 1 }, { 1, 0, 0 } }

    it("against labels", function()
      assert.equal(0.6, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(labels)))
      local col = {}
      for i, l in ipairs(labels) do col[i] = { l } end
      assert.equal(0.6, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(col)))
      assert.same(cm, bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(labels)))
      assert.same(cm, bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(col)))
    end)

    it("against one-hot rows", function()
      assert.equal(0.6, bp.metrics.accuracy(bp.tensor(pred), bp.tensor(onehot)))
      assert.same(cm, bp.metrics.confusion_matrix(bp.tensor(pred), bp.tensor(onehot)))
    end)

    it("all right and all wrong", function()
      assert.equal(1, bp.metrics.accuracy(bp.tensor(pred), bp.tensor({ 2, 1, 3, 2, 1 })))
      assert.equal(0, bp.metrics.accuracy(bp.tensor(pred), bp.tensor({ 1, 2, 1, 3, 2 })))
    end)

    it("a tie goes to the first column", function()
      local p = bp.tensor({ { 0.5, 0.5 }, { 0.2, 0.8 } })
      assert.equal(1, bp.metrics.accuracy(p, bp.tensor({ 1, 2 })))
      assert.same({ { 1, 0 }, { 0, 1 } }, bp.metrics.confusion_matrix(p, bp.tensor({ 1, 2 })))
    end)
  end)
end)

describe("read_csv corner cases", function()
  local dir = tmpdir()

  it("reads RFC 4180 escaped quotes inside quoted fields", function()
    local p = dir .. "/quotes.csv"
    write(p, 'a,"b ""quoted""",y\n1,"2",0\n"3",4,1\n')
    local X, Y, names = bp.data.read_csv(p, {target = "y"})
    assert.are.same({{1, 2}, {3, 4}}, X:totable())
    assert.are.same({{0}, {1}}, Y:totable())
    assert.are.equal('b "quoted"', names[2])
  end)

  it("rejects values that overflow to infinity, and a non-boolean header", function()
    local p = dir .. "/inf.csv"
    write(p, "a,y\n1e400,0\n")
    local ok, err = pcall(bp.data.read_csv, p, {target = "y"})
    assert.is_false(ok)
    assert.truthy(err:find("line 2, column 'a': '1e400' is not a finite number", 1, true), err)
    ok, err = pcall(bp.data.read_csv, p, {header = 1})
    assert.is_false(ok)
    assert.truthy(err:find("header must be a boolean, got number", 1, true), err)
  end)

  it("takes an integral float as a target column index", function()
    local p = dir .. "/idx.csv"
    write(p, "a,y\n5,1\n6,0\n")
    local X, Y = bp.data.read_csv(p, {target = 2.0})
    assert.are.same({{5}, {6}}, X:totable())
    assert.are.same({{1}, {0}}, Y:totable())
  end)

  it("randperm takes an integral float seed like manual_seed", function()
    assert.are.same(bp.randperm(10, 3):totable(), bp.randperm(10, 3.0):totable())
  end)
end)
