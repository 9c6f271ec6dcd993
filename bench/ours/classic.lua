-- bench/ours/classic.lua BATCH: the classic recipe with backprop's public
-- API. 30-16-1 sigmoid, squared error (MSELoss), plain SGD lr 0.01, the
-- samples in file order (no shuffling), BATCH samples per update (1 or 32),
-- BENCH_CLASSIC_EPOCHS epochs (100) through net:fit, repeated from the same
-- initial weights until BENCH_MIN_TIME seconds (1) have gone by; the best
-- repetition is reported. BATCH "step": the same epochs as a Lua loop of
-- net:train_step, one call per sample (over rows sliced beforehand).

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib

local step = arg[1] == "step"
local batch = tonumber(arg[1]) or 1
local epochs = lib.env_number("BENCH_CLASSIC_EPOCHS", 100)
local data = lib.read_blocks(lib.dir() .. "/classic_data.txt")
local init = lib.read_blocks(lib.dir() .. "/classic_init.txt")
local X, Y = U.tensor(data.X), U.tensor(data.Y)
local n = #X
local xs, ys = {}, {}
for i = 1, n do xs[i], ys[i] = X:narrow(1, i, 1), Y:narrow(1, i, 1) end

local net = bp.Sequential{bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()}
local loss = bp.MSELoss()

local function train()
  U.load_params(net, init)
  local opt = bp.SGD(net, {lr = 0.01})
  if step then
    local total
    for _ = 1, epochs do
      total = 0
      for i = 1, n do total = total + net:train_step(xs[i], ys[i], loss, opt) end
    end
    return total / n
  end
  local h = net:fit(X, Y, {loss = loss, optimizer = opt, epochs = epochs,
                           batch_size = batch, shuffle = false})
  return h.loss[epochs]
end

local t, last, reps = lib.best_of(train, lib.env_number("BENCH_MIN_TIME", 1), 20)
lib.result{
  workload = step and "classic_step" or "classic_b" .. batch, name = "backprop",
  metric = "samples/s", value = n * epochs / t, reps = reps, loss = last,
  acc = bp.metrics.accuracy(net:forward(X), Y),
  note = step and "net:train_step per sample from Lua" or "net:fit, shuffle=false",
}
