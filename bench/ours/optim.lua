-- bench/ours/optim.lua: what Adam costs against SGD with momentum, in one
-- process (issue 12: an Adam epoch within 1.15x of an SGD-momentum one).
--
-- fmnist_adam: the Fashion-MNIST MLP of fmnist.lua (784-256-128-10 ReLU,
-- CrossEntropyLoss, batch 64, from the exported initial weights), one net
-- trained with Adam (lr 1e-3) and one with SGD (lr 0.01, momentum 0.9),
-- their epochs alternated (load on the machine hits both alike); the best
-- epoch of each is reported. Without the data set, random images and
-- labels of the same shape (the timing is the same, accuracy meaningless).
-- adam_step: the raw update, opt:step() over the same 235k parameters
-- with fixed gradients, on each ISA this CPU has, and SGD with momentum's.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib = U.lib
local internal = require("backprop.core").internal

local epochs = lib.env_number("BENCH_EPOCHS", 2)
local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- uint8 images scaled by fit as batches form, as fmnist.lua; the
-- synthetic ones are floats in [0, 1)
local real = exists(root .. "/train-images-idx3-ubyte.gz")
local X, Y, TX, TY, scale
if real then
  local function images(f) local t = bp.data.read_idx(root .. f) return t:reshape(t:shape()[1], 784) end
  local function labels(f) return bp.data.read_idx(root .. f):float() + 1 end
  X, Y = images("/train-images-idx3-ubyte.gz"), labels("/train-labels-idx1-ubyte.gz")
  TX, TY = images("/t10k-images-idx3-ubyte.gz"), labels("/t10k-labels-idx1-ubyte.gz")
  scale = 1 / 255
else
  bp.manual_seed(5)
  local y = {}
  for i = 1, 60000 do y[i] = (i * 7) % 10 + 1 end
  X, Y = bp.rand(60000, 784), bp.tensor(y)
  TX, TY = X:narrow(1, 1, 10000), Y:narrow(1, 1, 10000)
end

local function accuracy(net)
  local right, nt, B = 0, #TX, 64
  for s = 1, nt, B do
    local k = math.min(B, nt - s + 1)
    local o = net:forward(TX:narrow(1, s, k):float() * (scale or 1))
    right = right + bp.metrics.accuracy(o, TY:narrow(1, s, k)) * k
  end
  return right / nt
end

-- Two nets from the same weights, each with its optimizer.
local runs = {
  {name = "backprop", what = "Adam lr 1e-3", make = function(net) return bp.Adam(net, {lr = 1e-3}) end},
  {name = "backprop-sgd-momentum", what = "SGD lr 0.01 momentum 0.9",
   make = function(net) return bp.SGD(net, {lr = 0.01, momentum = 0.9}) end},
}
for _, r in ipairs(runs) do
  r.net = bp.load(lib.dir() .. "/fmnist_init.bp")
  r.opt, r.best = r.make(r.net), math.huge
end
local loss = bp.CrossEntropyLoss()
for _ = 1, epochs do
  for _, r in ipairs(runs) do
    local t0 = lib.clock()
    local h = r.net:fit(X, Y, {loss = loss, optimizer = r.opt, epochs = 1, batch_size = 64,
                              shuffle = false, input_scale = scale})
    r.best = math.min(r.best, lib.clock() - t0)
    r.loss = h.loss[#h.loss]
  end
end
local ratio = runs[1].best / runs[2].best
for _, r in ipairs(runs) do
  lib.result{workload = "fmnist_adam", name = r.name, metric = "s/epoch", value = r.best, reps = epochs,
             loss = r.loss, acc = accuracy(r.net),
             note = string.format("%s; Adam/SGD epoch %.3f (goal <= 1.15); best of %d alternated epochs%s",
                                  r.what, ratio, epochs, real and "" or "; synthetic data")}
end

-- The raw step: the first net's parameters and fixed gradients.
local net = runs[1].net
local _, grads = net:parameters()
bp.manual_seed(6)
for _, g in ipairs(grads) do g:copy(bp.randn(table.unpack(g:shape())) * 0.01) end
local function per_step(opt)
  local best = lib.best_of(function() for _ = 1, 50 do opt:step() end end, 0.5, 20)
  return best / 50
end
local start = internal.isa()
local steps = {}
for _, isa in ipairs(internal.isas()) do
  internal.set_isa(isa)
  steps[isa] = per_step(bp.Adam(net, {lr = 1e-12}))
end
internal.set_isa(start)
local sgd = per_step(bp.SGD(net, {lr = 1e-12, momentum = 0.9}))
local n = net:num_parameters()
lib.result{workload = "adam_step", name = "backprop", metric = "us/step", value = steps[start] * 1e6,
           note = string.format("Adam, %d parameters, %s; %.0fM parameters/s", n, start, n / steps[start] / 1e6)}
for _, isa in ipairs(internal.isas()) do
  if isa ~= start then
    lib.result{workload = "adam_step", name = "backprop-" .. isa, metric = "us/step", value = steps[isa] * 1e6,
               note = "Adam, the " .. isa .. " loops"}
  end
end
lib.result{workload = "adam_step", name = "backprop-sgd-momentum", metric = "us/step", value = sgd * 1e6,
           note = string.format("SGD momentum, %s (Adam/SGD step %.2f)", start, steps[start] / sgd)}
