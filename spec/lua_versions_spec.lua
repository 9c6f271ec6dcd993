-- spec/lua_versions_spec.lua: one source, five Luas. The same seed trains
-- to the same bits under every Lua installed here with a module built for
-- it (make test builds them all): spec/train_bits.lua, run in a process of
-- each, prints the saved model file, the losses and the learning rates as
-- hexadecimal bytes, which must match the Lua under test's exactly.

local S = require("shell")
local H = require("helper")

local LUAS = { "lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit" }

-- The directory holding a Lua's backprop/core.so: the one this process
-- loaded for the Lua under test (build/asan/ under `make asan`), else the
-- checkout's build for that Lua.
local function moddir(lua)
  if lua == S.lua then return S.moddir end
  return S.root .. "/build" .. (lua == "lua5.4" and "" or "/" .. lua)
end

local here, absent = {}, {}
for _, lua in ipairs(LUAS) do
  if lua == S.lua or (S.run("command -v " .. lua) and H.exists(moddir(lua) .. "/backprop/core.so")) then
    here[#here + 1] = lua
  else
    absent[#absent + 1] = lua
  end
end

local function train(lua, seed)
  -- Only the Lua under test keeps this process's environment (`make asan`
  -- preloads the sanitizer for it); the others run as from a fresh shell.
  return S.check(("cd /tmp && %s LUA_PATH=%s LUA_CPATH=%s %s %s %d"):format(
    lua == S.lua and S.clean or S.tools,
    S.q(S.root .. "/src/?.lua;" .. S.root .. "/src/?/init.lua;" .. S.root .. "/spec/?.lua;;"),
    S.q(moddir(lua) .. "/?.so;;"), lua, S.q(S.root .. "/spec/train_bits.lua"), seed), lua)
end

-- Where two outputs part: the line's name and the first differing byte.
local function first_difference(a, b)
  local la, lb = {}, {}
  for l in a:gmatch("[^\n]+") do la[#la + 1] = l end
  for l in b:gmatch("[^\n]+") do lb[#lb + 1] = l end
  for i = 1, math.max(#la, #lb) do
    local x, y = la[i] or "", lb[i] or ""
    if x ~= y then
      local k = 1
      while x:sub(k, k) == y:sub(k, k) do k = k + 1 end
      return ("%s, character %d: %s... vs %s..."):format(x:match("^%S*"), k, x:sub(k, k + 15), y:sub(k, k + 15))
    end
  end
end

describe("the same seed on every Lua", function()
  if #absent > 0 then
    pending(("not compared with %s: not installed, or no module built for it (make modules)")
            :format(table.concat(absent, ", ")))
  end
  if #here < 2 then return end

  it("trains to the same bits: model file, losses and learning rates (" .. table.concat(here, ", ") .. ")", function()
    local want = train(S.lua, 7)
    assert.truthy(want:find("^model %x+\nloss [%x ]+\nval_loss [%x ]+\nlr [%x ]+\n$"), want)
    for _, lua in ipairs(here) do
      if lua ~= S.lua then
        local got = train(lua, 7)
        if got ~= want then
          error(("%s trains differently from %s: %s"):format(lua, S.lua, first_difference(got, want)))
        end
      end
    end
  end)

  it("trains to other bits with another seed (so the comparison can fail)", function()
    assert.are_not.equal(train(S.lua, 7), train(S.lua, 8))
  end)
end)
