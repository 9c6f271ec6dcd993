/*
** lbackprop.c: the entry point of backprop.core. Each binding file
** registers its own functions; this file only calls them in turn.
**
** backprop.core holds the public names and one more field, `internal`: a
** table of what the Lua face (the .lua files of src/backprop) and the specs and
** benchmarks need but users should not (fit's trainer, data loading
** helpers, kernel entry points, the allocation counter). init.lua copies
** every name but `internal` into the public `bp` table; the Lua modules
** and the specs reach it as require("backprop.core").internal. It is not
** API: names in it may change with any release.
*/
#define _POSIX_C_SOURCE 200112L   /* fileno and isatty */

#include <stdio.h>

#if defined(_WIN32)
#include <io.h>
#define isatty _isatty
#define fileno _fileno
#else
#include <unistd.h>
#endif

#include "ldata.h"
#include "lio.h"
#include "lloss.h"
#include "lmodule.h"
#include "loptim.h"
#include "lsave.h"
#include "lstate.h"
#include "ltensor.h"

/* Whether stderr is a terminal: progress lines go only there. */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty(fileno(stderr)));
  return 1;
}

/* Allocations the core has made so far (tensor.h): specs prove with it
** that a steady loop allocates nothing. */
static int l_alloc_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)bp_alloc_count());
  return 1;
}

LBP_EXPORT int luaopen_backprop_core(lua_State *L) {
  static const luaL_Reg internal[] = {
    {"stderr_isatty", l_isatty}, {"alloc_count", l_alloc_count},
    {NULL, NULL}
  };
  lua_newtable(L);
  lua_newtable(L);
  lua_setfield(L, -2, "internal");
  lbp_setinternal(L, internal);
  lbp_open_random(L);
  lbp_open_tensor(L);
  lbp_open_module(L);
  lbp_open_train(L);
  lbp_open_loss(L);
  lbp_open_optim(L);
  lbp_open_data(L);
  lbp_open_io(L);
  lbp_open_threads(L);
  lbp_open_save(L);
  return 1;
}
