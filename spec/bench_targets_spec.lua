-- spec/bench_targets_spec.lua: the benchmarks that `make bench` does not run
-- still build and run (`make bench-core`, `make bench-conv`), at their
-- shortest; their numbers are not looked at here.

local S = require("shell")

local function make(args)
  return S.check(("cd %s && %s make -s --no-print-directory %s"):format(S.q(S.root), S.tools, args), "make " .. args)
end

describe("benchmark targets", function()
  it("make bench-core builds bench/core_hot.c and runs it", function()
    local out = make("bench-core BENCH_SECONDS=0.01")
    for _, what in ipairs({ "classic 30-16-1, batch 1:", "classic 30-16-1, batch 32:", "game 16-32-32-4 forward" }) do
      assert.truthy(out:find(what, 1, true), what .. " missing from:\n" .. out)
    end
  end)

  it("make bench-conv runs bench/conv.lua", function()
    local out = make("bench-conv BENCH_ROUNDS=1")
    assert.truthy(out:find("ratio CNN / MLP:", 1, true), out)
  end)
end)
