-- bench/ours/csv.lua gen PATH | read PATH: the CSV reader (issue 11).
--   gen: writes a numeric CSV of $BENCH_CSV_MB megabytes (100) to PATH: a
--        header, then rows of 20 values printed with 6 decimals;
--   read: bp.data.read_csv(PATH) once, timed; the result line gives the
--        values read (as check, to compare with the plain-Lua loop) and
--        the size of the result, to set beside the peak RSS.

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local lib = dofile(here .. "/../lib.lua")

local mode, path = arg[1], arg[2]
assert(path, "usage: csv.lua gen|read PATH")

if mode == "gen" then
  local target = lib.env_number("BENCH_CSV_MB", 100) * 1e6
  local f = assert(io.open(path, "w"))
  local cols, row = 20, {}
  for j = 1, cols do row[j] = "f" .. j end
  f:write(table.concat(row, ","), "\n")
  local state, size = 1, 0
  while size < target do
    for j = 1, cols do
      state = (state * 1103515245 + 12345) % 2147483648
      row[j] = string.format("%.6f", state / 2147483648 * 100 - 50)
    end
    local line = table.concat(row, ",") .. "\n"
    f:write(line)
    size = size + #line
  end
  f:close()
  return
end

local bp = require("backprop")
local t0 = lib.clock()
local X = bp.data.read_csv(path)
local t = lib.clock() - t0
local n, d = X:shape()[1], X:shape()[2]
lib.result{workload = "csv", name = "backprop", metric = "s", value = t, check = n * d,
           note = string.format("bp.data.read_csv; result %dx%d float32 = %.1f MiB", n, d, n * d * 4 / 2 ^ 20)}
