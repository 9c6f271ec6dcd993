--- backprop.ffi: under LuaJIT, net:forward(tbl, outtbl) -- the call a game
-- makes every frame -- goes through the FFI instead of the classic C API.
-- A C API call from a compiled trace is an exit from the trace, and reading
-- a table through lua_rawgeti is slow there, while an FFI call and reads of
-- a Lua table compile. The maths is the same call of the core (see
-- lbp_ffi_forward in src/lua/lpass.c): this file only copies the numbers
-- in and out. Anything unusual -- a value that is not a number, a closed
-- or not yet initialized network, a wrong width, an output that does not
-- fit -- is left to the classic net:forward, which does it or raises its
-- usual error, so results and messages are the same either way.
--
-- init.lua installs it when LuaJIT runs with its compiler on; on other
-- Luas this module is not loaded (it needs the ffi library).

local ffi = require("ffi")

local M = {}

-- internal.ffi points at this (lpass.c's lbp_ffi, layout version 1).
if not pcall(ffi.typeof, "struct backprop_ffi_api") then
  ffi.cdef[[
    struct backprop_ffi_api {
      int version;
      int (*forward)(void *net, const float *x, size_t nx, float *y, size_t cap);
    };
  ]]
end

local floats = ffi.typeof("float[?]")
local type, rawget, rawset, select = type, rawget, rawset, select
local new_table = (pcall(require, "table.new")) and require("table.new") or function() return {} end

-- The copies for one shape (nx numbers in, ny out) as straight-line code,
-- made once per shape: LuaJIT compiles a loop, however short, into a trace
-- of its own, and entering and leaving the two loops of a call cost more
-- than the copies (about 35 of 220 ns of the game net's call). For nx = 2,
-- ny = 1 the function reads:
--   local type, rawget, rawset, call, new_table = ...
--   return function(x, out, h, xb, yb)
--     local v
--     v = rawget(x, 1) if type(v) ~= "number" then return nil end xb[0] = v
--     v = rawget(x, 2) if type(v) ~= "number" then return nil end xb[1] = v
--     local got = call(h, xb, 2, yb, 1)
--     if got ~= 1 then return nil, got end
--     out = out or new_table(1, 0)
--     rawset(out, 1, yb[0])
--     return out
--   end
-- It returns the outputs' table, or nil (and the count the core gave,
-- when it ran) when the call was not made or not as expected.
local STRAIGHT = 64      -- wider: the loops of M.install's general path

local function copier(copiers, call, nx, ny)
  local key = nx * (STRAIGHT + 1) + ny
  if copiers[key] then return copiers[key] end
  local src = {
    "local type, rawget, rawset, call, new_table = ...",
    "return function(x, out, h, xb, yb)",
    "  local v",
  }
  for i = 1, nx do
    src[#src + 1] = ("  v = rawget(x, %d) if type(v) ~= \"number\" then return nil end xb[%d] = v"):format(i, i - 1)
  end
  src[#src + 1] = ("  local got = call(h, xb, %d, yb, %d)"):format(nx, ny)
  src[#src + 1] = ("  if got ~= %d then return nil, got end"):format(ny)
  src[#src + 1] = ("  out = out or new_table(%d, 0)"):format(ny)
  for i = 1, ny do src[#src + 1] = ("  rawset(out, %d, yb[%d])"):format(i, i - 1) end
  src[#src + 1] = "  return out"
  src[#src + 1] = "end"
  local f = assert(load(table.concat(src, "\n"), "=backprop.ffi copier"))(type, rawget, rawset, call, new_table)
  copiers[key] = f
  return f
end

--- Replace methods.forward (the Module class's) by one that takes the
-- table path through the FFI. internal: require("backprop.core").internal.
-- Returns true when installed.
function M.install(methods, internal)
  local api = ffi.cast("const struct backprop_ffi_api *", internal.ffi)
  if api.version ~= 1 then return false end
  local call, handle_of, classic = api.forward, internal.ffi_handle, methods.forward
  -- Per network seen with a table: its handle, float buffers, and the
  -- straight-line copier of the last shape it took (weak keys: a
  -- collected network's entry goes with it).
  local state = setmetatable({}, { __mode = "k" })
  local copiers = {}      -- by shape, for this install's call

  -- The classic call (with the arguments as given: it tells a missing
  -- one from nil), then buffers sized for what it took and gave.
  local function first(net, ...)
    local y = classic(net, ...)
    local x = ...
    local s = state[net]
    local nx, ny = #x, #y
    if not s then
      s = { h = ffi.cast("void *", handle_of(net)), nx = 0, ny = 0 }
      state[net] = s
    end
    if nx > s.nx then s.x, s.nx = floats(nx), nx end
    if ny > s.ny then s.y, s.ny = floats(ny), ny end
    if nx <= STRAIGHT and ny <= STRAIGHT then
      s.width, s.copy = nx, copier(copiers, call, nx, ny)
    else
      s.width, s.copy = nil, nil
    end
    return y
  end

  -- The outputs of a call that ran, into out (the general path's loop).
  local function outputs(out, y, ny)
    out = out or new_table(ny, 0)
    for i = 1, ny do rawset(out, i, y[i - 1]) end
    return out
  end

  methods.forward = function(net, ...)
    local x, out = ...
    if type(x) ~= "table" then return classic(net, ...) end
    local s = state[net]
    if s == nil or (out ~= nil and type(out) ~= "table") or select("#", ...) > 2 then
      return first(net, ...)
    end
    local n = #x
    if n == s.width then
      local y, got = s.copy(x, out, s.h, s.x, s.y)
      if y then return y end
      if got == nil or got < 0 then return first(net, ...) end
      return outputs(out, s.y, got)
    end
    if n > s.nx then return first(net, ...) end
    local buf = s.x
    for i = 1, n do
      local v = rawget(x, i)
      if type(v) ~= "number" then return first(net, ...) end
      buf[i - 1] = v
    end
    local ny = call(s.h, buf, n, s.y, s.ny)
    if ny < 0 then return first(net, ...) end
    return outputs(out, s.y, ny)
  end
  return true
end

return M
