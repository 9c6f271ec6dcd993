-- bench/ours/overhead.lua: fixed costs, each beside its baseline in one
-- process (issue 12).
--
-- fit_call: one net:fit of one tiny epoch (the classic net 30-16-1, one
-- sample, batch 1) against one net:train_step on the same sample: what a
-- fit call costs beyond the step it runs. Best of 7 rounds of
-- BENCH_CALLS calls (20000) each.
-- index_float32, index_uint8: x:index(1, perm) of 60000 x 784 rows
-- (Fashion-MNIST's training set, random values; BENCH_INDEX_ROWS rows) in
-- a random order,
-- against a plain copy of the same bytes: x:clone() (a new tensor, as
-- index makes) and y:copy(x) (into a tensor that exists). Best of 5.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib
local clock = lib.clock

local what = arg[1] or "fit_call"

-- The best time of `rounds` calls of f, and f's last result (the one
-- before is freed outside the time).
local function best(rounds, f)
  local t, r = math.huge, nil
  for _ = 1, rounds do
    r = nil
    collectgarbage()
    local t0 = clock()
    r = f()
    t = math.min(t, clock() - t0)
  end
  return t, r
end

if what == "fit_call" then
  local calls = lib.env_number("BENCH_CALLS", 20000)
  bp.manual_seed(1)
  local net = bp.Sequential{bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()}
  local x, y = bp.randn(1, 30), bp.rand(1, 1)
  local loss, opt = bp.MSELoss(), bp.SGD(net, {lr = 0.01})
  local o = {loss = loss, optimizer = opt, epochs = 1, batch_size = 1}
  local function loop(f) return function() for _ = 1, calls do f() end end end
  local t_step, t_fit = math.huge, math.huge
  for _ = 1, 7 do     -- alternated: load on the machine hits both alike
    t_step = math.min(t_step, (best(1, loop(function() net:train_step(x, y, loss, opt) end))))
    t_fit = math.min(t_fit, (best(1, loop(function() net:fit(x, y, o) end))))
  end
  local l = net:train_step(x, y, loss, opt)
  lib.result{workload = "fit_call", name = "backprop", metric = "us/call", value = t_fit / calls * 1e6,
             loss = l, note = "net:fit(x, y, {epochs = 1, batch_size = 1}) on one sample"}
  lib.result{workload = "fit_call", name = "backprop-train_step", metric = "us/call",
             value = t_step / calls * 1e6, loss = l, note = "net:train_step on the same sample"}
else
  local dtype = what:match("^index_(%w+)$")
  assert(dtype == "float32" or dtype == "uint8", "usage: overhead.lua fit_call|index_float32|index_uint8")
  local rows = lib.env_number("BENCH_INDEX_ROWS", 60000)
  bp.manual_seed(2)
  local x = bp.rand(rows, 784)
  if dtype == "uint8" then x = x:mul(255):byte() end
  local perm = bp.randperm(rows)
  local y = x:clone()
  local t_index, g = best(5, function() return x:index(1, perm) end)
  local check = g[7][9]                    -- row 7 of the result is row perm[7]
  assert(check == x[perm[7]][9], "index gathered the wrong row")
  g = nil
  local t_clone = best(5, function() return x:clone() end)
  local t_copy = best(5, function() y:copy(x) end)
  local mb = x:numel() * (dtype == "uint8" and 1 or 4) / 2 ^ 20
  local w = "index_" .. dtype
  lib.result{workload = w, name = "backprop", metric = "ms", value = t_index * 1e3, check = check,
             note = string.format("x:index(1, perm), %d rows, %.0f MiB in a random order", rows, mb)}
  lib.result{workload = w, name = "memcpy-new", metric = "ms", value = t_clone * 1e3, check = check,
             note = "x:clone(): a new tensor and one copy of the same bytes"}
  lib.result{workload = w, name = "memcpy", metric = "ms", value = t_copy * 1e3, check = check,
             note = "y:copy(x): the same bytes into a tensor that exists"}
end
