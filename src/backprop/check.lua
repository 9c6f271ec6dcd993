--- Argument checks shared by the Lua modules. Errors read like the C
-- binding's: "backprop.<function>: <what is wrong>", with no position
-- inside the library (the message names the function already).

local check = {}

function check.fail(fn, msg, ...)
  error(fn .. ": " .. string.format(msg, ...), 0)
end

local function pass(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

--- check.call(f, ...): f(...)'s results. A C function of the binding
-- called from a Lua module raises its error with the position of its Lua
-- caller, a line of this library; called through here, as it would be
-- when called from the user's script, without it.
function check.call(f, ...)
  return pass(pcall(f, ...))
end

function check.is_tensor(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "backprop.Tensor"
end

function check.tensor(fn, name, v)
  if not check.is_tensor(v) then
    check.fail(fn, "%s must be a backprop.Tensor, got %s", name, type(v))
  end
  return v
end

--- opts (nil or a table) with every key in the set `known`; an unknown
-- key, such as a typo like learning_rate, is an error. Returns opts or {}.
function check.options(fn, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then check.fail(fn, "options must be a table, got %s", type(opts)) end
  for key in pairs(opts) do
    if not known[key] then
      local names = {}
      for k in pairs(known) do names[#names + 1] = k end
      table.sort(names)
      check.fail(fn, "unknown option '%s' (expected one of: %s)", tostring(key),
                 table.concat(names, ", "))
    end
  end
  return opts
end

return check
