-- The fused small-batch forward (src/core/nn/net.c, bp_small_fwd_act):
-- Linear followed by Sigmoid or Tanh, for batches up to 4, runs as one
-- kernel that must give the same bits as the two layers one after the
-- other (Linear alone, then the activation alone), on every ISA.
local H = require("helper")

local script = [[
  package.path, package.cpath = %q, %q
  local bp = require("backprop")
  local internal = require("backprop.core").internal
  if %q ~= "" then internal.set_isa(%q) end
  bp.manual_seed(5)
  local bad, cases = 0, 0
  for _, act in ipairs{"Tanh", "Sigmoid"} do
    for _, nin in ipairs{1, 7, 16, 30, 33} do
      for _, nout in ipairs{1, 3, 4, 5, 8, 9, 16, 17, 32, 33} do
        local lin, a = bp.Linear(nin, nout), bp[act]()
        local net = bp.Sequential{bp.Linear(nin, nout), bp[act]()}
        local p = lin:parameters()
        local q = net:parameters()
        for i = 1, 2 do q[i]:copy(p[i]) end
        for _, n in ipairs{1, 3, 4} do
          local x = bp.randn(n, nin):mul(3)
          local want = a:forward(lin:forward(x))
          local got = net:forward(x)
          local w, g = require("helper").flat(want), require("helper").flat(got)
          cases = cases + 1
          for i = 1, #w do
            if w[i] ~= g[i] then bad = bad + 1; break end
          end
        end
      end
    end
  end
  io.write(cases, " ", bad)
]]
local lua = require("shell").lua   -- the interpreter under test

local function run(env_isa, set_isa)
  local code = string.format(script, package.path, package.cpath, set_isa, set_isa)
  local p = assert(io.popen(string.format("BACKPROP_ISA=%s %s -e %q", env_isa, lua, code)))
  local text = p:read("*a")
  p:close()
  local cases, bad = text:match("^(%d+) (%d+)$")
  return tonumber(cases), tonumber(bad), text
end

describe("fused Linear + activation forward", function()
  -- BACKPROP_ISA picks the small kernels' path (read once per process);
  -- set_isa then moves vmath alone, so the mixed cases run too.
  for _, env in ipairs{"portable", "avx2", "avx512"} do
    for _, set in ipairs{"", "portable"} do
      it(string.format("equals Linear then the activation bit for bit (BACKPROP_ISA=%s%s)",
                       env, set ~= "" and ", vmath " .. set or ""), function()
        local cases, bad, text = run(env, set)
        assert.are.equal(2 * 5 * 10 * 3, cases, text)
        assert.are.equal(0, bad, "cases that differ")
      end)
    end
  end
end)
