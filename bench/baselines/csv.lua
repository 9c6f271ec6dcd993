-- bench/baselines/csv.lua PATH: the plain-Lua way to read a numeric CSV,
-- the baseline of bp.data.read_csv: io.lines, each line split on commas
-- with gmatch and each field through tonumber (the values summed, not
-- kept, so this is the least a Lua reader does). check = values read.

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local lib = dofile(here .. "/../lib.lua")

local path = assert(arg[1], "usage: csv.lua PATH")
local t0 = lib.clock()
local n, sum, header = 0, 0, true
for line in io.lines(path) do
  if header then
    header = false
  else
    for field in line:gmatch("[^,]+") do
      sum = sum + tonumber(field)
      n = n + 1
    end
  end
end
local t = lib.clock() - t0
lib.result{workload = "csv", name = "lua5.4-io.lines", metric = "s", value = t, check = n,
           note = string.format("gmatch + tonumber, values summed (%.6g), not kept", sum)}
