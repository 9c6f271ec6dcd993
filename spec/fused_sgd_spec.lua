-- The fused SGD step with momentum, dampening, Nesterov and weight decay,
-- and every other optimizer's (the update hook, bp_optim_update in
-- src/core/train/optim.c, called by src/core/nn/linear.c backward_update):
-- train_step on a network of Linear layers updates each layer inside the
-- backward pass; it must equal zero_grad, backward and opt:step bit for bit.
local bp = require("backprop")
local H = require("helper")
local assert = require("luassert")

local function mlp(nin)
  return bp.Sequential{bp.Linear(nin, 16), bp.ReLU(), bp.Linear(16, 8), bp.Tanh(), bp.Linear(8, 3)}
end

local SETTINGS = {
  {},                                    -- plain: p -= lr g
  {momentum = 0.9},
  {momentum = 0.9, nesterov = true},
  {momentum = 0.5, dampening = 0.3},
  {weight_decay = 0.01},
  {momentum = 0.9, weight_decay = 0.001},
  -- the other rules, every option that picks another loop
  {optimizer = "Adam", lr = 0.01},
  {optimizer = "Adam", lr = 0.01, amsgrad = true, weight_decay = 0.01},
  {optimizer = "AdamW", lr = 0.01, amsgrad = true},
  {optimizer = "RMSprop", lr = 0.01, centered = true, momentum = 0.5, weight_decay = 0.01},
  {optimizer = "RMSprop", lr = 0.01},
  {optimizer = "Adagrad", lr = 0.1, lr_decay = 0.1, weight_decay = 0.01},
  {optimizer = "Rprop", lr = 0.01},
}

local function describe_opts(o)
  local keys = {}
  for k, v in pairs(o) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  table.sort(keys)
  return #keys > 0 and table.concat(keys, ", ") or "plain"
end

describe("fused optimizer step", function()
  -- Batches 1 and 3 take the small kernels, 40 the products.
  for _, opts in ipairs(SETTINGS) do
    for _, n in ipairs{1, 3, 40} do
      it(string.format("equals zero_grad, backward and step bit for bit (%s, batch %d)",
                       describe_opts(opts), n), function()
        bp.manual_seed(11)
        local fused, manual = mlp(20), mlp(20)
        H.set_params(manual, H.snapshot(fused))
        local loss = bp.CrossEntropyLoss()
        local o = {lr = 0.05}
        for k, v in pairs(opts) do o[k] = v end
        local kind = o.optimizer or "SGD"
        o.optimizer = nil
        local o1, o2 = bp[kind](fused, o), bp[kind](manual, o)
        for step = 1, 4 do
          local x, y = bp.randn(n, 20), bp.zeros(n)
          for i = 1, n do y[i] = (i + step) % 3 + 1 end
          local l1 = fused:train_step(x, y, loss, o1)
          local l2 = H.manual_step(manual, x, y, loss, o2)
          assert.are.equal(l2, l1)
        end
        assert.are.equal(o2.steps, o1.steps)
        H.assert_same(H.snapshot(fused), H.snapshot(manual), "parameters")
        H.assert_same(H.snapshot(fused, 2), H.snapshot(manual, 2), "gradients")
      end)
    end
  end
end)
