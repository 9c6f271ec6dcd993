-- bench/ours/fmnist.lua THREADS: the Fashion-MNIST MLP with the public
-- API. 784-256-128-10, ReLU, CrossEntropyLoss (softmax cross-entropy), SGD
-- lr 0.01 momentum 0.9, batch 64, BENCH_EPOCHS epochs (2) through net:fit
-- with shuffle=false over the training set stored in the exported order
-- ($BENCH_DIR/fmnist_order.txt), from the exported initial weights.
-- The images stay uint8 (one byte a pixel) and fit scales each batch by
-- 1/255 as it is formed. Only the epochs are timed (wall clock, each one; the best is reported);
-- test-set accuracy after the run. THREADS: bp.set_num_threads.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib

local threads = tonumber(arg[1]) or 1
local name = threads == 1 and "backprop" or ("backprop-" .. threads .. "T")
bp.set_num_threads(threads)

local epochs = lib.env_number("BENCH_EPOCHS", 2)
local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"
-- The exported initial weights, from our own save file (the same values
-- as the text file the baselines read, without text parsing's garbage in
-- the peak memory reported).
local net = bp.load(lib.dir() .. "/fmnist_init.bp")
-- The exported order is the file's own (export.lua): check it, streamed
-- line by line (a table of 60000 entries would stay in the peak memory
-- reported), then read the files in C, images kept as uint8.
local k = 0
for line in io.lines(lib.dir() .. "/fmnist_order.txt") do
  assert(k == 0 or tonumber(line) == k, "fmnist_order.txt is not the file order")
  k = k + 1
end
local function images(f) local t = bp.data.read_idx(root .. f) return t:reshape(t:shape()[1], 784) end
local function labels(f) return bp.data.read_idx(root .. f):float() + 1 end
local X, Y = images("/train-images-idx3-ubyte.gz"), labels("/train-labels-idx1-ubyte.gz")
local TX, TY = images("/t10k-images-idx3-ubyte.gz"), labels("/t10k-labels-idx1-ubyte.gz")

local opt = bp.SGD(net, {lr = 0.01, momentum = 0.9})

local best, last = math.huge, nil
local t0 = lib.clock()
net:fit(X, Y, {loss = bp.CrossEntropyLoss(), optimizer = opt, epochs = epochs,
               batch_size = 64, shuffle = false, input_scale = 1 / 255,
               on_epoch = function(_, l)
                 local t = lib.clock()
                 best = math.min(best, t - t0)
                 last, t0 = l, t
               end})

-- Test accuracy in slices of 1000 rows: the peak memory reported should be
-- training's, not that of activations for 10000 rows at once.
-- Test accuracy in slices of the training batch size: the network's
-- scratch memory never grows past training's (the peak is reported).
local right, nt, B = 0, #TX, 64
for s = 1, nt, B do
  local k = math.min(B, nt - s + 1)
  local o = net:forward(TX:narrow(1, s, k):float() * (1 / 255))
  right = right + bp.metrics.accuracy(o, TY:narrow(1, s, k)) * k
  if s % (64 * B) == 1 then collectgarbage() end
end

lib.result{workload = "fmnist", name = name, metric = "s/epoch", value = best,
           reps = epochs, loss = last, acc = right / nt,
           note = string.format("best of %d epochs; acc on the test set", epochs)}
