---@meta _
-- bp.plot (docs/API.md, "Plots").

---`bp.plot`: line charts as standalone SVG files, written whole or not at all.
---@class backprop.plot
local plot = {}

---A chart of any series: returns the SVG text and, with `path`, writes it
---there. `bp.plot.lines{series = {{name = "sin", y = ys}}, path = "sin.svg"}`.
---@param opts backprop.PlotLinesOptions
---@return string svg
function plot.lines(opts) end

---The curves of a `fit` history: the losses with the best epoch marked,
---the metrics, and the learning rate when it changed. Returns the SVG
---text; `path` may be nil.
---@param history backprop.History
---@param path string|nil
---@param opts? backprop.PlotHistoryOptions
---@return string svg
function plot.history(history, path, opts) end

---Options of `bp.plot.lines`.
---@class backprop.PlotLinesOptions
---@field series backprop.PlotSeries[] Required, not empty.
---@field path? string Where to write the SVG.
---@field title? string
---@field xlabel? string
---@field ylabel? string
---@field width? integer In pixels (720).
---@field height? integer In pixels (440).
---@field marks? backprop.PlotMark[] Dashed vertical lines, named in the legend.

---One line of a chart.
---@class backprop.PlotSeries
---@field y number[] Required; NaN and infinite values leave a gap.
---@field x? number[] Default `1..#y`.
---@field name? string In the legend ("series i").
---@field color? string `"#rrggbb"` (matplotlib's tab10 order).
---@field dash? boolean A dashed line.

---A mark: a dashed vertical line at `x`, a ring at `(x, y)` when `y` is given.
---@class backprop.PlotMark
---@field x number
---@field y? number
---@field label? string

---Options of `bp.plot.history` and `history:plot`.
---@class backprop.PlotHistoryOptions
---@field title? string ("Training")
---@field width? integer In pixels (720).
---@field height? integer Of each panel, in pixels (400).
