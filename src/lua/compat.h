/*
** compat.h: the only place that knows which Lua version we are built for.
** The binding is written against the Lua 5.4 API; for older versions this
** header supplies what they lack, under the same names, so no other file
** tests LUA_VERSION_NUM:
**   5.3: the user value of a userdata (one per userdata, as 5.4's first);
**   5.2: also lua_geti, lua_isinteger, LUA_INTEGER_FMT, a lua_tointegerx
**        that refuses 1.5 (5.2's truncates), the lua_get*
**        functions returning the type of what they pushed, and __name in
**        new metatables (error messages name the type through it);
**   5.1 and LuaJIT 2.1 (LUA_VERSION_NUM 501): also lua_absindex,
**        luaL_setfuncs, luaL_testudata, luaL_setmetatable, lua_rawgetp/
**        rawsetp, lua_rawlen, luaL_len, luaL_tolstring, lua_tonumberx.
** On 5.1 and 5.2 a user value lives in a table made with the userdata
** (5.1's environment, 5.2's user value), at index 1. On 5.1, 5.2 and
** LuaJIT every number is a double: lua_isinteger is true for a number
** with an integral value, so indices and labels still check as integers.
** The shims are static functions: each file compiles the ones it uses.
*/
#ifndef LBP_COMPAT_H
#define LBP_COMPAT_H

#include <math.h>
#include <stddef.h>

#include "lua.h"
#include "lauxlib.h"

#if !defined(LUA_VERSION_NUM) || LUA_VERSION_NUM < 501
#error "backprop needs Lua 5.1 or later (or LuaJIT 2.1)"
#endif

#if defined(__GNUC__)
#define LBP_UNUSED __attribute__((unused))
#else
#define LBP_UNUSED
#endif

/* The one symbol the module exports: everything is compiled with
** -fvisibility=hidden (Makefile), so the core's and the binding's
** functions stay inside core.so, and only luaopen_backprop_core is marked
** for the loader. (Lua's LUAMOD_API is plain extern outside Windows.) */
#if defined(__GNUC__) && __GNUC__ >= 4
#define LBP_EXPORT __attribute__((visibility("default")))
#else
#define LBP_EXPORT
#endif

/* --- user values: one per userdata ---------------------------------- */

#if LUA_VERSION_NUM >= 504
#define lbp_newuserdata(L, size) lua_newuserdatauv(L, size, 1)
#define lbp_getuservalue(L, idx) lua_getiuservalue(L, idx, 1)
#define lbp_setuservalue(L, idx) lua_setiuservalue(L, idx, 1)
#elif LUA_VERSION_NUM == 503
#define lbp_newuserdata(L, size) lua_newuserdata(L, size)
#define lbp_getuservalue(L, idx) lua_getuservalue(L, idx)
#define lbp_setuservalue(L, idx) lua_setuservalue(L, idx)
#else
#if LUA_VERSION_NUM == 502
#define lbp_getenv_(L, idx) lua_getuservalue(L, idx)
#define lbp_setenv_(L, idx) lua_setuservalue(L, idx)
#else
#define lbp_getenv_(L, idx) lua_getfenv(L, idx)
#define lbp_setenv_(L, idx) lua_setfenv(L, idx)
#endif
/* A userdata with a table of its own for its user value (5.1 would give
** it the running function's environment, shared by every userdata). */
static LBP_UNUSED void *lbp_newuserdata(lua_State *L, size_t size) {
  void *p = lua_newuserdata(L, size);
  lua_createtable(L, 1, 0);
  lbp_setenv_(L, -2);
  return p;
}
static LBP_UNUSED int lbp_getuservalue(lua_State *L, int idx) {
  lbp_getenv_(L, idx);
  if (!lua_istable(L, -1)) {   /* a userdata not made by lbp_newuserdata */
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNIL;
  }
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
  return lua_type(L, -1);
}
/* Pops the value on the top into the user value of the userdata at idx. */
static LBP_UNUSED int lbp_setuservalue(lua_State *L, int idx) {
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
  lbp_getenv_(L, idx);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, -1);
    lbp_setenv_(L, idx);
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 1);
  return 1;
}
#endif

/* --- 5.1 and LuaJIT: the 5.2 auxiliary library ------------------------ */

#if LUA_VERSION_NUM == 501
static LBP_UNUSED int lbp_absindex_(lua_State *L, int idx) {
  return idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : lua_gettop(L) + idx + 1;
}
#define lua_absindex(L, idx) lbp_absindex_(L, idx)

#define lua_rawlen(L, idx) lua_objlen(L, idx)
#define luaL_len(L, idx) ((lua_Integer)lua_objlen(L, idx))

static LBP_UNUSED void lbp_setfuncs_(lua_State *L, const luaL_Reg *l,
                                     int nup) {
  int i;
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#define luaL_setfuncs(L, l, nup) lbp_setfuncs_(L, l, nup)

static LBP_UNUSED void *lbp_testudata_(lua_State *L, int idx,
                                       const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  lua_getfield(L, LUA_REGISTRYINDEX, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}
#define luaL_testudata(L, idx, tname) lbp_testudata_(L, idx, tname)

#define luaL_setmetatable(L, tname) \
  (lua_getfield(L, LUA_REGISTRYINDEX, tname), lua_setmetatable(L, -2))

static LBP_UNUSED void lbp_rawgetp_(lua_State *L, int idx, const void *p) {
  idx = lbp_absindex_(L, idx);
  lua_pushlightuserdata(L, (void *)p);
  lua_rawget(L, idx);
}
#define lua_rawgetp(L, idx, p) lbp_rawgetp_(L, idx, p)

static LBP_UNUSED void lbp_rawsetp_(lua_State *L, int idx, const void *p) {
  idx = lbp_absindex_(L, idx);
  lua_pushlightuserdata(L, (void *)p);
  lua_insert(L, -2);
  lua_rawset(L, idx);
}
#define lua_rawsetp(L, idx, p) lbp_rawsetp_(L, idx, p)

static LBP_UNUSED lua_Number lbp_tonumberx_(lua_State *L, int idx,
                                            int *isnum) {
  lua_Number n = lua_tonumber(L, idx);
  if (isnum != NULL) *isnum = lua_isnumber(L, idx);
  return n;
}
#define lua_tonumberx(L, idx, isnum) lbp_tonumberx_(L, idx, isnum)

static LBP_UNUSED const char *lbp_tolstring_(lua_State *L, int idx,
                                             size_t *len) {
  idx = lbp_absindex_(L, idx);
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (!lua_isstring(L, -1))
      luaL_error(L, "'__tostring' must return a string");
  } else {
    switch (lua_type(L, idx)) {
      case LUA_TNUMBER:
      case LUA_TSTRING:
        lua_pushvalue(L, idx);
        break;
      case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        break;
      case LUA_TNIL:
        lua_pushliteral(L, "nil");
        break;
      default:
        lua_pushfstring(L, "%s: %p", luaL_typename(L, idx),
                        lua_topointer(L, idx));
    }
  }
  return lua_tolstring(L, -1, len);
}
#define luaL_tolstring(L, idx, len) lbp_tolstring_(L, idx, len)
#endif

/* --- 5.1 and 5.2: 5.3's integers and typed lua_get*, __name ----------- */

#if LUA_VERSION_NUM < 503
/* luaL_newmetatable that also sets __name, as 5.3 does (error messages
** and the Lua face's type checks read it). */
static LBP_UNUSED int lbp_newmetatable_(lua_State *L, const char *tname) {
  if (!(luaL_newmetatable)(L, tname)) return 0;
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  return 1;
}
#define luaL_newmetatable(L, tname) lbp_newmetatable_(L, tname)

/* As 5.3: only a number (or numeric string) with an integral value that
** fits converts; *isnum says whether it did (5.2's own truncates 1.5). */
static LBP_UNUSED lua_Integer lbp_tointegerx_(lua_State *L, int idx,
                                              int *isnum) {
  int ok = 0;
  lua_Number n = lua_tonumberx(L, idx, &ok);
  ok = ok && n == floor(n) && n >= -9223372036854775808.0 &&
       n < 9223372036854775808.0;
  if (isnum != NULL) *isnum = ok;
  return ok ? (lua_Integer)n : 0;
}
#undef lua_tointegerx
#define lua_tointegerx(L, idx, isnum) lbp_tointegerx_(L, idx, isnum)

#define LUA_INTEGER_FMT "%td"   /* lua_Integer is ptrdiff_t before 5.3 */

static LBP_UNUSED int lbp_isinteger_(lua_State *L, int idx) {
  lua_Number n;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, idx);
  return n == floor(n) && n >= -9223372036854775808.0 &&
         n < 9223372036854775808.0;
}
#define lua_isinteger(L, idx) lbp_isinteger_(L, idx)

static LBP_UNUSED int lbp_getfield_(lua_State *L, int idx, const char *k) {
  (lua_getfield)(L, idx, k);
  return lua_type(L, -1);
}
#define lua_getfield(L, idx, k) lbp_getfield_(L, idx, k)

static LBP_UNUSED int lbp_rawgeti_(lua_State *L, int idx, lua_Integer i) {
  (lua_rawgeti)(L, idx, (int)i);
  return lua_type(L, -1);
}
#define lua_rawgeti(L, idx, i) lbp_rawgeti_(L, idx, i)

static LBP_UNUSED int lbp_geti_(lua_State *L, int idx, lua_Integer i) {
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
  lua_pushinteger(L, i);
  lua_gettable(L, idx);
  return lua_type(L, -1);
}
#define lua_geti(L, idx, i) lbp_geti_(L, idx, i)

static LBP_UNUSED int lbp_getmetafield_(lua_State *L, int idx,
                                        const char *k) {
  return (luaL_getmetafield)(L, idx, k) ? lua_type(L, -1) : LUA_TNIL;
}
#define luaL_getmetafield(L, idx, k) lbp_getmetafield_(L, idx, k)
#endif

/* Tell the collector about memory it cannot see, so a loop creating big
** tensors triggers collections at the right pace. */
#define lbp_gc_report(L, bytes) \
  ((bytes) >= 65536 ? (void)lua_gc(L, LUA_GCSTEP, (int)((bytes) / 1024)) \
                    : (void)0)

#endif
