-- net:explain (src/backprop/explain.lua): one training step printed as
-- backpropagation is taught. Every number printed for the classic 2-2-1
-- example is checked against values computed here, in double precision,
-- from the formulas alone; the weights explain leaves behind are the printed
-- new weights and those of a step written out by hand through the normal
-- API; other networks and losses print what the library computed; bad
-- arguments raise errors that name them, before anything is printed or
-- changed.
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local explain = require("backprop.explain")

-- A file-like sink: explain writes the text into it.
local function sink()
  local f = { parts = {} }
  function f:write(...)
    for i = 1, select("#", ...) do self.parts[#self.parts + 1] = tostring((select(i, ...))) end
    return self
  end
  function f:text() return table.concat(self.parts) end
  return f
end

local function lines_of(text)
  local out = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  if out[#out] == "" then out[#out] = nil end
  return out
end

-- The classic worked example: 2 inputs, 2 sigmoid hidden neurons, 1
-- sigmoid output, squared error, lr 0.5.
local X, T, LR = { 0.05, 0.10 }, 0.01, 0.5
local W1, B1 = { { 0.15, 0.20 }, { 0.25, 0.30 } }, { 0.35, 0.35 }
local W2, B2 = { { 0.40, 0.45 } }, { 0.60 }

local function classic()
  local net = bp.Sequential { bp.Linear(2, 2), bp.Sigmoid(), bp.Linear(2, 1), bp.Sigmoid() }
  return H.set_params(net, { W1, B1, W2, B2 })
end

local function sigmoid(v) return 1 / (1 + math.exp(-v)) end

-- The step by hand, in double: the values the printout must show.
local function hand()
  local v = { x1 = X[1], x2 = X[2], y = T, L0 = 0 }
  for j = 1, 2 do
    for i = 1, 2 do v[("w1_%d%d"):format(j, i)] = W1[j][i] end
    v["b1_" .. j] = B1[j]
    v["w2_1" .. j] = W2[1][j]
  end
  v.b2_1 = B2[1]
  local function forward(w1, b1, w2, b2)
    local z1, y1 = {}, {}
    for j = 1, 2 do
      y1[j] = X[1] * w1[j][1] + X[2] * w1[j][2] + b1[j]
      z1[j] = sigmoid(y1[j])
    end
    local y2 = z1[1] * w2[1][1] + z1[2] * w2[1][2] + b2[1]
    return y1, z1, y2, sigmoid(y2)
  end
  local y1, z1, y2, z2 = forward(W1, B1, W2, B2)
  for j = 1, 2 do v["Y1_" .. j], v["Z1_" .. j] = y1[j], z1[j] end
  v.Y2, v.Z2 = y2, z2
  v.L = (z2 - T) ^ 2
  v.dZ2 = 2 * (z2 - T)
  v.df2 = z2 * (1 - z2)
  v.d2 = v.dZ2 * v.df2
  local nw1, nb1, nw2, nb2 = { {}, {} }, {}, { {} }, {}
  for j = 1, 2 do
    v["g2_1" .. j] = v.d2 * z1[j]
    nw2[1][j] = W2[1][j] - LR * v["g2_1" .. j]
    v["n2_1" .. j] = nw2[1][j]
  end
  nb2[1] = B2[1] - LR * v.d2
  v.nb2_1 = nb2[1]
  for j = 1, 2 do
    v["dZ1_" .. j] = v.d2 * W2[1][j]            -- the weights before the step
    v["df1_" .. j] = z1[j] * (1 - z1[j])
    v["d1_" .. j] = v["dZ1_" .. j] * v["df1_" .. j]
    for i = 1, 2 do
      local g = v["d1_" .. j] * X[i]
      v[("g1_%d%d"):format(j, i)] = g
      nw1[j][i] = W1[j][i] - LR * g
      v[("n1_%d%d"):format(j, i)] = nw1[j][i]
    end
    nb1[j] = B1[j] - LR * v["d1_" .. j]
    v["nb1_" .. j] = nb1[j]
  end
  local _, _, _, after = forward(nw1, nb1, nw2, nb2)
  v.Z2after, v.Lafter = after, (after - T) ^ 2
  return v
end

-- The printout of the classic example, every number a {name} of hand().
local TEMPLATE = [[
backprop: one training step of a 2-2-1 network, explained
  layers   Linear(2 -> 2), Sigmoid, Linear(2 -> 1), Sigmoid
  loss     MSELoss
  update   w - lr·dL/dw, lr = 0.5
  sample   x = ({x1}, {x2}), y = {y}
  names    wL[j,i] is the weight from input i to neuron j of layer L, bL[j] its
           bias; in net:parameters(): w1 = [1], b1 = [2], w2 = [3], b2 = [4]

Forward pass. Each neuron j of a layer sums its inputs times its weights, plus
its bias: Y[j] = Σ_i in[i]·w[j,i] + b[j]. Its activation gives its output,
Z[j] = f(Y[j]). The inputs (in) of layer 1 are x; those of each next layer are
the outputs Z of the layer before.

Layer 1: Linear(2 -> 2), Sigmoid, Z = σ(Y) = 1 / (1 + e^-Y)
  j  Y = x[1]·w1[j,1] + x[2]·w1[j,2] + b1[j]          Z
  1  {x1}·{w1_11} + {x2}·{w1_12} + {b1_1} = {Y1_1}  {Z1_1}
  2  {x1}·{w1_21} + {x2}·{w1_22} + {b1_2} = {Y1_2}  {Z1_2}

Layer 2: Linear(2 -> 1), Sigmoid, Z = σ(Y) = 1 / (1 + e^-Y)
  j  Y = Z1[1]·w2[j,1] + Z1[2]·w2[j,2] + b2[j]        Z
  1  {Z1_1}·{w2_11} + {Z1_2}·{w2_12} + {b2_1} = {Y2}  {Z2}

Loss: MSELoss, the squared error L = (Z2[1] - y[1])², so dL/dZ = 2·(Z - y).
  k  (Z - y)²                     dL/dZ = 2·(Z - y)
  1  ({Z2} - {y})² = {L}  2·({Z2} - {y}) = {dZ2}
  L = {L}

Backward pass. The chain rule carries dL/dZ back through each neuron:
δ[j] = dL/dY[j] = dL/dZ[j]·f'(Y[j]). A weight's gradient is its neuron's δ times
its input, dL/dw[j,i] = δ[j]·in[i] (a bias's is δ[j]), and the layer before gets
dL/dZ[i] = Σ_j δ[j]·w[j,i], with the weights before the step. Each parameter
then moves against its gradient: w - lr·dL/dw, lr = 0.5.

Layer 2: f'(Y) = Z·(1 - Z); dL/dZ comes from the loss
  j  dL/dZ   f'(Y)   δ = dL/dZ·f'(Y)
  1  {dZ2}  {df2}  {d2}
  parameter  dL/dw = δ·in            w - lr·dL/dw
  w2[1,1]    {d2}·{Z1_1} = {g2_11}  {w2_11} - 0.5·{g2_11} = {n2_11}
  w2[1,2]    {d2}·{Z1_2} = {g2_12}  {w2_12} - 0.5·{g2_12} = {n2_12}
  b2[1]      {d2}                  {b2_1} - 0.5·{d2} = {nb2_1}

Layer 1: f'(Y) = Z·(1 - Z); dL/dZ comes from layer 2
  j  dL/dZ = Σ_k δ2[k]·w2[k,j]  f'(Y)   δ
  1  {d2}·{w2_11} = {dZ1_1}     {df1_1}  {d1_1}
  2  {d2}·{w2_12} = {dZ1_2}     {df1_2}  {d1_2}
  parameter  dL/dw = δ·in            w - lr·dL/dw
  w1[1,1]    {d1_1}·{x1} = {g1_11}  {w1_11} - 0.5·{g1_11} = {n1_11}
  w1[1,2]    {d1_1}·{x2} = {g1_12}  {w1_12} - 0.5·{g1_12} = {n1_12}
  b1[1]      {d1_1}                  {b1_1} - 0.5·{d1_1} = {nb1_1}
  w1[2,1]    {d1_2}·{x1} = {g1_21}  {w1_21} - 0.5·{g1_21} = {n1_21}
  w1[2,2]    {d1_2}·{x2} = {g1_22}  {w1_22} - 0.5·{g1_22} = {n1_22}
  b1[2]      {d1_2}                  {b1_2} - 0.5·{d1_2} = {nb1_2}

After the step the same sample gives Z2 = {Z2after} and L = {Lafter} (before:
{L}).
]]

local NUMBER = "(%-?%d+%.%d+)"

-- Each template line as a Lua pattern (its text literal, each {name} a
-- captured number) and the names in order.
local function compile(line)
  local names, pattern, at = {}, {}, 1
  while true do
    local a, b, name = line:find("{([%w_]+)}", at)
    local text = line:sub(at, (a or 0) - 1)
    if not a then text = line:sub(at) end
    pattern[#pattern + 1] = text:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
    if not a then break end
    pattern[#pattern + 1] = NUMBER
    names[#names + 1] = name
    at = b + 1
  end
  return "^" .. table.concat(pattern) .. "$", names
end

-- The printed text against the template: the words as they are, each
-- number within half a unit of its last printed digit of the value (and a
-- float32 rounding more, the core's arithmetic). Returns the count of
-- numbers checked.
local function check_printout(text, template, values)
  local got, want = lines_of(text), lines_of(template)
  assert.are.equal(#want, #got, "line count:\n" .. text)
  local checked = 0
  for i, line in ipairs(want) do
    local pattern, names = compile(line)
    local caps = #names > 0 and { got[i]:match(pattern) } or {}
    assert(#caps == #names and (#names > 0 or got[i] == line),
           ("line %d is\n%s\nexpected\n%s"):format(i, got[i], line))
    for k, name in ipairs(names) do
      local v = values[name]
      assert(v, "no hand value " .. name)
      local printed = tonumber(caps[k])
      local decimals = #caps[k]:match("%.(%d+)$")
      local tol = 0.5 * 10 ^ -decimals + 1e-6 * math.max(1, math.abs(v))
      assert(math.abs(printed - v) <= tol, ("line %d: %s printed %s, by hand %.9g"):format(i, name, caps[k], v))
      checked = checked + 1
    end
  end
  return checked
end

local function run(net, x, y, loss, opts)
  local f = sink()
  opts = opts or {}
  opts.file = f
  local l = net:explain(x, y, loss, opts)
  return f:text(), l
end

-- The parameter rows of a printout, "wL[j,i]  δ·in = g  ... = new" (or
-- "old -> new"): {name, g, new} in order.
local function parameter_rows(text)
  local rows = {}
  for l in text:gmatch("[^\n]+") do
    local name, rest = l:match("^  ([wb]%d+%[[%d,]+%])%s+(.*)$")
    if name then
      local nums = {}
      for n in rest:gmatch("%-?%d+%.%d+e?[%+%-]?%d*") do nums[#nums + 1] = tonumber(n) end
      rows[#rows + 1] = { name = name, g = name:sub(1, 1) == "b" and nums[1] or nums[3], new = nums[#nums] }
    end
  end
  return rows
end

-- The network's parameters and gradients in the printout's row order: the
-- Linear layers from the last (the backward pass), per neuron j its
-- weights then its bias.
local function in_row_order(net)
  local params, grads = net:parameters()
  local out = {}
  for p = #params - 1, 1, -2 do
    local w, b, gw, gb = params[p]:totable(), params[p + 1]:totable(), grads[p]:totable(), grads[p + 1]:totable()
    for j = 1, #w do
      for i = 1, #w[j] do out[#out + 1] = { new = w[j][i], g = gw[j][i] } end
      out[#out + 1] = { new = b[j], g = gb[j] }
    end
  end
  return out
end

local function within(printed, v, digits, what)
  local tol = 0.5 * 10 ^ -digits + 1e-6 * math.max(1, math.abs(v))
  assert(math.abs(printed - v) <= tol, ("%s printed %.9g, the network holds %.9g"):format(what, printed, v))
end

describe("net:explain on the classic 2-2-1 example", function()
  it("prints every number as computed by hand from the formulas", function()
    local text = run(classic(), X, T, bp.MSELoss(), { lr = LR })
    local n = check_printout(text, TEMPLATE, hand())
    assert.is_true(n >= 90, "checked only " .. n .. " numbers")
  end)

  it("fits an 80-column terminal", function()
    local text = run(classic(), X, T, bp.MSELoss(), { lr = LR })
    for _, l in ipairs(lines_of(text)) do
      local n = require("backprop.compat").utf8len(l)
      assert(n and n <= 80, ("%d columns: %s"):format(n or -1, l))
    end
  end)

  it("leaves the printed new weights in the network, those of a step by hand", function()
    local net, twin = classic(), classic()
    local loss = bp.MSELoss()
    local text, l = run(net, X, T, loss, { lr = LR })
    local want = H.manual_step(twin, bp.tensor({ X }), bp.tensor({ { T } }), bp.MSELoss(), bp.SGD(twin, { lr = LR }))
    assert.are.equal(want, l)                                    -- the loss before the step
    H.assert_same(net:parameters(), twin:parameters(), "weights after explain vs a step by hand")
    local _, g1 = net:parameters()
    local _, g2 = twin:parameters()
    H.assert_same(g1, g2, "gradients")
    local rows, held = parameter_rows(text), in_row_order(net)
    assert.are.equal(9, #rows)
    for k, r in ipairs(rows) do
      within(r.new, held[k].new, 4, r.name .. " new value")
      within(r.g, held[k].g, 4, r.name .. " gradient")
    end
    local v = hand()
    H.near(l, v.L, 1e-6, "returned loss")
  end)

  it("prints to io.stdout by default and returns the loss", function()
    local script = [[
      local bp = require("backprop")
      local net = bp.Sequential{bp.Linear(2, 1), bp.Sigmoid()}
      io.write("loss ", tostring(net:explain({1, 2}, 1, bp.MSELoss()) > 0), "\n")]]
    local dir = H.tmpdir()
    H.write(dir .. "/s.lua", script)
    local out = S.check(("cd %s && %s %s s.lua"):format(S.q(dir), S.inplace, S.lua), "explain to stdout")
    H.rmtree(dir)
    assert.truthy(out:find("^backprop: one training step of a 2%-1 network, explained\n"), out)
    assert.truthy(out:find("lr = 0.1\n", 1, true), "the default lr is 0.1:\n" .. out)
    assert.truthy(out:find("\nloss true\n", 1, true), out)
  end)

  it("with apply = false shows the same step and keeps the weights", function()
    local net = classic()
    local before = H.snapshot(net)
    local shown = run(classic(), X, T, bp.MSELoss(), { lr = LR })
    local text = run(net, X, T, bp.MSELoss(), { lr = LR, apply = false })
    H.assert_same(net:parameters(), before, "weights after apply = false")
    assert.truthy(text:find("  apply    false: the step is worked out and shown; the network keeps its weights\n", 1, true))
    assert.truthy(text:find("The network keeps its old weights (apply = false).", 1, true))
    -- the rest is the step apply = true takes
    local function body(s) return s:match("\nForward pass.-\nAfter") end
    assert.are.equal(body(shown), body(text))
  end)

  it("takes the sample as tensors, rows or tables", function()
    local a = run(classic(), X, T, bp.MSELoss(), { lr = LR })
    assert.are.equal(a, run(classic(), bp.tensor(X), bp.tensor({ T }), bp.MSELoss(), { lr = LR }))
    assert.are.equal(a, run(classic(), bp.tensor({ X }), { T }, bp.MSELoss(), { lr = LR }))
    assert.are.equal(a, run(classic(), bp.tensor({ X, { 1, 1 } })[1], bp.tensor({ { T } }), bp.MSELoss(), { lr = LR }))
  end)

  it("prints with the digits asked for", function()
    local text = run(classic(), X, T, bp.MSELoss(), { lr = LR, digits = 7.0 })
    local v = hand()
    local printed = text:match("\n  L = (%S+)\n")
    assert.are.equal(7, #printed:match("%.(%d+)$"))
    assert.is_true(math.abs(tonumber(printed) - v.L) <= 5e-7 + 1e-6 * v.L)
    -- a gradient too small for the decimals is printed in exponent form, never as 0
    text = run(classic(), X, T, bp.MSELoss(), { lr = LR, digits = 2 })
    assert.truthy(text:find("\n  w1%[1,1%]%s+%S+ = %d%.%de%-%d+ "), text)
  end)

  it("with an SGD optimizer prints the step the lr option prints, and steps it", function()
    local net = classic()
    local opt = bp.SGD(net, { lr = LR })
    local text = run(net, X, T, bp.MSELoss(), { optimizer = opt })
    assert.are.equal(run(classic(), X, T, bp.MSELoss(), { lr = LR }), text)
    assert.are.equal(1, opt.steps)
  end)

  it("with another optimizer shows each parameter before and after its rule", function()
    local net, twin = classic(), classic()
    local text = run(net, X, T, bp.MSELoss(), { optimizer = bp.Adam(net, { lr = 0.01 }) })
    H.manual_step(twin, bp.tensor({ X }), bp.tensor({ { T } }), bp.MSELoss(), bp.Adam(twin, { lr = 0.01 }))
    H.assert_same(net:parameters(), twin:parameters(), "weights after an Adam step")
    assert.truthy(text:find("update   the optimizer's rule, backprop.Adam(lr=0.01,", 1, true), text)
    assert.truthy(text:find("  w2[1,1]    0.2770·0.5933 = 0.1643  0.4000 -> 0.3900\n", 1, true), text)
    local rows, held = parameter_rows(text), in_row_order(net)
    for k, r in ipairs(rows) do within(r.new, held[k].new, 4, r.name) end
  end)
end)

describe("net:explain on other networks and losses", function()
  -- The printout against a step by hand on a twin network: the loss, and
  -- each printed gradient and new weight against the network's.
  local function check_step(net, twin, text, l, xt, yt, loss, lr)
    local want = H.manual_step(twin, xt, yt, loss, bp.SGD(twin, { lr = lr }))
    assert.are.equal(want, l)
    H.assert_same(net:parameters(), twin:parameters(), "weights")
    local rows, held = parameter_rows(text), in_row_order(net)
    assert.are.equal(#held, #rows, text)
    for k, r in ipairs(rows) do
      within(r.new, held[k].new, 4, r.name .. " new value")
      within(r.g, held[k].g, 4, r.name .. " gradient")
    end
    within(tonumber(text:match("\n  L = [^\n]-(%-?%d+%.%d+)\n")), want, 4, "L")
  end

  it("Tanh and CrossEntropyLoss: the softmax probabilities and dL/dZ = p - 1 for the class", function()
    bp.manual_seed(3)
    local net = bp.Sequential { bp.Linear(3, 4), bp.Tanh(), bp.Linear(4, 3) }
    local twin = bp.Sequential { bp.Linear(3, 4), bp.Tanh(), bp.Linear(4, 3) }
    H.set_params(twin, H.snapshot(net))
    local x = { 0.5, -1, 2 }
    local scores = net:forward(bp.tensor({ x })):totable()[1]
    local text, l = run(net, x, 2, bp.CrossEntropyLoss(), { lr = 0.1 })
    check_step(net, twin, text, l, bp.tensor({ x }), bp.tensor({ 2 }), bp.CrossEntropyLoss(), 0.1)
    local sum = 0
    for k = 1, 3 do sum = sum + math.exp(scores[k]) end
    for k = 1, 3 do
      local p = math.exp(scores[k]) / sum
      local row = text:match("\n  " .. k .. "  (%d%.%d+)  [^\n]*\n")
      within(tonumber(row), p, 4, "p[" .. k .. "]")
    end
    assert.truthy(text:find("y = class 2", 1, true))
    assert.truthy(text:find("Layer 1: f'(Y) = 1 - Z²; dL/dZ comes from layer 2", 1, true))
  end)

  it("ReLU, Sigmoid and BCELoss over two outputs (the mean)", function()
    bp.manual_seed(4)
    local net = bp.Sequential { bp.Linear(2, 2), bp.ReLU(), bp.Linear(2, 2), bp.Sigmoid() }
    local twin = bp.Sequential { bp.Linear(2, 2), bp.ReLU(), bp.Linear(2, 2), bp.Sigmoid() }
    H.set_params(twin, H.snapshot(net))
    local text, l = run(net, { 0.5, -1 }, { 1, 0 }, bp.BCELoss(), { lr = 0.3 })
    check_step(net, twin, text, l, bp.tensor({ { 0.5, -1 } }), bp.tensor({ { 1, 0 } }), bp.BCELoss(), 0.3)
    assert.truthy(text:find("mean over the C = 2 outputs", 1, true), text)
  end)

  it("LeakyReLU, no output activation, MSELoss summed, a layer wider than the screen", function()
    bp.manual_seed(5)
    local function make() return bp.Sequential { bp.Linear(7, 4), bp.LeakyReLU(0.2), bp.Linear(4, 2) } end
    local net = make()
    local twin = make()
    H.set_params(twin, H.snapshot(net))
    local x, y = bp.randn(7), bp.randn(2)
    local text, l = run(net, x, y, bp.MSELoss { reduction = "sum" }, { lr = 0.05 })
    check_step(net, twin, text, l, x:reshape(1, 7), y:reshape(1, 2), bp.MSELoss { reduction = "sum" }, 0.05)
    assert.truthy(text:find("Layer 1: Linear(7 -> 4), LeakyReLU(0.2), Z = Y if Y > 0, else 0.2·Y", 1, true))
    for _, line in ipairs(lines_of(text)) do
      assert(require("backprop.compat").utf8len(line) <= 80, line)
    end
  end)

  it("a single Linear, and the other pointwise activations", function()
    for _, act in ipairs { "Identity", "ELU", "GELU", "SiLU", "Softplus" } do
      bp.manual_seed(6)
      local net = bp.Sequential { bp.Linear(2, 3), bp[act](), bp.Linear(3, 1) }
      local twin = bp.Sequential { bp.Linear(2, 3), bp[act](), bp.Linear(3, 1) }
      H.set_params(twin, H.snapshot(net))
      local text, l = run(net, { 1, -2 }, 0.5, bp.MSELoss(), { lr = 0.1 })
      check_step(net, twin, text, l, bp.tensor({ { 1, -2 } }), bp.tensor({ { 0.5 } }), bp.MSELoss(), 0.1)
    end
    local lin = bp.Linear(2, 1)
    local twin = bp.Linear(2, 1)
    H.set_params(twin, H.snapshot(lin))
    local text, l = run(lin, { 1, 2 }, 3, bp.MSELoss(), { lr = 0.01 })
    check_step(lin, twin, text, l, bp.tensor({ { 1, 2 } }), bp.tensor({ { 3 } }), bp.MSELoss(), 0.01)
    assert.truthy(text:find("Linear(2 -> 1), no activation, Z = Y", 1, true))
  end)
end)

describe("net:explain errors", function()
  local loss = bp.MSELoss()

  -- The error of f, with nothing printed and the network unchanged.
  local function refuses(pieces, net, x, y, l, opts)
    local before = H.snapshot(net)
    local f = sink()
    opts = opts or {}
    if opts.file == nil then opts.file = f end
    local err = H.raises(pieces, net.explain, net, x, y, l, opts)
    assert.are.equal("", f:text())
    H.assert_same(net:parameters(), before, "weights after the error")
    return err
  end

  it("names the limit and the count for a network too large to read", function()
    local net = bp.Sequential { bp.Linear(10, 8), bp.Sigmoid(), bp.Linear(8, 1) }
    refuses({ "backprop.Sequential:explain: explains networks of at most " .. explain.MAX_PARAMETERS ..
              " parameters (weights and biases); this one has 97" }, net, bp.zeros(10), 1, loss)
  end)

  it("names a layer it does not show", function()
    refuses({ "layer 2 is Dropout, which explain does not show; it shows Linear and the pointwise activations" },
            bp.Sequential { bp.Linear(2, 2), bp.Dropout(), bp.Linear(2, 1) }, { 1, 2 }, 1, loss)
    refuses({ "layer 3 is Softmax", "use CrossEntropyLoss, which applies the softmax itself" },
            bp.Sequential { bp.Linear(2, 2), bp.Sigmoid(), bp.Softmax() }, { 1, 2 }, 1, loss)
    refuses({ "layer 2 is Residual" },
            bp.Sequential { bp.Linear(2, 2), bp.Residual(bp.Sequential { bp.Linear(2, 2), bp.Tanh() }) },
            { 1, 2 }, { 1, 1 }, loss)
    refuses({ "layer 2 is PReLU" }, bp.Sequential { bp.Linear(2, 2), bp.PReLU() }, { 1, 2 }, { 1, 1 }, loss)
    refuses({ "layer 1 (Tanh) comes before any Linear" },
            bp.Sequential { bp.Tanh(), bp.Linear(2, 1) }, { 1, 2 }, 1, loss)
    refuses({ "layer 3 (Sigmoid) follows another activation (Tanh)" },
            bp.Sequential { bp.Linear(2, 1), bp.Tanh(), bp.Sigmoid() }, { 1, 2 }, 1, loss)
  end)

  it("names wrong shapes and values of the sample", function()
    refuses({ "x must hold 2 values (one per input of the first Linear), got shape 3" }, classic(), bp.zeros(3), 1, loss)
    refuses({ "x must hold 2 values", "got a table of 1" }, classic(), { 1 }, 1, loss)
    refuses({ "explain shows one sample, got a batch of 4 (x shape 4x2); pass one row, x[i]" },
            classic(), bp.zeros(4, 2), 1, loss)
    refuses({ "x[2] must be a number, got string" }, classic(), { 1, "a" }, 1, loss)
    refuses({ "x[2] is ", "nan; explain needs finite numbers" }, classic(), bp.tensor({ 1, 0 / 0 }), 1, loss)
    refuses({ "y[1] is inf; explain needs finite numbers" }, classic(), X, math.huge, loss)
    refuses({ "y must hold 1 value (one target per output), got a table of 2" }, classic(), X, { 1, 2 }, loss)
    refuses({ "y must be one class label, an integer from 1 to 3, got 4" },
            bp.Sequential { bp.Linear(2, 3) }, X, 4, bp.CrossEntropyLoss())
    refuses({ "y must be one class label, an integer from 1 to 3, got 1.5" },
            bp.Sequential { bp.Linear(2, 3) }, X, 1.5, bp.CrossEntropyLoss())
  end)

  it("names a loss it does not show, and options it does not take", function()
    refuses({ "explain shows BCELoss, CrossEntropyLoss, MSELoss; got HuberLoss" }, classic(), X, T, bp.HuberLoss())
    refuses({ "loss must be a backprop.Loss (for example bp.MSELoss()), got table" }, classic(), X, T, {})
    refuses({ "explain cannot show this CrossEntropyLoss", "label smoothing" },
            bp.Sequential { bp.Linear(2, 3) }, X, 2, bp.CrossEntropyLoss { label_smoothing = 0.1 })
    refuses({ "unknown option 'learning_rate'" }, classic(), X, T, loss, { learning_rate = 1 })
    refuses({ "lr must be a finite number > 0, got -1" }, classic(), X, T, loss, { lr = -1 })
    local net = classic()
    refuses({ "give lr or optimizer, not both" }, net, X, T, loss, { lr = 1, optimizer = bp.SGD(net) })
    refuses({ "apply = false takes no optimizer" }, net, X, T, loss, { apply = false, optimizer = bp.SGD(net) })
    refuses({ "optimizer must be a backprop.Optimizer" }, net, X, T, loss, { optimizer = 1 })
    refuses({ "backprop.Sequential:explain: backprop.Sequential:train_step: the optimizer was made for another network" },
            net, X, T, loss, { optimizer = bp.SGD(classic()) })
    refuses({ "digits must be an integer from 1 to 9, got 0" }, net, X, T, loss, { digits = 0 })
    refuses({ "digits must be an integer from 1 to 9, got 2.5" }, net, X, T, loss, { digits = 2.5 })
    refuses({ "file must be a file handle (such as io.stdout) or an object with a write method, got number" },
            net, X, T, loss, { file = 3 })
    refuses({ "apply must be a boolean, got string" }, net, X, T, loss, { apply = "no" })
    H.raises({ "backprop.Module:explain: self must be a backprop.Module (net:explain(...)), got number" },
             net.explain, 3, X, T, loss)
    local closed = classic()
    closed:close()
    H.raises({ "backprop.Sequential:explain: the module is closed" }, net.explain, closed, X, T, loss)
  end)

  it("leaves the network usable after an error", function()
    local net = classic()
    pcall(net.explain, net, bp.zeros(4, 2), 1, loss, { file = sink() })
    local text = run(net, X, T, bp.MSELoss(), { lr = LR })
    check_printout(text, TEMPLATE, hand())
  end)
end)

describe("examples/explain.lua and the README", function()
  it("the example prints the classic step, as the README shows it", function()
    local out = S.check(("cd /tmp && %s %s %s"):format(S.inplace, S.lua, S.q(S.root .. "/examples/explain.lua")),
                        "examples/explain.lua")
    check_printout(out, TEMPLATE, hand())
    local readme = H.read(S.root .. "/README.md")
    local shown = readme:match("<!%-%- file: examples/explain%.lua %-%->\n```lua\n.-```\n.-```text\n(.-)```")
    assert(shown, "README.md has no ```text block after the examples/explain.lua block")
    assert.are.equal(out, shown)
  end)
end)
