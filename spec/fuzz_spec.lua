-- Random misuse: every public function and method, called with random
-- mixes of good and bad arguments, must either work or raise a Lua error
-- whose message names a backprop function. Run under AddressSanitizer
-- (`make asan`) this is also the memory-safety sweep.

local bp = require("backprop")
local H = require("helper")

local SEED = tonumber(os.getenv("BACKPROP_FUZZ_SEED")) or 20261127
local ROUNDS = tonumber(os.getenv("BACKPROP_FUZZ_ROUNDS")) or 4000

local function pool()
  local net = bp.Sequential{bp.Linear(3, 2), bp.Tanh()}
  return H.pack(
    nil, 0, 1, 2, 3, -1, 2.5, 0 / 0, math.huge, -math.huge, 1e300,
    math.maxinteger or 2 ^ 63, math.mininteger or -2 ^ 63, "x", "3", "", true, false, {}, {1, 2},
    {{1, 2}, {3}}, {{1, 2, 3}, {4, 5, 6}}, {lr = 0.1}, {lr = 0 / 0},
    {"a"}, print, bp.zeros(1), bp.zeros(2, 3), bp.ones(3), bp.randn(4, 3),
    bp.zeros(2, 2, 2), bp.tensor({0 / 0, 1, 2}), bp.tensor({{1}, {2}}),
    net, bp.Linear(2, 2), bp.ReLU(), bp.Softmax(), bp.MSELoss(), bp.BCELoss(),
    bp.CrossEntropyLoss(), bp.SGD(net, {lr = 0.1}),
    bp.Adam(bp.Linear(1, 1)), "/nonexistent/dir/model.bp",
    bp.zeros({2, 3}, "uint8"), bp.randn(4, 6):narrow(2, 2, 3), bp.randn(2, 1, 4, 4),
    bp.Conv2d(1, 2, 3, 1, 1), bp.MaxPool2d(2), bp.BatchNorm1d(3), bp.Embedding(4, 2),
    bp.Dropout(0.5), bp.Residual(bp.Linear(3, 3)), bp.LayerNorm(3), bp.Flatten(),
    bp.HuberLoss(), bp.NLLLoss{reduction = "none"}, bp.RMSprop(bp.Linear(2, 2)),
    {1, 2, 3}, {0.5, "a", 2}
  )
end

local function functions()
  local list = {}
  for name, f in pairs(bp) do
    if type(f) == "function" and name ~= "manual_seed" then
      list[#list + 1] = { "bp." .. name, f }
    end
  end
  for name, f in pairs(bp.data) do list[#list + 1] = { "bp.data." .. name, f } end
  for name, f in pairs(bp.metrics) do list[#list + 1] = { "bp.metrics." .. name, f } end
  for _, methods in ipairs{ bp.Tensor, bp.Module } do
    for name, f in pairs(methods) do
      if name ~= "close" then list[#list + 1] = { "method " .. name, f } end
    end
  end
  local loss_methods = getmetatable(bp.MSELoss()).__index
  for name, f in pairs(loss_methods) do list[#list + 1] = { "loss " .. name, f } end
  local opt = bp.SGD(bp.Linear(1, 1))
  list[#list + 1] = { "opt step", opt.step }
  list[#list + 1] = { "opt zero_grad", opt.zero_grad }
  table.sort(list, function(a, b) return a[1] < b[1] end)
  return list
end

-- "backprop.Tensor:get: ..." or "backprop.data.split: ...", possibly
-- after a "file:line: " position; never Lua's own "attempt to index ...".
local function explains(err)
  return type(err) == "string" and err:find("backprop%.[%w_.:]+: ") ~= nil
     and not err:find("attempt to", 1, true)
end

describe("random misuse", function()
  it("never crashes and always explains itself", function()
    math.randomseed(SEED)
    local values, fns = pool(), functions()
    local npool = values.n
    local bad, worked, refused = {}, 0, 0
    -- net:save with a string from the pool writes a file of that name;
    -- remove afterwards exactly those that did not exist before.
    local existed = {}
    for i = 1, npool do
      local v = values[i]
      if type(v) == "string" then
        local f = io.open(v, "rb")
        existed[v] = f ~= nil
        if f then f:close() end
      end
    end
    for round = 1, ROUNDS do
      local entry = fns[math.random(#fns)]
      local nargs = math.random(0, 4)
      local args = {}
      for i = 1, nargs do args[i] = values[math.random(npool)] end
      local ok, err = pcall(entry[2], H.unpack(args, 1, nargs))
      if ok then worked = worked + 1 else refused = refused + 1 end
      if not ok and not explains(err) then
        bad[#bad + 1] = string.format("round %d, %s: %s", round, entry[1], tostring(err))
      end
      if round % 500 == 0 then collectgarbage() end
    end
    for path, was in pairs(existed) do
      if not was then os.remove(path); os.remove(path .. ".tmp") end
    end
    assert.are.same({}, bad, "seed " .. SEED)
    -- Both outcomes must actually occur, or the sweep proves nothing.
    assert.is_true(worked > ROUNDS / 50, "only " .. worked .. " calls worked")
    assert.is_true(refused > ROUNDS / 2, "only " .. refused .. " calls refused")
  end)
end)
