-- spec/helper.lua: small helpers shared by the specs (require("helper")).
-- The specs run on Lua 5.1 to 5.4 and LuaJIT: what differs between them
-- comes from backprop.compat, spec/bytes.lua (string.pack, bitwise
-- operations) and the few helpers below (H.unpack, H.pack, H.move,
-- H.execute, H.lua_version).
local bp = require("backprop")
local compat = require("backprop.compat")
local B = require("bytes")
-- luassert's assert, so busted reports a failed check as a failure (the
-- plain Lua assert would be counted as an error)
local assert = require("luassert")

local H = {}

local function is_tensor(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "backprop.Tensor"
end
H.is_tensor = is_tensor

--- The values of a tensor, a nested table or a number, as one flat list.
function H.flat(v, out)
  out = out or {}
  if is_tensor(v) then v = v:totable() end
  if type(v) == "number" then
    out[#out + 1] = v
  else
    for i = 1, #v do H.flat(v[i], out) end
  end
  return out
end

local function shape_of(v)
  if is_tensor(v) then return table.concat(v:shape(), "x") end
  if type(v) == "number" then return "scalar" end
  local dims, t = {}, v
  while type(t) == "table" do dims[#dims + 1] = #t; t = t[1] end
  return table.concat(dims, "x")
end

--- table.unpack (5.1 and LuaJIT: unpack), table.pack and table.move,
-- on every Lua.
H.unpack = compat.unpack
function H.pack(...)
  return { n = select("#", ...), ... }
end
function H.move(a, f, e, t, b)
  b = b or a
  for i = 0, e - f do b[t + i] = a[f + i] end
  return b
end

--- The running Lua as a name: "lua5.1" .. "lua5.4" or "luajit".
H.lua_version = jit and "luajit" or ("lua" .. _VERSION:sub(5))

--- os.execute(cmd) as a boolean (5.1 and LuaJIT return a status number,
-- which is true either way).
function H.execute(cmd)
  local a, _, code = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and (code == nil or code == 0)
end

--- Whether this Lua has to-be-closed variables (`local x <close> = v`, 5.4).
H.has_close = (loadstring or load)("local x <close> = nil") ~= nil   -- luacheck: ignore

--- f(obj), with obj closed when f returns or raises: through a to-be-closed
-- variable (its __close metamethod) where Lua has them, else by calling
-- obj:close() afterwards. Returns f's results.
local closing = H.has_close and (loadstring or load)([[   -- luacheck: ignore
  return function(obj, f) local x <close> = obj; return f(x) end]])()
function H.closing(obj, f)
  if closing then return closing(obj, f) end
  local r = H.pack(pcall(f, obj))
  obj:close()
  if not r[1] then error(r[2], 0) end
  return H.unpack(r, 2, r.n)
end

--- -0.0, made at run time: Lua 5.1 merges a literal -0.0 with a 0 of the
-- same function into one constant.
H.NEG_ZERO = -1 / math.huge

--- The float32 nearest to x: the value a tensor stores for x.
function H.f32(x)
  return (B.unpack("<f", B.pack("<f", x)))
end

--- One number: |actual - expected| <= tol * max(1, |expected|) (tol
-- defaults to 1e-6); `what` names it in the failure message.
function H.near(actual, expected, tol, what)
  tol = tol or 1e-6
  assert(type(actual) == "number",
         (what or "value") .. ": expected a number, got " .. type(actual))
  assert(math.abs(actual - expected) <= tol * math.max(1, math.abs(expected)),
         string.format("%s: expected %.9g, got %.9g", what or "value", expected, actual))
end

--- A uint8 tensor's values as a string of bytes, to compare with a file's
-- bytes (about 0.1 s a megabyte).
function H.bytes(t)
  assert(t:dtype() == "uint8", "expected a uint8 tensor, got " .. t:dtype())
  local v, out = t:reshape(t:numel()):totable(), {}
  for i = 1, #v, 4096 do out[#out + 1] = string.char(H.unpack(v, i, math.min(i + 4095, #v))) end
  return table.concat(out)
end

--- Compare two tensors / nested tables / numbers elementwise:
-- |actual - expected| <= atol + rtol * |expected|. Returns ok, message
-- (the message names the worst element, its values and the max deviation).
function H.compare(actual, expected, atol, rtol)
  atol, rtol = atol or 1e-6, rtol or 0
  local a, e = H.flat(actual), H.flat(expected)
  if #a ~= #e then
    return false, string.format("size mismatch: actual %s (%d values), expected %s (%d values)",
      shape_of(actual), #a, shape_of(expected), #e), math.huge
  end
  local worst, worst_i, maxdev = -1, nil, 0
  for i = 1, #a do
    local d = math.abs(a[i] - e[i])
    if d ~= d then d = math.huge end                       -- NaN
    if d > maxdev then maxdev = d end
    local excess = d - (atol + rtol * math.abs(e[i]))
    if excess > worst then worst, worst_i = excess, i end
  end
  if worst > 0 then
    return false, string.format(
      "element %d of %s: actual %.9g, expected %.9g (|diff| %.3g > atol %.3g + rtol %.3g * |expected|); max |diff| %.3g",
      worst_i, shape_of(expected), a[worst_i], e[worst_i], math.abs(a[worst_i] - e[worst_i]),
      atol, rtol, maxdev), maxdev
  end
  return true, nil, maxdev
end

--- assert version of compare; `what` prefixes the failure message.
-- Returns the max absolute deviation.
function H.assert_close(actual, expected, atol, rtol, what)
  local ok, msg, maxdev = H.compare(actual, expected, atol, rtol)
  assert(ok, (what and what .. ": " or "") .. tostring(msg))
  return maxdev
end

--- Bitwise equality of float32 values (float32 -> double is exact, so
-- comparing the Lua numbers compares the bits; NaN never appears here).
function H.assert_same(actual, expected, what)
  local a, e = H.flat(actual), H.flat(expected)
  assert(#a == #e, (what or "") .. ": sizes differ")
  for i = 1, #a do
    if a[i] ~= e[i] then
      assert(false, string.format("%s: element %d differs: %.9g vs %.9g", what or "values", i, a[i], e[i]))
    end
  end
end

--- Copy values (nested tables or tensors, in net:parameters() order:
-- weight then bias per Linear) into a network. Returns the network.
function H.set_params(net, values)
  local params = net:parameters()
  assert(#params == #values, string.format("network has %d parameter tensors, got %d", #params, #values))
  for i, v in ipairs(values) do
    params[i]:copy(is_tensor(v) and v or bp.tensor(v))
  end
  return net
end

--- Clones of a network's parameters (or gradients, with which = 2).
function H.snapshot(net, which)
  local lists = { net:parameters() }
  local out = {}
  for i, t in ipairs(lists[which or 1]) do out[i] = t:clone() end
  return out
end

--- Finite-difference gradient check.
-- objective(): a number (double) computed from the current value of x;
-- x: the tensor to perturb (restored afterwards); analytic: dObjective/dx,
-- same shape as x. Central differences with step h (the actual float32
-- step is used as denominator). Passes when, elementwise,
--   |num - ana| <= atol + rtol * max(|num|, |ana|)
-- and, over all elements, ||num - ana|| <= ntol * max(||num||, ||ana||)
-- + atol * sqrt(#x). Returns ok, message (worst element, norm ratio), and
-- the max |num - ana|.
function H.gradcheck(objective, x, analytic, opts)
  opts = opts or {}
  local h, atol, rtol = opts.h or 1e-2, opts.atol or 1e-3, opts.rtol or 1e-2
  local ntol = opts.ntol or 5e-3
  local n = x:numel()
  local xf = x:reshape(n)
  local ana = H.flat(analytic)
  if #ana ~= n then
    return false, string.format("analytic gradient has %d values, x has %d", #ana, n)
  end
  local worst, worst_i, worst_num, maxdiff = -math.huge, nil, nil, 0
  local dd, nn, aa = 0, 0, 0
  for i = 1, n do
    local orig = xf:get(i)
    xf:set(i, orig + h)
    local xp = xf:get(i)
    local fp = objective()
    xf:set(i, orig - h)
    local xm = xf:get(i)
    local fm = objective()
    xf:set(i, orig)
    local num = (fp - fm) / (xp - xm)
    local d = math.abs(num - ana[i])
    if d ~= d then d = math.huge end
    if d > maxdiff then maxdiff = d end
    local excess = d - (atol + rtol * math.max(math.abs(num), math.abs(ana[i])))
    if excess > worst then worst, worst_i, worst_num = excess, i, num end
    dd, nn, aa = dd + d * d, nn + num * num, aa + ana[i] * ana[i]
  end
  local scale = math.max(math.sqrt(nn), math.sqrt(aa))
  local ratio = math.sqrt(dd) / math.max(scale, 1e-30)
  local ok = worst <= 0 and math.sqrt(dd) <= ntol * scale + atol * math.sqrt(n)
  local a = ana[worst_i]
  local msg = string.format(
    "%s: worst element %d of %d: numeric %.7g vs analytic %.7g (|diff| %.3g, allowed %.3g); ||num - ana|| / ||ana|| = %.3g (allowed %.3g + atol term)",
    ok and "gradients match" or "gradient MISMATCH", worst_i, n, worst_num, a, math.abs(worst_num - a),
    atol + rtol * math.max(math.abs(worst_num), math.abs(a)), ratio, ntol)
  return ok, msg, maxdiff
end

-- Comparisons with PyTorch's values committed under spec/reference/
-- (reference_spec, optim_ref_spec).

--- A Sequential built from a reference file's layer list ({ "Linear",
-- in, out }, { "LeakyReLU", slope }, { "Tanh" }, ...) with its parameters.
function H.reference_net(layers, params)
  local mods = {}
  for i, l in ipairs(layers) do
    if l[1] == "Linear" then mods[i] = bp.Linear(l[2], l[3])
    elseif l[1] == "LeakyReLU" then mods[i] = bp.LeakyReLU(l[2])
    else mods[i] = bp[l[1]]() end
  end
  return H.set_params(bp.Sequential(mods), params)
end

--- A checker of values against PyTorch's, within atol + rtol * |expected|,
-- that keeps the largest deviation of each kind:
--   R.close(actual, expected, kind, what)  H.assert_close, deviation noted
--   R.note(kind, d)                        note a deviation computed apart
--   R.step(case, net, step, value, kind)   the loss `value` before optimizer
--     step `step` and net's parameters after it vs case.losses[step] and
--     case.params[step]
--   R.trajectory(case, net, loss, x, target, steps, by_train_step, kind)
--     runs `steps` steps of bp[case.optimizer](net, case.options), by
--     forward/backward/step or by net:train_step, each checked by R.step;
--     returns the optimizer
--   R.apart(cases, steps, pairs)  every pair { a, b } of case names ends
--     (parameters after `steps` steps) more than 50 atol apart: the
--     comparison only has teeth if each option moves the trajectory by
--     much more than the tolerance
--   R.report()  prints the largest deviations (a teardown when
--     BACKPROP_REF_VERBOSE is set)
function H.reference(atol, rtol)
  local R, maxdev = {}, {}

  function R.note(kind, d)
    if d > (maxdev[kind] or 0) then maxdev[kind] = d end
  end

  function R.close(actual, expected, kind, what)
    R.note(kind, H.assert_close(actual, expected, atol, rtol, what))
  end

  function R.step(case, net, step, value, kind)
    R.close(value, case.losses[step], kind, ("%s step %d loss"):format(case.name, step))
    for i, p in ipairs(net:parameters()) do
      R.close(p, case.params[step][i], kind, ("%s: parameter %d after step %d"):format(case.name, i, step))
    end
  end

  function R.trajectory(case, net, loss, x, target, steps, by_train_step, kind)
    local opt = bp[case.optimizer](net, case.options)
    for step = 1, steps do
      local value
      if by_train_step then
        value = net:train_step(x, target, loss, opt)
      else
        opt:zero_grad()
        value = loss:forward(net:forward(x), target)
        net:backward(loss:backward())
        opt:step()
      end
      R.step(case, net, step, value, kind)
    end
    return opt
  end

  function R.apart(cases, steps, pairs)
    local by = {}
    for _, c in ipairs(cases) do by[c.name] = c.params[steps] end
    for _, p in ipairs(pairs) do
      local a, b = by[p[1]], by[p[2]]
      assert(a and b, "missing reference case " .. p[1] .. " or " .. p[2])
      local _, _, d = H.compare(a, b, 0, 0)
      assert(d > 50 * atol, ("%s and %s differ by only %.3g"):format(p[1], p[2], d))
    end
  end

  function R.report()
    local kinds = {}
    for k in pairs(maxdev) do kinds[#kinds + 1] = k end
    table.sort(kinds)
    for _, k in ipairs(kinds) do io.stderr:write(("max |ours - torch| %-22s %.3g\n"):format(k, maxdev[k])) end
  end

  return R
end

-- The randomized gradient checks (gradcheck_spec, layers_gradcheck_spec,
-- losses_gradcheck_spec) run every case under a list of seeds.

--- The seeds of a gradient-check spec: `list`, plus the seed in
-- BACKPROP_GRADCHECK_SEED when set (to rerun every case under another).
function H.gradcheck_seeds(list)
  local extra = tonumber(os.getenv("BACKPROP_GRADCHECK_SEED") or "")
  if extra then list[#list + 1] = compat.tointeger(extra) end
  return list
end

--- Seed both generators: bp's (weights, randn) and Lua's (sizes).
function H.seeded(seed)
  bp.manual_seed(seed)
  math.randomseed(seed)
end

--- A failure context that says how to rerun the case.
function H.gradcheck_ctx(seed, what)
  return string.format("seed %d (rerun: BACKPROP_GRADCHECK_SEED=%d) %s", seed, seed, what)
end

--- A tensor of the given shape, uniform in [lo, hi).
function H.uniform(shape, lo, hi)
  return bp.rand(shape) * (hi - lo) + lo
end

--- Move every value with |v| < margin to sign(v) * (margin + |v|): keeps
-- inputs away from kinks (ReLU, ELU), which central differences would
-- straddle. Changes t in place and returns it.
function H.away_from_zero(t, margin)
  local f = t:reshape(t:numel())
  for i = 1, f:numel() do
    local v = f:get(i)
    if math.abs(v) < margin then f:set(i, (v < 0 and -1 or 1) * (margin + math.abs(v))) end
  end
  return t
end

--- n random class labels in 1..c, as a vector (or as an n x 1 column).
function H.labels(n, c, as_column)
  local t = {}
  for i = 1, n do t[i] = as_column and { math.random(1, c) } or math.random(1, c) end
  return bp.tensor(t)
end

--- sum(out .* rf) in double, rf a flat list of out's size.
function H.dot(out, rf)
  local o, s = H.flat(out), 0.0
  for i = 1, #o do s = s + o[i] * rf[i] end
  return s
end

--- Check dL/dx (unless opts.skip_x) and dL/dparameters of net at x for
-- L = sum(net(x) .* R), R a fixed random tensor, against central
-- differences (H.gradcheck with tolerances tol); `what` starts every
-- failure message. opts.before() runs before every forward (Dropout
-- reseeds there so each pass draws the same mask). Returns net:backward(R)
-- and the number of parameter tensors checked.
function H.check_net(net, x, what, tol, opts)
  opts = opts or {}
  local before = opts.before or function() end
  before()
  local R = bp.randn(net:forward(x):shape())
  local rf = H.flat(R)
  local function objective() before() return H.dot(net:forward(x), rf) end
  net:zero_grad()
  before()
  net:forward(x)
  local dx = net:backward(R):clone()
  local params, grads = net:parameters()
  if not opts.skip_x then
    local ok, msg = H.gradcheck(objective, x, dx, tol)
    assert(ok, what .. ", dL/dx: " .. msg)
  end
  for i, p in ipairs(params) do
    local ok, msg = H.gradcheck(objective, p, grads[i]:clone(), tol)
    assert(ok, what .. ", dL/dparameter " .. i .. ": " .. msg)
  end
  return dx, #params
end

-- Errors: the message f(...) raises, checked piece by piece.

--- The message of the error f(...) raises; fails the test if f succeeds
-- or raises something other than a string.
function H.err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, but the call succeeded")
  assert(type(err) == "string", "error value is a " .. type(err) .. ", not a string")
  return err
end

--- The error of f(...) must contain every literal piece (a string or a
-- list of strings), in any order. Returns the message.
function H.raises(pieces, f, ...)
  local err = H.err_of(f, ...)
  if type(pieces) == "string" then pieces = { pieces } end
  for _, p in ipairs(pieces) do
    assert(err:find(p, 1, true), string.format("error message lacks %q:\n  %s", p, err))
  end
  return err
end

--- Same, for a message that has to match a Lua pattern (e.g. for NaN,
-- which C prints as "nan" or "-nan").
function H.raises_match(pattern, f, ...)
  local err = H.err_of(f, ...)
  assert(err:find(pattern), string.format("error message does not match %q:\n  %s", pattern, err))
  return err
end

-- Files: a fresh temporary directory, and whole-file reads and writes.
function H.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(H.execute("mkdir -p '" .. d .. "'"), "mkdir -p " .. d .. " failed")
  return d
end

function H.rmtree(d)
  os.execute("rm -rf '" .. d .. "'")
end

function H.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

function H.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function H.write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

-- Screenshots (plot_spec: Chromium's; love_spec: LÖVE's), decoded by
-- Pillow in Debian's Python. The processes run without the sanitizer
-- library `make asan` preloads into this one.
local PYTHON = "/usr/bin/python3"

--- Why PNG files cannot be decoded here (a reason for pending), or nil.
function H.png_missing()
  if not H.execute("unset LD_PRELOAD; " .. PYTHON .. " -c 'import PIL' >/dev/null 2>&1") then
    return "python3-pil is not installed (needed to decode the screenshot)"
  end
end

--- The PNG file at path as { width, height, data = RGB bytes row by row,
-- pixel = function(x, y) -> r, g, b (0-based) }.
function H.png_rgb(path)
  local rgb = path .. ".rgb"
  assert(H.execute(string.format(
    "unset LD_PRELOAD; %s -c 'import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert(\"RGB\"); "
    .. "open(sys.argv[2], \"wb\").write(bytes(im.size[0].to_bytes(4, \"little\") + "
    .. "im.size[1].to_bytes(4, \"little\")) + im.tobytes())' '%s' '%s'",
    PYTHON, path, rgb)), "could not decode the screenshot " .. path)
  local raw = H.read(rgb)
  os.remove(rgb)
  local w, h = B.unpack("<I4I4", raw)
  local img = { width = w, height = h, data = raw:sub(9) }
  function img.pixel(x, y)
    local i = (y * w + x) * 3 + 1
    return img.data:byte(i, i + 2)
  end
  return img
end

-- Model files (serialize.h), for specs that take them apart.

--- CRC-32 (IEEE, reflected, polynomial 0xEDB88320) of a string: what a
-- model file ends with.
H.crc32 = B.crc32

--- A model file of these bytes followed by their checksum.
function H.with_crc(body)
  return body .. B.pack("<I4", H.crc32(body))
end

--- The layer records of a model file of format version 2, from byte `at`
-- (17, after the header): a list of { kind =, len =, settings = { {name,
-- type, value} ... }, state = { ... } } (a pair's value is {h, w}), and
-- the position after them.
function H.model_records(s, nlayers, at)
  local out = {}
  for i = 1, nlayers do
    local kind, len, n
    kind, len, n, at = B.unpack("<I4I4I4", s, at)
    local r = { kind = kind, len = len, settings = {}, state = {} }
    local stop = at - 4 + len
    for k = 1, n do
      local name, ty, v
      name, ty, at = B.unpack("<s1B", s, at)
      if ty == 1 then v, at = B.unpack("<I4", s, at)
      elseif ty == 2 then
        v = {}
        v[1], v[2], at = B.unpack("<I4I4", s, at)
      else v, at = B.unpack("<f", s, at) end
      r.settings[k] = { name, ty, v }
    end
    local ns
    ns, at = B.unpack("<I4", s, at)
    for k = 1, ns do r.state[k], at = B.unpack("<f", s, at) end
    assert(at == stop, "record " .. i .. " is not " .. len .. " bytes long")
    out[i] = r
  end
  return out, at
end

-- One training step written out by hand (forward, loss, zero_grad,
-- backward, step): the reference net:train_step must match bit for bit.
function H.manual_step(net, x, y, loss, opt)
  local l = loss:forward(net:forward(x), y)
  net:zero_grad()
  net:backward(loss:backward())
  opt:step()
  return l
end

return H
