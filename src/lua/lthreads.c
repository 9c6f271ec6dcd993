/*
** lthreads.c: bp.set_num_threads / bp.get_num_threads, the per-state
** thread pool behind them, and the test-only kernel entry points
** (core.internal: internal.gemm, internal.set_isa, ...), which the specs
** use to compare every kernel and dispatch path with plain loops. Also
** bp.clock, the wall clock that timing threaded work needs.
*/
#define _POSIX_C_SOURCE 200112L  /* clock_gettime */

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cpu.h"
#include "kernels/gemm.h"
#include "lstate.h"
#include "ltensor.h"
#include "base/threadpool.h"
#include "kernels/vmath.h"

#define LBP_POOL "backprop.ThreadPool"

/* The registry holds one userdata per state: a pointer to its pool,
** freed (threads joined) by __gc when the state closes. */
static const char POOL_KEY = 'p';

typedef struct lpool {
  bp_pool *pool;
} lpool;

/* bp.clock(): seconds from an arbitrary start, monotonic where the
** system has such a clock. os.clock adds up the CPU time of every thread,
** so it cannot time work split over threads. */
static int l_clock(lua_State *L) {
#if defined(_POSIX_TIMERS) && _POSIX_TIMERS > 0 && defined(CLOCK_MONOTONIC)
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
  }
#endif
  lua_pushnumber(L, (lua_Number)clock() / CLOCKS_PER_SEC);
  return 1;
}

static int pool_gc(lua_State *L) {
  lpool *p = luaL_checkudata(L, 1, LBP_POOL);
  bp_pool_free(p->pool);
  p->pool = NULL;
  return 0;
}

static lpool *getpool(lua_State *L) {
  lpool *p;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &POOL_KEY);
  p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}

struct bp_pool **lbp_poolslot(lua_State *L) {
  lpool *p = getpool(L);
  return p != NULL ? &p->pool : NULL;
}

struct bp_pool *lbp_pool(lua_State *L) {
  lpool *p = getpool(L);
  return p != NULL ? p->pool : NULL;
}

static int l_set_num_threads(lua_State *L) {
  const char *fn = "backprop.set_num_threads";
  lpool *p = getpool(L);
  bp_pool *np = NULL;
  bp_error err;
  int ok = 0;
  lua_Integer n = lua_type(L, 1) == LUA_TNUMBER ? lua_tointegerx(L, 1, &ok) : 0;
  if (!ok || n < 1 || n > BP_POOL_MAX)
    return lbp_error(L, fn, "argument 1 (n) must be an integer from 1 to %d, got %s",
                     BP_POOL_MAX, lua_type(L, 1) == LUA_TNUMBER
                                      ? lua_tostring(L, 1) : luaL_typename(L, 1));
  if ((size_t)n == bp_pool_size(p->pool)) return 0;
  /* One thread needs no pool: bp_gemm_mt(NULL, ...) stays on the caller. */
  if (n > 1 && bp_pool_new((size_t)n, &np, &err) != BP_OK)
    return lbp_error(L, fn, "%s", err.msg);
  bp_pool_free(p->pool);
  p->pool = np;
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)bp_pool_size(lbp_pool(L)));
  return 1;
}

/* ---- test-only entry points ------------------------------------------ */

static bp_isa checkisa(lua_State *L, int idx, const char *fn) {
  const char *name = luaL_checkstring(L, idx);
  bp_isa isa;
  if (!bp_isa_parse(name, &isa))
    lbp_error(L, fn, "unknown ISA '%s' (expected portable, avx2 or avx512)", name);
  return isa;
}

/* internal.set_isa(name) -> previous name */
static int l_set_isa(lua_State *L) {
  const char *fn = "backprop.internal.set_isa";
  bp_isa isa = checkisa(L, 1, fn), prev;
  bp_error err;
  if (bp_isa_set(isa, &prev, &err) != BP_OK) return lbp_error(L, fn, "%s", err.msg);
  lua_pushstring(L, bp_isa_name(prev));
  return 1;
}

/* internal.isa() -> the active ISA; internal.isas() -> those this CPU runs */
static int l_isa(lua_State *L) {
  lua_pushstring(L, bp_isa_name(bp_isa_active()));
  lua_pushstring(L, bp_gemm_backend());
  return 2;
}

static int l_isas(lua_State *L) {
  int i, k = 0;
  lua_newtable(L);
  for (i = 0; i < BP_ISA_COUNT; i++)
    if (bp_cpu_has((bp_isa)i)) {
      lua_pushstring(L, bp_isa_name((bp_isa)i));
      lua_rawseti(L, -2, ++k);
    }
  return 1;
}

/* A rows x cols matrix at offset off (0-based) with row stride ld inside
** tensor t: checked to lie within its storage. */
static float *checkmat(lua_State *L, const char *fn, const char *what,
                       ltensor *t, size_t off, size_t rows, size_t cols,
                       size_t ld) {
  if (ld < cols || (rows > 0 && cols > 0 &&
                    off + (rows - 1) * ld + cols > t->t.numel))
    lbp_error(L, fn, "%s: %lux%lu matrix at offset %lu with ld %lu does not fit in %lu elements",
              what, (unsigned long)rows, (unsigned long)cols, (unsigned long)off,
              (unsigned long)ld, (unsigned long)t->t.numel);
  return t->t.data + off;
}

/* internal.gemm(ta, tb, M, N, K, alpha, A, offa, lda, B, offb, ldb, beta,
**            C, offc, ldc [, use_pool]): bp_gemm on flat storage. */
static int l_gemm(lua_State *L) {
  const char *fn = "backprop.internal.gemm";
  int ta = lua_toboolean(L, 1), tb = lua_toboolean(L, 2);
  size_t M = (size_t)luaL_checkinteger(L, 3), N = (size_t)luaL_checkinteger(L, 4),
         K = (size_t)luaL_checkinteger(L, 5);
  float alpha = (float)luaL_checknumber(L, 6), beta = (float)luaL_checknumber(L, 13);
  ltensor *a = lbp_checktensor(L, 7, fn, "A"), *b = lbp_checktensor(L, 10, fn, "B"),
          *c = lbp_checktensor(L, 14, fn, "C");
  size_t offa = (size_t)luaL_checkinteger(L, 8), lda = (size_t)luaL_checkinteger(L, 9),
         offb = (size_t)luaL_checkinteger(L, 11), ldb = (size_t)luaL_checkinteger(L, 12),
         offc = (size_t)luaL_checkinteger(L, 15), ldc = (size_t)luaL_checkinteger(L, 16);
  const float *A = checkmat(L, fn, "A", a, offa, ta ? K : M, ta ? M : K, lda);
  const float *B = checkmat(L, fn, "B", b, offb, tb ? N : K, tb ? K : N, ldb);
  float *C = checkmat(L, fn, "C", c, offc, M, N, ldc);
  bp_gemm_mt(lua_toboolean(L, 17) ? lbp_pool(L) : NULL, ta, tb, M, N, K, alpha,
             A, lda, B, ldb, beta, C, ldc);
  return 0;
}

/* internal.vmath(name, x, y): y = f(x) elementwise, same element count. */
static int l_vmath(lua_State *L) {
  const char *fn = "backprop.internal.vmath";
  static const char *const names[] = {"exp", "sigmoid", "tanh", NULL};
  int op = luaL_checkoption(L, 1, NULL, names);
  ltensor *x = lbp_checktensor(L, 2, fn, "x"), *y = lbp_checktensor(L, 3, fn, "y");
  if (x->t.numel != y->t.numel)
    return lbp_error(L, fn, "x has %lu elements, y %lu", (unsigned long)x->t.numel,
                     (unsigned long)y->t.numel);
  if (op == 0) bp_vexp(x->t.numel, x->t.data, y->t.data);
  else if (op == 1) bp_vsigmoid(x->t.numel, x->t.data, y->t.data);
  else bp_vtanh(x->t.numel, x->t.data, y->t.data);
  return 0;
}

void lbp_open_threads(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", pool_gc}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"set_num_threads", l_set_num_threads}, {"get_num_threads", l_get_num_threads},
      {"clock", l_clock}, {NULL, NULL}};
  static const luaL_Reg internal[] = {
      {"set_isa", l_set_isa}, {"isa", l_isa}, {"isas", l_isas},
      {"gemm", l_gemm}, {"vmath", l_vmath}, {NULL, NULL}};
  lpool *p = lua_newuserdata(L, sizeof *p);
  p->pool = NULL;
  luaL_newmetatable(L, LBP_POOL);
  luaL_setfuncs(L, meta, 0);
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &POOL_KEY);
  luaL_setfuncs(L, funcs, 0);
  lbp_setinternal(L, internal);
}
