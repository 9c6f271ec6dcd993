/*
** embed.c: require("backprop") from sources compiled into the program
** (see embed.h). The module's Lua files become package.preload entries,
** each a loader that runs its source as the file loader would run the
** file (same arguments, same chunk name), and backprop.core becomes the
** preload entry for the C module. Only the Lua 5.1 API is used: the same
** file serves a host of any version.
*/
#include <string.h>

#include "embed.h"
#include "lauxlib.h"

/* package.preload[name] loader: the source in upvalue 1, run with the
** arguments require passes (the module name, and from 5.2 on ":preload:"). */
static int load_source(lua_State *L) {
  const lbp_source *s = lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbuffer(L, s->code, s->len, s->chunkname) != 0)
    return lua_error(L);
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* Push package.preload. */
static void preload_table(lua_State *L) {
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1))
    luaL_error(L, "backprop: open the package library first (luaL_openlibs)");
  lua_getfield(L, -1, "preload");
  lua_remove(L, -2);
}

static void push_loader(lua_State *L, const lbp_source *s) {
  lua_pushlightuserdata(L, (void *)s);
  lua_pushcclosure(L, load_source, 1);
}

void lbp_preload(lua_State *L, const lbp_source *sources) {
  preload_table(L);
  for (; sources->name != NULL; sources++) {
    push_loader(L, sources);
    lua_setfield(L, -2, sources->name);
  }
  lua_pop(L, 1);
}

int luaopen_backprop(lua_State *L) {
  const lbp_source *s = lbp_backprop_sources;
  lbp_preload(L, s);
  preload_table(L);
  lua_pushcfunction(L, luaopen_backprop_core);
  lua_setfield(L, -2, "backprop.core");
  lua_pop(L, 1);
  while (s->name != NULL && strcmp(s->name, "backprop") != 0) s++;
  if (s->name == NULL)
    return luaL_error(L, "backprop: src/backprop/init.lua is not compiled in");
  push_loader(L, s);
  lua_pushstring(L, "backprop");
  lua_call(L, 1, 1);
  return 1;
}
