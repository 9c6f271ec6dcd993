-- spec/capi_spec.lua: the core from plain C (include/backprop.h).
--
-- `make lib` builds libbackprop.a and libbackprop.so, which exports the
-- functions the header declares and nothing else; the header's version is
-- bp._VERSION's and the release rockspec's. `make install` into a
-- temporary DESTDIR and PREFIX installs the header, both libraries and
-- backprop.pc, and examples/c/xor.c builds against them through
-- pkg-config, linked to the shared library and statically; both print the
-- same, and the model file it saves loads in Lua with bp.load, whose
-- forward gives the outputs C printed, bit for bit. The same recipe in Lua
-- (train_step, fit, a CNN with a Residual block) writes the same file,
-- byte for byte, as the C API. spec/c/capi_check.c, built with ASan and
-- UBSan (make capi-check), feeds the API bad input of every kind.
--
-- The C builds do not depend on the Lua under test: they run in the
-- lua5.4 pass of `make test` only.

local S = require("shell")
local H = require("helper")
local bp = require("backprop")

local X = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }

-- The captures of pattern in text, sorted.
local function sorted_matches(text, pattern)
  local names = {}
  for name in text:gmatch(pattern) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- The functions include/backprop.h declares with BP_API.
local function declared()
  return sorted_matches(H.read("include/backprop.h"), "\nBP_API[^;(]-([%w_]+)%s*%(")
end

-- The defined dynamic symbols of a shared object.
local function exported(so)
  return sorted_matches(S.check(S.tools .. " nm -D --defined-only " .. S.q(so)), "%S+ %u (%S+)")
end

-- The "network says" values of xor.c's output, as printed (%.9g).
local function said(out)
  local v = {}
  for s in out:gmatch("network says (%S+)") do v[#v + 1] = s end
  return v
end

-- The values Lua's forward gives for the XOR inputs, as xor.c prints them.
local function lua_says(net)
  local out, v = net:forward(bp.tensor(X)), {}
  for i = 1, 4 do v[i] = ("%.9g"):format(out:get(i, 1)) end
  return v
end

local function make(args)
  return S.check(("cd %s && %s make -s %s 2>&1"):format(S.q(S.root), S.tools, args), "make " .. args)
end

describe("the C library", function()
  if S.lua ~= "lua5.4" then
    pending("built and checked in the lua5.4 pass of make test only (it does not depend on the Lua)")
    return
  end

  lazy_setup(function() make("lib") end)

  it("libbackprop.so exports the functions backprop.h declares, and nothing else", function()
    local names = declared()
    assert(#names >= 15, "found only " .. #names .. " BP_API functions in include/backprop.h")
    assert.are.same(names, exported(S.root .. "/build/lib/libbackprop.so"))
  end)

  it("libbackprop.a defines no global symbol outside backprop_ (the API) and bp_ (the core)", function()
    local out = S.check(S.tools .. " nm -g --defined-only " .. S.q(S.root .. "/build/lib/libbackprop.a"))
    local stray = {}
    for name in out:gmatch("%x+ %u (%S+)") do
      if not (name:match("^backprop_") or name:match("^bp_")) then stray[#stray + 1] = name end
    end
    assert(#stray == 0, "outside the prefixes: " .. table.concat(stray, ", "))
  end)

  it("libbackprop.so is versioned (soname libbackprop.so.MAJOR.MINOR) and needs only libc and libm", function()
    local d = S.check(S.tools .. " readelf -d " .. S.q(S.root .. "/build/lib/libbackprop.so"))
    local h = H.read("include/backprop.h")
    local major, minor = h:match("BACKPROP_VERSION_MAJOR (%d+)"), h:match("BACKPROP_VERSION_MINOR (%d+)")
    assert.truthy(d:find("Library soname: %[libbackprop%.so%." .. major .. "%." .. minor .. "%]"), d)
    for lib in d:gmatch("Shared library: %[([^%]]+)%]") do
      assert(lib:match("^libc%.so") or lib:match("^libm%.so"), "needs " .. lib)
    end
  end)

  it("runs the README's C example, which saves a model bp.load reads", function()
    local code = H.read("README.md"):match("\n```c\n(.-)```")
    assert(code, "no ```c block in README.md")
    local tmp = H.tmpdir()
    H.write(tmp .. "/app.c", code)
    local ok, _, out = S.run(("cd %s && %s cc -std=c99 -Wall -Wextra -Werror -I%s app.c %s -lm -pthread -o app && %s ./app")
      :format(S.q(tmp), S.tools, S.q(S.root .. "/include"), S.q(S.root .. "/build/lib/libbackprop.a"), S.tools))
    local net = ok and bp.load(tmp .. "/xor.bpnet")
    H.rmtree(tmp)
    assert(ok, out)
    assert.are.equal(4, #net)
  end)

  it("the header's version is bp._VERSION's and the release rockspec's", function()
    local h = H.read("include/backprop.h")
    local v = h:match('#define BACKPROP_VERSION "([^"]+)"')
    assert.are.equal(("%s.%s.%s"):format(h:match("BACKPROP_VERSION_MAJOR (%d+)"),
      h:match("BACKPROP_VERSION_MINOR (%d+)"), h:match("BACKPROP_VERSION_PATCH (%d+)")), v)
    assert.are.equal("backprop " .. v, bp._VERSION)
    assert(H.exists("rockspec/backprop-" .. v .. "-1.rockspec"), "no rockspec/backprop-" .. v .. "-1.rockspec")
  end)
end)

describe("make install and pkg-config", function()
  if S.lua ~= "lua5.4" then
    pending("built and checked in the lua5.4 pass of make test only")
    return
  end
  if not S.run("command -v pkg-config") then
    pending("pkg-config is not installed (tools/deps.sh test installs it)")
    return
  end

  local tmp, stage, prefix, pc, out = nil, nil, "/opt/backprop", nil, {}
  lazy_setup(function()
    tmp = H.tmpdir()
    stage = tmp .. "/stage"
    make(("install DESTDIR=%s PREFIX=%s"):format(S.q(stage), prefix))
    -- pkg-config finds the staged file, and puts the stage before its paths.
    pc = ("%s PKG_CONFIG_PATH=%s PKG_CONFIG_SYSROOT_DIR=%s pkg-config"):format(S.tools,
      S.q(stage .. prefix .. "/lib/pkgconfig"), S.q(stage))
  end)
  lazy_teardown(function() if tmp then H.rmtree(tmp) end end)

  it("installs the header, both libraries and backprop.pc under DESTDIR + PREFIX", function()
    local want = { "include/backprop.h", "lib/libbackprop.a", "lib/libbackprop.so", "lib/pkgconfig/backprop.pc",
                   "lib/lua/5.4/backprop/core.so", "share/lua/5.4/backprop/init.lua" }
    for _, f in ipairs(want) do assert(H.exists(stage .. prefix .. "/" .. f), "not installed: " .. f) end
    assert.are.equal(H.read("include/backprop.h"), H.read(stage .. prefix .. "/include/backprop.h"))
    local v = S.check(pc .. " --modversion backprop"):match("%S+")
    assert.are.equal(bp._VERSION:match("%S+$"), v)
  end)

  -- Builds examples/c/xor.c with `flags`, runs it in a directory of its
  -- own (with `env`) and returns its output and that directory.
  local function xor(kind, flags, env)
    local dir = tmp .. "/" .. kind
    S.check(("mkdir -p %s && cd %s && %s cc -std=c99 -Wall -Wextra -Werror -o xor %s %s"):format(S.q(dir), S.q(dir),
      S.tools, S.q(S.root .. "/examples/c/xor.c"), flags), "cc (" .. kind .. ")")
    out[kind] = S.check(("cd %s && %s %s ./xor xor.bpnet"):format(S.q(dir), S.tools, env or ""), "xor (" .. kind .. ")")
    return out[kind], dir
  end

  it("examples/c/xor.c builds with pkg-config --cflags --libs, against libbackprop.so", function()
    local text, dir = xor("shared", ("$(%s --cflags --libs backprop)"):format(pc),
      "LD_LIBRARY_PATH=" .. S.q(stage .. prefix .. "/lib"))
    assert.truthy(text:find("accuracy 1.00", 1, true), text)
    local needed = S.check(S.tools .. " readelf -d " .. S.q(dir .. "/xor"))
    assert.truthy(needed:find("Shared library: [libbackprop.so.", 1, true), needed)
  end)

  it("and statically (cc -static, pkg-config --static), with the same output", function()
    local text, dir = xor("static", ("-static $(%s --static --cflags --libs backprop)"):format(pc))
    assert.truthy(S.check(S.tools .. " readelf -d " .. S.q(dir .. "/xor") .. " || true"):find("no dynamic section", 1, true),
      "the static build is dynamic")
    assert.are.equal(out.shared, text)
  end)

  it("saves a model that bp.load reads, whose forward gives what C printed, bit for bit", function()
    local net = bp.load(tmp .. "/static/xor.bpnet")
    net:eval()
    local c = said(out.static)
    assert.are.equal(4, #c, out.static)
    assert.are.same(c, lua_says(net))
  end)

  it("trains as examples/xor.lua's recipe does in Lua: the same file, byte for byte", function()
    bp.manual_seed(1)
    local net = bp.Sequential { bp.Linear(2, 4), bp.Sigmoid(), bp.Linear(4, 1), bp.Sigmoid() }
    local x, y = bp.tensor(X), bp.tensor({ { 0 }, { 1 }, { 1 }, { 0 } })
    local loss, opt = bp.MSELoss(), bp.SGD(net, { lr = 2 })
    for _ = 1, 5000 do net:train_step(x, y, loss, opt) end
    net:save(tmp .. "/lua.bpnet")
    assert(H.read(tmp .. "/lua.bpnet") == H.read(tmp .. "/static/xor.bpnet"), "the files differ")
  end)
end)

describe("the C API's checks (spec/c/capi_check.c under ASan and UBSan)", function()
  if S.lua ~= "lua5.4" then
    pending("built and checked in the lua5.4 pass of make test only")
    return
  end

  local tmp, ok, out
  lazy_setup(function()
    tmp = H.tmpdir()
    ok, _, out = S.run(("cd %s && %s make -s capi-check CAPI_DIR=%s 2>&1"):format(S.q(S.root), S.tools, S.q(tmp)))
  end)
  lazy_teardown(function() if tmp then H.rmtree(tmp) end end)

  it("refuse bad input with a status and a message, leave the network usable, and pass", function()
    local failed = {}
    for line in out:gmatch("[^\n]+") do
      if line:match("^not ok") or line:match("ERROR") or line:match("runtime error") then
        failed[#failed + 1] = line
      end
    end
    assert(ok and #failed == 0, table.concat(failed, "\n") .. "\n" .. S.tail(out))
    local n = tonumber(out:match("# (%d+) checks, 0 failed"))
    assert(n and n >= 90, "expected the closing count of about 100 checks:\n" .. S.tail(out))
  end)

  it("fit in C (Adam, shuffled batches, label smoothing) writes the file net:fit does in Lua", function()
    bp.manual_seed(3)
    local net = bp.Sequential { bp.Linear(3, 8), bp.ReLU(), bp.Linear(8, 3) }
    local xs, labels = {}, {}
    for i = 0, 9 do
      xs[i + 1] = {}
      for j = 0, 2 do xs[i + 1][j + 1] = (((i * 3 + j) * 7 % 11) - 5) / 4 end
      labels[i + 1] = i % 3 + 1
    end
    local h = net:fit(bp.tensor(xs), bp.tensor(labels), {
      loss = bp.CrossEntropyLoss { label_smoothing = 0.1 },
      optimizer = bp.Adam(net, { lr = 0.01, betas = { 0.9, 0.99 } }),
      epochs = 5, batch_size = 4, warnings = false })
    net:save(tmp .. "/fit_lua.bpnet")
    assert(H.read(tmp .. "/fit_lua.bpnet") == H.read(tmp .. "/fit.bpnet"), "the files differ")
    assert.are.equal(("%.17g"):format(h.loss[5]), out:match("# fit loss (%S+)"))
  end)

  it("a CNN with a Residual block, trained in C, is the one Lua trains, and forwards alike", function()
    bp.manual_seed(9)
    local net = bp.Sequential { bp.Conv2d(1, 2, 3, { padding = 1 }), bp.ReLU(),
      bp.Residual(bp.Conv2d(2, 2, 3, { padding = 1 })), bp.MaxPool2d(2), bp.Flatten(), bp.Linear(8, 2) }
    local flat = {}
    for i = 0, 31 do flat[i + 1] = (i % 5) / 5 end
    local x, y = bp.tensor(flat):reshape(2, 1, 4, 4), bp.tensor({ { 0, 1 }, { 2, 3 } })
    local loss, opt = bp.MSELoss(), bp.SGD(net, { lr = 0.1 })
    for _ = 1, 3 do net:train_step(x, y, loss, opt) end
    net:save(tmp .. "/conv_lua.bpnet")
    assert(H.read(tmp .. "/conv_lua.bpnet") == H.read(tmp .. "/conv.bpnet"), "the files differ")
    local loaded, c = bp.load(tmp .. "/conv.bpnet"), {}
    loaded:eval()
    local o = loaded:forward(x)
    for v in out:gmatch("# conv out (%S+)") do c[#c + 1] = v end
    assert.are.same(c, { ("%.9g"):format(o:get(1, 1)), ("%.9g"):format(o:get(1, 2)),
                         ("%.9g"):format(o:get(2, 1)), ("%.9g"):format(o:get(2, 2)) })
  end)
end)
