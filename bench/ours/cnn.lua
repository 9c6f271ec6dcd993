-- bench/ours/cnn.lua THREADS: the Fashion-MNIST CNN of
-- examples/fashion_mnist.lua (conv 1->16 and 16->32, 3x3 padding 1, each
-- with BatchNorm2d, ReLU and 2x2 max pooling; dropout 0.25; dense
-- 1568-128-10), trained with net:fit: cross-entropy, Adam lr 1e-3, batch
-- 64, no shuffling, over the first BENCH_CNN_ROWS (6400) training images
-- in file order, the time scaled to an epoch of 60000 (best of
-- BENCH_CNN_EPOCHS, 2). Test accuracy on the first 2000 test images after.
-- The initial weights are written to $BENCH_DIR/cnn_init.txt (one flat
-- block per parameter, PyTorch's layouts) when the file is not there yet,
-- so PyTorch starts from the same ones. Dropout's masks are drawn by each
-- library, so the answers agree only closely.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib

local threads = tonumber(arg[1]) or 1
bp.set_num_threads(threads)
local rows = lib.env_number("BENCH_CNN_ROWS", 6400)
local epochs = lib.env_number("BENCH_CNN_EPOCHS", 2)
local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"

bp.manual_seed(6)
local net = bp.Sequential {
  bp.Conv2d(1, 16, 3, { padding = 1 }), bp.BatchNorm2d(16), bp.ReLU(), bp.MaxPool2d(2),
  bp.Conv2d(16, 32, 3, { padding = 1 }), bp.BatchNorm2d(32), bp.ReLU(), bp.MaxPool2d(2),
  bp.Flatten(), bp.Dropout(0.25),
  bp.Linear(32 * 7 * 7, 128), bp.ReLU(),
  bp.Linear(128, 10),
}
local init = lib.dir() .. "/cnn_init.txt"
if not io.open(init, "r") then
  local f = assert(io.open(init, "w"))
  for i, p in ipairs(net:parameters()) do
    local flat = p:reshape(p:numel()):totable()
    lib.write_block(f, "P" .. i, 1, #flat, function(_, c) return flat[c] end)
  end
  f:close()
end

local function images(f, n)
  local t = bp.data.read_idx(root .. f)
  return t:narrow(1, 1, n):reshape(n, 1, 28, 28)
end
local function labels(f, n) return bp.data.read_idx(root .. f):narrow(1, 1, n):float() + 1 end
local X, Y = images("/train-images-idx3-ubyte.gz", rows), labels("/train-labels-idx1-ubyte.gz", rows)
local TX, TY = images("/t10k-images-idx3-ubyte.gz", 2000), labels("/t10k-labels-idx1-ubyte.gz", 2000)

local opt = bp.Adam(net, { lr = 1e-3 })
local best, last = math.huge, nil
local t0 = lib.clock()
net:fit(X, Y, { loss = bp.CrossEntropyLoss(), optimizer = opt, epochs = epochs,
                batch_size = 64, shuffle = false, input_scale = 1 / 255,
                on_epoch = function(_, l)
                  local t = lib.clock()
                  best = math.min(best, t - t0)
                  last, t0 = l, t
                end })

net:eval()
local right = 0
for s = 1, 2000, 500 do
  local o = net:forward(TX:narrow(1, s, 500):float() * (1 / 255))
  right = right + bp.metrics.accuracy(o, TY:narrow(1, s, 500)) * 500
end

lib.result{workload = "cnn", name = threads == 1 and "backprop" or ("backprop-" .. threads .. "T"),
           metric = "s/epoch", value = best * 60000 / rows, reps = epochs, loss = last, acc = right / 2000,
           note = string.format("best of %d epochs of %d images, scaled to 60000; acc on 2000 test images",
                                epochs, rows)}
