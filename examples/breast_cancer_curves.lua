-- Seeing training: a network a little too large for the Breast Cancer
-- Wisconsin data, trained with the validation loss and three metrics
-- recorded every epoch, then drawn by bp.plot.history. The validation
-- loss bottoms out and creeps up again while the training loss keeps
-- falling (overfitting); the plot marks the best epoch.
--
--   lua5.4 examples/breast_cancer_curves.lua [out.svg]
-- writes examples/breast_cancer_curves.svg by default (the picture in the
-- README), and prints the scores and the confusion matrix at the end.

local bp = require("backprop")
bp.manual_seed(42)

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local out = arg and arg[1] or (here .. "/breast_cancer_curves.svg")

local X, Y = bp.data.read_csv(here .. "/data/breast_cancer.csv", {target = "malignant"})
local train, test = bp.data.split(X, Y, {test = 0.3, seed = 1})
local scaler = bp.data.standardize(train.x)
scaler:apply(test.x)

local net = bp.Sequential{
  bp.Linear(30, 64), bp.ReLU(),
  bp.Linear(64, 64), bp.ReLU(),
  bp.Linear(64, 1), bp.Sigmoid(),        -- probability of malignant
}
local history = net:fit(train.x, train.y, {
  loss = bp.BCELoss(), optimizer = bp.Adam(net, {lr = 1e-3}), epochs = 40, batch_size = 32,
  validation = {test.x, test.y}, metrics = {"accuracy", "f1", "roc_auc"},
})

bp.plot.history(history, out, {title = "Breast cancer"})
print(string.format("best epoch %d of %d: validation loss %.4f", history.best_epoch,
                    #history.loss, history.best_loss))

local pred = net:forward(test.x)
print(string.format("after epoch %d: accuracy %.4f  F1 %.4f  ROC AUC %.4f  log loss %.4f",
                    #history.loss, bp.metrics.accuracy(pred, test.y), bp.metrics.f1(pred, test.y),
                    bp.metrics.roc_auc(pred, test.y), bp.metrics.log_loss(pred, test.y)))
print(bp.metrics.confusion_matrix(pred, test.y, {names = {"benign", "malignant"}}))
print("curves written to " .. out)
