-- The networks that travel to PyTorch and ONNX, shared by the scripts that
-- make the fixtures (torch_roundtrip.py, onnx_reference.py) and the specs
-- that read them (pytorch_spec.lua, onnx_spec.lua). Plain Lua: runs on
-- 5.1-5.4 and LuaJIT. require it with the checkout's spec/reference/ on
-- the path, or dofile it, and pass bp.

local N = {}

-- The round trip with PyTorch: an MLP with BatchNorm, a Residual block and
-- a Dropout (parameterless layers keep their index), and a small CNN.
N.roundtrip = {
  mlp = {
    build = function(bp)
      return bp.Sequential {
        bp.Linear(6, 16), bp.BatchNorm1d(16), bp.ReLU(),
        bp.Residual(bp.Sequential { bp.Linear(16, 16), bp.Tanh() }),
        bp.Dropout(0.2), bp.Linear(16, 3),
      }
    end,
    input = { 6 },
  },
  cnn = {
    build = function(bp)
      return bp.Sequential {
        bp.Conv2d(1, 4, 3, { padding = 1 }), bp.BatchNorm2d(4), bp.ReLU(), bp.MaxPool2d(2),
        bp.Conv2d(4, 8, 3), bp.ReLU(), bp.AvgPool2d(2), bp.Flatten(), bp.Linear(8, 3),
      }
    end,
    input = { 1, 8, 8 },
  },
}

-- The ONNX export: between them every layer kind and every operator the
-- export writes. input: the shape of one sample; ids: inputs are
-- Embedding ids 1..ids; opset: 13 unless given.
N.onnx = {
  { name = "mlp_activations", input = { 5 }, build = function(bp)
    return bp.Sequential {
      bp.Linear(5, 8), bp.Sigmoid(), bp.Linear(8, 8), bp.Tanh(), bp.Linear(8, 8), bp.ReLU(),
      bp.Linear(8, 8), bp.LeakyReLU(0.2), bp.Linear(8, 8), bp.GELU(), bp.Linear(8, 8), bp.ELU(0.7),
      bp.Linear(8, 8), bp.SiLU(), bp.Linear(8, 8), bp.Softplus(), bp.Linear(8, 8),
      bp.Softplus(2, 0.5), bp.Identity(), bp.Dropout(0.3), bp.Linear(8, 4), bp.Softmax(),
    }
  end },
  { name = "mlp_norms", input = { 6 }, build = function(bp)
    return bp.Sequential {
      bp.Linear(6, 8), bp.BatchNorm1d(8, 1e-3), bp.PReLU(), bp.Linear(8, 8), bp.PReLU(8, 0.1),
      bp.LayerNorm(8), bp.Residual(bp.Sequential { bp.Linear(8, 8), bp.ReLU(), bp.LayerNorm(8, 1e-4) }),
      bp.Residual(bp.Residual(bp.Linear(8, 8))), bp.Linear(8, 3), bp.LogSoftmax(),
    }
  end },
  { name = "mlp_norms_opset17", opset = 17, input = { 6 }, same_as = "mlp_norms" },
  { name = "cnn", input = { 2, 9, 9 }, build = function(bp)
    return bp.Sequential {
      bp.Conv2d(2, 4, 3, { padding = 1 }), bp.BatchNorm2d(4), bp.PReLU(4), bp.MaxPool2d(2, 2, 1),
      bp.Conv2d(4, 6, { 3, 2 }, { stride = { 1, 2 } }), bp.ELU(), bp.AvgPool2d(2, 1, 1),
      bp.Residual(bp.Sequential { bp.Conv2d(6, 6, 3, { padding = 1 }), bp.Tanh() }),
      bp.Softmax(), bp.Flatten(), bp.Linear(6 * 4 * 3, 5),
    }
  end },
  { name = "embedding", input = { 4 }, ids = 10, build = function(bp)
    return bp.Sequential {
      bp.Embedding(10, 6), bp.LayerNorm(6), bp.Softmax(), bp.GELU(), bp.Flatten(), bp.Linear(24, 2),
    }
  end },
}

--- Deterministic values (no generator involved) for n entries, as the
-- other reference scripts draw them: about [-scale, scale].
function N.values(n, seed, scale)
  local v = {}
  for i = 0, n - 1 do
    v[i + 1] = math.sin(1.7 * (i + 1) + seed) * math.cos(0.3 * i + seed * 0.7) * (scale or 1)
  end
  return v
end

--- Set every parameter and running statistic of net from N.values, so a
-- fixture does not depend on the initialization: weights about +-0.5,
-- running variances in [0.5, 1.5].
function N.fill(bp, net)
  for k, p in ipairs(net:parameters()) do
    p:copy(bp.tensor(N.values(p:numel(), k, 0.5)):reshape(p:shape()))
  end
  for k, b in ipairs(net:buffers()) do
    local v = N.values(b:numel(), 100 + k, 0.5)
    if k % 2 == 0 then
      for i = 1, #v do v[i] = 1 + v[i] end
    end
    b:copy(bp.tensor(v))
  end
end

--- The case's input batch: n samples of its input shape (ids 1..ids for
-- an Embedding, as floats).
function N.input(bp, case, n)
  local shape, count = { n }, n
  for i, d in ipairs(case.input) do
    shape[i + 1] = d
    count = count * d
  end
  local v = N.values(count, 7, 2)
  if case.ids then
    for i = 1, #v do v[i] = (i * 7) % case.ids + 1 end
  end
  return bp.tensor(v):reshape(shape)
end

--- The ONNX case called name, its build resolved.
function N.onnx_case(name)
  for _, c in ipairs(N.onnx) do
    if c.name == name then
      if c.same_as then c.build = N.onnx_case(c.same_as).build end
      return c
    end
  end
  error("no ONNX case " .. name)
end

return N
