-- Tensors: construction, indexing, arithmetic, reductions, views and the
-- random generators. Every expected number below is written out by hand.

local bp = require("backprop")
local H = require("helper")
local compat = require("backprop.compat")

local f32, near = H.f32, H.near

-- Compare nested tables of numbers (as from t:totable()) element by element.
local function same(actual, expected, tol, path)
  path = path or "t"
  if type(expected) == "table" then
    assert(type(actual) == "table", path .. ": expected a table, got " .. type(actual))
    assert(#actual == #expected,
           string.format("%s: expected %d entries, got %d", path, #expected, #actual))
    for i = 1, #expected do
      same(actual[i], expected[i], tol, path .. "[" .. i .. "]")
    end
  elseif tol then
    near(actual, expected, tol, path)
  else
    assert(actual == expected,
           string.format("%s: expected %.9g, got %s", path, expected, tostring(actual)))
  end
end

local function values(t, expected, tol)
  same(t:totable(), expected, tol)
end

describe("bp.tensor", function()
  it("builds a 1-D tensor from a flat table", function()
    local t = bp.tensor({ 1, 2, 3 })
    assert.same({ 3 }, t:shape())
    assert.equal(1, t:dim())
    assert.equal(3, t:numel())
    assert.equal(3, #t)
    assert.equal(1, t:get(1))
    assert.equal(2, t:get(2))
    assert.equal(3, t:get(3))
  end)

  it("builds a 2-D tensor in row-major order", function()
    local t = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    assert.same({ 2, 3 }, t:shape())
    assert.equal(2, t:dim())
    assert.equal(6, t:numel())
    assert.equal(2, #t)
    assert.equal(2, t:get(1, 2))
    assert.equal(4, t:get(2, 1))
    assert.equal(6, t:get(2, 3))
  end)

  it("builds a 3-D tensor", function()
    local t = bp.tensor({
      { { 1, 2 }, { 3, 4 } },
      { { 5, 6 }, { 7, 8 } },
      { { 9, 10 }, { 11, 12 } },
    })
    assert.same({ 3, 2, 2 }, t:shape())
    assert.equal(3, t:dim())
    assert.equal(12, t:numel())
    assert.equal(3, #t)
    assert.equal(1, t:get(1, 1, 1))
    assert.equal(7, t:get(2, 2, 1))
    assert.equal(10, t:get(3, 1, 2))
    assert.equal(12, t:get(3, 2, 2))
  end)

  it("stores float32: 0.1 comes back rounded, not exact", function()
    local t = bp.tensor({ 0.1, -2.5, 1e-3 })
    assert.are_not.equal(0.1, t:get(1))        -- 0.1 is not a float32
    assert.equal(f32(0.1), t:get(1))
    near(t:get(1), 0.1, 1e-7)
    assert.equal(-2.5, t:get(2))                -- exactly representable
    near(t:get(3), 1e-3, 1e-7)
  end)

  it("copies another tensor into new storage", function()
    local a = bp.tensor({ { 1, 2 }, { 3, 4 } })
    local b = bp.tensor(a)
    assert.same({ 2, 2 }, b:shape())
    values(b, { { 1, 2 }, { 3, 4 } })
    b:set(1, 1, 100)
    assert.equal(1, a:get(1, 1))
  end)
end)

describe("bp.zeros / bp.ones / bp.randn / bp.rand", function()
  it("take sizes as varargs or as one table", function()
    local a, b = bp.zeros(2, 3), bp.zeros({ 2, 3 })
    assert.same({ 2, 3 }, a:shape())
    assert.same({ 2, 3 }, b:shape())
    values(a, { { 0, 0, 0 }, { 0, 0, 0 } })
    values(b, { { 0, 0, 0 }, { 0, 0, 0 } })
    local o1, o2 = bp.ones(3, 2), bp.ones({ 3, 2 })
    values(o1, { { 1, 1 }, { 1, 1 }, { 1, 1 } })
    values(o2, { { 1, 1 }, { 1, 1 }, { 1, 1 } })
    assert.same({ 4 }, bp.ones(4):shape())
    assert.same({ 2, 1, 3 }, bp.zeros(2, 1, 3):shape())
    assert.same({ 5, 2 }, bp.randn(5, 2):shape())
    assert.same({ 5, 2 }, bp.randn({ 5, 2 }):shape())
    assert.same({ 2, 2, 2 }, bp.rand(2, 2, 2):shape())
    assert.same({ 7 }, bp.rand({ 7 }):shape())
  end)

  it("randn draws from a standard normal", function()
    bp.manual_seed(123)
    local x = bp.randn(20000)
    local n, s, ss = x:numel(), 0, 0
    for i = 1, n do
      local v = x:get(i)
      assert(v == v and math.abs(v) < 10, "randn gave " .. tostring(v))
      s = s + v
    end
    local mean = s / n
    for i = 1, n do ss = ss + (x:get(i) - mean) ^ 2 end
    local sd = math.sqrt(ss / n)
    assert(math.abs(mean) < 0.03, "mean " .. mean)
    assert(math.abs(sd - 1) < 0.03, "std " .. sd)
  end)

  it("rand draws uniformly from [0, 1)", function()
    bp.manual_seed(321)
    local x = bp.rand(20000)
    local s, lo, hi = 0, 1, 0
    for i = 1, x:numel() do
      local v = x:get(i)
      assert(v >= 0 and v < 1, "rand gave " .. tostring(v))
      s = s + v
      lo, hi = math.min(lo, v), math.max(hi, v)
    end
    near(s / x:numel(), 0.5, 0.02, "mean")
    assert(lo < 0.01 and hi > 0.99, "range " .. lo .. " .. " .. hi)
  end)
end)

describe("get / set / totable", function()
  it("set writes one element (1-based) and returns the tensor", function()
    local t = bp.zeros(2, 3)
    assert.equal(t, t:set(1, 2, 7))
    t:set(2, 3, -1.5)
    values(t, { { 0, 7, 0 }, { 0, 0, -1.5 } })
    assert.equal(7, t:get(1, 2))
    assert.equal(-1.5, t:get(2, 3))
    local v = bp.zeros(4)
    v:set(4, 9)
    values(v, { 0, 0, 0, 9 })
  end)

  it("set rounds to float32", function()
    local t = bp.zeros(1)
    t:set(1, 1 / 3)
    assert.equal(f32(1 / 3), t:get(1))
    near(t:get(1), 0.3333333, 1e-6)
  end)

  it("totable gives nested tables that rebuild the same tensor", function()
    local src = { { { 1, 2, 3 }, { 4, 5, 6 } }, { { 7, 8, 9 }, { 10, 11, 12 } } }
    local t = bp.tensor(src)
    local tab = t:totable()
    assert.same(src, tab)
    local back = bp.tensor(tab)
    assert.same({ 2, 2, 3 }, back:shape())
    assert.same(src, back:totable())
    assert.same({ 5, 6 }, bp.tensor({ 5, 6 }):totable())
  end)
end)

describe("matmul", function()
  local A = { { 1, 2 }, { 3, 4 }, { 5, 6 } }          -- 3x2

  it("2-D x 2-D", function()
    local B = bp.tensor({ { 7, 8, 9 }, { 10, 11, 12 } })   -- 2x3
    local C = bp.tensor(A):matmul(B)
    assert.same({ 3, 3 }, C:shape())
    values(C, { { 27, 30, 33 }, { 61, 68, 75 }, { 95, 106, 117 } })
  end)

  it("2-D x 1-D gives a vector", function()
    local y = bp.tensor(A):matmul(bp.tensor({ 2, -1 }))
    assert.same({ 3 }, y:shape())
    values(y, { 0, 2, 4 })
  end)

  it("1-D x 2-D gives a vector", function()
    local y = bp.tensor({ 1, 2, 3 }):matmul(bp.tensor(A))
    assert.same({ 2 }, y:shape())
    values(y, { 22, 28 })
  end)

  it("1-D x 1-D is the dot product, a number", function()
    local d = bp.tensor({ 1, 2, 3 }):matmul(bp.tensor({ 4, 5, 6 }))
    assert.equal("number", type(d))
    assert.equal(32, d)
    near(bp.tensor({ 0.5, 0.25 }):matmul(bp.tensor({ 0.1, 0.2 })), 0.1, 1e-7)
  end)

  it("leaves its operands unchanged", function()
    local a, b = bp.tensor(A), bp.tensor({ { 1, 0 }, { 0, 1 } })
    values(a:matmul(b), A)
    values(a, A)
    values(b, { { 1, 0 }, { 0, 1 } })
  end)
end)

describe("arithmetic", function()
  local a, b
  before_each(function()
    a = bp.tensor({ { 1, 2 }, { 3, 4 } })
    b = bp.tensor({ { 5, 6 }, { 7, 8 } })
  end)

  it("tensor with tensor, elementwise", function()
    values(a + b, { { 6, 8 }, { 10, 12 } })
    values(a - b, { { -4, -4 }, { -4, -4 } })
    values(a * b, { { 5, 12 }, { 21, 32 } })
    values(b / a, { { 5, 3 }, { 7 / 3, 2 } }, 1e-6)
    values(a:add(b), { { 6, 8 }, { 10, 12 } })
    values(a:sub(b), { { -4, -4 }, { -4, -4 } })
    values(a:mul(b), { { 5, 12 }, { 21, 32 } })
    values(a:div(b), { { 0.2, 1 / 3 }, { 3 / 7, 0.5 } }, 1e-6)
  end)

  it("tensor with number, number on either side", function()
    values(a + 10, { { 11, 12 }, { 13, 14 } })
    values(10 + a, { { 11, 12 }, { 13, 14 } })
    values(a - 1, { { 0, 1 }, { 2, 3 } })
    values(10 - a, { { 9, 8 }, { 7, 6 } })
    values(a * 3, { { 3, 6 }, { 9, 12 } })
    values(3 * a, { { 3, 6 }, { 9, 12 } })
    values(a / 2, { { 0.5, 1 }, { 1.5, 2 } })
    values(12 / a, { { 12, 6 }, { 4, 3 } })
    values(a:mul(0.5), { { 0.5, 1 }, { 1.5, 2 } })
    values(a:add(-1), { { 0, 1 }, { 2, 3 } })
  end)

  it("unary minus", function()
    values(-a, { { -1, -2 }, { -3, -4 } })
    values(-(-a), { { 1, 2 }, { 3, 4 } })
  end)

  it("returns new tensors and leaves the operands alone", function()
    local c = a + b
    c:set(1, 1, 100)
    values(a, { { 1, 2 }, { 3, 4 } })
    values(b, { { 5, 6 }, { 7, 8 } })
    local d = a * 2
    assert.are_not.equal(a, d)
    values(a, { { 1, 2 }, { 3, 4 } })
  end)

  it("works on 1-D and 3-D tensors", function()
    values(bp.tensor({ 1, 2, 3 }) * bp.tensor({ 4, 5, 6 }), { 4, 10, 18 })
    local t = bp.tensor({ { { 1, 2 } }, { { 3, 4 } } })
    values(t + t, { { { 2, 4 } }, { { 6, 8 } } })
  end)

  it("rounds results to float32", function()
    local x = bp.tensor({ 1 }) / 3
    assert.equal(f32(1 / 3), x:get(1))
  end)
end)

describe("sum / mean", function()
  local m = { { 1, 2 }, { 3, 4 } }
  local c = { { { 1, 2 }, { 3, 4 }, { 5, 6 } }, { { 7, 8 }, { 9, 10 }, { 11, 12 } } }

  it("over all elements give a number", function()
    assert.equal(10, bp.tensor(m):sum())
    assert.equal(2.5, bp.tensor(m):mean())
    assert.equal(78, bp.tensor(c):sum())
    assert.equal(6.5, bp.tensor(c):mean())
    assert.equal(6, bp.tensor({ 1, 2, 3 }):sum())
    assert.equal(6, bp.tensor({ 1, 2, 3 }):sum(1))    -- a 1-D tensor's only dim
    assert.equal(2, bp.tensor({ 1, 2, 3 }):mean(1))
    near(bp.tensor({ 0.1, 0.2, 0.3 }):sum(), 0.6, 1e-7)
  end)

  it("along a dimension of a matrix", function()
    local t = bp.tensor(m)
    assert.same({ 2 }, t:sum(1):shape())
    values(t:sum(1), { 4, 6 })
    values(t:sum(2), { 3, 7 })
    values(t:mean(1), { 2, 3 })
    values(t:mean(2), { 1.5, 3.5 })
  end)

  it("along each dimension of a 3-D tensor", function()
    local t = bp.tensor(c)           -- 2x3x2
    assert.same({ 3, 2 }, t:sum(1):shape())
    values(t:sum(1), { { 8, 10 }, { 12, 14 }, { 16, 18 } })
    assert.same({ 2, 2 }, t:sum(2):shape())
    values(t:sum(2), { { 9, 12 }, { 27, 30 } })
    assert.same({ 2, 3 }, t:sum(3):shape())
    values(t:sum(3), { { 3, 7, 11 }, { 15, 19, 23 } })
    values(t:mean(2), { { 3, 4 }, { 9, 10 } })
  end)
end)

describe("argmax", function()
  it("over all elements gives a 1-based integer position", function()
    local i = bp.tensor({ { 1, 9 }, { 7, 3 } }):argmax()
    assert.equal(2, i)
    assert.is_true(compat.isinttype(i))   -- integer subtype (5.3+); integral elsewhere
    assert.equal(3, bp.tensor({ { 1, 5 }, { 8, 4 } }):argmax())
    assert.equal(1, bp.tensor({ 5, 1, 2 }):argmax())
    assert.equal(4, bp.tensor({ -3, -2, -5, -1 }):argmax())
    assert.equal(2, bp.tensor({ 3, 7, 7, 1 }):argmax())   -- first of a tie
  end)

  it("along a dimension gives a tensor of 1-based indices", function()
    local t = bp.tensor({ { 1, 5, 2 }, { 8, 4, 9 } })
    local rows = t:argmax(2)
    assert.same({ 2 }, rows:shape())
    values(rows, { 2, 3 })
    local cols = t:argmax(1)
    assert.same({ 3 }, cols:shape())
    values(cols, { 2, 1, 2 })
    values(bp.tensor({ { 4, 4 }, { 0, 1 } }):argmax(2), { 1, 2 })  -- tie: first
  end)

  it("along a dimension of a 3-D tensor", function()
    local t = bp.tensor({ { { 1, 6 }, { 3, 2 } }, { { 0, 0 }, { 5, -1 } } })
    values(t:argmax(1), { { 1, 1 }, { 2, 1 } })
    values(t:argmax(2), { { 2, 1 }, { 2, 1 } })
    values(t:argmax(3), { { 2, 1 }, { 1, 1 } })
  end)
end)

describe("reshape", function()
  it("is a view: writes go both ways", function()
    local t = bp.tensor({ 1, 2, 3, 4, 5, 6 })
    local v = t:reshape(2, 3)
    assert.same({ 2, 3 }, v:shape())
    values(v, { { 1, 2, 3 }, { 4, 5, 6 } })
    v:set(1, 1, 100)
    assert.equal(100, t:get(1))
    t:set(6, -6)
    assert.equal(-6, v:get(2, 3))
    v:fill(0)
    values(t, { 0, 0, 0, 0, 0, 0 })
  end)

  it("infers one size given as -1", function()
    local t = bp.tensor({ 1, 2, 3, 4, 5, 6 })
    assert.same({ 3, 2 }, t:reshape(-1, 2):shape())
    assert.same({ 3, 2 }, t:reshape(3, -1):shape())
    assert.same({ 6 }, t:reshape(-1):shape())
    assert.same({ 1, 2, 3 }, t:reshape(1, -1, 3):shape())
    values(t:reshape(-1, 2), { { 1, 2 }, { 3, 4 }, { 5, 6 } })
  end)

  it("accepts the sizes as a table", function()
    local t = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    local v = t:reshape({ 3, 2 })
    assert.same({ 3, 2 }, v:shape())
    values(v, { { 1, 2 }, { 3, 4 }, { 5, 6 } })
    assert.same({ 6 }, t:reshape({ -1 }):shape())
    v:set(3, 2, 60)
    assert.equal(60, t:get(2, 3))
  end)

  it("a view of a view still shares the storage", function()
    local t = bp.zeros(2, 2)
    local v = t:reshape(4):reshape(1, 4)
    v:set(1, 3, 5)
    assert.equal(5, t:get(2, 1))
  end)
end)

describe("t (transpose)", function()
  it("swaps rows and columns into a new tensor", function()
    local a = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    local b = a:t()
    assert.same({ 3, 2 }, b:shape())
    values(b, { { 1, 4 }, { 2, 5 }, { 3, 6 } })
    b:set(1, 2, 40)
    assert.equal(4, a:get(2, 1))          -- a copy, not a view
    values(a:t():t(), { { 1, 2, 3 }, { 4, 5, 6 } })
  end)

  it("of a 1-D tensor is a copy of it", function()
    local v = bp.tensor({ 1, 2, 3 })
    local w = v:t()
    values(w, { 1, 2, 3 })
    w:set(1, 9)
    assert.equal(1, v:get(1))
  end)

  it("handles sizes that are not multiples of the block", function()
    local rows, cols = 37, 33
    local src = {}
    for i = 1, rows do
      src[i] = {}
      for j = 1, cols do src[i][j] = i * 100 + j end
    end
    local tt = bp.tensor(src):t()
    assert.same({ cols, rows }, tt:shape())
    for j = 1, cols do
      for i = 1, rows do
        assert.equal(i * 100 + j, tt:get(j, i))
      end
    end
  end)
end)

describe("clone / copy / fill", function()
  it("clone is independent of the original", function()
    local a = bp.tensor({ { 1, 2 }, { 3, 4 } })
    local c = a:clone()
    values(c, { { 1, 2 }, { 3, 4 } })
    c:set(1, 1, 99)
    assert.equal(1, a:get(1, 1))
    a:set(2, 2, -4)
    assert.equal(4, c:get(2, 2))
  end)

  it("clone of a view owns its own storage", function()
    local t = bp.tensor({ 1, 2, 3, 4 })
    local c = t:reshape(2, 2):clone()
    t:fill(0)
    values(c, { { 1, 2 }, { 3, 4 } })
  end)

  it("copy writes the source's values in place and returns self", function()
    local a = bp.zeros(2, 2)
    local b = bp.tensor({ { 1, 2 }, { 3, 4 } })
    assert.equal(a, a:copy(b))
    values(a, { { 1, 2 }, { 3, 4 } })
    b:set(1, 1, 50)
    assert.equal(1, a:get(1, 1))                    -- copied, not aliased
    local t = bp.zeros(4)
    t:reshape(2, 2):copy(b)                        -- through a view
    values(t, { 50, 2, 3, 4 })
  end)

  it("fill sets every element and returns self", function()
    local t = bp.zeros(2, 3)
    assert.equal(t, t:fill(3.5))
    values(t, { { 3.5, 3.5, 3.5 }, { 3.5, 3.5, 3.5 } })
    t:fill(-1)
    assert.equal(-6, t:sum())
  end)
end)

describe("index", function()
  local m = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }

  it("picks rows along dimension 1", function()
    local r = bp.tensor(m):index(1, { 3, 1 })
    assert.same({ 2, 3 }, r:shape())
    values(r, { { 7, 8, 9 }, { 1, 2, 3 } })
  end)

  it("picks columns along dimension 2, repeats allowed", function()
    local r = bp.tensor(m):index(2, { 2, 2 })
    assert.same({ 3, 2 }, r:shape())
    values(r, { { 2, 2 }, { 5, 5 }, { 8, 8 } })
  end)

  it("takes ids as a 1-D tensor", function()
    local r = bp.tensor(m):index(1, bp.tensor({ 2 }))
    values(r, { { 4, 5, 6 } })
    values(bp.tensor({ 10, 20, 30 }):index(1, bp.tensor({ 3, 1, 2 })), { 30, 10, 20 })
  end)

  it("returns a copy", function()
    local t = bp.tensor(m)
    local r = t:index(1, { 1 })
    r:set(1, 1, 100)
    assert.equal(1, t:get(1, 1))
  end)

  it("works along the middle dimension of a 3-D tensor", function()
    local t = bp.tensor({ { { 1, 2 }, { 3, 4 }, { 5, 6 } }, { { 7, 8 }, { 9, 10 }, { 11, 12 } } })
    local r = t:index(2, { 3, 1 })
    assert.same({ 2, 2, 2 }, r:shape())
    values(r, { { { 5, 6 }, { 1, 2 } }, { { 11, 12 }, { 7, 8 } } })
  end)
end)

describe("tostring", function()
  it("shows the values and the shape", function()
    local s = tostring(bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }))
    assert.truthy(s:find("2x3", 1, true), s)
    assert.truthy(s:find("backprop.Tensor", 1, true), s)
    assert.truthy(s:find("[1, 2, 3]", 1, true), s)
    assert.truthy(s:find("[4, 5, 6]", 1, true), s)
    assert.falsy(s:find("...", 1, true), s)
    local v = tostring(bp.tensor({ 0.5, -2 }))
    assert.truthy(v:find("[0.5, -2]", 1, true), v)
    assert.truthy(v:find("shape 2", 1, true), v)
  end)

  it("summarizes a big tensor with ...", function()
    local t = bp.zeros(1000)
    for i = 1, 1000 do t:set(i, i) end
    local s = tostring(t)
    assert.truthy(s:find("...", 1, true), s)
    assert.truthy(s:find("1000", 1, true), s)
    assert.truthy(s:find("[1, 2, 3, ..., 998, 999, 1000]", 1, true), s)
    assert.falsy(s:find("500", 1, true), s)
    assert(#s < 200, "summary is " .. #s .. " characters")
    local m = tostring(bp.zeros(50, 40))
    assert.truthy(m:find("50x40", 1, true), m)
    assert.truthy(m:find("...", 1, true), m)
    assert(#m < 600, "summary is " .. #m .. " characters")
    -- every row of the summary, the ones after "..." included, is indented
    for line in m:gmatch("\n([^\n]*)") do
      if not line:find("^backprop") then
        assert.truthy(line:find("^ [%[.]"), "badly indented row: '" .. line .. "'")
      end
    end
  end)
end)

describe("randperm", function()
  local function sorted(t)
    local c = {}
    for i, v in ipairs(t:totable()) do c[i] = v end
    table.sort(c)
    return c
  end

  it("is a permutation of 1..n", function()
    for _, n in ipairs({ 1, 2, 10, 257 }) do
      local p = bp.randperm(n)
      assert.same({ n }, p:shape())
      local s = sorted(p)
      for i = 1, n do assert.equal(i, s[i]) end
    end
    local s = sorted(bp.randperm(50, 9))
    for i = 1, 50 do assert.equal(i, s[i]) end
  end)

  it("gives the same permutation for the same seed", function()
    assert.same(bp.randperm(30, 7):totable(), bp.randperm(30, 7):totable())
    assert.are_not.same(bp.randperm(30, 7):totable(), bp.randperm(30, 8):totable())
  end)

  it("with a seed does not touch the global generator", function()
    bp.manual_seed(42)
    local a = bp.randn(8):totable()
    bp.manual_seed(42)
    bp.randperm(100, 7)
    local b = bp.randn(8):totable()
    assert.same(a, b)
    -- without a seed it draws from the global generator, so the stream moves
    bp.manual_seed(42)
    bp.randperm(100)
    local c = bp.randn(8):totable()
    assert.are_not.same(a, c)
  end)
end)

describe("manual_seed", function()
  it("makes randn and rand reproducible", function()
    bp.manual_seed(2024)
    local a, u = bp.randn(3, 4):totable(), bp.rand(5):totable()
    bp.manual_seed(2024)
    local b, v = bp.randn(3, 4):totable(), bp.rand(5):totable()
    assert.same(a, b)
    assert.same(u, v)
    bp.manual_seed(2025)
    assert.are_not.same(a, bp.randn(3, 4):totable())
  end)

  it("takes a float with an integral value as that integer", function()
    bp.manual_seed(3.0)
    local a = bp.randn(4):totable()
    bp.manual_seed(3)
    assert.same(a, bp.randn(4):totable())
  end)

  it("restarts the stream: the second draw differs from the first", function()
    bp.manual_seed(5)
    local a = bp.randn(4):totable()
    local b = bp.randn(4):totable()
    assert.are_not.same(a, b)
    bp.manual_seed(5)
    assert.same(a, bp.randn(4):totable())
    assert.same(b, bp.randn(4):totable())
  end)
end)
