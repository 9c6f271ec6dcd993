-- bench/ours/export.lua: writes the exchange files every implementation
-- reads (into $BENCH_DIR), so all start from our initial weights, see the
-- same standardized data and visit it in the same order. Not timed.

local bp = require("backprop")
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local U = dofile(here .. "/util.lua")
local lib, dir = U.lib, U.lib.dir()

-- Classic recipe: the breast-cancer set, standardized over all 569 rows.
local X, Y = bp.data.read_csv(U.root .. "/examples/data/breast_cancer.csv", {target = "malignant"})
bp.data.standardize(X)
local xs, ys = X:totable(), Y:totable()
local f = assert(io.open(dir .. "/classic_data.txt", "w"))
lib.write_block(f, "X", #xs, #xs[1], function(r, c) return xs[r][c] end)
lib.write_block(f, "Y", #ys, 1, function(r) return ys[r][1] end)
f:close()

bp.manual_seed(1)
U.write_params(dir .. "/classic_init.txt",
  bp.Sequential{bp.Linear(30, 16), bp.Sigmoid(), bp.Linear(16, 1), bp.Sigmoid()})

-- Game net: weights and 1024 inputs in [-1, 1) cycled through by the callers.
bp.manual_seed(2)
U.write_params(dir .. "/game_init.txt",
  bp.Sequential{bp.Linear(16, 32), bp.Tanh(), bp.Linear(32, 32), bp.Tanh(),
                bp.Linear(32, 4), bp.Tanh()})
bp.manual_seed(3)
local inputs = (bp.rand(1024, 16) * 2 - 1):totable()
f = assert(io.open(dir .. "/game_inputs.txt", "w"))
lib.write_block(f, "X", 1024, 16, function(r, c) return inputs[r][c] end)
f:close()

-- Fashion-MNIST MLP: weights (He uniform before each ReLU, as our Sequential
-- draws them) and one fixed visiting order of the 60000 training images:
-- the file's own order (the data set ships shuffled), so no implementation
-- needs a reordered copy of the images in memory (peak memory is reported).
bp.manual_seed(4)
local fnet = bp.Sequential{bp.Linear(784, 256), bp.ReLU(), bp.Linear(256, 128),
                           bp.ReLU(), bp.Linear(128, 10)}
U.write_params(dir .. "/fmnist_init.txt", fnet)
fnet:save(dir .. "/fmnist_init.bp")     -- the same weights, for our side
local perm = {}
for i = 1, 60000 do perm[i] = i end
f = assert(io.open(dir .. "/fmnist_order.txt", "w"))
lib.write_block(f, "perm", 60000, 1, function(r) return perm[r] end)
f:close()
