-- One training step of a 2-2-1 network, printed the way backpropagation is
-- taught: each neuron's weighted sum plus bias and its sigmoid, the squared
-- error, then backwards each neuron's delta, each weight's gradient and its
-- new value. The weights are the classic worked example's (inputs 0.05 and
-- 0.10, target 0.01, learning rate 0.5), set by hand, so the numbers are
-- the same on every run and can be checked with a pencil.
--
--   lua5.4 examples/explain.lua     (from a checkout after `make`, from any directory)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local net = bp.Sequential{
  bp.Linear(2, 2), bp.Sigmoid(),      -- hidden layer: Z = sigmoid(x.w + b)
  bp.Linear(2, 1), bp.Sigmoid(),      -- output layer
}
local p = net:parameters()            -- views: copying into them sets the weights
p[1]:copy(bp.tensor({{0.15, 0.20}, {0.25, 0.30}}))   -- w1[j,i]: input i to hidden neuron j
p[2]:copy(bp.tensor({0.35, 0.35}))                   -- b1
p[3]:copy(bp.tensor({{0.40, 0.45}}))                 -- w2
p[4]:copy(bp.tensor({0.60}))                         -- b2

net:explain({0.05, 0.10}, 0.01, bp.MSELoss(), {lr = 0.5})
