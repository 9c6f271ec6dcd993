#!/usr/bin/env bash
# tools/deps.sh [test] -- make sure the tools backprop needs are installed.
#
#   tools/deps.sh        build/run needs: C compiler, Lua 5.4 interpreter, Lua 5.4 headers
#   tools/deps.sh test   also busted (for Lua 5.4) and luarocks
#
# Quiet when nothing is missing. Otherwise, as root with apt-get available, it
# installs the missing Debian packages; else it prints the command to run and
# exits 1 (so make stops).
#
# Honours LUA (default lua5.4), LUA_INCDIR (default /usr/include/lua5.4), CC.
# For testing this script: BACKPROP_DEPS_PRETEND_MISSING="pkg ..." makes the
# named Debian packages count as missing (nothing is uninstalled).
set -euo pipefail

mode=${1:-}
case "$mode" in
  ''|test) ;;
  *) echo "usage: $0 [test]" >&2; exit 2 ;;
esac

LUA=${LUA:-lua5.4}
LUA_INCDIR=${LUA_INCDIR:-/usr/include/lua5.4}
cc_cmd=${CC:-cc}
cc_cmd=${cc_cmd%% *}          # "ccache gcc" -> "ccache"; good enough for a presence check
pretend=" ${BACKPROP_DEPS_PRETEND_MISSING:-} "

have() { command -v "$1" >/dev/null 2>&1; }

missing=()
problems=()

# check PACKAGE DESCRIPTION COMMAND... : PACKAGE is missing when COMMAND fails.
check() {
  local pkg=$1 what=$2
  shift 2
  if [[ $pretend == *" $pkg "* ]] || ! "$@" >/dev/null 2>&1; then
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
    problems+=("$what")
  fi
}

probe() {
  check gcc          "C compiler '$cc_cmd'"                      have "$cc_cmd"
  check lua5.4       "Lua interpreter '$LUA'"                    have "$LUA"
  check liblua5.4-dev "Lua 5.4 headers ($LUA_INCDIR/lua.h)"      test -f "$LUA_INCDIR/lua.h"
  if [[ $mode == test ]]; then
    check lua-busted "busted"                                    have busted
    # busted re-runs itself under lua5.4 (see .busted): its modules must load there.
    check lua-busted "busted modules for '$LUA'"                 "$LUA" -e 'require("busted.runner")'
    check luarocks   "luarocks"                                  have luarocks
  fi
}

probe
((${#missing[@]} == 0)) && exit 0

printf 'deps.sh: missing: %s\n' "${problems[@]}" >&2
if [[ $(id -u) -eq 0 ]] && have apt-get; then
  echo "deps.sh: installing Debian packages: ${missing[*]}" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  # Verify (a non-default LUA or LUA_INCDIR is not fixed by these packages).
  wanted=("${missing[@]}")
  missing=() problems=() pretend=" "
  probe
  if ((${#missing[@]})); then
    echo "deps.sh: installed ${wanted[*]}, but still missing:" >&2
    printf '  %s\n' "${problems[@]}" >&2
    exit 1
  fi
  exit 0
fi

if have apt-get; then
  echo "deps.sh: install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
else
  echo "deps.sh: no apt-get here; install the equivalent of these Debian packages: ${missing[*]}" >&2
fi
exit 1
