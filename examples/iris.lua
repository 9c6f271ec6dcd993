-- examples/iris.lua: everyone's first classifier, straight from a CSV file
-- whose labels are text. read_csv gives the species as class ids 1..3 and
-- their names; a stratified split keeps the three species a third each in
-- both parts; 5-fold cross-validation estimates the accuracy; the model is
-- saved with its scaler and class names in one file, and loaded back to
-- name the species of a new flower given as a plain table.
--
-- From a checkout after `make`:
--   LUA_PATH="src/?.lua;src/?/init.lua;;" LUA_CPATH="build/?.so;;" lua5.4 examples/iris.lua

local bp = require("backprop")

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local X, Y, features, classes = bp.data.read_csv(here .. "/data/iris.csv", {target = "species"})
print(string.format("%d flowers, features %s, classes %s", #X, table.concat(features, ", "),
                    table.concat(classes, ", ")))

local function new_net()
  return bp.Sequential{bp.Linear(4, 16), bp.ReLU(), bp.Linear(16, 3)}
end

local function train(net, x, y)
  return net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(net, {lr = 0.01}),
                        epochs = 60, batch_size = 16})
end

-- Cross-validation: five models, each scored on the fifth it did not see.
-- The file is sorted by species, so the folds are shuffled (and stratified).
bp.manual_seed(1)
local sum = 0
for fold, tr, val in bp.data.kfold(X, Y, 5, {shuffle = true, seed = 1, stratify = true}) do
  local scaler = bp.data.standardize(tr.x)   -- fitted on the training folds only
  scaler:apply(val.x)
  local net = new_net()
  train(net, tr.x, tr.y)
  local acc = bp.metrics.accuracy(net:forward(val.x), val.y)
  print(string.format("fold %d: accuracy %.3f on %d flowers", fold, acc, #val.x))
  sum = sum + acc
end
print(string.format("5-fold accuracy %.3f", sum / 5))

-- One model on a stratified 80/20 split, and its confusion matrix.
local tr, test = bp.data.split(X, Y, {test = 0.2, seed = 1, stratify = true})
local scaler = bp.data.standardize(tr.x)
scaler:apply(test.x)
local net = new_net()
train(net, tr.x, tr.y)
local out = net:forward(test.x)
print(string.format("test accuracy %.3f, macro F1 %.3f", bp.metrics.accuracy(out, test.y),
                    bp.metrics.f1(out, test.y)))
print(bp.metrics.confusion_matrix(out, test.y, {names = classes}))

-- The model, its scaler and the class names in one file. Loaded back (by
-- another program, say), it names the species of a new flower measured in
-- centimetres: a plain table in, a name out.
local path = os.tmpname()
net:save(path, {scaler = scaler, classes = classes})
local predictor = bp.load(path)
os.remove(path)
local flower = {6.3, 2.9, 5.6, 1.8}
print(string.format("{%s} is %s", table.concat(flower, ", "), predictor:predict(flower)))
