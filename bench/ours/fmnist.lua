-- bench/ours/fmnist.lua THREADS: the Fashion-MNIST MLP with the public
-- API. 784-256-128-10, ReLU, CrossEntropyLoss (softmax cross-entropy), SGD
-- lr 0.01 momentum 0.9, batch 64, BENCH_EPOCHS epochs (2) through net:fit
-- with shuffle=false over the training set stored in the exported order
-- ($BENCH_DIR/fmnist_order.txt), from the exported initial weights.
-- Only the epochs are timed (wall clock, each one; the best is reported);
-- test-set accuracy after the run. THREADS > 1 needs bp.set_num_threads.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local idx = dofile(here .. "/idx.lua")
local lib = U.lib

local threads = tonumber(arg[1]) or 1
local name = threads == 1 and "backprop" or ("backprop-" .. threads .. "T")
if threads > 1 then
  if not bp.set_num_threads then
    print("SKIP workload=fmnist name=" .. name .. " note=bp.set_num_threads does not exist yet")
    return
  end
  bp.set_num_threads(threads)
end

local epochs = lib.env_number("BENCH_EPOCHS", 2)
local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"
-- Weights first: parsing the text file leaves garbage, which should be
-- gone before the data set arrives (the peak memory is reported).
local net = bp.Sequential{bp.Linear(784, 256), bp.ReLU(), bp.Linear(256, 128), bp.ReLU(),
                          bp.Linear(128, 10)}
U.load_params(net, lib.read_blocks(lib.dir() .. "/fmnist_init.txt"))
local order = lib.read_blocks(lib.dir() .. "/fmnist_order.txt").perm
local at = {}                        -- file image i -> training row at[i]
for k = 1, order.rows do at[order[k]] = k end
order = nil
collectgarbage()

local X = idx.images(root .. "/train-images-idx3-ubyte.gz", at)
local Y = idx.labels(root .. "/train-labels-idx1-ubyte.gz", at)
local TX = idx.images(root .. "/t10k-images-idx3-ubyte.gz")
local TY = idx.labels(root .. "/t10k-labels-idx1-ubyte.gz")
collectgarbage()

local opt = bp.SGD(net, {lr = 0.01, momentum = 0.9})

local best, last = math.huge, nil
local t0 = lib.clock()
net:fit(X, Y, {loss = bp.CrossEntropyLoss(), optimizer = opt, epochs = epochs,
               batch_size = 64, shuffle = false,
               on_epoch = function(_, l)
                 local t = lib.clock()
                 best = math.min(best, t - t0)
                 last, t0 = l, t
               end})

-- Test accuracy in slices of 1000 rows: the peak memory reported should be
-- training's, not that of activations for 10000 rows at once.
local right, nt = 0, #TX
local out = bp.zeros(1000, 10)
for s = 1, nt, 1000 do
  local ids = {}
  for i = s, math.min(s + 999, nt) do ids[#ids + 1] = i end
  local xs, ys = TX:index(1, ids), TY:index(1, ids)
  local o = #ids == 1000 and net:forward(xs, out) or net:forward(xs)
  right = right + bp.metrics.accuracy(o, ys) * #ids
end

lib.result{workload = "fmnist", name = name, metric = "s/epoch", value = best,
           reps = epochs, loss = last, acc = right / nt,
           note = string.format("best of %d epochs; acc on the test set", epochs)}
