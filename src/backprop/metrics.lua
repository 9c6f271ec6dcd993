--- bp.metrics: scores computed from a network's output and the targets.
--
-- Every function takes (output, target [, options]), the convention fit's
-- `metrics = {"accuracy", "f1"}` relies on:
--   output: the network's output tensor, N x C scores or probabilities
--     (or N / N x 1: one probability per sample, for two classes);
--   target: labels 1..C (N or N x 1) or one-hot rows (N x C) for C
--     columns; 0/1 for one column; values (N, N x 1 or N x K) for the
--     regression metrics.
-- Options come last, in a table; an unknown key is an error.
--
-- Classes inside this file are numbered 1..K: for one output column,
-- class 1 is the target 0 and class 2 the target 1.

local compat = require("backprop.compat")
local check = require("backprop.check")

local metrics = {}

local function fail(fn, msg, ...)
  check.fail("backprop.metrics." .. fn, msg, ...)
end

local function options(fn, opts, known)
  if next(known) == nil and type(opts) == "table" and next(opts) ~= nil then
    fail(fn, "unknown option '%s' (it takes no options)", tostring(next(opts)))
  end
  return check.options("backprop.metrics." .. fn, opts, known)
end

-- The values of a tensor as one flat Lua list (row-major).
local function flat(t)
  return t:reshape(t:numel()):totable()
end

-- pred and target checked: returns N, the output's columns C and the
-- target's columns.
local function shapes(fn, pred, y)
  check.tensor("backprop.metrics." .. fn, "pred", pred)
  check.tensor("backprop.metrics." .. fn, "target", y)
  local ps, ys = pred:shape(), y:shape()
  if #ps > 2 then fail(fn, "pred must be N x C, got %d dimensions", #ps) end
  if #ys > 2 then fail(fn, "target must be N or N x C, got %d dimensions", #ys) end
  if ys[1] ~= ps[1] then fail(fn, "pred has %d rows but target has %d", ps[1], ys[1]) end
  return ps[1], ps[2] or 1, ys[2] or 1
end

-- The true class (1..K) of every sample.
local function true_classes(fn, y, n, c, yc)
  local t = {}
  if c == 1 then
    if yc ~= 1 then fail(fn, "target must be N or N x 1 for one output column") end
    local yf = flat(y)
    for i = 1, n do
      local v = yf[i]
      if v ~= 0 and v ~= 1 then fail(fn, "target %d is %g, expected 0 or 1", i, v) end
      t[i] = v == 1 and 2 or 1
    end
  elseif yc == c then                     -- one-hot rows
    local am = flat(y:argmax(2))
    for i = 1, n do t[i] = compat.tointeger(am[i]) end
  elseif yc == 1 then
    local yf = flat(y)
    for i = 1, n do
      local v = yf[i]
      if not (v >= 1 and v <= c and v == math.floor(v)) then
        fail(fn, "label %d is %g, expected an integer in 1..%d", i, v, c)
      end
      t[i] = compat.tointeger(v)
    end
  else
    fail(fn, "target must be N labels or N x %d one-hot rows", c)
  end
  return t
end

local function check_threshold(fn, threshold)
  if threshold == nil then return 0.5 end
  if type(threshold) ~= "number" or threshold ~= threshold then
    fail(fn, "threshold must be a number, got %s", tostring(threshold))
  end
  return threshold
end

-- Predicted and true class of every sample, as two lists, and K (>= 2).
-- One output column: class 2 when the probability is >= threshold.
-- Several: the argmax (a tie goes to the first column).
local function classify(fn, pred, y, threshold)
  threshold = check_threshold(fn, threshold)
  local n, c, yc = shapes(fn, pred, y)
  local p = {}
  if c == 1 then
    local pf = flat(pred)
    for i = 1, n do
      local v = pf[i]
      if v ~= v then fail(fn, "prediction %d is nan", i) end
      p[i] = v >= threshold and 2 or 1
    end
  else
    -- x * 0 is 0 for every finite x, NaN for NaN and infinities.
    if (pred * 0):sum() ~= 0 then fail(fn, "pred contains nan or inf") end
    local am = flat(pred:argmax(2))
    for i = 1, n do p[i] = compat.tointeger(am[i]) end
  end
  return p, true_classes(fn, y, n, c, yc), math.max(c, 2), c
end

-- The third argument of accuracy and confusion_matrix: a threshold (as
-- before options existed) or an options table.
local function threshold_or_options(fn, arg, known)
  if arg == nil or type(arg) == "table" then return options(fn, arg, known) end
  return { threshold = check_threshold(fn, arg) }
end

--- Fraction of samples whose predicted class is the true one.
-- options: threshold (0.5), for one output column; a number in place of
-- the table is the threshold.
function metrics.accuracy(pred, y, opts)
  opts = threshold_or_options("accuracy", opts, { threshold = true })
  local p, t = classify("accuracy", pred, y, opts.threshold)
  local right = 0
  for i = 1, #p do
    if p[i] == t[i] then right = right + 1 end
  end
  return right / #p
end

-- How class k (1..K) is written in the targets: "0"/"1" for one output
-- column, "1".."C" for C columns.
local function label_of(k, c)
  return tostring(c == 1 and k - 1 or k)
end

------------------------------------------------------------------------
-- Confusion matrix: m[true class][predicted class], a plain nested table
-- whose metatable prints it.

local function pad(s, w, left)
  local fill = string.rep(" ", w - compat.utf8len(s))
  return left and s .. fill or fill .. s
end

local function matrix_tostring(m)
  local names = getmetatable(m).names
  local k = #m
  local corner = "true \\ predicted"
  local first = #corner
  for i = 1, k do first = math.max(first, compat.utf8len(names[i])) end
  local widths = {}
  for j = 1, k do
    local w = compat.utf8len(names[j])
    for i = 1, k do w = math.max(w, #tostring(m[i][j])) end
    widths[j] = w
  end
  local lines, head = {}, { pad(corner, first, true) }
  for j = 1, k do head[#head + 1] = pad(names[j], widths[j]) end
  lines[1] = table.concat(head, "  ")
  for i = 1, k do
    local row = { pad(names[i], first, true) }
    for j = 1, k do row[#row + 1] = pad(tostring(m[i][j]), widths[j]) end
    lines[#lines + 1] = table.concat(row, "  ")
  end
  return table.concat(lines, "\n")
end

local function class_names(fn, names, k, c)
  local out = {}
  if names == nil then
    for i = 1, k do out[i] = label_of(i, c) end
    return out
  end
  if type(names) ~= "table" or #names ~= k then
    fail(fn, "names must be a list of the %d class names, got %s", k,
         type(names) == "table" and (#names .. " entries") or type(names))
  end
  for i = 1, k do
    local s = names[i]
    if type(s) ~= "string" and type(s) ~= "number" then
      fail(fn, "names[%d] must be a string, got %s", i, type(s))
    end
    out[i] = tostring(s)
    if not compat.utf8len(out[i]) then fail(fn, "names[%d] is not valid UTF-8", i) end
  end
  return out
end

--- m[true class][predicted class] = count, classes as accuracy has them
-- (for one output column, class 1 is the target 0 and class 2 the
-- target 1). tostring(m) is a table with labelled rows (true classes) and
-- columns (predicted). options: threshold (0.5); names (the K class
-- names to print, e.g. the classes read_csv returned).
function metrics.confusion_matrix(pred, y, opts)
  local fn = "confusion_matrix"
  opts = threshold_or_options(fn, opts, { threshold = true, names = true })
  local p, t, k, c = classify(fn, pred, y, opts.threshold)
  local names = class_names(fn, opts.names, k, c)
  local m = {}
  for i = 1, k do
    m[i] = {}
    for j = 1, k do m[i][j] = 0 end
  end
  for i = 1, #p do m[t[i]][p[i]] = m[t[i]][p[i]] + 1 end
  return setmetatable(m, { __tostring = matrix_tostring, __name = "backprop.ConfusionMatrix",
                           names = names })
end

------------------------------------------------------------------------
-- Precision, recall, F1.

local PRF_OPTIONS = { average = true, threshold = true, pos_label = true, zero_division = true }
local AVERAGES = { binary = true, macro = true, weighted = true, micro = true, none = true }

-- The positive class (1..K) for average = "binary": pos_label in the
-- targets' terms (0 or 1 for one column, 1..C for C columns); by default
-- the second class (target 1, or label 2).
local function positive_class(fn, pos_label, k, c)
  if pos_label == nil then return 2 end
  if c == 1 and (pos_label == 0 or pos_label == 1) then return compat.tointeger(pos_label) + 1 end
  if c > 1 and compat.isinteger(pos_label)
     and pos_label >= 1 and pos_label <= k then
    return compat.tointeger(pos_label)
  end
  fail(fn, "pos_label must be %s, got %s", c == 1 and "0 or 1" or ("a label in 1.." .. k),
       tostring(pos_label))
end

local function check_average(fn, average, k, default)
  average = average or default
  if not AVERAGES[average] then
    fail(fn, "average must be one of binary, macro, weighted, micro, none; got %s",
         tostring(average))
  end
  if average == "binary" and k ~= 2 then
    fail(fn, "average = \"binary\" needs two classes, the output has %d "
         .. "(pass average = \"macro\", \"weighted\" or \"micro\")", k)
  end
  return average
end

-- One class's score from its counts; `zd` when the denominator is 0.
local SCORES = {
  precision = function(tp, fp, _, zd) return tp + fp > 0 and tp / (tp + fp) or zd end,
  recall = function(tp, _, fn, zd) return tp + fn > 0 and tp / (tp + fn) or zd end,
  f1 = function(tp, fp, fn, zd) return tp + fp + fn > 0 and 2 * tp / (2 * tp + fp + fn) or zd end,
}

local function prf(fn, pred, y, opts)
  opts = options(fn, opts, PRF_OPTIONS)
  local p, t, k, c = classify(fn, pred, y, opts.threshold)
  local average = check_average(fn, opts.average, k, k == 2 and "binary" or "macro")
  local zd = opts.zero_division or 0
  if zd ~= 0 and zd ~= 1 then fail(fn, "zero_division must be 0 or 1, got %s", tostring(zd)) end
  if opts.pos_label ~= nil and average ~= "binary" then
    fail(fn, "pos_label is only used with average = \"binary\"")
  end
  local pos = positive_class(fn, opts.pos_label, k, c)
  local tp, fp, fnn, support, predicted = {}, {}, {}, {}, {}
  for i = 1, k do tp[i], fp[i], fnn[i], support[i], predicted[i] = 0, 0, 0, 0, 0 end
  for i = 1, #p do
    local a, b = t[i], p[i]
    support[a] = support[a] + 1
    predicted[b] = predicted[b] + 1
    if a == b then tp[a] = tp[a] + 1
    else fp[b], fnn[a] = fp[b] + 1, fnn[a] + 1 end
  end
  local score = SCORES[fn]
  if average == "binary" then return score(tp[pos], fp[pos], fnn[pos], zd) end
  if average == "none" then
    local out = {}
    for i = 1, k do out[i] = score(tp[i], fp[i], fnn[i], zd) end
    return out
  end
  -- As scikit-learn: over the classes that occur in the targets or the
  -- predictions.
  local sum, weight, stp, sfp, sfn = 0, 0, 0, 0, 0
  for i = 1, k do
    if support[i] > 0 or predicted[i] > 0 then
      local w = average == "weighted" and support[i] or 1
      sum, weight = sum + w * score(tp[i], fp[i], fnn[i], zd), weight + w
      stp, sfp, sfn = stp + tp[i], sfp + fp[i], sfn + fnn[i]
    end
  end
  if average == "micro" then return score(stp, sfp, sfn, zd) end
  return sum / weight
end

--- Precision: of the samples predicted as a class, the fraction that are.
-- options: average ("binary" for two classes, where the positive class is
-- the target 1 or label 2, else "macro"; also "weighted" by each class's
-- count in the targets, "micro" over all samples, "none" for a list of
-- every class's value), pos_label (the positive class for "binary", in
-- the targets' terms), threshold (0.5, for one output column),
-- zero_division (0: the value of a class that is never predicted, as
-- scikit-learn's zero_division=0).
function metrics.precision(pred, y, opts) return prf("precision", pred, y, opts) end

--- Recall: of the samples of a class, the fraction predicted as it.
-- Options as precision (zero_division for a class absent from the targets).
function metrics.recall(pred, y, opts) return prf("recall", pred, y, opts) end

--- F1: the harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn).
-- Options as precision.
function metrics.f1(pred, y, opts) return prf("f1", pred, y, opts) end

------------------------------------------------------------------------
-- Scores: ROC AUC and log loss.

local LOGIT_TOLERANCE = 1e-3   -- |row sum - 1| of a row of probabilities

-- Every value of v (the values of `what`, "pred" by default) finite.
local function finite_values(fn, v, what)
  for i = 1, #v do
    local x = v[i]
    if x ~= x or x == math.huge or x == -math.huge then
      fail(fn, "%s contains nan or inf (value %d is %s)", what or "pred", i, tostring(x))
    end
  end
end

-- Row i's values of an n x c flat list as probabilities, into `out`:
-- as they are when every row of v holds non-negative values summing to 1
-- (within 1e-3), else through a softmax (v holds scores, such as a
-- Linear layer's output for CrossEntropyLoss). `logits` forces it.
local function are_probabilities(v, n, c)
  for i = 0, n - 1 do
    local s = 0
    for j = 1, c do
      local x = v[i * c + j]
      if x < 0 then return false end
      s = s + x
    end
    if math.abs(s - 1) > LOGIT_TOLERANCE then return false end
  end
  return true
end

local function softmax_rows(v, n, c)
  local out = {}
  for i = 0, n - 1 do
    local m = -math.huge
    for j = 1, c do m = math.max(m, v[i * c + j]) end
    local s = 0
    for j = 1, c do
      local e = math.exp(v[i * c + j] - m)
      out[i * c + j] = e
      s = s + e
    end
    for j = 1, c do out[i * c + j] = out[i * c + j] / s end
  end
  return out
end

local function check_logits(fn, logits)
  if logits ~= nil and type(logits) ~= "boolean" then
    fail(fn, "logits must be a boolean, got %s", type(logits))
  end
  return logits
end

-- The output as an n x c list of probabilities (c >= 2), following the
-- logits option (nil: detect, as are_probabilities says).
local function probabilities(fn, v, n, c, logits)
  if logits == nil then logits = not are_probabilities(v, n, c) end
  if logits then return softmax_rows(v, n, c) end
  if not are_probabilities(v, n, c) then
    fail(fn, "with logits = false every row of pred must hold probabilities "
         .. "(non-negative, summing to 1)")
  end
  return v
end

-- The area under the ROC curve of `score` for the samples with
-- positive[i], against the rest: the probability that a random positive
-- scores above a random negative, ties counting one half (the
-- Mann-Whitney statistic, from average ranks).
local function auc(fn, score, positive, what)
  local n, order = #score, {}
  for i = 1, n do order[i] = i end
  table.sort(order, function(a, b) return score[a] < score[b] end)
  local npos, rank_sum, i = 0, 0, 1
  while i <= n do
    local j = i
    while j < n and score[order[j + 1]] == score[order[i]] do j = j + 1 end
    local rank = (i + j) / 2              -- the tied run's average rank
    for r = i, j do
      if positive[order[r]] then npos, rank_sum = npos + 1, rank_sum + rank end
    end
    i = j + 1
  end
  local nneg = n - npos
  if npos == 0 or nneg == 0 then
    fail(fn, "ROC AUC is undefined when the target holds only one class (%s: %d of %d samples)",
         what, npos, n)
  end
  return (rank_sum - npos * (npos + 1) / 2) / (npos * nneg)
end

--- Area under the ROC curve. Two classes: the output's probability (one
-- column) or the difference of the positive and the other column's
-- values (two columns, probabilities or scores alike) ranks the samples.
-- More classes: one class against the rest for each class, on the
-- probabilities (scores are put through a softmax first), averaged.
-- options: average ("macro", or "weighted" by each class's count, for
-- more than two classes). Which class is called positive does not change
-- a two-class AUC, so there is no pos_label. A target holding only one class (or, for more than two, a class that
-- never occurs) has no AUC: an error says so.
function metrics.roc_auc(pred, y, opts)
  local fn = "roc_auc"
  opts = options(fn, opts, { average = true })
  local n, c, yc = shapes(fn, pred, y)
  local v = flat(pred)
  finite_values(fn, v)
  local t = true_classes(fn, y, n, c, yc)
  local k = math.max(c, 2)
  if k == 2 then
    if opts.average ~= nil then fail(fn, "average is only used with more than two classes") end
    local score, positive = {}, {}
    for i = 1, n do
      score[i] = c == 1 and v[i] or v[(i - 1) * 2 + 2] - v[(i - 1) * 2 + 1]
      positive[i] = t[i] == 2
    end
    return auc(fn, score, positive, "positive class " .. label_of(2, c))
  end
  local average = opts.average or "macro"
  if average ~= "macro" and average ~= "weighted" then
    fail(fn, "average must be \"macro\" or \"weighted\", got %s", tostring(average))
  end
  local prob = probabilities(fn, v, n, c, nil)
  local sum, weight = 0, 0
  for j = 1, c do
    local score, positive, count = {}, {}, 0
    for i = 1, n do
      score[i] = prob[(i - 1) * c + j]
      positive[i] = t[i] == j
      if positive[i] then count = count + 1 end
    end
    local w = average == "weighted" and count or 1
    sum, weight = sum + w * auc(fn, score, positive, "class " .. j), weight + w
  end
  return sum / weight
end

local EPS = 1e-15   -- probabilities are clipped to [EPS, 1 - EPS]

local function clip(p)
  return math.min(math.max(p, EPS), 1 - EPS)
end

--- Log loss (cross-entropy): the mean of -log(probability given to the
-- true class), probabilities clipped to [1e-15, 1 - 1e-15]. One output
-- column holds the probability of target 1 (logits = true: raw scores,
-- put through a sigmoid). Several columns hold probabilities (each row is
-- clipped, then divided by its sum, as scikit-learn does) or scores
-- (softmax); without the logits option, rows of non-negative values
-- summing to 1 (within 1e-3) are taken as probabilities, anything else as
-- scores.
function metrics.log_loss(pred, y, opts)
  local fn = "log_loss"
  opts = options(fn, opts, { logits = true })
  local logits = check_logits(fn, opts.logits)
  local n, c, yc = shapes(fn, pred, y)
  local v = flat(pred)
  finite_values(fn, v)
  local t = true_classes(fn, y, n, c, yc)
  local total = 0
  if c == 1 then
    for i = 1, n do
      local p = v[i]
      if logits then
        p = 1 / (1 + math.exp(-p))
      elseif not (p >= 0 and p <= 1) then
        fail(fn, "prediction %d is %g, not a probability in [0, 1] "
             .. "(pass logits = true for raw scores)", i, p)
      end
      p = clip(p)
      total = total - math.log(t[i] == 2 and p or 1 - p)
    end
    return total / n
  end
  local prob = probabilities(fn, v, n, c, logits)
  for i = 0, n - 1 do
    local s = 0
    for j = 1, c do s = s + clip(prob[i * c + j]) end
    total = total - math.log(clip(prob[i * c + t[i + 1]]) / s)
  end
  return total / n
end

------------------------------------------------------------------------
-- Regression.

-- pred and target as two flat lists of N x K values (K outputs per
-- sample): the same number of rows and of values; N x 1 against N is
-- fine.
local function values(fn, pred, y, opts)
  options(fn, opts, {})
  check.tensor("backprop.metrics." .. fn, "pred", pred)
  check.tensor("backprop.metrics." .. fn, "target", y)
  local ps, ys = pred:shape(), y:shape()
  if ys[1] ~= ps[1] or pred:numel() ~= y:numel() then
    fail(fn, "pred (shape %s) and target (shape %s) must hold the same values per row",
         table.concat(ps, "x"), table.concat(ys, "x"))
  end
  local o, t = flat(pred), flat(y)
  finite_values(fn, o)
  finite_values(fn, t, "target")
  return o, t, ps[1], compat.idiv(#o, ps[1])
end

-- The mean over all values of f(output - target).
local function mean_error(fn, pred, y, opts, f)
  local o, t = values(fn, pred, y, opts)
  local s = 0
  for i = 1, #o do s = s + f(o[i] - t[i]) end
  return s / #o
end

-- score(o, t, j, n, k), a value of output j (of k, each of n samples),
-- averaged over the outputs.
local function per_output(fn, pred, y, opts, score)
  local o, t, n, k = values(fn, pred, y, opts)
  local total = 0
  for j = 1, k do total = total + score(o, t, j, n, k) end
  return total / k
end

--- Mean absolute error.
function metrics.mae(pred, y, opts)
  return mean_error("mae", pred, y, opts, math.abs)
end

--- Mean squared error (over all values: each output's MSE, averaged).
function metrics.mse(pred, y, opts)
  return mean_error("mse", pred, y, opts, function(d) return d * d end)
end

--- Root mean squared error: each output's RMSE, averaged over outputs
-- (as scikit-learn's mean_squared_error(squared=False)).
function metrics.rmse(pred, y, opts)
  return per_output("rmse", pred, y, opts, function(o, t, j, n, k)
    local s = 0
    for i = 0, n - 1 do s = s + (o[i * k + j] - t[i * k + j]) ^ 2 end
    return math.sqrt(s / n)
  end)
end

--- R², the coefficient of determination: 1 - (residual sum of squares) /
-- (the target's sum of squares about its mean), per output, averaged. An
-- output whose target is constant scores 1 when predicted exactly, else
-- 0 (as scikit-learn).
function metrics.r2(pred, y, opts)
  return per_output("r2", pred, y, opts, function(o, t, j, n, k)
    local mean = 0
    for i = 0, n - 1 do mean = mean + t[i * k + j] end
    mean = mean / n
    local res, tot = 0, 0
    for i = 0, n - 1 do
      res = res + (t[i * k + j] - o[i * k + j]) ^ 2
      tot = tot + (t[i * k + j] - mean) ^ 2
    end
    if tot > 0 then return 1 - res / tot end
    return res == 0 and 1 or 0
  end)
end

return metrics
