-- spec/types_spec.lua: the LuaLS annotations of types/ against the real
-- API and against docs/API.md.
--
-- 1. The files read cleanly (spec/luacats.lua), every @param line names
--    its function's parameter, every backprop.* type they use is declared.
-- 2. Every public name (each key of bp and of its tables, each method of
--    each object's metatable) has an annotation, and every annotation a
--    public name.
-- 3. Each annotated function allows exactly the calls docs/API.md's
--    tables show: the same parameter names, the same optional ones.
-- 4. Each option table's class has exactly the keys its function takes
--    (asked of the function itself: an unknown key's error lists them),
--    and the layer constructors' parameters are the registry's settings.
-- 5. The fields of optimizers, schedulers, scalers, histories and data
--    splits are the ones the objects have.
-- 6. lua-language-server --check, when it is installed, finds no problem
--    in a script using the API and finds a planted one.
--
-- Every failure says what to add or change, and where.

local L = require("luacats")
local S = require("shell")
local H = require("helper")
local bp = require("backprop")

local TYPES_DIR = "types"

-- docs/API.md writes methods on these receivers.
local RECEIVERS = {
  t = "backprop.Tensor", net = "backprop.Module", loss = "backprop.Loss", opt = "backprop.Optimizer",
  sched = "backprop.Scheduler", plateau = "backprop.ReduceLROnPlateau", scaler = "backprop.Scaler",
  history = "backprop.History",
}

-- Public-looking names that are not API (docs/API.md does not show them).
local NOT_API = {
  ["backprop.safetensors.install"] = "init.lua's hook that adds save_safetensors and load_safetensors to Module",
  ["backprop.ReduceLROnPlateau.is_better"] = "the helper of ReduceLROnPlateau:step",
}

-- Classes whose values are userdata (never a table literal in the docs).
local USERDATA = { ["backprop.Tensor"] = true, ["backprop.Module"] = true, ["backprop.Loss"] = true,
                   ["backprop.Optimizer"] = true }

local PROBE = "__types_spec_probe"

local function type_files()
  local files = {}
  for f in S.check("ls " .. TYPES_DIR .. "/*.lua"):gmatch("[^\n]+") do files[#files + 1] = f end
  return files
end

local db = L.read(type_files())

local function fail_if(problems, what)
  table.sort(problems)
  assert(#problems == 0, what .. " (" .. #problems .. "):\n  " .. table.concat(problems, "\n  "))
end

local function where(c) return c and (c.file .. ":" .. c.line) or TYPES_DIR .. "/" end

-- Whether class `name` or a class it descends from is in `set`.
local function descends(name, set)
  local seen = {}
  while name and not seen[name] do
    if set[name] then return true end
    seen[name] = true
    local c = db.classes[name]
    name = c and c.parent
  end
  return false
end

-- The alternatives of a type: "a|b?" -> {"a", "b", "nil"}.
local function alternatives(t)
  local out, depth, cur = {}, 0, {}
  local function flush()
    local a = table.concat(cur):gsub("^%s+", ""):gsub("%s+$", "")
    cur = {}
    if a:sub(-1) == "?" and not a:match("%[%]%??$") then
      out[#out + 1] = a:sub(1, -2)
      out[#out + 1] = "nil"
    elseif a ~= "" then
      out[#out + 1] = a
    end
  end
  for c in t:gmatch(".") do
    if c == "(" or c == "{" or c == "<" then depth = depth + 1 end
    if c == ")" or c == "}" or c == ">" then depth = depth - 1 end
    if c == "|" and depth == 0 then flush() else cur[#cur + 1] = c end
  end
  flush()
  return out
end

-- Whether a parameter of type t takes a table literal ({...} in the docs).
local function takes_table(t)
  for _, a in ipairs(alternatives(t)) do
    if a:match("%[%]$") or a:match("^{") or a:match("^table") then return true end
    if db.classes[a] and not descends(a, USERDATA) then return true end
  end
  return false
end

-- The option class of a parameter's type: its one backprop class that
-- takes a table, or nil.
local function option_class(t)
  for _, a in ipairs(alternatives(t)) do
    if db.classes[a] and not descends(a, USERDATA) then return a end
  end
  return nil
end

-- The annotation type of a value, to suggest in a message.
local function lua_type(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  if type(v) == "table" and #v > 0 then return lua_type(v[1]) .. "[]" end
  if type(v) == "number" and v == math.floor(v) then return "integer" end
  return type(v)
end

local function signature(name, def)
  local ps = {}
  for i, p in ipairs(def.params) do ps[i] = p.name .. (p.optional and "?" or "") end
  return ("%s(%s)"):format(name, table.concat(ps, ", "))
end

local function member_name(class, member, def)
  if class == "backprop" then return "bp." .. member end
  if class:match("^backprop%.[a-z_]+$") then return "bp." .. class:match("^backprop%.(.*)$") .. "." .. member end
  return class .. (def and def.method and ":" or ".") .. member
end

-- The runtime: what require("backprop") gives ---------------------------------

local net = bp.Sequential { bp.Linear(2, 2) }
local X, Y = bp.randn(8, 2), bp.randn(8, 2)

-- The objects whose names are API, and the class each one's names belong
-- to. `module`: a table of functions and fields (every key is API);
-- otherwise a method table (its functions not starting with _ are API).
local function objects()
  local opt = bp.SGD(net)
  local step = bp.lr_scheduler.StepLR(opt, { step_size = 1 })
  local plateau = bp.lr_scheduler.ReduceLROnPlateau(opt)
  local history = net:fit(X, Y, { loss = bp.MSELoss(), optimizer = opt, progress = false, warnings = false })
  local _, opt_methods = debug.getupvalue(getmetatable(opt).__index, 1)
  if type(opt_methods) ~= "table" then
    -- Lua 5.1's debug library does not show a C function's upvalues:
    -- the method table registered in loptim.c instead.
    opt_methods = {}
    local f = assert(io.open("src/lua/loptim.c", "r"))
    local src = f:read("*a"):match("luaL_Reg methods%[%] = (%b{})") or ""
    f:close()
    for name in src:gmatch('{"([%w_]+)",') do opt_methods[name] = opt[name] end
  end
  return {
    { name = "bp", class = "backprop", t = bp, module = true },
    { name = "bp.data", class = "backprop.data", t = bp.data, module = true },
    { name = "bp.metrics", class = "backprop.metrics", t = bp.metrics, module = true },
    { name = "bp.plot", class = "backprop.plot", t = bp.plot, module = true },
    { name = "bp.lr_scheduler", class = "backprop.lr_scheduler", t = bp.lr_scheduler, module = true },
    { name = "bp.checkpoint", class = "backprop.checkpoint", t = bp.checkpoint, module = true },
    { name = "bp.safetensors", class = "backprop.safetensors", t = bp.safetensors, module = true },
    { name = "a tensor's methods (bp.Tensor)", class = "backprop.Tensor", t = bp.Tensor },
    { name = "a module's methods (bp.Module)", class = "backprop.Module", t = getmetatable(net).__index },
    { name = "a loss's methods", class = "backprop.Loss", t = getmetatable(bp.MSELoss()).__index },
    { name = "an optimizer's methods", class = "backprop.Optimizer", t = opt_methods },
    { name = "a scheduler's methods", class = "backprop.Scheduler", t = getmetatable(step) },
    { name = "ReduceLROnPlateau's methods", class = "backprop.ReduceLROnPlateau", t = getmetatable(plateau) },
    { name = "a scaler's methods", class = "backprop.Scaler", t = getmetatable(bp.data.standardize(bp.randn(4, 2))) },
    { name = "a history's methods", class = "backprop.History", t = getmetatable(history).__index },
  }
end

-- The error message of f(...), or nil when it does not fail.
local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return nil end
  return tostring(err)
end

-- The keys an error about the unknown option PROBE lists ("unknown option
-- '...' (expected one of: a, b)" or "(it takes no options)"), in its order;
-- nil if the message is not one.
local function listed(msg)
  if not msg then return nil end
  if msg:find("unknown option '" .. PROBE .. "' (it takes no options)", 1, true) then return {} end
  local list = msg:match("unknown option '" .. PROBE .. "' %(expected one of: (.-)%)$")
  if not list then return nil end
  local keys = {}
  for k in list:gmatch("[^,%s]+") do keys[#keys + 1] = k end
  return keys
end

local function listed_keys(msg)
  local keys = listed(msg)
  if keys then table.sort(keys) end
  return keys
end

local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

-- docs/API.md against the annotations -----------------------------------------

local function token_matches(token, param)
  if token == "{}" then return takes_table(param.type) end
  return token == param.name
end

local function shape_matches(shape, params)
  if #shape ~= #params then return false end
  for i = 1, #params do
    if not token_matches(shape[i], params[i]) then return false end
  end
  return true
end

-- The calls a def allows, each as its list of parameters.
local function def_calls(def)
  local calls = {}
  for _, shape in ipairs(L.def_shapes(def)) do
    local ps = {}
    for i = 1, #shape do ps[i] = def.params[i] end
    calls[#calls + 1] = ps
  end
  return calls
end

local function names_of(params)
  local n = {}
  for i, p in ipairs(params) do n[i] = p.name end
  return table.concat(n, ", ")
end

-- Problems between one function's annotated defs and the docs' forms of
-- it. `extra`: defs the docs need not show (a layer's settings by name).
local function compare(problems, class, fname, defs, docs, extra)
  local calls, shown = {}, {}
  for _, d in ipairs(defs) do
    if not extra[d] then
      for _, ps in ipairs(def_calls(d)) do calls[#calls + 1] = { params = ps, def = d } end
    end
  end
  local annotated = {}
  for _, d in ipairs(defs) do annotated[#annotated + 1] = signature(fname, d) end
  for _, f in ipairs(docs) do
    shown[#shown + 1] = "`" .. f.text .. "` (line " .. f.line .. ")"
    for _, shape in ipairs(f.shapes) do
      local found = false
      for _, c in ipairs(calls) do found = found or shape_matches(shape, c.params) end
      if not found then
        problems[#problems + 1] = ("docs/API.md:%d shows `%s`, a call with (%s), which no annotation of %s " ..
          "allows (annotated: %s; %s): give a definition exactly these parameters, named as the docs name " ..
          "them (a {...} in the docs is a parameter whose type is a table), `?` after the optional ones")
          :format(f.line, f.text, table.concat(shape, ", "), member_name(class, fname, defs[1]),
                  table.concat(annotated, ", "), where({ file = defs[1].file, line = defs[1].line }))
      end
    end
  end
  for _, c in ipairs(calls) do
    local found = false
    for _, f in ipairs(docs) do
      for _, shape in ipairs(f.shapes) do found = found or shape_matches(shape, c.params) end
      for _, shape in ipairs(f.maybe) do found = found or shape_matches(shape, c.params) end
    end
    if not found then
      problems[#problems + 1] = ("%s:%d: %s allows the call (%s), which docs/API.md does not show (it shows " ..
        "%s): name the parameters as the docs do and put `?` only on the ones the docs write in [brackets] " ..
        "(or add the form to the docs' first column)")
        :format(c.def.file, c.def.line, signature(member_name(class, fname, c.def), c.def), names_of(c.params),
                table.concat(shown, ", "))
    end
  end
  return problems
end

-- Layer constructors ------------------------------------------------------------

-- The functions of bp that make one layer: annotated as returning a
-- backprop.Module, containers and bp.load aside.
local NOT_LAYERS = { Sequential = true, Residual = true, load = true }
local function layer_names()
  local names = {}
  for _, fname in ipairs(db.classes.backprop and db.classes.backprop.order or {}) do
    local defs = db.classes.backprop.funcs[fname]
    if not NOT_LAYERS[fname] and defs[1].returns[1] == "backprop.Module" then names[#names + 1] = fname end
  end
  return names
end

local function is_options_def(def, nreq)
  local last = def.params[#def.params]
  return #def.params == nreq + 1 and last and not last.name:match("^%.") and option_class(last.type) ~= nil
end

-- The settings of layer `name`, asked of its constructor: the required
-- ones in order (each missing one is named by the error), then the
-- optional ones (an unknown option's error lists them, in order).
local function layer_settings(name)
  local f, args, required = bp[name], {}, {}
  for k = 1, 16 do
    local err = error_of(f, unpack(args, 1, k - 1))
    if not err then break end
    local arg = err:match("^backprop%." .. name .. ": ([%w_]+) must be")
    if not arg then return nil, ("bp.%s with %d arguments: %s"):format(name, k - 1, err) end
    required[#required + 1] = arg
    args[k] = 3
  end
  args[#required + 1] = { [PROBE] = true }
  local err = error_of(f, unpack(args, 1, #required + 1)) or ""
  local optional = listed(err)
  if not optional and (err:match("takes at most") or err:match("takes no arguments")) then
    optional = {}     -- no optional settings: the table is one argument too many
  end
  if not optional then
    return nil, ("bp.%s(%s, {...}): %s"):format(name, table.concat(required, ", "), err)
  end
  return required, optional
end

-- The defs of the layers' settings-by-name form (the docs say so once, in
-- "More layers"): what the docs comparison lets pass.
local function layer_option_defs()
  local extra = {}
  for _, name in ipairs(layer_names()) do
    local required = layer_settings(name)
    for _, d in ipairs(db.classes.backprop.funcs[name]) do
      if required and is_options_def(d, #required) then extra[d] = true end
    end
  end
  return extra
end

-- Option tables -------------------------------------------------------------------

-- The annotated class at `at`: "class:member(param)" (that parameter of
-- every definition that has it) or "class.field". Returns the class name
-- or nil and why.
local function class_at(at)
  local class, member, param = at:match("^([%w_.]+):([%w_]+)%(([%w_]+)%)$")
  if class then
    local c = db.classes[class]
    local defs = c and c.funcs[member]
    if not defs then return nil, class .. "." .. member .. " is not annotated" end
    for _, d in ipairs(defs) do
      for _, p in ipairs(d.params) do
        if p.name == param then
          local oc = option_class(p.type)
          if oc then return oc end
          return nil, ("%s:%d: parameter %s of %s has no options class in its type (%s): give it a " ..
            "---@class with one ---@field per key"):format(d.file, d.line, param, member, p.type)
        end
      end
    end
    return nil, ("%s.%s has no parameter '%s'"):format(class, member, param)
  end
  local cls, field = at:match("^([%w_.]+)%.([%w_]+)$")
  local f = cls and L.all_fields(db, cls)[field]
  if not f then return nil, at .. " is not annotated" end
  local oc = option_class((f.type:gsub("%[%]", "")))
  if not oc then return nil, ("%s:%d: field %s (%s) has no options class in its type"):format(f.file, f.line, at, f.type) end
  return oc
end

-- A probe's place as the docs write it: "backprop.Module:fit(options)"
-- -> "net:fit(options)", "backprop.data:split(opts)" -> "bp.data.split(opts)".
local function shown(at)
  for r, class in pairs(RECEIVERS) do
    if at:sub(1, #class + 1) == class .. ":" then return r .. ":" .. at:sub(#class + 2) end
  end
  return (at:gsub("^backprop:", "bp."):gsub("^backprop%.([a-z_]+):", "bp.%1."))
end

-- An options table with one key no function takes.
local function probe() return { [PROBE] = true } end

local function with(t, k, v)
  local c = {}
  for a, b in pairs(t) do c[a] = b end
  c[k] = v
  return c
end

-- Each option table: where it is annotated and a call that passes `opts`
-- (with an unknown key) where it goes.
local function option_probes(tmp)
  local small = bp.Sequential { bp.Linear(2, 1) }
  local opt = bp.SGD(net)
  local fit = { loss = bp.MSELoss(), optimizer = opt, progress = false, warnings = false }
  local history = net:fit(X, Y, fit)
  local csv = tmp .. "/probe.csv"
  local f = assert(io.open(csv, "w"))
  f:write("a,b\n1,2\n3,4\n")
  f:close()
  local p, c = bp.tensor({ 0.2, 0.8, 0.6, 0.1 }), bp.tensor({ 0, 1, 1, 0 })
  local list = {
    { "backprop.Module:fit(options)", function(o) return net:fit(X, Y, o) end },
    { "backprop.FitOptions.early_stopping", function(o) return net:fit(X, Y, with(fit, "early_stopping", o)) end },
    { "backprop.FitOptions.clip_grad_norm", function(o) return net:fit(X, Y, with(fit, "clip_grad_norm", o)) end },
    { "backprop.Module:explain(options)", function(o) return small:explain({ 1, 2 }, 0.5, bp.MSELoss(), o) end },
    { "backprop.Module:save(metadata)", function(o) return net:save(tmp .. "/probe.bp", o) end },
    { "backprop.Module:set_metadata(metadata)", function(o) return bp.Sequential { bp.Linear(2, 2) }:set_metadata(o) end },
    { "backprop.Module:save_safetensors(opts)", function(o) return net:save_safetensors(tmp .. "/p.st", o) end },
    { "backprop.Module:load_safetensors(opts)", function(o) return net:load_safetensors(tmp .. "/p.st", o) end },
    { "backprop.Module:export_onnx(options)", function(o) return net:export_onnx(tmp .. "/p.onnx", o) end },
    { "backprop.History:plot(opts)", function(o) return history:plot(nil, o) end },
    { "backprop.data:read_csv(opts)", function(o) return bp.data.read_csv(csv, o) end },
    { "backprop.data:split(opts)", function(o) return bp.data.split(X, Y, o) end },
    { "backprop.data:kfold(opts)", function(o) return bp.data.kfold(X, Y, 2, o) end },
    { "backprop.data:batches(opts)", function(o) return bp.data.batches(X, Y, 2, o) end },
    { "backprop.plot:lines(opts)", function(o) return bp.plot.lines(o) end },
    { "backprop.PlotLinesOptions.series", function(o) return bp.plot.lines { series = { with(o, "y", { 1, 2 }) } } end },
    { "backprop.PlotLinesOptions.marks",
      function(o) return bp.plot.lines { series = { { y = { 1, 2 } } }, marks = { with(o, "x", 1) } } end },
    { "backprop.plot:history(opts)", function(o) return bp.plot.history(history, nil, o) end },
    { "backprop.checkpoint:restore(into)", function(o) return bp.checkpoint.restore({ net = net }, o) end },
  }
  for _, name in ipairs({ "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "confusion_matrix" }) do
    list[#list + 1] = { "backprop.metrics:" .. name .. "(opts)", function(o) return bp.metrics[name](p, c, o) end }
  end
  -- Every loss, optimizer and scheduler constructor the annotations know.
  for _, fname in ipairs(db.classes.backprop.order) do
    local r = db.classes.backprop.funcs[fname][1].returns[1]
    if r == "backprop.Loss" then
      list[#list + 1] = { "backprop:" .. fname .. "(opts)", function(o) return bp[fname](o) end }
    elseif r and descends(r, { ["backprop.Optimizer"] = true }) then
      list[#list + 1] = { "backprop:" .. fname .. "(opts)", function(o) return bp[fname](net, o) end }
    end
  end
  for _, fname in ipairs(db.classes["backprop.lr_scheduler"].order) do
    list[#list + 1] = { "backprop.lr_scheduler:" .. fname .. "(opts)",
                        function(o) return bp.lr_scheduler[fname](opt, o) end }
  end
  -- The layers' settings by name.
  for _, name in ipairs(layer_names()) do
    local required, optional = layer_settings(name)
    if required and optional and #optional > 0 then
      list[#list + 1] = { "backprop:" .. name .. "(opts)", function(o)
        local args = {}
        for i = 1, #required do args[i] = 3 end
        args[#required + 1] = o
        return bp[name](unpack(args, 1, #required + 1))
      end }
    end
  end
  return list
end

-- Fields of objects ------------------------------------------------------------

-- Problems between an object's keys and class `class`'s annotated fields.
-- `keys`: {key = value}; a key the class does not annotate is allowed
-- when the class has a [string] index field and allow_index says so.
local function field_problems(problems, what, class, keys, allow_index)
  local fields = L.all_fields(db, class)
  local c = db.classes[class]
  if not c then
    problems[#problems + 1] = ("%s: its annotated class %s is not declared"):format(what, class)
    return
  end
  for k, v in pairs(keys) do
    if not fields[k] and not (allow_index and c.index and type(v) == "table") then
      problems[#problems + 1] = ("%s has a field '%s' (a %s) that class %s lacks: add `---@field %s %s " ..
        "<what it holds>` under ---@class %s (%s)"):format(what, k, type(v), class, k, lua_type(v), class, where(c))
    end
  end
  for k, f in pairs(fields) do
    if keys[k] == nil and not f.optional then
      problems[#problems + 1] = ("%s:%d: field %s of class %s is not optional, but %s has none: remove it or " ..
        "write `%s?`"):format(f.file, f.line, k, class, what, k)
    end
  end
end

-- The minimal options of each scheduler (its required ones).
local SCHEDULER_OPTS = {
  StepLR = { step_size = 2 }, MultiStepLR = { milestones = { 2 } }, ExponentialLR = { gamma = 0.5 },
  CosineAnnealingLR = { T_max = 3 }, ReduceLROnPlateau = {},
}

describe("types/ (LuaLS annotations)", function()
  it("reads cleanly: every line understood, every parameter annotated, every type declared", function()
    local problems = {}
    for _, e in ipairs(db.errors) do problems[#problems + 1] = e end
    local function check_type(t, at)
      for _, name in ipairs(L.type_names(t)) do
        if not db.classes[name] and not db.aliases[name] then
          problems[#problems + 1] = ("%s: type %s is not declared: add ---@class %s (or ---@alias) or fix the name")
            :format(at, name, name)
        end
      end
    end
    for _, c in pairs(db.classes) do
      if c.parent then check_type(c.parent, where(c)) end
      for fname, f in pairs(c.fields) do check_type(f.type, f.file .. ":" .. f.line .. " (field " .. fname .. ")") end
      for _, ix in ipairs(c.index or {}) do check_type(ix.type, where(c)) end
      for _, defs in pairs(c.funcs) do
        for _, d in ipairs(defs) do
          for _, p in ipairs(d.params) do check_type(p.type, d.file .. ":" .. d.line) end
          for _, r in ipairs(d.returns) do check_type(r, d.file .. ":" .. d.line) end
        end
      end
    end
    fail_if(problems, "problems in the annotation files")
  end)

  it("annotates every public name, and only those", function()
    local problems, known, objs = {}, {}, objects()
    for _, o in ipairs(objs) do known[o.t] = o end
    for _, o in ipairs(objs) do
      local c = db.classes[o.class]
      if not c then
        problems[#problems + 1] = ("%s has no class: add ---@class %s (with a `local x = {}` below it) to a file of %s/")
          :format(o.name, o.class, TYPES_DIR)
      else
        for k, v in pairs(o.t) do
          local key = tostring(k)
          local full = o.class .. "." .. key
          local public = o.module or (type(v) == "function" and not key:match("^_"))
          if public and not NOT_API[full] then
            if type(v) == "function" then
              if not c.funcs[key] then
                problems[#problems + 1] = ("%s.%s is a function without an annotation: add to %s its " ..
                  "description, ---@param and ---@return lines and `function %s%s%s(...) end`")
                  :format(o.name, key, c.var and where(c) or TYPES_DIR .. "/ (under a `local` of ---@class " ..
                          o.class .. ")", c.var or "x", o.module and "." or ":", key)
              end
            elseif not c.fields[key] then
              problems[#problems + 1] = ("%s.%s (a %s) has no annotation: add `---@field %s %s <what it is>` " ..
                "under ---@class %s (%s)"):format(o.name, key, type(v), key, lua_type(v), o.class, where(c))
            end
            if type(v) == "table" and o.module and not known[v] and not (v == bp.Tensor or v == bp.Module) then
              problems[#problems + 1] = ("%s.%s is a table of its own: add it to objects() in spec/types_spec.lua " ..
                "(name, class = \"%s.%s\", module = true) and annotate that class"):format(o.name, key, o.class, key)
            end
          end
        end
        for fname, defs in pairs(c.funcs) do
          if type(o.t[fname]) ~= "function" then
            problems[#problems + 1] = ("%s:%d: %s.%s is annotated but %s has no such function: remove it (or " ..
              "add the function)"):format(defs[1].file, defs[1].line, o.class, fname, o.name)
          end
        end
        if o.module then
          for fname, f in pairs(c.fields) do
            if o.t[fname] == nil then
              problems[#problems + 1] = ("%s:%d: field %s.%s is annotated but %s.%s is nil: remove it")
                :format(f.file, f.line, o.class, fname, o.name, fname)
            end
          end
        end
      end
    end
    -- Functions on a class nothing maps to would go unchecked.
    local mapped = {}
    for _, o in ipairs(objs) do mapped[o.class] = true end
    for name, c in pairs(db.classes) do
      if next(c.funcs) and not mapped[name] then
        problems[#problems + 1] = ("%s: class %s has functions, but objects() in spec/types_spec.lua maps no " ..
          "runtime table to it: add one"):format(where(c), name)
      end
    end
    fail_if(problems, "public names and annotations differ")
  end)


  it("allows exactly the calls docs/API.md shows (parameter names, optional ones)", function()
    local forms, problems = L.doc_forms("docs/API.md", RECEIVERS)
    local by = {}
    for _, f in ipairs(forms) do
      local key = f.class .. "\0" .. f.member
      by[key] = by[key] or {}
      table.insert(by[key], f)
      local c = db.classes[f.class]
      if not (c and c.funcs[f.member]) then
        problems[#problems + 1] = ("docs/API.md:%d shows `%s`, which no annotation declares: add it (class %s, " ..
          "%s) or fix the docs"):format(f.line, f.text, f.class, where(c))
      end
    end
    local extra = layer_option_defs()
    for _, o in ipairs(objects()) do
      local c = db.classes[o.class]
      for _, fname in ipairs(c and c.order or {}) do
        local defs, docs = c.funcs[fname], by[o.class .. "\0" .. fname]
        if NOT_API[o.class .. "." .. fname] then
          problems[#problems + 1] = ("%s:%d: %s is annotated but is not API (%s): remove it, or take it out " ..
            "of NOT_API in spec/types_spec.lua and document it"):format(defs[1].file, defs[1].line,
            o.class .. "." .. fname, NOT_API[o.class .. "." .. fname])
        elseif not docs then
          problems[#problems + 1] = ("%s:%d: %s is annotated, but no table of docs/API.md shows a call of it: " ..
            "add a row whose first column is the call, e.g. `%s`"):format(defs[1].file, defs[1].line,
            member_name(o.class, fname, defs[1]), signature(member_name(o.class, fname, defs[1]), defs[1]))
        else
          compare(problems, o.class, fname, defs, docs, extra)
        end
      end
    end
    fail_if(problems, "annotations and docs/API.md differ")
  end)

  it("gives each layer constructor the registry's settings, positionally and by name", function()
    local problems = {}
    for _, name in ipairs(layer_names()) do
      local required, optional = layer_settings(name)
      local defs = db.classes.backprop.funcs[name]
      if not required then
        problems[#problems + 1] = "could not ask for its settings: " .. optional
      else
        local want = {}
        for _, r in ipairs(required) do want[#want + 1] = r end
        for _, o in ipairs(optional) do want[#want + 1] = o .. "?" end
        local positional, named, others = nil, nil, {}
        for _, d in ipairs(defs) do
          local got = {}
          for i, p in ipairs(d.params) do got[i] = p.name .. (p.optional and "?" or "") end
          if table.concat(got, ", ") == table.concat(want, ", ") then
            positional = d
          elseif #optional > 0 and is_options_def(d, #required) then
            named = d
            local fields, keys = L.all_fields(db, option_class(d.params[#d.params].type)), {}
            for k, f in pairs(fields) do
              keys[#keys + 1] = k .. (f.optional and "?" or "")
            end
            table.sort(keys)
            local sorted = {}
            for i, o in ipairs(optional) do sorted[i] = o .. "?" end
            table.sort(sorted)
            if table.concat(keys, ", ") ~= table.concat(sorted, ", ") then
              problems[#problems + 1] = ("%s:%d: bp.%s's settings by name are {%s}, its options class has {%s}")
                :format(d.file, d.line, name, table.concat(sorted, ", "), table.concat(keys, ", "))
            end
          else
            others[#others + 1] = d
          end
        end
        if not positional then
          problems[#problems + 1] = ("%s:%d: bp.%s takes (%s) (its settings in src/core/nn/, required first): " ..
            "annotate `function bp.%s(%s) end` with one ---@param each, `?` on the optional ones")
            :format(defs[1].file, defs[1].line, name, table.concat(want, ", "), name,
                    (table.concat(want, ", "):gsub("%?", "")))
        end
        if #optional > 0 and not named then
          problems[#problems + 1] = ("%s:%d: bp.%s also takes its optional settings by name, in a table after " ..
            "the required ones: add `function bp.%s(%sopts) end` with `---@param opts backprop.<Name>Options`, " ..
            "a class with the fields %s"):format(defs[1].file, defs[1].line, name, name,
            #required > 0 and table.concat(required, ", ") .. ", " or "", table.concat(optional, "?, ") .. "?")
        end
        for _, d in ipairs(others) do
          problems[#problems + 1] = ("%s:%d: %s is neither bp.%s's settings (%s) nor their by-name form")
            :format(d.file, d.line, signature("bp." .. name, d), name, table.concat(want, ", "))
        end
      end
    end
    fail_if(problems, "layer constructors and their annotations differ")
  end)

  it("gives each option table's class exactly the keys its function takes", function()
    local tmp = H.tmpdir()
    local problems = {}
    local ok, err = pcall(function()
      for _, pr in ipairs(option_probes(tmp)) do
        local at, call = pr[1], pr[2]
        local class, why = class_at(at)
        local msg = error_of(call, probe())
        at = shown(at)
        local keys = listed_keys(msg)
        if not class then
          problems[#problems + 1] = at .. ": " .. why
        elseif not keys then
          problems[#problems + 1] = ("could not ask %s for its options (an unknown key should be an error " ..
            "listing the known ones): %s"):format(at, tostring(msg))
        else
          local fields, takes = L.all_fields(db, class), {}
          local c = db.classes[class]
          for _, k in ipairs(keys) do
            takes[k] = true
            if not fields[k] then
              problems[#problems + 1] = ("%s takes the option '%s', which class %s lacks: add `---@field %s? " ..
                "<type> <what it does> (<default>)` under ---@class %s (%s)"):format(at, k, class, k, class, where(c))
            end
          end
          for k, f in pairs(fields) do
            if not takes[k] then
              problems[#problems + 1] = ("%s:%d: class %s has the field '%s', which %s does not take: remove it")
                :format(f.file, f.line, class, k, at)
            end
          end
        end
      end
    end)
    H.rmtree(tmp)
    assert(ok, err)
    fail_if(problems, "option classes and the options functions take differ")
  end)

  it("gives optimizers, schedulers, scalers, histories and data splits the fields they have", function()
    local problems = {}
    for _, fname in ipairs(db.classes.backprop.order) do
      local r = db.classes.backprop.funcs[fname][1].returns[1]
      if r and descends(r, { ["backprop.Optimizer"] = true }) then
        local o = bp[fname](net)
        local keys = { lr = o.lr, steps = o.steps }
        for _, k in ipairs(listed_keys(error_of(bp[fname], net, probe())) or {}) do keys[k] = o[k] end
        field_problems(problems, "bp." .. fname .. "(net)", r, keys)
        for k in pairs(L.all_fields(db, r)) do
          if o[k] == nil then
            problems[#problems + 1] = ("class %s has the field '%s', but bp.%s(net).%s is nil: remove it")
              :format(r, k, fname, k)
          end
        end
      end
    end
    local opt = bp.SGD(net)
    for _, fname in ipairs(db.classes["backprop.lr_scheduler"].order) do
      local r = db.classes["backprop.lr_scheduler"].funcs[fname][1].returns[1]
      if not SCHEDULER_OPTS[fname] then
        problems[#problems + 1] = ("bp.lr_scheduler.%s: add its required options to SCHEDULER_OPTS in " ..
          "spec/types_spec.lua"):format(fname)
      else
        local s, keys = bp.lr_scheduler[fname](opt, SCHEDULER_OPTS[fname]), {}
        for k, v in pairs(s) do
          if type(v) ~= "function" and not tostring(k):match("^_") then keys[k] = v end
        end
        field_problems(problems, "bp.lr_scheduler." .. fname .. "(opt, ...)", r, keys)
      end
    end
    local scaler = bp.data.standardize(bp.randn(4, 2))
    field_problems(problems, "a scaler (bp.data.standardize)", "backprop.Scaler", scaler)
    local history = net:fit(X, Y, { loss = bp.MSELoss(), optimizer = bp.SGD(net), epochs = 4, progress = false,
                                     warnings = false, validation = { X, Y }, metrics = { "mae" },
                                     early_stopping = { patience = 1 }, restore_best = true })
    field_problems(problems, "fit's history", "backprop.History", history, true)
    local train = bp.data.split(X, Y, { seed = 1 })
    field_problems(problems, "a part of bp.data.split", "backprop.DataPart", train)
    fail_if(problems, "object fields and their annotations differ")
  end)

  local luals = S.run("command -v lua-language-server")
  if not luals then
    pending("lua-language-server --check of a script using the API: lua-language-server is not installed " ..
            "(Debian 12 has no package of it, nor does npm)")
  else
    it("lua-language-server --check finds no problem in a script using the API, and finds a planted one", function()
      local tmp = H.tmpdir()
      local function check(code)
        local dir = tmp .. "/ws" .. tostring(#code)
        S.check("mkdir -p " .. S.q(dir))
        H.write(dir .. "/.luarc.json", ('{"runtime.version": "Lua 5.4", "workspace.library": [%q]}')
          :format(S.root .. "/" .. TYPES_DIR))
        H.write(dir .. "/main.lua", code)
        local _, _, out = S.run(("cd %s && timeout 300 lua-language-server --check=%s --checklevel=Warning " ..
          "--logpath=%s"):format(S.q(dir), S.q(dir), S.q(tmp .. "/log")))
        return out
      end
      local good = table.concat({
        'local bp = require("backprop")',
        'local net = bp.Sequential{bp.Linear(4, 8), bp.ReLU(), bp.Linear(8, 1)}',
        'local X, Y = bp.randn(64, 4), bp.randn(64, 1)',
        'local h = net:fit(X, Y, {loss = bp.MSELoss(), optimizer = bp.Adam(net, {lr = 1e-3}), epochs = 2})',
        'print(h.loss[1], bp.metrics.rmse(net:forward(X), Y), bp.data.standardize(X).mean:numel())',
      }, "\n") .. "\n"
      local out = check(good)
      assert(out:find("no problems found", 1, true), out)
      out = check(good .. 'net:fitt(X, Y, {})\nbp.Linear("4", 8)\n')
      assert(not out:find("no problems found", 1, true), out)
      H.rmtree(tmp)
    end)
  end
end)
