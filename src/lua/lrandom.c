/*
** lrandom.c: the random generator each Lua state owns (lstate.h), seeded
** by bp.manual_seed, saved and restored by bp.get_rng_state and
** bp.set_rng_state (checkpoints); tensors' randn/rand/randperm, weight
** initialization, fit's shuffling and Dropout draw from it.
*/
#include <math.h>
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

/* bp.get_rng_state(): the generator's state, a table of its four 32-bit
** words (xoshiro128**, rng.h), as torch.get_rng_state gives its own:
** set_rng_state puts it back exactly, and the draws go on as they would
** have. (Integers where lua_Integer holds 32 bits unsigned, else floats:
** exact either way.) */
static int l_get_rng_state(lua_State *L) {
  const bp_rng *r = lbp_rng(L);
  int k;
  lua_createtable(L, 4, 0);
  for (k = 0; k < 4; k++) {
    if (sizeof(lua_Integer) > sizeof(uint32_t))
      lua_pushinteger(L, (lua_Integer)r->s[k]);
    else
      lua_pushnumber(L, (lua_Number)r->s[k]);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

/* bp.set_rng_state(state): a table from get_rng_state. */
static int l_set_rng_state(lua_State *L) {
  const char *fn = "backprop.set_rng_state";
  bp_rng r;
  int k;
  if (!lua_istable(L, 1) || lbp_checklist(L, 1, fn, "state") != 4)
    lbp_error(L, fn, "state must be a table of 4 integers (from "
              "bp.get_rng_state()), got %s", lua_istable(L, 1)
              ? "another table" : luaL_typename(L, 1));
  for (k = 0; k < 4; k++) {
    lua_Number v;
    lua_rawgeti(L, 1, k + 1);
    v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v != floor(v) || v < 0 ||
        v >= 4294967296.0)
      lbp_error(L, fn, "state[%d] must be an integer in 0 .. 2^32 - 1, got "
                "%s", k + 1, lua_type(L, -1) == LUA_TNUMBER
                ? lua_tostring(L, -1) : luaL_typename(L, -1));
    r.s[k] = (uint32_t)v;
    lua_pop(L, 1);
  }
  if ((r.s[0] | r.s[1] | r.s[2] | r.s[3]) == 0)
    lbp_error(L, fn, "state cannot be all zeros (the generator would stay "
              "at 0)");
  *lbp_rng(L) = r;
  return 0;
}

void lbp_open_random(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"manual_seed", l_manual_seed}, {"get_rng_state", l_get_rng_state},
    {"set_rng_state", l_set_rng_state}, {NULL, NULL}
  };
  bp_rng *r = lua_newuserdata(L, sizeof *r);
  bp_rng_seed(r, DEFAULT_SEED);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &RNG_KEY);
  luaL_setfuncs(L, functions, 0);
}
