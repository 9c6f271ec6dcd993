-- ONNX export (src/backprop/onnx.lua): the networks of
-- spec/reference/interchange_nets.lua, between them every layer kind,
-- export to exactly the files spec/reference/onnx_reference.py checked
-- with python3-onnx and ran on its evaluator (spec/fixtures/onnx/), and
-- backprop's forward gives that evaluator's outputs. With python3-onnx
-- installed, fresh exports go through the checker and the evaluator here
-- too (pending without it).
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local N = dofile("spec/reference/interchange_nets.lua")

local FIX = "spec/fixtures/onnx/"
local PYTHON = "/usr/bin/python3"
local has_onnx = S.run(S.tools .. " " .. PYTHON .. " -c 'import onnx, numpy'")

-- Export case c into dir; returns the net and the input batch.
local function export(c, dir)
  local net = c.build(bp)
  N.fill(bp, net)
  local x = N.input(bp, c, 3)
  local shape = x:shape()
  shape[1] = 1
  net:export_onnx(dir .. "/" .. c.name .. ".onnx", { input_shape = shape, opset = c.opset })
  return net, x
end

describe("ONNX export", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  for _, entry in ipairs(N.onnx) do
    it(entry.name .. ": the checked file, and the ONNX evaluator's outputs", function()
      local c = N.onnx_case(entry.name)
      local net, x = export(c, dir)
      assert(H.read(dir .. "/" .. c.name .. ".onnx") == H.read(FIX .. c.name .. ".onnx"),
             "the export differs from " .. FIX .. c.name .. ".onnx (re-run spec/reference/onnx_reference.py " ..
             "if the change is meant)")
      local io = bp.safetensors.load(FIX .. c.name .. ".safetensors")
      assert.same(H.flat(io.x), H.flat(x))
      H.assert_close(net:eval():forward(x), io.expected, 2e-5, 2e-5, c.name)
    end)
  end

  local it_onnx = has_onnx and it or pending
  it_onnx("passes python3-onnx's checker and evaluator (onnx_reference.py --check)", function()
    for _, entry in ipairs(N.onnx) do
      local c = N.onnx_case(entry.name)
      local net, x = export(c, dir)
      bp.safetensors.save(dir .. "/" .. c.name .. ".safetensors", { x = x, y = net:eval():forward(x) })
    end
    local out = S.check(S.tools .. " " .. PYTHON .. " spec/reference/onnx_reference.py --check " .. S.q(dir),
                        "onnx_reference.py --check")
    local _, count = ("\n" .. out):gsub("\nok ", "")
    assert.equal(#N.onnx, count, out)
  end)

  it("exports in eval mode whatever the network's mode, and changes nothing", function()
    local net = bp.Sequential { bp.Linear(3, 4), bp.BatchNorm1d(4), bp.Dropout(0.5), bp.Linear(4, 2) }
    net:export_onnx(dir .. "/a.onnx", { input_shape = { 8, 3 } })
    assert.is_true(net:is_training())
    net:eval()
    net:export_onnx(dir .. "/b.onnx", { input_shape = { 1, 3 } })
    assert.equal(H.read(dir .. "/a.onnx"), H.read(dir .. "/b.onnx"), "the example batch size is not kept")
    local p = io.popen("ls -A '" .. dir .. "'")
    assert.equal("a.onnx\nb.onnx\n", p:read("*a"))
    p:close()
  end)

  it("writes Sigmoid as one node named after the layer, its weights named as in PyTorch", function()
    local net = bp.Sequential { bp.Linear(2, 2), bp.Sigmoid() }
    net:export_onnx(dir .. "/s.onnx", { input_shape = { 1, 2 }, input_name = "features", output_name = "probs" })
    local s = H.read(dir .. "/s.onnx")
    for _, piece in ipairs({ "0.weight", "0.bias", "0.Gemm", "1.Sigmoid", "features", "probs", "batch" }) do
      assert.truthy(s:find(piece, 1, true), piece)
    end
    assert.is_nil(s:find("output", 1, true))
  end)

  it("refuses bad options, naming them", function()
    local net = bp.Sequential { bp.Linear(3, 2) }
    local function export_(path, opts) return net:export_onnx(path, opts) end
    H.raises("backprop.Sequential:export_onnx: input_shape is required", export_, dir .. "/x.onnx", {})
    H.raises("path must be a string, got nil", export_, nil, { input_shape = { 1, 3 } })
    H.raises("opset must be an integer from 13 to 17, got 12", export_, dir .. "/x.onnx",
             { input_shape = { 1, 3 }, opset = 12 })
    H.raises("opset must be an integer from 13 to 17, got 18", export_, dir .. "/x.onnx",
             { input_shape = { 1, 3 }, opset = 18 })
    H.raises("unknown option 'shape'", export_, dir .. "/x.onnx", { shape = { 1, 3 } })
    H.raises("input_name and output_name must differ", export_, dir .. "/x.onnx",
             { input_shape = { 1, 3 }, input_name = "x", output_name = "x" })
    H.raises("expected input with 3 features, got 4", export_, dir .. "/x.onnx", { input_shape = { 1, 4 } })
    H.raises("input_shape must have 2 to 4 sizes, batch first, got 1", export_, dir .. "/x.onnx",
             { input_shape = { 3 } })
    H.raises("input_shape[2] must be a positive integer, got 0", export_, dir .. "/x.onnx",
             { input_shape = { 1, 0 } })
    assert.is_false(H.exists(dir .. "/x.onnx"))
  end)
end)
