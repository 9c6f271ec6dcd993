# tools/pool.sh (sourced by fuzz/run.sh and memcheck/valgrind.sh):
#   pool JOBS FUNCTION ITEM...
# runs FUNCTION ITEM for every item, JOBS of them at a time, and returns
# when all have ended (their exit statuses are the function's to record).
pool() {
  local jobs=$1 fn=$2 running=0 item
  shift 2
  for item in "$@"; do
    "$fn" "$item" &
    running=$((running + 1))
    if ((running >= jobs)); then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
}
