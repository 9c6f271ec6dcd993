---@meta _
-- backprop.Tensor: the tensor userdata and its methods (docs/API.md,
-- "Tensors"). Arithmetic and comparisons give new tensors; views share
-- their base's storage.

---A row-major tensor of 1 to 8 dimensions, float32 (the default) or
---uint8. `t[i]` is row `i` (a view; the element of a 1-D tensor), `#t`
---the size of the first dimension; `+ - * / ^` work elementwise with
---numpy broadcasting, or with a number on either side.
---@class backprop.Tensor
---@field [integer] backprop.Tensor|number
---@operator add(backprop.Tensor|number): backprop.Tensor
---@operator sub(backprop.Tensor|number): backprop.Tensor
---@operator mul(backprop.Tensor|number): backprop.Tensor
---@operator div(backprop.Tensor|number): backprop.Tensor
---@operator pow(backprop.Tensor|number): backprop.Tensor
---@operator unm: backprop.Tensor
---@operator len: integer
local Tensor = {}

-- Inspection and elements ----------------------------------------------------

---Table of sizes, `{2, 3}`.
---@return integer[]
function Tensor:shape() end

---Number of dimensions.
---@return integer
function Tensor:dim() end

---Number of elements.
---@return integer
function Tensor:numel() end

---`"float32"` or `"uint8"`.
---@return backprop.Dtype
function Tensor:dtype() end

---The element at 1-based indices, one per dimension: `t:get(2, 3)`.
---@param ... integer
---@return number
function Tensor:get(...) end

---Sets one element, the indices then the value: `t:set(2, 3, 0.5)`.
---Returns `t`.
---@param ... number
---@return backprop.Tensor
function Tensor:set(...) end

---Nested Lua table of the values.
---@return table
function Tensor:totable() end

-- Views ----------------------------------------------------------------------

---Elements `start .. start+len-1` along `dim` (a view).
---@param dim integer
---@param start integer
---@param len integer
---@return backprop.Tensor
function Tensor:narrow(dim, start, len) end

---The slice at index `i` along `dim`, that dimension removed (a view); for
---a 1-D tensor, the element as a number.
---@param dim integer
---@param i integer
---@return backprop.Tensor|number
function Tensor:select(dim, i) end

---The same elements with another shape: `t:reshape(2, -1)`. One size may
---be -1, inferred.
---@param ... integer
---@return backprop.Tensor
function Tensor:reshape(...) end

---The same elements with the shape in a table: `t:reshape({2, -1})`.
---@param sizes integer[]
---@return backprop.Tensor
function Tensor:reshape(sizes) end

-- Arithmetic and maths -------------------------------------------------------

---`t + u`, elementwise with broadcasting.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:add(u) end

---`t - u`.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:sub(u) end

---`t * u`, elementwise (see `matmul` for the matrix product).
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:mul(u) end

---`t / u`.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:div(u) end

---`t ^ u`.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:pow(u) end

---`exp` of each element.
---@return backprop.Tensor
function Tensor:exp() end

---Natural `log` of each element (`log(0)` is `-inf`).
---@return backprop.Tensor
function Tensor:log() end

---Square root of each element.
---@return backprop.Tensor
function Tensor:sqrt() end

---Absolute value of each element.
---@return backprop.Tensor
function Tensor:abs() end

---Each value limited to `[min, max]`; either bound may be nil.
---@param min number|nil
---@param max number|nil
---@return backprop.Tensor
function Tensor:clamp(min, max) end

---Matrix product: 2-D x 2-D, 2-D x 1-D, 1-D x 2-D, or the dot product of
---two vectors (a number).
---@param u backprop.Tensor
---@return backprop.Tensor|number
function Tensor:matmul(u) end

-- Comparisons: uint8 masks of 0 and 1 ----------------------------------------

---`t > u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:gt(u) end

---`t < u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:lt(u) end

---`t >= u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:ge(u) end

---`t <= u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:le(u) end

---`t == u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:eq(u) end

---`t ~= u` elementwise: a uint8 mask.
---@param u backprop.Tensor|number
---@return backprop.Tensor
function Tensor:ne(u) end

-- Reductions -----------------------------------------------------------------

---The sum of all elements (a number), or a tensor of sums along `dim`
---(kept as size 1 with `keepdim`). Accumulates in double precision.
---@param dim? integer
---@param keepdim? boolean
---@return number|backprop.Tensor
function Tensor:sum(dim, keepdim) end

---The mean of all elements, or a tensor of means along `dim`.
---@param dim? integer
---@param keepdim? boolean
---@return number|backprop.Tensor
function Tensor:mean(dim, keepdim) end

---Without `dim`, the largest value; with it, the values and their 1-based
---positions along `dim`: `local v, i = scores:max(2)`.
---@param dim? integer
---@param keepdim? boolean
---@return number|backprop.Tensor values
---@return backprop.Tensor? positions
function Tensor:max(dim, keepdim) end

---Without `dim`, the smallest value; with it, the values and their
---1-based positions along `dim`.
---@param dim? integer
---@param keepdim? boolean
---@return number|backprop.Tensor values
---@return backprop.Tensor? positions
function Tensor:min(dim, keepdim) end

---Without `dim`, the 1-based flat position of the first maximum; with it,
---a tensor of positions along `dim` (`scores:argmax(2)`: each row's class).
---@param dim? integer
---@param keepdim? boolean
---@return integer|backprop.Tensor
function Tensor:argmax(dim, keepdim) end

---As `argmax`, for the minimum.
---@param dim? integer
---@param keepdim? boolean
---@return integer|backprop.Tensor
function Tensor:argmin(dim, keepdim) end

-- Copies and element types ---------------------------------------------------

---Transpose of a 2-D tensor (a copy). float32 only.
---@return backprop.Tensor
function Tensor:t() end

---An independent contiguous copy, same element type.
---@return backprop.Tensor
function Tensor:clone() end

---Copies `src` into `t` in place (broadcast, types converted); returns `t`.
---@param src backprop.Tensor|number
---@return backprop.Tensor
function Tensor:copy(src) end

---Sets every element to `v` in place; returns `t`.
---@param v number
---@return backprop.Tensor
function Tensor:fill(v) end

---The slices at `ids` along `dim`, a new tensor: `X:index(1, {3, 1})`.
---@param dim integer
---@param ids integer[]|backprop.Tensor 1-based indices.
---@return backprop.Tensor
function Tensor:index(dim, ids) end

---A float32 copy; `t` itself if it is float32 already.
---@return backprop.Tensor
function Tensor:float() end

---A uint8 copy (truncated toward zero, saturated to 0..255); `t` itself if
---it is uint8 already.
---@return backprop.Tensor
function Tensor:byte() end

---Releases the storage now (also `local t <close> = ...`).
function Tensor:close() end
