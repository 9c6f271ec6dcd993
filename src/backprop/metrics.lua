--- bp.metrics: scores computed from predictions and targets.

local check = require("backprop.check")

local metrics = {}

local function fail(fn, msg, ...)
  check.fail("backprop.metrics." .. fn, msg, ...)
end

local function check_tensor(fn, name, v)
  check.tensor("backprop.metrics." .. fn, name, v)
end

-- Predicted and true class of every sample, 1-based, as two Lua lists.
-- One output column: a probability, class 2 when >= threshold (so for
-- 0/1 targets, class = target + 1). Several columns: the argmax, and the
-- target holds labels 1..C or one-hot rows.
local function classes(fn, pred, y, threshold)
  if threshold == nil then threshold = 0.5 end
  if type(threshold) ~= "number" or threshold ~= threshold then
    fail(fn, "threshold must be a number, got %s", tostring(threshold))
  end
  check_tensor(fn, "pred", pred)
  check_tensor(fn, "target", y)
  local ps, ys = pred:shape(), y:shape()
  if #ps > 2 then fail(fn, "pred must be N x C, got %d dimensions", #ps) end
  if #ys > 2 then fail(fn, "target must be N or N x C, got %d dimensions", #ys) end
  local n, c = ps[1], ps[2] or 1
  if ys[1] ~= n then
    fail(fn, "pred has %d rows but target has %d", n, ys[1])
  end
  local yc = ys[2] or 1
  local p, t = {}, {}
  if c == 1 then
    if yc ~= 1 then fail(fn, "target must be N or N x 1 for one output column") end
    local pf, yf = pred:reshape(n), y:reshape(n)
    for i = 1, n do
      local pv, yv = pf:get(i), yf:get(i)
      if pv ~= pv then fail(fn, "prediction %d is nan", i) end
      if yv ~= 0 and yv ~= 1 then fail(fn, "target %d is %g, expected 0 or 1", i, yv) end
      p[i] = pv >= threshold and 2 or 1
      t[i] = yv + 1
    end
  else
    -- x * 0 is 0 for every finite x, NaN for NaN and infinities.
    if (pred * 0):sum() ~= 0 then fail(fn, "pred contains nan or inf") end
    local am = pred:argmax(2)
    local labels
    if yc == c and c > 1 then labels = y:argmax(2)
    elseif yc == 1 then labels = y:reshape(n)
    else fail(fn, "target must be N labels or N x %d one-hot rows", c) end
    for i = 1, n do
      p[i] = math.tointeger(am:get(i))
      local v = labels:get(i)
      if v < 1 or v > c or v ~= math.floor(v) then
        fail(fn, "label %d is %g, expected an integer in 1..%d", i, v, c)
      end
      t[i] = math.tointeger(v)
    end
  end
  return p, t, math.max(c, 2)
end

--- Fraction of samples whose predicted class is the true one.
function metrics.accuracy(pred, y, threshold)
  local p, t = classes("accuracy", pred, y, threshold)
  local right = 0
  for i = 1, #p do
    if p[i] == t[i] then right = right + 1 end
  end
  return right / #p
end

--- m[true class][predicted class] = count. For one output column the
-- classes are 1 = negative (0), 2 = positive (1).
function metrics.confusion_matrix(pred, y, threshold)
  local p, t, c = classes("confusion_matrix", pred, y, threshold)
  local m = {}
  for i = 1, c do
    m[i] = {}
    for j = 1, c do m[i][j] = 0 end
  end
  for i = 1, #p do m[t[i]][p[i]] = m[t[i]][p[i]] + 1 end
  return m
end

return metrics
