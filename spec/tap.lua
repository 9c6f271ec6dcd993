-- spec/tap.lua: the busted output handler of `make test` (named in .busted).
--
-- One line per test, as TAP: "ok N - name", "not ok N - name" followed by
-- the place and the message as "# " lines, "ok N - # SKIP name" for a
-- pending test. An error outside any test (a spec file that does not load,
-- a failing setup or describe block) is a failure line of its own.
--
-- The run ends with "# K skipped (pending)" when K > 0, then exactly one
-- line "P passed, F failed". When BACKPROP_TEST_COUNTS names a file, the
-- handler writes "P F K" there after every test, and "P F K end" when the
-- run is over, instead of printing those closing lines: tools/test.sh then
-- reports a run that died on the way (no "end"), which busted cannot do
-- itself, prints the closing line, and can add up the counts of several
-- runs. When BACKPROP_TEST_LUA names the interpreter (tools/test.sh runs
-- the suite once per Lua), every test's name starts with it in brackets.

local busted = require("busted")

return function()
  local handler = require("busted.outputHandlers.base")()
  local n, passed, failed, pending = 0, 0, 0, 0
  local counts = os.getenv("BACKPROP_TEST_COUNTS")
  if counts == "" then counts = nil end
  local tag = os.getenv("BACKPROP_TEST_LUA")
  tag = (tag and tag ~= "") and ("[" .. tag .. "] ") or ""

  local function save(done)
    if not counts then return end
    local f = assert(io.open(counts, "w"))
    f:write(("%d %d %d%s\n"):format(passed, failed, pending, done and " end" or ""))
    f:close()
  end

  local function line(s)
    io.write(s, "\n")
    io.flush()
  end

  local function comment(text)
    for l in (tostring(text) .. "\n"):gmatch("(.-)\n") do line("# " .. l) end
  end

  -- A failure or error, from the record the base handler made of it.
  local function fail(t, name)
    n, failed = n + 1, failed + 1
    line(("not ok %d - %s%s"):format(n, tag, name))
    local trace = t.trace or (t.element and t.element.trace)
    if type(trace) == "table" and trace.short_src then
      comment(("%s:%s"):format(trace.short_src, trace.currentline or "?"))
    end
    local msg = t.message
    if msg ~= nil and type(msg) ~= "string" then msg = require("pl.pretty").write(msg) end
    comment(msg or "(no message)")
  end

  local function test_end(element, _, status)
    local name = handler.getFullName(element)
    if status == "success" then
      n, passed = n + 1, passed + 1
      line(("ok %d - %s%s"):format(n, tag, name))
    elseif status == "pending" then
      n, pending = n + 1, pending + 1
      local t = handler.pendings[#handler.pendings]
      local why = t and type(t.message) == "string" and (": " .. t.message) or ""
      line(("ok %d - # SKIP %s%s%s"):format(n, tag, name, why))
    elseif status == "failure" then
      fail(handler.failures[#handler.failures], name)
    else
      fail(handler.errors[#handler.errors], name)
    end
    save(false)
    return nil, true
  end

  -- Errors and failures that belong to no test: a file that does not
  -- load, a describe body or a setup/teardown that raised.
  local function outside(element, _, message)
    if element.descriptor == "it" then return nil, true end
    local what = element.descriptor == "file" and (element.name .. " does not load")
      or ("%s (%s)"):format(handler.getFullName(element), element.descriptor or "busted")
    fail(handler.errors[#handler.errors] or { message = message }, what)
    save(false)
    return nil, true
  end

  local function suite_end()
    if counts then
      save(true)
    else
      if pending > 0 then line(("# %d skipped (pending)"):format(pending)) end
      line(("%d passed, %d failed"):format(passed, failed))
    end
    return nil, true
  end

  busted.subscribe({ "test", "end" }, test_end, { predicate = handler.cancelOnPending })
  busted.subscribe({ "error" }, outside)
  busted.subscribe({ "failure" }, outside)
  busted.subscribe({ "suite", "end" }, suite_end)
  return handler
end
