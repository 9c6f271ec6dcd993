-- bench/baselines/classic.lua BATCH: the classic recipe in plain Lua
-- tables (doubles), for lua5.4 and LuaJIT alike (Lua 5.1 syntax). The same
-- maths as backprop's net:fit with MSELoss and SGD: mean squared error over
-- the batch, gradients averaged over the batch, lr 0.01, samples in file
-- order, from the weights in $BENCH_DIR/classic_init.txt. Timing as in
-- bench/ours/classic.lua (best repetition).

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local lib = dofile(here .. "/../lib.lua")

local batch = tonumber(arg[1]) or 1
local epochs = lib.env_number("BENCH_CLASSIC_EPOCHS", 100)
local LR = 0.01
local data = lib.read_blocks(lib.dir() .. "/classic_data.txt")
local init = lib.read_blocks(lib.dir() .. "/classic_init.txt")
local xs, ys = lib.rows(data.X), data.Y
local n, nin, nhid = #xs, 30, 16
local exp = math.exp

local w1, b1, w2, b2          -- w1[j][i], b1[j], w2[j], b2
local function reset()
  w1 = lib.rows(init.W1)
  b1, w2 = {}, {}
  for j = 1, nhid do b1[j] = init.b1[j]; w2[j] = init.W2[j] end
  b2 = init.b2[1]
end

-- Gradient accumulators for one batch.
local gw1, gb1, gw2 = {}, {}, {}
for j = 1, nhid do gw1[j] = {} end
local h = {}

local function forward(x)
  local o = b2
  for j = 1, nhid do
    local a, wj = b1[j], w1[j]
    for i = 1, nin do a = a + wj[i] * x[i] end
    local hj = 1 / (1 + exp(-a))
    h[j] = hj
    o = o + w2[j] * hj
  end
  return 1 / (1 + exp(-o))
end

local function train()
  reset()
  local total = 0
  for _ = 1, epochs do
    total = 0
    local s = 1
    while s <= n do
      local last = s + batch - 1
      if last > n then last = n end
      local m = last - s + 1
      for j = 1, nhid do
        local g = gw1[j]
        for i = 1, nin do g[i] = 0 end
        gb1[j], gw2[j] = 0, 0
      end
      local gb2 = 0
      for k = s, last do
        local x = xs[k]
        local y = forward(x)
        local d = y - ys[k]
        total = total + d * d
        local dout = 2 * d / m * y * (1 - y)
        gb2 = gb2 + dout
        for j = 1, nhid do
          local hj = h[j]
          gw2[j] = gw2[j] + dout * hj
          local dh = dout * w2[j] * hj * (1 - hj)
          gb1[j] = gb1[j] + dh
          local g = gw1[j]
          for i = 1, nin do g[i] = g[i] + dh * x[i] end
        end
      end
      for j = 1, nhid do
        local wj, g = w1[j], gw1[j]
        for i = 1, nin do wj[i] = wj[i] - LR * g[i] end
        b1[j] = b1[j] - LR * gb1[j]
        w2[j] = w2[j] - LR * gw2[j]
      end
      b2 = b2 - LR * gb2
      s = last + 1
    end
  end
  return total / n
end

local t, last, reps = lib.best_of(train, lib.env_number("BENCH_MIN_TIME", 1), 20)
local right = 0
for k = 1, n do
  if (forward(xs[k]) >= 0.5 and 1 or 0) == ys[k] then right = right + 1 end
end
lib.result{
  workload = "classic_b" .. batch, name = jit and "luajit" or "lua5.4",
  metric = "samples/s", value = n * epochs / t, reps = reps, loss = last,
  acc = right / n, note = "Lua tables, doubles",
}
