--- bp.data: getting data into tensors: CSV and IDX files, train/test
-- splits, feature scaling, and mini-batches for hand-written loops.

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

-- Split one CSV line on sep (a single character), as RFC 4180 has it: a
-- field in double quotes may contain sep, and "" inside it is one quote.
local function fields(line, sep)
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local parts, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil end
        parts[#parts + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) ~= '"' then
          i = q + 2
          break
        end
        parts[#parts + 1] = '"'
        j = q + 2
      end
      out[#out + 1] = table.concat(parts)
    else
      local j = line:find(sep, i, true) or n + 1
      out[#out + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return out
end

--- Read a CSV file of numbers. Returns X (N x features), Y (N x 1, the
-- target column, or nil without opts.target) and the feature names.
-- opts.target: the target column's header name or 1-based index;
-- opts.header (default true): whether the first line names the columns;
-- opts.sep (default ","): the field separator.
function data.read_csv(path, opts)
  local fn = "read_csv"
  opts = check_options(fn, opts, { target = true, header = true, sep = true })
  if type(path) ~= "string" then fail(fn, "path must be a string, got %s", type(path)) end
  local sep = opts.sep or ","
  if type(sep) ~= "string" or #sep ~= 1 then fail(fn, "sep must be one character") end
  local header = opts.header
  if header == nil then header = true end
  if type(header) ~= "boolean" then fail(fn, "header must be a boolean, got %s", type(header)) end
  local file, why = io.open(path, "r")
  if not file then fail(fn, "cannot open '%s': %s", path, why) end
  local names, rows, width, lineno = nil, {}, nil, 0
  local ok, err = pcall(function()
    for line in file:lines() do
      lineno = lineno + 1
      line = line:gsub("\r$", "")
      if line:find("%S") then
        local f = fields(line, sep)
        if not f then error(string.format("line %d: unterminated quote", lineno), 0) end
        if width == nil then width = #f end
        if #f ~= width then
          error(string.format("line %d has %d fields, expected %d", lineno, #f, width), 0)
        end
        if header and names == nil then
          names = f
        else
          local row = {}
          for j = 1, width do
            local v = tonumber(f[j])
            if v == nil or v ~= v or v == math.huge or v == -math.huge then
              local col = names and ("'" .. names[j] .. "'") or tostring(j)
              error(string.format("line %d, column %s: '%s' is not a %snumber",
                                  lineno, col, f[j], v and "finite " or ""), 0)
            end
            row[j] = v
          end
          rows[#rows + 1] = row
        end
      end
    end
  end)
  file:close()
  if not ok then fail(fn, "'%s': %s", path, err) end
  if #rows == 0 then fail(fn, "'%s' has no data rows", path) end
  if not names then
    names = {}
    for j = 1, width do names[j] = "column" .. j end
  end
  local target = opts.target
  if target == nil then return core.tensor(rows), nil, names end
  local tcol
  if type(target) == "string" then
    for j = 1, width do
      if names[j] == target then tcol = j end
    end
    if not tcol then fail(fn, "'%s' has no column named '%s'", path, target) end
  elseif math.type(target) and math.tointeger(target) and target >= 1 and target <= width then
    tcol = math.tointeger(target)
  else
    fail(fn, "target must be a column name or an index in 1..%d, got %s", width,
         tostring(target))
  end
  if width < 2 then fail(fn, "'%s' has only the target column", path) end
  local xs, ys, fnames = {}, {}, {}
  for j = 1, width do
    if j ~= tcol then fnames[#fnames + 1] = names[j] end
  end
  for i, row in ipairs(rows) do
    ys[i] = { row[tcol] }
    table.remove(row, tcol)
    xs[i] = row
  end
  return core.tensor(xs), core.tensor(ys), fnames
end

--- Shuffle the samples and split them: returns train, test, each a table
-- {x = ..., y = ...}. opts.test is the test fraction (default 0.2);
-- opts.seed makes the split reproducible without touching the global
-- generator (without it, bp.manual_seed's generator is used).
function data.split(X, Y, opts)
  local fn = "split"
  opts = check_options(fn, opts, { test = true, seed = true })
  check.tensor("backprop.data." .. fn, "x", X)
  if Y ~= nil and not is_tensor(Y) then fail(fn, "y must be a backprop.Tensor or nil, got %s", type(Y)) end
  local n = #X
  if Y ~= nil and #Y ~= n then
    fail(fn, "x has %d samples but y has %d", n, #Y)
  end
  local frac = opts.test or 0.2
  if type(frac) ~= "number" or not (frac > 0 and frac < 1) then
    fail(fn, "test must be a fraction between 0 and 1, got %s", tostring(frac))
  end
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then
    fail(fn, "seed must be an integer, got %s", tostring(opts.seed))
  end
  local ntest = math.floor(n * frac + 0.5)
  if ntest < 1 or ntest >= n then
    fail(fn, "a test fraction of %g leaves %d of %d samples for testing", frac, ntest, n)
  end
  local perm = core.randperm(n, opts.seed):totable()
  local test_ids, train_ids = {}, {}
  for i = 1, n do
    if i <= ntest then test_ids[#test_ids + 1] = perm[i]
    else train_ids[#train_ids + 1] = perm[i] end
  end
  local train = { x = X:index(1, train_ids), y = Y and Y:index(1, train_ids) }
  local test = { x = X:index(1, test_ids), y = Y and Y:index(1, test_ids) }
  return train, test
end

--- Read an IDX file (MNIST, Fashion-MNIST), plain or gzip-compressed.
-- Type 0x08 (unsigned bytes) gives a uint8 tensor; 0x09 int8, 0x0B int16,
-- 0x0C int32, 0x0D float32 and 0x0E float64 give float32 tensors. The
-- shape is the file's (60000 x 28 x 28 for MNIST training images).
-- (The C function itself, so errors carry no position inside data.lua.)
data.read_idx = core.internal.read_idx

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
  local bs = math.tointeger(batch_size)
  if type(batch_size) ~= "number" or not bs or bs < 1 then
    fail(fn, "batch_size must be a positive integer, got %s", tostring(batch_size))
  end
  local shuffle = optional_boolean(fn, "shuffle", opts.shuffle)
  local drop_last = optional_boolean(fn, "drop_last", opts.drop_last)
  local scale = optional_number(fn, "scale", opts.scale)
  local y_offset = optional_number(fn, "y_offset", opts.y_offset)
  local seed = opts.seed
  if seed ~= nil then
    if math.type(seed) ~= "integer" then fail(fn, "seed must be an integer, got %s", tostring(seed)) end
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

local Scaler = {}
Scaler.__index = Scaler

--- Standardize x (N x features) in place with this scaler's mean and
-- standard deviation, as fitted on the training data. Returns x.
function Scaler:apply(x)
  check.tensor("backprop.data.standardize", "x", x)
  return core.internal.standardize(x, self.mean, self.std, false)
end

--- Fit a scaler to x (N x features): each column's mean and population
-- standard deviation (a constant column keeps a deviation of 1), and
-- standardize x in place. Returns the scaler, with fields mean and std
-- (tensors of one value per feature) and scaler:apply(other_x).
function data.standardize(x)
  check.tensor("backprop.data.standardize", "x", x)
  local shape = x:shape()
  if #shape ~= 2 then fail("standardize", "x must be N x features, got %d dimensions", #shape) end
  local scaler = setmetatable({ mean = core.zeros(shape[2]), std = core.ones(shape[2]) }, Scaler)
  core.internal.standardize(x, scaler.mean, scaler.std, true)
  return scaler
end

return data
