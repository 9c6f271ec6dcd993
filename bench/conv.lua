-- bench/conv.lua: forward + backward time of the Fashion-MNIST CNN of issue
-- 3 (conv 1->32 3x3 pad 1, pool, conv 32->64, pool, dense) on a batch of
-- 64 28x28 images, against an MLP (784-256-10) on the same batch, and the
-- epoch time (60000 images) they imply. CPU time (os.clock), one thread.
-- `make bench-conv [BENCH_ROUNDS=n]` runs it (n rounds, default 5).
local bp = require("backprop")

local function time(net, x, rounds)
  local out = net:forward(x)
  local g = bp.ones(out:shape())
  net:backward(g)                    -- warm-up: scratch laid out once
  local t0 = os.clock()
  for _ = 1, rounds do
    net:forward(x, out)
    net:zero_grad()
    net:backward(g)
  end
  return (os.clock() - t0) / rounds
end

bp.manual_seed(1)
local x = bp.randn(64, 1, 28, 28)
local cnn = bp.Sequential {
  bp.Conv2d(1, 32, 3, { padding = 1 }), bp.ReLU(), bp.MaxPool2d(2),
  bp.Conv2d(32, 64, 3, { padding = 1 }), bp.ReLU(), bp.MaxPool2d(2),
  bp.Flatten(), bp.Dropout(0.25), bp.Linear(64 * 7 * 7, 128), bp.ReLU(), bp.Linear(128, 10),
}
local mlp = bp.Sequential { bp.Linear(784, 256), bp.ReLU(), bp.Linear(256, 10) }
local rounds = tonumber(arg and arg[1]) or 5
local tc = time(cnn, x, rounds)
local tm = time(mlp, x:reshape(64, 784), rounds * 20)
print(cnn:summary({ 64, 1, 28, 28 }))
print(string.format("CNN forward+backward, batch 64: %.1f ms  (epoch of 60000: ~%.0f s)", tc * 1e3, tc * 60000 / 64))
print(string.format("MLP forward+backward, batch 64: %.2f ms  (epoch of 60000: ~%.1f s)", tm * 1e3, tm * 60000 / 64))
print(string.format("ratio CNN / MLP: %.0fx", tc / tm))
