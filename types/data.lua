---@meta _
-- bp.data: data in (docs/API.md, "Data").

---`bp.data`: CSV and IDX files, train/test splits, k-fold
---cross-validation, feature scaling and mini-batches.
---@class backprop.data
local data = {}

---Reads a CSV file into tensors:
---`local X, Y, names, classes, categories = bp.data.read_csv(path, {target = "species"})`.
---@param path string
---@param opts? backprop.ReadCsvOptions
---@return backprop.Tensor X `N x features`, float32.
---@return backprop.Tensor? Y `N x 1`: the target column (nil without `target`); class ids 1..C when it holds text.
---@return string[] names The feature names.
---@return string[]? classes The class names when the target holds text: `classes[id]`.
---@return table<string, string[]>? categories The values of each text feature read.
function data.read_csv(path, opts) end

---Shuffles the samples and returns `train, test`, each
---`{x = ..., y = ..., index = {row numbers}}` (copies).
---@param X backprop.Tensor
---@param Y backprop.Tensor|nil
---@param opts? backprop.SplitOptions
---@return backprop.DataPart train
---@return backprop.DataPart test
function data.split(X, Y, opts) end

---k-fold cross-validation, as scikit-learn's `KFold` / `StratifiedKFold`:
---`for fold, train, val in bp.data.kfold(X, Y, 5) do ... end`.
---@param X backprop.Tensor
---@param Y backprop.Tensor|nil
---@param k integer 2..N.
---@param opts? backprop.KFoldOptions
---@return fun(): integer?, backprop.DataPart, backprop.DataPart
function data.kfold(X, Y, k, opts) end

---k-fold cross-validation without targets: `bp.data.kfold(X, 5)`.
---@param X backprop.Tensor
---@param k integer
---@param opts? backprop.KFoldOptions
---@return fun(): integer?, backprop.DataPart, backprop.DataPart
function data.kfold(X, k, opts) end

---Fits a scaler to `x` (`N x features`: each column's mean and population
---standard deviation) and standardizes `x` in place. Returns the scaler.
---@param x backprop.Tensor
---@return backprop.Scaler
function data.standardize(x) end

---A scaler from a mean and a standard deviation per feature (1-D float32
---tensors of one length, every `std` > 0; copied).
---@param mean backprop.Tensor
---@param std backprop.Tensor
---@return backprop.Scaler
function data.scaler(mean, std) end

---Reads an IDX file (MNIST, Fashion-MNIST), plain or gzip-compressed:
---unsigned bytes as a uint8 tensor, other types as float32, in the file's
---shape (`60000 x 28 x 28`).
---@param path string
---@return backprop.Tensor
function data.read_idx(path) end

---An iterator over mini-batches of the rows of `X` and `Y`:
---`for xb, yb in bp.data.batches(X, Y, 64, {shuffle = true}) do ... end`.
---Full batches are written into the same two tensors (`:clone()` to keep).
---@param X backprop.Tensor
---@param Y backprop.Tensor|nil
---@param batch_size integer
---@param opts? backprop.BatchesOptions
---@return fun(): backprop.Tensor?, backprop.Tensor?
function data.batches(X, Y, batch_size, opts) end

---Mini-batches of `X` alone: `for xb in bp.data.batches(X, 64) do ... end`.
---@param X backprop.Tensor
---@param batch_size integer
---@param opts? backprop.BatchesOptions
---@return fun(): backprop.Tensor?
function data.batches(X, batch_size, opts) end

---Per-feature statistics: `apply` standardizes, `inverse` undoes it.
---@class backprop.Scaler
---@field mean backprop.Tensor Each feature's mean (1-D).
---@field std backprop.Tensor Each feature's standard deviation (1-D).
local Scaler = {}

---`(x - mean) / std`: a tensor (`N x features`, or one 1-D sample) in
---place, returned; a plain table (one sample, or a list of rows) into a
---new table.
---@param x backprop.Tensor|number[]|number[][]
---@return backprop.Tensor|number[]|number[][]
function Scaler:apply(x) end

---`x * std + mean`, the inverse of `apply`, for the same kinds.
---@param x backprop.Tensor|number[]|number[][]
---@return backprop.Tensor|number[]|number[][]
function Scaler:inverse(x) end

---A part of `split` or a fold of `kfold`.
---@class backprop.DataPart
---@field x backprop.Tensor The part's rows of `X`.
---@field y? backprop.Tensor The part's rows of `Y` (nil without `Y`).
---@field index integer[] The rows of `X` it took, in the part's order.

---Options of `bp.data.read_csv`. An unknown key is an error.
---@class backprop.ReadCsvOptions
---@field target? string|integer The target column: a header name or a 1-based index.
---@field header? boolean The first line names the columns (true).
---@field sep? string One character (",").
---@field text? "onehot"|"ids" What a text feature becomes; without it a text feature is an error.
---@field missing? number What a missing cell becomes; without it a missing cell is an error.
---@field na? string[] More strings meaning a missing cell, such as `{"NA", "?"}`.
---@field drop? (string|integer)[] Columns, by name or index, not to read.

---Options of `bp.data.split`.
---@class backprop.SplitOptions
---@field test? number The held-out fraction (0.2).
---@field seed? integer The same split every time, without touching the global generator.
---@field stratify? boolean|backprop.Tensor|any[] true: keep each class's share of `Y`; or the labels to stratify by.

---Options of `bp.data.kfold`.
---@class backprop.KFoldOptions
---@field shuffle? boolean (false)
---@field seed? integer With `shuffle`.
---@field stratify? boolean|backprop.Tensor|any[] As in `split`.

---Options of `bp.data.batches`.
---@class backprop.BatchesOptions
---@field shuffle? boolean Rows in a random order (false).
---@field seed? integer With `shuffle`: a generator of its own.
---@field drop_last? boolean Leave out a last, smaller batch (false).
---@field scale? number Batches of `X` as float32, `x * scale` (`1/255` for pixels).
---@field y_offset? number Batches of `Y` as float32, `y + y_offset` (1 for IDX's 0-based labels).
