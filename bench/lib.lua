-- bench/lib.lua: what every Lua bench program shares. Plain Lua 5.1 syntax
-- so LuaJIT runs it too (the plain-Lua baselines load it with dofile).
--
-- Exchange files (written by bench/ours/export.lua into $BENCH_DIR, read by
-- every implementation so all start from the same weights and data):
--   a block is "name rows cols" on one line, then rows*cols numbers
--   (row-major, whitespace-separated, %.9g so float32 values round-trip).

local M = {}

function M.dir()
  local d = os.getenv("BENCH_DIR")
  if not d or d == "" then error("BENCH_DIR is not set (run bench/run.lua)", 2) end
  return d
end

function M.env_number(name, default)
  local v = tonumber(os.getenv(name) or "")
  return v or default
end

-- Wall clock in seconds: LuaJIT's FFI, backprop's bp.clock (monotonic),
-- luasystem's monotonic clock, or (last resort, and said so in the result
-- note) CPU time.
local clock, clock_kind
do
  -- LuaJIT first: it must not pick up a module built for another Lua.
  local ok, system, okbp, core
  if not jit then
    okbp, core = pcall(require, "backprop.core")
    ok, system = pcall(require, "system")
  end
  if okbp and type(core) == "table" and core.clock then
    clock, clock_kind = core.clock, "wall"
  elseif jit then
    local ffi = require("ffi")
    ffi.cdef[[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk, bench_timespec *ts);
    ]]
    local ts = ffi.new("bench_timespec")
    clock = function()
      ffi.C.clock_gettime(1, ts)           -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
    end
    clock_kind = "wall"
  elseif ok and type(system) == "table" and system.monotime then
    clock, clock_kind = system.monotime, "wall"
  else
    clock, clock_kind = os.clock, "cpu"
  end
end
M.clock, M.clock_kind = clock, clock_kind

-- Run f() until at least min_time seconds have gone by (at most max_reps
-- times, at least once); returns the best time and f's last result.
function M.best_of(f, min_time, max_reps)
  local best, total, reps, result = math.huge, 0, 0, nil
  repeat
    local t0 = clock()
    result = f()
    local t = clock() - t0
    if t < best then best = t end
    total, reps = total + t, reps + 1
  until total >= min_time or reps >= max_reps
  return best, result, reps
end

-- Peak resident memory of this process, for when no wrapper measures it.
function M.rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end

-- One machine-readable line for bench/run.lua. fields: name, workload,
-- metric, value, and optionally acc, loss, check, note (note goes last
-- and may contain spaces).
function M.result(fields)
  local parts = {"RESULT"}
  for _, k in ipairs{"workload", "name", "metric", "value", "acc", "loss", "check", "reps"} do
    local v = fields[k]
    if v ~= nil then
      if type(v) == "number" then v = string.format("%.9g", v) end
      parts[#parts + 1] = k .. "=" .. tostring(v):gsub("%s", "_")
    end
  end
  parts[#parts + 1] = "rss_kb=" .. M.rss_kb()
  local note = fields.note or ""
  if clock_kind ~= "wall" then
    note = (note ~= "" and note .. "; " or "") .. "timed with CPU clock (no wall clock module)"
  end
  if note ~= "" then parts[#parts + 1] = "note=" .. note end
  print(table.concat(parts, " "))
  io.stdout:flush()
end

-- Reads every block of an exchange file: { name = {rows=, cols=, [1..n]} }
-- plus an ordered list in .order.
function M.read_blocks(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  local tok, nt = {}, 0
  for t in text:gmatch("%S+") do nt = nt + 1; tok[nt] = t end
  local blocks, order, i = {}, {}, 1
  while i <= nt do
    local name, rows, cols = tok[i], tonumber(tok[i + 1]), tonumber(tok[i + 2])
    assert(name:match("^%a") and rows and cols, path .. ": bad block header at token " .. i)
    local n, b = rows * cols, {rows = rows, cols = cols}
    assert(i + 2 + n <= nt, path .. ": block " .. name .. " is short")
    for k = 1, n do b[k] = tonumber(tok[i + 2 + k]) end
    blocks[name] = b
    order[#order + 1] = name
    i = i + 3 + n
  end
  blocks.order = order
  return blocks
end

-- Block as rows of tables: {{...}, {...}}.
function M.rows(b)
  local out, k = {}, 0
  for r = 1, b.rows do
    local row = {}
    for c = 1, b.cols do k = k + 1; row[c] = b[k] end
    out[r] = row
  end
  return out
end

function M.write_block(f, name, rows, cols, get)
  f:write(string.format("%s %d %d\n", name, rows, cols))
  local line = {}
  for r = 1, rows do
    for c = 1, cols do line[c] = string.format("%.9g", get(r, c)) end
    f:write(table.concat(line, " ", 1, cols), "\n")
  end
end

return M
