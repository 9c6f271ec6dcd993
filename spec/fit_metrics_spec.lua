-- fit's metrics option: each named metric (a function of bp.metrics, or
-- name = function(output, target)) computed at every epoch's end on the
-- validation set (history.val_<name>), or without one on the training data
-- (history.<name>), with the network's outputs in eval mode.
local bp = require("backprop")
local H = require("helper")

local function setup(seed)
  bp.manual_seed(seed)
  local x, vx = bp.randn(90, 4), bp.randn(50, 4)
  local y, vy = bp.zeros(90), bp.zeros(50)
  for i = 1, 90 do y[i] = x[i][1] + x[i][2] > 0 and 2 or 1 end
  for i = 1, 50 do vy[i] = vx[i][1] + vx[i][2] > 0 and 2 or 1 end
  local net = bp.Sequential{bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 2)}
  return net, x, y, vx, vy
end

describe("fit's metrics", function()
  it("records each metric on the validation set at every epoch", function()
    local net, x, y, vx, vy = setup(1)
    local after = {}
    local h = net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.2}), epochs = 4,
                             batch_size = 10, validation = {vx, vy}, metrics = {"accuracy"},
                             on_epoch = function(e, _, _, hist)
                               after[e] = bp.metrics.accuracy(net:forward(vx), vy)
                               assert.are.equal(after[e], hist.val_accuracy[e])
                             end})
    assert.are.equal(4, #h.val_accuracy)
    for e = 1, 4 do assert.are.equal(after[e], h.val_accuracy[e]) end
    assert.is_nil(h.accuracy)
    assert(h.val_accuracy[4] > 0.7, "it learns: " .. h.val_accuracy[4])
  end)

  it("uses the training data without a validation set, and takes named functions", function()
    local net, x, y = setup(2)
    local calls = 0
    local h = net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.2}), epochs = 3,
                             metrics = {"accuracy", errors = function(out, target)
                               calls = calls + 1
                               return (1 - bp.metrics.accuracy(out, target)) * target:shape()[1]
                             end}})
    assert.are.equal(3, calls)
    assert.is_nil(h.val_accuracy)
    local acc = bp.metrics.accuracy(net:forward(x), y)
    assert.are.equal(acc, h.accuracy[3])
    H.near(h.errors[3], (1 - acc) * 90, 1e-9, "errors")
  end)

  it("works with uint8 inputs and input_scale", function()
    bp.manual_seed(3)
    local x8 = (bp.rand(40, 6) * 255):byte()
    local y = bp.zeros(40)
    for i = 1, 40 do y[i] = i % 2 + 1 end
    local net = bp.Sequential{bp.Linear(6, 2)}
    local h = net:fit(x8, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net), input_scale = 1 / 255,
                              validation = {x8, y}, metrics = {"accuracy"}})
    assert.are.equal(bp.metrics.accuracy(net:forward(x8:float() * (1 / 255)), y), h.val_accuracy[1])
  end)

  it("rejects unknown names, listing the known ones, and bad entries", function()
    local net, x, y = setup(4)
    local function fit(metrics)
      return pcall(net.fit, net, x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net),
                                        metrics = metrics})
    end
    local ok, err = fit({"acuracy"})
    assert.is_false(ok)
    assert.matches("backprop.Module:fit: unknown metric 'acuracy' (known: ", err, 1, true)
    assert.matches("accuracy", err:match("known: (.*)"), 1, true)
    ok, err = fit("accuracy")
    assert.matches("metrics must be a list of metric names", err, 1, true)
    ok, err = fit({5})
    assert.matches("metrics[1] must be the name of a bp.metrics function, got number", err, 1, true)
    ok, err = fit({loss = function() return 0 end})
    assert.matches("metric name 'loss' cannot be used", err, 1, true)
    ok, err = fit({"accuracy", accuracy = function() return 0 end})
    assert.matches("metric 'accuracy' is asked for twice", err, 1, true)
    ok, err = fit({nope = function() return "x" end})
    assert.is_false(ok)
    assert.matches("metric 'nope' returned string, expected a number", err, 1, true)
  end)
end)
