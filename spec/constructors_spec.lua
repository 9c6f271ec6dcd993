-- The layer constructors, built from each class's schema (nn/layer.h,
-- src/lua/llayers.c): positional and options-table forms, defaults (in
-- their descriptions), the argument count, and bounds checked once, in
-- the core, with the function's name in front.
local bp = require("backprop")
local H = require("helper")
local raises = H.raises

-- Every constructor with its required arguments, and its description with
-- every default.
local DEFAULTS = {
  { "Linear", { 3, 2 }, "Linear(3 -> 2)" },
  { "Sigmoid", {}, "Sigmoid" }, { "Tanh", {}, "Tanh" }, { "ReLU", {}, "ReLU" },
  { "LeakyReLU", {}, "LeakyReLU(0.01)" },
  { "Softmax", {}, "Softmax" }, { "LogSoftmax", {}, "LogSoftmax" },
  { "Conv2d", { 1, 32, 3 }, "Conv2d(1 -> 32, kernel 3, stride 1, padding 0)" },
  { "MaxPool2d", { 3 }, "MaxPool2d(kernel 3, stride 3, padding 0)" },
  { "AvgPool2d", { { 3, 2 } }, "AvgPool2d(kernel 3x2, stride 3x2, padding 0)" },
  { "Flatten", {}, "Flatten" },
  { "Dropout", {}, "Dropout(0.5)" },
  { "BatchNorm1d", { 16 }, "BatchNorm1d(16, eps 1e-05, momentum 0.1)" },
  { "BatchNorm2d", { 8 }, "BatchNorm2d(8, eps 1e-05, momentum 0.1)" },
  { "LayerNorm", { 4 }, "LayerNorm(4, eps 1e-05)" },
  { "Embedding", { 10, 3 }, "Embedding(10, 3)" },
  { "GELU", {}, "GELU" }, { "ELU", {}, "ELU(1)" }, { "SiLU", {}, "SiLU" },
  { "Softplus", {}, "Softplus(beta 1, threshold 20)" },
  { "Identity", {}, "Identity" },
  { "PReLU", {}, "PReLU(1, init 0.25)" },
}

describe("layer constructors", function()
  it("every layer of the registry has one, described with its defaults", function()
    for _, c in ipairs(DEFAULTS) do
      local name, args, text = c[1], c[2], c[3]
      assert.equal("backprop." .. text, tostring(bp[name](H.unpack(args))), name)
    end
  end)

  it("take optional settings positionally or by name, in a last table", function()
    local same = {
      { bp.LeakyReLU(0.2), bp.LeakyReLU { negative_slope = 0.2 } },
      { bp.ELU(0.5), bp.ELU { alpha = 0.5 } },
      { bp.Dropout(0.25), bp.Dropout { p = 0.25 } },
      { bp.Softplus(2, 5), bp.Softplus { threshold = 5, beta = 2 } },
      { bp.Softplus(1, 5), bp.Softplus { threshold = 5 } },
      { bp.Conv2d(1, 32, 3, 1, 1), bp.Conv2d(1, 32, 3, { stride = 1, padding = 1 }) },
      { bp.Conv2d(1, 2, 3, 2), bp.Conv2d(1, 2, 3, { stride = 2 }) },
      { bp.MaxPool2d(2, 1), bp.MaxPool2d(2, { stride = 1 }) },
      { bp.BatchNorm1d(16, 1e-3, 0.2), bp.BatchNorm1d(16, { eps = 1e-3, momentum = 0.2 }) },
      { bp.LayerNorm(4, 1e-3), bp.LayerNorm(4, { eps = 1e-3 }) },
      { bp.Linear(2, 3), bp.Linear(2, 3, nil) },
    }
    for i, pair in ipairs(same) do
      assert.equal(tostring(pair[1]), tostring(pair[2]), "case " .. i)
    end
    assert.equal("backprop.Conv2d(1 -> 2, kernel 3, stride 2x1, padding 1x0)",
                 tostring(bp.Conv2d(1, 2, 3, { stride = { 2, 1 }, padding = { 1, 0 } })))
  end)

  it("say how many arguments they take", function()
    raises({ "backprop.Linear: takes at most 2 arguments, got 3" }, bp.Linear, 2, 3, 4)
    raises({ "backprop.Dropout: takes at most 1 argument, got 2" }, bp.Dropout, 0.1, 2)
    raises({ "backprop.Conv2d: takes at most 5 arguments, got 6" }, bp.Conv2d, 1, 2, 3, 1, 1, 5)
    raises({ "backprop.BatchNorm1d: takes at most 3 arguments, got 4" }, bp.BatchNorm1d, 3, 1e-5, 0.1, 1)
    raises({ "backprop.Embedding: takes at most 2 arguments, got 3" }, bp.Embedding, 3, 2, {})
    raises({ "backprop.Identity: takes no arguments, got 2" }, bp.Identity, 1, 2)
  end)

  it("check every bound, with the setting's name", function()
    raises({ "backprop.LeakyReLU: unknown option 'slope' (expected one of: negative_slope)" },
           bp.LeakyReLU, { slope = 1 })
    raises({ "backprop.Softplus: unknown option 'betas'" }, bp.Softplus, { betas = 1 })
    raises({ "backprop.Embedding: num_embeddings must be at most 16777216, got 16777217" },
           bp.Embedding, 2 ^ 24 + 1, 2)
    raises({ "backprop.Conv2d: kernel_size must be at most 4096, got 5000" }, bp.Conv2d, 1, 2, 5000)
    raises({ "backprop.Conv2d: in_channels must be at most 16777216, got 16777217" }, bp.Conv2d, 2 ^ 24 + 1, 2, 3)
    raises({ "backprop.Linear: in_features must be at most 2147483648, got 4294967296" }, bp.Linear, 2 ^ 32, 1)
    raises({ "backprop.Conv2d: padding[2] must be a non-negative integer, got -1" }, bp.Conv2d, 1, 2, 3, 1, { 0, -1 })
    raises({ "backprop.Softplus: threshold must be a finite number, got -inf" }, bp.Softplus, 1, -math.huge)
    raises({ "backprop.BatchNorm1d: momentum must be between 0 and 1, got -0.5" }, bp.BatchNorm1d, 2, { momentum = -0.5 })
    raises({ "backprop.LayerNorm: eps must be positive, got -1" }, bp.LayerNorm, 2, -1)
    raises({ "backprop.Conv2d: 2048 -> 2048 channels with kernel 32x32 are too large" }, bp.Conv2d, 2048, 2048, 32)
  end)

  it("Residual is made from a module, not from settings", function()
    assert.equal("backprop.Residual {\n  ReLU\n}", tostring(bp.Residual(bp.ReLU())))
    raises({ "backprop.Residual:", "module must be a backprop.Module, got number" }, bp.Residual, 2)
  end)
end)
