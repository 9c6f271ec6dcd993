#!/usr/bin/env bash
# fuzz/run.sh SECONDS JOBS TARGET... -- run each libFuzzer target (built by
# `make fuzz-build` into $FUZZ_DIR/bin/) for SECONDS, JOBS at a time, and
# print one line per target: executions, executions per second, corpus
# size. Exits non-zero if any target found something (a crash, a leak, a
# sanitizer report, a broken invariant, a timeout or an out-of-memory);
# its log and the input that did it are then named.
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/) and
# the corpus it grew before ($FUZZ_DIR/corpus/<target>/, where new inputs
# go; rm -rf it to start over). Limits: -timeout=10 s per input,
# -rss_limit_mb=2048, and -malloc_limit_mb=512: no reader may ask for
# half a gigabyte for an input of a few KB.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
seconds=${1:?usage: fuzz/run.sh SECONDS JOBS TARGET...}
jobs=${2:?usage: fuzz/run.sh SECONDS JOBS TARGET...}
shift 2
(($# > 0)) || { echo "fuzz/run.sh: no target given" >&2; exit 2; }

run_one() {
  local t=$1 dir=$FUZZ_DIR/corpus/$1 art=$FUZZ_DIR/artifacts/$1/
  mkdir -p "$dir" "$art"
  "$FUZZ_DIR/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$art" \
    "$dir" "fuzz/corpus/$t" >"$FUZZ_DIR/$t.log" 2>&1
  echo $? >"$FUZZ_DIR/$t.rc"
}

mkdir -p "$FUZZ_DIR"
for t in "$@"; do
  [[ -x $FUZZ_DIR/bin/$t ]] || { echo "fuzz/run.sh: $FUZZ_DIR/bin/$t is not built" >&2; exit 2; }
  rm -f "$FUZZ_DIR/$t.rc"
done
source tools/pool.sh
pool "$jobs" run_one "$@"

failed=0
for t in "$@"; do
  log=$FUZZ_DIR/$t.log
  rc=$(cat "$FUZZ_DIR/$t.rc" 2>/dev/null || echo "?")
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
  grown=$(find "$FUZZ_DIR/corpus/$t" -type f | wc -l)
  printf 'fuzz %-17s %9s runs in %ss, %6s exec/s, corpus %s seeds + %s found' \
    "$t" "$(stat number_of_executed_units)" "$seconds" "$(stat average_exec_per_sec)" "$seeds" "$grown"
  if [[ $rc == 0 ]]; then
    echo ", ok"
  else
    failed=1
    echo ", FAILED (exit status $rc)"
    grep -m1 -E '^(SUMMARY|==[0-9]+==ERROR)|invariant broken' "$log" | sed 's/^/  /'
    grep -m1 -E 'invariant broken' -A1 "$log" | tail -1 | sed 's/^/  /'
    grep -m1 -o "Test unit written to .*" "$log" | sed 's/^/  /'
    echo "  log: $log"
  fi
done
exit $failed
