-- safetensors (src/core/io/safetensors.c, src/backprop/safetensors.lua):
-- the file net:save_safetensors writes, taken apart here byte by byte;
-- files PyTorch wrote (spec/fixtures/pytorch/, made by
-- spec/reference/torch_roundtrip.py) loaded and run against PyTorch's
-- outputs; strict and non-strict loading; and malformed files, each
-- refused with the file's name and what is wrong.
local bp = require("backprop")
local H = require("helper")
local N = dofile("spec/reference/interchange_nets.lua")
local f32_bytes = require("backprop.core").internal.f32_bytes

local FIX = "spec/fixtures/pytorch/"

-- --- a reader written from the format's description, in plain Lua ------

local function u64(s, at)
  local n = 0
  for i = at + 7, at, -1 do n = n * 256 + s:byte(i) end
  return n
end

local function u64le(n)
  local b = {}
  for i = 1, 8 do
    b[i] = string.char(n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(b)
end

-- float32 from 4 little-endian bytes, by the IEEE 754 layout
local function f32(s, at)
  local b1, b2, b3, b4 = s:byte(at, at + 3)
  local sign = b4 >= 128 and -1 or 1
  local e = (b4 % 128) * 2 + math.floor(b3 / 128)
  local m = (b3 % 128) * 65536 + b2 * 256 + b1
  if e == 0 then return sign * m * 2 ^ -149 end
  if e == 255 then return m == 0 and sign * math.huge or 0 / 0 end
  return sign * (1 + m / 8388608) * 2 ^ (e - 127)
end

-- A JSON parser for the header's subset, keeping the order of keys.
local function json(s)
  local i = 1
  local function ws() i = s:find("[^ \t\r\n]", i) or #s + 1 end
  local value
  local function str()
    assert(s:sub(i, i) == '"', "string expected at " .. i)
    local out, j = {}, i + 1
    while true do
      local c = s:sub(j, j)
      if c == '"' then break end
      if c == "\\" then
        local e = s:sub(j + 1, j + 1)
        if e == "u" then
          out[#out + 1] = string.char(tonumber(s:sub(j + 2, j + 5), 16))   -- ASCII only here
          j = j + 6
        else
          out[#out + 1] = ({ n = "\n", t = "\t", r = "\r", b = "\b", f = "\f" })[e] or e
          j = j + 2
        end
      else
        out[#out + 1] = c
        j = j + 1
      end
    end
    i = j + 1
    return table.concat(out)
  end
  function value()
    ws()
    local c = s:sub(i, i)
    if c == "{" then
      local obj, keys = {}, {}
      i = i + 1
      ws()
      if s:sub(i, i) == "}" then i = i + 1 return obj, keys end
      repeat
        ws()
        local k = str()
        ws()
        assert(s:sub(i, i) == ":")
        i = i + 1
        obj[k] = value()
        keys[#keys + 1] = k
        ws()
        c = s:sub(i, i)
        i = i + 1
      until c ~= ","
      assert(c == "}", "object not closed")
      return obj, keys
    elseif c == "[" then
      local arr = {}
      i = i + 1
      ws()
      if s:sub(i, i) == "]" then i = i + 1 return arr end
      repeat
        arr[#arr + 1] = value()
        ws()
        c = s:sub(i, i)
        i = i + 1
      until c ~= ","
      assert(c == "]")
      return arr
    elseif c == '"' then
      return str()
    end
    local num = s:match("^%d+", i)
    assert(num, "value expected at " .. i)
    i = i + #num
    return tonumber(num)
  end
  local v, keys = value()
  ws()
  assert(i == #s + 1, "trailing text in the header")
  return v, keys
end

-- { header =, keys = (in order), data = (the bytes after the header), hlen }
local function parse(path)
  local s = H.read(path)
  local n = u64(s, 1)
  local header, keys = json(s:sub(9, 8 + n))
  return { header = header, keys = keys, data = s:sub(9 + n), hlen = n, text = s:sub(9, 8 + n) }
end

local function mlp()
  return N.roundtrip.mlp.build(bp)
end

local function names_of(net)
  local names = {}
  for _, t in ipairs(require("backprop.pytorch").state_dict(net)) do names[#names + 1] = t.name end
  return names
end

local function same_bits(a, b)
  return a == b and (a ~= 0 or 1 / a == 1 / b) or (a ~= a and b ~= b)
end

describe("safetensors", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  describe("names", function()
    it("are PyTorch's state_dict names of the equivalent module, parameterless layers counted", function()
      assert.same({ "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                    "1.num_batches_tracked", "3.body.0.weight", "3.body.0.bias", "5.weight", "5.bias" },
                  names_of(mlp()))
    end)

    it("follow nested Sequentials and Residuals as net:get shows them", function()
      local net = bp.Sequential {
        bp.Sequential { bp.Linear(2, 3), bp.ReLU() }, bp.Residual(bp.Linear(3, 3)),
        bp.Residual(bp.Residual(bp.Sequential { bp.LayerNorm(3), bp.PReLU(3) })), bp.Linear(3, 2),
      }
      assert.same({ "0.0.weight", "0.0.bias", "1.body.weight", "1.body.bias", "2.body.body.0.weight",
                    "2.body.body.0.bias", "2.body.body.1.weight", "3.weight", "3.bias" }, names_of(net))
      assert.same({ "weight", "bias" }, names_of(bp.Linear(2, 2)))
      assert.same({ "body.weight" }, names_of(bp.Residual(bp.Embedding(4, 4))))
      assert.same({ "0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                    "2.num_batches_tracked" },
                  names_of(bp.Sequential { bp.Conv2d(1, 2, 3), bp.MaxPool2d(2), bp.BatchNorm2d(2) }))
    end)

    it("of a network from bp.load, whose nested Sequentials are flattened, follow its top level", function()
      local net = bp.Sequential { bp.Sequential { bp.Linear(2, 3), bp.ReLU() }, bp.Linear(3, 2) }
      net:save(dir .. "/m.bpnet")
      assert.same({ "0.weight", "0.bias", "2.weight", "2.bias" }, names_of(bp.load(dir .. "/m.bpnet")))
    end)
  end)

  describe("writing", function()
    it("writes the format: header length, JSON header padded to 8 bytes, contiguous little-endian data", function()
      bp.manual_seed(3)
      local net = mlp()
      net:fit(bp.randn(32, 6), bp.randn(32, 3), { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.01 }),
                                                   epochs = 2, progress = false, warnings = false })
      local path = dir .. "/m.safetensors"
      net:save_safetensors(path, { metadata = { format = "pt", note = 'quote " and \\ backslash' } })
      local f = parse(path)
      assert.equal(0, (8 + f.hlen) % 8)
      assert.truthy(f.text:match("^{.*} *$"), "the padding is spaces after the object")
      assert.is_nil(f.text:find("}%s+}"))
      assert.same({ format = "pt", note = 'quote " and \\ backslash' }, f.header.__metadata__)
      assert.equal("__metadata__", f.keys[1])
      local want = require("backprop.pytorch").state_dict(net)
      assert.equal(#want + 1, #f.keys)
      local at = 0
      for k, t in ipairs(want) do
        local e = f.header[t.name]
        assert.equal(t.name, f.keys[k + 1], "tensors in state_dict order")
        assert.same({ at, e.data_offsets[2] }, e.data_offsets)
        if t.counter then
          assert.equal("I64", e.dtype)
          assert.same({}, e.shape)
          assert.equal(u64le(0), f.data:sub(at + 1, at + 8), "num_batches_tracked is written as 0")
        else
          assert.equal("F32", e.dtype)
          assert.same(t.tensor:shape(), e.shape)
          local values = H.flat(t.tensor)
          assert.equal(4 * #values, e.data_offsets[2] - at)
          for i, v in ipairs(values) do
            assert.equal(v, f32(f.data, at + 4 * i - 3), t.name .. " value " .. i)
          end
        end
        at = e.data_offsets[2]
      end
      assert.equal(#f.data, at, "the tensors cover the data exactly")
    end)

    it("escapes names and metadata as JSON and reads them back", function()
      local path = dir .. "/t.safetensors"
      local names = { "plain", 'q"uote', "back\\slash", "new\nline", "tab\tand\1", "ünïcødé ✓" }
      local t = {}
      for i, name in ipairs(names) do t[name] = bp.ones(i) * i end
      bp.safetensors.save(path, t, { ["ké\"y"] = "vàl\nue" })
      local back, meta = bp.safetensors.load(path)
      for i, name in ipairs(names) do assert.same(H.flat(bp.ones(i) * i), H.flat(back[name]), name) end
      assert.same({ ["ké\"y"] = "vàl\nue" }, meta)
      assert.truthy(H.read(path):find("new\\u000aline", 1, true))
    end)

    it("saves tables of tensors sorted by name; uint8 as U8, strided views copied", function()
      local path = dir .. "/t.safetensors"
      local m = bp.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
      bp.safetensors.save(path, { b = m:narrow(2, 2, 2), a = bp.tensor({ 7, 8 }, "uint8") })
      local f = parse(path)
      assert.same({ "a", "b" }, f.keys)
      assert.equal("U8", f.header.a.dtype)
      local back = bp.safetensors.load(path)
      assert.same({ { 2, 3 }, { 5, 6 } }, back.b:totable())
      assert.equal("uint8", back.a:dtype())
      assert.same({ 7, 8 }, back.a:totable())
    end)

    it("replaces a file only when the new one is whole, and leaves no temporary file", function()
      local path = dir .. "/m.safetensors"
      H.write(path, "previous")
      bp.Linear(2, 2):save_safetensors(path)
      assert.equal(0, (8 + u64(H.read(path), 1)) % 8)
      -- a directory where the file should go: the rename fails, nothing is left behind
      os.execute("mkdir -p '" .. dir .. "/d'")
      H.write(dir .. "/d/keep", "x")
      H.raises({ "backprop.Linear:save_safetensors", dir .. "/d" }, bp.Linear(2, 2).save_safetensors,
               bp.Linear(2, 2), dir .. "/d")
      H.raises({ "cannot write", dir .. "/no/such/dir/m.safetensors" }, function()
        bp.Linear(2, 2):save_safetensors(dir .. "/no/such/dir/m.safetensors")
      end)
      local p = io.popen("ls -A '" .. dir .. "'")
      local listing = p:read("*a")
      p:close()
      assert.equal("d\nm.safetensors\n", listing)
    end)

    it("refuses bad arguments, naming them", function()
      local net = bp.Linear(2, 2)
      H.raises("backprop.Linear:save_safetensors: path must be a string, got nil", net.save_safetensors, net)
      H.raises("unknown option 'meta'", net.save_safetensors, net, dir .. "/x", { meta = {} })
      H.raises("metadata['n'] must be a string, got number", net.save_safetensors, net, dir .. "/x",
               { metadata = { n = 1 } })
      H.raises("backprop.Module:save_safetensors: self must be a backprop.Module, got number",
               net.save_safetensors, 3, dir .. "/x")
      H.raises("tensors['w'] must be a backprop.Tensor, got number", bp.safetensors.save, dir .. "/x", { w = 1 })
      H.raises("cannot be called '__metadata__'", bp.safetensors.save, dir .. "/x", { __metadata__ = bp.ones(1) })
      H.raises("is not valid UTF-8", bp.safetensors.save, dir .. "/x", { ["\255"] = bp.ones(1) })
      assert.is_false(H.exists(dir .. "/x"))
    end)
  end)

  describe("loading", function()
    it("round-trips a trained network: the same values, bit for bit", function()
      bp.manual_seed(5)
      local a, b = mlp(), mlp()
      a:fit(bp.randn(32, 6), bp.randn(32, 3), { loss = bp.MSELoss(), optimizer = bp.Adam(a), epochs = 3,
                                                progress = false, warnings = false })
      a:save_safetensors(dir .. "/m.safetensors")
      local r = b:load_safetensors(dir .. "/m.safetensors")
      assert.same({}, r.missing_keys)
      assert.same({}, r.unexpected_keys)
      assert.same(H.flat(a:parameters()[1]), H.flat(b:parameters()[1]))
      for i, p in ipairs(a:parameters()) do assert.same(H.flat(p), H.flat(b:parameters()[i])) end
      for i, s in ipairs(a:buffers()) do assert.same(H.flat(s), H.flat(b:buffers()[i])) end
      local x = bp.randn(7, 6)
      assert.same(a:eval():forward(x):totable(), b:eval():forward(x):totable())
    end)

    for _, name in ipairs({ "mlp", "cnn" }) do
      it("loads the " .. name .. " PyTorch trained and gives PyTorch's outputs", function()
        local net = N.roundtrip[name].build(bp)
        local r = net:load_safetensors(FIX .. name .. ".safetensors")
        assert.same({}, r.missing_keys)
        assert.equal("pt", r.metadata.format)
        local io = bp.safetensors.load(FIX .. name .. "_io.safetensors")
        H.assert_close(net:eval():forward(io.x), io.expected, 1e-5, 1e-5, name .. " outputs")
        -- and the same weights in bfloat16: each converted exactly
        local bf = N.roundtrip[name].build(bp)
        bf:load_safetensors(FIX .. name .. "_bf16.safetensors")
        local values = bp.safetensors.load(FIX .. name .. "_bf16.safetensors")
        for _, t in ipairs(require("backprop.pytorch").state_dict(bf)) do
          if not t.counter then assert.same(H.flat(values[t.name]), H.flat(t.tensor), t.name) end
        end
      end)
    end

    it("converts F64, F16, BF16 and integers to float32 as PyTorch does", function()
      local t = bp.safetensors.load(FIX .. "dtypes.safetensors")
      for _, k in ipairs({ "f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "scalar" }) do
        local got, want = H.flat(t[k]), H.flat(t[k .. ".as_f32"])
        assert.equal(#want, #got, k)
        for i = 1, #want do
          assert(same_bits(got[i], want[i]), ("%s[%d]: got %.9g, PyTorch %.9g"):format(k, i, got[i], want[i]))
        end
      end
      assert.same({ 2, 3 }, t.i64:shape())
      assert.same({ 1 }, t.scalar:shape())
      assert.equal("uint8", t.u8:dtype())
      assert.same({ 0, 255, 9 }, t.u8:totable())
      assert.same({ 1, 0, 1 }, t.bool:totable())
    end)

    it("is strict by default: a missing, extra, misshapen or mistyped tensor is an error naming it", function()
      local path = dir .. "/m.safetensors"
      bp.safetensors.save(path, { ["0.weight"] = bp.ones(3, 2), ["0.bias"] = bp.ones(3), extra = bp.ones(1) })
      local net = bp.Sequential { bp.Linear(2, 3), bp.ReLU(), bp.Linear(3, 1) }
      local before = H.flat(net:parameters()[1])
      H.raises({ "backprop.Sequential:load_safetensors: '" .. path .. "' has no tensor '2.weight' (and 1 more: 2.bias)",
                 "net:torch_code()" }, net.load_safetensors, net, path)
      assert.same(before, H.flat(net:parameters()[1]), "a failed load changes nothing")
      local small = bp.Sequential { bp.Linear(2, 3) }
      H.raises("has tensor 'extra', which the network does not have", small.load_safetensors, small, path)
      H.raises("tensor '0.weight' has shape 3x2, the network's is 4x2", bp.Linear(2, 4).load_safetensors,
               bp.Sequential { bp.Linear(2, 4) }, path, { strict = false })
      bp.safetensors.save(path, { weight = bp.ones(1, 1), bias = bp.tensor({ 1 }, "uint8") })
      H.raises("tensor 'bias' has dtype U8, expected F32", function() bp.Linear(1, 1):load_safetensors(path) end)
      H.raises("strict must be a boolean, got number", function()
        bp.Linear(1, 1):load_safetensors(path, { strict = 1 })
      end)
      H.raises("unknown option 'strcit'", function() bp.Linear(1, 1):load_safetensors(path, { strcit = false }) end)
      H.raises({ "cannot open", dir .. "/none" }, function() bp.Linear(1, 1):load_safetensors(dir .. "/none") end)
      local bn = bp.BatchNorm1d(2)
      bp.safetensors.save(path, { weight = bp.ones(2), bias = bp.ones(2), running_mean = bp.ones(2),
                                  running_var = bp.ones(2), num_batches_tracked = bp.ones(1) })
      H.raises("tensor 'num_batches_tracked' is F32 1, expected an I64 scalar", bn.load_safetensors, bn, path)
    end)

    it("with strict = false, loads what matches and returns the missing and unexpected names", function()
      local path = dir .. "/m.safetensors"
      bp.safetensors.save(path, { ["0.weight"] = bp.ones(3, 2) * 2, ["0.bias"] = bp.ones(3), extra = bp.ones(1) })
      local net = bp.Sequential { bp.Linear(2, 3), bp.ReLU(), bp.Linear(3, 1) }
      local last = H.flat(net:parameters()[3])
      local r = net:load_safetensors(path, { strict = false })
      assert.same({ "2.weight", "2.bias" }, r.missing_keys)
      assert.same({ "extra" }, r.unexpected_keys)
      assert.same(H.flat(bp.ones(3, 2) * 2), H.flat(net:parameters()[1]))
      assert.same(last, H.flat(net:parameters()[3]), "missing tensors keep their values")
    end)
  end)

  describe("malformed files", function()
    -- A file of the given header text and data bytes.
    local function file(header, data)
      return u64le(#header) .. header .. (data or "")
    end
    local function entry(name, dtype, shape, b, e)
      return ('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'):format(name, dtype, shape, b, e)
    end
    local W = f32_bytes(1) .. f32_bytes(2)
    local cases = {
      { "empty file", "", "too short" },
      { "header length past the end", u64le(1000) .. "{}", "header length is 1000 bytes, but only 2 follow" },
      { "a huge header length", u64le(2 ^ 62) .. "{}", "only 2 follow" },
      { "not an object", file("[1]"), "not a JSON object" },
      { "an unterminated string", file('{"a'), "not closed" },
      { "a bad escape", file('{"a\\x":{}}'), "invalid escape" },
      { "a lone surrogate", file('{"\\udc00":{}}'), "lone low surrogate" },
      { "a high surrogate alone", file('{"\\ud800x":{}}'), "without its low half" },
      { "a NUL escape", file('{"a\\u0000":{}}'), "NUL character" },
      { "a raw control character", file('{"a\tb":{}}'), "control character 0x09" },
      { "invalid UTF-8", file('{"a\255":{}}'), "not valid UTF-8" },
      { "a missing colon", file('{"a" 1}'), "expected ':'" },
      { "a missing brace", file("{" .. entry("a", "F32", "2", 0, 8), W), "the header ends where '}' should come" },
      { "text after the object", file('{}x'), "more after the header's object" },
      { "a tensor twice", file('{' .. entry("a", "F32", "1", 0, 4) .. "," .. entry("a", "F32", "1", 4, 8) .. '}', W),
        "tensor 'a' twice" },
      { "__metadata__ twice", file('{"__metadata__":{},"__metadata__":{}}'), "__metadata__ twice" },
      { "a metadata number", file('{"__metadata__":{"k":1}}'), "__metadata__ values must be strings" },
      { "an unknown field", file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}', W:sub(1, 4)),
        "unknown field 'x'" },
      { "no shape", file('{"a":{"dtype":"F32","data_offsets":[0,4]}}', W:sub(1, 4)), "has no 'shape'" },
      { "an unknown dtype", file('{' .. entry("a", "F128", "1", 0, 4) .. '}', W:sub(1, 4)), "unknown dtype 'F128'" },
      { "a negative size", file('{' .. entry("a", "F32", "-1", 0, 4) .. '}', W:sub(1, 4)), "negative number" },
      { "a fraction", file('{' .. entry("a", "F32", "1.5", 0, 4) .. '}', W:sub(1, 4)), "fraction or an exponent" },
      { "a leading zero", file('{' .. entry("a", "F32", "01", 0, 4) .. '}', W:sub(1, 4)), "leading zero" },
      { "an integer past 64 bits", file('{' .. entry("a", "F32", "18446744073709551616", 0, 4) .. '}'),
        "integer too large" },
      { "a shape too large", file('{' .. entry("a", "F32", "4294967296,4294967296", 0, 4) .. '}', W:sub(1, 4)),
        "shape too large" },
      { "three offsets", file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', W), "two integers, got 3" },
      { "offsets backwards", file('{' .. entry("a", "F32", "1", 4, 0) .. '}', W), "end before they begin" },
      { "data past the end", file('{' .. entry("a", "F32", "4", 0, 16) .. '}', W),
        "go past the end of the data (8 bytes): the file is truncated" },
      { "a size mismatch", file('{' .. entry("a", "F32", "3", 0, 8) .. '}', W),
        "hold 8 bytes, but 3 values of F32 need 12" },
      { "a gap", file('{' .. entry("a", "F32", "1", 4, 8) .. '}', W), "starts at byte 4 of the data, expected 0" },
      { "an overlap", file('{' .. entry("a", "F32", "2", 0, 8) .. "," .. entry("b", "F32", "1", 4, 8) .. '}', W),
        "starts at byte 4 of the data, expected 8" },
      { "trailing bytes", file('{' .. entry("a", "F32", "1", 0, 4) .. '}', W), "trailing bytes" },
    }
    for _, c in ipairs(cases) do
      it("refuses " .. c[1] .. ", naming the file", function()
        local path = dir .. "/bad.safetensors"
        H.write(path, c[2])
        local net = bp.Linear(1, 2)
        H.raises({ "backprop.Linear:load_safetensors: '" .. path .. "'", c[3] }, net.load_safetensors, net, path)
        H.raises({ "backprop.safetensors.load: '" .. path .. "'", c[3] }, bp.safetensors.load, path)
        assert.equal(2, #net:forward(bp.ones(2, 1)), "the network still works")
      end)
    end

    it("accepts an empty header and tensors in any order of offsets", function()
      local path = H.write(dir .. "/ok.safetensors", file("{}  "))
      local t, meta = bp.safetensors.load(path)
      assert.same({}, t)
      assert.same({}, meta)
      H.write(path, file('{' .. entry("b", "F32", "1", 4, 8) .. "," .. entry("a", "F32", "1", 0, 4) .. '}', W))
      t = bp.safetensors.load(path)
      assert.same({ 1 }, t.a:totable())
      assert.same({ 2 }, t.b:totable())
    end)

    it("refuses what backprop cannot hold, naming the tensor", function()
      local path = dir .. "/x.safetensors"
      H.write(path, file('{' .. entry("big", "I64", "", 0, 8) .. '}', u64le(2 ^ 40)))
      H.raises("tensor 'big' (I64) holds 1099511627776, which float32 cannot hold exactly", bp.safetensors.load, path)
      H.write(path, file('{' .. entry("f8", "F8_E4M3", "1", 0, 1) .. '}', "\1"))
      H.raises("tensor 'f8' has dtype F8_E4M3, which backprop does not read", bp.safetensors.load, path)
      H.write(path, file('{' .. entry("z", "F32", "0,3", 0, 0) .. '}'))
      H.raises("tensor 'z' has no values", bp.safetensors.load, path)
    end)
  end)
end)
