-- bench/ours/game.lua: the game net, 16-32-32-4 tanh (tanh after every
-- layer), one forward per call from Lua: a Lua table of 16 numbers in, the
-- 4 outputs back as Lua numbers. Uses net:forward(tbl, outtbl) when the
-- library accepts a table (detected at run time), else the fastest path
-- the public API has: a preallocated 1-D input tensor filled with t:set,
-- net:forward(x, out) into a preallocated output, read with out:get.
-- BENCH_GAME_CALLS calls (200000) in BENCH_GAME_ROUNDS rounds (100); the
-- best round is reported (many short rounds: on a busy machine some run
-- without being preempted).

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib

local calls = lib.env_number("BENCH_GAME_CALLS", 200000)
local rounds = lib.env_number("BENCH_GAME_ROUNDS", 100)
local inputs = lib.rows(lib.read_blocks(lib.dir() .. "/game_inputs.txt").X)
local net = bp.Sequential{bp.Linear(16, 32), bp.Tanh(), bp.Linear(32, 32), bp.Tanh(),
                          bp.Linear(32, 4), bp.Tanh()}
U.load_params(net, lib.read_blocks(lib.dir() .. "/game_init.txt"))

local x, out = bp.zeros(16), bp.zeros(4)
local forward = net.forward
local get = out.get

local function via_tensor(t)
  for i = 1, 16 do x:set(i, t[i]) end
  forward(net, x, out)
  return get(out, 1), get(out, 2), get(out, 3), get(out, 4)
end

local o = {}
local function via_table(t)
  forward(net, t, o)
  return o[1], o[2], o[3], o[4]
end

-- The table path counts only if it gives the tensor path's answer.
local call, path = via_tensor, "t:set x16, net:forward(x, out), out:get x4"
if pcall(forward, net, inputs[1], o) then
  local a = {via_tensor(inputs[1])}
  local b = {via_table(inputs[1])}
  if a[1] == b[1] and a[2] == b[2] and a[3] == b[3] and a[4] == b[4] then
    call, path = via_table, "net:forward(tbl, outtbl): Lua tables in and out"
  end
end

local check = 0
for k = 1, #inputs do
  local a, b, c, d = call(inputs[k])
  check = check + a + b + c + d
end

local ni, per = #inputs, math.max(math.floor(calls / rounds), 1)
local best = math.huge
for _ = 1, rounds do
  local t0 = lib.clock()
  local k = 0
  for _ = 1, per do
    k = k + 1
    if k > ni then k = 1 end
    call(inputs[k])
  end
  local t = lib.clock() - t0
  if t < best then best = t end
end
lib.result{workload = "game", name = "backprop", metric = "ns/call",
           value = best / per * 1e9, reps = rounds, check = check, note = path}
