-- The classic recipe's speed: 30-16-1 sigmoid, squared error, plain SGD,
-- one sample per update, on the breast-cancer data. Compared, in the same
-- run, with the same algorithm written in plain Lua tables (the baseline),
-- so the ratios hold on a noisy shared machine where absolute times do not.
--
--   make bench        (or lua5.4 bench/classic.lua with the module on the paths)

local bp = require("backprop")

local EPOCHS = tonumber(os.getenv("BENCH_EPOCHS")) or 20
local LR = 0.01

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local X, Y = bp.data.read_csv(here .. "/../examples/data/breast_cancer.csv", {target = "malignant"})
bp.data.standardize(X)
local n, nin, nhid = #X, 30, 16
local xs, ys = X:totable(), Y:totable()

local function clock(f)
  local t0 = os.clock()
  local result = f()
  return os.clock() - t0, result
end

-- Baseline: the recipe in plain Lua, the same maths (no shuffling in any
-- variant, so all three visit the samples in the same order).
local function network()
  bp.manual_seed(1)
  local net = bp.Sequential{bp.Linear(nin, nhid), bp.Sigmoid(), bp.Linear(nhid, 1), bp.Sigmoid()}
  return net, bp.MSELoss(), bp.SGD(net, {lr = LR})
end

-- Baseline: the recipe in plain Lua tables (doubles), starting from the
-- same initial weights as the network. No variant shuffles, so all visit
-- the samples in the same order and should end at nearly the same loss.
local function plain_lua()
  local params = network():parameters()
  local w1, b1 = params[1]:totable(), params[2]:totable()
  local w2, b2 = params[3]:totable()[1], params[4]:get(1)
  local h, exp = {}, math.exp
  local total = 0
  for _ = 1, EPOCHS do
    total = 0
    for s = 1, n do
      local x = xs[s]
      local o = b2
      for j = 1, nhid do
        local a, wj = b1[j], w1[j]
        for i = 1, nin do a = a + wj[i] * x[i] end
        h[j] = 1 / (1 + exp(-a))
        o = o + w2[j] * h[j]
      end
      local y = 1 / (1 + exp(-o))
      local d = y - ys[s][1]
      total = total + d * d
      local dout = 2 * d * y * (1 - y)
      for j = 1, nhid do
        local dh = dout * w2[j] * h[j] * (1 - h[j])
        w2[j] = w2[j] - LR * dout * h[j]
        local wj = w1[j]
        for i = 1, nin do wj[i] = wj[i] - LR * dh * x[i] end
        b1[j] = b1[j] - LR * dh
      end
      b2 = b2 - LR * dout
    end
  end
  return total / n
end

-- One train_step call from Lua per sample (rows taken beforehand).
local function step_loop()
  local net, loss, opt = network()
  local rows, targets = {}, {}
  for s = 1, n do rows[s] = X:index(1, {s}); targets[s] = Y:index(1, {s}) end
  local total
  for _ = 1, EPOCHS do
    total = 0
    for s = 1, n do total = total + net:train_step(rows[s], targets[s], loss, opt) end
  end
  return total / n
end

-- net:fit: whole epochs in C.
local function fit()
  local net, loss, opt = network()
  local h = net:fit(X, Y, {loss = loss, optimizer = opt, epochs = EPOCHS,
                           batch_size = 1, shuffle = false})
  return h.loss[EPOCHS]
end

local samples = n * EPOCHS
local t_lua, l_lua = clock(plain_lua)
local t_step, l_step = clock(step_loop)
local t_fit, l_fit = clock(fit)

print(string.format("classic recipe, 30-16-1 sigmoid, MSE, SGD, batch 1: %d samples x %d epochs", n, EPOCHS))
print(string.format("%-28s %12s %10s %12s", "variant", "samples/s", "x plain Lua", "final loss"))
for _, r in ipairs{
  {"plain Lua tables (baseline)", t_lua, l_lua},
  {"net:train_step per sample", t_step, l_step},
  {"net:fit (epochs in C)", t_fit, l_fit},
} do
  print(string.format("%-28s %12.0f %10.1f %12.6f", r[1], samples / r[2], t_lua / r[2], r[3]))
end
print(string.format("peak RSS: %s", (io.open("/proc/self/status") or {read = function() return "" end})
  :read("a"):match("VmHWM:%s*(%d+ kB)") or "n/a"))
