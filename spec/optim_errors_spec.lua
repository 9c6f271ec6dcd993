-- Misuse of the optimizers, clipping, schedulers and fit's training-control
-- options: a clear error naming the function and the option, raised before
-- anything changes.
local bp = require("backprop")
local H = require("helper")
local raises = H.raises

local function small_net()
  bp.manual_seed(1)
  return bp.Sequential { bp.Linear(3, 4), bp.Tanh(), bp.Linear(4, 2) }
end

describe("new optimizer errors", function()
  local net
  before_each(function() net = small_net() end)

  it("unknown options are named, with the valid ones", function()
    raises({ "backprop.AdamW:", "unknown option 'momentum'",
             "(expected one of: lr, betas, eps, weight_decay, amsgrad)" }, bp.AdamW, net, { momentum = 0.9 })
    raises({ "backprop.RMSprop:", "unknown option 'rho'",
             "(expected one of: lr, momentum, alpha, eps, weight_decay, centered)" }, bp.RMSprop, net, { rho = 0.9 })
    raises({ "backprop.Adagrad:", "unknown option 'initial_accumulator'",
             "(expected one of: lr, eps, weight_decay, lr_decay, initial_accumulator_value)" },
           bp.Adagrad, net, { initial_accumulator = 0.1 })
    raises({ "backprop.Rprop:", "unknown option 'weight_decay'", "(expected one of: lr, etas, step_sizes)" },
           bp.Rprop, net, { weight_decay = 0.1 })
  end)

  it("lr, weight_decay, eps and betas are checked for every optimizer that has them", function()
    for _, name in ipairs({ "AdamW", "RMSprop", "Adagrad", "Rprop" }) do
      raises({ "backprop." .. name .. ":", "lr must be >= 0, got -0.1" }, bp[name], net, { lr = -0.1 })
      raises({ "backprop." .. name .. ":", "lr must be a finite number, got inf" }, bp[name], net, { lr = math.huge })
      if name ~= "Rprop" then
        raises({ "backprop." .. name .. ":", "weight_decay must be >= 0, got -1" }, bp[name], net, { weight_decay = -1 })
        raises({ "backprop." .. name .. ":", "eps must be > 0, got 0" }, bp[name], net, { eps = 0 })
      end
    end
    raises({ "backprop.AdamW:", "beta1 must be in [0, 1), got 1" }, bp.AdamW, net, { betas = { 1, 0.9 } })
    raises({ "backprop.AdamW:", "beta2 must be in [0, 1), got -0.1" }, bp.AdamW, net, { betas = { 0.9, -0.1 } })
    raises({ "backprop.AdamW:", "betas must be a table of two numbers, like {0.9, 0.999}" },
           bp.AdamW, net, { betas = { 0.9, 0.99, 0.1 } })
    raises({ "backprop.Adam:", "amsgrad must be a boolean, got number" }, bp.Adam, net, { amsgrad = 1 })
  end)

  it("RMSprop checks alpha, momentum and centered", function()
    raises({ "backprop.RMSprop:", "alpha must be in [0, 1), got 1" }, bp.RMSprop, net, { alpha = 1 })
    raises({ "backprop.RMSprop:", "alpha must be in [0, 1), got -0.5" }, bp.RMSprop, net, { alpha = -0.5 })
    raises({ "backprop.RMSprop:", "momentum must be >= 0, got -0.9" }, bp.RMSprop, net, { momentum = -0.9 })
    raises({ "backprop.RMSprop:", "centered must be a boolean, got string" }, bp.RMSprop, net, { centered = "yes" })
  end)

  it("Adagrad checks lr_decay and initial_accumulator_value", function()
    raises({ "backprop.Adagrad:", "lr_decay must be >= 0, got -0.1" }, bp.Adagrad, net, { lr_decay = -0.1 })
    raises({ "backprop.Adagrad:", "initial_accumulator_value must be >= 0, got -1" },
           bp.Adagrad, net, { initial_accumulator_value = -1 })
  end)

  it("Rprop checks etas and step_sizes", function()
    raises({ "backprop.Rprop:", "etas[1] (the decrease factor) must be in (0, 1), got 1.5" },
           bp.Rprop, net, { etas = { 1.5, 1.2 } })
    raises({ "backprop.Rprop:", "etas[2] (the increase factor) must be > 1, got 0.9" },
           bp.Rprop, net, { etas = { 0.5, 0.9 } })
    raises({ "backprop.Rprop:", "etas must be a table of two numbers, like {0.5, 1.2}" }, bp.Rprop, net, { etas = 0.5 })
    raises({ "backprop.Rprop:", "step_sizes[1] (the smallest step) must be >= 0, got -1" },
           bp.Rprop, net, { step_sizes = { -1, 50 } })
    raises({ "backprop.Rprop:", "step_sizes[2] (the largest step, 0.1) must be >= step_sizes[1] (1)" },
           bp.Rprop, net, { step_sizes = { 1, 0.1 } })
    raises({ "backprop.Rprop:", "step_sizes[2] must be a finite number, got inf" },
           bp.Rprop, net, { step_sizes = { 1e-6, math.huge } })
  end)

  it("options can be read back, and only lr set", function()
    local opt = bp.RMSprop(net, { centered = true, momentum = 0.5 })
    assert.are.equal(0.01, opt.lr)
    assert.are.equal(0.99, opt.alpha)
    assert.is_true(opt.centered)
    assert.are.equal(0.5, opt.momentum)
    assert.is_nil(opt.betas)
    raises({ "backprop.RMSprop:", "cannot set 'alpha'" }, function() opt.alpha = 0.9 end)
    local r = bp.Rprop(net)
    assert.are.same({ 0.5, 1.2 }, r.etas)
    assert.are.same({ 1e-6, 50 }, r.step_sizes)
    assert.are.equal(0.01, bp.AdamW(net).weight_decay)
    assert.are.equal(1e-10, bp.Adagrad(net).eps)
    assert.are.equal("backprop.Rprop(lr=0.01, etas={0.5, 1.2}, step_sizes={1e-06, 50})", tostring(r))
    assert.are.equal("backprop.AdamW(lr=0.001, betas={0.9, 0.999}, eps=1e-08, weight_decay=0.01, amsgrad=false)",
                     tostring(bp.AdamW(net)))
  end)

  it("Rprop takes lr as its first step size when it first steps", function()
    local net1 = H.set_params(bp.Linear(1, 1), { { { 0 } }, { 0 } })
    local opt = bp.Rprop(net1)
    opt.lr = 0.25                      -- before the first step: it counts
    net1:train_step(bp.tensor { { 1 } }, bp.tensor { { 1 } }, bp.MSELoss(), opt)
    H.assert_close(net1:parameters()[1], { { 0.25 } }, 0, 0, "weight after one step")
  end)
end)

describe("clipping errors", function()
  local net
  before_each(function() net = small_net() end)

  it("bp.clip_grad_norm checks its arguments", function()
    raises({ "backprop.clip_grad_norm:", "network must be a backprop.Module, got number" }, bp.clip_grad_norm, 1, 1)
    raises({ "backprop.clip_grad_norm:", "max_norm must be > 0, got 0" }, bp.clip_grad_norm, net, 0)
    raises({ "backprop.clip_grad_norm:", "max_norm must be a number, got no value" }, bp.clip_grad_norm, net)
    raises({ "backprop.clip_grad_norm:", "max_norm must be a finite number, got inf" },
           bp.clip_grad_norm, net, math.huge)
    raises({ "backprop.clip_grad_norm:", "norm_type must be > 0 (math.huge for the max norm), got -1" },
           bp.clip_grad_norm, net, 1, -1)
    raises({ "backprop.clip_grad_norm:", "norm_type must be a number, got string" }, bp.clip_grad_norm, net, 1, "inf")
  end)

  it("bp.clip_grad_value checks its arguments", function()
    raises({ "backprop.clip_grad_value:", "clip_value must be > 0, got -1" }, bp.clip_grad_value, net, -1)
    raises({ "backprop.clip_grad_value:", "clip_value must be a number, got string" }, bp.clip_grad_value, net, "1")
  end)
end)

describe("scheduler errors", function()
  local net, opt
  before_each(function()
    net = small_net()
    opt = bp.SGD(net, { lr = 0.1 })
  end)
  local S = bp.lr_scheduler

  it("need an optimizer and known options", function()
    raises({ "backprop.lr_scheduler.StepLR:", "optimizer must be a backprop optimizer", "got table" },
           S.StepLR, {}, { step_size = 1 })
    raises({ "backprop.lr_scheduler.StepLR:", "unknown option 'stepsize'" }, S.StepLR, opt, { stepsize = 1 })
    raises({ "backprop.lr_scheduler.CosineAnnealingLR:", "options must be a table, got number" },
           S.CosineAnnealingLR, opt, 10)
  end)

  it("check their numbers", function()
    raises({ "backprop.lr_scheduler.StepLR:", "step_size must be an integer >= 1, got nothing" }, S.StepLR, opt, {})
    raises({ "backprop.lr_scheduler.StepLR:", "step_size must be an integer >= 1, got 1.5" },
           S.StepLR, opt, { step_size = 1.5 })
    raises({ "backprop.lr_scheduler.StepLR:", "gamma must be > 0, got 0" }, S.StepLR, opt, { step_size = 1, gamma = 0 })
    raises({ "backprop.lr_scheduler.MultiStepLR:", "milestones must be a list of epochs" },
           S.MultiStepLR, opt, { milestones = 3 })
    raises({ "backprop.lr_scheduler.MultiStepLR:", "milestones[2] must be an integer >= 1, got 0" },
           S.MultiStepLR, opt, { milestones = { 2, 0 } })
    raises({ "backprop.lr_scheduler.ExponentialLR:", "gamma is required" }, S.ExponentialLR, opt, {})
    raises({ "backprop.lr_scheduler.ExponentialLR:", "gamma must be a finite number, got nan" },
           S.ExponentialLR, opt, { gamma = 0 / 0 })
    raises({ "backprop.lr_scheduler.CosineAnnealingLR:", "T_max must be an integer >= 1, got 0" },
           S.CosineAnnealingLR, opt, { T_max = 0 })
    raises({ "backprop.lr_scheduler.CosineAnnealingLR:", "eta_min must be >= 0, got -1" },
           S.CosineAnnealingLR, opt, { T_max = 5, eta_min = -1 })
    raises({ "backprop.lr_scheduler.ReduceLROnPlateau:", "factor must be in (0, 1), got 1" },
           S.ReduceLROnPlateau, opt, { factor = 1 })
    raises({ "backprop.lr_scheduler.ReduceLROnPlateau:", "mode must be \"min\" or \"max\", got minimum" },
           S.ReduceLROnPlateau, opt, { mode = "minimum" })
    raises({ "backprop.lr_scheduler.ReduceLROnPlateau:", "threshold_mode must be \"rel\" or \"abs\", got relative" },
           S.ReduceLROnPlateau, opt, { threshold_mode = "relative" })
    raises({ "backprop.lr_scheduler.ReduceLROnPlateau:", "patience must be an integer >= 0, got -1" },
           S.ReduceLROnPlateau, opt, { patience = -1 })
    assert.are.equal(0.1, opt.lr)
  end)

  it("step: a metric for ReduceLROnPlateau only", function()
    raises({ "backprop.lr_scheduler.ReduceLROnPlateau:step:", "metric must be a number", "got nil" },
           function() S.ReduceLROnPlateau(opt):step() end)
    raises({ "backprop.lr_scheduler.StepLR:step:", "takes no argument" },
           function() S.StepLR(opt, { step_size = 1 }):step(0.5) end)
    assert.are.equal(0.1, opt.lr)
  end)
end)

describe("fit training-control option errors", function()
  local net, opt, x, y
  before_each(function()
    net = small_net()
    opt = bp.SGD(net, { lr = 0.1 })
    x, y = bp.randn(5, 3), bp.zeros(5, 2)
  end)
  local function fit(extra)
    local o = { loss = bp.MSELoss(), optimizer = opt }
    for k, v in pairs(extra) do o[k] = v end
    return net:fit(x, y, o)
  end

  it("rejects bad values, before training", function()
    local w0 = H.flat(H.snapshot(net))
    raises({ "backprop.Module:fit:", "scheduler must be a bp.lr_scheduler scheduler", "got table" },
           fit, { scheduler = {} })
    local other = bp.SGD(small_net())
    raises({ "backprop.Module:fit:", "the scheduler was made for another optimizer" },
           fit, { scheduler = bp.lr_scheduler.StepLR(other, { step_size = 1 }) })
    raises({ "backprop.Module:fit:", "early_stopping must be a table like {patience = 5, min_delta = 0}, got boolean" },
           fit, { early_stopping = true })
    raises({ "backprop.Module:fit:", "early_stopping.patience must be a positive integer, got 0" },
           fit, { early_stopping = { patience = 0 } })
    raises({ "backprop.Module:fit: early_stopping:", "unknown option 'delta'" },
           fit, { early_stopping = { delta = 0.1 } })
    raises({ "backprop.Module:fit:", "early_stopping.min_delta must be a finite number >= 0, got -1" },
           fit, { early_stopping = { min_delta = -1 } })
    raises({ "backprop.Module:fit:", "restore_best must be a boolean, got number" }, fit, { restore_best = 1 })
    raises({ "backprop.Module:fit:", "clip_grad_norm must be a finite number > 0, got 0" }, fit, { clip_grad_norm = 0 })
    raises({ "backprop.Module:fit:", "clip_grad_norm must be a number or a table" }, fit, { clip_grad_norm = "1" })
    raises({ "backprop.Module:fit:", "clip_grad_norm.max_norm must be a finite number > 0, got nil" },
           fit, { clip_grad_norm = { norm_type = 1 } })
    raises({ "backprop.Module:fit:", "clip_grad_norm.norm_type must be a number > 0" },
           fit, { clip_grad_norm = { max_norm = 1, norm_type = 0 } })
    raises({ "backprop.Module:fit: clip_grad_norm:", "unknown option 'p'" },
           fit, { clip_grad_norm = { max_norm = 1, p = 1 } })
    raises({ "backprop.Module:fit:", "clip_grad_value must be a finite number > 0, got -0.5" },
           fit, { clip_grad_value = -0.5 })
    raises({ "backprop.Module:fit:", "clip_grad_value must be a finite number > 0, got inf" },
           fit, { clip_grad_value = math.huge })
    raises({ "backprop.Sequential:fit:", "loss must be a backprop.Loss, got number" },
           fit, { loss = 5, validation = { x, y } })
    H.assert_same(H.flat(H.snapshot(net)), w0, "weights")
    assert.are.equal(0.1, opt.lr)
  end)
end)
