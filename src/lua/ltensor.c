/*
** ltensor.c: backprop.Tensor, float32 tensors as Lua userdata.
** Indices are 1-based, as everywhere in Lua. Tensors may hold any float,
** NaN and infinity included; the places where such a value would poison
** training (network inputs, loss arguments) check for it.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "lbackprop.h"

#define CHECK_T(L, i, fn) lbp_checktensor(L, i, fn, "self")

/* --- construction ---------------------------------------------------- */

/* Shape from the arguments from `first` on: numbers, or one table of them. */
static int getshape(lua_State *L, int first, const char *fn, size_t *shape) {
  int top = lua_gettop(L), n, i;
  if (top >= first && lua_istable(L, first)) {
    n = (int)luaL_len(L, first);
    if (n < 1 || n > BP_MAXDIM)
      lbp_error(L, fn, "expected 1 to %d sizes, got %d", BP_MAXDIM, n);
    for (i = 1; i <= n; i++) {
      lua_geti(L, first, i);
      shape[i - 1] = lbp_checksize(L, -1, fn, "size");
      lua_pop(L, 1);
    }
    return n;
  }
  n = top - first + 1;
  if (n < 1 || n > BP_MAXDIM)
    lbp_error(L, fn, "expected 1 to %d sizes, got %d", BP_MAXDIM, n < 0 ? 0 : n);
  for (i = 0; i < n; i++) shape[i] = lbp_checksize(L, first + i, fn, "size");
  return n;
}

static int l_zeros(lua_State *L) {
  size_t shape[BP_MAXDIM];
  int nd = getshape(L, 1, "backprop.zeros", shape);
  lbp_newtensor(L, nd, shape, "backprop.zeros");
  return 1;
}

static int l_ones(lua_State *L) {
  size_t shape[BP_MAXDIM];
  int nd = getshape(L, 1, "backprop.ones", shape);
  ltensor *t = lbp_newtensor(L, nd, shape, "backprop.ones");
  bp_vfill(t->t.numel, 1.0f, t->t.data);
  return 1;
}

static int l_randn(lua_State *L) {
  size_t shape[BP_MAXDIM], i;
  int nd = getshape(L, 1, "backprop.randn", shape);
  ltensor *t = lbp_newtensor(L, nd, shape, "backprop.randn");
  bp_rng *r = lbp_rng(L);
  for (i = 0; i < t->t.numel; i++) t->t.data[i] = (float)bp_rng_normal(r);
  return 1;
}

static int l_rand(lua_State *L) {
  size_t shape[BP_MAXDIM], i;
  int nd = getshape(L, 1, "backprop.rand", shape);
  ltensor *t = lbp_newtensor(L, nd, shape, "backprop.rand");
  bp_rng *r = lbp_rng(L);
  for (i = 0; i < t->t.numel; i++) t->t.data[i] = (float)bp_rng_uniform(r);
  return 1;
}

/* Fill from a nested table at idx, checking it is rectangular. */
static void fill(lua_State *L, int idx, int d, int nd, const size_t *shape,
                 float **out, char *path, size_t plen) {
  size_t i, n;
  if (lua_type(L, idx) != LUA_TTABLE)
    lbp_error(L, "backprop.tensor", "element %s is a %s, expected a table "
              "(rows must all have the same shape)", path,
              luaL_typename(L, idx));
  n = (size_t)luaL_len(L, idx);
  if (n != shape[d])
    lbp_error(L, "backprop.tensor", "element %s has %lu entries, expected %lu "
              "(rows must all have the same length)", plen ? path : "{}",
              (unsigned long)n, (unsigned long)shape[d]);
  for (i = 1; i <= n; i++) {
    int k = snprintf(path + plen, 200 - plen, "[%lu]", (unsigned long)i);
    size_t sub = plen + (k > 0 && (size_t)k < 200 - plen ? (size_t)k : 0);
    lua_geti(L, idx, (lua_Integer)i);
    if (d + 1 < nd) {
      fill(L, lua_gettop(L), d + 1, nd, shape, out, path, sub);
    } else {
      if (lua_type(L, -1) != LUA_TNUMBER)
        lbp_error(L, "backprop.tensor", "element %s is a %s, expected a "
                  "number", path, luaL_typename(L, -1));
      *(*out)++ = (float)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    path[plen] = '\0';
  }
}

static int l_tensor(lua_State *L) {
  size_t shape[BP_MAXDIM];
  char path[200] = "";
  int nd = 0;
  float *p;
  ltensor *t;
  if (luaL_testudata(L, 1, LBP_TENSOR)) {        /* a copy */
    ltensor *src = CHECK_T(L, 1, "backprop.tensor");
    t = lbp_newtensor(L, src->t.ndim, src->t.shape, "backprop.tensor");
    memcpy(t->t.data, src->t.data, src->t.numel * sizeof(float));
    return 1;
  }
  if (lua_type(L, 1) != LUA_TTABLE)
    lbp_error(L, "backprop.tensor", "data must be a (nested) table of "
              "numbers, got %s", luaL_typename(L, 1));
  lua_pushvalue(L, 1);
  while (lua_type(L, -1) == LUA_TTABLE) {       /* shape from first elements */
    lua_Integer n = luaL_len(L, -1);
    if (nd == BP_MAXDIM)
      lbp_error(L, "backprop.tensor", "more than %d levels of nesting",
                BP_MAXDIM);
    if (n < 1)
      lbp_error(L, "backprop.tensor", "empty table at nesting level %d (empty "
                "tensors are not supported)", nd + 1);
    shape[nd++] = (size_t)n;
    lua_geti(L, -1, 1);
  }
  lua_pop(L, nd + 1);
  t = lbp_newtensor(L, nd, shape, "backprop.tensor");
  p = t->t.data;
  fill(L, 1, 0, nd, shape, &p, path, 0);
  return 1;
}

/* --- gc, close, shape ------------------------------------------------ */

static int t_gc(lua_State *L) {
  ltensor *t = luaL_checkudata(L, 1, LBP_TENSOR);
  bp_tensor_release(&t->t);
  t->closed = 1;
  return 0;
}

/* `local t <close> = ...` frees the storage at once, unless views may
** still point into it; then __gc does it when they are gone. */
static int t_close(lua_State *L) {
  ltensor *t = luaL_checkudata(L, 1, LBP_TENSOR);
  if (t->views == 0) bp_tensor_release(&t->t);
  t->closed = 1;
  return 0;
}

static int t_shape(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:shape");
  int i;
  lua_createtable(L, t->t.ndim, 0);
  for (i = 0; i < t->t.ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->t.shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, CHECK_T(L, 1, "backprop.Tensor:dim")->t.ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)CHECK_T(L, 1, "backprop.Tensor:numel")->t.numel);
  return 1;
}

static int t_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)CHECK_T(L, 1, "backprop.Tensor:__len")->t.shape[0]);
  return 1;
}

/* Dimension argument: 1..ndim. */
static int checkdim(lua_State *L, int idx, const bp_tensor *t, const char *fn) {
  size_t d = lbp_checksize(L, idx, fn, "dim");
  if (d > (size_t)t->ndim)
    lbp_error(L, fn, "dim is %lu, but the tensor has %d dimension%s",
              (unsigned long)d, t->ndim,
              t->ndim == 1 ? "" : "s");
  return (int)d - 1;
}

/* Flat offset of the indices given from argument 2 on. */
static size_t offset(lua_State *L, const bp_tensor *t, int nidx,
                     const char *fn) {
  size_t off = 0;
  int i;
  if (nidx != t->ndim)
    lbp_error(L, fn, "expected %d ind%s for a %d-D tensor, got %d", t->ndim,
              t->ndim == 1 ? "ex" : "ices", t->ndim, nidx);
  for (i = 0; i < t->ndim; i++) {
    size_t k = lbp_checksize(L, i + 2, fn, "index");
    if (k > t->shape[i])
      lbp_error(L, fn, "index %d is %lu, out of range 1..%lu", i + 1,
                (unsigned long)k, (unsigned long)t->shape[i]);
    off = off * t->shape[i] + (k - 1);
  }
  return off;
}

static int t_get(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:get");
  size_t off = offset(L, &t->t, lua_gettop(L) - 1, "backprop.Tensor:get");
  lua_pushnumber(L, t->t.data[off]);
  return 1;
}

static int t_set(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:set");
  int top = lua_gettop(L);
  size_t off;
  float v;
  if (top < 2 || lua_type(L, top) != LUA_TNUMBER)
    lbp_error(L, "backprop.Tensor:set", "expected indices then a number "
              "value, got %s last", luaL_typename(L, top));
  v = (float)lua_tonumber(L, top);
  lua_settop(L, top - 1);
  off = offset(L, &t->t, top - 2, "backprop.Tensor:set");
  t->t.data[off] = v;
  lua_settop(L, 1);
  return 1;
}

static void push_nested(lua_State *L, const bp_tensor *t, int d,
                        const float **p) {
  size_t i, n = t->shape[d];
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    if (d + 1 < t->ndim) push_nested(L, t, d + 1, p);
    else lua_pushnumber(L, *(*p)++);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int t_totable(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:totable");
  const float *p = t->t.data;
  luaL_checkstack(L, t->t.ndim + 4, "tensor too deep");
  push_nested(L, &t->t, 0, &p);
  return 1;
}

/* --- arithmetic ------------------------------------------------------ */

typedef void (*binop)(size_t, const float *, const float *, float *);

static void same_shape(lua_State *L, const bp_tensor *a, const bp_tensor *b,
                       const char *fn) {
  lbp_shapebuf sa, sb;
  if (a->ndim != b->ndim ||
      memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape) != 0)
    lbp_error(L, fn, "shapes %s and %s do not match", lbp_shape(a, &sa),
              lbp_shape(b, &sb));
}

/* a op b where either may be a number; op_scalar(x, s) gives scale/shift. */
static int arith(lua_State *L, const char *fn, binop op, int kind) {
  int an = lua_type(L, 1) == LUA_TNUMBER, bn = lua_type(L, 2) == LUA_TNUMBER;
  ltensor *a, *b, *y;
  if (an && bn) lbp_error(L, fn, "expected at least one backprop.Tensor");
  if (!an && !bn) {
    a = lbp_checktensor(L, 1, fn, "left");
    b = lbp_checktensor(L, 2, fn, "right");
    same_shape(L, &a->t, &b->t, fn);
    y = lbp_newtensor(L, a->t.ndim, a->t.shape, fn);
    op(a->t.numel, a->t.data, b->t.data, y->t.data);
    return 1;
  } else {
    ltensor *t = lbp_checktensor(L, an ? 2 : 1, fn, an ? "right" : "left");
    float s = (float)lua_tonumber(L, an ? 1 : 2);
    float scale = 1.0f, shift = 0.0f;
    size_t i;
    y = lbp_newtensor(L, t->t.ndim, t->t.shape, fn);
    switch (kind) {
      case '+': shift = s; break;
      case '-': if (an) { scale = -1.0f; shift = s; } else shift = -s; break;
      case '*': scale = s; break;
      case '/':
        if (an) {         /* s / t */
          for (i = 0; i < t->t.numel; i++) y->t.data[i] = s / t->t.data[i];
          return 1;
        }
        for (i = 0; i < t->t.numel; i++) y->t.data[i] = t->t.data[i] / s;
        return 1;
    }
    bp_vaffine(t->t.numel, t->t.data, scale, shift, y->t.data);
    return 1;
  }
}

static int t_add(lua_State *L) { return arith(L, "backprop.Tensor:add", bp_vadd, '+'); }
static int t_sub(lua_State *L) { return arith(L, "backprop.Tensor:sub", bp_vsub, '-'); }
static int t_mul(lua_State *L) { return arith(L, "backprop.Tensor:mul", bp_vmul, '*'); }
static int t_div(lua_State *L) { return arith(L, "backprop.Tensor:div", bp_vdiv, '/'); }

static int t_unm(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:__unm");
  ltensor *y = lbp_newtensor(L, t->t.ndim, t->t.shape, "backprop.Tensor:__unm");
  bp_vaffine(t->t.numel, t->t.data, -1.0f, 0.0f, y->t.data);
  return 1;
}

static int t_matmul(lua_State *L) {
  const char *fn = "backprop.Tensor:matmul";
  ltensor *a = CHECK_T(L, 1, fn), *b = lbp_checktensor(L, 2, fn, "other");
  size_t m, k, k2, n, shape[2];
  int nd = 0;
  lbp_shapebuf sa, sb;
  if (a->t.ndim > 2 || b->t.ndim > 2)
    lbp_error(L, fn, "expected 1-D or 2-D tensors, got %s and %s",
              lbp_shape(&a->t, &sa), lbp_shape(&b->t, &sb));
  m = a->t.ndim == 2 ? a->t.shape[0] : 1;
  k = a->t.ndim == 2 ? a->t.shape[1] : a->t.shape[0];
  k2 = b->t.shape[0];
  n = b->t.ndim == 2 ? b->t.shape[1] : 1;
  if (k != k2)
    lbp_error(L, fn, "cannot multiply %s by %s (inner sizes %lu and %lu "
              "differ)", lbp_shape(&a->t, &sa), lbp_shape(&b->t, &sb),
              (unsigned long)k, (unsigned long)k2);
  if (a->t.ndim == 1 && b->t.ndim == 1) {    /* dot product, in double */
    double s = 0.0;
    size_t i;
    for (i = 0; i < k; i++) s += (double)a->t.data[i] * b->t.data[i];
    lua_pushnumber(L, s);
    return 1;
  }
  if (a->t.ndim == 2) shape[nd++] = m;
  if (b->t.ndim == 2) shape[nd++] = n;
  {
    ltensor *y = lbp_newtensor(L, nd, shape, fn);
    bp_gemm(0, 0, m, n, k, 1.0f, a->t.data, k, b->t.data, n, 0.0f, y->t.data,
            n);
  }
  return 1;
}

/* --- reductions ------------------------------------------------------ */

/* Split around dimension d: outer x len x inner. */
static void around(const bp_tensor *t, int d, size_t *outer, size_t *len,
                   size_t *inner) {
  int i;
  *outer = *inner = 1;
  for (i = 0; i < d; i++) *outer *= t->shape[i];
  *len = t->shape[d];
  for (i = d + 1; i < t->ndim; i++) *inner *= t->shape[i];
}

/* New tensor with dimension d removed (the caller knows ndim > 1). */
static ltensor *reduced(lua_State *L, const bp_tensor *t, int d,
                        const char *fn) {
  size_t shape[BP_MAXDIM];
  int i, k = 0;
  for (i = 0; i < t->ndim; i++)
    if (i != d) shape[k++] = t->shape[i];
  return lbp_newtensor(L, k, shape, fn);
}

static int sum_or_mean(lua_State *L, int mean, const char *fn) {
  ltensor *t = CHECK_T(L, 1, fn);
  size_t outer, len, inner, o, j, k;
  ltensor *y;
  int d;
  if (lua_isnoneornil(L, 2) || t->t.ndim == 1) {
    double s;
    if (!lua_isnoneornil(L, 2)) checkdim(L, 2, &t->t, fn);
    s = bp_vsum(t->t.numel, t->t.data);
    lua_pushnumber(L, mean ? s / (double)t->t.numel : s);
    return 1;
  }
  d = checkdim(L, 2, &t->t, fn);
  around(&t->t, d, &outer, &len, &inner);
  y = reduced(L, &t->t, d, fn);
  for (o = 0; o < outer; o++)
    for (k = 0; k < inner; k++) {
      double s = 0.0;
      for (j = 0; j < len; j++) s += t->t.data[(o * len + j) * inner + k];
      y->t.data[o * inner + k] = (float)(mean ? s / (double)len : s);
    }
  return 1;
}

static int t_sum(lua_State *L) { return sum_or_mean(L, 0, "backprop.Tensor:sum"); }
static int t_mean(lua_State *L) { return sum_or_mean(L, 1, "backprop.Tensor:mean"); }

static int t_argmax(lua_State *L) {
  const char *fn = "backprop.Tensor:argmax";
  ltensor *t = CHECK_T(L, 1, fn), *y;
  size_t outer, len, inner, i;
  float idx;
  int d;
  if (lua_isnoneornil(L, 2) || t->t.ndim == 1) {   /* over all elements */
    if (!lua_isnoneornil(L, 2)) checkdim(L, 2, &t->t, fn);
    bp_argmax(t->t.data, 1, t->t.numel, 1, &idx);
    lua_pushinteger(L, (lua_Integer)idx + 1);
    return 1;
  }
  d = checkdim(L, 2, &t->t, fn);
  around(&t->t, d, &outer, &len, &inner);
  y = reduced(L, &t->t, d, fn);
  bp_argmax(t->t.data, outer, len, inner, y->t.data);
  for (i = 0; i < y->t.numel; i++) y->t.data[i] += 1.0f;
  return 1;
}

/* --- reshaping and copying ------------------------------------------- */

/* The storage owner: a view's owner, or the tensor itself. */
static int push_owner(lua_State *L, int idx, ltensor *t) {
  if (t->t.owns) lua_pushvalue(L, idx);
  else lbp_getuservalue(L, idx);
  return lua_gettop(L);
}

static int t_reshape(lua_State *L) {
  const char *fn = "backprop.Tensor:reshape";
  ltensor *t = CHECK_T(L, 1, fn), *owner;
  size_t shape[BP_MAXDIM], known = 1, n;
  int nd = 0, infer = -1, i, top = lua_gettop(L), first = 2;
  lbp_shapebuf sb;
  if (top >= 2 && lua_istable(L, 2)) {          /* reshape({3, 2}) */
    int len = (int)luaL_len(L, 2);
    if (len < 1 || len > BP_MAXDIM)   /* before pushing: bounded stack use */
      lbp_error(L, fn, "expected 1 to %d sizes, got %d", BP_MAXDIM, len);
    luaL_checkstack(L, len, "too many sizes");
    for (i = 1; i <= len; i++) lua_geti(L, 2, i);
    first = top + 1;
    top = lua_gettop(L);
  }
  nd = top - first + 1;
  if (nd < 1 || nd > BP_MAXDIM)
    lbp_error(L, fn, "expected 1 to %d sizes, got %d", BP_MAXDIM, nd);
  for (i = 0; i < nd; i++) {
    if (lua_isinteger(L, first + i) && lua_tointeger(L, first + i) == -1) {
      if (infer >= 0) lbp_error(L, fn, "only one size can be -1");
      infer = i;
      shape[i] = 1;
    } else {
      shape[i] = lbp_checksize(L, first + i, fn, "size");
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (t->t.numel % known != 0)
      lbp_error(L, fn, "cannot infer the size for -1: %lu elements do not "
                "divide by %lu", (unsigned long)t->t.numel,
                (unsigned long)known);
    shape[infer] = t->t.numel / known;
  }
  for (n = 1, i = 0; i < nd; i++) n *= shape[i];
  if (n != t->t.numel) {
    bp_tensor want;
    lbp_shapebuf wb;
    bp_tensor_view(&want, NULL, nd, shape);
    lbp_error(L, fn, "cannot reshape %s (%lu elements) to %s (%lu elements)",
              lbp_shape(&t->t, &sb), (unsigned long)t->t.numel,
              lbp_shape(&want, &wb), (unsigned long)n);
  }
  i = push_owner(L, 1, t);
  owner = luaL_testudata(L, i, LBP_TENSOR);
  if (owner != NULL) owner->views++;
  else ((lmodule *)luaL_checkudata(L, i, LBP_MODULE))->views++;
  t->views++;
  lbp_newview(L, i, t->t.data, nd, shape);
  return 1;
}

static int t_transpose(lua_State *L) {
  const char *fn = "backprop.Tensor:t";
  ltensor *t = CHECK_T(L, 1, fn), *y;
  lbp_shapebuf sb;
  if (t->t.ndim > 2)
    lbp_error(L, fn, "expected a 1-D or 2-D tensor, got shape %s",
              lbp_shape(&t->t, &sb));
  if (t->t.ndim == 1) {
    y = lbp_newtensor(L, 1, t->t.shape, fn);
    memcpy(y->t.data, t->t.data, t->t.numel * sizeof(float));
  } else {
    size_t shape[2];
    shape[0] = t->t.shape[1];
    shape[1] = t->t.shape[0];
    y = lbp_newtensor(L, 2, shape, fn);
    bp_transpose(t->t.data, t->t.shape[0], t->t.shape[1], y->t.data);
  }
  return 1;
}

static int t_clone(lua_State *L) {
  ltensor *t = CHECK_T(L, 1, "backprop.Tensor:clone");
  ltensor *y = lbp_newtensor(L, t->t.ndim, t->t.shape, "backprop.Tensor:clone");
  memcpy(y->t.data, t->t.data, t->t.numel * sizeof(float));
  return 1;
}

static int t_copy(lua_State *L) {
  const char *fn = "backprop.Tensor:copy";
  ltensor *t = CHECK_T(L, 1, fn), *src = lbp_checktensor(L, 2, fn, "source");
  same_shape(L, &t->t, &src->t, fn);
  memmove(t->t.data, src->t.data, t->t.numel * sizeof(float));
  lua_settop(L, 1);
  return 1;
}

static int t_fill(lua_State *L) {
  const char *fn = "backprop.Tensor:fill";
  ltensor *t = CHECK_T(L, 1, fn);
  if (lua_type(L, 2) != LUA_TNUMBER)
    lbp_error(L, fn, "value must be a number, got %s",
              luaL_typename(L, 2));
  bp_vfill(t->t.numel, (float)lua_tonumber(L, 2), t->t.data);
  lua_settop(L, 1);
  return 1;
}

/* t:index(dim, ids): the slices at ids (a table or 1-D tensor of indices). */
static int t_index(lua_State *L) {
  const char *fn = "backprop.Tensor:index";
  ltensor *t = CHECK_T(L, 1, fn), *y;
  size_t outer, len, inner, n, i, *ids, shape[BP_MAXDIM];
  int d = checkdim(L, 2, &t->t, fn);
  ltensor *it = luaL_testudata(L, 3, LBP_TENSOR);
  around(&t->t, d, &outer, &len, &inner);
  if (it == NULL && !lua_istable(L, 3))
    lbp_error(L, fn, "ids must be a table or backprop.Tensor of indices, "
              "got %s", luaL_typename(L, 3));
  if (it != NULL && (it->closed || it->t.ndim != 1))
    lbp_error(L, fn, "ids must be a 1-D tensor of indices");
  n = it != NULL ? it->t.numel : (size_t)luaL_len(L, 3);
  if (n == 0) lbp_error(L, fn, "ids is empty");
  /* The id list lives in a userdata so an error below cannot leak it. */
  ids = lua_newuserdata(L, n * sizeof *ids);
  for (i = 0; i < n; i++) {
    double v;
    if (it != NULL) v = it->t.data[i];
    else {
      lua_geti(L, 3, (lua_Integer)i + 1);
      v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1.0;
      lua_pop(L, 1);
    }
    if (!(v >= 1 && v <= (double)len && v == floor(v)))
      lbp_error(L, fn, "ids: entry %lu is not an index in 1..%lu",
                (unsigned long)i + 1, (unsigned long)len);
    ids[i] = (size_t)v - 1;
  }
  memcpy(shape, t->t.shape, (size_t)t->t.ndim * sizeof *shape);
  shape[d] = n;
  y = lbp_newtensor(L, t->t.ndim, shape, fn);
  bp_gather(t->t.data, outer, len, inner, ids, n, y->t.data);
  return 1;
}

/* bp.randperm(n [, seed]): 1..n shuffled, as a tensor. With a seed it
** uses a generator of its own and leaves the global one untouched. */
static int l_randperm(lua_State *L) {
  const char *fn = "backprop.randperm";
  size_t n = lbp_checksize(L, 1, fn, "n"), i;
  bp_rng local, *r = lbp_rng(L);
  uint32_t *idx;
  ltensor *t;
  if (n > ((size_t)1 << 24))
    lbp_error(L, fn, "n must be at most 2^24 (indices are stored as float32)");
  if (!lua_isnoneornil(L, 2)) {
    int ok = 0;
    lua_Integer seed = lua_type(L, 2) == LUA_TNUMBER ? lua_tointegerx(L, 2, &ok)
                                                     : 0;
    if (!ok)
      lbp_error(L, fn, "seed must be an integer, got %s",
                lua_type(L, 2) == LUA_TNUMBER ? lua_tostring(L, 2)
                                              : luaL_typename(L, 2));
    bp_rng_seed(&local, (uint64_t)seed);
    r = &local;
  }
  idx = lua_newuserdata(L, n * sizeof *idx);
  for (i = 0; i < n; i++) idx[i] = (uint32_t)i;
  bp_rng_shuffle(r, idx, (uint32_t)n);
  t = lbp_newtensor(L, 1, &n, fn);
  for (i = 0; i < n; i++) t->t.data[i] = (float)idx[i] + 1.0f;
  return 1;
}

/* core._standardize(X, mean, std, fit): column statistics into mean and
** std when fit is true (a zero deviation becomes 1, so constant columns
** pass through centred), then X = (X - mean) / std in place. */
static int l_standardize(lua_State *L) {
  const char *fn = "backprop.data.standardize";
  ltensor *x = lbp_checktensor(L, 1, fn, "x");
  ltensor *mean = lbp_checktensor(L, 2, fn, "mean");
  ltensor *std = lbp_checktensor(L, 3, fn, "std");
  size_t n, d, j;
  lbp_shapebuf sb;
  if (x->t.ndim != 2)
    lbp_error(L, fn, "x must be N x features, got shape %s",
              lbp_shape(&x->t, &sb));
  n = x->t.shape[0];
  d = x->t.shape[1];
  if (mean->t.numel != d || std->t.numel != d)
    lbp_error(L, fn, "x has %lu features, but the scaler was fitted on %lu",
              (unsigned long)d, (unsigned long)mean->t.numel);
  lbp_checkvalues(L, &x->t, fn, "x");
  if (lua_toboolean(L, 4)) {
    bp_colstats(x->t.data, n, d, mean->t.data, std->t.data);
    for (j = 0; j < d; j++)
      if (std->t.data[j] == 0.0f) std->t.data[j] = 1.0f;
  }
  bp_normalize_cols(x->t.data, n, d, mean->t.data, std->t.data);
  lua_settop(L, 1);
  return 1;
}

/* --- printing -------------------------------------------------------- */

#define EDGE 3        /* items shown at each end of a long dimension */
#define SUMMARIZE 200 /* beyond this many elements, elide the middle */

static void print_rec(luaL_Buffer *b, const bp_tensor *t, int d, size_t off,
                      int summarize) {
  size_t i, n = t->shape[d], stride = 1;
  int k;
  char num[32];
  for (k = d + 1; k < t->ndim; k++) stride *= t->shape[k];
  luaL_addchar(b, '[');
  for (i = 0; i < n; i++) {
    if (summarize && n > 2 * EDGE && i == EDGE) {
      luaL_addstring(b, d + 1 == t->ndim ? "..., " : "...,\n");
      if (d + 1 < t->ndim)
        for (k = 0; k <= d; k++) luaL_addchar(b, ' ');
      i = n - EDGE;
    }
    if (d + 1 == t->ndim) {
      snprintf(num, sizeof num, "%.6g", (double)t->data[off + i]);
      luaL_addstring(b, num);
    } else {
      print_rec(b, t, d + 1, off + i * stride, summarize);
    }
    if (i + 1 < n) {
      luaL_addchar(b, ',');
      if (d + 1 == t->ndim) luaL_addchar(b, ' ');
      else {
        luaL_addchar(b, '\n');
        for (k = 0; k <= d; k++) luaL_addchar(b, ' ');
      }
    }
  }
  luaL_addchar(b, ']');
}

static int t_tostring(lua_State *L) {
  ltensor *t = luaL_checkudata(L, 1, LBP_TENSOR);
  lbp_shapebuf sb;
  luaL_Buffer b;
  if (t->closed || t->t.data == NULL) {
    lua_pushstring(L, "backprop.Tensor (closed)");
    return 1;
  }
  luaL_buffinit(L, &b);
  print_rec(&b, &t->t, 0, 0, t->t.numel > SUMMARIZE);
  luaL_addstring(&b, "\nbackprop.Tensor of shape ");
  luaL_addstring(&b, lbp_shape(&t->t, &sb));
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg methods[] = {
  {"shape", t_shape}, {"dim", t_dim}, {"numel", t_numel},
  {"get", t_get}, {"set", t_set}, {"totable", t_totable},
  {"add", t_add}, {"sub", t_sub}, {"mul", t_mul}, {"div", t_div},
  {"matmul", t_matmul}, {"sum", t_sum}, {"mean", t_mean},
  {"argmax", t_argmax}, {"reshape", t_reshape}, {"t", t_transpose},
  {"clone", t_clone}, {"copy", t_copy}, {"fill", t_fill},
  {"index", t_index}, {"close", t_close},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", t_gc}, {"__close", t_close}, {"__len", t_len},
  {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
  {"__unm", t_unm}, {"__tostring", t_tostring},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones},
  {"randn", l_randn}, {"rand", l_rand}, {"randperm", l_randperm},
  {"_standardize", l_standardize},
  {NULL, NULL}
};

void lbp_open_tensor(lua_State *L) {
  lbp_newclass(L, LBP_TENSOR, meta, methods, "Tensor", functions);
}
