---@meta _
-- backprop.Module: every layer and network, its methods, and the tables
-- they take and give (docs/API.md, "Layers and networks", "Training",
-- "One step, explained", "Saving and loading", "PyTorch and ONNX").

---A layer or a network (`Sequential`, `Residual`). Inputs are batch-first
---(`N x features`, `N x C x H x W`, ...) or one sample as a 1-D tensor.
---`#net` is the number of children; `tostring(net)` lists the layers.
---@class backprop.Module
---@operator len: integer
local Module = {}

-- Passes ---------------------------------------------------------------------

---Runs the network on `x`; returns a new tensor, or writes the result
---into `out` (of the output's shape, no tensor created) and returns it.
---@param x backprop.Tensor
---@param out? backprop.Tensor
---@return backprop.Tensor
function Module:forward(x, out) end

---One sample as a plain table of numbers, for a network whose output is
---one vector: the outputs go into `outtbl` (returned; no garbage once
---warm: a game's per-frame path) or a new table.
---@param tbl number[]
---@param outtbl? number[]
---@return number[]
function Module:forward(tbl, outtbl) end

---Backpropagates `dy = dL/doutput` through the last forward pass: adds
---the parameter gradients and returns `dL/dinput` (a tensor the network
---owns and overwrites on the next backward).
---@param dy backprop.Tensor
---@return backprop.Tensor
function Module:backward(dy) end

---Sets all gradients to zero (they accumulate until then).
function Module:zero_grad() end

-- Parameters and structure ---------------------------------------------------

---Views of each layer's weight then bias, and of their gradients:
---`local params, grads = net:parameters()`.
---@return backprop.Tensor[] params
---@return backprop.Tensor[] grads
function Module:parameters() end

---Number of trainable values.
---@return integer
function Module:num_parameters() end

---The i-th child (1-based): the modules a container was built from.
---@param i integer
---@return backprop.Module
function Module:get(i) end

---Views of the non-trainable state: each BatchNorm's running mean, then
---its running variance.
---@return backprop.Tensor[]
function Module:buffers() end

---A table, as text, of each layer with its output shape and parameter
---count: `print(net:summary({64, 1, 28, 28}))`.
---@param input_shape? integer[] An input's shape, batch first.
---@return string
function Module:summary(input_shape) end

---Training mode (`mode` true, the default) or eval mode (false); returns
---`net`.
---@param mode? boolean
---@return backprop.Module
function Module:train(mode) end

---Eval mode: no dropout, BatchNorm's running statistics. Returns `net`.
---@return backprop.Module
function Module:eval() end

---`true` in training mode.
---@return boolean
function Module:is_training() end

---Releases the network's memory now (also `local net <close> = ...`).
function Module:close() end

-- Training -------------------------------------------------------------------

---One update in one C call: forward, loss, zero_grad, backward,
---`opt:step()`. Returns the loss.
---@param x backprop.Tensor
---@param y backprop.Tensor
---@param loss backprop.Loss
---@param opt backprop.Optimizer
---@return number loss
function Module:train_step(x, y, loss, opt) end

---The training loop: `net:fit(X, Y, {loss = bp.MSELoss(), optimizer =
---bp.Adam(net), epochs = 10})`. Returns the history.
---@param x backprop.Tensor Samples, batch first.
---@param y backprop.Tensor Targets, as the loss expects them.
---@param options backprop.FitOptions
---@return backprop.History
function Module:fit(x, y, options) end

---Takes one training step on one sample and prints it as
---backpropagation is taught; returns the loss before the step.
---@param x number[]|backprop.Tensor One sample.
---@param y number|number[]|backprop.Tensor Its target (a class label for CrossEntropyLoss).
---@param loss backprop.Loss MSELoss, BCELoss or CrossEntropyLoss.
---@param options? backprop.ExplainOptions
---@return number loss
function Module:explain(x, y, loss, options) end

-- Files, metadata, prediction ------------------------------------------------

---Writes the topology, weights and metadata, whole or not at all. With
---`metadata`, sets it first (as `set_metadata`).
---@param path string
---@param metadata? backprop.Metadata
function Module:save(path, metadata) end

---A new table of the network's metadata (`{}` for none).
---@return backprop.Metadata
function Module:metadata() end

---Checks and sets the metadata (`nil` removes it); returns `net`.
---@param metadata backprop.Metadata|nil
---@return backprop.Module
function Module:set_metadata(metadata) end

---The metadata and the network applied in eval mode: a label (a class
---name, or id) for a classifier, outputs for a regression. `x`: one
---sample (a table of numbers, a 1-D tensor) or several (a list of tables,
---a tensor `N x ...`).
---@param x number[]|number[][]|backprop.Tensor
---@return any
function Module:predict(x) end

---Each class's probability, for a classifier: a list (a list of lists for
---several samples), or a tensor for a tensor input.
---@param x number[]|number[][]|backprop.Tensor
---@return number[]|number[][]|backprop.Tensor
function Module:predict_proba(x) end

---The weights as a safetensors file, under PyTorch's `state_dict` names.
---@param path string
---@param opts? backprop.SaveSafetensorsOptions
function Module:save_safetensors(path, opts) end

---Weights from a safetensors file into this network, as
---`load_state_dict`; checked whole before anything is copied.
---@param path string
---@param opts? backprop.LoadSafetensorsOptions
---@return backprop.LoadSafetensorsResult
function Module:load_safetensors(path, opts) end

---The inference graph as an ONNX model (opset 13 to 17, dynamic batch).
---@param path string
---@param options backprop.ExportOnnxOptions
function Module:export_onnx(path, options) end

---Python source building the equivalent PyTorch module (`model = ...`).
---@return string
function Module:torch_code() end

-- Option tables and results --------------------------------------------------

---Options of `net:fit`. An unknown key is an error.
---@class backprop.FitOptions
---@field loss backprop.Loss Required.
---@field optimizer backprop.Optimizer Required; made for this network.
---@field epochs? integer Passes over the data (1).
---@field batch_size? integer Samples per update (32).
---@field shuffle? boolean A new random order each epoch, from the seeded generator (true).
---@field order? backprop.Tensor|integer[]|fun(epoch: integer): backprop.Tensor|integer[] Your own visiting order: `N` 1-based row indices (repeats allowed), or a function of the epoch returning them; rows are gathered, the data is not copied. Implies `shuffle = false`.
---@field validation? backprop.Tensor[] `{x, y}`, evaluated after each epoch in eval mode.
---@field metrics? table<any, string|fun(output: backprop.Tensor, target: backprop.Tensor): number> Names of `bp.metrics` functions (`{"accuracy", "f1"}`), or `name = function(output, target)`.
---@field progress? boolean true: a bar on a terminal, lines otherwise; false: nothing; nil (default): a bar on a terminal after a second.
---@field warnings? boolean Warn on stderr about mistakes that train badly (true).
---@field on_epoch? fun(epoch: integer, loss: number, val_loss: number?, history: backprop.History): boolean? After each epoch; returning false stops training.
---@field on_batch? fun(epoch: integer, batch: integer, loss: number): boolean? Every `batch_every` batches; returning false stops at once.
---@field batch_every? integer Batches between `on_batch` calls (1).
---@field input_scale? number For uint8 inputs: each batch becomes `value * input_scale` (1).
---@field scheduler? backprop.Scheduler Stepped at the end of each epoch.
---@field early_stopping? backprop.EarlyStopping Stop once the monitored loss stops improving.
---@field restore_best? boolean Put back the best epoch's parameters and buffers at the end (false).
---@field clip_grad_norm? number|backprop.ClipGradNorm `max_norm`, or `{max_norm = m, norm_type = p}`.
---@field clip_grad_value? number Clamp every gradient into `[-v, v]`.
---@field checkpoint? string A path: a checkpoint of the run written after every `checkpoint_every` epochs.
---@field checkpoint_every? integer With `checkpoint`: every n epochs, and at the last (1).
---@field resume? string A path written by `checkpoint`: go on from the epoch after the saved one.

---`fit`'s `early_stopping`.
---@class backprop.EarlyStopping
---@field patience? integer Epochs without improvement before stopping (5).
---@field min_delta? number The improvement that counts (0).

---`fit`'s `clip_grad_norm` as a table.
---@class backprop.ClipGradNorm
---@field max_norm number > 0.
---@field norm_type? number The p of the norm (2; `math.huge` for the max norm).

---What `fit` returns: per-epoch lists, plus one list per metric
---(`history.accuracy`, `history.val_f1`, ...).
---@class backprop.History
---@field loss number[] The training loss of each epoch.
---@field val_loss? number[] With `validation`: the validation loss of each epoch.
---@field lr number[] The learning rate each epoch ran with.
---@field best_epoch integer The epoch with the lowest monitored loss.
---@field best_loss number That loss.
---@field stopped_epoch? integer The epoch early stopping (or `on_batch` returning false) ended training on.
---@field restored? boolean true when `restore_best` put back an earlier epoch's parameters.
---@field [string] number[] Each metric: `history.val_<name>` (with validation) or `history.<name>`.
local History = {}

---The curves as an SVG file: `bp.plot.history(history, path, opts)`.
---Returns the SVG text.
---@param path string|nil
---@param opts? backprop.PlotHistoryOptions
---@return string svg
function History:plot(path, opts) end

---Options of `net:explain`. An unknown key is an error.
---@class backprop.ExplainOptions
---@field lr? number The learning rate of the SGD step (0.1).
---@field optimizer? backprop.Optimizer Instead of `lr`: an optimizer made for `net`, stepped once.
---@field file? file*|{write: function} Where the text goes (io.stdout).
---@field digits? integer Decimals of every number, 1 to 9 (4).
---@field apply? boolean false: print the step, then put the old weights back (true).

---What travels with a network: `net:save(path, metadata)`, `bp.load`,
---`net:predict`. An unknown field is an error.
---@class backprop.Metadata
---@field scaler? backprop.Scaler Applied by `predict` to every input.
---@field target_scaler? backprop.Scaler Undone by `predict` on a regression's outputs.
---@field classes? (string|number)[] Class names: class id `i` is `classes[i]`.
---@field task? "classification"|"regression" When the default rule would guess wrong.
---@field meta? table Values of your own: strings, numbers, booleans and tables of them.

---Options of `net:save_safetensors`.
---@class backprop.SaveSafetensorsOptions
---@field metadata? table<string, string> The header's `__metadata__`.

---Options of `net:load_safetensors`.
---@class backprop.LoadSafetensorsOptions
---@field strict? boolean Every tensor must be in the file and none extra (true).

---What `net:load_safetensors` returns.
---@class backprop.LoadSafetensorsResult
---@field missing_keys string[] The network's tensors the file lacks (empty after a strict load).
---@field unexpected_keys string[] The file's tensors the network lacks.
---@field metadata table<string, string>? The file's `__metadata__`.

---Options of `net:export_onnx`.
---@class backprop.ExportOnnxOptions
---@field input_shape integer[] Required: an input batch's shape, batch first (`{1, 784}`).
---@field opset? integer 13 (default) to 17.
---@field input_name? string The graph input's name ("input").
---@field output_name? string The graph output's name ("output").
