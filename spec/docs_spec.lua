-- spec/docs_spec.lua: every ```lua block of README.md and docs/API.md runs,
-- so the documentation cannot drift from the code.
--
-- Each block runs as a script of its own, in a new process of the Lua under
-- test (lua5.4, or each Lua `make test` runs) started in an empty temporary
-- directory, with `bp` (require "backprop") defined. It must not raise an
-- error. A line `print(...)  --> text` must print `text`; `--> text...`
-- means "starts with text". A number printed compares as a number: 5.3+
-- prints the float 0 as "0.0", 5.1, 5.2 and LuaJIT as "0".
--
-- An HTML comment on the line just before the fence (invisible on GitHub)
-- says how to run a block:
--   <!-- needs: /path/to/file -->   runs when that file exists; pending
--                                   (with a note) when it does not
--   <!-- setup: lua code -->        code run first, in the same chunk: the
--                                   stand-in data a fragment needs
--   <!-- file: examples/x.lua -->   the block is the end of that file, as it
--                                   is there; it runs with arg[0] naming it
--   <!-- not run: reason -->        a fragment by nature (a signature, an
--                                   option table); at most MAX_NOT_RUN of them
-- A block with no comment must run as it is.
--
-- The documents also render as meant: every table starts with its header
-- and separator (a paragraph inside a table turns the rest into raw pipes),
-- and every relative link names a file that exists and a heading in it.

local S = require("shell")
local H = require("helper")

local DOCS = { "README.md", "docs/API.md" }
local MAX_NOT_RUN = 3   -- raising it needs a reason: prefer a runnable block

-- The ```lua blocks of a Markdown file: { line, code, marks = {key = value} }.
local function lua_blocks(path)
  local blocks, lines = {}, {}
  for l in (H.read(path) .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  local i = 1
  while i <= #lines do
    local lang = lines[i]:match("^```(%S*)%s*$")
    if lang then
      local j, body = i + 1, {}
      while j <= #lines and not lines[j]:match("^```%s*$") do
        body[#body + 1] = lines[j]
        j = j + 1
      end
      if lang == "lua" then
        local b = { line = i, code = table.concat(body, "\n") .. "\n", marks = {}, bad = {} }
        local k = i - 1
        while k >= 1 and lines[k]:match("^<!%-%-.*%-%->%s*$") do
          local key, value = lines[k]:match("^<!%-%-%s*([%w ]-)%s*:%s*(.-)%s*%-%->%s*$")
          if key == "needs" or key == "setup" or key == "file" or key == "not run" then
            b.marks[key] = value
          else
            b.bad[#b.bad + 1] = lines[k]
          end
          k = k - 1
        end
        blocks[#blocks + 1] = b
      end
      i = j + 1
    else
      i = i + 1
    end
  end
  return blocks
end

-- The block as a script: the prelude (bp, the expectation hook, arg[0],
-- the setup code) on its first line, so error lines match the document's;
-- each `print(...) --> text` line reports through the hook instead. Returns
-- the script and the list of expected texts.
local function script(b)
  local expect, out = {}, {}
  for l in b.code:gmatch("(.-)\n") do
    local want = l:match("^%s*print%(.*%)%s*%-%->%s*(.-)%s*$")
    if want then
      expect[#expect + 1] = want
      l = l:gsub("print%(", "__expect(" .. #expect .. ", ", 1)
    end
    out[#out + 1] = l
  end
  local prelude = {
    'bp = require("backprop")',
    'local function __expect(k, ...) local v = {} for i = 1, select("#", ...) do ' ..
      'v[i] = tostring((select(i, ...))) end print("@@expect " .. k .. " " .. table.concat(v, "\\t")) end',
  }
  if b.marks.file then prelude[#prelude + 1] = ("arg[0] = %q"):format(S.root .. "/" .. b.marks.file) end
  if b.marks.setup then prelude[#prelude + 1] = b.marks.setup end
  out[1] = table.concat(prelude, " ") .. " " .. (out[1] or "")
  return table.concat(out, "\n") .. "\n", expect
end

local function run(b)
  local dir = H.tmpdir()
  local code, expect = script(b)
  H.write(dir .. "/block.lua", code)
  local ok, status, output = S.run(("cd %s && %s timeout 300 %s block.lua"):format(
    S.q(dir), S.inplace, S.lua))
  H.rmtree(dir)
  assert(ok, ("the block exited with status %s:\n%s"):format(status, S.tail(output)))
  local got = {}
  for k, text in output:gmatch("@@expect (%d+) ([^\n]*)") do got[tonumber(k)] = text end
  for k, want in ipairs(expect) do
    local text = got[k]
    assert(text, ("the line printing --> %s never ran"):format(want))
    local prefix = want:match("^(.-)%.%.%.$")
    if prefix then
      assert(text:sub(1, #prefix) == prefix, ("printed %s, the document says %s"):format(text, want))
    elseif tonumber(want) and tonumber(text) then
      assert(tonumber(text) == tonumber(want), ("printed %s, the document says %s"):format(text, want))
    else
      assert(text == want, ("printed %s, the document says %s"):format(text, want))
    end
  end
end

describe("the documentation's Lua examples", function()
  local not_run = {}

  for _, doc in ipairs(DOCS) do
    local blocks = lua_blocks(doc)

    it(doc .. " has Lua examples", function()
      assert.is_true(#blocks > 0, "no ```lua block found in " .. doc)
    end)

    for _, b in ipairs(blocks) do
      local name = ("%s:%d"):format(doc, b.line)
      local m = b.marks
      if #b.bad > 0 then
        it(name .. " is marked with a known comment", function()
          error("unknown marker before the block (needs, setup, file, not run): " .. table.concat(b.bad, " "))
        end)
      elseif m["not run"] then
        not_run[#not_run + 1] = name
        it(name .. " says why it is not run", function()
          assert.is_true(#m["not run"] > 0, "<!-- not run: ... --> needs a reason")
        end)
      elseif m.needs and not H.exists(m.needs) then
        pending(name .. " runs: needs " .. m.needs .. ", which is not here")
      else
        if m.file then
          it(name .. " is the end of " .. m.file, function()
            local text = H.read(S.root .. "/" .. m.file)
            assert.are.equal(b.code, text:sub(-#b.code),
                             m.file .. " does not end with the block as the document shows it")
          end)
        end
        it(name .. " runs", function() run(b) end)
      end
    end
  end

  it("leaves at most " .. MAX_NOT_RUN .. " blocks unrun", function()
    assert.is_true(#not_run <= MAX_NOT_RUN, ("%d blocks are marked not run (%s); make them runnable")
                   :format(#not_run, table.concat(not_run, ", ")))
  end)
end)

-- GitHub's anchor for a heading: lower case, punctuation dropped, spaces
-- to hyphens.
local function anchor(heading)
  return (heading:lower():gsub("[^%w%- ]", ""):gsub(" ", "-"))
end

local function anchors(path)
  local set, fenced = {}, false
  for l in (H.read(path) .. "\n"):gmatch("(.-)\n") do
    if l:match("^```") then fenced = not fenced end
    local h = not fenced and l:match("^#+%s+(.-)%s*$")
    if h then set[anchor(h)] = true end
  end
  return set
end

describe("the documentation renders", function()
  for _, doc in ipairs(DOCS) do
    it(doc .. ": every table starts with a header row and a separator", function()
      local lines, bad, fenced = {}, {}, false
      for l in (H.read(doc) .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
      local i = 1
      while i <= #lines do
        if lines[i]:match("^```") then fenced = not fenced end
        if not fenced and lines[i]:match("^|") then
          local first = i
          while i + 1 <= #lines and lines[i + 1]:match("^|") do i = i + 1 end
          if not (lines[first + 1] and first + 1 <= i and lines[first + 1]:match("^|[%s:|%-]+|%s*$")) then
            bad[#bad + 1] = ("line %d: %s"):format(first, lines[first])
          end
        end
        i = i + 1
      end
      assert(#bad == 0, "table rows without a header (a table split by a paragraph?):\n" .. table.concat(bad, "\n"))
    end)

    it(doc .. ": relative links name files and headings that exist", function()
      local dir = doc:match("^(.*)/") or "."
      local bad = {}
      for target in H.read(doc):gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a+:") then
          local file, frag = target:match("^([^#]*)#?(.*)$")
          local path = file == "" and doc or (dir .. "/" .. file)
          if not H.exists(path) and not S.run("test -d " .. S.q(path)) then
            bad[#bad + 1] = target .. " (no file " .. path .. ")"
          elseif frag ~= "" and not anchors(path)[frag] then
            bad[#bad + 1] = target .. " (no heading #" .. frag .. " in " .. path .. ")"
          end
        end
      end
      assert(#bad == 0, "broken links:\n" .. table.concat(bad, "\n"))
    end)
  end
end)
