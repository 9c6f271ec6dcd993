---@meta _
-- Losses, optimizers and learning-rate schedules (docs/API.md, "Losses",
-- "Optimizers", "Learning-rate schedules"), and the option tables the
-- layer constructors take by name ("More layers").

-- Layer settings by name -----------------------------------------------------

---`bp.Conv2d(in, out, kernel_size, {...})`.
---@class backprop.Conv2dOptions
---@field stride? integer|integer[] A number for both dimensions or `{h, w}` (1).
---@field padding? integer|integer[] Zeros around each side (0).

---`bp.MaxPool2d(kernel_size, {...})`, `bp.AvgPool2d(kernel_size, {...})`.
---@class backprop.PoolOptions
---@field stride? integer|integer[] Default: the kernel size.
---@field padding? integer|integer[] At most half the kernel (0).

---`bp.LeakyReLU{...}`.
---@class backprop.LeakyReLUOptions
---@field negative_slope? number The slope below 0 (0.01).

---`bp.Dropout{...}`.
---@class backprop.DropoutOptions
---@field p? number The probability of zeroing a value, in [0, 1] (0.5).

---`bp.BatchNorm1d(n, {...})`, `bp.BatchNorm2d(n, {...})`.
---@class backprop.BatchNormOptions
---@field eps? number Added to the variance (1e-5).
---@field momentum? number Of the running statistics, in [0, 1] (0.1).

---`bp.LayerNorm(n, {...})`.
---@class backprop.LayerNormOptions
---@field eps? number Added to the variance (1e-5).

---`bp.ELU{...}`.
---@class backprop.ELUOptions
---@field alpha? number Scale of the negative part (1).

---`bp.Softplus{...}`.
---@class backprop.SoftplusOptions
---@field beta? number > 0 (1).
---@field threshold? number Above `beta x > threshold` the output is `x` (20).

---`bp.PReLU{...}`.
---@class backprop.PReLUOptions
---@field num_parameters? integer 1 (one slope) or the channel count (1).
---@field init? number The slopes' starting value (0.25).

-- Losses ---------------------------------------------------------------------

---@alias backprop.Reduction
---| "mean" # the mean of the losses (the default)
---| "sum" # their sum
---| "none" # no reduction: forward returns a tensor of losses

---A loss function, as PyTorch 1.13 defines it.
---@class backprop.Loss
local Loss = {}

---The loss as a number (a tensor of losses with `reduction = "none"`);
---computes the gradient in the same pass.
---@param pred backprop.Tensor Predictions, `N x C`.
---@param target backprop.Tensor
---@return number|backprop.Tensor
function Loss:forward(pred, target) end

---`dL/dpred` from the last forward, in a tensor the loss owns. With
---`reduction = "none"`, `g` (shaped like forward's result) weighs each
---loss: the gradient of `sum(g .* losses)`.
---@param g? backprop.Tensor
---@return backprop.Tensor
function Loss:backward(g) end

---`"mean"`, `"sum"` or `"none"`.
---@return backprop.Reduction
function Loss:reduction() end

---Options every loss takes. An unknown key is an error.
---@class backprop.LossOptions
---@field reduction? backprop.Reduction "mean" (default), "sum" or "none".

---`bp.HuberLoss{...}`.
---@class backprop.HuberLossOptions: backprop.LossOptions
---@field delta? number Where the loss turns from squared to linear, > 0 (1).

---`bp.BCEWithLogitsLoss{...}`.
---@class backprop.BCEWithLogitsLossOptions: backprop.LossOptions
---@field pos_weight? number[]|backprop.Tensor One weight per column for positive targets (all 1).

---`bp.CrossEntropyLoss{...}`.
---@class backprop.CrossEntropyLossOptions: backprop.LossOptions
---@field weight? number[]|backprop.Tensor C positive class weights (all 1).
---@field label_smoothing? number In [0, 1) (0).

---`bp.NLLLoss{...}`.
---@class backprop.NLLLossOptions: backprop.LossOptions
---@field weight? number[]|backprop.Tensor C positive class weights (all 1).

-- Optimizers -----------------------------------------------------------------

---An optimizer over one network's parameters. `opt.lr` can be read and
---set between steps; the other hyperparameters are read-only fields.
---@class backprop.Optimizer
---@field lr number The learning rate (settable).
---@field steps integer Updates done.
local Optimizer = {}

---One update from the current gradients.
function Optimizer:step() end

---Sets the network's gradients to zero (as `net:zero_grad()`).
function Optimizer:zero_grad() end

---Everything the updates have changed, as a plain table (PyTorch's
---`state_dict`).
---@return backprop.OptimizerState
function Optimizer:state() end

---Takes a state from `opt:state()` of an optimizer of the same kind and
---options; checked whole first.
---@param state backprop.OptimizerState
function Optimizer:load_state(state) end

---What `opt:state()` returns: `kind`, `step`, `options` and each state
---buffer named as `torch.optim` names it (`exp_avg`, `momentum_buffer`,
---...), a list of tensors in `net:parameters()` order.
---@class backprop.OptimizerState
---@field kind string "SGD", "Adam", ...
---@field step integer Updates done.
---@field options table Every hyperparameter, `lr` as it is now: `bp.Adam(net, state.options)`.
---@field [string] backprop.Tensor[]

---`bp.SGD(net, {...})`.
---@class backprop.SGDOptions
---@field lr? number (0.01)
---@field momentum? number (0)
---@field dampening? number (0)
---@field weight_decay? number Added to the gradient as `weight_decay * p` (0).
---@field nesterov? boolean Needs momentum > 0 and dampening 0 (false).

---What `bp.SGD(net, opts)` returns: its options are read-only fields.
---@class backprop.SGD: backprop.Optimizer
---@field momentum number
---@field dampening number
---@field weight_decay number
---@field nesterov boolean

---`bp.Adam(net, {...})`.
---@class backprop.AdamOptions
---@field lr? number (1e-3)
---@field betas? number[] `{beta1, beta2}`, each in [0, 1) ({0.9, 0.999}).
---@field eps? number > 0 (1e-8).
---@field weight_decay? number Added to the gradient (0).
---@field amsgrad? boolean (false)

---What `bp.Adam(net, opts)` returns: its options are read-only fields.
---@class backprop.Adam: backprop.Optimizer
---@field betas number[]
---@field eps number
---@field weight_decay number
---@field amsgrad boolean

---`bp.AdamW(net, {...})`: as Adam, the weight decay decoupled.
---@class backprop.AdamWOptions: backprop.AdamOptions
---@field weight_decay? number `p *= 1 - lr*weight_decay` before the update (0.01).

---What `bp.AdamW(net, opts)` returns: its options are read-only fields.
---@class backprop.AdamW: backprop.Adam

---`bp.RMSprop(net, {...})`.
---@class backprop.RMSpropOptions
---@field lr? number (0.01)
---@field momentum? number (0)
---@field alpha? number Smoothing, in [0, 1) (0.99).
---@field eps? number > 0 (1e-8).
---@field weight_decay? number (0)
---@field centered? boolean (false)

---What `bp.RMSprop(net, opts)` returns: its options are read-only fields.
---@class backprop.RMSprop: backprop.Optimizer
---@field momentum number
---@field alpha number
---@field eps number
---@field weight_decay number
---@field centered boolean

---`bp.Adagrad(net, {...})`.
---@class backprop.AdagradOptions
---@field lr? number (0.01)
---@field eps? number > 0 (1e-10).
---@field weight_decay? number (0)
---@field lr_decay? number (0)
---@field initial_accumulator_value? number (0)

---What `bp.Adagrad(net, opts)` returns: its options are read-only fields.
---@class backprop.Adagrad: backprop.Optimizer
---@field eps number
---@field weight_decay number
---@field lr_decay number
---@field initial_accumulator_value number

---`bp.Rprop(net, {...})`.
---@class backprop.RpropOptions
---@field lr? number The initial step size (0.01).
---@field etas? number[] `{decrease, increase}` ({0.5, 1.2}).
---@field step_sizes? number[] `{smallest, largest}` ({1e-6, 50}).

---What `bp.Rprop(net, opts)` returns: its options are read-only fields.
---@class backprop.Rprop: backprop.Optimizer
---@field etas number[]
---@field step_sizes number[]

-- Learning-rate schedules ----------------------------------------------------

---`bp.lr_scheduler`: PyTorch's schedulers. Each changes `opt.lr` when
---stepped, once per epoch, by hand or by `fit` (option `scheduler`).
---@class backprop.lr_scheduler
local lr_scheduler = {}

---`lr *= gamma` every `step_size` epochs.
---@param opt backprop.Optimizer
---@param opts backprop.StepLROptions
---@return backprop.StepLR
function lr_scheduler.StepLR(opt, opts) end

---`lr *= gamma` at each milestone epoch.
---@param opt backprop.Optimizer
---@param opts backprop.MultiStepLROptions
---@return backprop.MultiStepLR
function lr_scheduler.MultiStepLR(opt, opts) end

---`lr *= gamma` every epoch.
---@param opt backprop.Optimizer
---@param opts backprop.ExponentialLROptions
---@return backprop.ExponentialLR
function lr_scheduler.ExponentialLR(opt, opts) end

---From `base_lr` down to `eta_min` along half a cosine over `T_max` epochs.
---@param opt backprop.Optimizer
---@param opts backprop.CosineAnnealingLROptions
---@return backprop.CosineAnnealingLR
function lr_scheduler.CosineAnnealingLR(opt, opts) end

---`lr = max(lr * factor, min_lr)` once the metric has not improved for
---more than `patience` epochs; `step(metric)` takes the metric.
---@param opt backprop.Optimizer
---@param opts? backprop.ReduceLROnPlateauOptions
---@return backprop.ReduceLROnPlateau
function lr_scheduler.ReduceLROnPlateau(opt, opts) end

---A learning-rate scheduler. Creating one counts as step 0.
---@class backprop.Scheduler
---@field kind string "StepLR", "ReduceLROnPlateau", ...
---@field optimizer backprop.Optimizer The optimizer whose `lr` it sets.
---@field base_lr number `opt.lr` when the scheduler was made.
---@field last_lr number The lr the last step set.
---@field last_epoch integer Steps taken.
local Scheduler = {}

---One epoch on: sets `opt.lr`.
function Scheduler:step() end

---The lr the last step set (a number; PyTorch returns a list).
---@return number
function Scheduler:get_last_lr() end

---A plain table of what the steps change, the kind and the options.
---@return backprop.SchedulerState
function Scheduler:state() end

---Takes a state from `sched:state()` of a scheduler of the same kind and
---options; checked whole first.
---@param state backprop.SchedulerState
function Scheduler:load_state(state) end

---What `sched:state()` returns.
---@class backprop.SchedulerState
---@field kind string
---@field options table What the constructor took (MultiStepLR's milestones as a sorted list).
---@field last_epoch integer
---@field last_lr number
---@field base_lr number
---@field best? number ReduceLROnPlateau only.
---@field num_bad_epochs? integer ReduceLROnPlateau only.
---@field cooldown_counter? integer ReduceLROnPlateau only.

---Options of `bp.lr_scheduler.StepLR`. An unknown key is an error.
---@class backprop.StepLROptions
---@field step_size integer Required: epochs between decays.
---@field gamma? number > 0 (0.1).

---What `bp.lr_scheduler.StepLR` returns: its options are fields.
---@class backprop.StepLR: backprop.Scheduler
---@field step_size integer
---@field gamma number

---Options of `bp.lr_scheduler.MultiStepLR`. An unknown key is an error.
---@class backprop.MultiStepLROptions
---@field milestones integer[] Required: the epochs to decay at, `{30, 80}`.
---@field gamma? number > 0 (0.1).

---What `bp.lr_scheduler.MultiStepLR` returns: its options are fields.
---@class backprop.MultiStepLR: backprop.Scheduler
---@field milestones table<integer, integer> How many times lr decays at each milestone epoch.
---@field gamma number

---Options of `bp.lr_scheduler.ExponentialLR`. An unknown key is an error.
---@class backprop.ExponentialLROptions
---@field gamma number Required, > 0.

---What `bp.lr_scheduler.ExponentialLR` returns: its options are fields.
---@class backprop.ExponentialLR: backprop.Scheduler
---@field gamma number

---Options of `bp.lr_scheduler.CosineAnnealingLR`. An unknown key is an error.
---@class backprop.CosineAnnealingLROptions
---@field T_max integer Required: the epochs of the half cosine.
---@field eta_min? number The lowest lr, >= 0 (0).

---What `bp.lr_scheduler.CosineAnnealingLR` returns: its options are fields.
---@class backprop.CosineAnnealingLR: backprop.Scheduler
---@field T_max integer
---@field eta_min number

---Options of `bp.lr_scheduler.ReduceLROnPlateau`. An unknown key is an error.
---@class backprop.ReduceLROnPlateauOptions
---@field mode? "min"|"max" Whether the metric should fall or rise ("min").
---@field factor? number In (0, 1) (0.1).
---@field patience? integer Epochs without improvement tolerated (10).
---@field threshold? number The improvement that counts (1e-4).
---@field threshold_mode? "rel"|"abs" ("rel")
---@field cooldown? integer Epochs after a decay when bad epochs are not counted (0).
---@field min_lr? number (0)
---@field eps? number Decays smaller than this are skipped (1e-8).

---What `bp.lr_scheduler.ReduceLROnPlateau` returns: its options are fields.
---@class backprop.ReduceLROnPlateau: backprop.Scheduler
---@field mode "min"|"max"
---@field factor number
---@field patience integer
---@field threshold number
---@field threshold_mode "rel"|"abs"
---@field cooldown integer
---@field min_lr number
---@field eps number
---@field best number The best metric so far.
---@field num_bad_epochs integer
---@field cooldown_counter integer
local ReduceLROnPlateau = {}

---One epoch on, with this epoch's metric (for example the validation loss).
---@param metric number
function ReduceLROnPlateau:step(metric) end
