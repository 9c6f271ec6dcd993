-- spec/shell.lua: running commands from specs (require("shell")): the
-- checkout's absolute path, the module busted loaded, and a command's exit
-- status and output.

local S = {}

--- s quoted for the shell.
function S.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs cmd with sh (stderr joined to stdout, stdin empty). Returns true
-- when it exited with status 0, the status, and the output. (The status
-- is echoed rather than taken from close(), which Lua 5.1 does not give.)
function S.run(cmd)
  local p = assert(io.popen("exec 2>&1 </dev/null\n(\n" .. cmd .. "\n)\necho \"\n<exit $?>\""))
  local all = p:read("*a")
  p:close()
  local out, code = all:match("^(.-)\n?<exit (%d+)>\n$")
  code = tonumber(code)
  return code == 0, code, out or all
end

--- The output's last `n` lines (20), for a failure message.
function S.tail(out, n)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - (n or 20) + 1))
end

--- Asserts that cmd exits with status 0 and returns its output.
function S.check(cmd, what)
  local ok, code, out = S.run(cmd)
  if not ok then
    error(("%s: exit status %s\n$ %s\n%s"):format(what or "command", code, cmd, S.tail(out)), 2)
  end
  return out
end

S.root = S.check("pwd -P"):gsub("\n$", "")
--- The interpreter under test, for the specs that start one: LUA
-- (tools/test.sh sets it for each Lua it runs), else the running Lua's
-- Debian name (lua5.1 .. lua5.4, luajit).
S.lua = os.getenv("LUA")
if not S.lua or S.lua == "" then S.lua = jit and "luajit" or ("lua" .. _VERSION:sub(5)) end

--- The directory holding the backprop/core.so this process loaded (busted's
-- cpath: build/, or build/asan/ under `make asan`), as an absolute path.
S.moddir = (function()
  local so
  for t in package.cpath:gmatch("[^;]+") do
    local f = io.open((t:gsub("%?", "backprop/core")), "rb")
    if f then f:close() so = t:gsub("%?", "backprop/core") break end
  end
  assert(so, "backprop/core not found in package.cpath")
  local dir = so:match("^(.*)/backprop/core%.[^/]*$")
  if dir:sub(1, 1) ~= "/" then dir = S.root .. "/" .. dir end
  return dir
end)()

--- An environment without Lua search paths: `env ... command` runs as from
-- a shell where nothing was set. Build tools also lose LD_PRELOAD, which
-- `make asan` sets for the Lua processes only, and a make run from a spec
-- does not join the make that runs the specs.
S.clean = "env -u LUA_PATH -u LUA_CPATH -u LUA_INIT"
for _, v in ipairs({ "5_2", "5_3", "5_4" }) do
  S.clean = S.clean .. (" -u LUA_PATH_%s -u LUA_CPATH_%s -u LUA_INIT_%s"):format(v, v, v)
end
S.tools = S.clean .. " -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL"

--- The environment prefix that finds the checkout's modules by absolute
-- path, from any directory.
S.inplace = ("%s LUA_PATH=%s LUA_CPATH=%s"):format(S.clean,
  S.q(S.root .. "/src/?.lua;" .. S.root .. "/src/?/init.lua;;"), S.q(S.moddir .. "/?.so;;"))

return S
