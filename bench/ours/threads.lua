-- bench/ours/threads.lua: what a second thread gives, measured in one
-- process (issue 12: 2 threads at least 1.6x one thread). Two networks
-- trained with net:fit, SGD lr 0.01 momentum 0.9, batch 64, softmax
-- cross-entropy, on random data of Fashion-MNIST's shape (784 features,
-- 10 classes): the Fashion-MNIST MLP 784-256-128-10 and a wide one,
-- 784-2048-2048-10. Each net's epochs alternate between 1 and 2 threads
-- (bp.set_num_threads), ROUNDS times, so load on the machine hits both
-- alike; the best epoch of each count is reported, with the ratio, and
-- the two trainings must end with the same weights (threads never change
-- the bits).
-- BENCH_THREAD_ROWS (default 12800) samples an epoch (a quarter of them
-- for the wide net), BENCH_THREAD_ROUNDS (3).

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib

local rows = lib.env_number("BENCH_THREAD_ROWS", 12800)
local rounds = lib.env_number("BENCH_THREAD_ROUNDS", 3)

bp.manual_seed(7)
local y = {}
for i = 1, rows do y[i] = (i * 7) % 10 + 1 end
local X, Y = bp.rand(rows, 784), bp.tensor(y)

local NETS = {
  {workload = "threads_mlp", sizes = {784, 256, 128, 10}, rows = rows},
  {workload = "threads_wide", sizes = {784, 2048, 2048, 10}, rows = math.floor(rows / 4)},
}

local function build(sizes)
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = bp.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then layers[#layers + 1] = bp.ReLU() end
  end
  return bp.Sequential(layers)
end

local function checksum(net)
  local s = 0
  for _, p in ipairs(net:parameters()) do s = s + (p * p):sum() end
  return s
end

for _, w in ipairs(NETS) do
  local nets, best = {}, {}
  for t = 1, 2 do
    bp.manual_seed(1)
    local net = build(w.sizes)
    nets[t] = {net = net, opt = bp.SGD(net, {lr = 0.01, momentum = 0.9})}
    best[t] = math.huge
  end
  local loss = bp.CrossEntropyLoss()
  for _ = 1, rounds do
    for t = 1, 2 do
      bp.set_num_threads(t)
      local n = nets[t]
      local t0 = lib.clock()
      n.net:fit(X:narrow(1, 1, w.rows), Y:narrow(1, 1, w.rows), {loss = loss, optimizer = n.opt, epochs = 1, batch_size = 64, shuffle = false})
      best[t] = math.min(best[t], lib.clock() - t0)
    end
  end
  bp.set_num_threads(1)
  local c1, c2 = checksum(nets[1].net), checksum(nets[2].net)
  for t = 1, 2 do
    lib.result{workload = w.workload, name = t == 1 and "backprop" or "backprop-2T", metric = "s/epoch",
               value = best[t] * 60000 / w.rows, check = t == 1 and c1 or c2, reps = rounds,
               note = string.format("%s; best of %d epochs of %d rows, scaled to 60000; 1 and 2 threads alternated in one process",
                                    table.concat(w.sizes, "-"), rounds, w.rows)}
  end
end
