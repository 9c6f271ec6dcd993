-- Mistakes that train without an error but badly: fit warns on stderr,
-- once per network and kind, and not with warnings = false. stderr is
-- captured by replacing io.stderr (fit looks it up when it writes).
local bp = require("backprop")

local saved
local function capture(f)
  local parts = {}
  local out = {write = function(self, ...)
                 for _, v in ipairs({...}) do parts[#parts + 1] = v end
                 return self
               end,
               flush = function(self) return self end}
  saved = io.stderr
  io.stderr = out
  local ok, err = pcall(f)
  io.stderr = saved
  assert(ok, err)
  return table.concat(parts)
end

local function count(text, s)
  local n, at = 0, 1
  while true do
    local i = text:find(s, at, true)
    if not i then return n end
    n, at = n + 1, i + 1
  end
end

local function labels(n, c)
  local y = bp.zeros(n)
  for i = 1, n do y[i] = i % c + 1 end
  return y
end

describe("fit's warnings", function()
  after_each(function() if saved then io.stderr = saved end end)

  it("on features far from 1 (a scaler forgotten), once per network", function()
    bp.manual_seed(1)
    local x = bp.randn(300, 4)
    for i = 1, 300 do x[i][3] = x[i][3] * 1000 + 5000 end
    local y = labels(300, 2)
    local net = bp.Sequential{bp.Linear(4, 2)}
    local opts = {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(net, {lr = 1e-6}), epochs = 2}
    local text = capture(function()
      net:fit(x, y, opts)
      net:fit(x, y, opts)
    end)
    assert.are.equal(1, count(text, "backprop warning:"), text)
    assert.matches("backprop warning: input feature 3 has a root mean square of 5.11e+03 (over 256 rows)",
                   text, 1, true)
    assert.matches("standardize them (bp.data.standardize) (fit's option warnings = false turns this off)\n",
                   text, 1, true)
    -- another network warns again; warnings = false and standardized inputs do not
    local other = bp.Sequential{bp.Linear(4, 2)}
    text = capture(function() other:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(other)}) end)
    assert.are.equal(1, count(text, "input feature 3"))
    local quiet = bp.Sequential{bp.Linear(4, 2)}
    local xs = x:clone()
    bp.data.standardize(xs)
    text = capture(function()
      quiet:fit(x, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(quiet), warnings = false})
      quiet:fit(xs, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(quiet)})
    end)
    assert.are.equal("", text)
  end)

  it("on uint8 inputs without input_scale", function()
    bp.manual_seed(2)
    local x8 = (bp.rand(30, 5) * 255):byte()
    local y = labels(30, 3)
    local net = bp.Sequential{bp.Linear(5, 3)}
    local function fit(o)
      o.loss, o.optimizer = bp.CrossEntropyLoss(), bp.SGD(net, {lr = 1e-4})
      net:fit(x8, y, o)
    end
    local text = capture(function()
      fit({})
      fit({})
    end)
    assert.are.equal(1, count(text, "backprop warning:"), text)
    assert.matches("the input is uint8 and fit has no input_scale", text, 1, true)
    local scaled = bp.Sequential{bp.Linear(5, 3)}
    assert.are.equal("", capture(function()
      scaled:fit(x8, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(scaled), input_scale = 1 / 255})
    end))
    local off = bp.Sequential{bp.Linear(5, 3)}
    assert.are.equal("", capture(function()
      off:fit(x8, y, {loss = bp.CrossEntropyLoss(), optimizer = bp.SGD(off), warnings = false})
    end))
  end)

  it("on a loss after the activation it applies itself", function()
    bp.manual_seed(3)
    local x = bp.randn(20, 3)
    local cases = {
      {bp.CrossEntropyLoss(), bp.Softmax, labels(20, 2), "CrossEntropyLoss applies log-softmax itself"},
      {bp.NLLLoss(), bp.Softmax, labels(20, 2), "NLLLoss expects log-probabilities"},
      {bp.BCEWithLogitsLoss(), bp.Sigmoid, bp.rand(20, 2), "BCEWithLogitsLoss applies the sigmoid itself"},
    }
    for _, c in ipairs(cases) do
      local net = bp.Sequential{bp.Linear(3, 2), c[2]()}
      local text = capture(function()
        for _ = 1, 2 do net:fit(x, c[3], {loss = c[1], optimizer = bp.SGD(net)}) end
      end)
      assert.are.equal(1, count(text, "backprop warning:"), text)
      assert.matches(c[4], text, 1, true)
      local off = bp.Sequential{bp.Linear(3, 2), c[2]()}
      assert.are.equal("", capture(function()
        off:fit(x, c[3], {loss = c[1], optimizer = bp.SGD(off), warnings = false})
      end))
    end
    -- the right pairs say nothing
    local fine = {
      {bp.Sequential{bp.Linear(3, 2)}, bp.CrossEntropyLoss(), labels(20, 2)},
      {bp.Sequential{bp.Linear(3, 2), bp.LogSoftmax()}, bp.NLLLoss(), labels(20, 2)},
      {bp.Sequential{bp.Linear(3, 2), bp.Sigmoid()}, bp.BCELoss(), bp.rand(20, 2)},
    }
    for _, c in ipairs(fine) do
      assert.are.equal("", capture(function() c[1]:fit(x, c[3], {loss = c[2], optimizer = bp.SGD(c[1])}) end))
    end
  end)

  it("rejects a warnings option that is not a boolean", function()
    local net = bp.Linear(1, 1)
    local ok, err = pcall(net.fit, net, bp.zeros(2, 1), bp.zeros(2, 1),
                          {loss = bp.MSELoss(), optimizer = bp.SGD(net), warnings = "no"})
    assert.is_false(ok)
    assert.matches("backprop.Module:fit: warnings must be a boolean, got string", err, 1, true)
  end)
end)
