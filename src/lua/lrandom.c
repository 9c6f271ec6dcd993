/*
** lrandom.c: the random generator each Lua state owns (lstate.h), seeded
** by bp.manual_seed; tensors' randn/rand/randperm, weight initialization
** and Dropout draw from it.
*/
#include <stdint.h>

#include "lstate.h"
#include "lcheck.h"

#define DEFAULT_SEED 5489   /* used until bp.manual_seed is called */

static const char RNG_KEY = 'r';   /* its address keys the registry */

bp_rng *lbp_rng(lua_State *L) {
  bp_rng *r;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &RNG_KEY);
  r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

static int l_manual_seed(lua_State *L) {
  /* lua_tointegerx takes a float with an integral value only when it is in
  ** the integer range (a C cast of 2^63 would be undefined behaviour). */
  int ok = 0;
  lua_Integer seed =
      lua_type(L, 1) == LUA_TNUMBER ? lua_tointegerx(L, 1, &ok) : 0;
  if (!ok)
    lbp_error(L, "backprop.manual_seed", "seed must be an integer, got %s",
              lua_type(L, 1) == LUA_TNUMBER ? lua_tostring(L, 1)
                                            : luaL_typename(L, 1));
  bp_rng_seed(lbp_rng(L), (uint64_t)seed);
  return 0;
}

void lbp_open_random(lua_State *L) {
  bp_rng *r = lua_newuserdata(L, sizeof *r);
  bp_rng_seed(r, DEFAULT_SEED);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &RNG_KEY);
  lua_pushcfunction(L, l_manual_seed);
  lua_setfield(L, -2, "manual_seed");
}
