/*
** lfaults.c: failure injection for the malloc-failure sweep
** (memcheck/sweep.lua), compiled into the test build of the module only
** (make memcheck-sweep: build/faults/backprop/core.so, with
** -DBP_ALLOC_FAULTS), never into the module users get.
**
** The sweep loads it from that same core.so with package.loadlib, so it
** sets the counter of the library the script is using:
**
**   local faults = package.loadlib(core_so, "luaopen_backprop_faults")()
**   ok, err, hit = faults.pcall(kind, n, f, ...)
**
** calls f(...) as pcall does, with the n-th allocation from now failing:
** kind "core" fails the core's n-th allocation (base/alloc.c); kind "lua"
** fails the Lua state's n-th allocation and the one after it (Lua 5.4
** retries a failed allocation once, after an emergency collection). hit
** says whether the failure happened, that is whether f made n
** allocations. Arming and disarming happen here, in C, around lua_pcall,
** so no allocation of the sweep script itself can be the one that fails.
**
** Opening the module puts a counting allocator in front of the state's
** own (it only counts, until armed). Linux (glibc) only, as make memcheck.
*/
#define _GNU_SOURCE   /* dladdr, RTLD_NODELETE */
#include <dlfcn.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "base/alloc.h"

static lua_Alloc inner;
static void *inner_ud;
static unsigned long lua_allocs, lua_fail_at;

/* Allocations and growths count; frees and shrinks, which Lua assumes
** never fail, pass through. */
static void *faulty(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (nsize > 0 && (ptr == NULL || nsize > osize)) {
    unsigned long n = ++lua_allocs;
    if (lua_fail_at != 0 && n - lua_fail_at < 2) return NULL;
  }
  return inner(ud, ptr, osize, nsize);
}

static int l_pcall(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  lua_Number n = luaL_checknumber(L, 2);
  int core = strcmp(kind, "core") == 0, nargs = lua_gettop(L) - 3, status, hit;
  unsigned long start, k;
  luaL_argcheck(L, core || strcmp(kind, "lua") == 0, 1, "\"core\" or \"lua\"");
  luaL_argcheck(L, n >= 1 && n == (lua_Number)(unsigned long)n, 2, "a count >= 1");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  luaL_checkstack(L, 8, NULL);  /* the results need no allocation */
  k = (unsigned long)n;
  start = core ? bp_alloc_count() : lua_allocs;
  if (core) bp_alloc_fail_at(start + k);
  else lua_fail_at = start + k;
  status = lua_pcall(L, nargs, 1, 0);
  bp_alloc_fail_at(0);
  lua_fail_at = 0;
  hit = (core ? bp_alloc_count() : lua_allocs) - start >= k;
  lua_pushboolean(L, status == 0);
  if (status == 0) lua_pushnil(L);
  else lua_pushvalue(L, 3);
  lua_pushboolean(L, hit);
  return 3;
}

/* The module is built with -fvisibility=hidden: its entry points are exported by name. */
__attribute__((visibility("default"))) int luaopen_backprop_faults(lua_State *L) {
  Dl_info self;
  /* lua_close unloads C libraries before it frees the last blocks, which
  ** go through faulty: keep this library mapped until the process ends. */
  if (dladdr((void *)faulty, &self) == 0 ||
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == NULL)
    return luaL_error(L, "backprop.faults: cannot pin %s", self.dli_fname);
  if (lua_getallocf(L, NULL) != faulty) {
    inner = lua_getallocf(L, &inner_ud);
    lua_setallocf(L, faulty, inner_ud);
  }
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, l_pcall);
  lua_setfield(L, -2, "pcall");
  return 1;
}
