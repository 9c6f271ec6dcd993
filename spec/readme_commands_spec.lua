-- spec/readme_commands_spec.lua: every command in README.md that runs an
-- example works as written, from a checkout after `make`, with no
-- LUA_PATH or LUA_CPATH set: `lua5.4 examples/...` (also from another
-- directory, with the path to the script) and the make targets whose recipe
-- runs an example (`make demo`, `make xor`, ...). Under another Lua than
-- 5.4, the same commands run with that interpreter in place of lua5.4 (and
-- LUA set for make), from a checkout built for it.
--
-- Commands are taken from ```sh blocks and from `inline code`. Examples
-- that train for minutes (SLOW) are kept out of `make test`, as full-data
-- training is: their make targets are checked with `make -n`, their scripts
-- by the usage message, which must be the README's command.

local S = require("shell")
local H = require("helper")

-- `make love` opens a window until it is closed (spec/love_spec.lua runs the
-- game headless): its recipe is checked with `make -n` too.
local SLOW = { ["examples/fashion_mnist.lua"] = true, fashion = true, love = true }

-- Make targets whose recipe runs an example (and not the specs: `make asan`).
local function example_targets()
  local targets, current = {}, nil
  for l in (H.read("Makefile") .. "\n"):gmatch("(.-)\n") do
    local name = l:match("^([%w][%w%-]*):")
    if name then
      current = name
    elseif l:match("^\t") and current then
      if l:match("busted") then
        targets[current] = false
      elseif l:match("examples/") and targets[current] == nil then
        targets[current] = true
      end
    end
  end
  return targets
end

-- The README's commands that run an example, in order, each once.
local function commands()
  local text, found, seen = H.read("README.md"), {}, {}
  local targets = example_targets()
  local function add(cmd)
    cmd = cmd:gsub("%s+#.*$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    local script = cmd:match("^lua5%.4 (examples/[%w_]+%.lua)")
    local target = cmd:match("^make ([%w%-]+)")
    if (script or (target and targets[target])) and not seen[cmd] then
      seen[cmd] = true
      found[#found + 1] = { cmd = cmd, script = script, slow = SLOW[script or target] }
    end
  end
  for block in text:gmatch("```sh\n(.-)```") do
    for l in block:gmatch("[^\n]+") do add(l) end
  end
  for code in text:gmatch("`([^`\n]+)`") do add(code) end
  return found
end

-- The command as run under the Lua being tested.
local function under_test(cmd)
  return (cmd:gsub("^lua5%.4 ", S.lua .. " "))
end

-- Runs cmd in dir (the checkout unless given), as from a fresh shell.
local function check(cmd, dir)
  local before = H.exists(S.root .. "/tumour.bp")
  local ok, status, out = S.run(("cd %s && %s timeout 300 %s"):format(
    S.q(dir or S.root), S.tools, under_test(cmd)))
  -- The quick start saves its model in the current directory.
  if not before then os.remove(S.root .. "/tumour.bp") end
  assert(ok, ("`%s` exited with status %s:\n%s"):format(cmd, status, S.tail(out)))
end

describe("README commands that run an example", function()
  local list = commands()

  it("are found (lua5.4 examples/... and make targets)", function()
    local scripts, makes = 0, 0
    for _, c in ipairs(list) do
      if c.script then scripts = scripts + 1 else makes = makes + 1 end
    end
    assert.is_true(scripts >= 2 and makes >= 2,
                   ("found %d lua5.4 and %d make commands"):format(scripts, makes))
  end)

  for _, c in ipairs(list) do
    if c.slow and c.script then
      it(c.cmd .. " (its usage message, without training)", function()
        local ok, status, out = S.run(("cd %s && %s %s %s no-such-argument"):format(
          S.q(S.root), S.tools, S.lua, c.script))
        assert(not ok and out:find("usage: " .. c.cmd, 1, true),
               ("expected the usage message `usage: %s`, got status %s:\n%s"):format(c.cmd, status, S.tail(out)))
      end)
    elseif c.slow then
      it(c.cmd .. " (make -n, without training)", function()
        local out = S.check(("cd %s && %s %s"):format(S.q(S.root), S.tools, c.cmd:gsub("^make ", "make -n ")))
        assert(out:find("examples/", 1, true), "the recipe runs no example:\n" .. S.tail(out))
        for value in c.cmd:gmatch("=(%S+)") do
          assert(out:find(value, 1, true), ("the recipe does not pass %s on:\n%s"):format(value, S.tail(out)))
        end
      end)
    else
      it(c.cmd, function() check(c.cmd) end)
      if c.script then
        it(c.cmd .. " (from another directory)", function()
          local dir = H.tmpdir()
          local ok, err = pcall(check, c.cmd:gsub(" examples/", " " .. S.root .. "/examples/", 1), dir)
          H.rmtree(dir)
          assert(ok, err)
        end)
      end
    end
  end
end)
