-- The LuaJIT fast path (src/backprop/ffi.lua): under LuaJIT with its
-- compiler on, net:forward(tbl, outtbl) goes through the FFI to the same
-- core call. It must be taken once a network is warm, give the classic
-- call's results bit for bit (Dropout's draws included), and leave every
-- unusual case to the classic call, with its messages.
local bp = require("backprop")
local H = require("helper")

local core = require("backprop.core")

local function game_net(seed)
  bp.manual_seed(seed or 3)
  return bp.Sequential{bp.Linear(16, 32), bp.Tanh(), bp.Linear(32, 32), bp.Tanh(), bp.Linear(32, 4)}
end

local function input(k)
  local x = {}
  for i = 1, 16 do x[i] = math.sin(i * (k or 1)) end
  return x
end

-- The message of net:forward(...) failing.
local function err_of(net, ...)
  local ok, err = pcall(net.forward, net, ...)
  assert.is_false(ok, "expected an error")
  return err
end

local active = jit ~= nil and jit.status() and pcall(require, "ffi")

describe("the LuaJIT FFI path of net:forward(tbl, outtbl)", function()
  if not active then
    it("is not installed (net:forward is the C function)", function()
      assert.equal(core.Module.forward, bp.Module.forward)
    end)
    pending("the FFI path itself: LuaJIT with its compiler on only (this is " .. H.lua_version .. ")")
    return
  end

  it("is installed", function()
    assert.equal("function", type(bp.Module.forward))
    assert.is_nil(debug.getinfo(bp.Module.forward, "S").what == "C" or nil, "net:forward is still the C function")
  end)

  -- A fresh install on a copy whose classic call is counted: once warm,
  -- the classic call never runs.
  it("takes the FFI call once a network is warm", function()
    local classic, calls = bp.Module.forward, 0
    -- the installed wrapper sends tensors straight to the C function
    local c_forward = function(net, x, out)
      calls = calls + 1
      local y = classic(net, bp.tensor(x)):totable()
      if not out then return y end
      for i = 1, #y do out[i] = y[i] end
      return out
    end
    local copy = { forward = c_forward }
    assert.is_true(require("backprop.ffi").install(copy, core.internal))
    local net, out = game_net(), {}
    for k = 1, 200 do copy.forward(net, input(k), out) end
    assert.equal(1, calls)
    assert.is_false(pcall(copy.forward, net, { 1, 2 }, out))   -- a wrong width: the classic call decides
    assert.equal(2, calls)
  end)

  it("gives the tensor path's outputs bit for bit", function()
    local net, out = game_net(), {}
    for k = 1, 100 do
      local x = input(k)
      net:forward(x, out)
      local ref = net:forward(bp.tensor(x)):totable()
      H.assert_same(out, ref, "input " .. k)
    end
  end)

  it("takes the FFI call for a shape too wide for straight-line copies, with the tensor path's bits", function()
    local classic, calls = bp.Module.forward, 0
    local copy = { forward = function(net, x, out)
      calls = calls + 1
      return classic(net, x, out)
    end }
    assert.is_true(require("backprop.ffi").install(copy, core.internal))
    bp.manual_seed(4)
    local net, out = bp.Sequential{bp.Linear(100, 70), bp.Tanh()}, {}
    for k = 1, 60 do
      local x = {}
      for i = 1, 100 do x[i] = math.sin(i * k) end
      copy.forward(net, x, out)
      H.assert_same(out, net:forward(bp.tensor(x)):totable(), "input " .. k)
    end
    assert.equal(1, calls)
  end)

  it("compiles the game loop without aborting a trace in its code", function()
    local util = require("jit.util")
    local aborts = {}
    local function on_trace(what, _, func, pc, err)
      local src = what == "abort" and util.funcinfo(func).source or ""
      if src:find("ffi.lua", 1, true) or src:find("backprop.ffi", 1, true) then
        aborts[#aborts + 1] = ("%s:%s (%s)"):format(src, tostring(util.funcinfo(func, pc).currentline),
                                                    tostring(require("jit.vmdef").traceerr[err]))
      end
    end
    local net, out, xs, sum = game_net(), {}, {}, 0
    for k = 1, 64 do xs[k] = input(k) end
    jit.attach(on_trace, "trace")
    for _ = 1, 20 do
      for k = 1, 64 do
        net:forward(xs[k], out)
        sum = sum + out[1]
      end
    end
    jit.attach(on_trace)
    assert.is_true(sum == sum)
    assert.same({}, aborts)
  end)

  it("draws Dropout's masks as the tensor path does (training mode)", function()
    local function outputs(as_table)
      bp.manual_seed(11)
      local net = bp.Sequential{bp.Linear(16, 32), bp.ReLU(), bp.Dropout(0.5), bp.Linear(32, 4)}
      local got = {}
      for k = 1, 50 do
        local x = input(k)
        got[k] = as_table and net:forward(x) or net:forward(bp.tensor(x)):totable()
      end
      return got
    end
    local a, b = outputs(true), outputs(false)
    for k = 1, 50 do H.assert_same(a[k], b[k], "call " .. k) end
  end)

  it("grows its buffers for a network that takes any width", function()
    local net = bp.Sequential{bp.ReLU()}
    assert.same({ 0, 2 }, net:forward({ -1, 2 }))
    assert.same({ 0, 2 }, net:forward({ -1, 2 }))
    assert.same({ 0, 2, 0, 4 }, net:forward({ -1, 2, -3, 4 }))
    assert.same({ 1 }, net:forward({ 1 }))
  end)

  it("leaves misuse after warm-up to the classic call: the same messages, and the network stays usable", function()
    local function bad_calls(net)
      local x = input()
      local errs = {}
      errs[1] = err_of(net, {})
      x[5] = "abc"
      errs[2] = err_of(net, x)
      x[5] = 0 / 0
      errs[3] = err_of(net, x)
      x[5] = math.huge
      errs[4] = err_of(net, x)
      errs[5] = err_of(net, { 1, 2, 3 })
      x[5] = 1
      errs[6] = err_of(net, x, 7)
      return errs
    end
    local cold = bad_calls(game_net())
    local warm_net = game_net()
    local want = warm_net:forward(input())
    local warm = bad_calls(warm_net)
    assert.same(cold, warm)
    assert.truthy(warm[3]:find("input[5] must be finite", 1, true), warm[3])
    assert.same(want, warm_net:forward(input()))
  end)

  it("a numeric string is read as the classic call reads it", function()
    local net = game_net()
    net:forward(input())
    local x = input()
    x[3] = tostring(x[3])
    assert.same(net:forward(input()), net:forward(x))
  end)

  it("refuses a closed network, and follows one put into a container", function()
    local net = game_net()
    net:forward(input())
    net:close()
    assert.truthy(err_of(net, input()):find("closed", 1, true))

    local l = bp.Linear(16, 4)
    local before = l:forward(input())
    local seq = bp.Sequential{l, bp.Tanh()}
    seq:parameters()[1]:fill(0.01)
    local after = l:forward(input())
    assert.are_not.same(before, after)
    H.assert_same(after, l:forward(bp.tensor(input())):totable(), "the child")
  end)
end)
