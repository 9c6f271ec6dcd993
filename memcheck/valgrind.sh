#!/usr/bin/env bash
# memcheck/valgrind.sh [JOBS] -- every example under valgrind's memcheck,
# against the module `make` builds (build/backprop/core.so for lua5.4; LUA
# picks another Lua, LUA_CPATH_DIR its build directory), JOBS at a time
# (default 2). Prints a line per example; exits non-zero when one of them
# fails, reads uninitialised or freed memory, or leaks ("definitely lost"
# bytes: Lua frees everything it owns at exit, so any block left without a
# pointer is ours). Logs: build/memcheck/<example>.log. VALGRIND_FLAGS
# adds options: --track-origins=yes says where an uninitialised value came
# from, at twice the time.
#
# Left out: examples/fashion_mnist.lua (minutes of training on a data set
# that is not installed by default: too slow under valgrind) and the LÖVE
# game (examples/love/, LuaJIT inside LÖVE).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
LUA=${LUA:-lua5.4}
CPATH_DIR=${LUA_CPATH_DIR:-build}
jobs=${1:-2}
out=build/memcheck
command -v valgrind >/dev/null 2>&1 || {
  echo "memcheck/valgrind.sh: needs valgrind (apt-get install valgrind)" >&2
  exit 2
}
mkdir -p "$out"

# name: the command line after the interpreter.
runs=(
  "xor:examples/xor.lua"
  "explain:examples/explain.lua"
  "quick_start:examples/quick_start.lua"
  "iris:examples/iris.lua"
  "regression:examples/regression.lua"
  "breast_cancer:examples/breast_cancer.lua"
  "breast_cancer_modern:examples/breast_cancer.lua --modern"
  "breast_cancer_curves:examples/breast_cancer_curves.lua $out/curves.svg"
  "game_agent:examples/game_agent.lua"
)

# A new example must be listed above (or below, with the reason).
skipped="fashion_mnist"
for f in examples/*.lua; do
  n=$(basename "$f" .lua)
  [[ " ${runs[*]} $skipped " == *" $n:"* || " $skipped " == *" $n "* ]] || {
    echo "memcheck/valgrind.sh: examples/$n.lua is not listed: add it to runs (or skipped)" >&2
    exit 2
  }
done

run_one() {
  local name=${1%%:*} cmd=${1#*:} start=$SECONDS rc
  # shellcheck disable=SC2086  # the command line splits into its words
  env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 LUA_PATH='src/?.lua;src/?/init.lua;;' \
    LUA_CPATH="$CPATH_DIR/?.so;;" \
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    ${VALGRIND_FLAGS:-} --log-file="$out/$name.log" \
    "$LUA" $cmd >"$out/$name.out" 2>&1
  rc=$?
  echo "$rc $((SECONDS - start))" >"$out/$name.rc"
}

source tools/pool.sh
pool "$jobs" run_one "${runs[@]}"

failed=0
for r in "${runs[@]}"; do
  name=${r%%:*}
  read -r rc secs <"$out/$name.rc"
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$out/$name.log" | tail -1)
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$out/$name.log" | tail -1)
  printf 'valgrind %-22s %3ss, %s errors, %s bytes definitely lost' "$name" "$secs" \
    "${errors:-?}" "${lost:-0}"
  if [[ $rc == 0 ]]; then
    echo ", ok"
  else
    failed=1
    echo ", FAILED (exit status $rc; log $out/$name.log, output $out/$name.out)"
  fi
done
exit $failed
