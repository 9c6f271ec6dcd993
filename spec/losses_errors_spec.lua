-- Misuse of the losses and their options: a clear error naming the
-- function, the option or argument, what was expected and what came; the
-- loss stays usable afterwards.
local bp = require("backprop")
local H = require("helper")
local raises = H.raises

local ALL = { "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss" }

describe("loss options", function()
  it("reduction must be mean, sum or none, on every loss", function()
    for _, name in ipairs(ALL) do
      raises({ "backprop." .. name .. ":", 'reduction must be "mean", "sum" or "none", got "avg"' },
             bp[name], { reduction = "avg" })
      raises({ "backprop." .. name .. ":", 'reduction must be "mean", "sum" or "none", got 1' },
             bp[name], { reduction = 1 })
      for _, r in ipairs({ "mean", "sum", "none" }) do bp[name]({ reduction = r }) end
    end
  end)

  it("each loss takes only its own options", function()
    raises({ "backprop.MSELoss:", "unknown option 'weight'", "expected one of: reduction" },
           bp.MSELoss, { weight = { 1 } })
    raises({ "backprop.NLLLoss:", "unknown option 'label_smoothing'", "expected one of: reduction, weight" },
           bp.NLLLoss, { label_smoothing = 0.1 })
    raises({ "backprop.HuberLoss:", "unknown option 'beta'", "expected one of: reduction, delta" },
           bp.HuberLoss, { beta = 1 })
    raises({ "backprop.BCEWithLogitsLoss:", "unknown option 'weight'", "expected one of: reduction, pos_weight" },
           bp.BCEWithLogitsLoss, { weight = { 1 } })
    raises({ "backprop.CrossEntropyLoss:", "options must be a table, got string" }, bp.CrossEntropyLoss, "mean")
  end)

  it("weight: positive finite numbers, as a 1-D tensor or a table", function()
    local CE = bp.CrossEntropyLoss
    raises({ "backprop.CrossEntropyLoss:", "weight[2] is 0, expected a positive finite number" },
           CE, { weight = { 1, 0, 2 } })
    raises({ "backprop.CrossEntropyLoss:", "weight[1] is -1, expected a positive finite number" },
           CE, { weight = bp.tensor({ -1, 1 }) })
    raises({ "backprop.NLLLoss:", "weight[3] is inf, expected a positive finite number" },
           bp.NLLLoss, { weight = { 1, 2, math.huge } })
    raises({ "backprop.NLLLoss:", "weight[1] is", "expected a positive finite number" },
           bp.NLLLoss, { weight = { 0 / 0 } })
    raises({ "backprop.NLLLoss:", "weight[1] is 1e+300, expected a positive finite number" },
           bp.NLLLoss, { weight = { 1e300 } })   -- beyond float32
    raises({ "backprop.CrossEntropyLoss:", "weight[2] must be a number, got string" },
           CE, { weight = { 1, "2" } })
    raises({ "backprop.CrossEntropyLoss:", "weight is empty" }, CE, { weight = {} })
    raises({ "backprop.CrossEntropyLoss:", "weight must be a 1-D tensor (one value per class), got shape 2x2" },
           CE, { weight = bp.ones(2, 2) })
    raises({ "backprop.CrossEntropyLoss:", "weight must be a tensor or a table of numbers, got number" },
           CE, { weight = 3 })
    raises({ "backprop.BCEWithLogitsLoss:", "pos_weight[2] is -2, expected a positive finite number" },
           bp.BCEWithLogitsLoss, { pos_weight = { 1, -2 } })
  end)

  it("weight must have one value per class of the prediction", function()
    local ce = bp.CrossEntropyLoss({ weight = { 1, 2 } })
    raises({ "backprop.CrossEntropyLoss:forward:", "weight has 2 value(s), expected one per class: the prediction has 3 column(s)" },
           ce.forward, ce, bp.zeros(4, 3), bp.tensor({ 1, 2, 3, 1 }))
    raises("call forward first", ce.backward, ce)
    assert.is_number(ce:forward(bp.zeros(4, 2), bp.tensor({ 1, 2, 2, 1 })))  -- still usable
    local b = bp.BCEWithLogitsLoss({ pos_weight = { 1, 2, 3 } })
    raises({ "backprop.BCEWithLogitsLoss:forward:", "pos_weight has 3 value(s)", "the prediction has 2 column(s)" },
           b.forward, b, bp.zeros(4, 2), bp.zeros(4, 2))
  end)

  it("the caller's weight tensor or table is copied", function()
    local w = bp.tensor({ 1, 1 })
    local ce = bp.CrossEntropyLoss({ weight = w, reduction = "sum" })
    local x, y = bp.tensor({ { 0, 0 } }), bp.tensor({ 2 })
    local before = ce:forward(x, y)
    w:set(2, 100)
    assert.are.equal(before, ce:forward(x, y))
  end)

  it("label_smoothing in [0, 1), delta positive and finite", function()
    local CE = bp.CrossEntropyLoss
    raises({ "backprop.CrossEntropyLoss:", "label_smoothing must be a number in [0, 1), got 1" },
           CE, { label_smoothing = 1 })
    raises({ "backprop.CrossEntropyLoss:", "label_smoothing must be a number in [0, 1), got -0.1" },
           CE, { label_smoothing = -0.1 })
    raises({ "backprop.CrossEntropyLoss:", "label_smoothing must be a number in [0, 1), got string" },
           CE, { label_smoothing = "0.1" })
    raises({ "backprop.CrossEntropyLoss:", "label_smoothing must be a number in [0, 1), got" },
           CE, { label_smoothing = 0 / 0 })
    CE({ label_smoothing = 0 })
    raises({ "backprop.HuberLoss:", "delta must be a number in (0, inf), got 0" }, bp.HuberLoss, { delta = 0 })
    raises({ "backprop.HuberLoss:", "delta must be a number in (0, inf), got -1" }, bp.HuberLoss, { delta = -1 })
    raises({ "backprop.HuberLoss:", "delta must be a number in (0, inf), got inf" },
           bp.HuberLoss, { delta = math.huge })
  end)
end)

describe("loss inputs", function()
  it("mismatched shapes name both shapes", function()
    for _, name in ipairs({ "L1Loss", "HuberLoss", "BCEWithLogitsLoss" }) do
      local l = bp[name]()
      raises({ "backprop." .. name .. ":forward:", "expected target of shape 3x2, got 2x3 (prediction 3x2)" },
             l.forward, l, bp.zeros(3, 2), bp.zeros(2, 3))
    end
    local nll = bp.NLLLoss()
    raises({ "backprop.NLLLoss:forward:", "expected 3 class labels (shape 3 or 3x1), got shape 2 (prediction 3x4)" },
           nll.forward, nll, bp.zeros(3, 4), bp.tensor({ 1, 2 }))
  end)

  it("labels out of range name the position and the value", function()
    local nll = bp.NLLLoss({ weight = { 1, 2, 3 } })
    raises({ "backprop.NLLLoss:forward:", "label 3 is 0, expected an integer class in 1..3" },
           nll.forward, nll, bp.zeros(3, 3), bp.tensor({ 1, 2, 0 }))
    raises({ "backprop.NLLLoss:forward:", "label 1 is 1.5, expected an integer class in 1..3" },
           nll.forward, nll, bp.zeros(3, 3), bp.tensor({ 1.5, 2, 3 }))
    local ce = bp.CrossEntropyLoss({ label_smoothing = 0.2 })
    raises({ "backprop.CrossEntropyLoss:forward:", "label 2 is 4, expected an integer class in 1..3" },
           ce.forward, ce, bp.zeros(2, 3), bp.tensor({ 1, 4 }))
  end)

  it("BCEWithLogitsLoss targets must be in [0, 1]; logits may be any finite value", function()
    local b = bp.BCEWithLogitsLoss()
    raises({ "backprop.BCEWithLogitsLoss:forward:", "target 2 is 1.5, expected a value in [0, 1]" },
           b.forward, b, bp.zeros(2, 1), bp.tensor({ { 0 }, { 1.5 } }))
    assert.is_true(b:forward(bp.tensor({ { 1e30 }, { -1e30 } }), bp.tensor({ { 0 }, { 1 } })) > 1e29)
    local p = bp.zeros(2, 1)
    p:set(1, 1, 0 / 0)
    raises({ "backprop.BCEWithLogitsLoss:forward:", "prediction contains" }, b.forward, b, p, bp.zeros(2, 1))
  end)

  it("reduction none returns a fresh tensor each time", function()
    local l = bp.L1Loss({ reduction = "none" })
    local a = l:forward(bp.ones(2, 2), bp.zeros(2, 2))
    local b = l:forward(bp.ones(2, 2) * 3, bp.zeros(2, 2))
    H.assert_same(a, { { 1, 1 }, { 1, 1 } }, "first result")
    H.assert_same(b, { { 3, 3 }, { 3, 3 } }, "second result")
    local ce = bp.CrossEntropyLoss({ reduction = "none" })
    assert.same({ 3 }, ce:forward(bp.zeros(3, 4), bp.tensor({ { 1 }, { 2 }, { 4 } })):shape())
  end)

  it("backward(g): only with reduction none, g shaped like the losses", function()
    local mse = bp.MSELoss()
    mse:forward(bp.zeros(3, 2), bp.ones(3, 2))
    raises({ "backprop.MSELoss:backward:", 'takes a gradient argument only with reduction = "none"' },
           mse.backward, mse, bp.ones(3, 2))
    local none = bp.MSELoss({ reduction = "none" })
    raises({ "backprop.MSELoss:backward:", "call forward first" }, none.backward, none, bp.ones(3, 2))
    none:forward(bp.zeros(3, 2), bp.ones(3, 2))
    raises({ "backprop.MSELoss:backward:", "expected a gradient of shape 3x2 (the prediction's), got 2x3" },
           none.backward, none, bp.ones(2, 3))
    raises({ "backprop.MSELoss:backward:", "gradient must be a backprop.Tensor, got table" },
           none.backward, none, { 1 })
    local g = bp.ones(3, 2)
    g:set(2, 1, math.huge)
    raises({ "backprop.MSELoss:backward:", "gradient contains inf at row 2, element 1" }, none.backward, none, g)
    H.assert_same(none:backward(bp.ones(3, 2) * 0.5), { { -1, -1 }, { -1, -1 }, { -1, -1 } }, "usable after errors")
    local nll = bp.NLLLoss({ reduction = "none" })
    nll:forward(bp.zeros(4, 2), bp.tensor({ 1, 2, 1, 2 }))
    raises({ "backprop.NLLLoss:backward:", "expected a gradient of shape 4 (one per sample), got 4x2" },
           nll.backward, nll, bp.ones(4, 2))
    H.assert_same(nll:backward(bp.tensor({ { 1 }, { 2 }, { 3 }, { 4 } })),
                  { { -1, 0 }, { 0, -2 }, { -3, 0 }, { 0, -4 } }, "N x 1 gradient accepted")
  end)

  it("tostring names the loss and a reduction other than mean", function()
    assert.are.equal("backprop.HuberLoss", tostring(bp.HuberLoss()))
    assert.are.equal('backprop.NLLLoss{reduction = "none"}', tostring(bp.NLLLoss({ reduction = "none" })))
  end)
end)
