---@meta _
-- bp.metrics (docs/API.md, "Metrics"). Every metric takes the network's
-- output and the targets, options last; `fit`'s `metrics = {"accuracy"}`
-- calls them by name.

---`bp.metrics`: classification and regression metrics. `output`: one
---column (the probability of class 1) or `N x C` scores or probabilities;
---`y`: 0/1 for one column, labels 1..C or one-hot rows for `C`, values
---for the regression metrics.
---@class backprop.metrics
local metrics = {}

---Fraction of samples classified right.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.AccuracyOptions|number The options, or the threshold.
---@return number
function metrics.accuracy(output, y, opts) end

---Of the samples predicted as a class, the fraction that are.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.PrecisionRecallOptions
---@return number|number[] # a list of every class's value with `average = "none"`
function metrics.precision(output, y, opts) end

---Of the samples of a class, the fraction predicted as it.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.PrecisionRecallOptions
---@return number|number[]
function metrics.recall(output, y, opts) end

---The harmonic mean of precision and recall, `2 tp / (2 tp + fp + fn)`.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.PrecisionRecallOptions
---@return number|number[]
function metrics.f1(output, y, opts) end

---Area under the ROC curve (one class against the rest, averaged, for
---more than two).
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.RocAucOptions
---@return number
function metrics.roc_auc(output, y, opts) end

---Mean of `-log(probability of the true class)`, probabilities clipped to
---`[1e-15, 1 - 1e-15]`.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.LogLossOptions
---@return number
function metrics.log_loss(output, y, opts) end

---Mean absolute error over all values.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@return number
function metrics.mae(output, y) end

---Mean squared error over all values.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@return number
function metrics.mse(output, y) end

---Root mean squared error of each output, averaged over the outputs.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@return number
function metrics.rmse(output, y) end

---R², `1 - SS_res / SS_tot` per output, averaged.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@return number
function metrics.r2(output, y) end

---`m[true][predicted]` counts; `print(m)` shows a labelled table.
---@param output backprop.Tensor
---@param y backprop.Tensor
---@param opts? backprop.ConfusionMatrixOptions|number The options, or the threshold.
---@return backprop.ConfusionMatrix
function metrics.confusion_matrix(output, y, opts) end

---`m[true][predicted]`: a plain nested table of counts; `tostring(m)` is a
---table with the true classes as rows and the predicted as columns.
---@class backprop.ConfusionMatrix
---@field [integer] integer[]

---@alias backprop.Average
---| "binary" # the positive class's value (the default for two classes)
---| "macro" # the mean over classes (the default for more)
---| "weighted" # the mean weighted by each class's count in the targets
---| "micro" # from the counts of all classes pooled
---| "none" # a list of every class's value

---Options of `accuracy`.
---@class backprop.AccuracyOptions
---@field threshold? number For one output column: class 2 at `output >= threshold` (0.5).

---Options of `precision`, `recall` and `f1`.
---@class backprop.PrecisionRecallOptions
---@field average? backprop.Average
---@field threshold? number For one output column (0.5).
---@field pos_label? number The positive class for "binary", as the targets write it (1 for one column, 2 for two).
---@field zero_division? number The value of a class with nothing to divide by: 0 (default) or 1.

---Options of `roc_auc`.
---@class backprop.RocAucOptions
---@field average? "macro"|"weighted" For more than two classes ("macro").

---Options of `log_loss`.
---@class backprop.LogLossOptions
---@field logits? boolean true: the output holds raw scores; false: probabilities; nil: looked at.

---Options of `confusion_matrix`.
---@class backprop.ConfusionMatrixOptions
---@field threshold? number For one output column (0.5).
---@field names? (string|number)[] The class names to print (e.g. the classes `read_csv` returns).
