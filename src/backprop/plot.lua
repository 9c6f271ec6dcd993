--- bp.plot: line charts as standalone SVG files, for training curves and
-- any other series. Plain text out, no dependencies: open the file in a
-- browser, or put it in a README.
--
--   bp.plot.lines{series = {{name = "sin", y = ys}}, path = "sin.svg"}
--   bp.plot.history(history, "curves.svg")   -- what fit returned

local compat = require("backprop.compat")
local check = require("backprop.check")
local core = require("backprop.core")

local plot = {}

local function fail(fn, msg, ...)
  check.fail("backprop.plot." .. fn, msg, ...)
end

-- Line colours (matplotlib's "tab10"), in order of the series.
local COLORS = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f" }
local MARK_COLOR = "#444444"   -- the best-epoch line and dot
local GRID_COLOR = "#e6e6e6"
local FRAME_COLOR = "#999999"

-- Space around a panel's plot area, in pixels; above it come the title
-- (TITLE high) and the legend's rows (ROW high each).
local LEFT, RIGHT, BOTTOM, TITLE, ROW = 64, 24, 46, 28, 18

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                        ['"'] = "&quot;" }))
end

local function num(v)   -- a coordinate, short
  return string.format("%.2f", v):gsub("0+$", ""):gsub("%.$", "")
end

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

local function min_max(v)
  local lo, hi = v[1], v[1]
  for i = 2, #v do lo, hi = math.min(lo, v[i]), math.max(hi, v[i]) end
  return lo, hi
end

------------------------------------------------------------------------
-- Ticks at round numbers: steps of 1, 2 or 5 times a power of ten.

-- The round step for about `count` intervals over `span`, and its power
-- of ten (for the labels' decimals).
local function round_step(span, count)
  local raw = span / count
  local e = math.floor(compat.log10(raw))
  local f = raw / 10 ^ e
  local m = f < 1.5 and 1 or f < 3 and 2 or f < 7 and 5 or 10
  if m == 10 then m, e = 1, e + 1 end
  return m * 10 ^ e, e
end

-- Axis from lo to hi: the range widened to whole steps, and the ticks.
-- integer: the values are whole numbers (epochs), so steps below 1 are
-- not used.
local function axis(lo, hi, integer)
  if hi == lo then
    local pad = lo == 0 and 1 or math.abs(lo) * 0.1
    lo, hi = lo - pad, hi + pad
  end
  local step, e = round_step(hi - lo, 5)
  if integer and step < 1 then step, e = 1, 0 end
  local first = math.floor(lo / step + 1e-9) * step
  local last = math.ceil(hi / step - 1e-9) * step
  local ticks, decimals = {}, e < 0 and -e or 0   -- (LuaJIT's math.max(0, -0) is -0)
  local n = math.floor((last - first) / step + 0.5)
  for i = 0, n do
    local v = first + i * step
    if math.abs(v) < step * 1e-9 then v = 0 end
    local label
    if (math.abs(v) >= 1e6 or step < 1e-4) and v ~= 0 then label = string.format("%g", v)
    else label = string.format(string.format("%%.%df", decimals), v) end
    ticks[#ticks + 1] = { value = v, label = label }
  end
  return first, last, ticks
end

------------------------------------------------------------------------
-- Checking the series.

local function list_of_numbers(fn, what, v)
  if type(v) ~= "table" then fail(fn, "%s must be a list of numbers, got %s", what, type(v)) end
  local n = #v
  for k in pairs(v) do
    if not compat.isinteger(k) or k < 1 or k > n then
      fail(fn, "%s must be a list of numbers (keys 1..n), got key %s", what, tostring(k))
    end
  end
  for i = 1, n do
    if type(v[i]) ~= "number" then
      fail(fn, "%s[%d] must be a number, got %s", what, i, type(v[i]))
    end
  end
  return v
end

local SERIES_KEYS = { name = true, x = true, y = true, color = true, dash = true }

-- The series of opts, checked: each {name, x, y, color, dash}; x defaults
-- to 1..#y.
local function check_series(fn, list)
  if type(list) ~= "table" or #list == 0 then
    fail(fn, "series must be a non-empty list of {name = ..., y = {...}}, got %s",
         type(list) == "table" and "an empty table" or type(list))
  end
  local out = {}
  for i, s in ipairs(list) do
    local what = "series[" .. i .. "]"
    if type(s) ~= "table" then fail(fn, "%s must be a table, got %s", what, type(s)) end
    check.options("backprop.plot." .. fn .. ": " .. what, s, SERIES_KEYS)
    local y = list_of_numbers(fn, what .. ".y", s.y)
    local x = s.x
    if x == nil then
      x = {}
      for j = 1, #y do x[j] = j end
    else
      list_of_numbers(fn, what .. ".x", x)
      if #x ~= #y then fail(fn, "%s has %d x values and %d y values", what, #x, #y) end
    end
    local color = s.color or COLORS[(i - 1) % #COLORS + 1]
    if type(color) ~= "string" or not color:match("^#%x%x%x%x%x%x$") then
      fail(fn, "%s.color must be a colour like \"#1f77b4\", got %s", what, tostring(color))
    end
    if s.name ~= nil and type(s.name) ~= "string" then
      fail(fn, "%s.name must be a string, got %s", what, type(s.name))
    end
    out[i] = { name = s.name or ("series " .. i), x = x, y = y, color = color, dash = s.dash and true }
  end
  return out
end

local function optional_string(fn, name, v)
  if v ~= nil and type(v) ~= "string" then fail(fn, "%s must be a string, got %s", name, type(v)) end
  return v
end

local function size(fn, name, v, default, least)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= math.floor(v) or v < least or v > 10000 then
    fail(fn, "%s must be a whole number of pixels in %d..10000, got %s", name, least, tostring(v))
  end
  return compat.tointeger(v)
end

------------------------------------------------------------------------
-- Drawing.

-- The legend's items ({text, colour, dashed}) in rows that fit in width:
-- a list of rows, each a list of {item, x offset}.
local function legend_rows(items, width)
  local rows, row, x = {}, nil, 0
  for _, it in ipairs(items) do
    local w = 28 + 7 * compat.utf8len(it[1]) + 18     -- swatch, text (about 7 px a character), gap
    if row == nil or (x + w - 18 > width and #row > 0) then
      row, x = {}, 0
      rows[#rows + 1] = row
    end
    row[#row + 1] = { it, x }
    x = x + w
  end
  return rows
end

-- The legend from (x, y), rows of swatches and names, in a group whose
-- data-box attribute gives the box it occupies (x y width height).
local function legend(add, items, x, y, width)
  local rows = legend_rows(items, width)
  add('<g class="legend" data-box="%s %s %s %s">', num(x), num(y), num(width), #rows * ROW)
  for r, row in ipairs(rows) do
    local mid = y + (r - 1) * ROW + ROW / 2
    for _, cell in ipairs(row) do
      local it, lx = cell[1], x + cell[2]
      add('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>',
          num(lx), num(mid), num(lx + 22), num(mid), it[2],
          it[2] == MARK_COLOR and "1.5" or "2", it[3] and ' stroke-dasharray="5 3"' or "")
      add('<text x="%s" y="%s">%s</text>', num(lx + 28), num(mid + 4), esc(it[1]))
    end
  end
  add('</g>')
end

-- One panel (a plot area with its axes, title, legend, lines and marks)
-- into `out`, a list of SVG strings, in the box (bx, by, bw, bh): the
-- title, the legend's rows, then the plot area.
-- p: {series, title, xlabel, ylabel, marks = {{x, label, at = {y = ...}}}},
-- id: unique within the document (clip path).
local function panel(out, p, bx, by, bw, bh, id)
  local xs, ys, integer = {}, {}, true
  for _, s in ipairs(p.series) do
    for j = 1, #s.y do
      if finite(s.x[j]) and finite(s.y[j]) then
        xs[#xs + 1], ys[#ys + 1] = s.x[j], s.y[j]
        if s.x[j] ~= math.floor(s.x[j]) then integer = false end
      end
    end
  end
  for _, m in ipairs(p.marks or {}) do
    xs[#xs + 1] = m.x
    if m.y then ys[#ys + 1] = m.y end
  end
  if #xs == 0 or #ys == 0 then xs, ys = { 0, 1 }, { 0, 1 } end   -- nothing finite to draw
  local xlo, xhi = min_max(xs)
  local ylo, yhi = min_max(ys)
  local x0, x1, xticks = axis(xlo, xhi, integer)
  local y0, y1, yticks = axis(ylo, yhi, false)
  local items = {}
  for _, s in ipairs(p.series) do items[#items + 1] = { s.name, s.color, s.dash } end
  for _, m in ipairs(p.marks or {}) do
    if m.label then items[#items + 1] = { m.label, MARK_COLOR, true } end
  end
  local aw = bw - LEFT - RIGHT
  local top = (p.title and TITLE or 6) + #legend_rows(items, aw) * ROW + 8
  local ax, ay = bx + LEFT, by + top
  local ah = bh - top - BOTTOM
  local function px(x) return ax + (x - x0) / (x1 - x0) * aw end
  local function py(y) return ay + ah - (y - y0) / (y1 - y0) * ah end
  local function add(fmt, ...) out[#out + 1] = string.format(fmt, ...) end

  add('<g class="panel">')
  if p.title then
    add('<text x="%s" y="%s" font-size="15" font-weight="bold" text-anchor="middle">%s</text>',
        num(bx + bw / 2), num(by + 20), esc(p.title))
  end
  -- grid and tick labels
  for _, t in ipairs(yticks) do
    local y = py(t.value)
    add('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>', num(ax), num(y), num(ax + aw), num(y), GRID_COLOR)
    add('<text x="%s" y="%s" text-anchor="end">%s</text>', num(ax - 6), num(y + 4), esc(t.label))
  end
  for _, t in ipairs(xticks) do
    local x = px(t.value)
    add('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>', num(x), num(ay), num(x), num(ay + ah), GRID_COLOR)
    add('<text x="%s" y="%s" text-anchor="middle">%s</text>', num(x), num(ay + ah + 16), esc(t.label))
  end
  add('<rect class="plot-area" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s" '
      .. 'data-x-range="%s %s" data-y-range="%s %s"/>',
      num(ax), num(ay), num(aw), num(ah), FRAME_COLOR, x0, x1, y0, y1)
  if p.xlabel then
    add('<text x="%s" y="%s" text-anchor="middle">%s</text>', num(ax + aw / 2), num(ay + ah + 36), esc(p.xlabel))
  end
  if p.ylabel then
    add('<text transform="translate(%s %s) rotate(-90)" text-anchor="middle">%s</text>',
        num(bx + 14), num(ay + ah / 2), esc(p.ylabel))
  end
  -- the lines, clipped to the plot area and the half line width around
  -- it (a value at the end of an axis is drawn whole)
  add('<clipPath id="clip%d"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>',
      id, num(ax - 2), num(ay - 2), num(aw + 4), num(ah + 4))
  add('<g clip-path="url(#clip%d)" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">', id)
  for _, m in ipairs(p.marks or {}) do
    add('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="5 4"/>',
        num(px(m.x)), num(ay), num(px(m.x)), num(ay + ah), MARK_COLOR)
  end
  for _, s in ipairs(p.series) do
    local d, pen = {}, "M"
    for j = 1, #s.y do
      if finite(s.x[j]) and finite(s.y[j]) then
        d[#d + 1] = pen .. num(px(s.x[j])) .. " " .. num(py(s.y[j]))
        pen = "L"
      else
        pen = "M"      -- a gap: NaN or infinity is not drawn
      end
    end
    if #d == 1 then    -- one point: a dot
      local cx, cy = d[1]:match("^M(%S+) (%S+)$")
      add('<circle cx="%s" cy="%s" r="2.5" fill="%s" stroke="none"/>', cx, cy, s.color)
    elseif #d > 1 then
      add('<path d="%s" stroke="%s"%s/>', table.concat(d, " "), s.color,
          s.dash and ' stroke-dasharray="7 4"' or "")
    end
  end
  for _, m in ipairs(p.marks or {}) do
    if m.y then
      add('<circle cx="%s" cy="%s" r="5" fill="none" stroke="%s" stroke-width="2"/>',
          num(px(m.x)), num(py(m.y)), MARK_COLOR)
    end
  end
  add('</g>')
  legend(add, items, ax, by + (p.title and TITLE or 6), aw)
  add('</g>')
end

-- The whole document around panels already drawn into body.
local function document(width, height, body)
  return table.concat({
    string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
                  .. 'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">', width, height, width, height),
    string.format('<rect width="%d" height="%d" fill="white"/>', width, height),
    table.concat(body, "\n"),
    "</svg>", "" }, "\n")
end

-- Write text to path whole or not at all, as every file the library
-- writes: a temporary file of a name of its own, created exclusively
-- beside it, synced and renamed over it (io/file.h).
local function write_file(fn, path, text)
  if type(path) ~= "string" then fail(fn, "path must be a string, got %s", type(path)) end
  local ok, err = core.internal.write_file(path, text)
  if not ok then fail(fn, "%s", err) end
end

local LINES_OPTIONS = { series = true, path = true, title = true, xlabel = true, ylabel = true,
                        width = true, height = true, marks = true }

local function check_marks(fn, marks)
  if marks == nil then return nil end
  if type(marks) ~= "table" then fail(fn, "marks must be a list of {x = ..., label = ...}, got %s", type(marks)) end
  for i, m in ipairs(marks) do
    local what = "marks[" .. i .. "]"
    if type(m) ~= "table" then fail(fn, "%s must be a table, got %s", what, type(m)) end
    check.options("backprop.plot." .. fn .. ": " .. what, m, { x = true, y = true, label = true })
    if not finite(m.x) then fail(fn, "%s.x must be a finite number, got %s", what, tostring(m.x)) end
    if m.y ~= nil and not finite(m.y) then fail(fn, "%s.y must be a finite number, got %s", what, tostring(m.y)) end
    optional_string(fn, what .. ".label", m.label)
  end
  return marks
end

--- A line chart of any series, as a standalone SVG document; returns
-- its text and, with path, writes it there (whole or not at all).
-- opts: series = {{y = {...}, x = {...} (default 1..#y), name = "...",
-- color = "#rrggbb", dash = true}, ...} (required); title, xlabel,
-- ylabel; width (720) and height (440) in pixels; marks = {{x = ...,
-- y = ..., label = "..."}}: a dashed vertical line at x (and a ring at
-- (x, y)), named in the legend. The axes run over whole round steps
-- (1, 2 or 5 times a power of ten) that cover every finite value; NaN
-- and infinite values leave a gap in their line.
function plot.lines(opts)
  local fn = "lines"
  if type(opts) ~= "table" then fail(fn, "expected a table of options, got %s", type(opts)) end
  check.options("backprop.plot." .. fn, opts, LINES_OPTIONS)
  local p = {
    series = check_series(fn, opts.series),
    title = optional_string(fn, "title", opts.title),
    xlabel = optional_string(fn, "xlabel", opts.xlabel),
    ylabel = optional_string(fn, "ylabel", opts.ylabel),
    marks = check_marks(fn, opts.marks),
  }
  local width = size(fn, "width", opts.width, 720, 200)
  local height = size(fn, "height", opts.height, 440, 150)
  local body = {}
  panel(body, p, 0, 0, width, height, 1)
  local svg = document(width, height, body)
  if opts.path ~= nil then write_file(fn, opts.path, svg) end
  return svg
end

------------------------------------------------------------------------
-- Training history.

-- history's own fields: every other list of numbers is a metric.
local OWN = { loss = true, val_loss = true, lr = true }

local function numbers(v)
  if type(v) ~= "table" or #v == 0 then return false end
  for i = 1, #v do
    if type(v[i]) ~= "number" then return false end
  end
  return true
end

-- The metric names of a history, in pairs: "accuracy" before
-- "val_accuracy", names sorted by what they measure.
local function metric_names(history)
  local names = {}
  for k, v in pairs(history) do
    if type(k) == "string" and not OWN[k] and numbers(v) then names[#names + 1] = k end
  end
  table.sort(names, function(a, b)
    local ba, bb = a:gsub("^val_", ""), b:gsub("^val_", "")
    if ba ~= bb then return ba < bb end
    return #a < #b
  end)
  return names
end

local function pretty(name)
  return (name:gsub("^val_(.*)$", "validation %1"):gsub("_", " "))
end

--- Training curves of a history (what fit returns) as an SVG file: the
-- training and validation loss, the best epoch marked (a dashed line and
-- a ring on the monitored loss, named in the legend); below, in a panel
-- of their own, every metric series the history holds (accuracy,
-- val_f1, ...), and the learning rate when it changed. Returns the SVG
-- text. opts: title, width (720), height (of each panel, 400).
function plot.history(history, path, opts)
  local fn = "history"
  if type(history) ~= "table" then fail(fn, "history must be the table fit returns, got %s", type(history)) end
  opts = check.options("backprop.plot." .. fn, opts, { title = true, width = true, height = true })
  if not numbers(history.loss) then fail(fn, "history.loss must be a non-empty list of numbers") end
  if path ~= nil and type(path) ~= "string" then fail(fn, "path must be a string, got %s", type(path)) end
  local width = size(fn, "width", opts.width, 720, 200)
  local height = size(fn, "height", opts.height, 400, 150)
  local title = optional_string(fn, "title", opts.title) or "Training"

  local best = history.best_epoch
  local monitored = numbers(history.val_loss) and history.val_loss or history.loss
  local function best_mark(on_loss)   -- on the loss panel: a ring, and the loss
    if not compat.isinteger(best) or monitored[best] == nil then return nil end
    local label = string.format("best epoch %d", best)
    if on_loss then
      label = string.format("%s (%s %.4g)", label, monitored == history.loss and "loss" or "val_loss",
                            monitored[best])
    end
    return { { x = best, y = on_loss and monitored[best] or nil, label = label } }
  end

  local panels = {}
  local losses = { { name = "training loss", y = history.loss } }
  if numbers(history.val_loss) then losses[2] = { name = "validation loss", y = history.val_loss } end
  panels[1] = { series = losses, title = title .. ": loss", xlabel = "epoch", ylabel = "loss",
                marks = best_mark(true) }
  local names = metric_names(history)
  if #names > 0 then
    local series = {}
    for i, name in ipairs(names) do series[i] = { name = pretty(name), y = history[name] } end
    panels[#panels + 1] = { series = series, title = title .. ": metrics", xlabel = "epoch",
                            marks = best_mark(false) }
  end
  if numbers(history.lr) then
    local lo, hi = min_max(history.lr)
    if lo ~= hi then
      panels[#panels + 1] = { series = { { name = "learning rate", y = history.lr } },
                              title = title .. ": learning rate", xlabel = "epoch", ylabel = "lr" }
    end
  end
  for _, p in ipairs(panels) do p.series = check_series(fn, p.series) end
  local body = {}
  for i, p in ipairs(panels) do panel(body, p, 0, (i - 1) * height, width, height, i) end
  local svg = document(width, height * #panels, body)
  if path then write_file(fn, path, svg) end
  return svg
end

return plot
