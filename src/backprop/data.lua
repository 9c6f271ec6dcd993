--- bp.data: getting data into tensors: CSV files, train/test splits and
-- feature scaling.

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

local Scaler = {}
Scaler.__index = Scaler

--- Standardize x (N x features) in place with this scaler's mean and
-- standard deviation, as fitted on the training data. Returns x.
function Scaler:apply(x)
  check.tensor("backprop.data.standardize", "x", x)
  return core._standardize(x, self.mean, self.std, false)
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
  core._standardize(x, scaler.mean, scaler.std, true)
  return scaler
end

return data
