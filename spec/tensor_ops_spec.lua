-- Broadcasting arithmetic, elementwise maths, comparison masks, reductions
-- along a dimension, index/cat/stack, ranges and one_hot. Expected values
-- are written out by hand, or (for broadcasting over random shapes)
-- computed by a plain-Lua reference that follows numpy's rules.

local bp = require("backprop")
local H = require("helper")
local raises = H.raises

local function close(actual, expected, tol)
  local ok, msg = H.compare(actual, expected, tol or 1e-6, tol or 1e-6)
  assert(ok, msg)
end

local f32 = H.f32

describe("broadcasting arithmetic", function()
  it("adds a row vector to every row, a column to every column", function()
    local x = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    assert.same({ { 11, 22, 33 }, { 14, 25, 36 } }, (x + bp.tensor({ 10, 20, 30 })):totable())
    assert.same({ { 0, 1, 2 }, { 2, 3, 4 } }, (x - bp.tensor({ { 1 }, { 2 } })):totable())
    assert.same({ { 2, 4, 6 }, { 4, 5, 6 } }, x:mul(bp.tensor({ { 2 }, { 1 } })):totable())
    assert.same({ { 1, 2, 3 }, { 2, 2.5, 3 } }, (x / bp.tensor({ { 1 }, { 2 } })):totable())
    assert.same({ { 1, 1, 1 }, { 4, 2.5, 2 } }, x:div(bp.tensor({ { 1, 2, 3 } })):totable())
  end)

  it("outer sum of a column and a row", function()
    local c, r = bp.tensor({ { 1 }, { 2 }, { 3 } }), bp.tensor({ 10, 20 })
    local s = c + r
    assert.same({ 3, 2 }, s:shape())
    assert.same({ { 11, 21 }, { 12, 22 }, { 13, 23 } }, s:totable())
    assert.same({ { 10, 20 }, { 20, 40 }, { 30, 60 } }, (c * r):totable())
  end)

  it("a 1-element tensor broadcasts like a number", function()
    local x = bp.tensor({ { 1, 2 }, { 3, 4 } })
    assert.same((x * 3):totable(), (x * bp.tensor({ 3 })):totable())
    assert.same((x - 1):totable(), (x - bp.tensor({ { 1 } })):totable())
  end)

  it("matches a plain-Lua reference on random shapes", function()
    bp.manual_seed(7)
    local rng = bp.randperm(1000, 11):totable()
    local k = 0
    local function pick(n) k = k % #rng + 1; return rng[k] % n + 1 end
    for _ = 1, 40 do
      local nd = pick(3)
      local sy, sa, sb = {}, {}, {}
      for i = 1, nd do sy[i] = pick(3) end
      -- a and b: sy with some sizes set to 1, and leading dims dropped
      local da, db = pick(nd) - 1, pick(nd) - 1
      for i = da + 1, nd do sa[#sa + 1] = pick(2) == 1 and 1 or sy[i] end
      for i = db + 1, nd do sb[#sb + 1] = pick(2) == 1 and 1 or sy[i] end
      local a, b = bp.randn(sa), bp.randn(sb)
      local fa, fb = H.flat(a), H.flat(b)
      local function at(flat, shape, idx)         -- idx: full nd index
        local off, lead = 0, nd - #shape
        for i = 1, #shape do
          local j = shape[i] == 1 and 1 or idx[lead + i]
          off = off * shape[i] + (j - 1)
        end
        return flat[off + 1]
      end
      local want, idx = {}, {}
      for i = 1, nd do idx[i] = 1 end
      local oshape = {}
      for i = 1, nd do
        local la = sa[i - (nd - #sa)] or 1
        local lb = sb[i - (nd - #sb)] or 1
        oshape[i] = math.max(la, lb)
      end
      local n = 1
      for i = 1, nd do n = n * oshape[i] end
      for _ = 1, n do
        want[#want + 1] = f32(at(fa, sa, idx) * at(fb, sb, idx) - at(fb, sb, idx))
        for d = nd, 1, -1 do
          idx[d] = idx[d] + 1
          if idx[d] <= oshape[d] then break end
          idx[d] = 1
        end
      end
      local got = a * b - b
      -- the result has as many dimensions as the larger operand
      local lead = nd - math.max(#sa, #sb)
      assert.same({ H.unpack(oshape, lead + 1) }, got:shape())
      close(H.flat(got), want, 1e-6)
    end
  end)

  it("names both shapes when they cannot be broadcast", function()
    local x = bp.zeros(3, 4)
    raises({ "backprop.Tensor:add: shapes 3x4 and 5 cannot be broadcast" }, x.add, x, bp.zeros(5))
    raises({ "backprop.Tensor:div: shapes 2x2 and 3 cannot be broadcast" },
           function() return bp.zeros(2, 2) / bp.zeros(3) end)
    raises({ "backprop.Tensor:sub: shapes 4x2x3 and 3x1 cannot be broadcast" },
           function() return bp.zeros(4, 2, 3) - bp.zeros(3, 1) end)
    raises({ "backprop.Tensor:pow: shapes 2x3 and 2 cannot be broadcast" }, function() return bp.ones(2, 3) ^ bp.ones(2) end)
  end)

  it("reads strided views and uint8 tensors (the result is float32)", function()
    local x = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    local col = x:select(2, 2)                        -- {2, 5}, strided
    assert.same({ 4, 10 }, (col * 2):totable())
    assert.same({ { 5, 7, 9 }, { 8, 10, 12 } }, (x + x:narrow(1, 2, 1)):totable())
    assert.same({ 4, 10 }, (x:select(2, 1) + x:select(2, 3)):totable())
    assert.same({ { 3, 4, 5 }, { 0, 1, 2 } }, (x[2] - x:select(2, 1):reshape(2, 1)):totable())
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, x:totable())
    local u = bp.tensor({ 1, 2, 250 }, "uint8")
    local y = u / 2
    assert.equal("float32", y:dtype())
    assert.same({ 0.5, 1, 125 }, y:totable())
    assert.same({ 2, 4, 500 }, (u + u):totable())      -- no uint8 wrap-around
  end)
end)

describe("elementwise maths", function()
  it("exp log sqrt abs pow", function()
    local x = bp.tensor({ 1, 4, 9 })
    close(x:exp(), { math.exp(1), math.exp(4), math.exp(9) }, 1e-6)
    close(x:log(), { 0, math.log(4), math.log(9) }, 1e-6)
    assert.same({ 1, 2, 3 }, x:sqrt():totable())
    assert.same({ 1.5, 0, 2 }, bp.tensor({ -1.5, 0, 2 }):abs():totable())
    assert.same({ 1, 16, 81 }, x:pow(2):totable())
    assert.same({ 1, 16, 81 }, (x ^ 2):totable())
    assert.same({ 1, 2, 3 }, x:pow(0.5):totable())
    assert.same({ 1, 64, 9 }, x:pow(bp.tensor({ 5, 3, 1 })):totable())
    assert.same({ 2, 16, 512 }, bp.Tensor.pow(2, x):totable())
    local nan = bp.tensor({ -1 }):log():get(1)
    assert.is_true(nan ~= nan)                      -- log(-1) is NaN
    nan = bp.tensor({ -4 }):sqrt():get(1)
    assert.is_true(nan ~= nan)
    assert.equal(-math.huge, bp.tensor({ 0 }):log():get(1))
  end)

  it("clamp limits to [min, max], either may be nil", function()
    local x = bp.tensor({ -2, -0.5, 0.5, 3 })
    assert.same({ -1, -0.5, 0.5, 1 }, x:clamp(-1, 1):totable())
    assert.same({ 0, 0, 0.5, 3 }, x:clamp(0):totable())
    assert.same({ -2, -0.5, 0.5, 2 }, x:clamp(nil, 2):totable())
    local n = bp.tensor({ 0 / 0 }):clamp(0, 1):get(1)
    assert.is_true(n ~= n)                          -- NaN stays NaN
    raises({ "backprop.Tensor:clamp:", "expected a min or a max (or both), got neither" }, x.clamp, x)
    raises({ "backprop.Tensor:clamp:", "min (2) is greater than max (1)" }, x.clamp, x, 2, 1)
    raises({ "backprop.Tensor:clamp:", "min must be a number, got string" }, x.clamp, x, "0")
  end)

  it("work on strided views and leave the input alone", function()
    local x = bp.tensor({ { 1, -4 }, { -9, 16 } })
    assert.same({ 1, 9 }, x:select(2, 1):abs():totable())
    assert.same({ { 1, -4 }, { -9, 16 } }, x:totable())
  end)
end)

describe("comparisons", function()
  local x = bp.tensor({ { 1, 5 }, { 3, 3 } })

  it("give uint8 masks of 0 and 1, against a number or a tensor", function()
    local m = x:gt(2)
    assert.equal("uint8", m:dtype())
    assert.same({ { 0, 1 }, { 1, 1 } }, m:totable())
    assert.same({ { 1, 0 }, { 0, 0 } }, x:lt(3):totable())
    assert.same({ { 0, 1 }, { 1, 1 } }, x:ge(3):totable())
    assert.same({ { 1, 0 }, { 1, 1 } }, x:le(3):totable())
    assert.same({ { 0, 0 }, { 1, 1 } }, x:eq(3):totable())
    assert.same({ { 1, 1 }, { 0, 0 } }, x:ne(3):totable())
    assert.same({ { 0, 1 }, { 0, 0 } }, x:gt(bp.tensor({ 3, 4 })):totable())     -- broadcast
    assert.same({ { 0, 1 }, { 1, 0 } }, x:ne(x:t()):totable())
  end)

  it("masks count, average and multiply", function()
    local m = x:ge(3)
    assert.equal(3, m:sum())
    assert.equal(0.75, m:mean())
    assert.same({ 1, 2 }, m:sum(1):totable())
    assert.same({ { 0, 5 }, { 3, 3 } }, (x * m):totable())
    assert.same({ { 0, 1 }, { 1, 1 } }, m:float():totable())
    assert.equal("float32", m:float():dtype())
  end)

  it("NaN is unequal to everything", function()
    local n = bp.tensor({ 0 / 0, 1 })
    assert.same({ 0, 1 }, n:eq(n):totable())
    assert.same({ 1, 0 }, n:ne(n):totable())
    assert.same({ 0, 0 }, n:eq(0 / 0):totable())
    assert.same({ 0, 1 }, n:gt(0):totable())
    assert.same({ 0, 0 }, n:lt(0):totable())
  end)
end)

describe("reductions along a dimension", function()
  local x = bp.tensor({ { 3, 9, 1 }, { 7, 2, 7 } })

  it("sum and mean keep their no-dim behaviour and take dim", function()
    assert.equal(29, x:sum())
    assert.same({ 10, 11, 8 }, x:sum(1):totable())
    assert.same({ 13, 16 }, x:sum(2):totable())
    assert.same({ 5, 5.5, 4 }, x:mean(1):totable())
    assert.same({ { 13 }, { 16 } }, x:sum(2, true):totable())   -- keepdim
    assert.same({ 1, 3 }, x:mean(1, true):shape())
  end)

  it("max and min with dim return values and 1-based indices", function()
    assert.equal(9, x:max())
    assert.equal(1, x:min())
    local v, i = x:max(1)
    assert.same({ 7, 9, 7 }, v:totable())
    assert.same({ 2, 1, 2 }, i:totable())
    v, i = x:max(2)
    assert.same({ 9, 7 }, v:totable())
    assert.same({ 2, 1 }, i:totable())              -- first of a tie
    v, i = x:min(2)
    assert.same({ 1, 2 }, v:totable())
    assert.same({ 3, 2 }, i:totable())
    v, i = x:min(1, true)
    assert.same({ { 3, 2, 1 } }, v:totable())
    assert.same({ { 1, 2, 1 } }, i:totable())
    v, i = bp.tensor({ 4, 8, 8 }):max(1)            -- 1-D: numbers
    assert.equal(8, v)
    assert.equal(2, i)
  end)

  it("argmax and argmin along dims; argmax keeps its no-dim form", function()
    assert.equal(2, x:argmax())
    assert.equal(3, x:argmin())
    assert.same({ 2, 1 }, x:argmax(2):totable())
    assert.same({ 1, 2, 1 }, x:argmin(1):totable())
  end)

  it("on a 3-D tensor, over each dimension", function()
    local t = bp.arange(1, 13):reshape(2, 3, 2)
    assert.same({ { 8, 10 }, { 12, 14 }, { 16, 18 } }, t:sum(1):totable())
    assert.same({ { 9, 12 }, { 27, 30 } }, t:sum(2):totable())
    assert.same({ { 3, 7, 11 }, { 15, 19, 23 } }, t:sum(3):totable())
    local v, i = t:max(2)
    assert.same({ { 5, 6 }, { 11, 12 } }, v:totable())
    assert.same({ { 3, 3 }, { 3, 3 } }, i:totable())
  end)

  it("NaN propagates through max and min", function()
    local n = bp.tensor({ { 1, 0 / 0, 3 }, { 4, 5, 6 } })
    local m = n:max()
    assert.is_true(m ~= m)
    local v, i = n:max(2)
    assert.is_true(v:get(1) ~= v:get(1))
    assert.equal(2, i:get(1))
    assert.equal(6, v:get(2))
    assert.equal(2, n:argmax())
  end)

  it("read strided views and uint8 tensors", function()
    local s = x:narrow(2, 2, 2)                       -- {{9, 1}, {2, 7}}
    assert.equal(19, s:sum())
    assert.same({ 11, 8 }, s:sum(1):totable())
    local v, i = s:max(2)
    assert.same({ 9, 7 }, v:totable())
    assert.same({ 1, 2 }, i:totable())
    local u = bp.tensor({ { 200, 100 }, { 255, 0 } }, "uint8")
    assert.equal(555, u:sum())
    assert.same({ 455, 100 }, u:sum(1):totable())
    assert.equal(255, u:max())
  end)

  it("reject bad dims", function()
    raises({ "backprop.Tensor:max:", "dim is 3, but the tensor has 2 dimensions" }, x.max, x, 3)
    raises({ "backprop.Tensor:min:", "dim must be a positive integer, got 0" }, x.min, x, 0)
    raises({ "backprop.Tensor:argmin:", "dim must be a positive integer, got string" }, x.argmin, x, "1")
  end)
end)

describe("index, cat and stack", function()
  it("index gathers from strided views and uint8 tensors", function()
    local t = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } })
    assert.same({ { 3, 1 }, { 6, 4 }, { 9, 7 } }, t:index(2, { 3, 1 }):totable())
    assert.same({ { 8, 9 }, { 2, 3 } }, t:narrow(2, 2, 2):index(1, bp.tensor({ 3, 1 })):totable())
    local u = bp.tensor({ { 1, 2 }, { 3, 4 } }, "uint8")
    local g = u:index(1, bp.tensor({ 2, 2, 1 }, "uint8"))
    assert.equal("uint8", g:dtype())
    assert.same({ { 3, 4 }, { 3, 4 }, { 1, 2 } }, g:totable())
    assert.same({ 2, 1 }, bp.tensor({ 1, 2 }):index(1, { 2, 1 }):totable())
    raises({ "backprop.Tensor:index:", "ids: entry 2 is not an index in 1..3" },
           t.index, t, 1, bp.tensor({ 1, 1.5 }))
  end)

  it("index copies whole slices of a contiguous tensor: every dimension, both types", function()
    -- against the elements read one by one, on a 3 x 4 x 5 tensor of
    -- distinct values (and its uint8 copy), with ids repeated and out of order
    local vals, k = {}, 0
    for a = 1, 3 do
      vals[a] = {}
      for b = 1, 4 do
        vals[a][b] = {}
        for c = 1, 5 do k = k + 1; vals[a][b][c] = k end
      end
    end
    local ids = { { 3, 1, 3 }, { 4, 2, 2, 1, 4 }, { 5, 1, 2, 5 } }
    for _, dtype in ipairs({ "float32", "uint8" }) do
      local t = bp.tensor(vals, dtype)
      for d = 1, 3 do
        for _, list in ipairs({ ids[d], bp.tensor(ids[d]) }) do
          local g = t:index(d, list)
          assert.equal(dtype, g:dtype())
          local want = {}
          local n = { 3, 4, 5 }
          n[d] = #ids[d]
          for a = 1, n[1] do
            want[a] = {}
            for b = 1, n[2] do
              want[a][b] = {}
              for c = 1, n[3] do
                local at = { a, b, c }
                at[d] = ids[d][at[d]]
                want[a][b][c] = vals[at[1]][at[2]][at[3]]
              end
            end
          end
          assert.same(want, g:totable())
        end
      end
    end
  end)

  it("cat joins along a dimension", function()
    local a, b = bp.tensor({ { 1, 2 } }), bp.tensor({ { 3, 4 }, { 5, 6 } })
    assert.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, bp.cat({ a, b }):totable())
    assert.same({ { 1, 2, 1, 2 } }, bp.cat({ a, a }, 2):totable())
    assert.same({ 1, 2, 3 }, bp.cat({ bp.tensor({ 1 }), bp.tensor({ 2, 3 }) }, 1):totable())
    local view = b:select(2, 2):reshape(2, 1)         -- from a strided view
    assert.same({ { 3, 4, 4 }, { 5, 6, 6 } }, bp.cat({ b, view }, 2):totable())
    local u = bp.cat({ bp.tensor({ 1 }, "uint8"), bp.tensor({ 2 }, "uint8") })
    assert.equal("uint8", u:dtype())
    assert.same({ 1, 2 }, u:totable())
  end)

  it("stack joins along a new dimension", function()
    local a, b = bp.tensor({ 1, 2, 3 }), bp.tensor({ 4, 5, 6 })
    assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, bp.stack({ a, b }):totable())
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, bp.stack({ a, b }, 2):totable())
    local m = bp.tensor({ { 1, 2 }, { 3, 4 } })
    assert.same({ 2, 2, 2 }, bp.stack({ m, m }, 3):shape())
    assert.same({ { { 1, 1 }, { 2, 2 } }, { { 3, 3 }, { 4, 4 } } }, bp.stack({ m, m }, 3):totable())
    local imgs = { bp.tensor({ 0, 255 }, "uint8"), bp.tensor({ 128, 1 }, "uint8") }
    local batch = bp.stack(imgs):float() / 255
    close(batch, { { 0, 1 }, { 128 / 255, 1 / 255 } }, 1e-7)
  end)

  it("cat and stack reject bad lists", function()
    local a = bp.zeros(2, 3)
    raises({ "backprop.cat:", "tensors must be a table of backprop.Tensor, got userdata" }, bp.cat, a)
    raises({ "backprop.cat:", "tensors is empty" }, bp.cat, {})
    raises({ "backprop.cat:", "tensors[2] must be a backprop.Tensor, got number" }, bp.cat, { a, 1 })
    raises({ "backprop.cat:", "tensors[2] has shape 3x3, tensors[1] 2x3: all sizes but dimension 2 must agree" },
           bp.cat, { a, bp.zeros(3, 3) }, 2)
    raises({ "backprop.cat:", "tensors[2] has shape 6, tensors[1] 2x3" }, bp.cat, { a, bp.zeros(6) })
    raises({ "backprop.cat:", "tensors[2] is uint8, but tensors[1] is float32" },
           bp.cat, { a, bp.zeros(2, 3, "uint8") })
    raises({ "backprop.cat:", "dim is 3, but the tensor has 2 dimensions" }, bp.cat, { a }, 3)
    raises({ "backprop.stack:", "tensors[3] has shape 3x2, but tensors[1] has 2x3" },
           bp.stack, { a, a, bp.zeros(3, 2) })
    raises({ "backprop.stack:", "dim is 4, but the tensor has 2 dimensions" }, bp.stack, { a }, 4)
    raises({ "backprop.stack:", "would exceed 8 dimensions" }, bp.stack, { bp.zeros(1, 1, 1, 1, 1, 1, 1, 1) })
  end)
end)

describe("arange, linspace, one_hot", function()
  it("arange follows PyTorch: the end is excluded", function()
    assert.same({ 0, 1, 2, 3, 4 }, bp.arange(5):totable())
    assert.same({ 2, 3, 4 }, bp.arange(2, 5):totable())
    assert.same({ 1, 3, 5 }, bp.arange(1, 6, 2):totable())
    assert.same({ 5, 4, 3 }, bp.arange(5, 2, -1):totable())
    close(bp.arange(0, 1, 0.25), { 0, 0.25, 0.5, 0.75 })
    raises({ "backprop.arange:", "step must not be 0" }, bp.arange, 0, 1, 0)
    raises({ "backprop.arange:", "the range from 3 to 1 by 1 is empty" }, bp.arange, 3, 1)
    raises({ "backprop.arange:", "stop must be a finite number, got inf" }, bp.arange, math.huge)
  end)

  it("linspace includes both ends", function()
    assert.same({ 0, 0.25, 0.5, 0.75, 1 }, bp.linspace(0, 1, 5):totable())
    assert.same({ 3 }, bp.linspace(3, 7, 1):totable())
    close(bp.linspace(-1, 1, 3), { -1, 0, 1 })
    assert.equal(f32(0.1), bp.linspace(0, 0.1, 7):get(7))
    raises({ "backprop.linspace:", "n must be a positive integer, got 0" }, bp.linspace, 0, 1, 0)
  end)

  it("one_hot makes N x C float32 rows from 1-based labels", function()
    assert.same({ { 0, 1, 0 }, { 1, 0, 0 }, { 0, 0, 1 } }, bp.one_hot({ 2, 1, 3 }):totable())
    assert.same({ { 0, 1, 0, 0 } }, bp.one_hot(bp.tensor({ 2 }), 4):totable())
    local y = bp.one_hot(bp.tensor({ 3, 1 }, "uint8"), 3)
    assert.equal("float32", y:dtype())
    assert.same({ { 0, 0, 1 }, { 1, 0, 0 } }, y:totable())
    assert.same({ { 1, 0 }, { 0, 1 } }, bp.one_hot(bp.tensor({ { 1 }, { 2 } })):totable())
    raises({ "backprop.one_hot:", "labels: entry 2 is 4, not a class in 1..3" }, bp.one_hot, { 1, 4 }, 3)
    raises({ "backprop.one_hot:", "labels: entry 1 is 0, not a class label" }, bp.one_hot, { 0 })
    raises({ "backprop.one_hot:", "labels: entry 1 is 1.5" }, bp.one_hot, { 1.5 }, 2)
    raises({ "backprop.one_hot:", "labels is empty" }, bp.one_hot, {})
    raises({ "backprop.one_hot:", "labels: entry 2 is a string, expected a class label" },
           bp.one_hot, { 1, "2" })
    raises({ "backprop.one_hot:", "num_classes must be a positive integer, got 0" },
           bp.one_hot, { 1 }, 0)
    raises({ "backprop.one_hot:", "labels must be a 1-D tensor (or N x 1), got shape 2x2" },
           bp.one_hot, bp.zeros(2, 2))
  end)
end)
