-- Views without copies: narrow, select, t[i], reshape of views; writes go
-- both ways, views keep their base alive, and functions that need
-- contiguous data take views as (copied) inputs but refuse them as outputs.
-- Every expected value is written out by hand.

local bp = require("backprop")
local H = require("helper")
local raises = H.raises

-- 3x4 with t[i][j] = 10 * i + j
local function grid()
  return bp.tensor({ { 11, 12, 13, 14 }, { 21, 22, 23, 24 }, { 31, 32, 33, 34 } })
end

describe("narrow", function()
  it("takes a range of rows or columns", function()
    local t = grid()
    assert.same({ { 21, 22, 23, 24 }, { 31, 32, 33, 34 } }, t:narrow(1, 2, 2):totable())
    assert.same({ { 12, 13 }, { 22, 23 }, { 32, 33 } }, t:narrow(2, 2, 2):totable())
    assert.same({ 3, 2 }, t:narrow(2, 2, 2):shape())
    assert.same({ { 14 }, { 24 }, { 34 } }, t:narrow(2, 4, 1):totable())
    assert.same(t:totable(), t:narrow(1, 1, 3):totable())
  end)

  it("shares storage: writes go both ways", function()
    local t = grid()
    local v = t:narrow(2, 2, 2)
    v:set(1, 1, -1)
    assert.equal(-1, t:get(1, 2))
    t:set(3, 3, -5)
    assert.equal(-5, v:get(3, 2))
    v:fill(0)
    assert.same({ { 11, 0, 0, 14 }, { 21, 0, 0, 24 }, { 31, 0, 0, 34 } }, t:totable())
  end)

  it("of a narrow and of a 3-D tensor", function()
    local t = bp.arange(24):reshape(2, 3, 4)
    local v = t:narrow(3, 2, 3):narrow(2, 2, 1)      -- 2x1x3
    assert.same({ { { 5, 6, 7 } }, { { 17, 18, 19 } } }, v:totable())
    v:copy(bp.zeros(2, 1, 3))
    assert.equal(0, t:get(1, 2, 2))
    assert.equal(4, t:get(1, 2, 1))
    assert.equal(0, t:get(2, 2, 4))
  end)

  it("rejects bad dims, starts and lengths", function()
    local t = grid()
    raises({ "backprop.Tensor:narrow:", "dim is 3, but the tensor has 2 dimensions" }, t.narrow, t, 3, 1, 1)
    raises({ "backprop.Tensor:narrow:", "dim must be a positive integer, got 0" }, t.narrow, t, 0, 1, 1)
    raises({ "backprop.Tensor:narrow:", "start is 4, out of range 1..3 (size of dimension 1)" },
           t.narrow, t, 1, 4, 1)
    raises({ "backprop.Tensor:narrow:", "start 2 with len 4 goes past the end of dimension 2 (size 4)" },
           t.narrow, t, 2, 2, 4)
    raises({ "backprop.Tensor:narrow:", "len must be a positive integer, got 0" }, t.narrow, t, 1, 1, 0)
    raises({ "backprop.Tensor:narrow:", "start must be a positive integer, got 1.5" }, t.narrow, t, 1, 1.5, 1)
    raises({ "backprop.Tensor:narrow:", "len must be a positive integer, got no value" }, t.narrow, t, 1, 1)
  end)
end)

describe("select and t[i]", function()
  it("select removes the dimension", function()
    local t = grid()
    assert.same({ 21, 22, 23, 24 }, t:select(1, 2):totable())
    assert.same({ 13, 23, 33 }, t:select(2, 3):totable())
    assert.same({ 3 }, t:select(2, 3):shape())
    assert.equal(23, t:select(1, 2):select(1, 3))   -- 1-D: a number
  end)

  it("t[i] is row i; t[i][j] an element", function()
    local t = grid()
    assert.same({ 31, 32, 33, 34 }, t[3]:totable())
    assert.equal(24, t[2][4])
    local c = bp.arange(8):reshape(2, 2, 2)
    assert.same({ { 4, 5 }, { 6, 7 } }, c[2]:totable())
    assert.equal(6, c[2][2][1])
  end)

  it("writes through a selected row reach the base", function()
    local t = grid()
    local r = t[2]
    r:set(1, 0)
    assert.equal(0, t:get(2, 1))
    t:select(2, 4):fill(7)
    assert.same({ { 11, 12, 13, 7 }, { 0, 22, 23, 7 }, { 31, 32, 33, 7 } }, t:totable())
  end)

  it("t[i] = number fills a row, t[i] = tensor copies into it", function()
    local t = grid()
    t[1] = 0
    t[3] = bp.tensor({ 1, 2, 3, 4 })
    t[2] = bp.tensor({ 9 })                     -- broadcast to the row
    assert.same({ { 0, 0, 0, 0 }, { 9, 9, 9, 9 }, { 1, 2, 3, 4 } }, t:totable())
    local v = bp.tensor({ 1, 2, 3 })
    v[2] = 20
    assert.same({ 1, 20, 3 }, v:totable())
    t[1] = t[3]                                  -- rows of one storage
    assert.same({ 1, 2, 3, 4 }, t[1]:totable())
  end)

  it("keeps method lookup working", function()
    local t = grid()
    assert.equal("function", type(t.narrow))
    assert.is_nil(t.no_such_method)
  end)

  it("rejects bad indices and bad assignments", function()
    local t = grid()
    raises({ "backprop.Tensor:__index:", "index is 4, out of range 1..3" }, function() return t[4] end)
    raises({ "backprop.Tensor:__index:", "index must be a positive integer, got 0" }, function() return t[0] end)
    raises({ "backprop.Tensor:__index:", "index must be a positive integer, got 1.5" }, function() return t[1.5] end)
    raises({ "backprop.Tensor:select:", "index is 5, out of range 1..4 (size of dimension 2)" },
           t.select, t, 2, 5)
    raises({ "backprop.Tensor:select:", "dim is 3, but the tensor has 2 dimensions" }, t.select, t, 3, 1)
    raises({ "backprop.Tensor:__newindex:", "index is 4, out of range 1..3" }, function() t[4] = 0 end)
    raises({ "backprop.Tensor:__newindex:", "cannot set field foo" }, function() t.foo = 1 end)
    raises({ "backprop.Tensor:__newindex:", "value must be a number or a backprop.Tensor, got table" },
           function() t[1] = { 1, 2, 3, 4 } end)
    raises({ "backprop.Tensor:__newindex:", "shapes 4 and 3 do not match" },
           function() t[1] = bp.zeros(3) end)
    assert.same(grid():totable(), t:totable())
  end)
end)

describe("view lifetimes", function()
  it("a view keeps its base's storage alive after the base is collected", function()
    local v
    do
      local t = grid()
      v = t:narrow(1, 2, 1):select(1, 1)     -- view of a view
    end
    collectgarbage()
    collectgarbage()
    assert.same({ 21, 22, 23, 24 }, v:totable())
    v:fill(1)
    assert.equal(4, v:sum())
  end)

  it("closing a base with live views leaves the views usable", function()
    local t = grid()
    local r = t[2]
    t:close()
    raises({ "closed tensor" }, t.get, t, 1, 1)
    assert.same({ 21, 22, 23, 24 }, r:totable())
    r = nil                                              -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)

  it("a view of a network parameter keeps the network alive", function()
    local v
    do
      local net = bp.Linear(3, 2)
      local w = net:parameters()[1]
      v = w:select(2, 1)
      w:fill(0.5)
    end
    collectgarbage()
    collectgarbage()
    assert.same({ 0.5, 0.5 }, v:totable())
  end)
end)

describe("views passed to other functions", function()
  it("reshape of a strided view is a copy; of a contiguous view a view", function()
    local t = grid()
    local s = t:narrow(2, 1, 2):reshape(6)
    assert.same({ 11, 12, 21, 22, 31, 32 }, s:totable())
    s:set(1, 0)
    assert.equal(11, t:get(1, 1))
    local r = t:narrow(1, 2, 2):reshape(8)          -- rows: contiguous
    r:set(1, 0)
    assert.equal(0, t:get(2, 1))
  end)

  it("are read as inputs: forward, matmul, losses, t, clone", function()
    local net = bp.Linear(2, 1)
    local x = bp.tensor({ { 1, 9, 2 }, { 3, 9, 4 } })
    local cols = x:index(2, { 1, 3 })                -- a copy, contiguous
    local view = bp.stack({ x:select(2, 1), x:select(2, 3) }, 2)
    assert.same(cols:totable(), view:totable())
    assert.same(net:forward(cols):totable(), net:forward(view):totable())
    -- a strided view as the input of forward gives the same as its copy
    local strided = bp.tensor({ { 1, 2, 0 }, { 3, 4, 0 } }):narrow(2, 1, 2)
    assert.same(net:forward(strided:clone()):totable(), net:forward(strided):totable())
    assert.same({ { 1, 3 }, { 2, 4 } }, strided:t():totable())
    local m = strided:matmul(bp.tensor({ { 1 }, { 1 } }))
    assert.same({ { 3 }, { 7 } }, m:totable())
    local loss = bp.MSELoss()
    assert.equal(loss:forward(strided:clone(), bp.zeros(2, 2)), loss:forward(strided, bp.zeros(2, 2)))
  end)

  it("are refused as outputs with a clear error", function()
    local net = bp.Linear(2, 2)
    local x = bp.ones(3, 2)
    local out = bp.zeros(3, 4)
    raises({ "backprop.Linear:forward:", "out is a non-contiguous view", "shape 3x2" },
           net.forward, net, x, out:narrow(2, 1, 2))
    local data = bp.tensor({ { 1, 2, 0 }, { 3, 4, 0 } })
    raises({ "backprop.data.standardize:", "x is a non-contiguous view" },
           bp.data.standardize, data:narrow(2, 1, 2))
    assert.same({ { 1, 2, 0 }, { 3, 4, 0 } }, data:totable())
    -- a contiguous view (rows) is fine, and is written in place
    local rows = bp.zeros(5, 2)
    net:forward(x, rows:narrow(1, 2, 3))
    assert.same(net:forward(x):totable(), rows:narrow(1, 2, 3):totable())
    assert.same({ 0, 0 }, rows[1]:totable())
  end)
end)

-- Random chains of narrow / select / t[i] on a 3-D tensor, checked against
-- the same slicing done on plain Lua tables; then a write through the last
-- view must show up at the right places of the base and nowhere else.
describe("random view chains", function()
  local function lua_narrow(v, d, s, n)
    if d == 1 then
      local out = {}
      for i = s, s + n - 1 do out[#out + 1] = v[i] end
      return out
    end
    local out = {}
    for i = 1, #v do out[i] = lua_narrow(v[i], d - 1, s, n) end
    return out
  end
  local function lua_select(v, d, i)
    if d == 1 then return v[i] end
    local out = {}
    for k = 1, #v do out[k] = lua_select(v[k], d - 1, i) end
    return out
  end
  local function dims(v)
    local s = {}
    while type(v) == "table" do s[#s + 1] = #v; v = v[1] end
    return s
  end

  it("match plain table slicing, for reads and writes", function()
    local perm = bp.randperm(997, 3):totable()
    local k = 0
    local function pick(n) k = k % #perm + 1; return perm[k] % n + 1 end
    for round = 1, 60 do
      local base = bp.arange(4 * 5 * 6):reshape(4, 5, 6)
      local ref = base:totable()
      local v, r = base, ref
      for _ = 1, pick(3) do
        local shape = dims(r)
        if type(r) ~= "table" or #shape == 0 then break end
        local d = pick(#shape)
        local choice = pick(3)
        if choice == 1 then
          local s = pick(shape[d])
          local n = pick(shape[d] - s + 1)
          v, r = v:narrow(d, s, n), lua_narrow(r, d, s, n)
        elseif choice == 2 and #shape > 1 then
          local i = pick(shape[d])
          v, r = v:select(d, i), lua_select(r, d, i)
        elseif #shape > 1 then
          local i = pick(shape[1])
          v, r = v[i], r[i]
        end
      end
      assert.same(r, v:totable(), "round " .. round)
      -- write -1 through the view: exactly the referenced values change
      local marked = {}
      local function mark(x)
        if type(x) == "table" then for _, y in ipairs(x) do mark(y) end
        else marked[x] = true end
      end
      mark(r)
      v:fill(-1)
      local flat = base:reshape(-1):totable()
      for i, x in ipairs(flat) do
        assert.equal(marked[i - 1] and -1 or i - 1, x, "round " .. round .. ", element " .. i)
      end
      -- a strided view copied into a new tensor equals it
      assert.same(v:totable(), v:clone():totable())
    end
  end)
end)
