-- The README's quick start: the tumour classifier in 20 lines.
--
--   lua5.4 examples/quick_start.lua     (from a checkout after `make`, from any directory)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")
bp.manual_seed(42)

local csv = arg[0]:gsub("[^/\\]*$", "") .. "data/breast_cancer.csv"   -- beside this script
local X, Y = bp.data.read_csv(csv, {target = "malignant"})
local train, test = bp.data.split(X, Y, {test = 0.2, seed = 1})
local scaler = bp.data.standardize(train.x)   -- fit on train, in place
scaler:apply(test.x)                          -- same scaling for test

local net = bp.Sequential{
  bp.Linear(30, 16), bp.Sigmoid(),            -- z = sigmoid(x.w + b)
  bp.Linear(16, 1),  bp.Sigmoid(),
}
local loss = bp.MSELoss()                     -- squared error
local opt = bp.SGD(net, {lr = 0.01})          -- w = w - lr * dL/dw

net:fit(train.x, train.y, {loss = loss, optimizer = opt, epochs = 100,
                           batch_size = 1, validation = {test.x, test.y}})
print(bp.metrics.accuracy(net:forward(test.x), test.y))   --> 0.98...
net:save("tumour.bp")
local again = bp.load("tumour.bp")
