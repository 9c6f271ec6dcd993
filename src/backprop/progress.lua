--- backprop.progress: what fit shows on stderr while it trains. Internal:
-- fit uses it, bp does not export it. Two forms:
--   "bar":   for a person at a terminal. Within an epoch, one line
--            rewritten in place (\r), at most ten times a second: batches
--            done, samples/s, time left in the epoch, the running loss.
--            At the epoch's end the line becomes the epoch's summary and
--            stays. With a delay, nothing shows before that many seconds
--            of training (short fits, in a game or a test, print nothing).
--   "lines": for a log (stderr not a terminal): the summary alone, one
--            line per epoch.
-- The output and the clock are given, so specs can drive it.

local compat = require("backprop.compat")
local Progress = {}
Progress.__index = Progress

local REDRAW = 0.1     -- seconds between two drawings of the bar
local WIDTH = 20       -- characters inside the bar's brackets

--- o: mode ("bar" or "lines"), out (an object with write and flush, as
-- io.stderr), clock (seconds), epochs, batches (per epoch), samples (per
-- epoch), delay (seconds before anything shows; bar only, default 0).
function Progress.new(o)
  local now = o.clock()
  return setmetatable({
    mode = o.mode, out = o.out, clock = o.clock, epochs = o.epochs,
    batches = o.batches, samples = o.samples, delay = o.delay or 0,
    started = now, epoch_started = now, drawn = -math.huge, width = 0,
    shown = (o.delay or 0) <= 0, open = false,
  }, Progress)
end

--- Whether update() can draw anything (fit then runs the epoch in pieces).
function Progress:wants_updates()
  return self.mode == "bar"
end

local function clock_text(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then
    return string.format("%d:%02d:%02d", compat.idiv(s, 3600), compat.idiv(s % 3600, 60), s % 60)
  end
  return string.format("%d:%02d", compat.idiv(s, 60), s % 60)
end

local function rate_text(seen, seconds)
  if seconds <= 0 then return "" end
  return string.format("  %.0f samples/s", seen / seconds)
end

-- Write text over the current line (bar mode): padded over what was there.
function Progress:draw(text, finish)
  local pad = self.width > #text and string.rep(" ", self.width - #text) or ""
  self.out:write("\r", text, pad, finish and "\n" or "")
  self.out:flush()
  self.width = finish and 0 or #text
  self.open = not finish
end

function Progress:epoch_start()
  self.epoch_started = self.clock()
end

--- After a piece of an epoch: `batch` batches and `seen` samples done, the
-- running loss `loss`.
function Progress:update(epoch, batch, seen, loss)
  if self.mode ~= "bar" then return end
  local now = self.clock()
  if not self.shown then
    if now - self.started < self.delay then return end
    self.shown = true
  end
  if now - self.drawn < REDRAW then return end
  self.drawn = now
  local elapsed = now - self.epoch_started
  local done = math.floor(WIDTH * batch / self.batches)
  local bar = string.rep("=", done) .. (done < WIDTH and ">" or "") ..
              string.rep(" ", WIDTH - done - 1)
  local eta = ""
  if seen > 0 and elapsed > 0 then
    eta = "  ETA " .. clock_text((self.samples - seen) * elapsed / seen)
  end
  self:draw(string.format("epoch %d/%d [%s] %d/%d%s%s  loss %.4g", epoch,
                          self.epochs, bar:sub(1, WIDTH), batch, self.batches,
                          rate_text(seen, elapsed), eta, loss))
end

--- The epoch's summary: batches run, time, rate, then `fields`, a list of
-- {name, value} (loss, val_loss, metrics, lr).
function Progress:epoch_end(epoch, batch, seen, fields)
  local now = self.clock()
  if self.mode == "bar" and not self.shown then
    if now - self.started < self.delay then return end
    self.shown = true
  end
  local elapsed = now - self.epoch_started
  local parts = {string.format("epoch %d/%d  %d/%d  %.1fs%s", epoch, self.epochs, batch,
                               self.batches, elapsed, rate_text(seen, elapsed))}
  for _, f in ipairs(fields) do
    parts[#parts + 1] = string.format("%s %.6g", f[1], f[2])
  end
  local text = table.concat(parts, "  ")
  if self.mode == "bar" then
    self:draw(text, true)
  else
    self.out:write(text, "\n")
    self.out:flush()
  end
end

--- Ends a bar left open (training stopped inside an epoch, or failed).
function Progress:finish()
  if self.open then
    self.out:write("\n")
    self.out:flush()
    self.open = false
  end
end

return Progress
