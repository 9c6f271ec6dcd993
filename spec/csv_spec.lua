-- bp.data.read_csv beyond plain numbers (issue 11, and the read_csv lines
-- of issue 10): text columns (the target as class ids with the class
-- names; features as one-hot columns or ids), separators, quoting, missing
-- cells, and the streaming C reader on files larger than its buffer.
-- Expected values are written out by hand, or computed here from the
-- file's text with Lua's own tonumber.

local bp = require("backprop")
local H = require("helper")
local B = require("bytes")   -- string.pack and unpack on every Lua

local dir = H.tmpdir()
local n_files = 0
local function file(text)
  n_files = n_files + 1
  return H.write(dir .. "/f" .. n_files .. ".csv", text)
end

local function f32(x) return (B.unpack("<f", B.pack("<f", x))) end

local function err_of(text, opts)
  local ok, err = pcall(bp.data.read_csv, file(text), opts)
  assert.is_false(ok, "expected an error")
  return err
end

local function raises(text, opts, piece)
  local err = err_of(text, opts)
  assert.is_truthy(err:find(piece, 1, true), "expected '" .. piece .. "' in: " .. err)
  assert.equal(1, err:find("backprop.data.read_csv: '", 1, true), err)
  return err
end

local function column(t, j)
  local out = {}
  for i = 1, #t do out[i] = t:get(i, j) end
  return out
end

--------------------------------------------------------------------------
describe("read_csv on iris", function()
  it("loads in one call: measurements, class ids and class names", function()
    local X, Y, names, classes = bp.data.read_csv("examples/data/iris.csv", { target = "species" })
    assert.same({ 150, 4 }, X:shape())
    assert.same({ 150, 1 }, Y:shape())
    assert.same({ "sepal_length", "sepal_width", "petal_length", "petal_width" }, names)
    assert.same({ "setosa", "versicolor", "virginica" }, classes)
    -- first and last lines of the file
    assert.same({ f32(5.1), f32(3.5), f32(1.4), f32(0.2) }, X[1]:totable())
    assert.same({ f32(5.9), f32(3.0), f32(5.1), f32(1.8) }, X[150]:totable())
    local count = { 0, 0, 0 }
    for i = 1, 150 do
      local c = Y:get(i, 1)
      count[c] = count[c] + 1
      assert.equal(i <= 50 and 1 or i <= 100 and 2 or 3, c, "row " .. i)
    end
    assert.same({ 50, 50, 50 }, count)
  end)

  it("trains a classifier with CrossEntropyLoss straight from the ids", function()
    local X, Y = bp.data.read_csv("examples/data/iris.csv", { target = "species" })
    bp.data.standardize(X)
    bp.manual_seed(1)
    local net = bp.Sequential{ bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 3) }
    net:fit(X, Y, { loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(net, { lr = 0.05 }), epochs = 30,
                    batch_size = 16 })
    local acc = bp.metrics.accuracy(net:forward(X), Y)
    assert(acc > 0.9, "training accuracy " .. acc)
  end)
end)

--------------------------------------------------------------------------
describe("read_csv text columns", function()
  it("numbers a text target's classes in sorted order, whatever the row order", function()
    local X, Y, names, classes = bp.data.read_csv(file("x,kind\n1,zebra\n2,ant\n3,moth\n4,ant\n"),
                                                  { target = "kind" })
    assert.same({ "ant", "moth", "zebra" }, classes)
    assert.same({ 3, 1, 2, 1 }, column(Y, 1))
    assert.same({ 1, 2, 3, 4 }, column(X, 1))
    assert.same({ "x" }, names)
  end)

  it("a target mixing numbers and text is all text", function()
    local _, Y, _, classes = bp.data.read_csv(file("x,y\n1,cat\n2,dog\n3,10\n4,9\n"), { target = 2 })
    assert.same({ "10", "9", "cat", "dog" }, classes)   -- byte order
    assert.same({ 3, 4, 1, 2 }, column(Y, 1))
  end)

  it("a numeric target stays numbers, with no class names", function()
    local _, Y, _, classes = bp.data.read_csv(file("x,y\n1,0.5\n2,-3\n"), { target = "y" })
    assert.is_nil(classes)
    assert.same({ 0.5, -3 }, column(Y, 1))
  end)

  it("refuses a text feature unless told what it becomes", function()
    raises("a,color,y\n1,red,0\n", { target = "y" },
           "line 2, column 'color': 'red' is not a number (a column of text is read with the option " ..
           "text = \"onehot\" or \"ids\", or left out with drop)")
  end)

  it("text = \"onehot\": one 0/1 column per value, named column_value", function()
    local X, Y, names, classes, cats = bp.data.read_csv(
      file("a,color,size,y\n1,red,S,0\n2,blue,M,1\n3,red,L,1\n4,green,M,0\n"), { target = "y", text = "onehot" })
    assert.same({ "a", "color_blue", "color_green", "color_red", "size_L", "size_M", "size_S" }, names)
    assert.same({
      { 1, 0, 0, 1, 0, 0, 1 },
      { 2, 1, 0, 0, 0, 1, 0 },
      { 3, 0, 0, 1, 1, 0, 0 },
      { 4, 0, 1, 0, 0, 1, 0 },
    }, X:totable())
    assert.same({ 0, 1, 1, 0 }, column(Y, 1))
    assert.is_nil(classes)
    assert.same({ color = { "blue", "green", "red" }, size = { "L", "M", "S" } }, cats)
  end)

  it("text = \"ids\": one column of ids 1..K", function()
    local X, _, names, _, cats = bp.data.read_csv(file("color,a\nred,1\nblue,2\nred,3\n"), { text = "ids" })
    assert.same({ "color", "a" }, names)
    assert.same({ { 2, 1 }, { 1, 2 }, { 2, 3 } }, X:totable())
    assert.same({ color = { "blue", "red" } }, cats)
  end)

  it("drop leaves columns out, by name or index", function()
    local X, Y, names = bp.data.read_csv(file("id,name,a,y\n1,ann,5,0\n2,bob,6,1\n"),
                                         { target = "y", drop = { "name", 1 } })
    assert.same({ "a" }, names)
    assert.same({ { 5 }, { 6 } }, X:totable())
    assert.same({ 0, 1 }, column(Y, 1))
    raises("a,y\n1,2\n", { target = "y", drop = { "y" } }, "the target column 'y' is also in drop")
    raises("a,y\n1,2\n", { drop = { "b" } }, "has no column named 'b'")
  end)
end)

--------------------------------------------------------------------------
describe("read_csv separators and quoting", function()
  it("takes sep = ';' and tab", function()
    local X = bp.data.read_csv(file("a;b\n1;2\n3;4\n"), { sep = ";" })
    assert.same({ { 1, 2 }, { 3, 4 } }, X:totable())
    local T, Y = bp.data.read_csv(file("a\tb\n1\t2\n"), { sep = "\t", target = "b" })
    assert.same({ { 1 } }, T:totable())
    assert.same({ { 2 } }, Y:totable())
  end)

  it("names the separator a file seems to use", function()
    raises("a;b;c\n1;2;3\n", nil,
           "with the separator ',' its first line is a single field, but it contains ';' 2 times: " ..
           "the file seems to use ';' (pass sep = ';')")
    raises("a\tb\n1\t2\n", nil, "contains tab 1 time: the file seems to use tab (pass sep = '\\t')")
    raises("a,b,c\n1,2,3\n", { sep = ";" }, "the file seems to use ',' (pass sep = ',')")
    -- a one-column file is fine, and a separator inside quotes does not count
    assert.same({ { 1 }, { 2 } }, bp.data.read_csv(file("a\n1\n2\n")):totable())
    local _, _, names = bp.data.read_csv(file('"a;b"\n1\n'))
    assert.same({ "a;b" }, names)
  end)

  it("reads quoted separators, doubled quotes and line breaks inside quotes", function()
    local X, Y, names, _, cats = bp.data.read_csv(
      file('id,"note, with ""quotes""",y\n1,"a,b",0\n2,"two\nlines ""here""",1\n3,  "x" ,0\n4,"",1\n'),
      { target = "y", text = "ids", missing = 0 })
    assert.same({ "id", 'note, with "quotes"' }, names)
    assert.same({ 'a,b', 'two\nlines "here"', "x" }, cats['note, with "quotes"'])
    assert.same({ { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 0 } }, X:totable())   -- "" is a missing cell
    assert.same({ 0, 1, 0, 1 }, column(Y, 1))
  end)

  it("counts lines inside quoted fields in its messages", function()
    raises('a,b\n1,"x\ny\nz"\n2,oops\n', { text = nil }, "line 2, column 'b': 'x\ny\nz' is not a number")
    raises('a,b\n1,"x\ny\nz"\n2,3,4\n', { text = "ids" }, "line 5 has 3 fields, expected 2")
  end)

  it("refuses text after a closing quote (\"1\"23 is not 1)", function()
    raises('a,b\n"1"23,4\n', nil, "line 2, column 'a': text after the closing quote: '\"1\"23'")
    raises('a,b\n1,"2" 3\n', nil, "line 2, column 'b': text after the closing quote")
    -- spaces after it are fine
    assert.same({ { 1, 2 } }, bp.data.read_csv(file('a,b\n"1"  ,"2"  \n')):totable())
  end)

  it("reports an unterminated quote with the line it starts on", function()
    raises('a,b\n1,2\n3,"4\n5,6\n', nil, "line 3: unterminated quote")
  end)
end)

--------------------------------------------------------------------------
describe("read_csv file shapes", function()
  it("drops a UTF-8 byte-order mark from the first name", function()
    local X, Y, names = bp.data.read_csv(file("\239\187\191id,y\n1,2\n"), { target = "id" })
    assert.same({ "y" }, names)
    assert.same({ { 2 } }, X:totable())
    assert.same({ { 1 } }, Y:totable())
    -- also without a header
    assert.same({ { 7, 8 } }, bp.data.read_csv(file("\239\187\191\"7\",8\n"), { header = false }):totable())
  end)

  it("reads CR-only and mixed line endings", function()
    local X, Y = bp.data.read_csv(file("a,b\r1,2\r\r3,4\r"), { target = "b" })
    assert.same({ { 1 }, { 3 } }, X:totable())
    assert.same({ { 2 }, { 4 } }, Y:totable())
    local M = bp.data.read_csv(file("a,b\r\n1,2\n3,4\r5,6"))
    assert.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, M:totable())
    raises("a,b\r1,2\r3\r", nil, "line 3 has 1 field, expected 2")
  end)

  it("refuses a duplicated column name, naming both columns", function()
    raises("a,b,a\n1,2,3\n", nil, "columns 1 and 3 are both named 'a'")
    raises("a,b,a\n1,2,3\n", { target = 2 }, "columns 1 and 3 are both named 'a'")
  end)

  it("quotes only a bounded prefix of a huge bad cell", function()
    local big = string.rep("x", 20 * 1024 * 1024)
    local err = raises("a,b\n1," .. big .. "\n", nil,
                       "line 2, column 'b': '" .. string.rep("x", 40) .. "...' (20971520 bytes) is not a number")
    assert(#err < 400, "message of " .. #err .. " bytes")
    err = raises("a,b\n1,\"" .. big .. "\"z\n", nil, "text after the closing quote")
    assert(#err < 400, "message of " .. #err .. " bytes")
    -- and of a huge header name
    err = raises(big .. ",b\nx,2\n", nil, "column '" .. string.rep("x", 40) .. "...' (20971520 bytes): 'x'")
    assert(#err < 400, "message of " .. #err .. " bytes")
  end)

  it("cuts a quoted prefix at a UTF-8 character boundary", function()
    local cell = string.rep("a", 39) .. "é" .. string.rep("b", 10)    -- é straddles byte 40
    local err = raises("a\n" .. cell .. "\n", nil, "'" .. string.rep("a", 39) .. "...' (51 bytes)")
    assert.is_nil(err:find("\195'", 1, true))
  end)
end)

--------------------------------------------------------------------------
describe("read_csv missing cells", function()
  it("reports the first missing cell by line and column", function()
    raises("a,b,c\n1,2,3\n4,,6\n7,8,\n", nil,
           "line 3, column 'b': missing value (an empty cell; 1 in that column; pass missing = <number>")
    raises("1,2\n3, \n", { header = false }, "line 2, column 2: missing value")
  end)

  it("fills them with missing = v, and takes more markers with na", function()
    local X = bp.data.read_csv(file("a,b\n1,\n,4\n"), { missing = -1 })
    assert.same({ { 1, -1 }, { -1, 4 } }, X:totable())
    local Y = bp.data.read_csv(file("a,b\n1,NA\n?,4\n"), { missing = 0, na = { "NA", "?" } })
    assert.same({ { 1, 0 }, { 0, 4 } }, Y:totable())
    raises("a,b\n1,NA\n", { na = { "NA" } }, "line 2, column 'b': missing value (an empty cell or an na marker")
  end)

  it("gives a missing text cell zeros (onehot) or the fill value (ids)", function()
    local X = bp.data.read_csv(file("c,a\nred,1\n,2\nblue,3\n"), { text = "onehot", missing = 0 })
    assert.same({ { 0, 1, 1 }, { 0, 0, 2 }, { 1, 0, 3 } }, X:totable())
    local I = bp.data.read_csv(file("c,a\nred,1\n,2\n"), { text = "ids", missing = -1 })
    assert.same({ { 1, 1 }, { -1, 2 } }, I:totable())
  end)

  it("never fills the target", function()
    raises("a,y\n1,0\n2,\n3,\n", { target = "y", missing = 0 },
           "line 3: the target 'y' is missing (2 rows without a target)")
  end)
end)

--------------------------------------------------------------------------
describe("read_csv numbers", function()
  it("reads every form Lua's tonumber reads, to the same float32", function()
    local forms = { "0.1", "1e-30", "123456789012345678901234", "0x1F", "0x1p-3", "1.5e22",
                    "9007199254740993", "1e23", "-0", "3.4028235e38", "1e-45", " 7 ", "+3", ".5",
                    "5.", "-.25", "0.000000000000000000000000000001234", "00012", "1E+05",
                    "123456789.123456789", "2.5e-310", "-0", "-0.0", "-0e3" }
    local X = bp.data.read_csv(file("a\n" .. table.concat(forms, "\n") .. "\n"))
    for i, s in ipairs(forms) do
      -- bit for bit (string.pack tells -0.0 from 0.0), as Lua 5.3+ reads
      -- it: an integer form ("-0") is the integer 0, which has no sign
      -- (5.1, 5.2 and LuaJIT read -0.0)
      local want = tonumber(s)
      if want == 0 and not s:find("[.eE]") then want = 0 end
      assert.equal(B.pack("<f", want), B.pack("<f", X:get(i, 1)), "form " .. s)
    end
  end)

  it("refuses what tonumber refuses, and values float32 cannot hold", function()
    raises("a\ninf\n", nil, "'inf' is not a number")
    raises("a\nnan\n", nil, "'nan' is not a number")
    raises("a\n1e\n", nil, "'1e' is not a number")
    raises("a\n1,5\n", { sep = ";" }, "'1,5' is not a number")
    raises("a\n1e400\n", nil, "line 2, column 'a': '1e400' is not a finite number")
    raises("a\n-1e39\n", nil, "'-1e39' is too large for float32")
  end)

  it("streams files larger than its buffer, records split anywhere", function()
    -- 3 MB: records of varied length, quoted fields with line breaks, CRLF
    -- and LF, so records and quoted fields straddle the 1 MB reads.
    local rows, expect, cls = {}, {}, {}
    local state = 12345
    local function rand(n)
      state = (state * 16807) % 2147483647   -- exact in doubles (Lua 5.1)
      return state % n
    end
    local words = { "alpha", '"be,ta"', '"ga\nmma"', '"del""ta"' }
    local values = { alpha = 1, ['"be,ta"'] = 2, ['"ga\nmma"'] = 4, ['"del""ta"'] = 3 }   -- sorted ids
    local i = 0
    local size = 0
    while size < 3 * 1024 * 1024 do
      i = i + 1
      local a = string.format("%." .. rand(8) .. "f", (rand(2000000) - 1000000) / 997)
      local b = tostring(rand(100000))
      local w = words[rand(4) + 1]
      local line = a .. "," .. b .. "," .. w .. (rand(2) == 0 and "\r\n" or "\n")
      rows[#rows + 1] = line
      size = size + #line
      expect[i] = { f32(tonumber(a)), f32(tonumber(b)) }
      cls[i] = values[w]
    end
    -- one record longer than the buffer, in a text column
    local long = '"' .. string.rep("z", 1536 * 1024) .. '"'
    rows[#rows + 1] = "1,2," .. long .. "\n"
    expect[i + 1], cls[i + 1] = { 1, 2 }, 5
    local X, Y, _, classes = bp.data.read_csv(file("a,b,w\n" .. table.concat(rows)), { target = "w" })
    assert.same({ i + 1, 2 }, X:shape())
    assert.equal(5, #classes)
    assert.equal('del"ta', classes[3])
    assert.equal(1536 * 1024, #classes[5])
    local flat, ys = X:reshape(-1):totable(), Y:reshape(-1):totable()
    for r = 1, i + 1 do
      if flat[2 * r - 1] ~= expect[r][1] or flat[2 * r] ~= expect[r][2] or ys[r] ~= cls[r] then
        assert.same({ expect[r], cls[r] }, { { flat[2 * r - 1], flat[2 * r] }, ys[r] }, "row " .. r)
      end
    end
  end)
end)

describe("read_csv misuse", function()
  it("checks its options", function()
    local p = file("a,b\n1,2\n")
    local function bad(opts, piece)
      local ok, err = pcall(bp.data.read_csv, p, opts)
      assert.is_false(ok)
      assert.is_truthy(err:find(piece, 1, true), err)
    end
    bad({ text = "yes" }, 'text must be "onehot" or "ids", got yes')
    bad({ missing = "0" }, "missing must be a number")
    bad({ na = "NA" }, "na must be a list of strings")
    bad({ na = { 1 } }, "na[1] must be a string, got number")
    bad({ drop = "a" }, "drop must be a list")
    bad({ sep = '"' }, "sep cannot be a quote or a line break")
    bad({ sep = "\n" }, "sep cannot be a quote or a line break")
  end)

  it("names a read error (a directory) and an empty file", function()
    local ok, err = pcall(bp.data.read_csv, dir)
    assert.is_false(ok)
    assert.matches("backprop.data.read_csv: '" .. dir .. "': read error: ", err, 1, true)
    ok, err = pcall(bp.data.read_csv, file(""))
    assert.is_false(ok)
    assert.matches("no data rows (the file is empty)", err, 1, true)
    ok, err = pcall(bp.data.read_csv, file("\n \r\n\t\n"))
    assert.matches("no data rows (the file is empty)", err, 1, true)
  end)

  it("the internal reader refuses misuse without crashing", function()
    local internal = require("backprop.core").internal
    local r = internal.csv_open(file("a,b\n1,2\n"), ",", true)
    assert.is_false(pcall(r.fill, r, bp.zeros(1, 2), nil, {}, 0))   -- before the scan
    assert.equal(1, r:scan({ "number", "number" }, {}))
    assert.is_false(pcall(r.fill, r, bp.zeros(2, 2), nil, {}, 0))   -- wrong row count
    assert.is_false(pcall(r.fill, r, bp.zeros(1, 1), nil, { { "x", 1 }, { "x", 2 } }, 0))
    assert.is_false(pcall(r.fill, r, bp.zeros(1, 2), nil, { { "y" } }, 0))   -- no Y
    assert.is_false(pcall(r.column, r, 3))
    local X = bp.zeros(1, 2)
    assert.is_true(r:fill(X, nil, { { "x", 2 }, { "x", 1 } }, 0))
    assert.same({ { 2, 1 } }, X:totable())
    r:close()
    assert.is_false(pcall(r.scan, r, {}, {}))
    r:close()
  end)
end)

describe("read_csv on random files", function()
  -- Random bytes from CSV's own alphabet (separators, quotes, line breaks,
  -- numbers, text, a BOM) with random options: every file is read or
  -- refused with a read_csv error, never a crash (make asan runs this
  -- under AddressSanitizer). A file that reads is checked against its
  -- shape: rows times columns values, finite.
  local ROUNDS = math.max(300, math.floor((tonumber(os.getenv("BACKPROP_FUZZ_ROUNDS")) or 4000) / 10))
  local PIECES = { ",", ",", ";", "\t", '"', '""', "\n", "\n", "\r\n", "\r", " ", "1", "2.5", "-3e2",
                   "0x1F", "1e400", "abc", "NA", "", "\239\187\191", "x y", "é", ".", "+", "9" }

  it("reads or refuses " .. ROUNDS .. " random files cleanly", function()
    local state = 42
    local function rand(n)
      state = (state * 16807) % 2147483647   -- exact in doubles (Lua 5.1)
      return state % n
    end
    local read, refused = 0, 0
    local p = dir .. "/random.csv"
    for _ = 1, ROUNDS do
      local parts = {}
      for i = 1, rand(60) + 1 do parts[i] = PIECES[rand(#PIECES) + 1] end
      H.write(p, table.concat(parts))
      local opts = {}
      if rand(2) == 0 then opts.target = rand(4) + 1 end
      if rand(3) == 0 then opts.text = rand(2) == 0 and "onehot" or "ids" end
      if rand(3) == 0 then opts.missing = 0 end
      if rand(4) == 0 then opts.header = false end
      if rand(4) == 0 then opts.sep = ({ ";", "\t", "," })[rand(3) + 1] end
      if rand(5) == 0 then opts.na = { "NA" } end
      local ok, X, Y = pcall(bp.data.read_csv, p, opts)
      if ok then
        read = read + 1
        assert.equal(2, X:dim())
        assert.is_true((X * 0):sum() == 0, "finite values")
        if Y then assert.same({ #X, 1 }, Y:shape()) end
      else
        refused = refused + 1
        assert.equal(1, X:find("backprop.data.read_csv: ", 1, true), X)
      end
    end
    assert(read > 0 and refused > 0, string.format("%d read, %d refused", read, refused))
  end)
end)

describe("examples/iris.lua", function()
  it("runs: cross-validates, prints the confusion matrix by name, classifies a plain table", function()
    -- dofile runs the example with the real globals (busted gives each
    -- spec file an environment of its own): replace print and arg there.
    local G = _G
    local lines, saved_print, saved_arg = {}, G.print, G.arg
    G.print = function(...)
      local parts = H.pack(...)
      for i = 1, parts.n do parts[i] = tostring(parts[i]) end
      lines[#lines + 1] = table.concat(parts, "\t")
    end
    G.arg = { [0] = "examples/iris.lua" }
    local ok, err = pcall(dofile, "examples/iris.lua")
    G.print, G.arg = saved_print, saved_arg
    assert(ok, err)
    local text = table.concat(lines, "\n")
    assert.matches("150 flowers, features sepal_length, sepal_width, petal_length, petal_width, " ..
                   "classes setosa, versicolor, virginica", text, 1, true)
    local cv = tonumber(text:match("5%-fold accuracy (%S+)"))
    assert(cv and cv > 0.9, "cross-validated accuracy " .. tostring(cv))
    assert.matches("true \\ predicted  setosa  versicolor  virginica", text, 1, true)
    assert.matches("{6.3, 2.9, 5.6, 1.8} is virginica", text, 1, true)
  end)
end)
