--- net:explain(x, y, loss [, opts]): one training step of a small network,
-- printed in the terms backpropagation is taught in. Each neuron's
-- weighted sum plus bias, Y = Σ x·w + b, its activation, Z = f(Y), the
-- loss, then backwards each neuron's δ = dL/dY, each weight's gradient
-- dL/dw = δ·in and its new value w - lr·dL/dw.
--
-- Every number shown comes from the library: the forward and backward
-- passes run layer by layer through the network's own children (views of
-- its buffers, the same C code a whole pass runs), the step itself is
-- net:train_step (the call fit makes for each batch), and the gradients
-- and new weights are read back from the network. Lua computes only what
-- the loss's formula needs for display (the squared errors, the softmax),
-- and checks it against the loss's own value before printing it.

local compat = require("backprop.compat")
local check = require("backprop.check")
local core = require("backprop.core")

local M = {}

--- The largest network explained: its parameters (weights and biases).
-- Beyond a few dozen the printout stops being something one reads.
M.MAX_PARAMETERS = 64

local WIDTH = 80        -- the printout fits an 80-column terminal
local OPTIONS = { lr = true, optimizer = true, file = true, digits = true, apply = true }

-- The pointwise activations: how each is written, Z = f(Y), and its
-- derivative f'(Y). `a` is what tostring shows in the layer's parentheses
-- (LeakyReLU(0.2): "0.2"). The values of f'(Y) printed come from the
-- layer's own backward pass.
local ACTIVATIONS = {
  Sigmoid = function() return "σ(Y) = 1 / (1 + e^-Y)", "Z·(1 - Z)" end,
  Tanh = function() return "tanh(Y)", "1 - Z²" end,
  ReLU = function() return "max(0, Y)", "1 if Y > 0, else 0" end,
  LeakyReLU = function(a) return "Y if Y > 0, else " .. a .. "·Y", "1 if Y > 0, else " .. a end,
  ELU = function(a) return "Y if Y > 0, else " .. a .. "·(e^Y - 1)", "1 if Y > 0, else Z + " .. a end,
  GELU = function() return "Y·Φ(Y), Φ the standard normal CDF", "Φ(Y) + Y·φ(Y), φ its density" end,
  SiLU = function() return "Y·σ(Y)", "σ(Y)·(1 + Y·(1 - σ(Y)))" end,
  Softplus = function(a)
    local b, t = a:match("^beta (%S+), threshold (%S+)$")
    return ("log(1 + e^(%s·Y)) / %s (Y where %s·Y > %s)"):format(b, b, b, t),
           ("σ(%s·Y) (1 where %s·Y > %s)"):format(b, b, t)
  end,
  Identity = function() return "Y", "1" end,
}

local HINTS = {
  Softmax = "; for classes, end with Linear and use CrossEntropyLoss, which applies the softmax itself",
  LogSoftmax = "; for classes, end with Linear and use CrossEntropyLoss, which applies the softmax itself",
}

local function fail(fn, msg, ...) check.fail(fn, msg, ...) end

local function kind(obj)
  local s = tostring(obj)
  return s:match("^backprop%.(%w+)"), s:match("^backprop%.%w+%((.*)%)$")
end

local function names_of(set)
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, ", ")
end

---------------------------------------------------------------- checks

-- The network as the textbook draws it: layers, each a Linear and at most
-- one pointwise activation after it ({linear, act, fx, dfx, text}).
local function layers_of(fn, net)
  local n = net:num_parameters()
  if n > M.MAX_PARAMETERS then
    fail(fn, "explains networks of at most %d parameters (weights and biases); this one has %d",
         M.MAX_PARAMETERS, n)
  end
  local modules = {}
  if #net == 0 then modules[1] = net else
    for i = 1, #net do modules[i] = net:get(i) end
  end
  local layers = {}
  for i, m in ipairs(modules) do
    local name, args = kind(m)
    local last = layers[#layers]
    if name == "Linear" then
      layers[#layers + 1] = { linear = m, text = "Linear(" .. args .. ")" }
    elseif ACTIVATIONS[name] then
      if not last then
        fail(fn, "layer %d (%s) comes before any Linear; explain reads a network as Linear " ..
             "layers, each followed by at most one activation", i, name)
      elseif last.act then
        fail(fn, "layer %d (%s) follows another activation (%s); explain reads a network as " ..
             "Linear layers, each followed by at most one activation", i, name, last.act_name)
      end
      last.act, last.act_name = m, name
      last.fx, last.dfx = ACTIVATIONS[name](args or "")
      last.text = last.text .. ", " .. tostring(m):gsub("^backprop%.", "")
    else
      fail(fn, "layer %d is %s, which explain does not show; it shows Linear and the pointwise " ..
           "activations (%s)%s", i, tostring(name), names_of(ACTIVATIONS), HINTS[name] or "")
    end
  end
  for _, l in ipairs(layers) do
    if not l.act then l.fx, l.dfx, l.text = "Y", "1", l.text .. ", no activation" end
    local w = l.linear:parameters()[1]:shape()
    l.nout, l.nin = w[1], w[2]
  end
  return layers
end

-- The losses whose formulas explain prints (see loss_formula).
local LOSSES = { MSELoss = true, BCELoss = true, CrossEntropyLoss = true }

local function positive(fn, v, name)
  if type(v) ~= "number" or not (v > 0) or v == math.huge then
    fail(fn, "%s must be a finite number > 0, got %s", name, type(v) == "number" and tostring(v) or type(v))
  end
  return v
end

local function settings(fn, opts)
  opts = check.options(fn, opts, OPTIONS)
  local s = { lr = opts.lr, opt = opts.optimizer, file = opts.file or io.stdout,
              digits = opts.digits or 4, apply = opts.apply }
  if s.opt ~= nil then
    local mt = getmetatable(s.opt)
    if type(mt) ~= "table" or mt.__name ~= "backprop.Optimizer" then
      fail(fn, "optimizer must be a backprop.Optimizer (for example bp.SGD(net, {lr = 0.1})), got %s",
           type(mt) == "table" and tostring(mt.__name) or type(s.opt))
    end
    if s.lr ~= nil then fail(fn, "give lr or optimizer, not both (the optimizer has its own lr)") end
  else
    s.lr = positive(fn, s.lr == nil and 0.1 or s.lr, "lr")
  end
  if not (compat.isinteger(s.digits) and s.digits >= 1 and s.digits <= 9) then
    fail(fn, "digits must be an integer from 1 to 9, got %s", tostring(s.digits))
  end
  s.digits = compat.tointeger(s.digits)     -- 4.0 would write "%.4.0f"
  local ok, write = pcall(function() return s.file.write end)
  if not ok or type(write) ~= "function" then
    fail(fn, "file must be a file handle (such as io.stdout) or an object with a write method, got %s",
         type(s.file))
  end
  if s.apply == nil then s.apply = true end
  if type(s.apply) ~= "boolean" then fail(fn, "apply must be a boolean, got %s", type(s.apply)) end
  if s.opt and not s.apply then
    fail(fn, "apply = false takes no optimizer: the step would change its state (momentum, " ..
         "moments, step count); give lr instead")
  end
  return s
end

local function count(n) return n == 1 and "1 value" or n .. " values" end

local function finite(fn, list, name)
  for i, v in ipairs(list) do
    if v ~= v or v == math.huge or v == -math.huge then
      fail(fn, "%s[%d] is %s; explain needs finite numbers", name, i, tostring(v))
    end
  end
end

-- A 1 x n tensor of the plain numbers in v: a number (n = 1), a table or
-- a tensor of n values (n, or 1 x n), all finite.
local function one_row(fn, v, n, name, what)
  if type(v) == "number" then v = { v } end
  if type(v) == "table" then
    if #v ~= n then fail(fn, "%s must hold %s (%s), got a table of %d", name, count(n), what, #v) end
    for i = 1, n do
      if type(v[i]) ~= "number" then fail(fn, "%s[%d] must be a number, got %s", name, i, type(v[i])) end
    end
    finite(fn, v, name)
    return core.tensor({ v })
  end
  if not check.is_tensor(v) then
    fail(fn, "%s must be a tensor, a table or a number, got %s", name, type(v))
  end
  local shape = v:shape()
  if #shape == 2 and shape[1] > 1 then
    fail(fn, "explain shows one sample, got a batch of %d (%s shape %s); pass one row, %s[i]",
         shape[1], name, table.concat(shape, "x"), name)
  end
  if #shape > 2 or v:numel() ~= n then
    fail(fn, "%s must hold %s (%s), got shape %s", name, count(n), what, table.concat(shape, "x"))
  end
  v = v:float():reshape(1, n)
  finite(fn, v:totable()[1], name)
  return v
end

local function target(fn, kind_, y, c)
  if kind_ ~= "CrossEntropyLoss" then
    return one_row(fn, y, c, "y", "one target per output")
  end
  local label = y
  if type(y) == "table" and #y == 1 then label = y[1] end
  if check.is_tensor(y) and y:numel() == 1 then label = y:reshape(1):get(1) end
  if type(label) ~= "number" or label < 1 or label > c or not compat.isinteger(label) then
    fail(fn, "y must be one class label, an integer from 1 to %d, got %s", c,
         type(label) == "number" and tostring(label) or type(label))
  end
  return core.tensor({ label }), compat.tointeger(label)
end

---------------------------------------------------------------- the step

local function values(t)
  return t:reshape(t:numel()):totable()
end

local function rows(t)
  return t:totable()
end

-- The forward and backward passes layer by layer, what a student follows:
-- fills each layer with x (its input), w, b (its parameters), Y, Z, dZ
-- (dL/dZ), df (f'(Y)) and delta (dL/dY). Returns the loss.
local function trace(net, layers, x, y, loss)
  net:zero_grad()
  local input = x
  for _, l in ipairs(layers) do
    local p = l.linear:parameters()
    l.x, l.w, l.b = values(input), rows(p[1]), values(p[2])
    local Y = l.linear:forward(input)
    local Z = l.act and l.act:forward(Y) or Y
    l.Y, l.Z = values(Y), values(Z)
    input = Z
  end
  local L = loss:forward(input, y)
  local dz = loss:backward():clone()
  for k = #layers, 1, -1 do
    local l = layers[k]
    l.dZ = values(dz)
    local delta = dz
    if l.act then
      l.df = values(l.act:backward(core.ones(1, l.nout)))
      delta = l.act:backward(dz):clone()
    else
      l.df = values(core.ones(l.nout))
    end
    l.delta = values(delta)
    dz = l.linear:backward(delta):clone()
  end
  return L
end

-- The step itself: net:train_step, the call fit makes for each batch; the
-- gradients and new weights read back into each layer (gw, gb, nw, nb).
-- Fills r with the step's loss and, after the step, the output and loss
-- on the same sample; with apply = false the old weights go back.
local function take_step(net, layers, x, y, loss, s, r)
  local params = net:parameters()
  local before = {}
  for i, p in ipairs(params) do before[i] = p:clone() end
  r.step_loss = net:train_step(x, y, loss, s.opt)
  for _, l in ipairs(layers) do
    local p, g = l.linear:parameters()
    l.gw, l.gb, l.nw, l.nb = rows(g[1]), values(g[2]), rows(p[1]), values(p[2])
  end
  local z = net:forward(x)
  r.after_Z, r.after = values(z), loss:forward(z, y)
  if not s.apply then
    for i, p in ipairs(params) do p:copy(before[i]) end
  end
end

---------------------------------------------------------------- the loss

local function log100(v)        -- log clamped at -100, as BCELoss does
  local l = v > 0 and math.log(v) or -math.huge
  return l < -100 and -100 or l
end

-- The loss's formula in Lua, from the printed Z and y: per output k its
-- term and dL/dZ[k], and L. The shown numbers must be the loss's own:
-- a loss with options the formula leaves out (class weights with
-- reduction "sum", label smoothing) is refused here.
local function loss_formula(fn, name, Z, yv, label, r)
  local C, terms, grad, L = #Z, {}, {}, 0
  local scale = r.mean and 1 / C or 1
  if name == "MSELoss" then
    for k = 1, C do
      terms[k] = (Z[k] - yv[k]) ^ 2
      grad[k] = 2 * (Z[k] - yv[k]) * scale
      L = L + terms[k]
    end
    L = L * scale
  elseif name == "BCELoss" then
    for k = 1, C do
      terms[k] = -(yv[k] * log100(Z[k]) + (1 - yv[k]) * log100(1 - Z[k]))
      grad[k] = (Z[k] - yv[k]) / math.max(Z[k] * (1 - Z[k]), 1e-12) * scale
      L = L + terms[k]
    end
    L = L * scale
  else
    local m, sum = -math.huge, 0
    for k = 1, C do m = math.max(m, Z[k]) end
    for k = 1, C do sum = sum + math.exp(Z[k] - m) end
    for k = 1, C do
      terms[k] = math.exp(Z[k] - m) / sum
      grad[k] = terms[k] - (k == label and 1 or 0)
    end
    L = -math.log(terms[label])
  end
  local function agrees(a, b) return math.abs(a - b) <= 1e-4 * math.max(1, math.abs(b)) end
  local ok = agrees(L, r.L)
  for k = 1, C do ok = ok and agrees(grad[k], r.dZ[k]) end
  if not ok then
    fail(fn, "explain cannot show this %s: its formula gives L = %.6g, the loss gives %.6g " ..
         "(explain does not show class weights with reduction \"sum\", or label smoothing)",
         name, L, r.L)
  end
  return terms
end

---------------------------------------------------------------- text

local function width(s) return compat.utf8len(s) or #s end

local function pad(s, n) return s .. string.rep(" ", n - width(s)) end

-- A sum {terms = {...}, tail = " = v"} as lines of at most `room`
-- columns: the terms joined with " + ", continued lines indented.
local function wrap(cell, room)
  local lines, cur = {}, ""
  for k, term in ipairs(cell.terms) do
    local piece = k == 1 and term or " + " .. term
    if cur ~= "" and width(cur .. piece) > room then
      lines[#lines + 1] = cur
      cur = "  + " .. term
    else
      cur = cur .. piece
    end
  end
  if width(cur .. cell.tail) > room and #cell.terms > 1 then
    lines[#lines + 1] = cur
    cur = "  " .. cell.tail:gsub("^ ", "")
  else
    cur = cur .. cell.tail
  end
  lines[#lines + 1] = cur
  return lines
end

local function Text(digits)
  local t = { lines = {} }
  local fmt = "%." .. digits .. "f"
  local efmt = "%." .. (digits - 1) .. "e"

  --- A number at `digits` decimals; one too small for them (or huge) in
  -- exponent form, never a misleading 0.0000.
  function t.num(v)
    if v == 0 then return fmt:format(0) end
    local s = fmt:format(v)
    if tonumber(s) == 0 or math.abs(v) >= 1e6 then s = efmt:format(v) end
    return s
  end

  --- A number inside an expression: negative ones in parentheses.
  function t.f(v)
    local s = t.num(v)
    return v < 0 and "(" .. s .. ")" or s
  end

  function t.line(s) t.lines[#t.lines + 1] = s or "" end

  --- Paragraph text wrapped at WIDTH, its first line starting with
  -- `first`, the others with `indent` (both ""); "~" is a space that
  -- does not break (inside a formula).
  function t.para(s, indent, first)
    indent = indent or ""
    local start = first or indent
    local cur = start
    for word in s:gmatch("%S+") do
      if cur ~= start and width(cur) + 1 + width(word) > WIDTH then
        t.line((cur:gsub("~", " ")))
        cur, start = indent .. word, indent
      else
        cur = cur == start and cur .. word or cur .. " " .. word
      end
    end
    t.line((cur:gsub("~", " ")))
  end

  --- A table: rows of cells, each padded to its column's width. A cell may
  -- be a sum {terms = {...}, tail = " = v"}, wrapped to the room the other
  -- columns leave; the cells left of it go on its first line, those right
  -- of it on its last.
  function t.grid(rows_)
    local w, ncol, sums, first = {}, 0, {}, nil
    for _, r in ipairs(rows_) do
      ncol = math.max(ncol, #r)
      for c, cell in ipairs(r) do
        if type(cell) == "table" then
          sums[c], first = true, math.min(first or c, c)
        end
      end
    end
    for _, r in ipairs(rows_) do
      for c, cell in ipairs(r) do
        if type(cell) == "string" then w[c] = math.max(w[c] or 0, width(cell)) end
      end
    end
    local used = 2 + 2 * (ncol - 1)
    for c = 1, ncol do
      if not sums[c] then used = used + (w[c] or 0) end
    end
    local room = math.max(24, WIDTH - used)
    local cells = {}
    for i, r in ipairs(rows_) do
      cells[i] = {}
      for c, cell in ipairs(r) do
        local lines = type(cell) == "table" and wrap(cell, room) or { cell }
        for _, l in ipairs(lines) do w[c] = math.max(w[c] or 0, width(l)) end
        cells[i][c] = lines
      end
    end
    for _, r in ipairs(cells) do
      local height = 1
      for _, lines in ipairs(r) do height = math.max(height, #lines) end
      for h = 1, height do
        local parts = {}
        for c, lines in ipairs(r) do
          -- the cells left of a sum on its first line, the others on its last
          local text = lines[first and c < first and h or #lines - height + h] or ""
          if c == #r then parts[c] = text else parts[c] = pad(text, w[c]) end
        end
        t.line(("  " .. table.concat(parts, "  ")):gsub("%s+$", ""))
      end
    end
  end

  return t
end

-- A list of numbers as a vector, "(0.0500, 0.1000)", or one number.
local function vector(t, v)
  local out = {}
  for i = 1, #v do out[i] = t.num(v[i]) end
  if #v == 1 then return out[1] end
  return "(" .. table.concat(out, ", ") .. ")"
end

local function header(t, layers, loss_text, s, y_text)
  local sizes, texts = { layers[1].nin }, {}
  for i, l in ipairs(layers) do sizes[#sizes + 1] = l.nout; texts[i] = l.text end
  t.line(("backprop: one training step of a %s network, explained"):format(table.concat(sizes, "-")))
  t.para(table.concat(texts, ", "), "           ", "  layers   ")
  t.line("  loss     " .. loss_text)
  t.para(s.sgd and ("w - lr·dL/dw, lr = %s"):format(s.lr_text)
               or "the optimizer's rule, " .. tostring(s.opt), "           ", "  update   ")
  t.para("x~=~" .. vector(t, layers[1].x) .. ", y~=~" .. y_text, "           ", "  sample   ")
  local where, i = {}, 0
  for k in ipairs(layers) do
    where[#where + 1] = ("w%d~=~[%d],~b%d~=~[%d]"):format(k, i + 1, k, i + 2)
    i = i + 2
  end
  t.para("wL[j,i] is the weight from input i to neuron j of layer L, bL[j] its bias; " ..
         "in net:parameters(): " .. table.concat(where, ", "), "           ", "  names    ")
  if not s.apply then
    t.line("  apply    false: the step is worked out and shown; the network keeps its weights")
  end
end

local function forward(t, layers)
  t.line()
  t.para("Forward pass. Each neuron j of a layer sums its inputs times its weights, " ..
         "plus its bias: Y[j]~=~Σ_i~in[i]·w[j,i]~+~b[j]. Its activation gives its output, " ..
         "Z[j]~=~f(Y[j]). The inputs (in) of layer 1 are x; those of each next layer " ..
         "are the outputs Z of the layer before.")
  for L, l in ipairs(layers) do
    t.line()
    t.line(("Layer %d: %s, Z = %s"):format(L, l.text, l.fx))
    local inname = L == 1 and "x" or "Z" .. (L - 1)
    local head
    if l.nin <= 3 then
      local terms = {}
      for i = 1, l.nin do terms[i] = ("%s[%d]·w%d[j,%d]"):format(inname, i, L, i) end
      head = ("Y = %s + b%d[j]"):format(table.concat(terms, " + "), L)
    else
      head = ("Y = Σ_i %s[i]·w%d[j,i] + b%d[j]"):format(inname, L, L)
    end
    local grid = { { "j", head, "Z" } }
    for j = 1, l.nout do
      local terms = {}
      for i = 1, l.nin do terms[i] = t.f(l.x[i]) .. "·" .. t.f(l.w[j][i]) end
      terms[#terms + 1] = t.f(l.b[j])
      grid[#grid + 1] = { tostring(j), { terms = terms, tail = " = " .. t.num(l.Y[j]) }, t.num(l.Z[j]) }
    end
    t.grid(grid)
  end
end

-- The loss's formula, per output its term and dL/dZ, then L.
local function loss_section(t, name, reduction, layers, yv, label, terms, r)
  local out = layers[#layers]
  local C, L = out.nout, #layers
  local mean = reduction == "mean" and C > 1
  local per = mean and " / " .. C or ""
  local how = mean and ("the mean over the C~=~%d outputs"):format(C)
           or C > 1 and "summed over the outputs" or nil
  if reduction == "none" then
    how = (how or "for the one output") .. " (reduction \"none\": the step uses the sum)"
  end
  how = how and ", " .. how or ""
  local grid
  t.line()
  if name == "CrossEntropyLoss" then
    t.para(("Loss: CrossEntropyLoss of the scores Z%d for the class y~=~%d. The softmax gives " ..
            "each class k a probability, p[k]~=~e^Z[k]~/~Σ_c~e^Z[c]; L~=~-log~p[y], and " ..
            "dL/dZ[k]~=~p[k]~-~1 for k~=~y, p[k] for the others."):format(L, label))
    grid = { { "k", "p[k]", "dL/dZ" } }
    for k = 1, C do
      grid[#grid + 1] = { tostring(k), t.num(terms[k]),
        (k == label and t.f(terms[k]) .. " - 1 = " or "") .. t.num(out.dZ[k]) }
    end
    t.grid(grid)
    t.line(("  L = -log %s = %s"):format(t.f(terms[label]), t.num(r.L)))
    return
  end
  if name == "MSELoss" then
    local f = C == 1 and ("(Z%d[1]~-~y[1])²"):format(L)
              or ("%sΣ_k~(Z%d[k]~-~y[k])²"):format(mean and "(1/C)·" or "", L)
    t.para(("Loss: MSELoss, the squared error L~=~%s%s, so dL/dZ~=~2·(Z~-~y)%s."):format(
      f, how, mean and "~/~C" or ""))
    grid = { { "k", "(Z - y)²", "dL/dZ = 2·(Z - y)" .. (mean and " / C" or "") } }
    for k = 1, C do
      local d = ("(%s - %s)"):format(t.num(out.Z[k]), t.f(yv[k]))
      grid[#grid + 1] = { tostring(k), d .. "² = " .. t.num(terms[k]),
                          "2·" .. d .. per .. " = " .. t.num(out.dZ[k]) }
    end
  else
    t.para(("Loss: BCELoss, the binary cross-entropy L~=~-(y·log~Z~+~(1~-~y)·log(1~-~Z))%s, " ..
            "so dL/dZ~=~(Z~-~y)~/~(Z·(1~-~Z))%s."):format(how, mean and "~/~C" or ""))
    grid = { { "k", "-(y·log Z + (1 - y)·log(1 - Z))" } }
    for k = 1, C do
      grid[#grid + 1] = { tostring(k), ("-(%s·log %s + (1 - %s)·log(1 - %s)) = %s"):format(
        t.f(yv[k]), t.f(out.Z[k]), t.f(yv[k]), t.f(out.Z[k]), t.num(terms[k])) }
    end
    t.grid(grid)
    grid = { { "k", "dL/dZ = (Z - y) / (Z·(1 - Z))" .. (mean and " / C" or "") } }
    for k = 1, C do
      grid[#grid + 1] = { tostring(k), ("(%s - %s) / (%s·(1 - %s))%s = %s"):format(
        t.num(out.Z[k]), t.f(yv[k]), t.f(out.Z[k]), t.f(out.Z[k]), per, t.num(out.dZ[k])) }
    end
  end
  t.grid(grid)
  if C == 1 then
    t.line("  L = " .. t.num(r.L))
  else
    local parts = {}
    for k = 1, C do parts[k] = t.f(terms[k]) end
    local sum = table.concat(parts, " + ")
    t.para(("L = %s = %s"):format(mean and "(" .. sum .. ")" .. per or sum, t.num(r.L)), "      ", "  ")
  end
end

local function backward(t, layers, s)
  t.line()
  t.para("Backward pass. The chain rule carries dL/dZ back through each neuron: " ..
         "δ[j]~=~dL/dY[j]~=~dL/dZ[j]·f'(Y[j]). A weight's gradient is its neuron's δ " ..
         "times its input, dL/dw[j,i]~=~δ[j]·in[i] (a bias's is δ[j]), and the layer " ..
         "before gets dL/dZ[i]~=~Σ_j~δ[j]·w[j,i], with the weights before the step. " ..
         (s.sgd and ("Each parameter then moves against its gradient: w~-~lr·dL/dw, lr~=~%s.")
                    :format(s.lr_text)
                 or "Each parameter then moves by the optimizer's rule (see update above)."))
  local function update(old, g, new)
    if s.sgd then return ("%s - %s·%s = %s"):format(t.num(old), s.lr_text, t.f(g), t.num(new)) end
    return ("%s -> %s"):format(t.num(old), t.num(new))
  end
  for L = #layers, 1, -1 do
    local l, nxt = layers[L], layers[L + 1]
    local grid
    t.line()
    if nxt then
      t.line(("Layer %d: f'(Y) = %s; dL/dZ comes from layer %d"):format(L, l.dfx, L + 1))
      grid = { { "j", ("dL/dZ = Σ_k δ%d[k]·w%d[k,j]"):format(L + 1, L + 1), "f'(Y)", "δ" } }
      for j = 1, l.nout do
        local terms = {}
        for k = 1, nxt.nout do terms[k] = t.f(nxt.delta[k]) .. "·" .. t.f(nxt.w[k][j]) end
        grid[#grid + 1] = { tostring(j), { terms = terms, tail = " = " .. t.num(l.dZ[j]) },
                            t.num(l.df[j]), t.num(l.delta[j]) }
      end
    else
      t.line(("Layer %d: f'(Y) = %s; dL/dZ comes from the loss"):format(L, l.dfx))
      grid = { { "j", "dL/dZ", "f'(Y)", "δ = dL/dZ·f'(Y)" } }
      for j = 1, l.nout do
        grid[#grid + 1] = { tostring(j), t.num(l.dZ[j]), t.num(l.df[j]), t.num(l.delta[j]) }
      end
    end
    t.grid(grid)
    grid = { { "parameter", "dL/dw = δ·in", s.sgd and "w - lr·dL/dw" or "w -> new w" } }
    for j = 1, l.nout do
      for i = 1, l.nin do
        grid[#grid + 1] = { ("w%d[%d,%d]"):format(L, j, i),
          ("%s·%s = %s"):format(t.f(l.delta[j]), t.f(l.x[i]), t.num(l.gw[j][i])),
          update(l.w[j][i], l.gw[j][i], l.nw[j][i]) }
      end
      grid[#grid + 1] = { ("b%d[%d]"):format(L, j), t.num(l.gb[j]), update(l.b[j], l.gb[j], l.nb[j]) }
    end
    t.grid(grid)
  end
end

local function footer(t, layers, r, s)
  t.line()
  t.para(("After the step the same sample gives Z%d~=~%s and L~=~%s (before: %s).%s"):format(
    #layers, vector(t, r.after_Z), t.num(r.after), t.num(r.L),
    s.apply and "" or " The network keeps its old weights (apply = false)."))
end

---------------------------------------------------------------- explain

--- Prints one training step of net on the sample (x, y) with loss, in
-- the terms of backpropagation as taught; returns the loss before the
-- step. opts: lr (0.1) or optimizer (one made for net), file (io.stdout),
-- digits (4), apply (true). See docs/API.md.
function M.explain(net, x, y, loss, opts)
  local mt = getmetatable(net)
  if type(mt) ~= "table" or mt.__name ~= "backprop.Module" then
    fail("backprop.Module:explain", "self must be a backprop.Module (net:explain(...)), got %s",
         type(mt) == "table" and tostring(mt.__name) or type(net))
  end
  local fn = tostring(net):match("^backprop%.%w+") .. ":explain"
  if tostring(net):find(" (closed)", 1, true) then fail(fn, "the module is closed") end
  local layers = layers_of(fn, net)
  mt = getmetatable(loss)
  if type(mt) ~= "table" or mt.__name ~= "backprop.Loss" then
    fail(fn, "loss must be a backprop.Loss (for example bp.MSELoss()), got %s",
         type(mt) == "table" and tostring(mt.__name) or type(loss))
  end
  local loss_name = kind(loss)
  if not LOSSES[loss_name] then
    fail(fn, "explain shows %s; got %s", names_of(LOSSES), tostring(loss_name))
  end
  local s = settings(fn, opts)
  local C = layers[#layers].nout
  local xt = one_row(fn, x, layers[1].nin, "x", "one per input of the first Linear")
  local yt, label = target(fn, loss_name, y, C)
  if s.opt == nil then s.opt = core.SGD(net, { lr = s.lr }) end

  -- Plain SGD (no momentum, no weight decay) steps w - lr·dL/dw; any
  -- other optimizer is shown as before -> after.
  local oname = kind(s.opt)
  s.sgd = oname == "SGD" and s.opt.momentum == 0 and s.opt.weight_decay == 0
  s.lr = s.opt.lr
  s.lr_text = ("%.6g"):format(s.lr)

  -- An error of the library's (a BCELoss target outside [0, 1], another
  -- network's optimizer) comes out under explain's name; the weights are
  -- as they were (train_step checks before it changes anything).
  local function library(f, ...)
    local ok, err = pcall(f, ...)
    if not ok then error(fn .. ": " .. tostring(err):gsub("^[^\n]-%.lua:%d+: ", ""), 0) end
    return err
  end
  local out = layers[#layers]
  local r = { L = library(trace, net, layers, xt, yt, loss), mean = loss:reduction() == "mean" }
  r.dZ = out.dZ
  local yv = values(yt)
  local terms = loss_formula(fn, loss_name, out.Z, yv, label, r)
  library(take_step, net, layers, xt, yt, loss, s, r)

  local t = Text(s.digits)
  local y_text = loss_name == "CrossEntropyLoss" and ("class~%d"):format(label) or vector(t, yv)
  header(t, layers, tostring(loss):match("^backprop%.(.*)$"), s, y_text)
  forward(t, layers)
  loss_section(t, loss_name, loss:reduction(), layers, yv, label, terms, r)
  backward(t, layers, s)
  footer(t, layers, r, s)
  t.line()
  s.file:write(table.concat(t.lines, "\n"))
  return r.step_loss
end

function M.install(methods)
  methods.explain = M.explain
end

return M
