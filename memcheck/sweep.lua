-- memcheck/sweep.lua: the malloc-failure sweep. Every allocation the core
-- makes (base/alloc.c counts them) while a representative script builds,
-- trains, saves and loads is made to fail, one at a time, and each time:
--
--   - the failing call raises a Lua error that names a backprop function
--     and says it ran out of memory (never a crash, never another message:
--     "corrupt file" for an allocation that failed would mislead);
--   - every object made before the failure still works: the same step,
--     run again without the failure, succeeds, and so does the rest of the
--     script, whose results are checked;
--   - under AddressSanitizer (make memcheck runs it so), nothing leaks:
--     the process's leak check at exit covers every iteration.
--
-- It needs the test build of the module (make memcheck builds it:
-- build/faults/backprop/core.so, compiled with -DBP_ALLOC_FAULTS and
-- memcheck/lfaults.c), given as the first argument:
--
--   LUA_PATH="src/?.lua;src/?/init.lua;;" LUA_CPATH="build/faults/?.so;;" \
--     lua5.4 memcheck/sweep.lua build/faults/backprop/core.so [scenario ...]
--
-- The script is split into scenarios, each with its own setup (run
-- without failures), so that failing allocation N of one scenario
-- replays that scenario alone. Prints one line per scenario: how many
-- allocations it makes and how many failures it survived.

local so = assert(arg[1], "usage: sweep.lua path/to/faults/backprop/core.so [scenario ...]")
local bp = require("backprop")
local faults = assert(package.loadlib(so, "luaopen_backprop_faults"))()
local unpack = require("backprop.compat").unpack

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp))
local function path(name) return tmp .. "/" .. name end

local function close_enough(a, b)
  return math.abs(a - b) <= 1e-5 * math.max(1, math.abs(a), math.abs(b))
end

-- Finite values of the right shape: what "still works" is checked with.
local function finite(t, rows, cols)
  local s = t:shape()
  assert(s[1] == rows and (cols == nil or s[2] == cols),
         ("shape %s, expected %d x %s"):format(table.concat(s, "x"), rows, tostring(cols)))
  for _, row in ipairs(t:totable()) do
    for _, v in ipairs(type(row) == "table" and row or { row }) do
      assert(v == v and v > -math.huge and v < math.huge, "non-finite value " .. tostring(v))
    end
  end
end

local X = bp.randn(16, 4)
local Y_reg = bp.randn(16, 3)
local Y_cls = bp.tensor({ 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 })
local IMG = bp.randn(4, 2, 6, 6)
local IDS = bp.tensor({ { 1, 2 }, { 3, 4 }, { 5, 1 }, { 2, 2 } })

local function mlp()
  return bp.Sequential{
    bp.Linear(4, 6), bp.PReLU(6), bp.BatchNorm1d(6), bp.Dropout(0.2), bp.GELU(),
    bp.Residual(bp.Sequential{ bp.Linear(6, 6), bp.ELU(), bp.LayerNorm(6) }),
    bp.SiLU(), bp.Softplus(), bp.LeakyReLU(0.1), bp.Identity(), bp.Sigmoid(), bp.Tanh(),
    bp.ReLU(), bp.Linear(6, 3),
  }
end

local function cnn()
  return bp.Sequential{
    bp.Conv2d(2, 3, 3, { padding = 1 }), bp.BatchNorm2d(3), bp.ReLU(), bp.MaxPool2d(2),
    bp.AvgPool2d(1), bp.Flatten(), bp.Linear(27, 3), bp.LogSoftmax(),
  }
end

local function embed()
  return bp.Sequential{ bp.Embedding(5, 3), bp.Flatten(), bp.Linear(6, 3), bp.Softmax() }
end

local OPTIMIZERS = {
  function(net) return bp.SGD(net, { lr = 0.05, momentum = 0.9 }) end,
  function(net) return bp.Adam(net, { lr = 0.01 }) end,
  function(net) return bp.AdamW(net, { lr = 0.01 }) end,
  function(net) return bp.RMSprop(net, { lr = 0.01 }) end,
  function(net) return bp.Adagrad(net, { lr = 0.01 }) end,
  function(net) return bp.Rprop(net) end,
}

-- Each scenario: setup() -> ctx without failures; run(ctx) is swept;
-- check(ctx) after a full run.
local SCENARIOS = {
  {
    name = "build",
    setup = function() return {} end,
    run = function(c)
      c.mlp, c.cnn, c.embed = mlp(), cnn(), embed()
      c.text = tostring(c.mlp) .. c.cnn:summary({ 4, 2, 6, 6 })
    end,
    check = function(c)
      finite(c.mlp:forward(X), 16, 3)
      finite(c.cnn:forward(IMG), 4, 3)
      finite(c.embed:forward(IDS), 4, 3)
    end,
  },
  {
    name = "forward and backward",
    setup = function() return { mlp = mlp(), cnn = cnn(), embed = embed() } end,
    run = function(c)
      for _, m in ipairs({ { c.mlp, X }, { c.cnn, IMG }, { c.embed, IDS } }) do
        m[1]:train()
        local y = m[1]:forward(m[2])
        m[1]:backward(bp.ones(unpack(y:shape())))
        m[1]:eval()
        m[1]:forward(m[2])
      end
      local loss = bp.CrossEntropyLoss{ weight = bp.tensor({ 1, 2, 3 }) }
      c.value = loss:forward(c.mlp:forward(X), Y_cls)
      loss:backward()
    end,
    check = function(c) assert(c.value == c.value) end,
  },
  {
    name = "fit with every optimizer",
    setup = function()
      local c = { nets = {}, opts = {} }
      for i, make in ipairs(OPTIMIZERS) do
        bp.manual_seed(i)
        c.nets[i] = i % 2 == 0 and mlp() or bp.Sequential{ bp.Linear(4, 5), bp.Tanh(), bp.Linear(5, 3) }
        c.opts[i] = make(c.nets[i])
      end
      return c
    end,
    run = function(c)
      for i, net in ipairs(c.nets) do
        local sched = bp.lr_scheduler.StepLR(c.opts[i], { step_size = 1, gamma = 0.9 })
        c.history = net:fit(X, i % 3 == 0 and Y_reg or Y_cls, {
          loss = i % 3 == 0 and bp.MSELoss() or bp.CrossEntropyLoss(),
          optimizer = c.opts[i], epochs = 2, batch_size = 4, scheduler = sched,
          validation = { X, i % 3 == 0 and Y_reg or Y_cls },
          clip_grad_norm = i % 2 == 0 and 1.0 or nil, progress = false,
        })
        net:train_step(X, i % 3 == 0 and Y_reg or Y_cls,
                       i % 3 == 0 and bp.HuberLoss() or bp.NLLLoss(), c.opts[i])
      end
    end,
    check = function(c)
      for _, net in ipairs(c.nets) do finite(net:forward(X), 16, 3) end
    end,
  },
  {
    name = "threads",
    setup = function() return { net = bp.Sequential{ bp.Linear(64, 256), bp.ReLU(), bp.Linear(256, 8) } } end,
    run = function(c)
      bp.set_num_threads(2)
      local x = bp.randn(128, 64)
      local opt = bp.SGD(c.net, { lr = 0.01 })
      c.net:train_step(x, bp.randn(128, 8), bp.MSELoss(), opt)
      c.out = c.net:forward(x)
      bp.set_num_threads(1)
    end,
    check = function(c) finite(c.out, 128, 8) end,
  },
  {
    name = "save and load",
    setup = function()
      bp.manual_seed(3)
      local net = mlp()
      net:eval()
      return { net = net, want = net:forward(X):totable(), opt = bp.Adam(net) }
    end,
    run = function(c)
      c.net:save(path("m.bp"), { classes = { "a", "b", "c" } })
      c.loaded = bp.load(path("m.bp"))
      c.net:save_safetensors(path("m.safetensors"), { metadata = { k = "v" } })
      c.net:load_safetensors(path("m.safetensors"))
      bp.checkpoint.save(path("m.ckpt"), { net = c.net, optimizer = c.opt, epoch = 1 })
      c.ckpt = bp.checkpoint.load(path("m.ckpt"))
      c.opt:load_state(c.ckpt.optimizer)
      c.net:export_onnx(path("m.onnx"), { input_shape = { 1, 4 } })
    end,
    check = function(c)
      c.loaded:eval()
      c.net:eval()
      for _, net in ipairs({ c.loaded, c.net, c.ckpt.net }) do
        net:eval()
        local got = net:forward(X):totable()
        for i = 1, #got do
          for j = 1, 3 do assert(close_enough(got[i][j], c.want[i][j]), "loaded network differs") end
        end
      end
    end,
  },
  {
    name = "read_csv and read_idx",
    setup = function() return {} end,
    run = function(c)
      c.X, c.Y, c.names, c.classes = bp.data.read_csv("examples/data/iris.csv", { target = "species" })
      c.Xt = bp.data.read_csv("memcheck/text.csv", { text = "onehot", missing = 0, na = { "NA" } })
      c.idx = bp.data.read_idx("spec/fixtures/idx/u8_two_members.idx.gz")
      c.f32 = bp.data.read_idx("spec/fixtures/idx/f32_all_flags.idx.gz")
    end,
    check = function(c)
      assert(#c.X == 150 and #c.classes == 3, "iris read wrongly")
      assert(#c.Xt == 4, "text.csv read wrongly")
      assert(c.idx:dim() == 3 and c.f32:numel() > 0, "IDX read wrongly")
    end,
  },
}

-- A failed core allocation: "backprop.Linear:forward: out of memory",
-- possibly after "file:line: ". A failed Lua allocation: Lua's own "not
-- enough memory", or a backprop error that says as much.
local function clean(err)
  return type(err) == "string" and err:find("memory", 1, true) ~= nil
     and (err:find("backprop[%w_.:]*: ") ~= nil or err == "not enough memory")
     and not err:find("attempt to", 1, true)
end

-- Fail allocation 1, 2, 3, ... (every `stride`-th) of kind ("core" or
-- "lua") in scenario s's run until a run makes fewer.
local function sweep(s, kind, stride)
  local c = s.setup()
  s.run(c)
  s.check(c)
  local n, tried, failures = 1, 0, 0
  while true do
    c = s.setup()
    collectgarbage()
    local ok, err, hit = faults.pcall(kind, n, s.run, c)
    if not hit then
      assert(ok, ("%s: failed without a failed allocation: %s"):format(s.name, tostring(err)))
      break
    end
    tried = tried + 1
    local where = ("%s, %s allocation %d failed"):format(s.name, kind, n)
    if not ok then
      failures = failures + 1
      if not clean(err) then error(("%s: unclear error: %s"):format(where, tostring(err)), 0) end
      -- The objects made so far still work: the run again, and its results.
      local ok2, err2 = pcall(s.run, c)
      if not ok2 then
        error(("%s (%s); then the same run without the failure: %s"):format(where, err, tostring(err2)), 0)
      end
    end
    local ok3, err3 = pcall(s.check, c)
    if not ok3 then
      error(("%s%s; then: %s"):format(where, ok and " (the run succeeded)" or " (" .. err .. ")",
                                     tostring(err3)), 0)
    end
    n = n + stride
  end
  -- A failure that the run survives is "absorbed" (Lua's collector, say,
  -- frees memory and tries again).
  print(("sweep %-4s %-26s %6d allocations%s failed in turn: %d clean errors, %d absorbed"):format(
    kind, s.name, n - 1, stride > 1 and (" (every " .. stride .. "th)") or "", failures, tried - failures))
  return tried
end

local only, stride = {}, 1
local i = 2
while arg[i] do
  if arg[i] == "--lua-stride" then
    stride = assert(tonumber(arg[i + 1]), "--lua-stride needs a number")
    i = i + 1
  else
    only[arg[i]] = true
  end
  i = i + 1
end
local all = 0
for _, s in ipairs(SCENARIOS) do
  if next(only) == nil or only[s.name] then
    all = all + sweep(s, "core", 1)
    if stride > 0 then all = all + sweep(s, "lua", stride) end
  end
end
os.execute("rm -rf " .. tmp)
print(("sweep: %d allocations failed one at a time, no crash, no unclear error, objects usable after each"):format(all))
