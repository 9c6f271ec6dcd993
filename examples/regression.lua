-- Regression with outliers: fit y = sin(x) from noisy samples, a tenth of
-- which are corrupted by large errors, with a 1-32-32-1 Tanh network.
-- The same network (same seed, same initial weights, same batches) is
-- trained twice, with HuberLoss and with MSELoss, and both are scored on
-- clean test points (the true curve); L1Loss, and MSELoss on the data
-- without its outliers, are shown for reference. Squared error lets each outlier pull
-- with a force growing with its distance; Huber caps that pull at delta.
--
--   lua5.4 examples/regression.lua [seed]     (after `make`; or `make regression`)

-- From a source checkout after `make` (`make LUA=luajit` for LuaJIT, ...): the
-- checkout's src/ and the build for this Lua (build/, build/luajit/, ...) are
-- searched after Lua's own paths, so no LUA_PATH is needed (README, "Install").
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local build = jit and "luajit/" or _VERSION == "Lua 5.4" and "" or "lua" .. _VERSION:sub(5) .. "/"
package.path = package.path .. ";" .. here .. "/../src/?.lua;" .. here .. "/../src/?/init.lua"
package.cpath = package.cpath .. ";" .. here .. "/../build/" .. build .. "?.so"
local bp = require("backprop")

local seed = tonumber(arg and arg[1] or "") or 42
local N, N_TEST, OUTLIERS = 256, 200, 0.1
local EPOCHS, BATCH, LR = 300, 32, 0.01

-- Data, drawn from the library's seeded generator.
bp.manual_seed(seed)
local xs = (bp.rand(N, 1) * 6 - 3):totable()        -- x in [-3, 3)
local noise = bp.randn(N):totable()
local pick, kick = bp.rand(N):totable(), bp.rand(N):totable()
local ys, clean, n_out = {}, {}, 0
for i = 1, N do
  local v = math.sin(xs[i][1]) + 0.1 * noise[i]
  clean[i], ys[i] = { v }, { v }
  if pick[i] < OUTLIERS then                        -- an outlier: off by 3 to 6
    ys[i][1] = v + (kick[i] < 0.5 and -1 or 1) * (3 + 6 * math.abs(kick[i] - 0.5))
    n_out = n_out + 1
  end
end
local x, y, y_clean = bp.tensor(xs), bp.tensor(ys), bp.tensor(clean)

local tx, ty = {}, {}
for i = 1, N_TEST do
  local v = -3 + 6 * (i - 0.5) / N_TEST
  tx[i], ty[i] = { v }, math.sin(v)
end
local x_test = bp.tensor(tx)

local function rmse(net)
  local out, s = net:forward(x_test), 0
  for i = 1, N_TEST do s = s + (out:get(i, 1) - ty[i]) ^ 2 end
  return math.sqrt(s / N_TEST)
end

local function run(loss, target)
  bp.manual_seed(seed + 1)                          -- same weights and batches for both
  local net = bp.Sequential{
    bp.Linear(1, 32), bp.Tanh(),
    bp.Linear(32, 32), bp.Tanh(),
    bp.Linear(32, 1),
  }
  local started = os.clock()
  local h = net:fit(x, target or y, { loss = loss, optimizer = bp.Adam(net, { lr = LR }),
                            epochs = EPOCHS, batch_size = BATCH })
  return { loss = h.loss[EPOCHS], rmse = rmse(net), time = os.clock() - started }
end

print(string.format("seed %d: %d training points (%d outliers), %d clean test points",
                    seed, N, n_out, N_TEST))
print(string.format("1-32-32-1 Tanh, Adam lr %g, %d epochs, batch %d", LR, EPOCHS, BATCH))
local huber = run(bp.HuberLoss{ delta = 1.0 })
local huber_small = run(bp.HuberLoss{ delta = 0.25 })
local mse = run(bp.MSELoss())
local l1 = run(bp.L1Loss())
local ref = run(bp.MSELoss(), y_clean)
-- Train losses are each in their own loss's units: compare test RMSE.
for _, r in ipairs({ { "HuberLoss (delta 1, the default)", huber }, { "MSELoss", mse },
                     { "HuberLoss (delta 0.25)", huber_small }, { "L1Loss", l1 },
                     { "MSELoss, outliers removed (reference)", ref } }) do
  print(string.format("%-38s final train loss %.4f  test RMSE %.4f  (%.2fs cpu)",
                      r[1], r[2].loss, r[2].rmse, r[2].time))
end
print(string.format("test RMSE, MSELoss / HuberLoss (delta 1): %.2f", mse.rmse / huber.rmse))
if huber.rmse ~= huber.rmse or mse.rmse ~= mse.rmse then os.exit(1) end
