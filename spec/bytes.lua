-- spec/bytes.lua: binary strings for the specs, the same on every Lua
-- (require("bytes")): string.pack / string.unpack and 32-bit bitwise
-- operations, which Lua 5.1, 5.2 and LuaJIT lack as such.
--
--   B.pack(fmt, ...), B.unpack(fmt, s [, pos])
--     string.pack and string.unpack on 5.3+; elsewhere a pure-Lua version
--     of these formats: < > = (byte order; ! and spaces are ignored),
--     b B h H i[n] I[n] (n = 1..8, 4 by default) l L j J (8 bytes),
--     f d n (IEEE binary32 / binary64, round to nearest even), s[n]
--     (a string after its length in n bytes, 8 by default), x (a zero byte).
--     Integers beyond 2^53 do not occur in the specs and are refused.
--   B.band, B.bor, B.bxor (two operands), B.bnot, B.lshift, B.rshift:
--     operations on unsigned 32-bit values (0 .. 2^32 - 1), giving such a
--     value: the native operators on 5.3+, bit32 on 5.2, LuaJIT's bit
--     library, arithmetic on 5.1.
--   B.crc32(s): CRC-32 (IEEE, reflected, polynomial 0xEDB88320), what zlib
--     and the model files use.

local B = {}

local floor, huge = math.floor, math.huge
local TWO32 = 2 ^ 32

------------------------------------------------------------------ bits

local native = string.pack and (loadstring or load)([[
  local M = 0xFFFFFFFF
  return {
    band = function(a, b) return a & b end,
    bor = function(a, b) return a | b end,
    bxor = function(a, b) return a ~ b end,
    bnot = function(a) return ~a & M end,
    lshift = function(a, n) return (a << n) & M end,
    rshift = function(a, n) return a >> n end,
  }]])

if native then
  -- Numbers may arrive as floats with integral values (3.0): the
  -- operators take those too.
  local ops = native()
  for k, f in pairs(ops) do B[k] = f end
elseif bit32 then                                      -- luacheck: ignore
  B.band, B.bor, B.bxor, B.bnot = bit32.band, bit32.bor, bit32.bxor, bit32.bnot
  B.lshift, B.rshift = bit32.lshift, bit32.rshift
elseif bit then                                        -- LuaJIT: signed results
  local function u(x) return x % TWO32 end
  B.band = function(a, b) return u(bit.band(a, b)) end
  B.bor = function(a, b) return u(bit.bor(a, b)) end
  B.bxor = function(a, b) return u(bit.bxor(a, b)) end
  B.bnot = function(a) return u(bit.bnot(a)) end
  B.lshift = function(a, n) return u(bit.lshift(a, n)) end
  B.rshift = function(a, n) return u(bit.rshift(a, n)) end
else
  -- Lua 5.1: a nibble at a time through 16 x 16 tables.
  local function table_of(f)
    local t = {}
    for a = 0, 15 do
      for b = 0, 15 do
        local r, p, x, y = 0, 1, a, b
        for _ = 1, 4 do
          r = r + f(x % 2, y % 2) * p
          x, y, p = floor(x / 2), floor(y / 2), p * 2
        end
        t[a * 16 + b] = r
      end
    end
    return function(a, b)
      local r, p = 0, 1
      for _ = 1, 8 do
        local x, y = a % 16, b % 16
        r = r + t[x * 16 + y] * p
        a, b, p = (a - x) / 16, (b - y) / 16, p * 16
      end
      return r
    end
  end
  B.band = table_of(function(x, y) return x * y end)
  B.bor = table_of(function(x, y) return (x + y > 0) and 1 or 0 end)
  B.bxor = table_of(function(x, y) return (x + y) % 2 end)
  B.bnot = function(a) return TWO32 - 1 - a end
  B.lshift = function(a, n) return (a * 2 ^ n) % TWO32 end
  B.rshift = function(a, n) return floor(a / 2 ^ n) end
end

local CRC = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do
    if c % 2 == 1 then c = B.bxor(0xEDB88320, B.rshift(c, 1)) else c = B.rshift(c, 1) end
  end
  CRC[n] = c
end

function B.crc32(s)
  local c, band, bxor, rshift = 0xFFFFFFFF, B.band, B.bxor, B.rshift
  for i = 1, #s do c = bxor(CRC[band(bxor(c, s:byte(i)), 0xFF)], rshift(c, 8)) end
  return bxor(c, 0xFFFFFFFF)
end

------------------------------------------------------------------ pack

if string.pack then
  B.pack, B.unpack = string.pack, string.unpack
  return B
end

-- Unsigned integer v (0 <= v < 256^n) as n bytes, least significant first.
local function le_bytes(v, n)
  local out = {}
  for i = 1, n do
    local b = v % 256
    out[i] = b
    v = (v - b) / 256
  end
  return out
end

local function int_bytes(v, n, signed, what)
  if type(v) ~= "number" or v ~= floor(v) then
    error(("bytes.pack: %s expects an integer, got %s"):format(what, tostring(v)), 3)
  end
  local lim = n >= 7 and 2 ^ 53 or 256 ^ n
  local lo, hi = signed and -lim / 2 or 0, signed and lim / 2 - 1 or lim - 1
  if n >= 7 then lo, hi = -lim, lim end
  if v < lo or v > hi then error(("bytes.pack: %s: integer overflow (%s)"):format(what, tostring(v)), 3) end
  if v >= 0 then return le_bytes(v, n) end
  local b = le_bytes(-v - 1, n)                 -- two's complement, byte by byte
  for i = 1, n do b[i] = 255 - b[i] end
  return b
end

-- Round to nearest, ties to even.
local function round_even(v)
  local r = floor(v)
  local d = v - r
  if d > 0.5 or (d == 0.5 and r % 2 == 1) then r = r + 1 end
  return r
end

-- IEEE binary32 (mbits 23, ebits 8) or binary64 (52, 11) of x, as bytes.
local function float_bytes(x, mbits, ebits)
  local bias, emax = 2 ^ (ebits - 1) - 1, 2 ^ ebits - 1
  local sign = (x < 0 or (x == 0 and 1 / x < 0)) and 1 or 0
  local a, e, m = math.abs(x), 0, 0
  if x ~= x then
    e, m = emax, 2 ^ (mbits - 1)
  elseif a == huge then
    e = emax
  elseif a > 0 then
    local f, ex = math.frexp(a)                 -- a = f * 2^ex, 0.5 <= f < 1
    e = ex - 1 + bias
    if e >= 1 then
      m = round_even((f * 2 - 1) * 2 ^ mbits)
      if m == 2 ^ mbits then e, m = e + 1, 0 end
      if e >= emax then e, m = emax, 0 end      -- rounds up to infinity
    else                                        -- subnormal (or rounds up to the smallest normal)
      m = round_even(a / 2 ^ (1 - bias - mbits))
      e = 0
      if m == 2 ^ mbits then e, m = 1, 0 end
    end
  end
  local hi = sign * 2 ^ ebits + e                 -- sign and exponent, above the mantissa
  if mbits < 32 then return le_bytes(hi * 2 ^ mbits + m, 4) end
  -- binary64 holds 64 bits, more than a double's integers: two halves.
  local lo = le_bytes(m % TWO32, 4)
  local up = le_bytes(floor(m / TWO32) + hi * 2 ^ (mbits - 32), 4)
  return { lo[1], lo[2], lo[3], lo[4], up[1], up[2], up[3], up[4] }
end

local function float_of(b, mbits, ebits)
  local lo, up = 0, 0                           -- the low and high 32 bits
  for i = 4, 1, -1 do lo = lo * 256 + b[i] end
  for i = #b, 5, -1 do up = up * 256 + b[i] end
  local m, rest
  if mbits < 32 then
    m, rest = lo % 2 ^ mbits, floor(lo / 2 ^ mbits)
  else
    m = lo + (up % 2 ^ (mbits - 32)) * TWO32
    rest = floor(up / 2 ^ (mbits - 32))
  end
  local e = rest % 2 ^ ebits
  local sign = rest >= 2 ^ ebits and -1 or 1
  local bias, emax = 2 ^ (ebits - 1) - 1, 2 ^ ebits - 1
  if e == emax then
    if m == 0 then return sign * huge end
    return 0 / 0
  elseif e == 0 then
    return sign * m * 2 ^ (1 - bias - mbits)
  end
  return sign * (1 + m / 2 ^ mbits) * 2 ^ (e - bias)
end

-- The items of a format: { kind, size, signed } in order, and byte order
-- changes as { "<" } / { ">" }.
local function items(fmt)
  local out, i = {}, 1
  while i <= #fmt do
    local c = fmt:sub(i, i)
    local digits = fmt:match("^%d+", i + 1)
    local n = tonumber(digits)
    i = i + 1 + (digits and #digits or 0)
    if c == "<" or c == "=" then out[#out + 1] = { "order", little = true }
    elseif c == ">" then out[#out + 1] = { "order", little = false }
    elseif c == "!" or c == " " then -- alignment is not used by the specs
    elseif c == "b" or c == "B" then out[#out + 1] = { "int", 1, c == "b" }
    elseif c == "h" or c == "H" then out[#out + 1] = { "int", 2, c == "h" }
    elseif c == "i" or c == "I" then out[#out + 1] = { "int", n or 4, c == "i" }
    elseif c == "l" or c == "L" or c == "j" or c == "J" or c == "T" then
      out[#out + 1] = { "int", 8, c == "l" or c == "j" }
    elseif c == "f" then out[#out + 1] = { "float", 4 }
    elseif c == "d" or c == "n" then out[#out + 1] = { "float", 8 }
    elseif c == "s" then out[#out + 1] = { "string", n or 8 }
    elseif c == "x" then out[#out + 1] = { "pad", 1 }
    else error("bytes: format option '" .. c .. "' is not supported", 3) end
  end
  return out
end

local function ordered(b, little)
  if little then return b end
  local r = {}
  for i = 1, #b do r[i] = b[#b + 1 - i] end
  return r
end

local unpack = table.unpack or unpack                  -- luacheck: ignore

function B.pack(fmt, ...)
  local args, k, little, parts = { ... }, 0, true, {}
  for _, it in ipairs(items(fmt)) do
    local kind = it[1]
    if kind == "order" then
      little = it.little
    elseif kind == "pad" then
      parts[#parts + 1] = "\0"
    else
      k = k + 1
      local v = args[k]
      local b
      if kind == "int" then
        b = int_bytes(v, it[2], it[3], "argument #" .. (k + 1))
      elseif kind == "float" then
        if type(v) ~= "number" then error("bytes.pack: argument #" .. (k + 1) .. " must be a number", 2) end
        b = it[2] == 4 and float_bytes(v, 23, 8) or float_bytes(v, 52, 11)
      else
        if type(v) ~= "string" then error("bytes.pack: argument #" .. (k + 1) .. " must be a string", 2) end
        b = int_bytes(#v, it[2], false, "string length")
      end
      parts[#parts + 1] = string.char(unpack(ordered(b, little)))
      if kind == "string" then parts[#parts + 1] = v end
    end
  end
  return table.concat(parts)
end

function B.unpack(fmt, s, pos)
  local out, little, at = {}, true, pos or 1
  local function take(n)
    if at + n - 1 > #s then error("bytes.unpack: data string too short", 3) end
    local b = { s:byte(at, at + n - 1) }
    at = at + n
    return ordered(b, little)
  end
  for _, it in ipairs(items(fmt)) do
    local kind = it[1]
    if kind == "order" then
      little = it.little
    elseif kind == "pad" then
      take(1)
    elseif kind == "float" then
      local b = take(it[2])
      out[#out + 1] = it[2] == 4 and float_of(b, 23, 8) or float_of(b, 52, 11)
    else
      local n = it[2]
      local b = take(n)
      local v, p = 0, 1
      for i = 1, n do v, p = v + b[i] * p, p * 256 end
      if kind == "int" and it[3] and b[n] >= 128 then
        v = 0                                   -- negative: -(~v + 1), byte by byte
        p = 1
        for i = 1, n do v, p = v + (255 - b[i]) * p, p * 256 end
        v = -v - 1
      end
      if kind == "string" then
        out[#out + 1] = s:sub(at, at + v - 1)
        if #out[#out] < v then error("bytes.unpack: data string too short", 2) end
        at = at + v
      else
        out[#out + 1] = v
      end
    end
  end
  out[#out + 1] = at
  return unpack(out, 1, #out)
end

return B
