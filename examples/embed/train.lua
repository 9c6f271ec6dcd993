-- examples/embed/train.lua: the training examples/embed/host.c runs in each
-- of its Lua states (in one thread, then in two at the same time): a
-- 64-256-4 classifier with Dropout, fit with shuffled batches of 128 on
-- 512 made-up samples, the module's thread pool at 2 threads, then 32
-- samples through net:forward(tbl, outtbl) one at a time. The seed fixes
-- everything, so every run writes the same file, bit for bit, and gives
-- the same loss and outputs, whichever thread ran it and whatever ran
-- beside it. Returns the last epoch's loss and the sum of the outputs.
--
--   lua5.4 examples/embed/train.lua OUT.bpnet     (the same, as a script)
local bp = require("backprop")

local function train(path)
  bp.manual_seed(7)
  bp.set_num_threads(2)
  local rows, labels = {}, {}
  for i = 1, 512 do
    local row, best, class = {}, -math.huge, 1
    for k = 1, 64 do row[k] = math.sin(i * 0.37 + k * 0.11) * math.cos(k * i * 0.013) end
    for c = 1, 4 do   -- the class: which quarter of the row sums highest
      local s = 0
      for k = 16 * c - 15, 16 * c do s = s + row[k] end
      if s > best then best, class = s, c end
    end
    rows[i], labels[i] = row, class
  end
  local net = bp.Sequential { bp.Linear(64, 256), bp.ReLU(), bp.Dropout(0.1), bp.Linear(256, 4) }
  local history = net:fit(bp.tensor(rows), bp.tensor(labels), {
    loss = bp.CrossEntropyLoss(), optimizer = bp.Adam(net, { lr = 0.01 }),
    epochs = 3, batch_size = 128, progress = false, warnings = false,
  })
  net:save(path)
  -- Then as a game would use it: a sample at a time, from plain tables.
  net:eval()
  local out, sum = {}, 0
  for i = 1, 32 do
    net:forward(rows[i], out)
    for k = 1, #out do sum = sum + out[k] end
  end
  return history.loss[#history.loss], sum
end

if arg and arg[0] and arg[0]:match("train%.lua$") and arg[1] then   -- run as a script
  local loss, sum = train(arg[1])
  print(("loss %.17g  outputs %.17g"):format(loss, sum))
end
return train
