-- What fit shows while it trains (src/backprop/progress.lua): on a
-- terminal a bar within the epoch, redrawn at most ten times a second,
-- then a summary line per epoch; one line per epoch when stderr is not a
-- terminal; nothing with progress = false, and by default nothing for a
-- fit shorter than a second. Output and clock are replaced here: the
-- module takes them as arguments, fit reads io.stderr, core.clock and
-- internal.stderr_isatty when called.
local bp = require("backprop")
local core = require("backprop.core")
local internal = core.internal   -- the test hook (see src/lua/lbackprop.c)
local Progress = require("backprop.progress")

-- An output that keeps what is written.
local function sink()
  local s = { parts = {} }
  function s:write(...)
    for _, v in ipairs({...}) do self.parts[#self.parts + 1] = tostring(v) end
    return self
  end
  function s:flush() return self end
  function s:text() return table.concat(self.parts) end
  return s
end

-- A clock that moves only when told.
local function fake_clock()
  local c = { now = 0 }
  c.read = function() return c.now end
  return c
end

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

describe("the progress display", function()
  it("redraws the bar at most ten times a second, with rate, ETA and loss", function()
    local out, clock = sink(), fake_clock()
    local p = Progress.new{mode = "bar", out = out, clock = clock.read, epochs = 2, batches = 200,
                           samples = 6400}
    p:epoch_start()
    for b = 1, 200 do
      clock.now = clock.now + 0.01          -- 2 s for the epoch: about 20 redraws
      p:update(1, b, 32 * b, 1 / b)
    end
    local drawn = count(out:text(), "\r")
    assert(drawn >= 19 and drawn <= 21, "redraws: " .. drawn)
    assert.matches("epoch 1/2 %[=+>? *%] %d+/200  3200 samples/s  ETA 0:%d%d  loss ", out:text())
    p:epoch_end(1, 200, 6400, {{"loss", 0.25}, {"val_loss", 0.5}})
    local last = out:text():match("\r([^\r]*)$")
    assert.matches("^epoch 1/2  200/200  2%.0s  3200 samples/s  loss 0%.25  val_loss 0%.5 *\n$", last)
    p:finish()                              -- the line is already ended
    assert.are.equal("\n", out:text():sub(-1))
  end)

  it("writes one plain line per epoch for a log", function()
    local out, clock = sink(), fake_clock()
    local p = Progress.new{mode = "lines", out = out, clock = clock.read, epochs = 3, batches = 10,
                           samples = 100}
    assert.is_false(p:wants_updates())
    for e = 1, 3 do
      p:epoch_start()
      p:update(e, 5, 50, 1)
      clock.now = clock.now + 1
      p:epoch_end(e, 10, 100, {{"loss", e}})
    end
    assert.are.equal("epoch 1/3  10/10  1.0s  100 samples/s  loss 1\n" ..
                     "epoch 2/3  10/10  1.0s  100 samples/s  loss 2\n" ..
                     "epoch 3/3  10/10  1.0s  100 samples/s  loss 3\n", out:text())
  end)

  it("with a delay, shows nothing until training has run that long", function()
    local out, clock = sink(), fake_clock()
    local p = Progress.new{mode = "bar", out = out, clock = clock.read, epochs = 5, batches = 4,
                           samples = 40, delay = 1}
    for e = 1, 5 do
      p:epoch_start()
      for b = 1, 4 do
        clock.now = clock.now + 0.06
        p:update(e, b, 10 * b, 1)
      end
      p:epoch_end(e, 4, 40, {{"loss", 1}})
    end
    -- 0.24 s an epoch: epochs 1-4 end before 1 s, epoch 5 shows.
    local text = out:text()
    assert.is_nil(text:find("epoch [1-4]/5"))
    assert.matches("epoch 5/5  4/4", text, 1, true)
  end)
end)

describe("fit's progress option", function()
  local saved = {}
  before_each(function()
    saved.stderr, saved.isatty, saved.clock = io.stderr, internal.stderr_isatty, core.clock
  end)
  after_each(function()
    io.stderr, internal.stderr_isatty, core.clock = saved.stderr, saved.isatty, saved.clock
  end)

  -- fit with stderr captured, as a terminal or not; returns what it wrote.
  local function run(tty, progress, epochs, n)
    local out = sink()
    io.stderr = out
    internal.stderr_isatty = function() return tty end
    bp.manual_seed(1)
    n = n or 64
    local x, y = bp.randn(n, 3), bp.randn(n, 1)
    local net = bp.Sequential{bp.Linear(3, 4), bp.Tanh(), bp.Linear(4, 1)}
    net:fit(x, y, {loss = bp.MSELoss(), optimizer = bp.SGD(net), epochs = epochs or 3, batch_size = 8,
                   progress = progress, validation = {x, y}})
    io.stderr = saved.stderr
    return out:text()
  end

  it("writes one line per epoch when stderr is not a terminal and progress = true", function()
    local text = run(false, true)
    assert.are.equal(3, count(text, "\n"))
    assert.is_nil(text:find("\r", 1, true))
    for e = 1, 3 do
      assert.matches(("epoch %d/3  8/8  [%%d.]+s  %%d+ samples/s  loss [%%d.e-]+  val_loss [%%d.e-]+\n"):format(e), text)
    end
  end)

  it("writes nothing with progress = false, or by default when stderr is not a terminal", function()
    assert.are.equal("", run(true, false))
    assert.are.equal("", run(false, false))
    assert.are.equal("", run(false, nil))
  end)

  it("by default, on a terminal, shows nothing for a fit shorter than a second", function()
    assert.are.equal("", run(true, nil))
  end)

  it("draws the bar within an epoch on a terminal, driven by pieces of the epoch", function()
    -- Each reading of the clock moves it 20 ms: pieces of the epoch grow
    -- no longer than that, and the bar is redrawn inside the epoch.
    local now = 0
    core.clock = function() now = now + 0.02 return now end
    local text = run(true, true, 1, 4000)
    local mid = 0
    for batches in text:gmatch("epoch 1/1 %[[=> ]+%] (%d+)/500") do
      if tonumber(batches) < 500 then mid = mid + 1 end
    end
    assert(mid >= 2, "bars drawn inside the epoch: " .. mid .. "\n" .. text)
    assert.matches("epoch 1/1  500/500  [%d.]+s  %d+ samples/s  loss [%d.e-]+  val_loss [%d.e-]+ *\n$", text)
  end)

  it("ends an open bar when training stops inside an epoch", function()
    local out = sink()
    io.stderr = out
    internal.stderr_isatty = function() return true end
    local net = bp.Linear(2, 1)
    net:fit(bp.randn(20, 2), bp.randn(20, 1), {loss = bp.MSELoss(), optimizer = bp.SGD(net), batch_size = 2,
                                               progress = true, on_batch = function() return false end})
    io.stderr = saved.stderr
    assert.are.equal("\n", out:text():sub(-1))
    assert.matches("epoch 1/1  1/10", out:text(), 1, true)
  end)
end)
