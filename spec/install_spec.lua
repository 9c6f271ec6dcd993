-- spec/install_spec.lua: the module as built and as installed.
--
-- core.so loads in a bare interpreter and links no liblua; each rockspec
-- lists every source file; `luarocks make` of the scm rockspec installs,
-- offline, into a tree of its own, with the documentation and the LuaLS
-- annotations (types/), and
-- examples/xor.lua runs from that tree alone; `make rock` builds the release
-- rockspec the same way and packs it (`luarocks pack`, offline), and the
-- packed rock installs into another tree and runs there. All of it for the
-- Lua under test: LuaRocks builds for its ABI (5.1 for LuaJIT, whose
-- modules are Lua 5.1's: Debian's luarocks has no LuaJIT target, and a
-- LuaJIT user installs 5.1 rocks), and examples/xor.lua runs under that
-- interpreter.

local S = require("shell")
local H = require("helper")

local SCM = "rockspec/backprop-scm-1.rockspec"
local ABI = _VERSION:match("%d+%.%d+")   -- "5.1" under LuaJIT too
local LUAROCKS = "luarocks --lua-version=" .. ABI
local DOCS = { "API.md", "README.md", "CHANGELOG.md", "LICENSE" }

-- The rockspec's fields, loaded as LuaRocks does (a plain Lua file).
local function load_rockspec(path)
  local env = {}
  local chunk = assert(loadfile(path, "t", env))
  if setfenv then setfenv(chunk, env) end   -- Lua 5.1's loadfile takes no env
  chunk()
  return env
end

-- The release rockspec: the one file beside the scm one.
local function release_rockspec()
  local out = S.check("ls rockspec/*.rockspec")
  local found = {}
  for f in out:gmatch("[^\n]+") do
    if f ~= SCM then found[#found + 1] = f end
  end
  assert(#found == 1, "expected one release rockspec beside " .. SCM .. ", found: " .. table.concat(found, ", "))
  return found[1], found[1]:match("^rockspec/backprop%-(.+)%.rockspec$")
end

-- Problems with a rockspec's module list: every src/core/*/*.c and
-- src/lua/*.c in backprop.core's sources, each src/backprop/x.lua as its
-- module, nothing listed that does not exist.
local function source_problems(path)
  local modules = assert(load_rockspec(path).build, path .. " has no build table").modules
  local listed, problems = {}, {}
  for _, f in ipairs(modules["backprop.core"].sources) do listed[f] = "backprop.core" end
  for name, m in pairs(modules) do
    if type(m) == "string" then listed[m] = name end
  end
  local exists = {}
  for f in S.check("ls src/core/*/*.c src/lua/*.c src/backprop/*.lua"):gmatch("[^\n]+") do
    exists[f] = true
    local base = f:match("^src/backprop/(.+)%.lua$")
    local want = not base and "backprop.core" or base == "init" and "backprop" or "backprop." .. base
    if not listed[f] then
      problems[#problems + 1] = want == "backprop.core"
        and ("not listed: %s (add it to build.modules[\"backprop.core\"].sources)"):format(f)
        or ("not listed: %s (add [\"%s\"] = \"%s\")"):format(f, want, f)
    elseif listed[f] ~= want then
      problems[#problems + 1] = ("%s is listed as module %q, expected %q"):format(f, listed[f], want)
    end
  end
  for f in pairs(listed) do
    if not exists[f] then problems[#problems + 1] = "listed but does not exist: " .. f end
  end
  table.sort(problems)
  return problems
end

-- Runs examples/xor.lua, copied out of the checkout (so it cannot fall back
-- on the checkout's modules), with Lua's paths pointing into `tree` alone.
local function xor_from(tree, dir)
  S.check(("mkdir -p %s && cp examples/xor.lua %s/"):format(S.q(dir), S.q(dir)))
  local lua, lib = tree .. "/share/lua/" .. ABI, tree .. "/lib/lua/" .. ABI
  return S.check(("cd %s && env -i PATH=\"$PATH\" LUA_PATH=%s LUA_CPATH=%s timeout 300 %s xor.lua"):format(
    S.q(dir), S.q(lua .. "/?.lua;" .. lua .. "/?/init.lua"), S.q(lib .. "/?.so"), S.lua), "xor.lua")
end

describe("the built module", function()
  local so = S.moddir .. "/backprop/core.so"

  it("loads on its own: require 'backprop.core' in a bare " .. S.lua, function()
    S.check(("cd /tmp && %s LUA_CPATH=%s %s -e %s"):format(S.clean, S.q(S.moddir .. "/?.so"), S.lua,
      S.q('assert(type(require("backprop.core")) == "table")')), "require")
  end)

  local has_readelf = S.run("command -v readelf")
  if has_readelf then
    it("links no liblua (the interpreter provides Lua's symbols)", function()
      local needed = S.check("readelf -d " .. S.q(so))
      assert.is_nil(needed:match("NEEDED[^\n]*liblua[^\n]*"), needed)
    end)
  else
    pending("links no liblua: readelf is not installed")
  end

  if S.run("command -v nm") then
    -- Built with -fvisibility=hidden: the core's and the binding's
    -- functions stay inside (they cannot clash with another library's).
    it("exports luaopen_backprop_core alone", function()
      local out = S.check(S.tools .. " nm -D --defined-only " .. S.q(so))
      local names = {}
      for name in out:gmatch("%S+ %u (%S+)") do names[#names + 1] = name end
      assert.are.same({ "luaopen_backprop_core" }, names)
    end)
  else
    pending("exports luaopen_backprop_core alone: nm is not installed")
  end
end)

describe("the rockspecs", function()
  local release, version = release_rockspec()

  for _, path in ipairs({ SCM, release }) do
    it(path .. " lists every source file", function()
      local problems = source_problems(path)
      assert(#problems == 0, path .. ":\n" .. table.concat(problems, "\n"))
    end)
  end

  it(release .. " builds as the scm one does (only version and source differ)", function()
    local a, b = load_rockspec(SCM), load_rockspec(release)
    assert.are.same(a.build, b.build)
    assert.are.same(a.dependencies, b.dependencies)
    assert.are.same(a.description, b.description)
    assert.are.equal("v" .. version:match("^(.-)%-%d+$"), b.source.tag)
  end)

  it(release .. " is the version bp._VERSION names, with a CHANGELOG section", function()
    local v = version:match("^(.-)%-%d+$")
    assert.are.equal("backprop " .. v, require("backprop")._VERSION)
    assert(H.read("CHANGELOG.md"):find("\n## " .. v:gsub("%.", "%%.") .. "[ \n]"),
           "CHANGELOG.md has no section '## " .. v .. "'")
  end)
end)

describe("installing with LuaRocks (offline, " .. LUAROCKS .. ")", function()
  local tmp, release, version, trees, rock
  local built = {}

  -- Both builds at once (each compiles the whole module): the scm
  -- rockspec into its own tree from a copy of the working tree (the builtin
  -- backend writes objects next to the sources), and `make rock`.
  lazy_setup(function()
    tmp = H.tmpdir()
    release, version = release_rockspec()
    trees = { scm = tmp .. "/scm-tree", release = tmp .. "/rock/tree" }
    local luarocks = ("HOME=%s %s"):format(S.q(tmp .. "/home"), LUAROCKS)
    local cmd = table.concat({
      ("mkdir -p %s/home %s/copy"):format(S.q(tmp), S.q(tmp)),
      ("tar --exclude=./.git --exclude=./build -cf - . | tar -C %s/copy -xf -"):format(S.q(tmp)),
      ("(cd %s/copy && %s %s make %s --tree %s --deps-mode=none > %s/scm.log 2>&1; echo $? > %s/scm.rc) &")
        :format(S.q(tmp), S.tools, luarocks, SCM, S.q(trees.scm), S.q(tmp), S.q(tmp)),
      ("(%s HOME=%s LUA=%s make -s rock ROCK_DIR=%s/rock > %s/release.log 2>&1; echo $? > %s/release.rc) &")
        :format(S.tools, S.q(tmp .. "/home"), S.q(S.lua), S.q(tmp), S.q(tmp), S.q(tmp)),
      "wait",
    }, "\n")
    S.check(cmd, "starting the builds")
    for _, k in ipairs({ "scm", "release" }) do
      built[k] = H.read(tmp .. "/" .. k .. ".rc"):match("^0%s*$") ~= nil
    end
    rock = S.run("ls " .. S.q(tmp) .. "/rock/backprop-" .. version .. ".*.rock")
      and S.check("ls " .. S.q(tmp) .. "/rock/backprop-" .. version .. ".*.rock"):match("[^\n]+")
  end)

  lazy_teardown(function()
    if tmp then H.rmtree(tmp) end
  end)

  local function assert_built(k)
    if not built[k] then error(k .. " build failed:\n" .. S.tail(H.read(tmp .. "/" .. k .. ".log"), 30), 2) end
  end

  -- What a tree must hold: core.so, every Lua module, the documentation,
  -- the annotations.
  local function assert_installed(k, v)
    assert_built(k)
    local missing, t = {}, trees[k]
    local so = "lib/lua/" .. ABI .. "/backprop/core.so"
    if not H.exists(t .. "/" .. so) then missing[#missing + 1] = so end
    for f in S.check("ls src/backprop/*.lua"):gmatch("[^\n]+") do
      local name = "share/lua/" .. ABI .. "/backprop/" .. f:match("[^/]+$")
      if not H.exists(t .. "/" .. name) then missing[#missing + 1] = name end
    end
    for _, d in ipairs(DOCS) do
      local p = ("lib/luarocks/rocks-%s/backprop/%s/docs/%s"):format(ABI, v, d)
      if not H.exists(t .. "/" .. p) then missing[#missing + 1] = p end
    end
    for f in S.check("ls types/*"):gmatch("[^\n]+") do   -- the LuaLS annotations
      local p = ("lib/luarocks/rocks-%s/backprop/%s/%s"):format(ABI, v, f)
      if not H.exists(t .. "/" .. p) then missing[#missing + 1] = p end
    end
    assert(#missing == 0, "not installed: " .. table.concat(missing, ", "))
  end

  it("luarocks make " .. SCM .. " installs the module and its documentation", function()
    assert_installed("scm", "scm-1")
  end)

  it("examples/xor.lua runs from the installed tree alone", function()
    assert_built("scm")
    local out = xor_from(trees.scm, tmp .. "/run-scm")
    assert.truthy(out:find("accuracy 1.00", 1, true), out)
  end)

  it("make rock: luarocks make of the release rockspec installs it the same way", function()
    assert_installed("release", version)
  end)

  it("make rock: luarocks pack makes the release rock", function()
    assert_built("release")
    if not rock then error("no backprop-" .. version .. ".*.rock in ROCK_DIR:\n" .. S.tail(H.read(tmp .. "/release.log"))) end
  end)

  it("the packed rock installs into a new tree, offline, with its documentation, and runs", function()
    assert(rock, "no rock was packed")
    trees.rock = tmp .. "/from-rock"
    S.check(("%s HOME=%s %s install %s --tree %s --deps-mode=none"):format(
      S.tools, S.q(tmp .. "/home"), LUAROCKS, S.q(rock), S.q(trees.rock)), "luarocks install")
    built.rock = true
    assert_installed("rock", version)
    local out = xor_from(trees.rock, tmp .. "/run-rock")
    assert.truthy(out:find("accuracy 1.00", 1, true), out)
  end)
end)
