/*
** lbackprop.c: the entry point of backprop.core, the per-state random
** generator, and the argument checks every binding file shares.
*/
#define _POSIX_C_SOURCE 200112L   /* fileno and isatty */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#include <io.h>
#define isatty _isatty
#define fileno _fileno
#else
#include <unistd.h>
#endif

#include "lbackprop.h"
#include "tview.h"

#define DEFAULT_SEED 5489   /* used until bp.manual_seed is called */

int lbp_error(lua_State *L, const char *fn, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s: %s", fn, msg);
}

static void *checkudata(lua_State *L, int idx, const char *tname,
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

ltensor *lbp_checkanytensor(lua_State *L, int idx, const char *fn,
                            const char *arg) {
  ltensor *t = checkudata(L, idx, LBP_TENSOR, fn, arg);
  if (t->closed) lbp_error(L, fn, "%s is a closed tensor", arg);
  return t;
}

static ltensor *checkfloat32(lua_State *L, int idx, const char *fn,
                             const char *arg) {
  ltensor *t = lbp_checkanytensor(L, idx, fn, arg);
  if (t->t.dtype != BP_FLOAT32)
    lbp_error(L, fn, "%s expected a float32 tensor, got uint8 (convert it "
              "with :float())", arg);
  return t;
}

ltensor *lbp_checktensor(lua_State *L, int idx, const char *fn,
                         const char *arg) {
  ltensor *t = checkfloat32(L, idx, fn, arg);
  if (!bp_tensor_iscontig(&t->t)) {
    /* A strided view: the call gets a contiguous copy, which the stack
    ** slot keeps alive until the call returns. */
    ltensor *c;
    idx = lua_absindex(L, idx);
    c = lbp_newtensor(L, t->t.ndim, t->t.shape, fn);
    bp_copy(&c->t, &t->t);
    lua_replace(L, idx);
    t = c;
  }
  return t;
}

ltensor *lbp_checkouttensor(lua_State *L, int idx, const char *fn,
                            const char *arg) {
  ltensor *t = checkfloat32(L, idx, fn, arg);
  if (!bp_tensor_iscontig(&t->t)) {
    lbp_shapebuf b;
    lbp_error(L, fn, "%s is a non-contiguous view (shape %s, from select, "
              "narrow or t[i]) and cannot be written into here; pass a "
              "contiguous tensor (for example view:clone()) and copy it "
              "back with view:copy(result)", arg, lbp_shape(&t->t, &b));
  }
  return t;
}

lmodule *lbp_checkmodule(lua_State *L, int idx, const char *fn,
                         const char *arg) {
  lmodule *m = checkudata(L, idx, LBP_MODULE, fn, arg);
  if (m->closed) lbp_error(L, fn, "%s is a closed module", arg);
  return m;
}

lloss *lbp_checkloss(lua_State *L, int idx, const char *fn, const char *arg) {
  return checkudata(L, idx, LBP_LOSS, fn, arg);
}

loptim *lbp_checkoptim(lua_State *L, int idx, const char *fn,
                       const char *arg) {
  return checkudata(L, idx, LBP_OPTIM, fn, arg);
}

size_t lbp_checksize(lua_State *L, int idx, const char *fn, const char *arg) {
  lua_Number v;
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be a positive integer, got %s", arg,
              luaL_typename(L, idx));
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    if (i < 1 || (lua_Unsigned)i > (size_t)-1 / 8)
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

void lbp_checkvalues(lua_State *L, const bp_tensor *t, const char *fn,
                     const char *what) {
  size_t i = bp_vfind_nonfinite(t->numel, t->data);
  if (i < t->numel) {
    lbp_shapebuf b;
    size_t cols = t->ndim > 1 ? t->numel / t->shape[0] : 1;
    if (t->ndim > 1)
      lbp_error(L, fn, "%s contains %g at row %lu, element %lu (shape %s)",
                what, t->data[i], (unsigned long)(i / cols) + 1,
                (unsigned long)(i % cols) + 1, lbp_shape(t, &b));
    lbp_error(L, fn, "%s contains %g at element %lu (shape %s)", what,
              t->data[i], (unsigned long)i + 1, lbp_shape(t, &b));
  }
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

const char *lbp_shape(const bp_tensor *t, lbp_shapebuf *b) {
  bp_shape_str(t->ndim, t->shape, b->s, sizeof b->s);
  return b->s;
}

void lbp_checktarget(lua_State *L, const char *fn, bp_loss_kind kind,
                     size_t n, size_t c, const bp_tensor *y) {
  lbp_shapebuf b;
  int labels = bp_loss_takes_labels(kind), ok;
  if (labels)
    ok = y->ndim >= 1 && y->shape[0] == n &&
         (y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1));
  else
    ok = (y->ndim == 2 && y->shape[0] == n && y->shape[1] == c) ||
         (y->ndim == 1 && y->shape[0] == n && c == 1) ||
         (y->ndim == 1 && y->shape[0] == c && n == 1);  /* one sample */
  if (!ok) {
    if (labels)
      lbp_error(L, fn, "expected %lu class labels (shape %lu or %lux1), got "
                "shape %s (prediction %lux%lu)", (unsigned long)n,
                (unsigned long)n, (unsigned long)n, lbp_shape(y, &b),
                (unsigned long)n, (unsigned long)c);
    lbp_error(L, fn, "expected target of shape %lux%lu%s, got %s "
              "(prediction %lux%lu)", (unsigned long)n, (unsigned long)c,
              c == 1 ? " (or a vector)" : "", lbp_shape(y, &b),
              (unsigned long)n, (unsigned long)c);
  }
  if (labels) return;
  lbp_checkvalues(L, y, fn, "target");
}

ltensor *lbp_newtensor(lua_State *L, int ndim, const size_t *shape,
                       const char *fn) {
  bp_error err;
  ltensor *t = lbp_newuserdata(L, sizeof *t);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LBP_TENSOR);
  if (bp_tensor_alloc(&t->t, ndim, shape, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, t->t.numel * sizeof(float));
  return t;
}

ltensor *lbp_newtensor_u8(lua_State *L, int ndim, const size_t *shape,
                          const char *fn) {
  bp_error err;
  ltensor *t = lbp_newuserdata(L, sizeof *t);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LBP_TENSOR);
  if (bp_tensor_alloc_u8(&t->t, ndim, shape, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, t->t.numel);
  return t;
}

ltensor *lbp_newview(lua_State *L, int owner, float *data, int ndim,
                     const size_t *shape) {
  ltensor *t;
  owner = lua_absindex(L, owner);
  t = lbp_newuserdata(L, sizeof *t);
  memset(t, 0, sizeof *t);
  bp_tensor_view(&t->t, data, ndim, shape);
  luaL_setmetatable(L, LBP_TENSOR);
  lua_pushvalue(L, owner);
  lbp_setuservalue(L, -2);
  return t;
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

/* ------------------------------------------------------------------ */

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

int luaopen_backprop_core(lua_State *L) {
  bp_rng *r = lua_newuserdata(L, sizeof *r);
  bp_rng_seed(r, DEFAULT_SEED);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &RNG_KEY);
  lua_newtable(L);
  lua_pushcfunction(L, l_manual_seed);
  lua_setfield(L, -2, "manual_seed");
  lua_pushcfunction(L, l_isatty);
  lua_setfield(L, -2, "_stderr_isatty");
  lua_pushcfunction(L, l_alloc_count);
  lua_setfield(L, -2, "_alloc_count");
  lbp_open_tensor(L);
  lbp_open_module(L);
  lbp_open_loss(L);
  lbp_open_optim(L);
  lbp_open_data(L);
  lbp_open_threads(L);
  return 1;
}
