-- spec/embed_spec.lua: a C host that embeds Lua 5.4 and links backprop
-- statically (examples/embed/host.c, `make embed`).
--
-- The host is copied alone into an empty directory and run there with
-- LUA_PATH and LUA_CPATH empty: backprop's C module and Lua files are in
-- the executable (libbackprop_lua.a, libbackprop.a; Lua's static library),
-- which needs no shared library but the C library's. It loads a model
-- saved here and runs it every frame; its outputs and checksum are those
-- of this process's forward of the same model. It trains in two Lua states
-- in two threads at once and in one alone, with the same bits each time,
-- and the same as examples/embed/train.lua here; and a ThreadSanitizer
-- build of that run (`make tsan-embed`) reports no race.
--
-- The C builds do not depend on the Lua under test: they run in the
-- lua5.4 pass of `make test` only.

local S = require("shell")
local H = require("helper")
local bp = require("backprop")

local FRAMES, INPUTS = 1000, 4

-- What host.c prints for `infer`, computed here: frame i's inputs are
-- sin(0.01 i k), its value the sum of the network's outputs (game.lua).
local function expected_frames(net)
  local lines, checksum = {}, 0
  for i = 1, FRAMES do
    local row = {}
    for k = 1, INPUTS do row[k] = math.sin(0.01 * i * k) end
    local out, sum = net:forward(bp.tensor({ row })), 0
    for k = 1, out:shape()[2] do sum = sum + out:get(1, k) end
    if i <= 3 then lines[#lines + 1] = ("frame %d %.17g"):format(i, sum) end
    checksum = checksum + sum
  end
  lines[#lines + 1] = ("checksum over %d frames %.17g"):format(FRAMES, checksum)
  return table.concat(lines, "\n") .. "\n"
end

-- Whether ThreadSanitizer builds and runs a threaded program here, or why not.
local function tsan_missing(dir)
  H.write(dir .. "/t.c", "#include <pthread.h>\nstatic void *f(void *a) { return a; }\n"
    .. "int main(void) { pthread_t t; pthread_create(&t, 0, f, 0); return pthread_join(t, 0); }\n")
  local ok, _, out = S.run(("cd %s && %s cc -fsanitize=thread -o t t.c -pthread && ./t"):format(S.q(dir), S.tools))
  if not ok then return "cc -fsanitize=thread cannot build or run a threaded program here:\n" .. S.tail(out, 5) end
end

describe("a C host embedding Lua 5.4 with backprop linked statically", function()
  if S.lua ~= "lua5.4" then
    pending("built and run in the lua5.4 pass of make test only (the host embeds Lua 5.4)")
    return
  end

  local tmp, host
  lazy_setup(function()
    S.check(("cd %s && %s make -s embed 2>&1"):format(S.q(S.root), S.tools), "make embed")
    tmp = H.tmpdir()
    host = tmp .. "/alone"
    S.check(("mkdir -p %s && cp %s %s/"):format(S.q(host), S.q(S.root .. "/build/embed/host"), S.q(host)))
  end)
  lazy_teardown(function() if tmp then H.rmtree(tmp) end end)

  -- Runs the host in its directory, with no Lua search path and nothing
  -- else from this environment.
  local function run(args)
    return S.run(("cd %s && env -i PATH=/usr/bin:/bin LUA_PATH= LUA_CPATH= ./host %s"):format(S.q(host), args))
  end

  it("links no Lua, backprop or other shared library but the C library's", function()
    local d = S.check(S.tools .. " readelf -d " .. S.q(host .. "/host"))
    for lib in d:gmatch("Shared library: %[([^%]]+)%]") do
      assert(lib:match("^libc%.so") or lib:match("^libm%.so") or lib:match("^libdl%.so")
        or lib:match("^libpthread%.so"), "needs " .. lib)
    end
  end)

  it("runs alone in an empty directory: loads a saved model, runs it every frame, as Lua's forward does", function()
    bp.manual_seed(11)
    local net = bp.Sequential { bp.Linear(INPUTS, 16), bp.Tanh(), bp.Linear(16, 3), bp.Softmax() }
    net:eval()
    net:save(host .. "/model.bpnet")
    local ok, _, out = run(("infer model.bpnet %d %d"):format(INPUTS, FRAMES))
    assert(ok, out)
    assert.are.equal(expected_frames(net), out)
  end)

  it("says what went wrong, from Lua, when the model is missing", function()
    local ok, code, out = run("infer missing.bpnet 4 10")
    assert.is_false(ok)
    assert.are.equal(1, code)
    assert.truthy(out:find("host infer: ", 1, true) and out:find("missing.bpnet", 1, true), out)
  end)

  local trained
  it("trains in two Lua states in two threads at once, with the bits of one state alone", function()
    local ok, _, out = run("train .")
    trained = ok and out
    assert(ok, out)
    assert.truthy(out:find("the three runs are the same", 1, true), out)
    assert.are.equal(H.read(host .. "/alone.bpnet"), H.read(host .. "/thread1.bpnet"))
    assert.are.equal(H.read(host .. "/alone.bpnet"), H.read(host .. "/thread2.bpnet"))
  end)

  it("and those bits are what examples/embed/train.lua gives in this process", function()
    assert(trained, "the host's training did not run")
    local threads = bp.get_num_threads()
    local train = dofile(S.root .. "/examples/embed/train.lua")
    local ok, loss, sum = pcall(train, tmp .. "/lua.bpnet")
    bp.set_num_threads(threads)
    assert(ok, loss)
    assert(H.read(tmp .. "/lua.bpnet") == H.read(host .. "/alone.bpnet"), "the files differ")
    assert.truthy(trained:find(("alone    loss %.17g  outputs %.17g"):format(loss, sum), 1, true), trained)
  end)

  describe("under ThreadSanitizer (make tsan-embed)", function()
    local probe = H.tmpdir()
    local why = tsan_missing(probe)
    H.rmtree(probe)
    if why then
      pending("reports no race: " .. why)
      return
    end

    it("reports no race while the two states train", function()
      local dir = tmp .. "/tsan"
      local ok, _, out = S.run(("cd %s && %s make -s tsan-embed EMBED_DIR=%s 2>&1"):format(S.q(S.root), S.tools,
        S.q(dir)))
      assert(ok and not out:find("ThreadSanitizer", 1, true), S.tail(out, 40))
      assert.truthy(out:find("the three runs are the same", 1, true), out)
      assert.are.equal(H.read(host .. "/alone.bpnet"), H.read(dir .. "/alone.bpnet"))
    end)
  end)
end)
