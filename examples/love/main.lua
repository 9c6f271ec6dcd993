-- examples/love/main.lua: backprop inside a LÖVE 11 game. A ship learns to
-- chase a target while you watch (the learning is in agent.lua): every
-- frame the network flies the ship (net:forward with plain tables, through
-- LuaJIT's FFI), an expert labels what it saw, and the network takes a
-- training step (net:train_step). Left, the arena; right, the error curve:
-- how often, per second of game, the network fired another thruster than
-- the expert would.
--
--   make love                     (builds backprop for LuaJIT, runs this)
--   love examples/love            (from a checkout after `make LUA=luajit`)
--
-- Keys: space fast-forwards (x8), r starts over, escape quits.
--
-- Test mode, for spec/love_spec.lua (headless under xvfb-run):
--   love examples/love --test SECONDS OUTDIR
-- plays SECONDS seconds of game time as fast as it can draw (up to 2
-- seconds of game per frame), then writes OUTDIR/screenshot.png and
-- OUTDIR/curve.txt (one line per second: second, mistakes, loss,
-- distance) and quits; an error goes to OUTDIR/error.txt, exit status 1.

-- backprop from this checkout: its src/ for the Lua files and build/luajit/
-- for core.so, the module built for LuaJIT (LÖVE 11 runs LuaJIT 2.1; a C
-- module for Lua 5.4 does not load in it). LÖVE's require looks in the
-- game's folder first, then in package.path and package.cpath, so these
-- come after an installed backprop (a LuaRocks tree for Lua 5.1 serves
-- LuaJIT). getSource() is this folder's full path.
local root = love.filesystem.getSource() .. "/../.."
package.path = package.path .. ";" .. root .. "/src/?.lua;" .. root .. "/src/?/init.lua"
package.cpath = package.cpath .. ";" .. root .. "/build/luajit/?.so"

local bp = require("backprop")
local A = require("agent")        -- agent.lua, beside this file

local SEED = 1
local learner, trail
local fast = false
local test                         -- {seconds =, out =} in test mode
local shown = { ms = 0 }           -- net:forward's time per call, last second

-- Colours, also what spec/love_spec.lua looks for in the screenshot.
local BG = { 0.08, 0.09, 0.12 }
local SHIP = { 0.25, 0.65, 1.0 }
local TARGET = { 1.0, 0.35, 0.3 }
local CURVE = { 0.35, 0.95, 0.45 }
local GREY = { 0.45, 0.47, 0.52 }

local ARENA = { x = 20, y = 20, size = 440 }
local PLOT = { x = 480, y = 300, w = 140, h = 160 }

local function start()
  learner = A.new(SEED)
  trail = {}
end

function love.load(args)
  for i = 1, #args do
    if args[i] == "--test" then
      test = { seconds = tonumber(args[i + 1]), out = args[i + 2] }
      assert(test.seconds and test.out, "usage: love examples/love --test SECONDS OUTDIR")
    end
  end
  love.graphics.setBackgroundColor(BG)
  love.graphics.setLineWidth(2)
  start()
end

-- Frames of game to play in this update.
local owed = 0
local function frames_due(dt)
  if test then return math.min(120, test.seconds * A.FPS - learner.frame) end
  owed = owed + dt * A.FPS * (fast and 8 or 1)
  local n = math.min(math.floor(owed), 8 * A.FPS)
  owed = owed - n
  return n
end

function love.update(dt)
  local n = frames_due(dt)
  local t0 = love.timer.getTime()
  for _ = 1, n do
    learner:step()
    local w = learner.world
    trail[#trail + 1] = { w.x, w.y }
    if #trail > 90 then table.remove(trail, 1) end
  end
  if n > 0 then shown.ms = (love.timer.getTime() - t0) / n * 1000 end
end

local function arena_xy(x, y)
  return ARENA.x + x * ARENA.size, ARENA.y + y * ARENA.size
end

local function draw_arena()
  local w = learner.world
  love.graphics.setColor(GREY)
  love.graphics.rectangle("line", ARENA.x, ARENA.y, ARENA.size, ARENA.size)
  -- the target's loop ahead, dotted
  for k = 1, 60 do
    local px, py = arena_xy(A.target(w, w.t + k * 4))
    love.graphics.points(px, py)
  end
  local tx, ty = arena_xy(A.target(w, w.t))
  love.graphics.setColor(TARGET)
  love.graphics.circle("fill", tx, ty, 14)
  for i = 2, #trail do
    local a, b = trail[i - 1], trail[i]
    local ax, ay = arena_xy(a[1], a[2])
    local bx, by = arena_xy(b[1], b[2])
    love.graphics.setColor(SHIP[1], SHIP[2], SHIP[3], i / #trail * 0.6)
    love.graphics.line(ax, ay, bx, by)
  end
  local sx, sy = arena_xy(w.x, w.y)
  love.graphics.setColor(SHIP)
  love.graphics.circle("fill", sx, sy, 7)
  -- the thruster fired: a flame on the opposite side
  local d = A.ACTIONS[learner.action]
  love.graphics.setColor(1, 0.8, 0.2)
  love.graphics.circle("fill", sx - d[1] * 10, sy - d[2] * 10, 3)
end

local function draw_curve()
  local c = learner.curve
  love.graphics.setColor(GREY)
  love.graphics.rectangle("line", PLOT.x, PLOT.y, PLOT.w, PLOT.h)
  love.graphics.print("mistakes / s", PLOT.x, PLOT.y - 18)
  if #c < 2 then return end
  local pts = {}
  for i, p in ipairs(c) do
    pts[#pts + 1] = PLOT.x + (i - 1) / math.max(#c - 1, 1) * PLOT.w
    pts[#pts + 1] = PLOT.y + PLOT.h - p.mistakes * PLOT.h
  end
  love.graphics.setColor(CURVE)
  love.graphics.line(pts)
end

function love.draw()
  draw_arena()
  local c = learner.curve
  local last = c[#c]
  love.graphics.setColor(1, 1, 1)
  love.graphics.print(table.concat({
    bp._VERSION,
    jit and jit.version or _VERSION,
    string.format("game time %d s%s", learner.frame / A.FPS, fast and " (x8)" or ""),
    string.format("mistakes %s", last and string.format("%.0f%%", last.mistakes * 100) or "-"),
    string.format("loss     %s", last and last.loss == last.loss and string.format("%.3f", last.loss) or "-"),
    string.format("distance %s", last and string.format("%.3f", last.distance) or "-"),
    string.format("%.3f ms a frame", shown.ms),
    "(a forward and a",
    " training step)",
    "",
    "space: fast-forward",
    "r: start over",
  }, "\n"), 480, 24)
  draw_curve()
  if test and learner.frame >= test.seconds * A.FPS and not test.capturing then
    test.capturing = true
    love.graphics.captureScreenshot(function(image)
      local f = assert(io.open(test.out .. "/screenshot.png", "wb"))
      f:write(image:encode("png"):getString())
      f:close()
      f = assert(io.open(test.out .. "/curve.txt", "w"))
      f:write(learner:curve_text())
      f:close()
      love.event.quit(0)
    end)
  end
end

function love.keypressed(key)
  if key == "escape" then love.event.quit()
  elseif key == "space" then fast = not fast
  elseif key == "r" then start() end
end

-- In test mode an error ends the run with status 1 and its message in
-- OUTDIR/error.txt (LÖVE would otherwise show it on screen and wait).
local default_handler = love.errorhandler
function love.errorhandler(msg)
  if test then
    local f = io.open(test.out .. "/error.txt", "w")
    if f then
      f:write(debug.traceback(tostring(msg), 2))
      f:close()
    end
    os.exit(1)
  end
  return default_handler(msg)
end
