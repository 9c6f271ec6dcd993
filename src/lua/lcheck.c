/* lcheck.c: the argument checks every binding file shares (lcheck.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lcheck.h"

/* used until bp.manual_seed is called */

int lbp_error(lua_State *L, const char *fn, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s: %s", fn, msg);
}

void *lbp_checkudata(lua_State *L, int idx, const char *tname,
                        const char *fn, const char *arg) {
  void *p = luaL_testudata(L, idx, tname);
  if (p == NULL) {
    const char *got = luaL_typename(L, idx);
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
      got = lua_tostring(L, -1);
    lbp_error(L, fn, "%s must be a %s, got %s", arg, tname, got);
  }
  return p;
}

size_t lbp_checksize(lua_State *L, int idx, const char *fn, const char *arg) {
  lua_Number v;
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be a positive integer, got %s", arg,
              luaL_typename(L, idx));
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    if (i < 1 || (size_t)i > (size_t)-1 / 8)
      lbp_error(L, fn, "%s must be a positive integer, got " LUA_INTEGER_FMT,
                arg, i);
    return (size_t)i;
  }
  v = lua_tonumber(L, idx);
  if (!(v >= 1 && v <= 9007199254740992.0 && v == floor(v)))
    lbp_error(L, fn, "%s must be a positive integer, got %g", arg, (double)v);
  return (size_t)v;
}

double lbp_checkfinite(lua_State *L, int idx, const char *fn,
                       const char *arg) {
  double v;
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be a number, got %s", arg, luaL_typename(L, idx));
  v = (double)lua_tonumber(L, idx);
  if (!isfinite(v))
    lbp_error(L, fn, "%s must be a finite number, got %g", arg, v);
  return v;
}

void lbp_checkoptions(lua_State *L, int idx, const char *fn,
                      const char *const keys[]) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int i, known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING)
      for (i = 0; keys[i] != NULL; i++)
        if (strcmp(lua_tostring(L, -1), keys[i]) == 0) known = 1;
    if (!known) {
      /* The key's text first: the order in which C evaluates the
      ** arguments of lbp_error below is unspecified. */
      const char *key = luaL_tolstring(L, -1, NULL);
      luaL_Buffer b;
      if (keys[0] == NULL)
        lbp_error(L, fn, "unknown option '%s' (it takes no options)", key);
      luaL_buffinit(L, &b);
      for (i = 0; keys[i] != NULL; i++) {
        if (i > 0) luaL_addstring(&b, ", ");
        luaL_addstring(&b, keys[i]);
      }
      luaL_pushresult(&b);
      lbp_error(L, fn, "unknown option '%s' (expected one of: %s)", key,
                lua_tostring(L, -1));
    }
  }
}

void lbp_newclass(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *methods, const char *field,
                  const luaL_Reg *functions) {
  luaL_newmetatable(L, tname);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  if (field != NULL) {
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, field);
  }
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, functions, 0);
}

void lbp_setinternal(lua_State *L, const luaL_Reg *funcs) {
  lua_getfield(L, -1, "internal");
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
}

void lbp_checknargs(lua_State *L, int self, int max, const char *fn) {
  int n = lua_gettop(L);
  while (n > self && lua_isnil(L, n)) n--;     /* f(a, nil) is f(a) */
  if (n - self > max && max == 0)
    lbp_error(L, fn, "takes no arguments, got %d", n - self);
  if (n - self > max)
    lbp_error(L, fn, "takes at most %d argument%s, got %d", max,
              max == 1 ? "" : "s", n - self);
}

int lbp_checkboolean(lua_State *L, int idx, const char *fn, const char *arg) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) != LUA_TBOOLEAN)
    lbp_error(L, fn, "%s must be a boolean, got %s", arg,
              luaL_typename(L, idx));
  return lua_toboolean(L, idx);
}

size_t lbp_checklist(lua_State *L, int idx, const char *fn, const char *what) {
  lua_Integer n = luaL_len(L, idx), keys = 0;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    keys++;
  }
  if (keys != n)
    lbp_error(L, fn, "%s is not a list: it has %ld keys but its length is "
              "%ld (a hole such as {[1] = 1, [3] = 3}, or keys other than "
              "1..n)", what, (long)keys, (long)n);
  return (size_t)n;
}
