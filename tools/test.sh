#!/usr/bin/env bash
# tools/test.sh -- the test run behind `make test` (which checks deps and
# builds build/backprop/core.so first).
#
#   1. busted over spec/ (TAP output, renumbered into one TAP stream; spec
#      files that do not even parse are reported as failures up front, because
#      busted 2.1's TAP handler crashes on them and would end the run early);
#   2. core.so loads in lua5.4 on its own, and links no liblua;
#   3. install check: the rockspec lists every source, `luarocks make` installs
#      into a temporary tree, and examples/xor.lua runs from that tree alone.
#
# Ends with exactly one line "N passed, N failed" (pending tests, such as
# the Fashion-MNIST check without the data set, are counted on the line
# before it); exits non-zero if anything failed or if no test ran.
set -uo pipefail    # no -e: failures are counted, not fatal

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
cd "$root" || exit 1

LUA=${LUA:-lua5.4}
ROCKSPEC=rockspec/backprop-scm-1.rockspec
MODULE=build/backprop/core.so
BUSTED_TIMEOUT=${BACKPROP_TEST_TIMEOUT:-1200}   # seconds for the whole busted run

tmp=$(mktemp -d "${TMPDIR:-/tmp}/backprop-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

n=0 passed=0 failed=0 skipped=0

ok() {
  n=$((n + 1)) passed=$((passed + 1))
  echo "ok $n - $1"
}

# not_ok DESCRIPTION [DIAGNOSTIC...]: each diagnostic is printed as "# " lines.
not_ok() {
  n=$((n + 1)) failed=$((failed + 1))
  echo "not ok $n - $1"
  shift
  local d line
  for d in "$@"; do
    [[ -n $d ]] || continue
    while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$d"
  done
  return 0
}

# tail_of FILE: the last 40 lines of a log, for diagnostics.
tail_of() { tail -n 40 "$1"; }

# ---------------------------------------------------------------- 1. busted
run_busted() {
  local specs=() good=() f err
  while IFS= read -r f; do specs+=("$f"); done \
    < <(find spec -type f -name '*_spec*.lua' 2>/dev/null | LC_ALL=C sort)

  if ((${#specs[@]} == 0)); then
    not_ok "busted: no spec files found (spec/*_spec.lua)"
    return
  fi

  for f in "${specs[@]}"; do
    if err=$(SPEC_FILE=$f "$LUA" -e \
        'local f, e = loadfile(os.getenv("SPEC_FILE")) if not f then io.stderr:write(e, "\n") os.exit(1) end' \
        2>&1 </dev/null); then
      good+=("$f")
    else
      not_ok "$f does not load" "$err"
    fi
  done
  ((${#good[@]})) || return

  if [[ ! -f $MODULE ]]; then
    echo "# note: $MODULE is not built; run 'make test' rather than tools/test.sh"
  fi

  # With every spec loadable, run plain `busted` (configuration from .busted);
  # otherwise name the loadable files explicitly.
  local args=()
  ((${#good[@]} == ${#specs[@]})) || args=("${good[@]}")

  local stats=$tmp/busted.stats brc
  timeout "$BUSTED_TIMEOUT" busted -o TAP "${args[@]}" </dev/null 2>&1 | awk -v off="$n" -v stats="$stats" '
    BEGIN { count = 0; pass = 0; fail = 0; skip = 0; plan = -1 }
    /^ok [0-9]+( |$)/ {
      count++
      if ($0 ~ /^ok [0-9]+ - # [Ss][Kk][Ii][Pp]/) skip++; else pass++
      sub(/^ok [0-9]+/, "ok " (off + count)); print; fflush(); next
    }
    /^not ok [0-9]+( |$)/ {
      count++; fail++
      sub(/^not ok [0-9]+/, "not ok " (off + count)); print; fflush(); next
    }
    /^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }   # replaced by our own plan
    { print; fflush() }
    END { print pass, fail, skip, count, plan > stats }
  '
  brc=${PIPESTATUS[0]}

  local bpass=0 bfail=0 bskip=0 bcount=0 bplan=-1
  [[ -s $stats ]] && read -r bpass bfail bskip bcount bplan <"$stats"
  n=$((n + bcount)) passed=$((passed + bpass)) failed=$((failed + bfail))
  skipped=$((skipped + bskip))

  if ((bplan < 0 || bplan != bcount)); then
    # No (or a wrong) closing plan: busted died mid-run (crash, os.exit,
    # segfault in core.so, error in busted itself). Never let that pass.
    local why="see the output above; a crash in core.so or an os.exit() in a spec ends busted early"
    ((brc == 124)) && why="timed out after $BUSTED_TIMEOUT s (BACKPROP_TEST_TIMEOUT)"
    not_ok "busted did not finish the run (exit status $brc, $bcount results, plan ${bplan/#-1/missing})" "$why"
  elif ((brc != 0 && bfail == 0)); then
    not_ok "busted exited with status $brc but reported no failure"
  elif ((bcount == 0)); then
    not_ok "busted ran no tests"
  fi
}

# --------------------------------------------- 2. core.so loads, no liblua
check_no_liblua() {
  local what="$MODULE links no liblua (Lua symbols come from the interpreter)"
  if [[ ! -f $MODULE ]]; then
    not_ok "$what" "$MODULE does not exist (run make)"
    return
  fi
  if ! command -v readelf >/dev/null 2>&1; then
    n=$((n + 1)) skipped=$((skipped + 1))
    echo "ok $n - # SKIP $what: readelf not installed"
    return
  fi
  local needed
  needed=$(readelf -d "$MODULE" 2>&1 | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if grep -qi 'liblua' <<<"$needed"; then
    not_ok "$what" "NEEDED: $(tr '\n' ' ' <<<"$needed")"
  else
    ok "$what"
  fi
}

check_module_loads() {
  local what="$MODULE loads: require 'backprop.core' in $LUA"
  local out
  if [[ ! -f $MODULE ]]; then
    not_ok "$what" "$MODULE does not exist (run make)"
  elif out=$(cd "$root" && env -u LUA_CPATH_5_4 LUA_CPATH='build/?.so' "$LUA" \
        -e 'assert(type(require("backprop.core")) == "table", "backprop.core did not return a table")' \
        2>&1 </dev/null); then
    ok "$what"
  else
    not_ok "$what" "$out"
  fi
}

# ------------------------------------------------------- 3. install check
# Prints the problems (one a line) and returns 1 if the rockspec does not list
# exactly the sources that exist.
check_rockspec_lists() {
  {
    local f
    for f in src/core/*/*.c src/lua/*.c src/backprop/*.lua; do
      [[ -f $f ]] && printf '%s\n' "$f"
    done
  } | ROCKSPEC=$ROCKSPEC "$LUA" -e '
    local path = os.getenv("ROCKSPEC")
    local env = {}
    local chunk, err = loadfile(path, "t", env)
    if not chunk then print("cannot load " .. path .. ": " .. err) os.exit(1) end
    local okay, perr = pcall(chunk)
    if not okay then print("error running " .. path .. ": " .. tostring(perr)) os.exit(1) end
    local modules = env.build and env.build.modules
    if type(modules) ~= "table" then print(path .. " has no build.modules") os.exit(1) end

    local listed = {}        -- file -> module name
    local core = modules["backprop.core"]
    if type(core) ~= "table" or type(core.sources) ~= "table" then
      print([[build.modules["backprop.core"].sources is missing]])
    else
      for _, s in ipairs(core.sources) do listed[s] = "backprop.core" end
    end
    for name, m in pairs(modules) do
      if type(m) == "string" then listed[m] = name end
    end

    local problems, exists = {}, {}
    for f in io.lines() do
      exists[f] = true
      local want
      if f:match("%.c$") then
        want = "backprop.core"
      else
        local base = f:match("^src/backprop/(.+)%.lua$")
        want = base == "init" and "backprop" or "backprop." .. base
      end
      if not listed[f] then
        if want == "backprop.core" then
          problems[#problems + 1] = ("not in rockspec: %s (add it to build.modules[\"backprop.core\"].sources)"):format(f)
        else
          problems[#problems + 1] = ("not in rockspec: %s (add [\"%s\"] = \"%s\")"):format(f, want, f)
        end
      elseif listed[f] ~= want then
        problems[#problems + 1] = ("%s is listed as module %q, expected %q"):format(f, listed[f], want)
      end
    end
    for f in pairs(listed) do
      if not exists[f] then
        problems[#problems + 1] = "listed in rockspec but does not exist: " .. f
      end
    end
    table.sort(problems)
    for _, p in ipairs(problems) do print(p) end
    os.exit(#problems == 0 and 0 or 1)
  '
}

install_check() {
  local what="install check: luarocks make $ROCKSPEC, then examples/xor.lua from the installed tree alone"
  local out
  if [[ ! -f $ROCKSPEC ]]; then
    not_ok "$what" "$ROCKSPEC does not exist"
    return
  fi
  if ! out=$(check_rockspec_lists 2>&1); then
    not_ok "$what" "$ROCKSPEC does not match the sources:" "$out"
    return
  fi
  if ! command -v luarocks >/dev/null 2>&1; then
    not_ok "$what" "luarocks is not installed (tools/deps.sh test installs it)"
    return
  fi

  # The builtin backend writes objects next to the sources and a backprop/
  # directory into the current directory, so build from a copy of the tree.
  local copy=$tmp/copy tree=$tmp/tree run=$tmp/run home=$tmp/home
  mkdir -p "$copy" "$run" "$home"
  if ! tar -C "$root" --exclude=./.git --exclude=./build -cf - . | tar -C "$copy" -xf - ; then
    not_ok "$what" "could not copy the source tree to $copy"
    return
  fi
  # HOME points at an empty directory so a personal ~/.luarocks config cannot
  # change the result; --deps-mode=none keeps luarocks offline.
  if ! (cd "$copy" && HOME=$home luarocks --lua-version=5.4 make "$ROCKSPEC" \
          --tree "$tree" --deps-mode=none) >"$tmp/luarocks.log" 2>&1 </dev/null; then
    not_ok "$what" "luarocks make failed:" "$(tail_of "$tmp/luarocks.log")"
    return
  fi

  local missing=() f
  [[ -f $tree/lib/lua/5.4/backprop/core.so ]] || missing+=("lib/lua/5.4/backprop/core.so")
  for f in src/backprop/*.lua; do
    [[ -f $f ]] || continue
    [[ -f $tree/share/lua/5.4/backprop/${f##*/} ]] || missing+=("share/lua/5.4/backprop/${f##*/}")
  done
  if ((${#missing[@]})); then
    not_ok "$what" "not installed into the tree: ${missing[*]}" "$(tail_of "$tmp/luarocks.log")"
    return
  fi

  # Clean environment: module paths point only into the tree (no ";;" so the
  # system paths are not searched either), run from a directory that is not
  # the repository so the in-place copy cannot be picked up.
  local xrc=0
  (cd "$run" && env -i PATH="$PATH" HOME="$home" TMPDIR="$tmp" LANG=C.UTF-8 \
      LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua" \
      LUA_CPATH="$tree/lib/lua/5.4/?.so" \
      timeout 300 "$LUA" "$root/examples/xor.lua") >"$tmp/xor.log" 2>&1 </dev/null || xrc=$?
  if ((xrc != 0)); then
    not_ok "$what" "examples/xor.lua exited with status $xrc$( ((xrc == 124)) && echo ' (timed out after 300 s)'):" \
      "$(tail_of "$tmp/xor.log")"
    return
  fi
  ok "$what"
}

run_busted
check_module_loads
check_no_liblua
install_check

if ((passed + failed == 0)); then
  not_ok "no test ran"
fi
echo "1..$n"
((skipped)) && echo "# $skipped skipped (pending)"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
