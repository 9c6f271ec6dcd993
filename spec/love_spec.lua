-- spec/love_spec.lua: the LÖVE example (examples/love/) runs headless under
-- xvfb-run with the module built for LuaJIT (LÖVE 11 runs LuaJIT 2.1,
-- whatever Lua the suite is under): in test mode it plays 40 seconds of
-- game fast-forward, writes a screenshot and its error curve, and quits.
-- The screenshot must show the arena (the ship, the target and the curve
-- in their colours), and the ship's error must have fallen: it learned
-- while the game ran. Pending where love, xvfb-run, xauth, Pillow or the
-- LuaJIT build is missing.

local S = require("shell")
local H = require("helper")

local SECONDS = 40

local function missing()
  for _, cmd in ipairs({ "love", "xvfb-run", "xauth" }) do
    if not S.run("command -v " .. cmd) then
      return cmd .. " is not installed (tools/deps.sh ci installs love, xvfb and xauth)"
    end
  end
  if not H.exists(S.root .. "/build/luajit/backprop/core.so") then
    return "no module built for LuaJIT (make LUA=luajit)"
  end
  return H.png_missing()
end

-- The colours main.lua draws with, as 0..255.
local SHIP, TARGET, CURVE, BG = { 64, 166, 255 }, { 255, 89, 77 }, { 89, 242, 115 }, { 20, 23, 31 }

local function count(img, c, tol)
  local n = 0
  for y = 0, img.height - 1 do
    for x = 0, img.width - 1 do
      local r, g, b = img.pixel(x, y)
      if math.abs(r - c[1]) <= tol and math.abs(g - c[2]) <= tol and math.abs(b - c[3]) <= tol then n = n + 1 end
    end
  end
  return n
end

local function mean(list, from, to)
  local s, n = 0, 0
  for i = from, to do
    if list[i] == list[i] then s, n = s + list[i], n + 1 end   -- skip nan
  end
  return s / n
end

describe("the LÖVE example", function()
  local why = missing()
  if why then
    pending("runs headless and learns: " .. why)
    return
  end

  local dir, ok, status, out
  lazy_setup(function()
    dir = H.tmpdir()
    ok, status, out = S.run(("cd %s && %s timeout 120 xvfb-run -a -s '-screen 0 640x480x24' love %s --test %d %s")
      :format(S.q(dir), S.tools, S.q(S.root .. "/examples/love"), SECONDS, S.q(dir)))
  end)
  lazy_teardown(function() if dir then H.rmtree(dir) end end)

  local function assert_ran()
    local err = H.exists(dir .. "/error.txt") and H.read(dir .. "/error.txt")
    assert(ok and not err, ("love exited with status %s:\n%s\n%s"):format(status, err or "", S.tail(out)))
  end

  it("runs under xvfb-run and draws the arena, the ship, the target and the error curve", function()
    assert_ran()
    local img = H.png_rgb(dir .. "/screenshot.png")
    assert.same({ 640, 480 }, { img.width, img.height })
    local bg = count(img, BG, 2)
    assert(bg > 0.5 * 640 * 480 and bg < 0.98 * 640 * 480, "background pixels: " .. bg)
    assert(count(img, SHIP, 12) >= 40, "too few ship pixels: " .. count(img, SHIP, 12))
    assert(count(img, TARGET, 12) >= 100, "too few target pixels: " .. count(img, TARGET, 12))
    assert(count(img, CURVE, 12) >= 80, "too few curve pixels: " .. count(img, CURVE, 12))
  end)

  it("learns while it runs: the ship's mistakes and training loss fall", function()
    assert_ran()
    local mistakes, loss = {}, {}
    for l in H.read(dir .. "/curve.txt"):gmatch("[^\n]+") do
      local sec, m, lo = l:match("^(%d+) (%S+) (%S+) %S+$")
      assert(sec, "bad curve line: " .. l)
      mistakes[#mistakes + 1], loss[#loss + 1] = tonumber(m), tonumber(lo) or 0 / 0   -- nan: no step yet
    end
    assert.equal(SECONDS, #mistakes)
    local early, late = mean(mistakes, 1, 3), mean(mistakes, SECONDS - 9, SECONDS)
    assert(late < 0.5 * early and late < 0.25,
           ("mistakes per frame: %.3f in the first 3 s, %.3f in the last 10 s"):format(early, late))
    local first, last = mean(loss, 1, 5), mean(loss, SECONDS - 9, SECONDS)
    assert(last < 0.6 * first, ("training loss: %.3f in the first 5 s, %.3f in the last 10 s"):format(first, last))
  end)
end)
