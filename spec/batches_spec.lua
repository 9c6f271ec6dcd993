-- bp.data.batches: mini-batches for hand-written loops. Expected rows are
-- computed from the row numbers the batches must hold.

local bp = require("backprop")
local internal = require("backprop.core").internal   -- the test hook (see src/lua/lbackprop.c)
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua

-- X: n x 3 with row i = {i, 10 i, 100 i}; Y: n labels, row i = i.
local function data(n)
  local xs, ys = {}, {}
  for i = 1, n do xs[i] = { i, 10 * i, 100 * i }; ys[i] = i end
  return bp.tensor(xs), bp.tensor(ys)
end

-- The row numbers a batch holds (from its first column).
local function rows(xb)
  local out = {}
  for i = 1, #xb do out[i] = xb:get(i, 1) end
  return out
end

local function collect(...)
  local seen, sizes = {}, {}
  for xb, yb in bp.data.batches(...) do
    sizes[#sizes + 1] = #xb
    for i, r in ipairs(rows(xb)) do
      assert.same({ r, 10 * r, 100 * r }, xb:totable()[i])
      if yb then assert.equal(r, yb:get(i)) end
      seen[#seen + 1] = r
    end
  end
  return seen, sizes
end

describe("bp.data.batches", function()
  it("visits the rows in order, the last batch partial", function()
    local X, Y = data(10)
    local seen, sizes = collect(X, Y, 4)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, seen)
    assert.same({ 4, 4, 2 }, sizes)
  end)

  it("drops the partial batch with drop_last", function()
    local X, Y = data(10)
    local seen, sizes = collect(X, Y, 4, { drop_last = true })
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8 }, seen)
    assert.same({ 4, 4 }, sizes)
    local _, none = collect(X, Y, 11, { drop_last = true })
    assert.same({}, none)
  end)

  it("works without Y", function()
    local X = data(5)
    local n = 0
    for xb, yb in bp.data.batches(X, 2) do
      assert.is_nil(yb)
      n = n + #xb
    end
    assert.equal(5, n)
    local seen = collect(X, nil, 5)
    assert.same({ 1, 2, 3, 4, 5 }, seen)
  end)

  it("shuffles as bp.randperm does: a permutation, the same for a seed", function()
    local X, Y = data(23)
    local a = collect(X, Y, 5, { shuffle = true, seed = 7 })
    local b = collect(X, Y, 5, { shuffle = true, seed = 7 })
    assert.same(a, b)
    assert.same(H.flat(bp.randperm(23, 7)), a)
    local sorted = { H.unpack(a) }
    table.sort(sorted)
    for i = 1, 23 do assert.equal(i, sorted[i]) end
    assert.are_not.same(a, collect(X, Y, 5, { shuffle = true, seed = 8 }))
  end)

  it("draws from the global generator without a seed (deterministic via manual_seed)", function()
    local X, Y = data(30)
    bp.manual_seed(3)
    local a = collect(X, Y, 8, { shuffle = true })
    local a2 = collect(X, Y, 8, { shuffle = true })
    bp.manual_seed(3)
    local b = collect(X, Y, 8, { shuffle = true })
    assert.same(a, b)
    assert.are_not.same(a, a2)   -- a new order on each pass
  end)

  it("reuses the same two tensors for every full batch", function()
    local X, Y = data(12)
    local xs, ys = {}, {}
    for xb, yb in bp.data.batches(X, Y, 4) do xs[#xs + 1] = xb; ys[#ys + 1] = yb end
    assert.equal(3, #xs)
    assert.equal(xs[1], xs[2])
    assert.equal(xs[2], xs[3])
    assert.equal(ys[1], ys[3])
  end)

  it("keeps uint8 data as uint8, or scales it to float32", function()
    local path = os.tmpname()
    local bytes = {}
    for i = 1, 6 * 4 do bytes[i] = i * 10 end
    H.write(path, B.pack(">BBBBI4I4", 0, 0, 8, 2, 6, 4) .. string.char(H.unpack(bytes)))
    local X = bp.data.read_idx(path)
    os.remove(path)
    H.write(path, B.pack(">BBBBI4", 0, 0, 8, 1, 6) .. "\0\1\2\3\4\5")
    local L = bp.data.read_idx(path)
    os.remove(path)
    local raw = {}
    for xb, yb in bp.data.batches(X, L, 4) do
      assert.equal("uint8", xb:dtype())
      assert.equal("uint8", yb:dtype())
      raw[#raw + 1] = H.bytes(xb)
    end
    assert.same({ string.char(H.unpack(bytes, 1, 16)), string.char(H.unpack(bytes, 17, 24)) }, raw)
    local got, labels = {}, {}
    for xb, yb in bp.data.batches(X, L, 4, { scale = 1 / 255, y_offset = 1 }) do
      assert.equal("float32", xb:dtype())
      for _, v in ipairs(H.flat(xb)) do got[#got + 1] = v end
      for _, v in ipairs(H.flat(yb)) do labels[#labels + 1] = v end
    end
    local want = {}
    for i, b in ipairs(bytes) do want[i] = b * (1 / 255) end
    H.assert_close(got, want, 1e-7)
    assert.same({ 1, 2, 3, 4, 5, 6 }, labels)
  end)

  it("scales float32 data too", function()
    local X = data(3)
    local out = {}
    for xb in bp.data.batches(X, 3, { scale = 0.5 }) do out = xb:totable() end
    assert.same({ { 0.5, 5, 50 }, { 1, 10, 100 }, { 1.5, 15, 150 } }, out)
  end)

  it("rejects bad arguments with clear messages", function()
    local X, Y = data(4)
    local cases = {
      { function() bp.data.batches({}, Y, 2) end, "x must be a backprop.Tensor, got table" },
      { function() bp.data.batches(X, data(3), 2) end, "x has 4 samples but y has 3" },
      { function() bp.data.batches(X, Y, 0) end, "batch_size must be a positive integer, got 0" },
      { function() bp.data.batches(X, Y, 2.5) end, "batch_size must be a positive integer, got 2.5" },
      { function() bp.data.batches(X, Y, 2, { shufle = true }) end, "unknown option 'shufle'" },
      { function() bp.data.batches(X, Y, 2, { shuffle = 1 }) end, "shuffle must be a boolean" },
      { function() bp.data.batches(X, Y, 2, { seed = 3 }) end, "seed is given but shuffle is not true" },
      { function() bp.data.batches(X, Y, 2, { shuffle = true, seed = 1.5 }) end, "seed must be an integer" },
      { function() bp.data.batches(X, Y, 2, { scale = 0 / 0 }) end, "scale must be a finite number" },
      { function() bp.data.batches(X, nil, 2, { y_offset = 1 }) end, "y_offset is given but there is no y" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(c[1])
      assert.is_false(ok)
      assert.is_truthy(err:find("backprop.data.batches: ", 1, true), err)
      assert.is_truthy(err:find(c[2], 1, true), "expected '" .. c[2] .. "' in: " .. err)
    end
  end)

  it("the internal gather checks its arguments", function()
    local X = data(4)
    local xb = internal.batch_new(X, 2, false)
    assert.has_error(function() internal.batch_fill(xb, X, nil, 3, 2) end)      -- rows 4..5
    assert.has_error(function() internal.batch_fill(xb, X, nil, 0, 3) end)      -- 3 rows into 2
    assert.has_error(function() internal.batch_fill(xb, X, bp.tensor({ 1, 2, 9, 4 }), 1, 2) end)
    assert.has_error(function() internal.batch_fill(xb, X, bp.tensor({ 1, 2 }), 0, 2) end)
    assert.has_error(function() internal.batch_fill(xb, bp.zeros(4, 2), nil, 0, 2) end)
  end)
end)
