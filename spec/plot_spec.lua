-- bp.plot: the SVG text (axes at round numbers, legend, marks, gaps,
-- errors, whole-file writes), and a rendering in headless Chromium whose
-- pixels must show each curve where the data puts it and nowhere outside
-- the plot area. The rendering needs Debian's chromium, and python3-pil to
-- decode the screenshot (.ci/run installs both); without them it is
-- pending, with the reason.

local bp = require("backprop")
local H = require("helper")

local plot = bp.plot

-- Attributes of the first element of `tag` with class `class`.
local function element(svg, tag, class)
  local e = svg:match("<" .. tag .. ' class="' .. class:gsub("%-", "%%-") .. '"[^>]*>')
  assert(e, "no <" .. tag .. " class=\"" .. class .. "\"> in the SVG")
  local a = {}
  for k, v in e:gmatch('([%w%-]+)="([^"]*)"') do a[k] = v end
  return a
end

local function numbers(s)
  local out = {}
  for v in s:gmatch("%S+") do out[#out + 1] = tonumber(v) end
  return out
end

local function ranges(svg)
  local a = element(svg, "rect", "plot-area")
  return numbers(a["data-x-range"]), numbers(a["data-y-range"])
end

local function labels(svg)
  local out = {}
  for t in svg:gmatch('<text x="[^"]*" y="[^"]*" text%-anchor="end">([^<]*)</text>') do out[#out + 1] = t end
  return out
end

local function count(s, pattern)
  return select(2, s:gsub(pattern, ""))
end

describe("bp.plot.lines", function()
  it("puts the axes on round numbers around the data", function()
    local svg = plot.lines{ series = { { y = { 0.13, 0.92, 0.4 }, x = { 1, 2, 3 } } } }
    local x, y = ranges(svg)
    assert.same({ 1, 3 }, x)                    -- whole epochs: steps of 1
    assert.same({ 0, 1 }, y)                    -- 0.79 / 5 intervals: steps of 0.2
    assert.same({ "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }, labels(svg))
    x, y = ranges(plot.lines{ series = { { x = { -3.2, 47 }, y = { -1234, 5678 } } } })
    assert.same({ -10, 50 }, x)
    assert.same({ -2000, 6000 }, y)
    x, y = ranges(plot.lines{ series = { { x = { 0.5, 0.75 }, y = { 2e-5, 3.1e-5 } } } })
    assert.same({ 0.5, 0.75 }, x)
    H.near(y[1], 2e-5, 1e-9)
    H.near(y[2], 3.2e-5, 1e-9)
    -- a constant series gets a range around its value
    x, y = ranges(plot.lines{ series = { { y = { 3, 3, 3 } } } })
    assert(y[1] < 3 and y[2] > 3, "range " .. y[1] .. ".." .. y[2])
  end)

  it("draws one path per series in its colour, with a legend entry each", function()
    local svg = plot.lines{ series = { { name = "train", y = { 1, 2, 3 } },
                                       { name = "valid <x&y>", y = { 3, 2, 1 }, dash = true },
                                       { name = "third", y = { 2, 2, 2 }, color = "#123456" } },
                            title = "T", xlabel = "epoch", ylabel = "loss" }
    assert.equal(1, count(svg, '<path d="M[^"]*" stroke="#1f77b4"/>'))
    assert.equal(1, count(svg, '<path d="M[^"]*" stroke="#ff7f0e" stroke%-dasharray="7 4"/>'))
    assert.equal(1, count(svg, '<path d="M[^"]*" stroke="#123456"/>'))
    assert.truthy(svg:find(">valid &lt;x&amp;y&gt;</text>", 1, true))
    assert.truthy(svg:find(">train</text>", 1, true))
    assert.truthy(svg:find(">epoch</text>", 1, true))
    assert.truthy(svg:find("^<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"440\""))
  end)

  it("leaves a gap at NaN and infinity, and marks a point", function()
    local svg = plot.lines{ series = { { y = { 1, 2, 0 / 0, 4, 1 / 0, 6, 7 } } },
                            marks = { { x = 6, y = 6, label = "here" } } }
    local d = svg:match('<path d="([^"]*)"')
    assert.equal(3, count(d, "M"))             -- 1 2 | 4 | 6 7
    assert.equal(3, count(d, "L") + 1)
    assert.truthy(svg:find('<circle [^>]*r="5"'))
    assert.truthy(svg:find('stroke-dasharray="5 4"', 1, true))
    assert.truthy(svg:find(">here</text>", 1, true))
  end)

  it("writes the file whole, and reports what is wrong", function()
    local dir = H.tmpdir()
    local svg = plot.lines{ series = { { y = { 1, 2 } } }, path = dir .. "/a.svg" }
    assert.equal(svg, H.read(dir .. "/a.svg"))
    local f = io.popen("ls -a '" .. dir .. "'")
    local names = f:read("*a")
    f:close()
    assert.is_nil(names:find("tmp"), "a temporary file was left: " .. names)
    H.raises({ "backprop.plot.lines:", "cannot write '" .. dir .. "/no/such/dir.svg'" },
             plot.lines, { series = { { y = { 1 } } }, path = dir .. "/no/such/dir.svg" })
    H.rmtree(dir)
    H.raises("backprop.plot.lines: series must be a non-empty list", plot.lines, { series = {} })
    H.raises("backprop.plot.lines: unknown option 'colour'", plot.lines, { series = { { y = { 1 } } }, colour = 1 })
    H.raises("unknown option 'z'", plot.lines, { series = { { y = { 1 }, z = 2 } } })
    H.raises("backprop.plot.lines: series[1].y[2] must be a number, got string", plot.lines,
             { series = { { y = { 1, "2" } } } })
    H.raises("series[1] has 1 x values and 2 y values", plot.lines, { series = { { x = { 1 }, y = { 1, 2 } } } })
    H.raises("series[1].y must be a list of numbers (keys 1..n), got key 3", plot.lines,
             { series = { { y = { [1] = 1, [3] = 3 } } } })
    H.raises("series[1].color must be a colour like \"#1f77b4\", got red", plot.lines,
             { series = { { y = { 1 }, color = "red" } } })
    H.raises("width must be a whole number of pixels in 200..10000, got 10.5", plot.lines,
             { series = { { y = { 1 } } }, width = 10.5 })
    H.raises("backprop.plot.lines: expected a table of options, got nil", plot.lines)
  end)
end)

-- A history as fit returns it: 10 epochs, the best at 6.
local function history(metrics)
  local h = { loss = {}, val_loss = {}, lr = {}, best_epoch = 6, stopped_epoch = 10 }
  for e = 1, 10 do
    h.loss[e] = 0.9 - 0.08 * e                         -- 0.82 .. 0.10
    h.val_loss[e] = 0.2 + 0.06 * (e - 6) ^ 2 / 2.5     -- lowest at 6
    h.lr[e] = 0.01
  end
  h.best_loss = h.val_loss[6]
  if metrics then
    h.accuracy, h.val_accuracy = {}, {}
    for e = 1, 10 do h.accuracy[e], h.val_accuracy[e] = 0.5 + 0.04 * e, 0.45 + 0.04 * e end
  end
  return h
end

describe("bp.plot.history", function()
  it("draws the losses and marks the best epoch", function()
    local svg = plot.history(history())
    assert.equal(1, count(svg, 'class="plot%-area"'))   -- no metrics, constant lr: one panel
    assert.equal(2, count(svg, "<path "))
    assert.truthy(svg:find(">training loss</text>", 1, true))
    assert.truthy(svg:find(">validation loss</text>", 1, true))
    assert.truthy(svg:find(">best epoch 6 (val_loss 0.2)</text>", 1, true))
    assert.truthy(svg:find('height="400"', 1, true))
  end)

  it("adds a panel for the metrics, and one for a changing learning rate", function()
    local h = history(true)
    local svg = plot.history(h)
    assert.equal(2, count(svg, 'class="plot%-area"'))
    assert.truthy(svg:find(">validation accuracy</text>", 1, true))
    h.lr[10] = 0.001
    svg = plot.history(h, nil, { height = 300, title = "run 1" })
    assert.equal(3, count(svg, 'class="plot%-area"'))
    assert.truthy(svg:find('height="900"', 1, true))
    assert.truthy(svg:find(">run 1: learning rate</text>", 1, true))
  end)

  it("without validation marks the best training loss", function()
    local h = { loss = { 3, 2, 1, 1.5 }, lr = { 1, 1, 1, 1 }, best_epoch = 3, best_loss = 1 }
    assert.truthy(plot.history(h):find(">best epoch 3 (loss 1)</text>", 1, true))
    h.best_epoch = nil
    assert.is_nil(plot.history(h):find("best epoch", 1, true))
  end)

  it("writes what fit returns", function()
    bp.manual_seed(3)
    local x = bp.randn(40, 2)
    local y = x:narrow(2, 1, 1) * 2
    local net = bp.Sequential{ bp.Linear(2, 1) }
    local h = net:fit(x, y, { loss = bp.MSELoss(), optimizer = bp.SGD(net, { lr = 0.05 }), epochs = 5,
                              validation = { x, y }, metrics = { "r2" } })
    local dir = H.tmpdir()
    local svg = plot.history(h, dir .. "/h.svg")
    assert.equal(svg, H.read(dir .. "/h.svg"))
    assert.truthy(svg:find(">validation r2</text>", 1, true))
    H.rmtree(dir)
  end)

  it("reports bad arguments", function()
    H.raises("backprop.plot.history: history must be the table fit returns, got nil", plot.history)
    H.raises("backprop.plot.history: history.loss must be a non-empty list of numbers", plot.history, {})
    H.raises("backprop.plot.history: path must be a string, got number", plot.history, history(), 5)
    H.raises("backprop.plot.history: unknown option 'widht'", plot.history, history(), nil, { widht = 3 })
  end)
end)

------------------------------------------------------------------------
-- Rendering in headless Chromium.

-- Chromium and Python run without the sanitizer library `make asan`
-- preloads into this process.
local CLEAN = "unset LD_PRELOAD; "

local function have(cmd)
  return H.execute(CLEAN .. cmd .. " >/dev/null 2>&1")
end

local missing
if not have("command -v chromium") then
  missing = "chromium is not installed (apt-get install chromium)"
else
  missing = H.png_missing()
end

-- The screenshot of svg (width x height) as rows of RGB bytes.
local function render(svg, width, height)
  local dir = H.tmpdir()
  H.write(dir .. "/plot.svg", svg)
  local flags = table.concat({ "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--user-data-dir=" .. dir .. "/profile", "--screenshot=" .. dir .. "/plot.png",
    string.format("--window-size=%d,%d", width, height) }, " ")
  local ok = H.execute(string.format("cd '%s' && %s timeout 120 chromium %s file://%s/plot.svg >chromium.log 2>&1",
                                      dir, CLEAN, flags, dir))
  assert(ok and H.exists(dir .. "/plot.png"), "chromium made no screenshot: " ..
         (H.exists(dir .. "/chromium.log") and H.read(dir .. "/chromium.log"):sub(-600) or ""))
  local img = H.png_rgb(dir .. "/plot.png")
  H.rmtree(dir)
  assert.same({ width, height }, { img.width, img.height })
  return img
end

local function rgb(hex)
  return tonumber(hex:sub(2, 3), 16), tonumber(hex:sub(4, 5), 16), tonumber(hex:sub(6, 7), 16)
end

local function near_colour(r, g, b, c, tol)
  return (r - c[1]) ^ 2 + (g - c[2]) ^ 2 + (b - c[3]) ^ 2 <= tol * tol
end

-- Is there a pixel of colour c within `radius` of (x, y)?
local function found(img, x, y, c, radius)
  for dy = -radius, radius do
    for dx = -radius, radius do
      local px, py = math.floor(x + 0.5) + dx, math.floor(y + 0.5) + dy
      if px >= 0 and py >= 0 and px < img.width and py < img.height then
        local r, g, b = img.pixel(px, py)
        if near_colour(r, g, b, c, 60) then return true end
      end
    end
  end
  return false
end

local it_ = missing and pending or it
local suffix = missing and (" (skipped: " .. missing .. ")") or ""

describe("bp.plot rendered by Chromium", function()
  it_("shows each curve where the data puts it, and nothing of its colour outside the plot area" .. suffix, function()
    local h = history()
    local W, Hgt = 720, 400
    local svg = plot.history(h, nil, { width = W, height = Hgt })
    -- the axes the data asks for: epochs 1..10 -> 0..10 by 2; losses
    -- 0.1..0.82 -> 0.1..0.9 by 0.1 (0.72 / 5 intervals)
    local xr, yr = ranges(svg)
    assert.same({ 0, 10 }, xr)
    H.near(yr[1], 0.1, 1e-12)
    H.near(yr[2], 0.9, 1e-12)
    local area = element(svg, "rect", "plot-area")
    local ax, ay = tonumber(area.x), tonumber(area.y)
    local aw, ah = tonumber(area.width), tonumber(area.height)
    local legend = numbers(element(svg, "g", "legend")["data-box"])
    local img = render(svg, W, Hgt)
    local function at(e, v) return ax + e / 10 * aw, ay + ah - (v - 0.1) / 0.8 * ah end

    local curves = { { h.loss, { rgb("#1f77b4") } }, { h.val_loss, { rgb("#ff7f0e") } } }
    for _, cv in ipairs(curves) do
      local values, c = cv[1], cv[2]
      for e = 1, 10 do
        local x, y = at(e, values[e])
        assert(found(img, x, y, c, 2), string.format("no line pixel at epoch %d (%.1f, %.1f)", e, x, y))
        if e < 10 then   -- and halfway to the next epoch, on the straight segment
          local mx, my = at(e + 0.5, (values[e] + values[e + 1]) / 2)
          assert(found(img, mx, my, c, 2), string.format("no line pixel at epoch %.1f", e + 0.5))
        end
      end
      -- where the curve is not: well above it at epochs 2 and 9
      for _, e in ipairs({ 2, 9 }) do
        local x, y = at(e, values[e] + 0.25)
        if values[e] + 0.25 < 0.9 then
          assert(not found(img, x, y, c, 2), string.format("line colour away from the curve at epoch %d", e))
        end
      end
    end
    -- the best epoch: a dashed dark line at epoch 6 and a ring on val_loss
    local bx = at(6, 0)
    local dark = { rgb("#444444") }
    local hits = 0
    for y = math.floor(ay) + 2, math.floor(ay + ah) - 2, 3 do
      if found(img, bx, y, dark, 1) then hits = hits + 1 end
    end
    assert(hits > ah / 3 * 0.4, "the best-epoch line is missing (" .. hits .. " hits)")

    -- no pixel of a line colour outside the plot area (its frame and the
    -- half line width around it) but in the legend
    local outside = 0
    for y = 0, Hgt - 1 do
      for x = 0, W - 1 do
        local in_area = x >= ax - 3 and x <= ax + aw + 3 and y >= ay - 3 and y <= ay + ah + 3
        local in_legend = x >= legend[1] - 1 and x <= legend[1] + legend[3] + 1
                          and y >= legend[2] - 1 and y <= legend[2] + legend[4] + 1
        if not in_area and not in_legend then
          local r, g, b = img.pixel(x, y)
          for _, cv in ipairs(curves) do
            if near_colour(r, g, b, cv[2], 60) then outside = outside + 1 end
          end
        end
      end
    end
    assert.equal(0, outside)
  end)
end)
