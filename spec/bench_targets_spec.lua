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

  it("bench/ours/threads.lua trains each net with 1 and 2 threads to the same weights", function()
    local dir = S.check(S.tools .. " mktemp -d"):gsub("\n$", "")
    local out = S.check(("cd %s && %s BENCH_DIR=%s BENCH_THREAD_ROWS=256 BENCH_THREAD_ROUNDS=1 %s bench/ours/threads.lua")
      :format(S.q(S.root), S.inplace, S.q(dir), S.lua), "bench/ours/threads.lua")
    os.execute(S.tools .. " rm -rf " .. S.q(dir))
    for _, w in ipairs({ "threads_mlp", "threads_wide" }) do
      local c1 = out:match("workload=" .. w .. " name=backprop metric=%S+ value=%S+ check=(%S+)")
      local c2 = out:match("workload=" .. w .. " name=backprop%-2T metric=%S+ value=%S+ check=(%S+)")
      assert.truthy(c1 and c2, w .. " missing from:\n" .. out)
      assert.equal(c1, c2)
    end
  end)

  it("bench/ours/overhead.lua times a fit call and an epoch's gather beside their baselines", function()
    local dir = S.check(S.tools .. " mktemp -d"):gsub("\n$", "")
    local out = ""
    for _, w in ipairs({ "fit_call", "index_float32", "index_uint8" }) do
      out = out .. S.check(("cd %s && %s BENCH_DIR=%s BENCH_CALLS=10 BENCH_INDEX_ROWS=64 %s bench/ours/overhead.lua %s")
        :format(S.q(S.root), S.inplace, S.q(dir), S.lua, w), "bench/ours/overhead.lua " .. w)
    end
    os.execute(S.tools .. " rm -rf " .. S.q(dir))
    for _, want in ipairs({ "workload=fit_call name=backprop ", "workload=fit_call name=backprop%-train_step ",
                            "workload=index_float32 name=memcpy%-new ", "workload=index_uint8 name=memcpy " }) do
      assert.truthy(out:find(want), want .. " missing from:\n" .. out)
    end
  end)

  it("make bench-conv runs bench/conv.lua", function()
    local out = make("bench-conv BENCH_ROUNDS=1")
    assert.truthy(out:find("ratio CNN / MLP:", 1, true), out)
  end)
end)
