/*
** lsave.c: what files need from the binding: internal.write_file, the
** atomic write of io/file.h for the Lua modules (plot.lua's SVG files),
** so every file the library writes is replaced whole or not at all.
*/
#include "io/file.h"
#include "lcheck.h"
#include "lsave.h"

/* internal.write_file(path, text): true, or nil and the message
** ("cannot write 'x.svg': ..."), for the caller to raise under its name. */
static int l_write_file(lua_State *L) {
  const char *fn = "backprop.internal.write_file";
  size_t n;
  const char *data;
  bp_error err;
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, fn, "path must be a string, got %s", luaL_typename(L, 1));
  if (lua_type(L, 2) != LUA_TSTRING)
    lbp_error(L, fn, "text must be a string, got %s", luaL_typename(L, 2));
  data = lua_tolstring(L, 2, &n);
  if (bp_file_write(lua_tostring(L, 1), data, n, &err) != BP_OK) {
    lua_pushnil(L);
    lua_pushstring(L, err.msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

void lbp_open_save(lua_State *L) {
  static const luaL_Reg internal[] = {
    {"write_file", l_write_file}, {NULL, NULL}
  };
  lbp_setinternal(L, internal);
}
