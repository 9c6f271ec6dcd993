-- "Is this tumour malignant?" Backpropagation as it is taught, on the
-- Breast Cancer Wisconsin (Diagnostic) data: 30 measurements per tumour,
-- a sigmoid hidden layer, a sigmoid output, squared error and plain
-- gradient descent with a learning rate, one sample at a time, epoch after
-- epoch.
--
--   lua5.4 examples/breast_cancer.lua            the classic recipe
--   lua5.4 examples/breast_cancer.lua --modern   ReLU, softmax cross-entropy,
--                                                Adam, mini-batches of 32
-- (from a source checkout, `make demo` builds the module and runs this.)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local modern = arg and arg[1] == "--modern"
local seed = 42
bp.manual_seed(seed)

-- The data sits next to this script, wherever it is run from.
local X, Y = bp.data.read_csv(here .. "/data/breast_cancer.csv", {target = "malignant"})
local train, test = bp.data.split(X, Y, {test = 0.2, seed = 1})
-- Features range from 0.001 to 4000: put each on a common scale, with the
-- statistics of the training set only.
local scaler = bp.data.standardize(train.x)
scaler:apply(test.x)
print(string.format("%d training and %d test tumours, %d features",
                    #train.x, #test.x, train.x:shape()[2]))

local net, loss, opt, epochs, batch_size, ytrain, ytest
if not modern then
  print("classic recipe: 30-16-1 sigmoid, squared error, SGD lr 0.01, one sample per update")
  net = bp.Sequential{
    bp.Linear(30, 16), bp.Sigmoid(),     -- hidden layer: z = sigmoid(x.w + b)
    bp.Linear(16, 1), bp.Sigmoid(),      -- output: probability of malignant
  }
  loss = bp.MSELoss()                    -- squared error
  opt = bp.SGD(net, {lr = 0.01})         -- w_new = w - lr * dL/dw
  epochs, batch_size = 100, 1
  ytrain, ytest = train.y, test.y
else
  print("modern recipe: 30-32-16-2 ReLU, softmax cross-entropy, Adam lr 1e-3, batches of 32")
  net = bp.Sequential{
    bp.Linear(30, 32), bp.ReLU(),
    bp.Linear(32, 16), bp.ReLU(),
    bp.Linear(16, 2),                    -- raw scores; the loss applies softmax
  }
  loss = bp.CrossEntropyLoss()           -- labels are classes 1..2
  opt = bp.Adam(net, {lr = 1e-3})
  epochs, batch_size = 30, 32
  ytrain, ytest = train.y + 1, test.y + 1
end

local started = os.clock()
net:fit(train.x, ytrain, {
  loss = loss, optimizer = opt, epochs = epochs, batch_size = batch_size,
  shuffle = true, validation = {test.x, ytest},
  on_epoch = function(epoch, l, val_l)
    if epoch == 1 or epoch % math.floor(epochs / 10) == 0 then
      print(string.format("epoch %3d  loss %.5f  test loss %.5f", epoch, l, val_l))
    end
  end,
})
local seconds = os.clock() - started

local pred = net:forward(test.x)
local accuracy = bp.metrics.accuracy(pred, ytest)
local m = bp.metrics.confusion_matrix(pred, ytest)
print(string.format("trained in %.2f s (seed %d)", seconds, seed))
print(string.format("test: %d benign and %d malignant correct, %d benign called malignant, %d malignant missed",
                    m[1][1], m[2][2], m[1][2], m[2][1]))
print(string.format("test accuracy %.4f", accuracy))

local path = os.tmpname()
net:save(path)
local again = bp.load(path)
os.remove(path)
assert(bp.metrics.accuracy(again:forward(test.x), ytest) == accuracy)
print("saved and reloaded: same predictions")
