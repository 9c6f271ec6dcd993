-- Fashion-MNIST: 28x28 gray images of clothes in 10 classes, 60000 for
-- training and 10000 for testing. Two models, trained with `fit`:
--
--   mlp  784-256-128-10, ReLU, dropout 0.2        target: test accuracy >= 0.89
--   cnn  conv 1->16 and 16->32 (3x3, batch norm,  target: test accuracy >= 0.91
--        ReLU, 2x2 max pool), dropout 0.25,
--        dense 1568-128-10
--
-- Both use cross-entropy, Adam (lr 1e-3, batches of 64) and a cosine
-- learning-rate schedule over a fixed number of epochs (20 and 10).
--
-- The last 5000 training images are held out for validation, and
-- `restore_best` keeps the epoch with the lowest validation loss, so model
-- selection never sees the test set. The test set is scored once, at the end.
-- Each epoch prints its training loss, the validation loss and accuracy,
-- the learning rate and the CPU time so far; each model prints the seed and
-- the time it took. Same seed, same numbers.
--
--   lua5.4 examples/fashion_mnist.lua [mlp|cnn|all] [seed]   (default: all 1)
--   make fashion                   (installs the data when needed, runs all)
--
-- The data: Debian's dataset-fashion-mnist package (`make fashion-data`),
-- read from /usr/share/datasets/fashion-mnist or $FASHION_DIR.
-- Exits with status 1 when a model misses its target.

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local which = arg and arg[1] or "all"
local seed = tonumber(arg and arg[2] or "1")
if not (which == "mlp" or which == "cnn" or which == "all") or not seed or seed % 1 ~= 0 then
  io.stderr:write("usage: lua5.4 examples/fashion_mnist.lua [mlp|cnn|all] [seed]\n")
  os.exit(2)
end

local DIR = os.getenv("FASHION_DIR") or "/usr/share/datasets/fashion-mnist"
local N_VAL = 5000

local function read(name)
  local path = DIR .. "/" .. name
  local f = io.open(path, "rb")
  if not f then
    io.stderr:write(("fashion_mnist: %s is missing; install the data with\n" ..
      "  sudo apt-get install dataset-fashion-mnist   (or: make fashion-data)\n"):format(path))
    os.exit(1)
  end
  f:close()
  return bp.data.read_idx(path)
end

-- Images as N x 1 x 28 x 28 float32 in [0, 1]; labels 1..10 as float32.
local function load(prefix)
  local images = read(prefix .. "-images-idx3-ubyte.gz")
  local labels = read(prefix .. "-labels-idx1-ubyte.gz")
  return (images:float() / 255):reshape(-1, 1, 28, 28), labels:float() + 1
end

local started = os.clock()
local X, Y = load("train")
local X_test, Y_test = load("t10k")
local N_TRAIN = #X - N_VAL
-- Views (no copies): the first 55000 images train, the last 5000 validate.
local data = {
  train = { X:narrow(1, 1, N_TRAIN), Y:narrow(1, 1, N_TRAIN) },
  val = { X:narrow(1, N_TRAIN + 1, N_VAL), Y:narrow(1, N_TRAIN + 1, N_VAL) },
  test = { X_test, Y_test },
}
print(string.format("Fashion-MNIST from %s: %d train, %d validation, %d test (%.1f s to load)",
                    DIR, N_TRAIN, N_VAL, #X_test, os.clock() - started))

-- Accuracy of `net` (in eval mode) on x, y, in chunks of 500 samples so a
-- CNN's activations for the whole set never have to fit in memory at once.
local function accuracy(net, x, y, flat)
  local correct, n, chunk = 0, #x, 500
  for i = 1, n, chunk do
    local len = math.min(chunk, n - i + 1)
    local xb = x:narrow(1, i, len)
    if flat then xb = xb:reshape(len, 784) end
    correct = correct + net:forward(xb):argmax(2):eq(y:narrow(1, i, len)):sum()
  end
  return correct / n
end

local MODELS = {
  mlp = {
    target = 0.89, flat = true, epochs = 20, batch_size = 64, lr = 1e-3,
    build = function()
      return bp.Sequential {
        bp.Linear(784, 256), bp.ReLU(), bp.Dropout(0.2),
        bp.Linear(256, 128), bp.ReLU(),
        bp.Linear(128, 10),
      }
    end,
  },
  cnn = {
    target = 0.91, flat = false, epochs = 10, batch_size = 64, lr = 1e-3,
    build = function()
      return bp.Sequential {
        bp.Conv2d(1, 16, 3, { padding = 1 }), bp.BatchNorm2d(16), bp.ReLU(),
        bp.MaxPool2d(2),                                                     -- 16x14x14
        bp.Conv2d(16, 32, 3, { padding = 1 }), bp.BatchNorm2d(32), bp.ReLU(),
        bp.MaxPool2d(2),                                                     -- 32x7x7
        bp.Flatten(), bp.Dropout(0.25),
        bp.Linear(32 * 7 * 7, 128), bp.ReLU(),
        bp.Linear(128, 10),
      }
    end,
  },
}

local function run(name)
  local m = MODELS[name]
  bp.manual_seed(seed)                 -- weights, shuffling and dropout masks
  local net = m.build()
  local function shaped(set)
    local x, y = set[1], set[2]
    if m.flat then x = x:reshape(#x, 784) end
    return x, y
  end
  local x, y = shaped(data.train)
  local vx, vy = shaped(data.val)
  print(string.format("\n== %s, seed %d: %d parameters, Adam lr %g, batch %d, " ..
                      "%d epochs, cosine schedule", name, seed, net:num_parameters(),
                      m.lr, m.batch_size, m.epochs))
  if not m.flat then print(net:summary({ m.batch_size, 1, 28, 28 })) end

  local opt = bp.Adam(net, { lr = m.lr })
  local t0 = bp.clock()                -- wall clock (os.clock is CPU time)
  local lr = opt.lr                    -- the rate the current epoch runs with
  local history = net:fit(x, y, {
    loss = bp.CrossEntropyLoss(), optimizer = opt,
    epochs = m.epochs, batch_size = m.batch_size,
    validation = { vx, vy },
    scheduler = bp.lr_scheduler.CosineAnnealingLR(opt, { T_max = m.epochs }),
    restore_best = true,
    on_epoch = function(epoch, loss, val_loss)
      -- fit has just validated in eval mode; it switches back to training
      -- mode at the start of the next epoch.
      print(string.format("epoch %2d  loss %.4f  val_loss %.4f  val_acc %.4f  lr %.2e  %6.1f s",
                          epoch, loss, val_loss, accuracy(net, vx, vy, m.flat),
                          lr, bp.clock() - t0))
      lr = opt.lr                      -- the scheduler has set the next one
    end,
  })
  local seconds = bp.clock() - t0
  local acc = accuracy(net, data.test[1], data.test[2], m.flat)   -- fit left eval mode on
  print(string.format("%s: best epoch %d of %d (validation loss %.4f)%s",
                      name, history.best_epoch, #history.loss, history.best_loss,
                      history.restored and ", its weights restored" or ""))
  print(string.format("%s: test accuracy %.4f (target %.2f: %s), seed %d, " ..
                      "%.0f s on this machine (%d thread)", name, acc, m.target,
                      acc >= m.target and "met" or "MISSED", seed, seconds,
                      bp.get_num_threads()))
  return acc >= m.target
end

local ok = true
for _, name in ipairs({ "mlp", "cnn" }) do
  if which == name or which == "all" then ok = run(name) and ok end
end
if not ok then os.exit(1) end
