-- What the fuzzers found (fuzz/, `make fuzz`), each kept as the input that
-- found it (spec/fixtures/fuzz/, the file as the target wrote it) and the
-- clean error it must now give: a message that starts with the backprop
-- function's name, names the file, and carries no position inside the
-- library ("src/backprop/fit.lua:361: ..."), which Lua adds to an error a
-- C function of the binding raises when a Lua module calls it.

local bp = require("backprop")
local H = require("helper")
local N = dofile("spec/reference/interchange_nets.lua")
local internal = require("backprop.core").internal

local DIR = "spec/fixtures/fuzz/"

-- err starts with fn's name and holds every piece; no library position.
local function clean(err, fn, pieces)
  assert.are.equal(fn .. ": ", err:sub(1, #fn + 2), "the message starts elsewhere: " .. err)
  assert.is_nil(err:find("%.lua:%d+: "), "a position inside the library: " .. err)
  for _, p in ipairs(pieces) do
    assert(err:find(p, 1, true), ("the message lacks %q: %s"):format(p, err))
  end
end

describe("fuzz findings (lua_load target)", function()
  it("a safetensors file with trailing bytes: load_safetensors names the file, no position", function()
    local path = DIR .. "trailing_bytes.safetensors"
    local net = N.roundtrip.cnn.build(bp)
    local before = net:parameters()[1]:clone()
    clean(H.err_of(net.load_safetensors, net, path), "backprop.Sequential:load_safetensors",
          { "'" .. path .. "': bad safetensors file", "(trailing bytes)" })
    assert.are.same(before:totable(), net:parameters()[1]:totable())
    clean(H.err_of(bp.safetensors.load, path), "backprop.safetensors.load", { "'" .. path .. "'" })
  end)

  it("an I64 value float32 cannot take: bp.safetensors.load names the file", function()
    local path = DIR .. "i64_inexact.safetensors"
    clean(H.err_of(bp.safetensors.load, path), "backprop.safetensors.load",
          { "'" .. path .. "': tensor 'i64' (I64) holds -72057594037927936" })
  end)

  it("a checkpoint whose optimizer state lost its step: restore's error, no position", function()
    local path = DIR .. "adam_no_step.ckpt"
    local net = bp.load(path)
    local opt = bp.Adam(net, { lr = 0.01 })
    local state = opt:state()
    clean(H.err_of(bp.checkpoint.restore, path, { net = net, optimizer = opt }), "backprop.checkpoint.restore",
          { "backprop.Adam:load_state: state.step must be an integer >= 0, got nil" })
    assert.are.equal(state.step, opt:state().step)
  end)

  it("a fit checkpoint with a damaged best_params: fit{resume} says the file is corrupt, "
     .. "before anything is restored", function()
    local path = DIR .. "fit_best_params.ckpt"
    local net = bp.load(path)
    local weights = net:parameters()[1]:clone()
    bp.manual_seed(1)
    local x, y = bp.randn(12, 3), bp.randn(12, 2)
    local opt = bp.SGD(net, { lr = 0.1, momentum = 0.9 })
    local err = H.err_of(net.fit, net, x, y, {
      loss = bp.MSELoss(), optimizer = opt, epochs = 3, batch_size = 4, progress = false,
      scheduler = bp.lr_scheduler.StepLR(opt, { step_size = 1, gamma = 0.5 }),
      validation = { x, y }, restore_best = true, resume = path,
    })
    clean(err, "backprop.Module:fit",
          { "'" .. path .. "' is corrupt (checkpoint of fit: best_params[3] is not a tensor of shape 2x4)" })
    assert.are.same(weights:totable(), net:parameters()[1]:totable())
    assert.are.equal(0, opt:state().step)
  end)

  it("a fit checkpoint with other damaged fields: each named, never a Lua error", function()
    -- The same checkpoint, its fit fields changed one at a time.
    local path = DIR .. "fit_best_params.ckpt"
    local dir = H.tmpdir()
    local cases = {
      { function(ck) ck.history.loss = "x" end, "history.loss is string, not a list" },
      { function(ck) ck.history.lr[2] = "fast" end, "history.lr[2] is string" },
      { function(ck) ck.history.best_epoch = 1.5 end, "history.best_epoch is 1.5" },
      { function(ck) ck.history.plot = {} end, "history has the key plot" },
      { function(ck) ck.fit.best = "low" end, "best is string" },
      { function(ck) ck.fit.bad = -1 end, "bad is -1" },
      { function(ck) ck.epoch = 2.5 end, "epoch is 2.5" },
    }
    for i, c in ipairs(cases) do
      local ck = bp.checkpoint.load(path)
      local net = ck.net
      ck.net, ck.fit.best_params = nil, nil
      c[1](ck)
      -- written as bp.checkpoint.save writes it, from the states as they are
      local out = dir .. "/c" .. i .. ".ckpt"
      net:save(out, nil, { checkpoint = internal.encode(ck, "spec", "checkpoint") })
      local opt = bp.SGD(net, { lr = 0.1, momentum = 0.9 })
      local x, y = bp.randn(12, 3), bp.randn(12, 2)
      local err = H.err_of(net.fit, net, x, y, {
        loss = bp.MSELoss(), optimizer = opt, epochs = 3, batch_size = 4, progress = false,
        scheduler = bp.lr_scheduler.StepLR(opt, { step_size = 1, gamma = 0.5 }),
        validation = { x, y }, resume = out,
      })
      clean(err, "backprop.Module:fit", { "'" .. out .. "' is corrupt (checkpoint of fit: " .. c[2] })
    end
    H.rmtree(dir)
  end)

  it("a NaN target: fit's error carries no position inside the library", function()
    local net = bp.Sequential { bp.Linear(2, 1) }
    local y = bp.zeros(4, 1)
    y:set(3, 1, 0 / 0)
    clean(H.err_of(net.fit, net, bp.randn(4, 2), y, { loss = bp.MSELoss(), optimizer = bp.SGD(net),
                                                       epochs = 1, progress = false }),
          "backprop.Sequential:fit", { "target contains" })
  end)
end)
