-- fit scans its float input for NaN and infinity once (the first call
-- into C), then checks each batch as it is loaded for its step
-- (src/core/train/train.c): a value changed between epochs or batches is still
-- refused, naming the row of the input tensor.
local bp = require("backprop")
local assert = require("luassert")

local function setup()
  bp.manual_seed(3)
  local net = bp.Sequential{bp.Linear(5, 4), bp.ReLU(), bp.Linear(4, 2)}
  local x, y = bp.randn(40, 5), bp.zeros(40)
  for i = 1, 40 do y[i] = i % 2 + 1 end
  return net, x, y
end

describe("fit's input check", function()
  it("refuses a bad value before any step", function()
    local net, x, y = setup()
    local before = net:parameters()[1]:clone()
    x[37][4] = 0 / 0
    local ok, err = pcall(net.fit, net, x, y, {loss = bp.CrossEntropyLoss(),
                                               optimizer = bp.SGD(net, {lr = 0.1}), epochs = 2})
    assert.is_false(ok)
    assert.matches("fit: input contains %-?nan at row 37, element 4 %(shape 40x5%)", err)
    assert.are.same(before:totable(), net:parameters()[1]:totable())
  end)

  for _, shuffle in ipairs{true, false} do
    for _, hook in ipairs{"on_epoch", "on_batch"} do
      it(string.format("refuses a value made infinite by %s (shuffle %s)", hook, tostring(shuffle)), function()
        local net, x, y = setup()
        local opts = {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1}), epochs = 3,
                      batch_size = 8, shuffle = shuffle}
        local calls = 0
        opts[hook] = function()
          calls = calls + 1
          if calls == 1 then x[23][2] = -1 / 0 end
        end
        local ok, err = pcall(net.fit, net, x, y, opts)
        assert.is_false(ok)
        assert.matches("fit: input contains %-inf at row 23, element 2 %(shape 40x5%)", err)
        -- The network is still usable.
        x[23][2] = 0
        net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1}), epochs = 1})
      end)
    end
  end

  -- bp_vfind_nonfinite tests blocks of 256 values (AVX2 or portable, by
  -- BACKPROP_ISA, read once per process): bad values in and around
  -- blocks, each alone in a 3 x 1100 input, in a child process per ISA.
  local script = [[
    package.path, package.cpath = %q, %q
    local bp = require("backprop")
    local net = bp.Linear(1100, 2)
    local out = {}
    for _, at in ipairs{1, 8, 255, 256, 257, 768, 1100, 1101, 2048, 3300} do
      for _, v in ipairs{0 / 0, 1 / 0, -1 / 0} do
        local x = bp.rand(3, 1100)
        x[math.floor((at - 1) / 1100) + 1][(at - 1) %% 1100 + 1] = v
        local ok, err = pcall(net.forward, net, x)
        out[#out + 1] = ok and "ok" or err:match("at (row %%d+, element %%d+)")
      end
    end
    local ok = pcall(net.forward, net, bp.rand(3, 1100))
    out[#out + 1] = ok and "clean" or "refused"
    io.write(table.concat(out, ";"))
  ]]
  for _, isa in ipairs{"portable", "avx2", "avx512"} do
    it("finds NaN and infinity anywhere in a large input (" .. isa .. ")", function()
      local lua = require("shell").lua   -- the interpreter under test
      local code = string.format(script, package.path, package.cpath)
      local p = assert(io.popen(string.format("BACKPROP_ISA=%s %s -e %q", isa, lua, code)))
      local text = p:read("*a")
      p:close()
      local want = {}
      for _, at in ipairs{1, 8, 255, 256, 257, 768, 1100, 1101, 2048, 3300} do
        for _ = 1, 3 do
          want[#want + 1] = string.format("row %d, element %d", math.floor((at - 1) / 1100) + 1, (at - 1) % 1100 + 1)
        end
      end
      want[#want + 1] = "clean"
      assert.are.equal(table.concat(want, ";"), text)
    end)
  end

  -- With 2 threads, the first scan (from 2^18 values) and each batch's
  -- load (from 2^14) are split between the threads: a bad value in
  -- either thread's piece is found, and the first one is named.
  for _, hook in ipairs{false, "on_epoch"} do
    it("names the first bad row when 2 threads scan and load " .. (hook and "(changed by on_epoch)" or "(first scan)"), function()
      local before = bp.get_num_threads()
      bp.set_num_threads(2)
      for _, rows in ipairs{{300}, {590}, {420, 300}, {17, 590}} do
        bp.manual_seed(3)
        local net = bp.Sequential{bp.Linear(500, 16), bp.ReLU(), bp.Linear(16, 2)}
        local x, y = bp.randn(600, 500), bp.zeros(600)
        for i = 1, 600 do y[i] = i % 2 + 1 end
        local function spoil() for k, r in ipairs(rows) do x[r][k * 7] = k == 1 and 0 / 0 or 1 / 0 end end
        local opts = {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1}), epochs = 2,
                      batch_size = 600, shuffle = false}
        if hook then opts[hook] = spoil else spoil() end
        local ok, err = pcall(net.fit, net, x, y, opts)
        local first = math.min(rows[1], rows[2] or math.huge)
        assert.is_false(ok)
        assert.matches(string.format("fit: input contains %%S+ at row %d, element %d %%(shape 600x500%%)",
                                     first, first == rows[1] and 7 or 14), err)
      end
      bp.set_num_threads(before)
    end)
  end

  it("uint8 rows (widths around the 16- and 32-byte blocks) train as floats converted beforehand", function()
    for _, w in ipairs{5, 16, 37, 70} do
      local x8 = (bp.rand(30, w) * 255):byte()
      local y = bp.zeros(30)
      for i = 1, 30 do y[i] = i % 2 + 1 end
      local nets = {}
      for k, x in ipairs{x8, x8:float() * (1 / 255)} do
        bp.manual_seed(5)
        local net = bp.Sequential{bp.Linear(w, 6), bp.ReLU(), bp.Linear(6, 2)}
        net:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 0.1, momentum = 0.9}),
                       epochs = 2, batch_size = 7, input_scale = k == 1 and 1 / 255 or nil})
        nets[k] = net:parameters()[1]:totable()
      end
      assert.are.same(nets[2], nets[1])
    end
  end)
end)
