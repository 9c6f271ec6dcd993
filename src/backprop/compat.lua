--- backprop.compat: the few things that differ between Lua 5.1, 5.2, 5.3,
-- 5.4 and LuaJIT, in one place. The other modules of the Lua face use these
-- instead of `//`, `math.type`, `math.tointeger` and `utf8`, which 5.1 and
-- LuaJIT lack. On 5.1 and LuaJIT every number is a double: an "integer" is
-- then a finite number with no fractional part, and indices and labels
-- are checked that way.

local M = {}

local floor = math.floor
local mtype, mtointeger = math.type, math.tointeger

--- v as an integer when it is a number with an integral value that a
-- 64-bit integer holds (an integer subtype on 5.3+), else nil: what
-- math.tointeger does on 5.4 for numbers, and what the C binding accepts
-- (compat.h's lua_tointegerx on 5.1).
if mtointeger then
  function M.tointeger(v)
    return mtype(v) ~= nil and mtointeger(v) or nil
  end
else
  function M.tointeger(v)
    if type(v) == "number" and v == floor(v) and v >= -2 ^ 63 and v < 2 ^ 63 then return v end
    return nil
  end
end

--- Whether v is a number with an integral value (of either subtype).
function M.isinteger(v)
  return M.tointeger(v) ~= nil
end

--- Whether v has the integer subtype (5.3+); on 5.1 and LuaJIT the same as
-- isinteger, since numbers have no subtypes there.
if mtype then
  function M.isinttype(v) return mtype(v) == "integer" end
else
  M.isinttype = M.isinteger
end

--- Floor division a // b of two integral values.
function M.idiv(a, b)
  return floor(a / b)
end

--- log10(x): math.log(x, 10) ignores its base on 5.1 and LuaJIT, which
-- have math.log10 instead (5.4 computes log(x, 10) with log10 too).
M.log10 = math.log10 or function(x) return math.log(x, 10) end   -- luacheck: ignore

M.unpack = table.unpack or unpack   -- luacheck: ignore (5.1 global)

--- Characters in a UTF-8 string, or nil when it is not valid UTF-8
-- (utf8.len where it exists; a byte scan on 5.1 and LuaJIT).
if utf8 and utf8.len then
  M.utf8len = utf8.len
else
  function M.utf8len(s)
    local n, i, len = 0, 1, #s
    while i <= len do
      local c = s:byte(i)
      local k = c < 0x80 and 0 or c >= 0xF0 and c < 0xF8 and 3 or
                c >= 0xE0 and 2 or c >= 0xC2 and 1 or nil
      if not k or i + k > len then return nil end
      for j = i + 1, i + k do
        local d = s:byte(j)
        if d < 0x80 or d > 0xBF then return nil end
      end
      i, n = i + k + 1, n + 1
    end
    return n
  end
end

return M
