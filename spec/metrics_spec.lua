-- bp.metrics: precision, recall, F1, ROC AUC, log loss, the regression
-- errors, R² and the confusion matrix, each against values computed by
-- hand here and against scikit-learn's on the cases in
-- spec/reference/metrics_ref.lua (made by spec/reference/make_metrics.py).
-- accuracy and the confusion matrix's counts are also in data_spec.lua.

local bp = require("backprop")
local H = require("helper")
local REF = require("reference.metrics_ref")

local M = bp.metrics
local near = H.near

local function t(v) return bp.tensor(v) end

describe("metrics by hand", function()
  -- predicted 1, 0, 1, 0 at threshold 0.5 against 1, 0, 0, 1:
  -- tp 1 (first), fp 1 (third), fn 1 (fourth), tn 1
  local pred = t({ { 0.9 }, { 0.2 }, { 0.5 }, { 0.4 } })
  local y = t({ 1, 0, 0, 1 })

  it("precision, recall and F1 of one probability column", function()
    assert.equal(0.5, M.precision(pred, y))
    assert.equal(0.5, M.recall(pred, y))
    assert.equal(0.5, M.f1(pred, y))
    -- threshold 0.3: predicted 1, 0, 1, 1: tp 2, fp 1, fn 0
    near(M.precision(pred, y, { threshold = 0.3 }), 2 / 3, 1e-15)
    assert.equal(1, M.recall(pred, y, { threshold = 0.3 }))
    near(M.f1(pred, y, { threshold = 0.3 }), 0.8, 1e-15)
    -- the other class as the positive one: tp 1 (second), fp 1, fn 1
    assert.equal(0.5, M.precision(pred, y, { pos_label = 0 }))
  end)

  it("macro, weighted and micro averages over three classes", function()
    -- argmax 2, 1, 3, 2, 1 against 2, 1, 2, 2, 3
    -- class 1: tp 1 fp 1 fn 0; class 2: tp 2 fp 0 fn 1; class 3: tp 0 fp 1 fn 1
    local p3 = t({ { 0.1, 0.7, 0.2 }, { 0.8, 0.1, 0.1 }, { 0.2, 0.3, 0.5 }, { 0.3, 0.4, 0.3 },
                   { 0.6, 0.2, 0.2 } })
    local y3 = t({ 2, 1, 2, 2, 3 })
    local f1 = { 2 / 3, 0.8, 0 }
    near(M.f1(p3, y3), (f1[1] + f1[2] + f1[3]) / 3, 1e-15)                -- macro by default
    near(M.f1(p3, y3, { average = "weighted" }), (f1[1] + 3 * f1[2]) / 5, 1e-15)
    near(M.f1(p3, y3, { average = "micro" }), 0.6, 1e-15)                -- = accuracy
    near(M.precision(p3, y3, { average = "macro" }), (0.5 + 1 + 0) / 3, 1e-15)
    near(M.recall(p3, y3, { average = "macro" }), (1 + 2 / 3 + 0) / 3, 1e-15)
    local none = M.f1(p3, y3, { average = "none" })
    for i = 1, 3 do near(none[i], f1[i], 1e-15) end
  end)

  it("a class never predicted has precision 0 (or zero_division)", function()
    local p = t({ { 1, 0 }, { 1, 0 }, { 1, 0 } })
    local y2 = t({ 1, 2, 2 })
    assert.equal(0, M.precision(p, y2))                 -- class 2 positive: never predicted
    assert.equal(1, M.precision(p, y2, { zero_division = 1 }))
    assert.equal(0, M.recall(p, y2))
    assert.equal(0, M.f1(p, y2))
    near(M.precision(p, y2, { average = "macro" }), (1 / 3 + 0) / 2, 1e-15)
  end)

  it("ROC AUC: pairs ranked right, ties counting half", function()
    -- positives score 0.9 and 0.4, negatives 0.2 and 0.5: 3 of 4 pairs
    assert.equal(0.75, M.roc_auc(pred, y))
    assert.equal(0.5, M.roc_auc(t({ 0.5, 0.5 }), t({ 0, 1 })))
    -- two columns: column 2 minus column 1 ranks the samples
    assert.equal(1, M.roc_auc(t({ { 3, 1 }, { 0, 2 } }), t({ 1, 2 })))
    -- three classes, one against the rest, on the softmax of the scores
    local p3 = t({ { 2, 0, 0 }, { 0, 2, 0 }, { 0, 0, 2 }, { 1, 0, 0 } })
    assert.equal(1, M.roc_auc(p3, t({ 1, 2, 3, 1 })))
  end)

  it("log loss: mean of -log(probability of the true class)", function()
    local want = -(math.log(0.9) + math.log(0.8) + math.log(0.5) + math.log(0.4)) / 4
    near(M.log_loss(pred, y), want, 1e-7)               -- inputs are float32
    -- a probability of 0 for the true class is clipped to 1e-15
    near(M.log_loss(t({ 0, 1 }), t({ 1, 1 })), -math.log(1e-15) / 2, 1e-12)
    -- scores (logits = true) through a sigmoid
    near(M.log_loss(t({ 0 }), t({ 1 }), { logits = true }), math.log(2), 1e-15)
    -- two rows of scores: softmax
    local s = t({ { 0, 0 }, { math.log(3), 0 } })       -- probabilities 1/2 1/2 and 3/4 1/4
    near(M.log_loss(s, t({ 2, 1 })), -(math.log(0.5) + math.log(0.75)) / 2, 1e-7)
  end)

  it("MAE, MSE, RMSE and R²", function()
    local p, yr = t({ 1, 2, 3 }), t({ { 1 }, { 1 }, { 5 } })   -- errors 0, 1, -2
    assert.equal(1, M.mae(p, yr))
    near(M.mse(p, yr), 5 / 3, 1e-15)
    near(M.rmse(p, yr), math.sqrt(5 / 3), 1e-15)
    -- mean 7/3; total sum of squares 32/3, residual 5
    near(M.r2(p, yr), 17 / 32, 1e-15)
    -- two outputs: RMSE and R² per output, averaged
    local p2, y2 = t({ { 1, 0 }, { 3, 0 } }), t({ { 1, 1 }, { 1, 1 } })
    near(M.rmse(p2, y2), (math.sqrt(2) + 1) / 2, 1e-15)
    assert.equal(1.5, M.mse(p2, y2))           -- errors 0, -1, 2, -1
    -- a constant target: 1 when predicted exactly, else 0
    assert.equal(1, M.r2(t({ 2, 2 }), t({ 2, 2 })))
    assert.equal(0, M.r2(t({ 2, 3 }), t({ 2, 2 })))
    assert.equal(0.5, M.r2(t({ { 2, 2 }, { 3, 3 } }), t({ { 2, 2 }, { 3, 2 } })))
  end)
end)

describe("confusion_matrix", function()
  local p = t({ { 0.8, 0.1, 0.1 }, { 0.1, 0.8, 0.1 }, { 0.1, 0.1, 0.8 }, { 0.1, 0.8, 0.1 },
                { 0.8, 0.1, 0.1 } })
  local y = t({ 1, 2, 3, 3, 1 })

  it("is m[true][predicted] and prints as a labelled table", function()
    local m = M.confusion_matrix(p, y, { names = { "setosa", "versicolor", "virginica" } })
    assert.same({ { 2, 0, 0 }, { 0, 1, 0 }, { 0, 1, 1 } }, m)
    assert.equal(table.concat({
      "true \\ predicted  setosa  versicolor  virginica",
      "setosa                 2           0          0",
      "versicolor             0           1          0",
      "virginica              0           1          1",
    }, "\n"), tostring(m))
  end)

  it("labels the classes as the targets write them without names", function()
    assert.equal(table.concat({
      "true \\ predicted  0  1",
      "0                 1  1",
      "1                 0  2",
    }, "\n"), tostring(M.confusion_matrix(t({ 0.9, 0.2, 0.7, 0.6 }), t({ 0, 0, 1, 1 }),
                                          { threshold = 0.5 })))
    assert.matches("^true \\ predicted  1  2  3\n1  ", tostring(M.confusion_matrix(p, y)))
  end)
end)

describe("metrics against scikit-learn " .. REF.sklearn, function()
  local function close(got, want, what)
    near(got, want, 1e-12, what)
  end

  for _, case in ipairs(REF.cases) do
    local e = case.expected
    it(case.name, function()
      local pred, y = t(case.pred), t(case.target)
      local opts = case.threshold and { threshold = case.threshold } or nil
      local function with(extra)
        local o = {}
        for k, v in pairs(opts or {}) do o[k] = v end
        for k, v in pairs(extra) do o[k] = v end
        return o
      end
      local checked = 0
      if case.kind == "regression" then
        for _, name in ipairs({ "mae", "mse", "rmse", "r2" }) do
          close(M[name](pred, y), e[name], name)
          checked = checked + 1
        end
      else
        close(M.accuracy(pred, y, opts), e.accuracy, "accuracy")
        assert.same(e.confusion, M.confusion_matrix(pred, y, opts))
        for _, name in ipairs({ "precision", "recall", "f1" }) do
          for _, avg in ipairs({ "macro", "weighted", "micro" }) do
            close(M[name](pred, y, with({ average = avg })), e[name .. "_" .. avg], name .. " " .. avg)
          end
          local none = M[name](pred, y, with({ average = "none" }))
          for i, v in ipairs(e[name .. "_none"]) do close(none[i], v, name .. " none " .. i) end
          if e[name .. "_binary"] then
            close(M[name](pred, y, opts), e[name .. "_binary"], name .. " binary")
          end
          if e[name .. "_binary_pos0"] then
            close(M[name](pred, y, with({ pos_label = 0 })), e[name .. "_binary_pos0"], name .. " pos 0")
          end
          checked = checked + 1
        end
        close(M.log_loss(pred, y), e.log_loss, "log_loss")
        if e.roc_auc then close(M.roc_auc(pred, y), e.roc_auc, "roc_auc") end
        if e.roc_auc_macro then
          close(M.roc_auc(pred, y), e.roc_auc_macro, "roc_auc macro")
          close(M.roc_auc(pred, y, { average = "weighted" }), e.roc_auc_weighted, "roc_auc weighted")
        end
      end
      assert(checked > 0)
    end)
  end

  it("covers what the issue lists", function()
    local seen = {}
    for _, case in ipairs(REF.cases) do
      for k in pairs(case.expected) do seen[k] = true end
    end
    for _, k in ipairs({ "accuracy", "precision_macro", "recall_weighted", "f1_binary", "f1_micro", "f1_none",
                         "roc_auc", "roc_auc_macro", "log_loss", "mae", "mse", "rmse", "r2" }) do
      assert(seen[k], "no reference value for " .. k)
    end
  end)
end)

describe("metrics errors", function()
  local p, y = t({ { 0.9 }, { 0.2 } }), t({ 1, 0 })

  it("rejects unknown options and bad values", function()
    H.raises({ "backprop.metrics.f1:", "unknown option 'averge' (expected one of: average, pos_label, "
               .. "threshold, zero_division)" }, M.f1, p, y, { averge = "macro" })
    H.raises({ "backprop.metrics.f1:", "average must be one of binary, macro, weighted, micro, none; got mean" },
             M.f1, p, y, { average = "mean" })
    H.raises({ "backprop.metrics.precision:", "average = \"binary\" needs two classes, the output has 3" },
             M.precision, t({ { 1, 0, 0 } }), t({ 1 }), { average = "binary" })
    H.raises({ "backprop.metrics.recall:", "pos_label must be 0 or 1, got 2" }, M.recall, p, y, { pos_label = 2 })
    H.raises({ "backprop.metrics.recall:", "pos_label is only used with average = \"binary\"" },
             M.recall, p, y, { pos_label = 1, average = "macro" })
    H.raises({ "backprop.metrics.mae:", "unknown option 'x' (it takes no options)" }, M.mae, p, y, { x = 1 })
    H.raises({ "backprop.metrics.log_loss:", "logits must be a boolean, got string" },
             M.log_loss, p, y, { logits = "yes" })
    H.raises({ "backprop.metrics.confusion_matrix:", "names must be a list of the 2 class names, got 3 entries" },
             M.confusion_matrix, p, y, { names = { "a", "b", "c" } })
  end)

  it("ROC AUC with one class in the target is an error", function()
    H.raises({ "backprop.metrics.roc_auc:", "ROC AUC is undefined when the target holds only one class" },
             M.roc_auc, p, t({ 1, 1 }))
    H.raises({ "backprop.metrics.roc_auc:", "class 3: 0 of 3 samples" },
             M.roc_auc, t({ { 1, 0, 0 }, { 0, 1, 0 }, { 1, 0, 0 } }), t({ 1, 2, 1 }))
  end)

  it("log loss wants probabilities from one column unless logits = true", function()
    H.raises({ "backprop.metrics.log_loss:", "prediction 2 is 1.5, not a probability in [0, 1]" },
             M.log_loss, t({ 0.5, 1.5 }), y)
    H.raises({ "backprop.metrics.log_loss:", "pred contains nan or inf" }, M.log_loss, t({ 0 / 0, 1 }), y)
  end)

  it("regression metrics want matching values", function()
    H.raises({ "backprop.metrics.mse:", "pred (shape 2x2) and target (shape 2) must hold the same values per row" },
             M.mse, t({ { 1, 2 }, { 3, 4 } }), y)
    H.raises({ "backprop.metrics.r2:", "target contains nan or inf" }, M.r2, t({ 1, 2 }), t({ 1, 1 / 0 }))
  end)
end)

describe("metrics in fit", function()
  it("records f1, roc_auc and log_loss on the validation set", function()
    bp.manual_seed(11)
    local x, vx = bp.randn(80, 3), bp.randn(40, 3)
    local y, vy = bp.zeros(80, 1), bp.zeros(40, 1)
    for i = 1, 80 do y[i] = x[i][1] - x[i][3] > 0 and 1 or 0 end
    for i = 1, 40 do vy[i] = vx[i][1] - vx[i][3] > 0 and 1 or 0 end
    local net = bp.Sequential{ bp.Linear(3, 1), bp.Sigmoid() }
    local h = net:fit(x, y, { loss = bp.BCELoss(), optimizer = bp.SGD(net, { lr = 0.5 }), epochs = 3,
                              validation = { vx, vy }, metrics = { "f1", "roc_auc", "log_loss", "mse" } })
    local out = net:forward(vx)
    assert.equal(M.f1(out, vy), h.val_f1[3])
    assert.equal(M.roc_auc(out, vy), h.val_roc_auc[3])
    assert.equal(M.log_loss(out, vy), h.val_log_loss[3])
    assert.equal(M.mse(out, vy), h.val_mse[3])
    assert(h.val_roc_auc[3] > 0.9, "it learns: AUC " .. h.val_roc_auc[3])
  end)
end)
