#!/usr/bin/env bash
# tools/test.sh -- the test run behind `make test` (which checks the
# dependencies and builds build/backprop/core.so first).
#
# busted runs every spec (configuration in .busted); its output handler,
# spec/tap.lua, prints a line per test and writes the counts to a file.
# This script adds what busted cannot do itself: a run that dies before its
# end (a crash in core.so, an os.exit in a spec, a timeout) is a failure,
# and the closing line "N passed, N failed" still comes last, with the
# pending tests counted on the line before it. Exits non-zero if anything
# failed or if no test ran.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

counts=$(mktemp "${TMPDIR:-/tmp}/backprop-counts.XXXXXX") || exit 1
trap 'rm -f "$counts"' EXIT
: >"$counts"

BACKPROP_TEST_COUNTS=$counts timeout "${BACKPROP_TEST_TIMEOUT:-1200}" busted "$@" </dev/null 2>&1
rc=$?

passed=0 failed=0 pending=0 done=
read -r passed failed pending done <"$counts"
if [[ $done == end ]]; then
  if ((rc != 0 && failed == 0)); then
    failed=1
    echo "not ok - busted exited with status $rc after reporting no failure"
  fi
else
  failed=$((failed + 1))
  echo "not ok - busted did not finish the run (exit status $rc)"
  if ((rc == 124)); then
    echo "# timed out after ${BACKPROP_TEST_TIMEOUT:-1200} s (BACKPROP_TEST_TIMEOUT)"
  else
    echo "# see the output above: a crash in core.so or an os.exit() in a spec ends busted early"
  fi
fi
if ((passed + failed == 0)); then
  failed=1
  echo "not ok - no test ran"
fi

((pending)) && echo "# $pending skipped (pending)"
echo "$passed passed, $failed failed"
((failed == 0))
