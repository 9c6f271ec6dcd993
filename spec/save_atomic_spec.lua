-- Saves that survive other processes, planted links and failures
-- (io/file.h): a save creates its temporary file exclusively under a name
-- of its own, syncs it, renames it over the target and removes it on
-- every failure.
local bp = require("backprop")
local H = require("helper")
local S = require("shell")
local lfs = require("lfs")

local dir
local function path(name) return dir .. "/" .. name end

-- The names in dir, sorted.
local function entries(d)
  local names = {}
  for name in lfs.dir(d or dir) do
    if name ~= "." and name ~= ".." then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- A Lua script written into dir, run with the checkout's modules; returns
-- the command.
local function script(name, code)
  H.write(path(name), code)
  return ("%s %s %s"):format(S.inplace, S.lua, S.q(path(name)))
end

describe("saving", function()
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmtree(dir) end)

  it("two processes saving to one path while a third loads it 300 times: every load succeeds", function()
    -- Each writer saves its own network (seeded: the reader rebuilds both)
    -- in a loop until the reader is done; the reader checks that every
    -- load is one of the two, bit for bit.
    local nets = [[
      local bp = require("backprop")
      local function net(which)
        bp.manual_seed(which)
        return bp.Sequential { bp.Linear(16, 65536), bp.ReLU(), bp.Linear(65536, which) }   -- 5 MB
      end
    ]]
    local writer = script("writer.lua", nets .. [[
      local which, target, stop = tonumber(arg[1]), arg[2], arg[3]
      local n, failed, first, mine = 0, 0, "", net(which)
      repeat
        local ok, err = pcall(mine.save, mine, target)
        if not ok then failed, first = failed + 1, failed == 0 and tostring(err) or first end
        n = n + 1
        if n == 1 then io.open(stop .. which, "wb"):close() end   -- started
        local f = io.open(stop, "rb")
        if f then f:close() end
      until f or n == 200000
      io.write(n, " ", failed, " ", first, "\n")
    ]])
    local reader = script("reader.lua", nets .. [[
      local target, stop = arg[1], arg[2]
      local x = bp.randn(3, 16)
      local want = { net(1):forward(x):totable(), net(2):forward(x):totable() }
      for which = 1, 2 do    -- both writers have started
        repeat local f = io.open(stop .. which, "rb") if f then f:close() end until f
      end
      local good, seen, failures = 0, {}, {}
      for _ = 1, 300 do
        local ok, got = pcall(bp.load, target)
        if ok then
          local y = got:forward(x):totable()
          local which = #y[1]
          local same = want[which] ~= nil
          for i = 1, 3 do
            for j = 1, which do same = same and y[i][j] == want[which][i][j] end
          end
          if same then good, seen[which] = good + 1, true
          else failures[#failures + 1] = "a network that is neither" end
        else
          failures[#failures + 1] = tostring(got)
        end
      end
      local f = io.open(stop, "wb") f:close()
      io.write(good, " ", seen[1] and seen[2] and "both" or "one", "\n", failures[1] or "", "\n")
      io.stderr:write(#failures, " of 300 loads failed\n")
    ]])
    local out = S.check(("%s 1 %s %s > %s & %s 2 %s %s > %s & %s %s %s; wait"):format(
      writer, S.q(path("model.bp")), S.q(path("stop")), S.q(path("w1")),
      writer, S.q(path("model.bp")), S.q(path("stop")), S.q(path("w2")),
      reader, S.q(path("model.bp")), S.q(path("stop"))), "writers and reader")
    local good, both, first = out:match("(%d+) (%a+)\n(.-)\n?$")
    assert(good, "the reader printed: " .. out)
    assert.are.equal("300", good, "loads that succeeded; the first failure: " .. tostring(first))
    for _, w in ipairs({ "w1", "w2" }) do
      local n, failed, why = H.read(path(w)):match("^(%d+) (%d+) (.-)\n")
      assert(tonumber(n) > 1, w .. " saved only " .. n .. " times")
      assert.are.equal("0", failed, w .. "'s saves that failed (of " .. n .. "); the first: " .. why)
    end
    -- the two writers took turns during the reads
    assert.are.equal("both", both)
    -- no temporary file left behind
    assert.are.same({ "model.bp", "reader.lua", "stop", "stop1", "stop2", "w1", "w2", "writer.lua" }, entries())
  end)

  it("leaves a symbolic link at <path>.tmp (and its target) untouched", function()
    H.write(path("victim"), "precious")
    local target = path("model.bp")
    -- the name main's save used, and names of the new form
    local planted = { target .. ".tmp", target .. ".0000000000000000.tmp", target .. ".ffffffffffffffff.tmp" }
    for _, p in ipairs(planted) do assert(lfs.link(path("victim"), p, true)) end
    assert(lfs.mkdir(target .. ".1111111111111111.tmp"))
    bp.manual_seed(1)
    local net = bp.Sequential { bp.Linear(3, 4), bp.Tanh() }
    net:save(target)
    net:save(target)                     -- over an existing file as well
    assert.are.equal("precious", H.read(path("victim")))
    for _, p in ipairs(planted) do
      assert.are.equal("link", lfs.symlinkattributes(p, "mode"))
      assert.are.equal(path("victim"), lfs.symlinkattributes(p, "target"))
    end
    local x = bp.randn(2, 3)
    H.assert_same(bp.load(target):forward(x), net:forward(x), "saved network")
    assert.are.equal(#planted + 3, #entries())   -- the links, the directory, victim, model.bp
  end)

  it("a symbolic link at the target itself is replaced, never written through", function()
    H.write(path("victim"), "precious")
    assert(lfs.link(path("victim"), path("model.bp"), true))
    bp.Linear(2, 2):save(path("model.bp"))
    assert.are.equal("precious", H.read(path("victim")))
    assert.are.equal("file", lfs.symlinkattributes(path("model.bp"), "mode"))
  end)

  it("a write that fails (the file size limit) leaves the old file and no temporary file", function()
    local target = path("model.bp")
    bp.manual_seed(2)
    local old = bp.Sequential { bp.Linear(2, 3) }
    old:save(target)
    local before = H.read(target)
    -- SIGXFSZ ignored, so a write past the limit fails with EFBIG
    local saver = script("saver.lua", [[
      local bp = require("backprop")
      local net = bp.Sequential { bp.Linear(200, 200) }      -- 160 kB
      local ok, err = pcall(net.save, net, arg[1])
      io.write(tostring(ok), "\n", tostring(err), "\n")
    ]])
    local out = S.check(("trap '' XFSZ; ulimit -f 16; %s %s"):format(saver, S.q(target)), "saver")
    local ok, err = out:match("^(%a+)\n(.-)\n$")
    assert.are.equal("false", ok)
    assert.matches("backprop.Sequential:save: cannot write '" .. target .. "': File too large", err, 1, true)
    assert.are.equal(before, H.read(target))
    assert.are.same({ "model.bp", "saver.lua" }, entries())
  end)

  it("a rename that fails (the target is a directory) leaves no temporary file", function()
    local target = path("adir.bp")
    assert(lfs.mkdir(target))
    H.write(target .. "/inside", "keep me")
    local ok, err = pcall(bp.Linear(2, 2).save, bp.Linear(2, 2), target)
    assert.is_false(ok)
    assert.matches("cannot write '" .. target .. "'", tostring(err), 1, true)
    assert.are.same({ "adir.bp" }, entries())
    assert.are.equal("keep me", H.read(target .. "/inside"))
  end)

  it("a directory that does not exist: an error, no file", function()
    local ok, err = pcall(bp.Linear(2, 2).save, bp.Linear(2, 2), path("no/such/model.bp"))
    assert.is_false(ok)
    assert.matches("cannot write '" .. path("no/such/model.bp") .. "': No such file or directory", tostring(err), 1, true)
    assert.are.same({}, entries())
  end)

  it("plots are written the same way: a link at <path>.tmp is left alone", function()
    H.write(path("victim"), "precious")
    assert(lfs.link(path("victim"), path("curves.svg.tmp"), true))
    bp.plot.lines { path = path("curves.svg"), series = { { name = "a", y = { 1, 2, 3 } } } }
    assert.are.equal("precious", H.read(path("victim")))
    assert.matches("^<svg", H.read(path("curves.svg")))
    assert.are.same({ "curves.svg", "curves.svg.tmp", "victim" }, entries())
  end)
end)
