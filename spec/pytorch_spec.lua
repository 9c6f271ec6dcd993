-- The PyTorch side of a network (src/backprop/pytorch.lua): net:torch_code()
-- gives the module whose state_dict names are the ones safetensors files
-- use. With Debian's python3-torch installed, that code runs in PyTorch
-- for networks of every layer kind (same names, shapes and outputs), and
-- spec/reference/torch_roundtrip.py runs the live round trip (train in
-- one, continue in the other); both pending without it.
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local N = dofile("spec/reference/interchange_nets.lua")

local PYTHON = "/usr/bin/python3"
local has_torch = S.run(S.tools .. " " .. PYTHON .. " -c 'import torch, numpy'")
local it_torch = has_torch and it or pending

describe("PyTorch", function()
  it("net:torch_code() gives the equivalent module", function()
    assert.equal([[
# The PyTorch module equivalent to a backprop.Sequential (net:torch_code()).
from torch import nn


class Residual(nn.Module):
    """backprop's Residual: y = x + body(x)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


model = nn.Sequential(
    nn.Linear(6, 16),
    nn.BatchNorm1d(16, eps=1e-05, momentum=0.1),
    nn.ReLU(),
    Residual(nn.Sequential(
        nn.Linear(16, 16),
        nn.Tanh(),
    )),
    nn.Dropout(p=0.2),
    nn.Linear(16, 3),
)
]], N.roundtrip.mlp.build(bp):torch_code())
    assert.equal([[
# The PyTorch module equivalent to a backprop.Conv2d (net:torch_code()).
from torch import nn


model = nn.Conv2d(1, 2, kernel_size=(3, 2), stride=1, padding=(0, 1))
]], bp.Conv2d(1, 2, { 3, 2 }, { padding = { 0, 1 } }):torch_code())
  end)

  it("writes every layer's settings as PyTorch takes them", function()
    local code = bp.Sequential {
      bp.Embedding(10, 4), bp.LayerNorm(4, 1e-3), bp.Flatten(), bp.Linear(8, 8), bp.LeakyReLU(0.2), bp.ELU(0.5),
      bp.Softplus(2, 5), bp.PReLU(8, 0.1), bp.GELU(), bp.SiLU(), bp.Identity(), bp.Softmax(), bp.LogSoftmax(),
      bp.Sigmoid(),
    }:torch_code()
    for _, line in ipairs({
      "    nn.Embedding(10, 4),  # ids are backprop's minus 1\n", "    nn.LayerNorm(4, eps=0.001),\n",
      "    nn.Flatten(),\n", "    nn.LeakyReLU(negative_slope=0.2),\n", "    nn.ELU(alpha=0.5),\n",
      "    nn.Softplus(beta=2.0, threshold=5.0),\n", "    nn.PReLU(num_parameters=8, init=0.1),\n",
      "    nn.GELU(),\n", "    nn.SiLU(),\n", "    nn.Identity(),\n", "    nn.Softmax(dim=-1),\n",
      "    nn.LogSoftmax(dim=-1),\n", "    nn.Sigmoid(),\n",
    }) do
      assert.truthy(code:find(line, 1, true), "missing: " .. line .. code)
    end
    assert.truthy(bp.MaxPool2d(2):torch_code():find("nn.MaxPool2d(kernel_size=2, stride=2, padding=0)", 1, true))
    H.raises("backprop.Module:torch_code: self must be a backprop.Module, got string", bp.Linear(1, 1).torch_code, "x")
  end)

  it_torch("the code builds, in PyTorch, modules that load our files strictly and compute our outputs", function()
    local dir = H.tmpdir()
    for _, entry in ipairs(N.onnx) do
      local c = N.onnx_case(entry.name)
      local net = c.build(bp)
      N.fill(bp, net)
      local x = N.input(bp, c, 3)
      H.write(dir .. "/" .. c.name .. ".py", net:torch_code())
      net:save_safetensors(dir .. "/" .. c.name .. ".safetensors")
      local io = { x = x, y = net:eval():forward(x) }
      if c.ids then io.ids = bp.ones(1) end
      bp.safetensors.save(dir .. "/" .. c.name .. "_io.safetensors", io)
    end
    local ok, _, out = S.run(S.tools .. " " .. PYTHON .. " spec/reference/torch_roundtrip.py --check-code " .. S.q(dir))
    H.rmtree(dir)
    assert(ok, out)
    local _, count = ("\n" .. out):gsub("\nok ", "")
    assert.equal(#N.onnx, count, out)
  end)

  it_torch("round trip, live: trained here, continued in PyTorch, back here (torch_roundtrip.py)", function()
    local ok, _, out = S.run(("cd %s && %s LUA=%s BACKPROP_MODDIR=%s BACKPROP_LUA_PRELOAD=%s %s " ..
                              "spec/reference/torch_roundtrip.py --no-fixtures")
      :format(S.q(S.root), S.tools, S.q(S.lua), S.q(S.moddir), S.q(os.getenv("LD_PRELOAD") or ""), PYTHON))
    assert(ok, out)
    local _, count = ("\n" .. out):gsub("\nok ", "")
    assert.equal(4, count, out)
  end)

  it_torch("the README's few-line save_file writes files PyTorch's state_dict loads from", function()
    local block = H.read("README.md"):match("```python\n(import json, struct, torch\n\n\ndef save_file.-\n)```")
    assert(block, "README.md shows no ```python block with imports and def save_file")
    local dir = H.tmpdir()
    local net = N.roundtrip.cnn.build(bp)
    H.write(dir .. "/model.py", net:torch_code())
    H.write(dir .. "/run.py", block .. [[

import sys
scope = {}
exec(open(sys.argv[1] + "/model.py").read(), scope)
model = scope["model"]
torch.manual_seed(1)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randn(p.shape))
    model[1].running_mean.copy_(torch.randn(4))
    model[1].running_var.copy_(torch.rand(4) + 0.5)
    model[1].num_batches_tracked.fill_(12)
    x = torch.randn(5, 1, 8, 8)
    y = model.eval()(x)
save_file(model.state_dict(), sys.argv[1] + "/model.safetensors", {"by": "README"})
save_file({"x": x, "y": y}, sys.argv[1] + "/io.safetensors")
]])
    local ok, _, out = S.run(S.tools .. " " .. PYTHON .. " " .. S.q(dir .. "/run.py") .. " " .. S.q(dir))
    assert(ok, out)
    local r = net:load_safetensors(dir .. "/model.safetensors")
    assert.equal("README", r.metadata.by)
    local io = bp.safetensors.load(dir .. "/io.safetensors")
    H.rmtree(dir)
    H.assert_close(net:eval():forward(io.x), io.y, 1e-5, 1e-5, "outputs")
  end)
end)
