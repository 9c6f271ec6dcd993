-- bench/baselines/game.lua: the game net (16-32-32-4, tanh after every
-- layer) as plain Lua tables, for lua5.4 and LuaJIT (Lua 5.1 syntax): a
-- table of 16 numbers in, 4 numbers back. Lua 5.4 has no math.tanh, so it
-- uses (e^2x - 1) / (e^2x + 1) (clamped); LuaJIT uses its math.tanh.
-- Weights from $BENCH_DIR/game_init.txt; timing as bench/ours/game.lua.

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local lib = dofile(here .. "/../lib.lua")

local calls = lib.env_number("BENCH_GAME_CALLS", 200000)
local rounds = lib.env_number("BENCH_GAME_ROUNDS", 100)
local inputs = lib.rows(lib.read_blocks(lib.dir() .. "/game_inputs.txt").X)
local init = lib.read_blocks(lib.dir() .. "/game_init.txt")
local W1, W2, W3 = lib.rows(init.W1), lib.rows(init.W2), lib.rows(init.W3)
local b1, b2, b3 = init.b1, init.b2, init.b3
local exp = math.exp
local tanh = math.tanh or function(v)
  if v > 20 then return 1 elseif v < -20 then return -1 end
  local e = exp(2 * v)
  return (e - 1) / (e + 1)
end

local h1, h2 = {}, {}
local function layer(W, b, x, nin, y, nout)
  for j = 1, nout do
    local a, w = b[j], W[j]
    for i = 1, nin do a = a + w[i] * x[i] end
    y[j] = tanh(a)
  end
end
local o = {}
local function call(x)
  layer(W1, b1, x, 16, h1, 32)
  layer(W2, b2, h1, 32, h2, 32)
  layer(W3, b3, h2, 32, o, 4)
  return o[1], o[2], o[3], o[4]
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
lib.result{workload = "game", name = jit and "luajit" or "lua5.4", metric = "ns/call",
           value = best / per * 1e9, reps = rounds, check = check, note = "Lua tables, doubles"}
