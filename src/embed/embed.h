/*
** embed.h: backprop inside a C program that embeds Lua and links backprop
** statically (build/lib/libbackprop_lua.a, make embed): the module and its
** Lua files compiled in, so nothing but the executable is needed.
**
**   luaL_openlibs(L);
**   luaL_requiref(L, "backprop", luaopen_backprop, 0);   (pushes bp)
**   lua_pop(L, 1);
**
** after which require("backprop"), and the backprop.* modules it loads,
** come from the executable, whatever package.path and package.cpath say.
** Each Lua state opens its own: two states in two threads share nothing
** (the generator, the thread pool and every buffer are per state).
*/
#ifndef LBP_EMBED_H
#define LBP_EMBED_H

#include <stddef.h>

#include "lua.h"

/* A Lua file compiled in (tools/embed_lua.lua writes tables of them). */
typedef struct lbp_source {
  const char *name;        /* its module name: "backprop.fit" */
  const char *chunkname;   /* "@src/backprop/fit.lua": errors name it */
  const char *code;
  size_t len;
} lbp_source;

/* backprop's own: the files of src/backprop/ (build/embed/backprop_lua.c). */
extern const lbp_source lbp_backprop_sources[];

/* Put each of sources (up to a NULL name) in package.preload: require
** then runs it, as it would run the file. Needs the package library. */
void lbp_preload(lua_State *L, const lbp_source *sources);

/* require("backprop") from what is compiled in: backprop.core (the C
** module, opened with luaL_requiref), the Lua modules in package.preload,
** then init.lua's result, the bp table. For luaL_requiref. */
int luaopen_backprop(lua_State *L);
/* The C module alone (src/lua/lbackprop.c). */
int luaopen_backprop_core(lua_State *L);

#endif
