#!/usr/bin/env bash
# tools/test.sh -- the test run behind `make test` (which checks the
# dependencies and builds the module for every installed Lua first).
#
# LUAS lists the Luas to run, as interpreter=module directory (`make luas`
# prints it; default: lua5.4=build). busted runs every spec (configuration
# in .busted) once per Lua, under that interpreter and against its own
# module, with LUA naming the interpreter for the specs that start one. Its
# output handler, spec/tap.lua, prints a line per test and writes the counts
# to a file. This script adds what busted cannot do itself: a run that dies
# before its end (a crash in core.so, an os.exit in a spec, a timeout) is a
# failure; each Lua's counts are printed after its run and again before the
# end, and the closing line "N passed, N failed" comes last and counts every
# Lua's tests. Exits non-zero if anything failed or if no test ran.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

counts=$(mktemp "${TMPDIR:-/tmp}/backprop-counts.XXXXXX") || exit 1
trap 'rm -f "$counts"' EXIT

total_passed=0 total_failed=0 total_pending=0
summary=()

# run_one LUA DIR [busted args]: every spec under LUA against DIR/backprop/core.so.
run_one() {
  local lua=$1 dir=$2
  shift 2
  : >"$counts"
  echo "# ---- $lua ($dir/backprop/core.so)"
  LUA=$lua BACKPROP_TEST_LUA=$lua BACKPROP_TEST_COUNTS=$counts \
    timeout "${BACKPROP_TEST_TIMEOUT:-1200}" busted --lua="$lua" --cpath="$dir/?.so" "$@" </dev/null 2>&1
  local rc=$?

  local passed=0 failed=0 pending=0 done=
  read -r passed failed pending done <"$counts"
  if [[ $done == end ]]; then
    if ((rc != 0 && failed == 0)); then
      failed=1
      echo "not ok - $lua: busted exited with status $rc after reporting no failure"
    fi
  else
    failed=$((failed + 1))
    echo "not ok - $lua: busted did not finish the run (exit status $rc)"
    if ((rc == 124)); then
      echo "# timed out after ${BACKPROP_TEST_TIMEOUT:-1200} s (BACKPROP_TEST_TIMEOUT)"
    else
      echo "# see the output above: a crash in core.so or an os.exit() in a spec ends busted early"
    fi
  fi
  if ((passed + failed == 0)); then
    failed=1
    echo "not ok - $lua: no test ran"
  fi
  local line="# $lua: $passed passed, $failed failed, $pending skipped (pending)"
  echo "$line"
  summary+=("$line")
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_pending=$((total_pending + pending))
}

luas=${LUAS:-lua5.4=build}
for entry in $luas; do
  run_one "${entry%%=*}" "${entry#*=}" "$@"
done

echo "# ---- every Lua"
printf '%s\n' "${summary[@]}"
((total_pending)) && echo "# $total_pending skipped (pending)"
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
