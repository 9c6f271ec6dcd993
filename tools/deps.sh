#!/usr/bin/env bash
# tools/deps.sh [test|memcheck|ci] -- make sure the tools backprop needs are installed.
#
#   tools/deps.sh          build/run needs: C compiler, the interpreter LUA and its headers
#   tools/deps.sh test     also busted (for LUA) and luarocks
#   tools/deps.sh memcheck what make fuzz and make memcheck need besides the
#                          build: clang with libFuzzer, valgrind, zlib's
#                          headers (the gunzip target's reference decoder) and
#                          Lua 5.4's headers and library (the lua_load target)
#   tools/deps.sh ci       test, memcheck, every Lua of LUAS with its headers and
#                          busted (make test runs the suite under each installed
#                          one), what spec/love_spec.lua runs: love, xvfb-run, xauth,
#                          and pkg-config for spec/capi_spec.lua (the C library
#                          and spec/embed_spec.lua need only gcc and lua5.4's
#                          headers, whose package has liblua5.4.a)
#
# Quiet when nothing is missing. Otherwise, as root with apt-get available, it
# installs the missing Debian packages; else it prints the command to run and
# exits 1 (so make stops).
#
# Honours LUA (default lua5.4: lua5.1 .. lua5.4 or luajit), LUA_INCDIR (default:
# that Lua's Debian headers), LUAS (default: all five), CC.
# For testing this script: BACKPROP_DEPS_PRETEND_MISSING="pkg ..." makes the
# named Debian packages count as missing (nothing is uninstalled).
set -euo pipefail

mode=${1:-}
case "$mode" in
  ''|test|memcheck|ci) ;;
  *) echo "usage: $0 [test|memcheck|ci]" >&2; exit 2 ;;
esac

LUA=${LUA:-lua5.4}
LUAS=${LUAS:-lua5.1 lua5.2 lua5.3 lua5.4 luajit}
cc_cmd=${CC:-cc}
cc_cmd=${cc_cmd%% *}          # "ccache gcc" -> "ccache"; good enough for a presence check
pretend=" ${BACKPROP_DEPS_PRETEND_MISSING:-} "

# A Lua's Debian packages and header directory: "interpreter headers-package incdir".
lua_debian() {
  case "${1##*/}" in
    lua5.1) echo "lua5.1 liblua5.1-0-dev /usr/include/lua5.1" ;;
    lua5.2|lua5.3|lua5.4) echo "${1##*/} liblua${1##*lua}-dev /usr/include/${1##*/}" ;;
    luajit*) echo "luajit libluajit-5.1-dev /usr/include/luajit-2.1" ;;
    *) echo "lua5.4 liblua5.4-dev /usr/include/lua5.4" ;;   # another name: Debian's default
  esac
}
read -r lua_pkg lua_dev lua_inc <<<"$(lua_debian "$LUA")"
LUA_INCDIR=${LUA_INCDIR:-$lua_inc}

have() { command -v "$1" >/dev/null 2>&1; }
has_libfuzzer() { have clang && test -f "$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a")"; }

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
  check "$lua_pkg"   "Lua interpreter '$LUA'"                    have "$LUA"
  check "$lua_dev"   "Lua headers for $LUA ($LUA_INCDIR/lua.h)"  test -f "$LUA_INCDIR/lua.h"
  if [[ $mode == test || $mode == ci ]]; then
    check lua-busted "busted"                                    have busted
    # busted re-runs itself under each Lua (--lua): its modules must load there.
    check lua-busted "busted modules for '$LUA'"                 "$LUA" -e 'require("busted.runner")'
    check luarocks   "luarocks"                                  have luarocks
  fi
  if [[ $mode == memcheck || $mode == ci ]]; then
    check clang        "clang, for make fuzz"                    have clang
    check libclang-rt-dev "libFuzzer (clang's runtime libraries)" has_libfuzzer
    check valgrind     "valgrind, for make memcheck"             have valgrind
    check zlib1g-dev   "zlib's headers, for make fuzz"           test -f /usr/include/zlib.h
    check liblua5.4-dev "Lua 5.4's headers, for make fuzz"       test -f /usr/include/lua5.4/lua.h
  fi
  if [[ $mode == ci ]]; then
    local v pkg dev inc
    for v in $LUAS; do
      read -r pkg dev inc <<<"$(lua_debian "$v")"
      check "$pkg"     "Lua interpreter '$v'"                    have "$v"
      check "$dev"     "Lua headers for $v ($inc/lua.h)"         test -f "$inc/lua.h"
      check lua-busted "busted modules for '$v'"                 "$v" -e 'require("busted.runner")'
    done
    check love       "LÖVE (love), for spec/love_spec.lua"       have love
    check xvfb       "xvfb-run, for spec/love_spec.lua"          have xvfb-run
    check xauth      "xauth, which xvfb-run needs"               have xauth
    check pkg-config "pkg-config, for spec/capi_spec.lua"        have pkg-config
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
