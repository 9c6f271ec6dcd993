--- backprop.ffi: under LuaJIT, net:forward(tbl, outtbl) -- the call a game
-- makes every frame -- goes through the FFI instead of the classic C API.
-- A C API call from a compiled trace is an exit from the trace, and reading
-- a table through lua_rawgeti is slow there, while an FFI call and a loop
-- over a Lua table compile. The maths is the same call of the core (see
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

--- Replace methods.forward (the Module class's) by one that takes the
-- table path through the FFI. internal: require("backprop.core").internal.
-- Returns true when installed.
function M.install(methods, internal)
  local api = ffi.cast("const struct backprop_ffi_api *", internal.ffi)
  if api.version ~= 1 then return false end
  local call, handle_of, classic = api.forward, internal.ffi_handle, methods.forward
  -- Per network seen with a table: its handle and float buffers (weak
  -- keys: a collected network's entry goes with it).
  local state = setmetatable({}, { __mode = "k" })

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
    return y
  end

  methods.forward = function(net, ...)
    local x, out = ...
    if type(x) ~= "table" then return classic(net, ...) end
    local s = state[net]
    if s == nil or (out ~= nil and type(out) ~= "table") or select("#", ...) > 2 then
      return first(net, ...)
    end
    local n = #x
    if n > s.nx then return first(net, ...) end
    local buf = s.x
    for i = 1, n do
      local v = rawget(x, i)
      if type(v) ~= "number" then return first(net, ...) end
      buf[i - 1] = v
    end
    local ny = call(s.h, buf, n, s.y, s.ny)
    if ny < 0 then return first(net, ...) end
    local y = s.y
    out = out or new_table(ny, 0)
    for i = 1, ny do rawset(out, i, y[i - 1]) end
    return out
  end
  return true
end

return M
