--- net:fit, the training loop. Each epoch runs in C (shuffle, batch,
-- forward, loss, backward, update: one call into the core); Lua only sees
-- epoch ends, where it evaluates the validation set, reports progress and
-- calls the user's on_epoch hook.

local check = require("backprop.check")

local M = {}
local FN = "backprop.Module:fit"

local OPTIONS = {
  loss = true, optimizer = true, epochs = true, batch_size = true,
  shuffle = true, validation = true, progress = true, on_epoch = true,
}

local function fail(msg, ...)
  check.fail(FN, msg, ...)
end

local function positive_integer(value, name, default)
  if value == nil then return default end
  -- math.tointeger is nil for fractions, NaN and floats beyond the integer
  -- range (math.huge passed a value == floor(value) test and broke the loop).
  local n = math.type(value) and math.tointeger(value)
  if not n or n < 1 then
    fail("%s must be a positive integer, got %s", name,
         type(value) == "number" and tostring(value) or type(value))
  end
  return n
end

local is_tensor = check.is_tensor

-- One line, rewritten in place (\r): only for a person at a terminal.
-- The caller ends it with a newline when training stops.
local function progress_line(epoch, epochs, loss, val_loss, started)
  local line = string.format("\repoch %d/%d  loss %.6g", epoch, epochs, loss)
  if val_loss then line = line .. string.format("  val_loss %.6g", val_loss) end
  line = line .. string.format("  %.1fs cpu ", os.clock() - started)
  io.stderr:write(line)
  io.stderr:flush()
end

--- Train the network on (x, y). Returns a history table:
-- history.loss[e] is epoch e's mean training loss and history.val_loss[e]
-- the validation loss when opts.validation = {x, y} is given.
function M.fit(net, x, y, opts)
  -- Unlike the other option tables, fit's is required (it names the loss).
  if type(opts) ~= "table" then fail("options must be a table, got %s", type(opts)) end
  check.options(FN, opts, OPTIONS)
  local loss, opt = opts.loss, opts.optimizer
  if loss == nil then fail("options.loss is required (for example bp.MSELoss())") end
  if opt == nil then fail("options.optimizer is required (for example bp.SGD(net, {lr = 0.1}))") end
  local epochs = positive_integer(opts.epochs, "epochs", 1)
  local batch_size = positive_integer(opts.batch_size, "batch_size", 32)
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  if type(shuffle) ~= "boolean" then fail("shuffle must be a boolean, got %s", type(shuffle)) end
  if opts.progress ~= nil and type(opts.progress) ~= "boolean" then
    fail("progress must be a boolean, got %s", type(opts.progress))
  end
  local on_epoch = opts.on_epoch
  if on_epoch ~= nil and type(on_epoch) ~= "function" then
    fail("on_epoch must be a function, got %s", type(on_epoch))
  end
  local vx, vy, vout
  if opts.validation ~= nil then
    local v = opts.validation
    if type(v) ~= "table" or not is_tensor(v[1]) or not is_tensor(v[2]) then
      fail("validation must be a table {x, y} of two tensors")
    end
    vx, vy = v[1], v[2]
    vout = net:forward(vx)          -- checks the shapes now, reused below
    loss:forward(vout, vy)
  end
  local show = opts.progress and M.stderr_isatty()
  local history = { loss = {}, val_loss = vx and {} or nil }
  local started = os.clock()
  for epoch = 1, epochs do
    local l = net:_train_epoch(x, y, loss, opt, batch_size, shuffle)
    history.loss[epoch] = l
    local vl
    if vx then
      net:forward(vx, vout)
      vl = loss:forward(vout, vy)
      if type(vl) ~= "number" then vl = vl:sum() end  -- reduction "none"
      history.val_loss[epoch] = vl
    end
    if show then progress_line(epoch, epochs, l, vl, started) end
    if on_epoch and on_epoch(epoch, l, vl) == false then break end
  end
  if show then io.stderr:write("\n") end
  return history
end

function M.install(methods, core)
  methods.fit = M.fit
  M.stderr_isatty = core._stderr_isatty
end

return M
