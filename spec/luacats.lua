-- spec/luacats.lua: reads the LuaLS annotation files of types/ and the
-- signatures docs/API.md shows, for spec/types_spec.lua (require("luacats")).
--
-- It reads the subset of LuaCATS those files use, line by line, and
-- refuses anything else (so a line it would misread is an error, not a
-- silent gap):
--
--   ---@meta [name]           ---@alias name [type]   ---| "value" # text
--   ---@class name[: parent]  ---@field name[?] type [text]
--   ---@field [key] type       ---@operator ...        ---@diagnostic ...
--   ---@param name[?] type     ---@return type [name] [text]
--   ---@overload fun(a: T, b?: U): R
--   local v = {}              (binds v to the @class just above it)
--   function v.f(a, b) end    function v:f(a, ...) end
--   return v
--
-- A function defined twice (the way LuaLS recommends for definition
-- files) has two signatures; so does one with an @overload.

local M = {}

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Types ----------------------------------------------------------------------

-- The end of the balanced group opened at s[i] (one of ( { < [), or nil.
local CLOSE = { ["("] = ")", ["{"] = "}", ["<"] = ">", ["["] = "]" }
local function balanced(s, i)
  local stack, j = {}, i
  while j <= #s do
    local c = s:sub(j, j)
    if CLOSE[c] then
      stack[#stack + 1] = CLOSE[c]
    elseif c == stack[#stack] then
      stack[#stack] = nil
      if #stack == 0 then return j end
    elseif c == '"' then                 -- a string literal: skip it
      j = s:find('"', j + 1, true)
      if not j then return nil end
    end
    j = j + 1
  end
  return nil
end

local scan_type

-- One type without unions: a name, a literal, fun(...)[: R], {...},
-- (...), with <...> and [] and ? after it. Returns its end, or nil.
local function scan_primary(s, i)
  local j
  if s:find("^fun%(", i) then
    j = balanced(s, i + 3)
    if not j then return nil end
    local k = s:find("^%s*:%s*", j + 1)
    if k then
      local _, e = s:find("^%s*:%s*", j + 1)
      local r = scan_type(s, e + 1)
      if not r then return nil end
      j = r
    end
  elseif s:find("^[{(]", i) then
    j = balanced(s, i)
  elseif s:find('^"', i) then
    j = s:find('"', i + 1, true)
  else
    local _, e = s:find("^[%a_][%w_.]*%*?", i)
    j = e
    if j and s:sub(j + 1, j + 1) == "<" then j = balanced(s, j + 1) end
  end
  if not j then return nil end
  while true do
    if s:sub(j + 1, j + 2) == "[]" then
      j = j + 2
    elseif s:sub(j + 1, j + 1) == "?" then
      j = j + 1
    else
      return j
    end
  end
end

-- A type, unions included, starting at i. Returns the index of its last
-- character, or nil when there is none.
function scan_type(s, i)
  local j = scan_primary(s, i)
  while j do
    local _, e = s:find("^%s*|%s*", j + 1)
    if not e then return j end
    j = scan_primary(s, e + 1)
  end
  return nil
end

--- s's leading type and the rest (trimmed), or nil.
function M.split_type(s)
  s = trim(s)
  local j = scan_type(s, 1)
  if not j then return nil end
  return s:sub(1, j), trim(s:sub(j + 1))
end

--- The names of backprop's classes and aliases a type refers to.
function M.type_names(t)
  local names = {}
  for name in t:gmatch("backprop[%w_.]*") do names[#names + 1] = name end
  return names
end

-- The parameters of a fun(...) type's list: {name =, type =, optional =}.
local function fun_params(list)
  local params, depth, cur = {}, 0, {}
  local function flush()
    local p = trim(table.concat(cur))
    cur = {}
    if p == "" then return true end
    local name, q, t = p:match("^([%a_][%w_]*)(%??)%s*:%s*(.+)$")
    if not name then
      name, t = p:match("^(%.%.%.)%s*:%s*(.+)$")
      q = ""
    end
    if not name then return false end
    params[#params + 1] = { name = name, optional = q == "?", type = trim(t) }
    return true
  end
  for c in list:gmatch(".") do
    if c == "(" or c == "{" or c == "<" then depth = depth + 1 end
    if c == ")" or c == "}" or c == ">" then depth = depth - 1 end
    if c == "," and depth == 0 then
      if not flush() then return nil end
    else
      cur[#cur + 1] = c
    end
  end
  if not flush() then return nil end
  return params
end

-- Annotation files -----------------------------------------------------------

local function class_of(db, name, file, line)
  local c = db.classes[name]
  if not c then
    c = { name = name, fields = {}, funcs = {}, order = {}, file = file, line = line }
    db.classes[name] = c
  end
  return c
end

--- Reads the annotation files at `paths` into
--   db.classes[name] = {name, parent, fields = {[name] = field}, funcs =
--     {[name] = {def, ...}}, order = {fname, ...}, index = {{key, type}},
--     var (the local standing for it), file, line}
--     field = {type, optional, file, line}
--     def = {params = {{name, type, optional}}, returns = {type...},
--            method = bool, file, line}
--   db.aliases[name] = true
--   db.errors = {"types/x.lua:12: what is wrong", ...}
function M.read(paths)
  local db = { classes = {}, aliases = {}, errors = {} }
  for _, path in ipairs(paths) do
    local f = assert(io.open(path, "r"))
    local text = f:read("*a")
    f:close()
    local vars = {}              -- local variable -> class, in this file
    local block = nil            -- the annotations above the next code line
    local n = 0
    local function err(msg, ...)
      db.errors[#db.errors + 1] = ("%s:%d: %s"):format(path, n, msg:format(...))
    end
    local function fresh()
      return { params = {}, returns = {}, overloads = {}, class = nil, field_class = nil }
    end
    for line in (text .. "\n"):gmatch("(.-)\r?\n") do
      n = n + 1
      local tag, rest = line:match("^%-%-%-@(%w+)%s*(.-)%s*$")
      if tag then
        block = block or fresh()
        if tag == "meta" or tag == "operator" or tag == "diagnostic" then
          -- nothing to record
        elseif tag == "class" then
          local name, parent = rest:match("^([%w_.]+)%s*:%s*([%w_.]+)$")
          name = name or rest:match("^([%w_.]+)$")
          if not name then
            err("cannot read '---@class %s' (expected ---@class name or name: parent)", rest)
          else
            local c = class_of(db, name, path, n)
            if parent then c.parent = parent end
            block.class, block.field_class = c, c
          end
        elseif tag == "field" then
          local c = block.field_class
          if not c then err("---@field outside a ---@class block (put it under its ---@class line)") end
          local key, tail = rest:match("^%[(.-)%]%s+(.*)$")
          if key then
            local t = M.split_type(tail)
            if not t then err("cannot read the type of '---@field [%s] %s'", key, tail) end
            if c then c.index = c.index or {}; c.index[#c.index + 1] = { key = key, type = t } end
          else
            local name, q, tail2 = rest:match("^([%a_][%w_]*)(%??)%s+(.*)$")
            local t = name and M.split_type(tail2)
            if not t then
              err("cannot read '---@field %s' (expected ---@field name[?] type [description])", rest)
            elseif c then
              if c.fields[name] then err("field %s.%s is annotated twice", c.name, name) end
              c.fields[name] = { type = t, optional = q == "?", file = path, line = n }
            end
          end
        elseif tag == "param" then
          local name, q, tail = rest:match("^([%a_][%w_]*)(%??)%s+(.*)$")
          if not name then name, q, tail = rest:match("^(%.%.%.)()%s+(.*)$"); q = "" end
          local t = name and M.split_type(tail)
          if not t then
            err("cannot read '---@param %s' (expected ---@param name[?] type [description])", rest)
          else
            block.params[#block.params + 1] = { name = name, optional = q == "?", type = t }
          end
        elseif tag == "return" then
          local t = M.split_type(rest)
          if not t then err("cannot read the type of '---@return %s'", rest) end
          block.returns[#block.returns + 1] = t
        elseif tag == "overload" then
          local list, after = rest:match("^fun(%b())%s*(.*)$")
          local params = list and fun_params(list:sub(2, -2))
          if not params then
            err("cannot read '---@overload %s' (expected fun(name: type, ...): type)", rest)
          else
            local ret = after:match("^:%s*(.+)$")
            block.overloads[#block.overloads + 1] = { params = params, returns = { ret and M.split_type(ret) } }
          end
        elseif tag == "alias" then
          local name = rest:match("^([%w_.]+)")
          if not name then err("cannot read '---@alias %s'", rest) else db.aliases[name] = true end
        else
          err("---@%s is not one of the annotations this reader knows (spec/luacats.lua)", tag)
        end
      elseif line:match("^%-%-%-") or line:match("^%-%-") or line:match("^%s*$") then
        -- a description, a comment or a blank line; a blank line ends a block
        if line:match("^%s*$") then block = nil end
      else
        local var = line:match("^local%s+([%a_][%w_]*)%s*=%s*{}%s*$")
        local tv, sep, fname, args = line:match("^function%s+([%a_][%w_]*)([.:])([%a_][%w_]*)%s*%((.-)%)%s*end%s*$")
        if var then
          if not (block and block.class) then
            err("'local %s = {}' needs a ---@class line above it (the class it stands for)", var)
          else
            vars[var] = block.class
            block.class.var = block.class.var or var
          end
        elseif tv then
          local c = vars[tv]
          if not c then
            err("function %s%s%s: '%s' is not a table declared here with ---@class above 'local %s = {}'",
                tv, sep, fname, tv, tv)
          else
            local params = block and block.params or {}
            local names = {}
            for a in args:gmatch("[^,%s]+") do names[#names + 1] = a end
            local same = #names == #params
            for i = 1, #names do same = same and params[i] and params[i].name == names[i] end
            if not same then
              local want = {}
              for i, p in ipairs(params) do want[i] = p.name end
              err("function %s%s%s(%s): its ---@param lines name (%s); give every parameter one ---@param " ..
                  "line, in order", tv, sep, fname, args, table.concat(want, ", "))
            end
            c.funcs[fname] = c.funcs[fname] or {}
            if not c.order[fname] then c.order[#c.order + 1] = fname; c.order[fname] = true end
            local defs = c.funcs[fname]
            defs[#defs + 1] = { params = params, returns = block and block.returns or {},
                                method = sep == ":", file = path, line = n }
            for _, o in ipairs(block and block.overloads or {}) do
              local ps = o.params
              if sep == ":" and ps[1] and ps[1].name == "self" then table.remove(ps, 1) end
              defs[#defs + 1] = { params = ps, returns = o.returns, method = sep == ":", file = path,
                                  line = n, overload = true }
            end
          end
        elseif not line:match("^return%s+[%a_][%w_]*%s*$") then
          err("unexpected line: %s", line)
        end
        block = nil
      end
    end
  end
  return db
end

--- The fields of class `name` and of its parents: {[field] = field}.
function M.all_fields(db, name)
  local out, seen = {}, {}
  local c = db.classes[name]
  while c and not seen[c] do
    seen[c] = true
    for k, v in pairs(c.fields) do
      if out[k] == nil then out[k] = v end
    end
    c = c.parent and db.classes[c.parent]
  end
  return out
end

-- Call shapes ----------------------------------------------------------------
-- A shape is one way to call a function: the list of its arguments'
-- names, "{}" for a table literal (docs/API.md writes option tables as
-- {...}), "..." for a variable number of arguments.

local function shape_key(shape) return table.concat(shape, ", ") end

--- The shapes an annotated signature allows: every prefix that keeps the
-- required parameters ("name?" marks an optional one).
function M.def_shapes(def)
  local params, last_required = def.params, 0
  for i, p in ipairs(params) do
    if not p.optional then last_required = i end
  end
  local shapes = {}
  for k = last_required, #params do
    local s = {}
    for i = 1, k do s[i] = params[i].name end
    shapes[#shapes + 1] = s
  end
  return shapes
end

-- docs/API.md ----------------------------------------------------------------

-- The items of a documented argument list, with the bracket group each is
-- in: "[start,] stop [, step]" -> start (group 1), stop, step (group 2).
local function doc_items(args)
  local items, groups, stack = {}, {}, { 0 }
  local cur, brace = {}, 0
  local function flush()
    local text = trim(table.concat(cur))
    cur = {}
    if text ~= "" then items[#items + 1] = { text = text, group = stack[#stack] } end
  end
  for c in args:gmatch(".") do
    if brace > 0 then
      cur[#cur + 1] = c
      if c == "{" then brace = brace + 1 elseif c == "}" then brace = brace - 1 end
    elseif c == "{" then
      brace = 1
      cur[#cur + 1] = c
    elseif c == "[" then
      flush()
      groups[#groups + 1] = stack[#stack]          -- its parent
      stack[#stack + 1] = #groups
    elseif c == "]" then
      flush()
      stack[#stack] = nil
      if #stack == 0 then return nil, "unbalanced ]" end
    elseif c == "," then
      flush()
    else
      cur[#cur + 1] = c
    end
  end
  flush()
  if #stack ~= 1 or brace ~= 0 then return nil, "unbalanced brackets" end
  return items, groups
end

-- The shapes of a documented argument list ("n [, seed]" -> {n} and
-- {n, seed}); a list with "..." anywhere outside braces is the one shape
-- {"..."}. Returns nil and why for what it cannot read.
local function doc_shapes(args)
  local items, groups = doc_items(args)
  if not items then return nil, groups end
  for _, it in ipairs(items) do
    if it.text == "..." then return { { "..." } } end
  end
  local tokens = {}
  for i, it in ipairs(items) do
    if it.text:match("^{.*}$") then
      tokens[i] = "{}"
    elseif it.text:match("^[%a_][%w_]*$") then
      tokens[i] = it.text
    else
      return nil, "cannot read the argument '" .. it.text .. "'"
    end
  end
  -- Every set of groups that includes each chosen group's parent.
  local shapes, seen = {}, {}
  for mask = 0, 2 ^ #groups - 1 do
    local on, ok = { [0] = true }, true
    local m = mask
    for g = 1, #groups do
      on[g] = m % 2 == 1
      m = (m - m % 2) / 2
    end
    for g = 1, #groups do
      if on[g] and not on[groups[g]] then ok = false end
    end
    if ok then
      local s = {}
      for i, it in ipairs(items) do
        if on[it.group] then s[#s + 1] = tokens[i] end
      end
      local key = shape_key(s)
      if not seen[key] then
        seen[key] = true
        shapes[#shapes + 1] = s
      end
    end
  end
  return shapes
end

--- The calls docs/API.md's tables show in their first column, as
-- {class =, member =, shapes =, maybe =, text =, line =}: `bp.data.split(X,
-- Y [, opts])` is member split of class backprop.data; `net:fit(...)` is
-- member fit of receivers[net]. A call written as f{...} takes one table
-- (shape {"{}"}) and may also take none (maybe: the shape {}). Rows whose
-- code is not a call (`#t`, `tostring(t)`, `opt.lr`) are skipped. Returns
-- the list and a list of problems (calls it could not read).
function M.doc_forms(path, receivers)
  local forms, problems = {}, {}
  local n = 0
  for line in io.lines(path) do
    n = n + 1
    local first = line:match("^|%s*(.-)%s*|") or ""
    if line:match("^|%s*%-") then first = "" end
    for span in first:gmatch("`([^`]+)`") do
      local callee, open = span:match("^([%w_.:]+)%s*([%({])")
      if callee and (callee:match("^bp%.") or callee:find(":", 1, true)) then
        local class, member
        local recv, m = callee:match("^([%a_][%w_]*):([%a_][%w_]*)$")
        if recv then
          class, member = receivers[recv], m
          if not class then
            problems[#problems + 1] = ("docs/API.md:%d: `%s`: unknown receiver '%s' (add it to RECEIVERS in " ..
                                       "spec/types_spec.lua, with its class)"):format(n, span, recv)
          end
        else
          local parts = {}
          for p in callee:gmatch("[^.]+") do parts[#parts + 1] = p end
          member = table.remove(parts)
          parts[1] = "backprop"
          class = table.concat(parts, ".")
        end
        local start = #span:match("^[%w_.:]+%s*")
        local close = balanced(span, start + 1)
        if class and not close then
          problems[#problems + 1] = ("docs/API.md:%d: `%s`: unbalanced %s"):format(n, span, open)
        elseif class then
          local form = { class = class, member = member, text = span, line = n }
          if open == "{" then
            form.shapes, form.maybe = { { "{}" } }, { {} }
          else
            local shapes, why = doc_shapes(span:sub(start + 2, close - 1))
            if not shapes then
              problems[#problems + 1] = ("docs/API.md:%d: `%s`: %s"):format(n, span, why)
            end
            form.shapes, form.maybe = shapes, {}
          end
          if form.shapes then forms[#forms + 1] = form end
        end
      end
    end
  end
  return forms, problems
end

M.shape_key = shape_key

return M
