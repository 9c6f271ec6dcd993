--- bp.data: getting data into tensors: CSV and IDX files, train/test
-- splits, feature scaling, and mini-batches for hand-written loops.

local compat = require("backprop.compat")
local core = require("backprop.core")
local check = require("backprop.check")

local data = {}
local is_tensor = check.is_tensor

local function fail(fn, msg, ...)
  check.fail("backprop.data." .. fn, msg, ...)
end

local function check_options(fn, opts, known)
  return check.options("backprop.data." .. fn, opts, known)
end

-- read_csv's options, and what `text` may say a text feature becomes.
local CSV_OPTIONS = { target = true, header = true, sep = true, text = true,
                      missing = true, na = true, drop = true }
local TEXT = { onehot = true, ids = true }

-- A column given by name or 1-based index, as an index.
local function column_index(fn, path, names, v, what)
  if type(v) == "string" then
    for j, name in ipairs(names) do
      if name == v then return j end
    end
    fail(fn, "'%s' has no column named '%s'", path, v)
  end
  local j = compat.tointeger(v)
  if not j or j < 1 or j > #names then
    fail(fn, "%s must be a column name or an index in 1..%d, got %s", what, #names, tostring(v))
  end
  return j
end

local function check_csv_options(fn, opts)
  opts = check_options(fn, opts, CSV_OPTIONS)
  local sep = opts.sep or ","
  if type(sep) ~= "string" or #sep ~= 1 then fail(fn, "sep must be one character") end
  if sep == '"' or sep == "\n" or sep == "\r" then
    fail(fn, "sep cannot be a quote or a line break")
  end
  local header = opts.header
  if header == nil then header = true end
  if type(header) ~= "boolean" then fail(fn, "header must be a boolean, got %s", type(header)) end
  if opts.text ~= nil and not TEXT[opts.text] then
    fail(fn, "text must be \"onehot\" or \"ids\", got %s", tostring(opts.text))
  end
  local missing = opts.missing
  if missing ~= nil and (type(missing) ~= "number" or missing ~= missing) then
    fail(fn, "missing must be a number (the value of a missing cell), got %s", tostring(missing))
  end
  local na = opts.na or {}
  if type(na) ~= "table" then fail(fn, "na must be a list of strings, got %s", type(na)) end
  for i = 1, #na do
    if type(na[i]) ~= "string" then fail(fn, "na[%d] must be a string, got %s", i, type(na[i])) end
  end
  if opts.drop ~= nil and type(opts.drop) ~= "table" then
    fail(fn, "drop must be a list of column names or indices, got %s", type(opts.drop))
  end
  return opts, sep, header, na
end

local function distinct_names(fn, path, names)
  local seen = {}
  for j, name in ipairs(names) do
    if seen[name] then
      fail(fn, "'%s': columns %d and %d are both named '%s' (a name must pick one column; " ..
               "rename one of them in the file)", path, seen[name], j, name)
    end
    seen[name] = j
  end
end

-- The first missing cell of the columns read, as "line L, column C".
local function first_missing(reader, names, header, read)
  local line, col, count
  for j in pairs(read) do
    local _, n, l = reader:column(j)
    if n > 0 and (not line or l < line or (l == line and j < col)) then
      line, col, count = l, j, n
    end
  end
  if not line then return nil end
  local where = header and string.format("column '%s'", names[col]) or "column " .. col
  return line, col, where, count
end

--- Read a CSV file. Returns X (N x features), Y (N x 1, the target
-- column, or nil without opts.target), the feature names, the class names
-- when the target column holds text (Y then holds class ids 1..C in the
-- names' order), and the values of each text feature (by column name).
-- Options (docs/API.md has the details):
--   target: the target column's header name or 1-based index;
--   header (true): whether the first line names the columns;
--   sep (","): the field separator, one character (";", "\t", ...);
--   text: what a text feature column becomes: "onehot" (one 0/1 column per
--     value, named "<column>_<value>") or "ids" (1..K); without it a text
--     feature is an error;
--   missing: the number a missing cell (empty, or one of na) becomes;
--     without it a missing cell is an error naming its line and column;
--   na: more strings that mean a missing cell ({"NA", "?"});
--   drop: columns (names or indices) not to read.
-- Text values (classes, categories) are numbered in sorted (byte) order,
-- so the ids do not depend on the order of the rows.
function data.read_csv(path, opts)
  local fn = "read_csv"
  if type(path) ~= "string" then fail(fn, "path must be a string, got %s", type(path)) end
  local sep, header, na
  opts, sep, header, na = check_csv_options(fn, opts)
  local reader, err, kind = core.internal.csv_open(path, sep, header)
  if not reader then
    if err:match("^cannot open") then fail(fn, "cannot open '%s': %s", path, err:gsub("^cannot open: ", "")) end
    if kind == "sep" then
      err = err .. string.format(" (pass sep = '%s')", err:match("seems to use '(.)'") or "\\t")
    end
    fail(fn, "'%s': %s", path, err)
  end
  local ncols = reader:ncols()
  local names = reader:names()
  if names then
    distinct_names(fn, path, names)
  else
    names = {}
    for j = 1, ncols do names[j] = "column" .. j end
  end
  local tcol = opts.target ~= nil and column_index(fn, path, names, opts.target, "target") or nil
  local dropped = {}
  for i, v in ipairs(opts.drop or {}) do
    local j = column_index(fn, path, names, v, "drop[" .. i .. "]")
    if j == tcol then fail(fn, "'%s': the target column '%s' is also in drop", path, names[j]) end
    dropped[j] = true
  end
  local modes, read = {}, {}
  for j = 1, ncols do
    if dropped[j] then modes[j] = "skip"
    elseif j == tcol or opts.text then modes[j] = "auto"
    else modes[j] = "number" end
    if not dropped[j] then read[j] = true end
  end

  local rows
  rows, err, kind = reader:scan(modes, na)
  if not rows then
    if kind == "text" then
      err = err .. " (a column of text is read with the option text = \"onehot\" or \"ids\", " ..
                   "or left out with drop)"
    end
    fail(fn, "'%s': %s", path, err)
  end
  if rows == 0 then fail(fn, "'%s' has no data rows", path) end
  if tcol then
    local _, n, line = reader:column(tcol)
    if n > 0 then
      fail(fn, "'%s': line %d: the target '%s' is missing (%d row%s without a target)", path, line,
           names[tcol], n, n == 1 and "" or "s")
    end
  end
  if opts.missing == nil then
    local line, _, where, count = first_missing(reader, names, header, read)
    if line then
      fail(fn, "'%s': line %d, %s: missing value (an empty cell%s; %d in that column; pass missing = " ..
               "<number> to fill missing cells)", path, line, where, #na > 0 and " or an na marker" or "",
           count)
    end
  end

  -- The plan: where each column goes, and the feature names.
  local plan, fnames, categories, width = {}, {}, nil, 0
  for j = 1, ncols do
    plan[j] = false
    if read[j] and j ~= tcol then
      local text, _, _, ncat = reader:column(j)
      if text and opts.text == "onehot" then
        local values = reader:categories(j)
        plan[j] = { "x", width + 1, true }
        for _, v in ipairs(values) do fnames[#fnames + 1] = names[j] .. "_" .. v end
        width = width + ncat
      else
        plan[j] = { "x", width + 1, false }
        fnames[#fnames + 1] = names[j]
        width = width + 1
      end
      if text then
        categories = categories or {}
        categories[names[j]] = reader:categories(j)
      end
    end
  end
  if tcol then plan[tcol] = { "y" } end
  if width == 0 then
    fail(fn, "'%s' has only the target column", path)
  end
  local X = core.zeros(rows, width)
  local Y = tcol and core.zeros(rows, 1) or nil
  local ok
  ok, err = reader:fill(X, Y, plan, opts.missing or 0)
  if not ok then fail(fn, "'%s': %s", path, err) end
  local classes = tcol and reader:column(tcol) and reader:categories(tcol) or nil
  reader:close()
  return X, Y, fnames, classes, categories
end

local function optional_number(fn, name, v)
  if v ~= nil and (type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge) then
    fail(fn, "%s must be a finite number, got %s", name, tostring(v))
  end
  return v
end

local function optional_boolean(fn, name, v)
  if v ~= nil and type(v) ~= "boolean" then
    fail(fn, "%s must be a boolean, got %s", name, type(v))
  end
  return v
end

-- The class of each sample, for stratify: `labels` is true (take them
-- from y: N or N x 1 values, or N x C one-hot rows by their argmax), a
-- tensor of the same kinds, or a Lua list of any values. Returns a list
-- of class numbers 1..C in order of first appearance, and C.
local function strata(fn, labels, y, n)
  local values
  if labels == true then
    if y == nil then fail(fn, "stratify = true needs y (or pass the labels: stratify = labels)") end
    labels = y
  end
  if is_tensor(labels) then
    local shape = labels:shape()
    if shape[1] ~= n then fail(fn, "stratify: %d labels for %d samples", shape[1], n) end
    if #shape > 2 then fail(fn, "stratify: labels must be N, N x 1 or N x C one-hot, got %d dimensions", #shape) end
    if #shape == 2 and shape[2] > 1 then values = labels:argmax(2):totable()
    else values = labels:reshape(n):totable() end
  elseif type(labels) == "table" then
    if #labels ~= n then fail(fn, "stratify: %d labels for %d samples", #labels, n) end
    values = labels
  else
    fail(fn, "stratify must be true (the labels in y), a tensor or a list of labels, got %s", type(labels))
  end
  local ids, seen, count = {}, {}, 0
  for i = 1, n do
    local v = values[i]
    if v == nil or v ~= v then fail(fn, "stratify: label %d is %s", i, tostring(v)) end
    if not seen[v] then
      count = count + 1
      seen[v] = count
    end
    ids[i] = seen[v]
  end
  return ids, count, values
end

local function check_seed(fn, seed)
  if seed ~= nil and not compat.isinteger(seed) then
    fail(fn, "seed must be an integer, got %s", tostring(seed))
  end
end

local function check_xy(fn, X, Y)
  check.tensor("backprop.data." .. fn, "x", X)
  if Y ~= nil and not is_tensor(Y) then fail(fn, "y must be a backprop.Tensor or nil, got %s", type(Y)) end
  local n = #X
  if Y ~= nil and #Y ~= n then
    fail(fn, "x has %d samples but y has %d", n, #Y)
  end
  return n
end

-- {x = X's rows ids, y = Y's, index = ids} (copies).
local function part(X, Y, ids)
  return { x = X:index(1, ids), y = Y and Y:index(1, ids), index = ids }
end

--- Shuffle the samples and split them: returns train, test, each a table
-- {x = ..., y = ..., index = {row numbers}}. opts.test is the test
-- fraction (default 0.2); opts.seed makes the split reproducible without
-- touching the global generator (without it, bp.manual_seed's generator
-- is used); opts.stratify (true for y's labels, or the labels) keeps each
-- class's share the same in both parts.
function data.split(X, Y, opts)
  local fn = "split"
  opts = check_options(fn, opts, { test = true, seed = true, stratify = true })
  local n = check_xy(fn, X, Y)
  local frac = opts.test or 0.2
  if type(frac) ~= "number" or not (frac > 0 and frac < 1) then
    fail(fn, "test must be a fraction between 0 and 1, got %s", tostring(frac))
  end
  check_seed(fn, opts.seed)
  local ntest = math.floor(n * frac + 0.5)
  if ntest < 1 or ntest >= n then
    fail(fn, "a test fraction of %g leaves %d of %d samples for testing", frac, ntest, n)
  end
  -- quota[c]: how many of class c go to the test part (everything in one
  -- class without stratify).
  local class, quota = nil, { ntest }
  if opts.stratify ~= nil and opts.stratify ~= false then
    local nclass, values
    class, nclass, values = strata(fn, opts.stratify, Y, n)
    local size = {}
    for c = 1, nclass do size[c] = 0 end
    for i = 1, n do size[class[i]] = size[class[i]] + 1 end
    for c = 1, nclass do
      if size[c] < 2 then
        local first
        for i = 1, n do if class[i] == c then first = i break end end
        local v = values[first]
        fail(fn, "stratify: class %s has only 1 sample (row %d); each class needs 2 to be in both parts",
             compat.tointeger(v) or tostring(v), first)
      end
    end
    if ntest < nclass or n - ntest < nclass then
      fail(fn, "stratify: %d test and %d training samples cannot each hold all %d classes", ntest, n - ntest,
           nclass)
    end
    -- Largest remainders: floor(size * ntest / n) each, then one more to
    -- the classes with the largest fractions (ties to the first class)
    -- until the quotas add up to ntest.
    local given, order = 0, {}
    for c = 1, nclass do
      quota[c] = compat.idiv(size[c] * ntest, n)
      given = given + quota[c]
      order[c] = c
    end
    table.sort(order, function(a, b)
      local fa, fb = size[a] * ntest % n, size[b] * ntest % n
      if fa ~= fb then return fa > fb end
      return a < b
    end)
    for k = 1, ntest - given do quota[order[k]] = quota[order[k]] + 1 end
  end
  -- One permutation decides: walking it, a sample goes to the test part
  -- while its class's quota lasts. Both parts keep the permutation's order.
  local perm = core.randperm(n, opts.seed):totable()
  local taken, test_ids, train_ids = {}, {}, {}
  for k = 1, n do
    local i = compat.tointeger(perm[k])
    local c = class and class[i] or 1
    if (taken[c] or 0) < quota[c] then
      taken[c] = (taken[c] or 0) + 1
      test_ids[#test_ids + 1] = i
    else
      train_ids[#train_ids + 1] = i
    end
  end
  return part(X, Y, train_ids), part(X, Y, test_ids)
end

--- k-fold cross-validation, as scikit-learn's KFold and StratifiedKFold:
--   for fold, train, val in bp.data.kfold(X, Y, 5, {shuffle = true, seed = 1}) do ... end
-- Each sample is in exactly one validation part. train and val are
-- {x = ..., y = ..., index = {row numbers}} (copies; rows in ascending
-- order, as scikit-learn gives them). Without shuffle the folds are
-- contiguous blocks of the rows in order (the first n % k folds one row
-- larger), so without shuffle they are scikit-learn's folds exactly, with
-- stratify too. opts: shuffle (false), seed (with shuffle), stratify.
function data.kfold(X, Y, k, opts)
  local fn = "kfold"
  if type(Y) == "number" and (k == nil or type(k) == "table") then
    Y, k, opts = nil, Y, k
  end
  opts = check_options(fn, opts, { shuffle = true, seed = true, stratify = true })
  local n = check_xy(fn, X, Y)
  local nf = compat.tointeger(k)
  if not nf or nf < 2 or nf > n then
    fail(fn, "k must be an integer in 2..%d (the number of samples), got %s", n, tostring(k))
  end
  local shuffle = optional_boolean(fn, "shuffle", opts.shuffle)
  check_seed(fn, opts.seed)
  if opts.seed ~= nil and not shuffle then fail(fn, "seed is given but shuffle is not true") end
  local fold = {}              -- fold[i]: the fold sample i validates in
  if opts.stratify ~= nil and opts.stratify ~= false then
    local class, nclass = strata(fn, opts.stratify, Y, n)
    local size = {}
    for c = 1, nclass do size[c] = 0 end
    for i = 1, n do size[class[i]] = size[class[i]] + 1 end
    local largest = 0
    for c = 1, nclass do largest = math.max(largest, size[c]) end
    if largest < nf then
      fail(fn, "stratify: k = %d is more than the samples of every class (at most %d)", nf, largest)
    end
    -- scikit-learn's allocation: deal the samples sorted by class round
    -- robin to the folds; fold f gets as many of class c as it was dealt.
    -- Each class's samples then go to folds 1, 1, ..., 2, 2, ... in that
    -- count (in row order, or shuffled).
    local alloc, dealt = {}, 0
    for f = 1, nf do alloc[f] = {} for c = 1, nclass do alloc[f][c] = 0 end end
    for c = 1, nclass do
      for _ = 1, size[c] do
        local f = dealt % nf + 1
        alloc[f][c] = alloc[f][c] + 1
        dealt = dealt + 1
      end
    end
    local lists, pos = {}, {}
    for c = 1, nclass do
      local list = {}
      for f = 1, nf do
        for _ = 1, alloc[f][c] do list[#list + 1] = f end
      end
      lists[c], pos[c] = list, 0
    end
    -- With shuffle, each class's samples take their fold numbers in a
    -- random order (one permutation of all rows decides), else in row order.
    local order = shuffle and core.randperm(n, opts.seed):totable() or nil
    for k = 1, n do
      local i = order and compat.tointeger(order[k]) or k
      local c = class[i]
      pos[c] = pos[c] + 1
      fold[i] = lists[c][pos[c]]
    end
  else
    local order = shuffle and core.randperm(n, opts.seed):totable() or nil
    local at = 0
    for f = 1, nf do
      local size = compat.idiv(n, nf) + (f <= n % nf and 1 or 0)
      for _ = 1, size do
        at = at + 1
        fold[order and compat.tointeger(order[at]) or at] = f
      end
    end
  end
  local f = 0
  return function()
    f = f + 1
    if f > nf then return nil end
    local train_ids, val_ids = {}, {}
    for i = 1, n do
      if fold[i] == f then val_ids[#val_ids + 1] = i else train_ids[#train_ids + 1] = i end
    end
    return f, part(X, Y, train_ids), part(X, Y, val_ids)
  end
end

--- Read an IDX file (MNIST, Fashion-MNIST), plain or gzip-compressed.
-- Type 0x08 (unsigned bytes) gives a uint8 tensor; 0x09 int8, 0x0B int16,
-- 0x0C int32, 0x0D float32 and 0x0E float64 give float32 tensors. The
-- shape is the file's (60000 x 28 x 28 for MNIST training images).
-- (The C function itself, so errors carry no position inside data.lua.)
data.read_idx = core.internal.read_idx

--- Mini-batches of the rows of X (and of Y, when given), for a loop:
--   for xb, yb in bp.data.batches(X, Y, 64, {shuffle = true}) do ... end
-- The last batch is smaller when batch_size does not divide the number of
-- rows (drop_last = true leaves it out). The yielded tensors are reused:
-- each full-size batch is written into the same two tensors, so copy one
-- (:clone()) to keep it past the next step. Options:
--   shuffle (false): visit the rows in a random order, drawn from
--     bp.manual_seed's generator (a new order on every call), or, with
--     seed = <integer>, from a generator of its own (the same order for
--     the same seed);
--   drop_last (false): skip a final batch smaller than batch_size;
--   scale: give X's batches as float32, x * scale (1/255 turns uint8
--     pixels into 0..1); without it a batch keeps X's element type;
--   y_offset: give Y's batches as float32, y + y_offset (1 turns IDX's
--     0-based uint8 labels into the 1-based labels CrossEntropyLoss takes).
-- Y may be left out: bp.data.batches(X, 64, opts) yields X's batches only.
function data.batches(X, Y, batch_size, opts)
  local fn = "batches"
  if type(Y) == "number" and (batch_size == nil or type(batch_size) == "table") then
    Y, batch_size, opts = nil, Y, batch_size
  end
  opts = check_options(fn, opts, { shuffle = true, seed = true, drop_last = true,
                                   scale = true, y_offset = true })
  check.tensor("backprop.data." .. fn, "x", X)
  local n = #X
  if Y ~= nil then
    if not is_tensor(Y) then fail(fn, "y must be a backprop.Tensor or nil, got %s", type(Y)) end
    local ny = #Y
    if ny ~= n then fail(fn, "x has %d samples but y has %d", n, ny) end
  end
  local bs = compat.tointeger(batch_size)
  if type(batch_size) ~= "number" or not bs or bs < 1 then
    fail(fn, "batch_size must be a positive integer, got %s", tostring(batch_size))
  end
  local shuffle = optional_boolean(fn, "shuffle", opts.shuffle)
  local drop_last = optional_boolean(fn, "drop_last", opts.drop_last)
  local scale = optional_number(fn, "scale", opts.scale)
  local y_offset = optional_number(fn, "y_offset", opts.y_offset)
  local seed = opts.seed
  if seed ~= nil then
    if not compat.isinteger(seed) then fail(fn, "seed must be an integer, got %s", tostring(seed)) end
    if not shuffle then fail(fn, "seed is given but shuffle is not true") end
  end
  if y_offset ~= nil and Y == nil then fail(fn, "y_offset is given but there is no y") end

  local perm = shuffle and core.randperm(n, seed) or nil
  local pos, xb, yb = 0, nil, nil
  return function()
    local count = n - pos
    if count <= 0 then return nil end
    if count >= bs then
      count = bs
    elseif drop_last then
      pos = n
      return nil
    end
    local bx, by
    if count == bs then
      if not xb then   -- allocated once, reused for every full batch
        xb = core.internal.batch_new(X, bs, scale ~= nil)
        yb = Y and core.internal.batch_new(Y, bs, y_offset ~= nil)
      end
      bx, by = xb, yb
    else
      bx = core.internal.batch_new(X, count, scale ~= nil)
      by = Y and core.internal.batch_new(Y, count, y_offset ~= nil)
    end
    core.internal.batch_fill(bx, X, perm, pos, count, scale)
    if Y then core.internal.batch_fill(by, Y, perm, pos, count, nil, y_offset) end
    pos = pos + count
    return bx, by
  end
end

local Scaler = { __name = "backprop.Scaler" }
Scaler.__index = Scaler

-- x's kind for apply/inverse: "tensor" (N x features, or one sample of
-- features) or "table" (a list of numbers, or a list of such rows), after
-- checking its width against the scaler's.
local function scaler_input(self, method, x)
  local fn = "backprop.Scaler:" .. method
  local d = self.mean:numel()
  if is_tensor(x) then
    if x:dtype() ~= "float32" then check.fail(fn, "x must be a float32 tensor, got %s", x:dtype()) end
    local shape = x:shape()
    if #shape > 2 then check.fail(fn, "x must be N x features or one sample, got %d dimensions", #shape) end
    local w = shape[#shape]
    if w ~= d then
      check.fail(fn, "x has %d features (shape %s), but the scaler was fitted on %d", w,
                 table.concat(shape, "x"), d)
    end
    return "tensor"
  end
  if type(x) ~= "table" then
    check.fail(fn, "x must be a backprop.Tensor or a table of numbers, got %s", type(x))
  end
  local rows = type(x[1]) == "table" and x or { x }
  for i, row in ipairs(rows) do
    local where = rows == x and string.format("row %d ", i) or ""
    if type(row) ~= "table" then check.fail(fn, "%sis a %s, expected a table of numbers", where, type(row)) end
    if #row ~= d then
      check.fail(fn, "x %shas %d features, but the scaler was fitted on %d", where, #row, d)
    end
    for j = 1, d do
      if type(row[j]) ~= "number" then
        check.fail(fn, "x %sfeature %d is a %s, expected a number", where, j, type(row[j]))
      end
    end
  end
  return "table"
end

-- f(value, mean_j, std_j) over a table of numbers or of rows: a new table.
local function map_table(self, x, f)
  local mean, std = self.mean:totable(), self.std:totable()
  local function row(r)
    local out = {}
    for j = 1, #mean do out[j] = f(r[j], mean[j], std[j]) end
    return out
  end
  if type(x[1]) ~= "table" then return row(x) end
  local out = {}
  for i, r in ipairs(x) do out[i] = row(r) end
  return out
end

--- Standardize x with this scaler's mean and standard deviation, as
-- fitted on the training data: (x - mean) / std. x is a tensor, N x
-- features or one sample of features, standardized in place and returned;
-- or a table of numbers (one sample) or of rows, for which a new table is
-- returned (x is left alone).
function Scaler:apply(x)
  if scaler_input(self, "apply", x) == "table" then
    return map_table(self, x, function(v, m, sd) return (v - m) / sd end)
  end
  if x:dim() == 2 then return core.internal.standardize(x, self.mean, self.std, false) end
  return x:copy((x - self.mean) / self.std)
end

--- The inverse of apply: x * std + mean, of the same kinds (a tensor in
-- place, a table into a new table). For predictions of a network trained
-- on standardized targets: scaler_y:inverse(net:forward(x)).
function Scaler:inverse(x)
  if scaler_input(self, "inverse", x) == "table" then
    return map_table(self, x, function(v, m, sd) return v * sd + m end)
  end
  return x:copy(x * self.std + self.mean)
end

--- Fit a scaler to x (N x features): each column's mean and population
-- standard deviation (a constant column keeps a deviation of 1), and
-- standardize x in place. Returns the scaler, with fields mean and std
-- (tensors of one value per feature), scaler:apply(other) and
-- scaler:inverse(other).
function data.standardize(x)
  check.tensor("backprop.data.standardize", "x", x)
  local shape = x:shape()
  if #shape ~= 2 then fail("standardize", "x must be N x features, got %d dimensions", #shape) end
  local scaler = setmetatable({ mean = core.zeros(shape[2]), std = core.ones(shape[2]) }, Scaler)
  core.internal.standardize(x, scaler.mean, scaler.std, true)
  return scaler
end

--- A scaler from a mean and a standard deviation per feature: 1-D
-- float32 tensors of one length, every deviation > 0 (copied). bp.load
-- rebuilds a saved scaler with it; it also takes one computed elsewhere.
function data.scaler(mean, std)
  local fn = "backprop.data.scaler"
  check.tensor(fn, "mean", mean)
  check.tensor(fn, "std", std)
  for _, t in ipairs({ { "mean", mean }, { "std", std } }) do
    if t[2]:dtype() ~= "float32" or t[2]:dim() ~= 1 then
      check.fail(fn, "%s must be a 1-D float32 tensor, got %s of %d dimensions", t[1], t[2]:dtype(), t[2]:dim())
    end
  end
  if mean:numel() ~= std:numel() then
    check.fail(fn, "mean has %d features and std %d", mean:numel(), std:numel())
  end
  if std:gt(0):sum() ~= std:numel() or std:max() == math.huge then
    check.fail(fn, "every std must be a finite number > 0")
  end
  return setmetatable({ mean = mean:clone(), std = std:clone() }, Scaler)
end

return data
