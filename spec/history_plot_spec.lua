-- history:plot(path [, opts]): fit's history draws itself with
-- bp.plot.history (the plot itself is checked in spec/plot_spec.lua).
local bp = require("backprop")
local H = require("helper")

describe("history:plot", function()
  local dir = H.tmpdir()

  local function history()
    bp.manual_seed(1)
    local x, y = bp.randn(40, 3), bp.randn(40, 1)
    local vx, vy = bp.randn(20, 3), bp.randn(20, 1)
    local net = bp.Sequential{ bp.Linear(3, 1) }
    return net:fit(x, y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.05 }), epochs = 5,
                           validation = { vx, vy }, metrics = { "mae" } })
  end

  it("writes the same SVG as bp.plot.history, with options passed on", function()
    local h = history()
    h:plot(dir .. "/a.svg")
    bp.plot.history(h, dir .. "/b.svg")
    local a = H.read(dir .. "/a.svg")
    assert.equal(H.read(dir .. "/b.svg"), a)
    assert.truthy(a:find("<svg", 1, true))
    h:plot(dir .. "/c.svg", { title = "my run" })
    bp.plot.history(h, dir .. "/d.svg", { title = "my run" })
    assert.equal(H.read(dir .. "/d.svg"), H.read(dir .. "/c.svg"))
    assert.truthy(H.read(dir .. "/c.svg"):find("my run", 1, true))
  end)

  it("is a method, not a field: the history's fields are unchanged", function()
    local h = history()
    local keys = {}
    for k in pairs(h) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "best_epoch", "best_loss", "loss", "lr", "val_loss", "val_mae" }, keys)
    assert.equal("function", type(h.plot))
  end)

  it("fit refuses a metric named plot", function()
    local net = bp.Sequential{ bp.Linear(2, 1) }
    local ok, err = pcall(net.fit, net, bp.zeros(4, 2), bp.zeros(4, 1), {
      loss = bp.MSELoss(), optimizer = bp.SGD(net), metrics = { plot = function() return 0 end } })
    assert.is_false(ok)
    assert.matches("metric name 'plot' cannot be used", err, 1, true)
  end)
end)
