-- XOR: the smallest problem a network without a hidden layer cannot solve.
-- The classic recipe: 2 inputs, 4 sigmoid hidden neurons, 1 sigmoid output,
-- squared error, plain gradient descent on the whole (4-sample) batch.
--
--   lua5.4 examples/xor.lua        (from a checkout after `make`; or `make xor`)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local seed = 1
bp.manual_seed(seed)

local x = bp.tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}})
local y = bp.tensor({{0}, {1}, {1}, {0}})

local net = bp.Sequential{
  bp.Linear(2, 4), bp.Sigmoid(),
  bp.Linear(4, 1), bp.Sigmoid(),
}
local loss = bp.MSELoss()
local opt = bp.SGD(net, {lr = 2.0})

for epoch = 1, 5000 do
  local l = net:train_step(x, y, loss, opt)   -- forward, loss, backward, update
  if epoch % 1000 == 0 then
    print(string.format("epoch %4d  loss %.6f", epoch, l))
  end
end

local out = net:forward(x)
local right = 0
for i = 1, 4 do
  local a, b, want = x:get(i, 1), x:get(i, 2), y:get(i, 1)
  local got = out:get(i, 1)
  if (got >= 0.5) == (want == 1) then right = right + 1 end
  print(string.format("%d xor %d = %d   network says %.3f", a, b, want, got))
end
print(string.format("accuracy %.2f (seed %d)", right / 4, seed))
if right ~= 4 then os.exit(1) end
