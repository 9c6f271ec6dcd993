-- bench/run.lua: the benchmark driver behind `make bench` (issue 4).
--
-- Runs every workload with backprop and with each baseline, every run a
-- separate process under build/bench/rss (which measures its peak memory),
-- and prints one table: each baseline's figure, how many times faster
-- backprop was in the same run, peak RSS, and the loss / accuracy / output
-- checksum each run reached, so speed never hides a wrong answer. The
-- classic and game workloads also run our program under LuaJIT
-- (backprop-luajit, with build/luajit/): the same library on both Luas.
-- On a CPU with AVX-512, every workload where the instruction set matters
-- runs ours again with BACKPROP_ISA=avx2 (backprop-avx2 rows), the path of
-- machines without it.
--
-- Programs print lines "RESULT workload=... name=... metric=... value=...
-- [acc=...] [loss=...] [check=...] [reps=...] rss_kb=... [note=rest of line]"
-- or "SKIP workload=... name=... note=...". Missing tools are skipped with a
-- note, never faked.
--
-- Environment (all optional):
--   BENCH_ONLY=classic,overhead,game,fmnist,optim,threads,cnn,gemm,csv   workloads to run (default: all)
--   BENCH_CLASSIC_EPOCHS=100  BENCH_EPOCHS=2 (Fashion-MNIST)
--   BENCH_GAME_CALLS=200000 in BENCH_GAME_ROUNDS=100 (the best round counts)
--   BENCH_MIN_TIME=1 (s of repetitions, classic)
--   BENCH_TORCH_THREADS=1,2 (Fashion-MNIST; the small nets run 1 thread)
--   BENCH_PYTHON=/usr/bin/python3  BENCH_FMNIST=/usr/share/datasets/fashion-mnist
--   BENCH_CSV_MB=100 (size of the generated CSV file)
--   BENCH_THREAD_ROWS=12800 BENCH_THREAD_ROUNDS=3 (threads)
--   BENCH_CNN_ROWS=6400 BENCH_CNN_EPOCHS=2 (cnn)
--   BENCH_REPEAT=1 (the classic workloads: every program that many times in
--   turn, each one's best kept: load that comes and goes then hits every
--   program alike)
--   BENCH_MARKDOWN=1 (also print the table as Markdown)  BENCH_KEEP=1 (keep
--   the exchange files)

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local ROOT = here .. "/.."
local BIN = ROOT .. "/build/bench"
local LUA = os.getenv("LUA") or "lua5.4"
local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)                  -- stdout of a shell command, trimmed
  local f = io.popen(cmd)
  local out = f:read("a")
  f:close()
  return (out:gsub("%s+$", ""))
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

local function has_command(name)
  return sh("command -v " .. q(name) .. " 2>/dev/null") ~= ""
end

local function log(fmt, ...)
  io.stderr:write(string.format(fmt, ...), "\n")
  io.stderr:flush()
end

local only = {}
for w in (os.getenv("BENCH_ONLY") or "classic,overhead,game,fmnist,optim,threads,cnn,gemm,csv"):gmatch("[^,%s]+") do only[w] = true end

local load_start = sh("cut -d' ' -f1-3 /proc/loadavg 2>/dev/null")
local DIR = sh("mktemp -d \"${TMPDIR:-/tmp}/backprop-bench.XXXXXX\"")
assert(DIR ~= "", "mktemp failed")
local ENV = "BENCH_DIR=" .. q(DIR) .. " "

-- Baseline availability, checked once.
local have = {
  fann = exists(BIN .. "/fann"),
  luajit = has_command("luajit"),
  torch = os.execute(q(PYTHON) .. " -c 'import torch' >/dev/null 2>&1") == true,
  gemm = exists(BIN .. "/gemm"),
  genann = exists(BIN .. "/genann"),
  rss = exists(BIN .. "/rss"),
}
local why_not = {
  fann = "FANN baseline not built (needs libfann-dev; `make bench` builds build/bench/fann)",
  luajit = "luajit not installed",
  torch = PYTHON .. " cannot import torch (python3-torch)",
  genann = "build/bench/genann is missing (make bench builds it from bench/baselines/genann.c)",
}

local function fields(line)
  local r, note = {}, line:match(" note=(.*)$")
  if note then line = line:sub(1, #line - #note - 6) end
  for k, v in line:gmatch("([%w_]+)=(%S+)") do r[k] = tonumber(v) or v end
  r.note = note
  return r
end

-- Runs one program; returns its RESULT/SKIP records (at least one).
local results = {}
local function run(workload, name, argv, env)
  local rssfile = DIR .. "/rss.txt"
  local errfile = DIR .. "/stderr.txt"
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = q(a) end
  local cmd = table.concat(parts, " ")
  if have.rss then cmd = q(BIN .. "/rss") .. " " .. q(rssfile) .. " " .. cmd end
  cmd = (env or "") .. ENV .. cmd .. " 2>" .. q(errfile)
  os.remove(rssfile)
  log("bench: %-12s %-16s ...", workload, name)
  local f = io.popen(cmd)
  local out = f:read("a")
  local ok, _, code = f:close()
  local got = {}
  for line in out:gmatch("[^\n]+") do
    local kind = line:match("^(RESULT) ") or line:match("^(SKIP) ")
    if kind then
      local r = fields(line)
      r.kind = kind
      r.workload = r.workload or workload
      r.name = r.name or name
      got[#got + 1] = r
    elseif line:match("^gemm ") then   -- bench/gemm.c's own format
      local r = fields(line)
      r.kind, r.shape = "GEMM", line:match("^gemm (%S+)")
      r.workload, r.name = workload, name
      got[#got + 1] = r
    end
  end
  local rss = tonumber(sh("cat " .. q(rssfile) .. " 2>/dev/null"))
  for _, r in ipairs(got) do r.rss_kb = rss or r.rss_kb end
  if not ok or #got == 0 then
    local err = sh("tail -n 3 " .. q(errfile) .. " 2>/dev/null"):gsub("%s*\n%s*", " | ")
    got = {{kind = "SKIP", workload = workload, name = name,
            note = string.format("failed (exit %s): %s", tostring(code), err)}}
  end
  for _, r in ipairs(got) do results[#results + 1] = r end
  return got
end

local function skip(workload, name, note)
  results[#results + 1] = {kind = "SKIP", workload = workload, name = name, note = note}
end

-- Exchange files: our initial weights, the standardized data, the order.
log("bench: exporting initial weights and data order to %s", DIR)
assert(os.execute(ENV .. q(LUA) .. " " .. q(here .. "/ours/export.lua")), "bench/ours/export.lua failed")

local function lua_baselines(workload, script, arg1)
  run(workload, "lua5.4", {"lua5.4", here .. "/baselines/" .. script, arg1})
  if have.luajit then
    run(workload, "luajit", {"luajit", here .. "/baselines/" .. script, arg1})
  else
    skip(workload, "luajit", why_not.luajit)
  end
end

-- Our program again, under LuaJIT with its own build (build/luajit/, and
-- net:forward's FFI path): the same library on both Luas, same run.
local JIT_ENV = "LUA_CPATH=" .. q(ROOT .. "/build/luajit/?.so;;") .. " "
local function ours_luajit(workload, script, arg1)
  if not (have.luajit and exists(ROOT .. "/build/luajit/backprop/core.so")) then
    return skip(workload, "backprop-luajit", "needs luajit and build/luajit/backprop/core.so (make LUA=luajit)")
  end
  for _, r in ipairs(run(workload, "backprop-luajit", {"luajit", here .. "/ours/" .. script, arg1}, JIT_ENV)) do
    if r.kind == "RESULT" then r.name, r.note = "backprop-luajit", "LuaJIT 2.1: " .. (r.note or "") end
  end
end

-- Our program again with BACKPROP_ISA=avx2 (issue 12: the machines of
-- most players have AVX2 but not AVX-512), its rows named backprop-avx2
-- (and backprop-avx2-2T): skipped where AVX2 is already the default.
local DEFAULT_ISA = sh("LUA_CPATH=" .. q(ROOT .. "/build/?.so;;") .. " " .. q(LUA) ..
  " -e 'print((require(\"backprop.core\").internal.isa()))' 2>/dev/null")
local function ours_avx2(workload, argv, keep)
  if DEFAULT_ISA ~= "avx512" then
    return skip(workload, "backprop-avx2", "AVX2 is this CPU's own path (" ..
      (DEFAULT_ISA ~= "" and DEFAULT_ISA or "unknown") .. "): the backprop row")
  end
  local got = run(workload, "backprop-avx2", argv, "BACKPROP_ISA=avx2 ")
  for i = #got, 1, -1 do
    local r = got[i]
    if keep and r.kind == "RESULT" and not keep[r.workload] then
      table.remove(got, i)
      for k = #results, 1, -1 do if results[k] == r then table.remove(results, k) end end
    elseif r.kind == "RESULT" then
      r.name = r.name:gsub("^backprop", "backprop-avx2")
      r.note = "BACKPROP_ISA=avx2; " .. (r.note or "")
    end
  end
end

local function torch(workload, threads)
  local name = "pytorch-" .. threads .. "T"
  if have.torch then
    -- Debian's torch does its matrix products in OpenBLAS, whose thread
    -- pool torch.set_num_threads does not size: both pools get `threads`.
    -- With more than one, idle OpenMP workers spinning starve OpenBLAS's
    -- threads (measured 10x slower per epoch), so they are told to sleep.
    local env = string.format("OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s", threads, threads,
                              threads > 1 and "OMP_WAIT_POLICY=PASSIVE " or "")
    run(workload, name, {PYTHON, here .. "/baselines/torch_bench.py", workload, tostring(threads)}, env)
  else
    skip(workload, name, why_not.torch)
  end
end

local function fann(workload)
  if have.fann then run(workload, "fann", {BIN .. "/fann", workload})
  else skip(workload, "fann", why_not.fann) end
end

local function genann(workload)
  if have.genann then run(workload, "genann-style", {BIN .. "/genann", workload})
  else skip(workload, "genann-style", why_not.genann) end
end

local REPEAT = math.max(1, math.floor(tonumber(os.getenv("BENCH_REPEAT")) or 1))
for _ = 1, only.classic and REPEAT or 0 do
  for _, b in ipairs{1, 32} do
    local w = "classic_b" .. b
    run(w, "backprop", {LUA, here .. "/ours/classic.lua", tostring(b)})
    ours_avx2(w, {LUA, here .. "/ours/classic.lua", tostring(b)})
    ours_luajit(w, "classic.lua", tostring(b))
    fann(w)
    if b == 1 then genann(w) end
    lua_baselines(w, "classic.lua", tostring(b))
    torch(w, 1)
  end
  -- One call per sample: net:train_step from Lua, the C libraries' own
  -- per-sample calls from C.
  run("classic_step", "backprop", {LUA, here .. "/ours/classic.lua", "step"})
  genann("classic_step")
  fann("classic_step")
end

-- Fixed costs, each beside its baseline in the same process: a fit call
-- against a train_step, an epoch's gather against a copy of its bytes.
if only.overhead then
  for _, w in ipairs{"fit_call", "index_float32", "index_uint8"} do
    run(w, "backprop", {LUA, here .. "/ours/overhead.lua", w})
  end
end

-- A Fashion-MNIST workload: ours at 1 and 2 threads (first: cnn.lua
-- writes the initial weights PyTorch loads), then PyTorch at each count.
local function fashion(workload, script)
  local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"
  if not exists(root .. "/train-images-idx3-ubyte.gz") then
    skip(workload, "all", "no Fashion-MNIST in " .. root .. " (apt install dataset-fashion-mnist)")
    return
  end
  run(workload, "backprop", {LUA, here .. "/ours/" .. script, "1"})
  run(workload, "backprop-2T", {LUA, here .. "/ours/" .. script, "2"})
  ours_avx2(workload, {LUA, here .. "/ours/" .. script, "1"})
  ours_avx2(workload, {LUA, here .. "/ours/" .. script, "2"})
  for t in (os.getenv("BENCH_TORCH_THREADS") or "1,2"):gmatch("%d+") do torch(workload, tonumber(t)) end
end

if only.fmnist then fashion("fmnist", "fmnist.lua") end

-- Adam against SGD with momentum in one process (synthetic data without
-- the data set: the ratio still holds), and PyTorch's Adam on the real one.
if only.optim then
  run("fmnist_adam", "backprop", {LUA, here .. "/ours/optim.lua"})
  ours_avx2("fmnist_adam", {LUA, here .. "/ours/optim.lua"}, {fmnist_adam = true})
  local root = os.getenv("BENCH_FMNIST") or "/usr/share/datasets/fashion-mnist"
  if exists(root .. "/train-images-idx3-ubyte.gz") then
    for t in (os.getenv("BENCH_TORCH_THREADS") or "1,2"):gmatch("%d+") do torch("fmnist_adam", tonumber(t)) end
  end
end

-- What a second thread gives, 1 and 2 threads alternated in one process.
if only.threads then
  run("threads", "backprop", {LUA, here .. "/ours/threads.lua"})
  ours_avx2("threads", {LUA, here .. "/ours/threads.lua"})
end

if only.cnn then fashion("cnn", "cnn.lua") end

if only.game then
  run("game", "backprop", {LUA, here .. "/ours/game.lua"})
  ours_avx2("game", {LUA, here .. "/ours/game.lua"})
  ours_luajit("game", "game.lua")
  fann("game")
  lua_baselines("game", "game.lua")
  torch("game", 1)
end

-- read_csv against the plain-Lua loop on a generated numeric file (issue
-- 11: within 2x its time, holding the result and a small buffer).
if only.csv then
  local csv = DIR .. "/bench.csv"
  log("bench: %-12s generating %s MB in %s", "csv", os.getenv("BENCH_CSV_MB") or "100", csv)
  assert(os.execute(ENV .. q(LUA) .. " " .. q(here .. "/ours/csv.lua") .. " gen " .. q(csv)),
         "bench/ours/csv.lua gen failed")
  run("csv", "backprop", {LUA, here .. "/ours/csv.lua", "read", csv})
  run("csv", "lua5.4-io.lines", {LUA, here .. "/baselines/csv.lua", csv})
  os.remove(csv)
end

if only.gemm then
  if not have.gemm then
    skip("gemm", "all", "build/bench/gemm is missing (make bench builds it)")
  else
    -- Each of our ISAs against OpenBLAS's kernels for the same one, named
    -- (left to itself, OpenBLAS 0.3.21 takes a CPU it does not know, such
    -- as a Sapphire Rapids, for a Prescott: SSE only). One core each.
    local variants = {
      {isa = "avx512", coretype = "SkylakeX"},
      {isa = "avx2", coretype = "Haswell"},
    }
    for _, v in ipairs(variants) do
      local label = v.isa .. " vs OpenBLAS " .. v.coretype
      local got = run("gemm", label, {BIN .. "/gemm", "--isa", v.isa},
                      "OPENBLAS_CORETYPE=" .. v.coretype .. " OPENBLAS_NUM_THREADS=1 ")
      for _, r in ipairs(got) do
        if r.kind == "GEMM" then r.variant, r.isa_label = "OPENBLAS_CORETYPE=" .. v.coretype, v.isa end
      end
    end
  end
end

---------------------------------------------------------------------------
-- The table.

local WORKLOADS = {
  {id = "classic_b1", title = "classic recipe 30-16-1 sigmoid, MSE, SGD lr 0.01, batch 1", unit = "samples/s", higher = true},
  {id = "classic_b32", title = "classic recipe, batches of 32", unit = "samples/s", higher = true},
  {id = "classic_step", title = "classic recipe, batch 1, one training call per sample (backprop: net:train_step from Lua)", unit = "samples/s", higher = true},
  {id = "fit_call", title = "one net:fit of one sample (the classic net, epochs 1, batch 1) against one net:train_step", unit = "us/call", higher = false},
  {id = "index_float32", title = "x:index(1, perm) of 60000 x 784 float32 rows in a random order against copies of the same bytes", unit = "ms", higher = false},
  {id = "index_uint8", title = "the same with uint8 rows", unit = "ms", higher = false},
  {id = "fmnist", title = "Fashion-MNIST MLP 784-256-128-10 ReLU, softmax CE, SGD momentum 0.9, batch 64", unit = "s/epoch", higher = false},
  {id = "fmnist_adam", title = "the same MLP with Adam lr 1e-3 (backprop's SGD-momentum epoch from the same process below it)", unit = "s/epoch", higher = false},
  {id = "adam_step", title = "Adam's update of those 235k parameters (opt:step, fixed gradients) on each ISA, and SGD momentum's", unit = "us/step", higher = false},
  {id = "threads_mlp", title = "a second thread: the Fashion-MNIST MLP, 1 and 2 threads alternated in one process (random data)", unit = "s/epoch", higher = false},
  {id = "threads_wide", title = "a second thread: a wide net 784-2048-2048-10, batch 64, the same way", unit = "s/epoch", higher = false},
  {id = "cnn", title = "Fashion-MNIST CNN of examples/fashion_mnist.lua (conv 16, 32 with batch norm, Adam, batch 64)", unit = "s/epoch", higher = false},
  {id = "game", title = "game net 16-32-32-4 tanh, one forward per call", unit = "ns/call", higher = false},
  {id = "csv", title = "reading a numeric CSV file (20 columns, " .. (os.getenv("BENCH_CSV_MB") or "100") ..
   " MB) into memory", unit = "s", higher = false},
}

local function si(v)
  if type(v) ~= "number" then return "-" end
  if v >= 1e6 then return string.format("%.3gM", v / 1e6) end
  if v >= 1e4 then return string.format("%.3gk", v / 1e3) end
  if v >= 100 then return string.format("%.0f", v) end
  return string.format("%.3g", v)
end

local function mb(kb) return kb and string.format("%.0f MiB", kb / 1024) or "-" end

local function quality(r)
  local q = {}
  if r.loss then q[#q + 1] = string.format("loss %.5g", r.loss) end
  if r.acc then q[#q + 1] = string.format("acc %.4f", r.acc) end
  if r.check then q[#q + 1] = string.format("sum %.6g", r.check) end
  return table.concat(q, " ")
end

-- Does a run's answer agree with ours? Classic: same training accuracy and
-- loss within 2%; Fashion-MNIST: test accuracy within 2 points (float
-- rounding differs after 1000s of steps); game: output sums within 1e-3.
local function agrees(r, ours)
  if r.workload and r.workload:match("^threads") then
    -- 2 threads against 1 on the same ISA: the same weights, bit for bit
    local one
    for _, o in ipairs(results) do
      if o.kind == "RESULT" and o.workload == r.workload and o.name == r.name:gsub("%-2T$", "") then one = o end
    end
    if not one or one == r then return "" end
    return one.check == r.check and "yes" or "NO"
  end
  if not ours or r == ours or not (r.check or r.acc or r.loss) then return "" end
  if r.check and ours.check then return math.abs(r.check - ours.check) < 1e-3 and "yes" or "NO" end
  if r.workload == "cnn" then   -- dropout masks differ between libraries
    return (r.acc and ours.acc and math.abs(r.acc - ours.acc) <= 0.03) and "yes" or "NO"
  end
  if r.workload == "fmnist" or r.workload == "fmnist_adam" then
    return (r.acc and ours.acc and math.abs(r.acc - ours.acc) <= 0.02) and "yes" or "NO"
  end
  if r.loss and ours.loss and r.acc and ours.acc then
    return (math.abs(r.loss - ours.loss) <= 0.02 * math.abs(ours.loss) and
            math.abs(r.acc - ours.acc) < 1e-6) and "yes" or "NO"
  end
  return "?"
end

-- With BENCH_REPEAT, each program's best result of its runs (the first
-- run's place in the table).
if REPEAT > 1 then
  local higher, kept, at = {}, {}, {}
  for _, w in ipairs(WORKLOADS) do higher[w.id] = w.higher end
  for _, r in ipairs(results) do
    local key = r.workload .. "\0" .. r.name
    local i = r.kind ~= "GEMM" and at[key]
    if not i then
      kept[#kept + 1] = r
      at[key] = #kept
    elseif r.kind == "RESULT" then
      local old = kept[i]
      if old.kind ~= "RESULT" or (higher[r.workload] and r.value > old.value)
         or (not higher[r.workload] and r.value < old.value) then
        kept[i] = r
      end
    end
  end
  results = kept
end

local rows = {}      -- {section} or {name, value, unit, ratio, rss, quality, same, note}
local function section(title) rows[#rows + 1] = {section = title} end
local function row(...) rows[#rows + 1] = {...} end

for _, w in ipairs(WORKLOADS) do
  local list, ours = {}, nil
  for _, r in ipairs(results) do
    if r.workload == w.id then
      list[#list + 1] = r
      if r.kind == "RESULT" and r.name == "backprop" then ours = r end
    end
  end
  if #list > 0 then
    section(string.format("%s (%s, %s is better)", w.title, w.unit, w.higher and "higher" or "lower"))
    for _, r in ipairs(list) do
      if r.kind == "SKIP" then
        row(r.name, "-", "", "", "", "", "", "skipped: " .. (r.note or ""))
      else
        local ratio = ""
        if ours and r.value and r.value > 0 then
          ratio = string.format("%.2fx", w.higher and ours.value / r.value or r.value / ours.value)
        end
        row(r.name, si(r.value), r.metric or "", ratio, mb(r.rss_kb), quality(r), agrees(r, ours), r.note or "")
      end
    end
  end
end

-- gemm: per case and ISA, ours, then OpenBLAS's kernels for that ISA.
local gemm_rows, gemm_other = {}, {}
for _, r in ipairs(results) do
  if r.workload == "gemm" then
    if r.kind == "GEMM" then gemm_rows[#gemm_rows + 1] = r else gemm_other[#gemm_other + 1] = r end
  end
end
if #gemm_rows + #gemm_other > 0 then
  section("single-precision matrix product, one thread (GFLOP/s, higher is better; train_wN: the three " ..
          "products of a training step of an N x N Linear layer at batch 64)")
  for _, r in ipairs(gemm_rows) do
    local ours, b = tonumber(r.ours_gflops), tonumber(r.openblas_gflops)
    local what = string.format("%s %s %s", r.case or "?", r.shape, r.isa_label or "")
    row("backprop " .. what, si(ours), "GFLOP/s", "1.00x", mb(r.rss_kb), "", "", "")
    row("openblas " .. what, si(b), "GFLOP/s",
        (ours and b and b > 0) and string.format("%.2fx", ours / b) or "", mb(r.rss_kb), "", "", r.variant or "")
  end
  for _, r in ipairs(gemm_other) do
    if r.kind == "SKIP" then
      row(r.name, "-", "", "", "", "", "", "skipped: " .. (r.note or ""))
    else
      row(r.name, si(r.value), r.metric or "", "", mb(r.rss_kb), quality(r), "", r.note or "")
    end
  end
end

local cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"):gsub("^%s+", "")
local header = string.format("backprop benchmarks, %s, %s, %s cores, OPENBLAS_CORETYPE=%s",
  os.date("%Y-%m-%d"), cpu ~= "" and cpu or "unknown CPU", sh("nproc"),
  os.getenv("OPENBLAS_CORETYPE") or "unset")
local HEAD = {"implementation", "value", "unit", "backprop is", "peak RSS", "loss / accuracy / output sum", "same answer", "note"}

print()
print(header)
print(string.format("load average at start %s, at end %s (other work on the machine slows every row)",
  load_start, sh("cut -d' ' -f1-3 /proc/loadavg 2>/dev/null")))
print(string.format("classic: %s epochs; Fashion-MNIST: %s epochs; game: %s calls in %s rounds",
  os.getenv("BENCH_CLASSIC_EPOCHS") or "100", os.getenv("BENCH_EPOCHS") or "2",
  os.getenv("BENCH_GAME_CALLS") or "200000", os.getenv("BENCH_GAME_ROUNDS") or "100"))
local fmt = "%-24s %9s %-10s %11s %9s %-34s %-6s %s"
print(string.format(fmt, table.unpack(HEAD)))
for _, r in ipairs(rows) do
  if r.section then print("\n" .. r.section)
  else print(string.format(fmt, table.unpack(r, 1, 8))) end
end
print([[

"backprop is" = how many times faster backprop was than that row in this run
(> 1: backprop ahead). Same initial weights (our initialization, exported) and
data order for every implementation; FANN clips its sigmoid derivative's input
to [0.01, 0.99], so its classic loss differs slightly. PyTorch N T: torch
and OpenBLAS thread pools both of N (OMP_WAIT_POLICY=PASSIVE when N > 1).
genann-style: genann 1.0's loops rewritten for this bench (genann is not
packaged in Debian; doubles, its table sigmoid, lr 0.02 = our 0.01), so its
loss differs slightly. Not compared: KANN (not packaged), PyTorch with 2
threads on the small nets.]])

if os.getenv("BENCH_MARKDOWN") == "1" then
  print()
  print("| " .. table.concat(HEAD, " | ") .. " |")
  print("|" .. string.rep("---|", #HEAD))
  for _, r in ipairs(rows) do
    if r.section then print("| **" .. r.section .. "** |" .. string.rep(" |", #HEAD - 1))
    else print("| " .. table.concat(r, " | ", 1, 8) .. " |") end
  end
end

if os.getenv("BENCH_KEEP") == "1" then
  log("bench: exchange files kept in %s", DIR)
else
  os.execute("rm -rf " .. q(DIR))
end
