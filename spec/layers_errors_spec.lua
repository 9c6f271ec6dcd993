-- Error messages of the layers of issue 3: constructors name the bad
-- argument, passes name the layer and the shapes, and the objects stay
-- usable afterwards.
local bp = require("backprop")
local H = require("helper")
local err_of, raises = H.err_of, H.raises

describe("layer constructor errors", function()
  it("Conv2d", function()
    raises({ "backprop.Conv2d:", "in_channels must be a positive integer, got 0" }, bp.Conv2d, 0, 3, 3)
    raises({ "backprop.Conv2d:", "out_channels must be a positive integer, got no value" }, bp.Conv2d, 1)
    raises({ "backprop.Conv2d:", "kernel_size must be a positive integer, got string" }, bp.Conv2d, 1, 2, "3")
    raises({ "backprop.Conv2d:", "kernel_size must be a number or a table {h, w}, got a table of 3 values" },
           bp.Conv2d, 1, 2, { 1, 2, 3 })
    raises({ "backprop.Conv2d:", "kernel_size[2] must be a positive integer, got 0" }, bp.Conv2d, 1, 2, { 3, 0 })
    raises({ "backprop.Conv2d:", "stride must be a positive integer, got 0" }, bp.Conv2d, 1, 2, 3, { stride = 0 })
    raises({ "backprop.Conv2d:", "padding must be a non-negative integer, got -1" }, bp.Conv2d, 1, 2, 3, 1, -1)
    raises({ "backprop.Conv2d:", "unknown option 'pad'", "stride, padding" }, bp.Conv2d, 1, 2, 3, { pad = 1 })
  end)

  it("pools, Dropout, BatchNorm, LayerNorm, Embedding, activations", function()
    raises({ "backprop.MaxPool2d:", "kernel_size must be a positive integer, got no value" }, bp.MaxPool2d)
    raises({ "backprop.AvgPool2d:", "padding must be at most half the kernel size, got padding 2x2 for kernel 3x3" },
           bp.AvgPool2d, 3, 1, 2)
    raises({ "backprop.Dropout:", "p must be between 0 and 1, got 1.5" }, bp.Dropout, 1.5)
    raises({ "backprop.Dropout:", "p must be a number, got string" }, bp.Dropout, "x")
    raises({ "backprop.BatchNorm1d:", "num_features must be a positive integer, got no value" }, bp.BatchNorm1d)
    raises({ "backprop.BatchNorm2d:", "momentum must be between 0 and 1, got 2" }, bp.BatchNorm2d, 3, { momentum = 2 })
    raises({ "backprop.BatchNorm2d:", "eps must be positive, got 0" }, bp.BatchNorm2d, 3, 0)
    raises({ "backprop.BatchNorm1d:", "unknown option 'affine'" }, bp.BatchNorm1d, 3, { affine = false })
    raises({ "backprop.LayerNorm:", "normalized_shape must be a positive integer, got 2.5" }, bp.LayerNorm, 2.5)
    raises({ "backprop.Embedding:", "embedding_dim must be a positive integer, got no value" }, bp.Embedding, 10)
    raises({ "backprop.Softplus:", "beta must be positive, got 0" }, bp.Softplus, 0)
    raises({ "backprop.ELU:", "alpha must be a finite number, got inf" }, bp.ELU, math.huge)
    raises({ "backprop.Flatten:", "takes no arguments" }, bp.Flatten, 1)
    raises({ "backprop.Residual:", "module must be a backprop.Module, got number" }, bp.Residual, 3)
    raises({ "backprop.Residual:", "takes one module" }, bp.Residual, bp.ReLU(), bp.ReLU())
  end)
end)

describe("shape errors name the layer and the shapes", function()
  it("Conv2d with the wrong channels, lone and inside a Sequential", function()
    local conv = bp.Conv2d(3, 4, 3)
    assert.equal("backprop.Conv2d:forward: expected 3 input channels, got 1 (input shape 8x1x28x28)",
                 err_of(conv.forward, conv, bp.zeros(8, 1, 28, 28)))
    local net = bp.Sequential { bp.Conv2d(1, 4, 3), bp.Conv2d(5, 2, 3) }
    assert.equal("backprop.Sequential:forward: layer 2 (Conv2d) expected 5 input channels, got 4 "
                 .. "(input shape 2x1x9x9)", err_of(net.forward, net, bp.zeros(2, 1, 9, 9)))
    raises({ "backprop.Conv2d:forward:", "expected input of shape N x C x H x W, got 8x3" }, conv.forward, conv,
           bp.zeros(8, 3))
    raises({ "backprop.Conv2d:forward:", "kernel 3x3 (padding 0, 0) is larger than the sample (3x2x2)" },
           conv.forward, conv, bp.zeros(1, 3, 2, 2))
    assert.equal("1x4x3x3", table.concat(conv:forward(bp.zeros(1, 3, 5, 5)):shape(), "x"))
  end)

  it("a Linear after a Conv2d without Flatten, and inputs of too many dims", function()
    local net = bp.Sequential { bp.Conv2d(1, 2, 3), bp.Linear(18, 2) }
    raises({ "layer 2 (Linear) expected input of shape N x features, got 4x2x3x3" }, net.forward, net,
           bp.zeros(4, 1, 5, 5))
    raises({ "input has 5 dimensions, at most 4 are supported" }, net.forward, net, bp.zeros(1, 1, 1, 5, 5))
  end)

  it("Residual whose body changes the shape", function()
    local r = bp.Residual(bp.Linear(4, 3))
    raises({ "backprop.Residual:forward:", "layer 2 (Residual) needs its body to keep the shape of its input: "
             .. "2x4 in, 2x3 out" }, r.forward, r, bp.zeros(2, 4))
  end)

  it("BatchNorm: channels, dims, and one value per channel in training", function()
    local bn = bp.BatchNorm2d(3)
    raises({ "backprop.BatchNorm2d:forward:", "expected 3 channels, got 2" }, bn.forward, bn, bp.zeros(2, 2, 4, 4))
    raises({ "expected input of shape N x C x H x W, got 2x3" }, bn.forward, bn, bp.zeros(2, 3))
    local b1 = bp.BatchNorm1d(3)
    raises({ "backprop.BatchNorm1d:forward:", "expected more than 1 value per channel when training, got 1x3" },
           b1.forward, b1, bp.zeros(1, 3))
    b1:eval()
    assert.equal("1x3", table.concat(b1:forward(bp.zeros(1, 3)):shape(), "x"))
  end)

  it("LayerNorm's last dim, Embedding's ids", function()
    local ln = bp.LayerNorm(4)
    raises({ "backprop.LayerNorm:forward:", "expected a last dimension of 4, got 3 (input shape 2x3)" },
           ln.forward, ln, bp.zeros(2, 3))
    local e = bp.Embedding(10, 3)
    assert.equal("backprop.Embedding:forward: id 11 at row 2, position 3 is out of range 1..10",
                 err_of(e.forward, e, bp.tensor({ { 1, 2, 3 }, { 4, 5, 11 } })))
    raises({ "id 0 at row 1, position 1 is out of range 1..10" }, e.forward, e, bp.tensor({ { 0, 1 } }))
    raises({ "id 2.5 at row 1, position 2 is not an integer" }, e.forward, e, bp.tensor({ { 1, 2.5 } }))
    raises({ "expected ids of shape N x L, got 2x2x2" }, e.forward, e, bp.zeros(2, 2, 2))
    local net = bp.Sequential { e, bp.Flatten() }
    raises({ "backprop.Sequential:forward:", "layer 1 (Embedding) id 0 at row 1" }, net.forward, net,
           bp.tensor({ { 0, 1 } }))
    assert.equal("1x6", table.concat(net:forward(bp.tensor({ { 1, 2 } })):shape(), "x"))
  end)

  it("backward's gradient must match the N-D output", function()
    local conv = bp.Conv2d(1, 2, 3)
    conv:forward(bp.zeros(4, 1, 5, 5))
    raises({ "expected a gradient of shape 4x2x3x3 (the last forward's output), got 4x2x3x2" },
           conv.backward, conv, bp.zeros(4, 2, 3, 2))
    raises({ "gradient must be 3-D or 4-D, got shape 4x18" }, conv.backward, conv, bp.zeros(4, 18))
    assert.equal("4x1x5x5", table.concat(conv:backward(bp.zeros(4, 2, 3, 3)):shape(), "x"))
  end)

  it("summary and train() check their arguments", function()
    local net = bp.Sequential { bp.Conv2d(1, 2, 3) }
    raises({ "backprop.Sequential:summary:", "input_shape must be a table of sizes" }, net.summary, net, 5)
    raises({ "backprop.Sequential:summary:", "input_shape[2] must be a positive integer, got 0" },
           net.summary, net, { 1, 0, 5, 5 })
    raises({ "backprop.Sequential:summary:", "expected 1 input channels, got 2" }, net.summary, net, { 1, 2, 5, 5 })
    raises({ "backprop.Sequential:train:", "mode must be a boolean, got number" }, net.train, net, 1)
  end)
end)
