-- Model files written by earlier builds still load, with the same outputs
-- bit for bit (spec/fixtures/models: one small model per layer kind,
-- nested Residuals, BatchNorm with running statistics, written by
-- make_models.lua with the format version 1 writer; spec/fixtures/models/v2:
-- the same models and PReLU, written by main before sections were added,
-- format version 2).
local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua

-- A tensor's values, flat.
local function hex(t)
  return t:reshape(t:numel()):totable()
end

local function tensor_of(e)
  local v = {}
  for i, s in ipairs(e.input) do v[i] = tonumber(s) end
  return bp.tensor(v):reshape(H.unpack(e.input_shape))
end

-- want: the recorded "%a" strings; got: the values. Bit for bit (the
-- doubles' bytes tell -0 from 0; string.format("%a") is 5.2+).
local function same(want, got, what)
  assert(#want == #got, ("%s: %d values, expected %d"):format(what, #got, #want))
  for i = 1, #want do
    assert(B.pack("<d", tonumber(want[i])) == B.pack("<d", got[i]),
           ("%s: value %d is %.9g, expected %s"):format(what, i, got[i], want[i]))
  end
end

-- The text, buffers and outputs of net on x are those recorded in e.
local function check(e, net, x)
  assert.are.equal(e.text, tostring(net))
  assert.are.equal(e.num_parameters, net:num_parameters())
  local buffers = net:buffers()
  assert.are.equal(#e.buffers, #buffers)
  for k, b in ipairs(buffers) do same(e.buffers[k], hex(b), "buffer " .. k) end
  net:train()
  bp.manual_seed(7)
  same(e.train, hex(net:forward(x)), "training-mode output")
  net:eval()
  same(e.eval, hex(net:forward(x)), "eval-mode output")
end

for _, version in ipairs({ { 1, "spec/fixtures/models/" }, { 2, "spec/fixtures/models/v2/" } }) do
  local DIR = version[2]
  local expected = dofile(DIR .. "expected.lua")

  describe("model files of format version " .. version[1], function()
    local tmp
    setup(function() tmp = H.tmpdir() end)
    teardown(function() H.rmtree(tmp) end)

    it("are of that version", function()
      for _, name in ipairs(expected) do
        assert.equal(version[1], (B.unpack("<I4", H.read(DIR .. name .. ".bp"), 9)), name)
      end
    end)

    for _, name in ipairs(expected) do
      it(name .. " loads with the same text, buffers and outputs", function()
        local e = expected[name]
        check(e, bp.load(DIR .. name .. ".bp"), tensor_of(e))
      end)

      it(name .. " saved again (in the current format) loads with them too", function()
        local e = expected[name]
        local p = tmp .. "/" .. name .. ".bp"
        bp.load(DIR .. name .. ".bp"):save(p)
        assert.equal(3, (B.unpack("<I4", H.read(p), 9)))
        check(e, bp.load(p), tensor_of(e))
      end)
    end
  end)
end
