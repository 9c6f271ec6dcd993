/*
** lstate.h: what each Lua state owns once, looked up through the registry:
** the random generator behind bp.manual_seed (lrandom.c) and the thread
** pool behind bp.set_num_threads (lthreads.c). Nothing is global: two Lua
** states in two threads never share them.
*/
#ifndef LSTATE_H
#define LSTATE_H

#include "base/rng.h"
#include "compat.h"

struct bp_pool;

/* The state's generator. */
bp_rng *lbp_rng(lua_State *L);
/* The state's thread pool, NULL for one thread; pass it to bp_gemm_mt.
** Owned by the state: never free it. */
struct bp_pool *lbp_pool(lua_State *L);
/* Where the state keeps its pool pointer: the address stays valid for the
** state's lifetime while set_num_threads changes what it holds. */
struct bp_pool **lbp_poolslot(lua_State *L);

void lbp_open_random(lua_State *L);
void lbp_open_threads(lua_State *L);

#endif
