---@meta backprop
-- LuaLS (lua-language-server) definitions of backprop's public API: the
-- table `require("backprop")` returns. Nothing here runs; an editor reads
-- it for completion, hover text and type checks. Point LuaLS at this
-- folder (see types/README.md). Indices, dimensions and class labels are
-- 1-based. docs/API.md is the reference; spec/types_spec.lua checks that
-- every public name is annotated here and that each signature is the one
-- docs/API.md shows.

---@alias backprop.Dtype
---| "float32" # 32-bit floats: what every computation uses (the default)
---| "uint8" # bytes 0..255: compact image data; comparisons give uint8 masks

---`local bp = require("backprop")`: tensors, layers, losses, optimizers,
---training, data, metrics, plots and files.
---@class backprop
---@field _VERSION string The library's name and version: `"backprop 0.1.0"`.
---@field Tensor backprop.Tensor The methods every tensor has (its metatable's `__index`).
---@field Module backprop.Module The methods every layer and network has (its metatable's `__index`).
---@field data backprop.data Data in: CSV and IDX files, splits, folds, scaling, mini-batches.
---@field metrics backprop.metrics Classification and regression metrics, `(output, target [, options])`.
---@field plot backprop.plot Line charts and training curves as standalone SVG files.
---@field lr_scheduler backprop.lr_scheduler Learning-rate schedules, as `torch.optim.lr_scheduler`.
---@field checkpoint backprop.checkpoint A training run in one file: save, load, restore.
---@field safetensors backprop.safetensors Tables of named tensors to and from safetensors files.
local bp = {}

-- Random numbers -------------------------------------------------------------

---Seeds the library's generator (one per Lua state). Weights, `randn`,
---`rand`, `randperm` without a seed, dropout masks and `fit`'s shuffling
---draw from it. The default seed, before any call, is 5489.
---@param n integer
function bp.manual_seed(n) end

---The generator's state: its four 32-bit words.
---@return integer[] state
function bp.get_rng_state() end

---Puts a state from `get_rng_state` back, exactly (checkpoints save it).
---@param state integer[] Four integers in 0..2^32-1, not all 0.
function bp.set_rng_state(state) end

---A 1-D tensor holding 1..n in random order. With `seed`, a generator of
---its own is used and the global one is left untouched. `n <= 2^24`.
---@param n integer
---@param seed? integer
---@return backprop.Tensor
function bp.randperm(n, seed) end

-- Tensors --------------------------------------------------------------------

---A tensor from a nested, rectangular table of numbers
---(`bp.tensor({{1, 2, 3}, {4, 5, 6}})` is 2x3), or a copy of another
---tensor, converted to `dtype` if given.
---@param t table|backprop.Tensor
---@param dtype? backprop.Dtype "float32" (default) or "uint8" (integers 0..255).
---@return backprop.Tensor
function bp.tensor(t, dtype) end

---A tensor filled with 0: `bp.zeros(2, 3)`, `bp.zeros(2, 3, "uint8")`.
---@param ... integer|backprop.Dtype The sizes, then optionally the element type.
---@return backprop.Tensor
function bp.zeros(...) end

---A tensor filled with 0, its sizes in a table: `bp.zeros({2, 3})`.
---@param sizes integer[]
---@param dtype? backprop.Dtype
---@return backprop.Tensor
function bp.zeros(sizes, dtype) end

---A tensor filled with 1: sizes as for `zeros` (`bp.ones(2, 3)`,
---`bp.ones({2, 3}, "uint8")`).
---@param ... integer|integer[]|backprop.Dtype
---@return backprop.Tensor
function bp.ones(...) end

---Standard normal values from the seeded generator (float32); sizes as
---for `zeros`.
---@param ... integer|integer[]
---@return backprop.Tensor
function bp.randn(...) end

---Uniform values in [0, 1) from the seeded generator (float32); sizes as
---for `zeros`.
---@param ... integer|integer[]
---@return backprop.Tensor
function bp.rand(...) end

---1-D float32 `start, start+step, ...` up to but not including `stop`, as
---PyTorch's `arange`: `bp.arange(1, 6, 2)` is `{1, 3, 5}`.
---@param start number
---@param stop number
---@param step? number Default 1; may be negative, not 0.
---@return backprop.Tensor
function bp.arange(start, stop, step) end

---1-D float32 `0, 1, ..., stop-1` (`bp.arange(5)` is `{0, 1, 2, 3, 4}`).
---@param stop number
---@return backprop.Tensor
function bp.arange(stop) end

---`n` evenly spaced float32 values from `start` to `stop`, both included.
---@param start number
---@param stop number
---@param n integer
---@return backprop.Tensor
function bp.linspace(start, stop, n) end

---N x C float32 matrix with a 1 in column `labels[i]` of row `i`.
---@param labels integer[]|backprop.Tensor 1-based labels: a table, or a 1-D (or N x 1) tensor.
---@param num_classes? integer Default: the largest label.
---@return backprop.Tensor
function bp.one_hot(labels, num_classes) end

---The tensors of the list joined along `dim` (default 1), a new tensor.
---@param tensors backprop.Tensor[]
---@param dim? integer
---@return backprop.Tensor
function bp.cat(tensors, dim) end

---Equally shaped tensors joined along a new dimension `dim` (1..ndim+1,
---default 1): two 3-vectors give a 2x3 tensor.
---@param tensors backprop.Tensor[]
---@param dim? integer
---@return backprop.Tensor
function bp.stack(tensors, dim) end

-- Layers: each constructor returns a backprop.Module ------------------------

---`y = x W^T + b`, W is `out_features x in_features`. Input `N x in_features`.
---@param in_features integer
---@param out_features integer
---@return backprop.Module
function bp.Linear(in_features, out_features) end

---`1 / (1 + exp(-x))`, computed without overflow.
---@return backprop.Module
function bp.Sigmoid() end

---`tanh(x)`.
---@return backprop.Module
function bp.Tanh() end

---`max(x, 0)`.
---@return backprop.Module
function bp.ReLU() end

---`x` if `x > 0`, else `negative_slope * x`.
---@param negative_slope? number Default 0.01.
---@return backprop.Module
function bp.LeakyReLU(negative_slope) end

---`bp.LeakyReLU{negative_slope = 0.2}`: the setting by name.
---@param opts backprop.LeakyReLUOptions
---@return backprop.Module
function bp.LeakyReLU(opts) end

---`exp(x_j) / sum_k exp(x_k)` over the last dimension, max-subtracted.
---@return backprop.Module
function bp.Softmax() end

---`x_j - log(sum_k exp(x_k))` over the last dimension.
---@return backprop.Module
function bp.LogSoftmax() end

---2-D cross-correlation with zero padding, as PyTorch's `Conv2d`:
---`N x in x H x W` -> `N x out x H' x W'`. Sizes of two dimensions are a
---number for both or a table `{h, w}`.
---@param in_channels integer
---@param out_channels integer
---@param kernel_size integer|integer[]
---@param stride? integer|integer[] Default 1.
---@param padding? integer|integer[] Default 0.
---@return backprop.Module
function bp.Conv2d(in_channels, out_channels, kernel_size, stride, padding) end

---`bp.Conv2d(1, 32, 3, {padding = 1})`: the optional settings by name.
---@param in_channels integer
---@param out_channels integer
---@param kernel_size integer|integer[]
---@param opts backprop.Conv2dOptions
---@return backprop.Module
function bp.Conv2d(in_channels, out_channels, kernel_size, opts) end

---Maximum of each window (`N x C x H x W`).
---@param kernel_size integer|integer[]
---@param stride? integer|integer[] Default: the kernel size.
---@param padding? integer|integer[] Default 0; at most half the kernel.
---@return backprop.Module
function bp.MaxPool2d(kernel_size, stride, padding) end

---`bp.MaxPool2d(3, {stride = 2})`: the optional settings by name.
---@param kernel_size integer|integer[]
---@param opts backprop.PoolOptions
---@return backprop.Module
function bp.MaxPool2d(kernel_size, opts) end

---Mean of each window; zero padding counts in the divisor.
---@param kernel_size integer|integer[]
---@param stride? integer|integer[] Default: the kernel size.
---@param padding? integer|integer[] Default 0; at most half the kernel.
---@return backprop.Module
function bp.AvgPool2d(kernel_size, stride, padding) end

---`bp.AvgPool2d(3, {stride = 2})`: the optional settings by name.
---@param kernel_size integer|integer[]
---@param opts backprop.PoolOptions
---@return backprop.Module
function bp.AvgPool2d(kernel_size, opts) end

---Each sample to one vector: `N x ...` -> `N x (product)`.
---@return backprop.Module
function bp.Flatten() end

---In training mode zeroes each value with probability `p` and scales the
---rest by `1/(1-p)`; the identity in eval mode.
---@param p? number Default 0.5.
---@return backprop.Module
function bp.Dropout(p) end

---`bp.Dropout{p = 0.2}`: the setting by name.
---@param opts backprop.DropoutOptions
---@return backprop.Module
function bp.Dropout(opts) end

---Per-feature batch normalization of `N x C` or `N x C x L`.
---@param num_features integer
---@param eps? number Default 1e-5.
---@param momentum? number Default 0.1.
---@return backprop.Module
function bp.BatchNorm1d(num_features, eps, momentum) end

---`bp.BatchNorm1d(64, {momentum = 0.01})`: the optional settings by name.
---@param num_features integer
---@param opts backprop.BatchNormOptions
---@return backprop.Module
function bp.BatchNorm1d(num_features, opts) end

---Per-channel batch normalization of `N x C x H x W`.
---@param num_features integer
---@param eps? number Default 1e-5.
---@param momentum? number Default 0.1.
---@return backprop.Module
function bp.BatchNorm2d(num_features, eps, momentum) end

---`bp.BatchNorm2d(32, {eps = 1e-3})`: the optional settings by name.
---@param num_features integer
---@param opts backprop.BatchNormOptions
---@return backprop.Module
function bp.BatchNorm2d(num_features, opts) end

---Normalizes over the last dimension (of size `normalized_shape`).
---@param normalized_shape integer
---@param eps? number Default 1e-5.
---@return backprop.Module
function bp.LayerNorm(normalized_shape, eps) end

---`bp.LayerNorm(64, {eps = 1e-6})`: the optional setting by name.
---@param normalized_shape integer
---@param opts backprop.LayerNormOptions
---@return backprop.Module
function bp.LayerNorm(normalized_shape, opts) end

---A lookup table: ids 1..num_embeddings (in a float tensor) pick rows of
---the `num_embeddings x embedding_dim` weight. `N x L` -> `N x L x dim`.
---@param num_embeddings integer
---@param embedding_dim integer
---@return backprop.Module
function bp.Embedding(num_embeddings, embedding_dim) end

---`x * Phi(x)`, the exact erf form.
---@return backprop.Module
function bp.GELU() end

---`x` above 0, `alpha * (exp(x) - 1)` below.
---@param alpha? number Default 1.
---@return backprop.Module
function bp.ELU(alpha) end

---`bp.ELU{alpha = 0.5}`: the setting by name.
---@param opts backprop.ELUOptions
---@return backprop.Module
function bp.ELU(opts) end

---`x * sigmoid(x)` (swish).
---@return backprop.Module
function bp.SiLU() end

---`log(1 + exp(beta x)) / beta`, and `x` where `beta x > threshold`.
---@param beta? number Default 1.
---@param threshold? number Default 20.
---@return backprop.Module
function bp.Softplus(beta, threshold) end

---`bp.Softplus{beta = 2}`: the optional settings by name.
---@param opts backprop.SoftplusOptions
---@return backprop.Module
function bp.Softplus(opts) end

---`y = x`.
---@return backprop.Module
function bp.Identity() end

---`x` above 0, `a x` below, the slope `a` learned: one for all values or
---one per channel (dim 2 of the input).
---@param num_parameters? integer Default 1.
---@param init? number The slopes' starting value, default 0.25.
---@return backprop.Module
function bp.PReLU(num_parameters, init) end

---`bp.PReLU{num_parameters = 16, init = 0.1}`: the optional settings by name.
---@param opts backprop.PReLUOptions
---@return backprop.Module
function bp.PReLU(opts) end

---The modules in order, nested `Sequential`s flattened:
---`bp.Sequential{bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 1)}`. The modules
---become views of the new network's buffers.
---@param modules backprop.Module[]
---@return backprop.Module
function bp.Sequential(modules) end

---`bp.Sequential(m1, m2, ...)`: the same, the modules as arguments.
---@param ... backprop.Module
---@return backprop.Module
function bp.Sequential(...) end

---`y = x + m(x)`; `m` must give its input's shape.
---@param m backprop.Module
---@return backprop.Module
function bp.Residual(m) end

-- Losses: each constructor returns a backprop.Loss --------------------------

---`(p - y)^2` per element.
---@param opts? backprop.LossOptions
---@return backprop.Loss
function bp.MSELoss(opts) end

---`abs(p - y)` per element.
---@param opts? backprop.LossOptions
---@return backprop.Loss
function bp.L1Loss(opts) end

---Squared near the target, linear beyond `delta`.
---@param opts? backprop.HuberLossOptions
---@return backprop.Loss
function bp.HuberLoss(opts) end

---Binary cross-entropy of probabilities (end the network with `Sigmoid`).
---@param opts? backprop.LossOptions
---@return backprop.Loss
function bp.BCELoss(opts) end

---Sigmoid and binary cross-entropy fused, on raw scores.
---@param opts? backprop.BCEWithLogitsLossOptions
---@return backprop.Loss
function bp.BCEWithLogitsLoss(opts) end

---Softmax cross-entropy of raw scores `N x C` against labels 1..C.
---@param opts? backprop.CrossEntropyLossOptions
---@return backprop.Loss
function bp.CrossEntropyLoss(opts) end

---Negative log-likelihood of log-probabilities (after `LogSoftmax`).
---@param opts? backprop.NLLLossOptions
---@return backprop.Loss
function bp.NLLLoss(opts) end

-- Optimizers: each constructor returns a backprop.Optimizer -----------------

---Stochastic gradient descent, as `torch.optim.SGD`.
---@param net backprop.Module
---@param opts? backprop.SGDOptions
---@return backprop.SGD
function bp.SGD(net, opts) end

---Adam, as `torch.optim.Adam`.
---@param net backprop.Module
---@param opts? backprop.AdamOptions
---@return backprop.Adam
function bp.Adam(net, opts) end

---Adam with decoupled weight decay, as `torch.optim.AdamW`.
---@param net backprop.Module
---@param opts? backprop.AdamWOptions
---@return backprop.AdamW
function bp.AdamW(net, opts) end

---RMSprop, as `torch.optim.RMSprop`.
---@param net backprop.Module
---@param opts? backprop.RMSpropOptions
---@return backprop.RMSprop
function bp.RMSprop(net, opts) end

---Adagrad, as `torch.optim.Adagrad`.
---@param net backprop.Module
---@param opts? backprop.AdagradOptions
---@return backprop.Adagrad
function bp.Adagrad(net, opts) end

---iRprop-, as `torch.optim.Rprop`: a full-batch method.
---@param net backprop.Module
---@param opts? backprop.RpropOptions
---@return backprop.Rprop
function bp.Rprop(net, opts) end

---Scales every gradient by `max_norm / (norm + 1e-6)` when their total
---norm exceeds `max_norm`; returns the norm before.
---@param net backprop.Module
---@param max_norm number > 0.
---@param norm_type? number Default 2; `math.huge` for the largest absolute value.
---@return number norm
function bp.clip_grad_norm(net, max_norm, norm_type) end

---Clamps every gradient into `[-value, value]`.
---@param net backprop.Module
---@param value number > 0.
function bp.clip_grad_value(net, value) end

-- Files ----------------------------------------------------------------------

---Reads a network saved by `net:save` (or a checkpoint's network), as a
---`Sequential` in training mode, its metadata attached.
---@param path string
---@return backprop.Module
function bp.load(path) end

-- Threads --------------------------------------------------------------------

---Threads (1 to 256, the caller included) that large matrix products may
---use; default 1. Results are bit-identical for every count.
---@param n integer
function bp.set_num_threads(n) end

---The current thread count.
---@return integer
function bp.get_num_threads() end

---Wall-clock seconds (monotonic) from an arbitrary start.
---@return number
function bp.clock() end

return bp
