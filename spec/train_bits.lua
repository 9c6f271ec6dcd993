-- spec/train_bits.lua SEED: a small training run through the Lua face and
-- the core, for spec/lua_versions_spec.lua, which runs it under every
-- installed Lua and compares what it prints. It uses each source of
-- randomness and each place where Lua versions differ (integers and floats,
-- math.random, formatting, table order) could reach training: the
-- generator seeded by bp.manual_seed (data, initial weights, Dropout's
-- masks, shuffling), a stratified split with a seed, standardization,
-- BatchNorm's running statistics, Adam with weight decay, gradient
-- clipping, a cosine learning-rate schedule computed in Lua, validation
-- and metrics each epoch. It prints the saved model file, the losses and
-- the learning rates as hexadecimal bytes: one line each.

local bp = require("backprop")
local B = require("bytes")

local seed = tonumber(arg[1]) or 1
bp.manual_seed(seed)
math.randomseed(seed)           -- would change nothing if training used it

local n, features, classes = 96, 6, 3
local X = bp.randn(n, features) * 3 + 1
local labels = {}
for i = 1, n do labels[i] = { (X[i][1] + X[i][2] > 2) and 1 or (X[i][3] > 1 and 2 or 3) } end
local Y = bp.tensor(labels):reshape(n)
local train, test = bp.data.split(X, Y, { test = 0.25, seed = seed + 1, stratify = true })
local scaler = bp.data.standardize(train.x)
scaler:apply(test.x)

local net = bp.Sequential{
  bp.Linear(features, 16), bp.BatchNorm1d(16), bp.ReLU(), bp.Dropout(0.3),
  bp.Linear(16, classes),
}
local opt = bp.Adam(net, { lr = 0.01, weight_decay = 1e-3 })
local h = net:fit(train.x, train.y, {
  loss = bp.CrossEntropyLoss(), optimizer = opt, epochs = 6, batch_size = 8,
  shuffle = true, validation = { test.x, test.y }, metrics = { "accuracy" },
  scheduler = bp.lr_scheduler.CosineAnnealingLR(opt, { T_max = 6 }),
  clip_grad_norm = 1.0,
})

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
local function doubles(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = hex(B.pack("<d", v)) end
  return table.concat(out, " ")
end

local path = os.tmpname()
net:save(path)
local f = assert(io.open(path, "rb"))
local bytes = f:read("*a")
f:close()
os.remove(path)
print("model " .. hex(bytes))
print("loss " .. doubles(h.loss))
print("val_loss " .. doubles(h.val_loss))
print("lr " .. doubles(h.lr))
