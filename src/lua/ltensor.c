/*
** ltensor.c: backprop.Tensor, float32 and uint8 tensors as Lua userdata:
** construction, elements, arithmetic (broadcasting), elementwise maths,
** reductions, copies and printing. Views, gathering, joining and element
** types are in ltview.c. Indices are 1-based, as everywhere in Lua.
** Tensors may hold any float, NaN and infinity included; the places where
** such a value would poison training (network inputs, loss arguments)
** check for it. Every method here reads strided views directly; uint8
** operands of arithmetic are read as float32 and give float32 results.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "lmodule.h"   /* parameter views are owned by a module */
#include "lstate.h"
#include "ltensor.h"
#include "tensor/reduce.h"
#include "tensor/tview.h"

#define CHECK_T(L, i, fn) lbp_checktensor(L, i, fn, "self")
#define CHECK_ANY(L, i, fn) lbp_checkanytensor(L, i, fn, "self")

/* --- shared helpers (see ltensor.h) ---------------------------------- */

const char *lbp_dtype_name(bp_dtype dt) {
  return dt == BP_UINT8 ? "uint8" : "float32";
}

bp_dtype lbp_checkdtype(lua_State *L, int idx, const char *fn) {
  const char *s;
  if (lua_isnoneornil(L, idx)) return BP_FLOAT32;
  s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
  if (s != NULL && strcmp(s, "float32") == 0) return BP_FLOAT32;
  if (s != NULL && strcmp(s, "uint8") == 0) return BP_UINT8;
  return (bp_dtype)lbp_error(L, fn, "dtype must be \"float32\" or \"uint8\", "
                             "got %s", s != NULL ? s : luaL_typename(L, idx));
}

int lbp_tcheckdim(lua_State *L, int idx, const bp_tensor *t, int extra,
                  const char *fn) {
  size_t d = lbp_checksize(L, idx, fn, "dim");
  int nd = t->ndim + extra;
  if (d > (size_t)nd)
    lbp_error(L, fn, "dim is %lu, but the tensor has %d dimension%s",
              (unsigned long)d, t->ndim, t->ndim == 1 ? "" : "s");
  return (int)d - 1;
}

ltensor *lbp_tnew(lua_State *L, bp_dtype dt, int ndim, const size_t *shape,
                  const char *fn) {
  return dt == BP_UINT8 ? lbp_newtensor_u8(L, ndim, shape, fn)
                        : lbp_newtensor(L, ndim, shape, fn);
}

ltensor *lbp_tfloat(lua_State *L, int idx, const char *fn, const char *arg) {
  ltensor *t = lbp_checkanytensor(L, idx, fn, arg), *f;
  if (t->t.dtype == BP_FLOAT32) return t;
  idx = lua_absindex(L, idx);
  f = lbp_newtensor(L, t->t.ndim, t->t.shape, fn);
  bp_copy(&f->t, &t->t);
  lua_replace(L, idx);
  return f;
}

/* The storage owner: a view's owner, or the tensor itself. */
static int push_owner(lua_State *L, int idx, ltensor *t) {
  if (t->t.owns) lua_pushvalue(L, idx);
  else lbp_getuservalue(L, idx);
  return lua_gettop(L);
}

ltensor *lbp_tview(lua_State *L, int idx, ltensor *t, const bp_tensor *v) {
  ltensor *owner, *y;
  int o;
  idx = lua_absindex(L, idx);
  o = push_owner(L, idx, t);
  owner = luaL_testudata(L, o, LBP_TENSOR);
  if (owner != NULL) owner->views++;
  else ((lmodule *)luaL_checkudata(L, o, LBP_MODULE))->views++;
  t->views++;
  y = lbp_newview(L, o, NULL, v->ndim, v->shape);
  y->t = *v;
  y->t.owns = 0;
  if (owner == NULL) lbp_module_addview(L, o, -1);   /* moves with it */
  lua_remove(L, o);
  return y;
}

lua_Number lbp_tget(const bp_tensor *t, size_t off) {
  return t->dtype == BP_UINT8 ? (lua_Number)t->u8[off]
                              : (lua_Number)t->data[off];
}

/* A number stored into a uint8 tensor must be an integer in 0..255. */
static unsigned char checkbyte(lua_State *L, lua_Number v, const char *fn,
                               const char *what) {
  if (!(v >= 0 && v <= 255 && v == floor(v)))
    lbp_error(L, fn, "%s is %g, expected an integer in 0..255 for a uint8 "
              "tensor", what, (double)v);
  return (unsigned char)v;
}

/* --- construction ---------------------------------------------------- */

/* Shape from the arguments from `first` on: numbers, or one table of them,
** then (when dt is not NULL) an optional element-type name. */
static int getshape(lua_State *L, int first, const char *fn, size_t *shape,
                    bp_dtype *dt) {
  int top = lua_gettop(L), n, i;
  if (dt != NULL) {
    *dt = BP_FLOAT32;
    if (top > first && lua_type(L, top) == LUA_TSTRING) {
      *dt = lbp_checkdtype(L, top, fn);
      top--;
    }
  }
  if (top >= first && lua_istable(L, first)) {
    if (top > first)
      lbp_error(L, fn, "expected the sizes as numbers or one table, got a "
                "table then %s", luaL_typename(L, first + 1));
    n = (int)lbp_checklist(L, first, fn, "sizes");
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
  bp_dtype dt;
  int nd = getshape(L, 1, "backprop.zeros", shape, &dt);
  lbp_tnew(L, dt, nd, shape, "backprop.zeros");
  return 1;
}

static int l_ones(lua_State *L) {
  size_t shape[BP_MAXDIM];
  bp_dtype dt;
  int nd = getshape(L, 1, "backprop.ones", shape, &dt);
  ltensor *t = lbp_tnew(L, dt, nd, shape, "backprop.ones");
  bp_fill(&t->t, 1.0f);
  return 1;
}

static int l_randn(lua_State *L) {
  size_t shape[BP_MAXDIM], i;
  int nd = getshape(L, 1, "backprop.randn", shape, NULL);
  ltensor *t = lbp_newtensor(L, nd, shape, "backprop.randn");
  bp_rng *r = lbp_rng(L);
  for (i = 0; i < t->t.numel; i++) t->t.data[i] = (float)bp_rng_normal(r);
  return 1;
}

static int l_rand(lua_State *L) {
  size_t shape[BP_MAXDIM], i;
  int nd = getshape(L, 1, "backprop.rand", shape, NULL);
  ltensor *t = lbp_newtensor(L, nd, shape, "backprop.rand");
  bp_rng *r = lbp_rng(L);
  for (i = 0; i < t->t.numel; i++) t->t.data[i] = (float)bp_rng_uniform(r);
  return 1;
}

/* Fill t (contiguous) from a nested table at idx, checking it is
** rectangular; *k counts the elements written. */
static void fill(lua_State *L, int idx, int d, bp_tensor *t, size_t *k,
                 char *path, size_t plen) {
  const char *fn = "backprop.tensor";
  size_t i, n;
  if (lua_type(L, idx) != LUA_TTABLE)
    lbp_error(L, fn, "element %s is a %s, expected a table (rows must all "
              "have the same shape)", path, luaL_typename(L, idx));
  {
    char what[220];
    snprintf(what, sizeof what, plen ? "element %s" : "data", path);
    n = lbp_checklist(L, idx, fn, what);
  }
  if (n != t->shape[d])
    lbp_error(L, fn, "element %s has %lu entries, expected %lu (rows must "
              "all have the same length)", plen ? path : "{}",
              (unsigned long)n, (unsigned long)t->shape[d]);
  for (i = 1; i <= n; i++) {
    int w = snprintf(path + plen, 200 - plen, "[%lu]", (unsigned long)i);
    size_t sub = plen + (w > 0 && (size_t)w < 200 - plen ? (size_t)w : 0);
    lua_geti(L, idx, (lua_Integer)i);
    if (d + 1 < t->ndim) {
      fill(L, lua_gettop(L), d + 1, t, k, path, sub);
    } else {
      if (lua_type(L, -1) != LUA_TNUMBER)
        lbp_error(L, fn, "element %s is a %s, expected a number", path,
                  luaL_typename(L, -1));
      if (t->dtype == BP_UINT8) {
        char what[220];
        snprintf(what, sizeof what, "element %s", path);
        t->u8[(*k)++] = checkbyte(L, lua_tonumber(L, -1), fn, what);
      } else {
        t->data[(*k)++] = (float)lua_tonumber(L, -1);
      }
    }
    lua_pop(L, 1);
    path[plen] = '\0';
  }
}

/* bp.tensor(table [, dtype]) or bp.tensor(tensor [, dtype]) (a copy). */
static int l_tensor(lua_State *L) {
  const char *fn = "backprop.tensor";
  size_t shape[BP_MAXDIM], k = 0;
  char path[200] = "";
  int nd = 0;
  bp_dtype dt;
  ltensor *t;
  if (luaL_testudata(L, 1, LBP_TENSOR)) {
    ltensor *src = lbp_checkanytensor(L, 1, fn, "data");
    lbp_checknargs(L, 0, 2, fn);
    dt = lua_isnoneornil(L, 2) ? src->t.dtype : lbp_checkdtype(L, 2, fn);
    t = lbp_tnew(L, dt, src->t.ndim, src->t.shape, fn);
    bp_copy(&t->t, &src->t);
    return 1;
  }
  if (lua_type(L, 1) != LUA_TTABLE)
    lbp_error(L, fn, "data must be a (nested) table of numbers, got %s",
              luaL_typename(L, 1));
  lbp_checknargs(L, 0, 2, fn);
  dt = lbp_checkdtype(L, 2, fn);
  lua_settop(L, 1);
  lua_pushvalue(L, 1);
  while (lua_type(L, -1) == LUA_TTABLE) {       /* shape from first elements */
    lua_Integer n = luaL_len(L, -1);
    if (nd == BP_MAXDIM)
      lbp_error(L, fn, "more than %d levels of nesting", BP_MAXDIM);
    if (n < 1)
      lbp_error(L, fn, "empty table at nesting level %d (empty tensors are "
                "not supported)", nd + 1);
    shape[nd++] = (size_t)n;
    lua_geti(L, -1, 1);
  }
  lua_pop(L, nd + 1);
  t = lbp_tnew(L, dt, nd, shape, fn);
  fill(L, 1, 0, &t->t, &k, path, 0);
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
  ltensor *t = CHECK_ANY(L, 1, "backprop.Tensor:shape");
  int i;
  lbp_checknargs(L, 1, 0, "backprop.Tensor:shape");
  lua_createtable(L, t->t.ndim, 0);
  for (i = 0; i < t->t.ndim; i++) {
    lua_pushinteger(L, (lua_Integer)t->t.shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int t_dim(lua_State *L) {
  lbp_checknargs(L, 1, 0, "backprop.Tensor:dim");
  lua_pushinteger(L, CHECK_ANY(L, 1, "backprop.Tensor:dim")->t.ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lbp_checknargs(L, 1, 0, "backprop.Tensor:numel");
  lua_pushinteger(L, (lua_Integer)CHECK_ANY(L, 1, "backprop.Tensor:numel")->t.numel);
  return 1;
}

static int t_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)CHECK_ANY(L, 1, "backprop.Tensor:__len")->t.shape[0]);
  return 1;
}

/* Offset of the indices given from argument 2 on. */
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
    off += (k - 1) * t->stride[i];
  }
  return off;
}

static int t_get(lua_State *L) {
  ltensor *t = CHECK_ANY(L, 1, "backprop.Tensor:get");
  size_t off = offset(L, &t->t, lua_gettop(L) - 1, "backprop.Tensor:get");
  if (t->t.dtype == BP_UINT8) lua_pushinteger(L, t->t.u8[off]);
  else lua_pushnumber(L, t->t.data[off]);
  return 1;
}

static int t_set(lua_State *L) {
  const char *fn = "backprop.Tensor:set";
  ltensor *t = CHECK_ANY(L, 1, fn);
  int top = lua_gettop(L);
  size_t off;
  lua_Number v;
  if (top < 2 || lua_type(L, top) != LUA_TNUMBER)
    lbp_error(L, fn, "expected indices then a number value, got %s last",
              luaL_typename(L, top));
  v = lua_tonumber(L, top);
  lua_settop(L, top - 1);
  off = offset(L, &t->t, top - 2, fn);
  if (t->t.dtype == BP_UINT8) t->t.u8[off] = checkbyte(L, v, fn, "value");
  else t->t.data[off] = (float)v;
  lua_settop(L, 1);
  return 1;
}

static void push_nested(lua_State *L, const bp_tensor *t, int d, size_t off) {
  size_t i, n = t->shape[d];
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    size_t o = off + i * t->stride[d];
    if (d + 1 < t->ndim) push_nested(L, t, d + 1, o);
    else if (t->dtype == BP_UINT8) lua_pushinteger(L, t->u8[o]);
    else lua_pushnumber(L, t->data[o]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int t_totable(lua_State *L) {
  ltensor *t = CHECK_ANY(L, 1, "backprop.Tensor:totable");
  lbp_checknargs(L, 1, 0, "backprop.Tensor:totable");
  luaL_checkstack(L, t->t.ndim + 4, "tensor too deep");
  push_nested(L, &t->t, 0, 0);
  return 1;
}

/* dst = the value at idx: a number (every element) or a tensor whose shape
** broadcasts to dst's; element types are converted. */
static void assign(lua_State *L, const char *fn, const char *arg,
                   bp_tensor *dst, int idx) {
  lbp_shapebuf sa, sb;
  ltensor *src;
  bp_tensor e;
  size_t shape[BP_MAXDIM];
  int nd;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number v = lua_tonumber(L, idx);
    if (dst->dtype == BP_UINT8) checkbyte(L, v, fn, "value");
    bp_fill(dst, (float)v);
    return;
  }
  src = lbp_checkanytensor(L, idx, fn, arg);
  if (!bp_broadcast_shape(dst->ndim, dst->shape, src->t.ndim, src->t.shape,
                          &nd, shape) ||
      nd != dst->ndim ||
      memcmp(shape, dst->shape, (size_t)nd * sizeof *shape) != 0)
    lbp_error(L, fn, "shapes %s and %s do not match", lbp_shape(dst, &sa),
              lbp_shape(&src->t, &sb));
  if (bp_overlap(dst, &src->t)) {
    ltensor *tmp;
    if (src->t.data == dst->data && src->t.u8 == dst->u8 &&
        src->t.ndim == nd &&
        memcmp(src->t.stride, dst->stride, (size_t)nd * sizeof *shape) == 0)
      return;                           /* t:copy(t): nothing to do */
    /* Source and destination share storage: go through a copy. */
    tmp = lbp_tnew(L, src->t.dtype, src->t.ndim, src->t.shape, fn);
    bp_copy(&tmp->t, &src->t);
    src = tmp;
  }
  bp_expand(&src->t, dst->ndim, dst->shape, &e);
  bp_copy(dst, &e);
}

/* t[i]: row i as a view (the element for a 1-D tensor); t.name: a method. */
static int t_index_mm(lua_State *L) {
  const char *fn = "backprop.Tensor:__index";
  if (lua_type(L, 2) == LUA_TNUMBER) {
    ltensor *t = CHECK_ANY(L, 1, fn);
    size_t i = lbp_checksize(L, 2, fn, "index");
    if (i > t->t.shape[0])
      lbp_error(L, fn, "index is %lu, out of range 1..%lu", (unsigned long)i,
                (unsigned long)t->t.shape[0]);
    lbp_tselect(L, 1, t, 0, i - 1);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

/* t[i] = v: row i (element i of a 1-D tensor) set to a number, or to a
** tensor's values (its shape must broadcast to the row's). */
static int t_newindex(lua_State *L) {
  const char *fn = "backprop.Tensor:__newindex";
  ltensor *t = CHECK_ANY(L, 1, fn);
  bp_tensor row;
  size_t i;
  if (lua_type(L, 2) != LUA_TNUMBER)
    lbp_error(L, fn, "cannot set field %s (only t[i] = value, with an "
              "integer row index, is allowed)", luaL_tolstring(L, 2, NULL));
  i = lbp_checksize(L, 2, fn, "index");
  if (i > t->t.shape[0])
    lbp_error(L, fn, "index is %lu, out of range 1..%lu", (unsigned long)i,
              (unsigned long)t->t.shape[0]);
  if (lua_type(L, 3) != LUA_TNUMBER && !luaL_testudata(L, 3, LBP_TENSOR))
    lbp_error(L, fn, "value must be a number or a backprop.Tensor, got %s",
              luaL_typename(L, 3));
  bp_narrow(&t->t, 0, i - 1, 1, &row);
  if (t->t.ndim > 1) bp_select(&t->t, 0, i - 1, &row);
  assign(L, fn, "value", &row, 3);
  return 0;
}

/* --- arithmetic, comparisons, maths ---------------------------------- */

/* a op b, each a tensor (uint8 read as float32) or a number, broadcast
** as numpy does. Comparisons give uint8 masks of 0 and 1. */
static int binary(lua_State *L, const char *fn, bp_binop op) {
  int an = lua_type(L, 1) == LUA_TNUMBER, bn = lua_type(L, 2) == LUA_TNUMBER;
  size_t shape[BP_MAXDIM];
  float sa = 0.0f, sb = 0.0f;
  bp_tensor a, b, ea, eb;
  ltensor *y;
  int nd;
  if (an && bn) lbp_error(L, fn, "expected at least one backprop.Tensor");
  lbp_checknargs(L, 1, 1, fn);
  if (!an) a = lbp_tfloat(L, 1, fn, "left")->t;
  if (!bn) b = lbp_tfloat(L, 2, fn, "right")->t;
  if (an) {
    sa = (float)lua_tonumber(L, 1);
    bp_scalar_view(&sa, b.ndim, b.shape, &a);
  }
  if (bn) {
    sb = (float)lua_tonumber(L, 2);
    bp_scalar_view(&sb, a.ndim, a.shape, &b);
  }
  if (!bp_broadcast_shape(a.ndim, a.shape, b.ndim, b.shape, &nd, shape)) {
    lbp_shapebuf s1, s2;
    lbp_error(L, fn, "shapes %s and %s cannot be broadcast",
              lbp_shape(&a, &s1), lbp_shape(&b, &s2));
  }
  y = lbp_tnew(L, op >= BP_GT ? BP_UINT8 : BP_FLOAT32, nd, shape, fn);
  bp_expand(&a, nd, shape, &ea);
  bp_expand(&b, nd, shape, &eb);
  bp_binary(op, &ea, &eb, &y->t);
  return 1;
}

static int t_add(lua_State *L) { return binary(L, "backprop.Tensor:add", BP_ADD); }
static int t_sub(lua_State *L) { return binary(L, "backprop.Tensor:sub", BP_SUB); }
static int t_mul(lua_State *L) { return binary(L, "backprop.Tensor:mul", BP_MUL); }
static int t_div(lua_State *L) { return binary(L, "backprop.Tensor:div", BP_DIV); }
static int t_pow(lua_State *L) { return binary(L, "backprop.Tensor:pow", BP_POW); }
static int t_gt(lua_State *L) { return binary(L, "backprop.Tensor:gt", BP_GT); }
static int t_lt(lua_State *L) { return binary(L, "backprop.Tensor:lt", BP_LT); }
static int t_ge(lua_State *L) { return binary(L, "backprop.Tensor:ge", BP_GE); }
static int t_le(lua_State *L) { return binary(L, "backprop.Tensor:le", BP_LE); }
static int t_eq(lua_State *L) { return binary(L, "backprop.Tensor:eq", BP_EQ); }
static int t_ne(lua_State *L) { return binary(L, "backprop.Tensor:ne", BP_NE); }

static int unary(lua_State *L, const char *fn, bp_unop op, float lo,
                 float hi) {
  ltensor *t = lbp_tfloat(L, 1, fn, "self");
  ltensor *y = lbp_newtensor(L, t->t.ndim, t->t.shape, fn);
  bp_unary(op, &t->t, lo, hi, &y->t);
  return 1;
}

/* A method of no arguments (-t passes the operand twice: not checked). */
static int unary0(lua_State *L, const char *fn, bp_unop op) {
  lbp_checknargs(L, 1, 0, fn);
  return unary(L, fn, op, 0, 0);
}

static int t_unm(lua_State *L) { return unary(L, "backprop.Tensor:__unm", BP_NEG, 0, 0); }
static int t_exp(lua_State *L) { return unary0(L, "backprop.Tensor:exp", BP_EXP); }
static int t_log(lua_State *L) { return unary0(L, "backprop.Tensor:log", BP_LOG); }
static int t_sqrt(lua_State *L) { return unary0(L, "backprop.Tensor:sqrt", BP_SQRT); }
static int t_abs(lua_State *L) { return unary0(L, "backprop.Tensor:abs", BP_ABS); }

/* t:clamp(min, max): either bound may be nil, not both. */
static int t_clamp(lua_State *L) {
  const char *fn = "backprop.Tensor:clamp";
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  lbp_checkanytensor(L, 1, fn, "self");
  lbp_checknargs(L, 1, 2, fn);
  if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3))
    lbp_error(L, fn, "expected a min or a max (or both), got neither");
  if (!lua_isnoneornil(L, 2)) lo = lbp_checkfinite(L, 2, fn, "min");
  if (!lua_isnoneornil(L, 3)) hi = lbp_checkfinite(L, 3, fn, "max");
  if (lo > hi) lbp_error(L, fn, "min (%g) is greater than max (%g)", lo, hi);
  return unary(L, fn, BP_CLAMP, (float)lo, (float)hi);
}

static int t_matmul(lua_State *L) {
  const char *fn = "backprop.Tensor:matmul";
  ltensor *a = CHECK_T(L, 1, fn), *b = lbp_checktensor(L, 2, fn, "other");
  size_t m, k, k2, n, shape[2];
  int nd = 0;
  lbp_shapebuf sa, sb;
  lbp_checknargs(L, 1, 1, fn);
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

enum { VALUES = 1, INDICES = 2 };

/* t:op([dim [, keepdim]]). Without dim: a number over all elements (for
** argmax the 1-based flat position). With dim: tensors with that dimension
** removed (kept as size 1 with keepdim), numbers for a 1-D tensor without
** keepdim; indices are 1-based, stored as float32. */
static int reduce(lua_State *L, const char *fn, bp_reduce_op op, int want) {
  ltensor *t = lbp_tfloat(L, 1, fn, "self"), *v = NULL, *ix = NULL;
  size_t shape[BP_MAXDIM], at, j;
  int d, i, k = 0, keep;
  lbp_checknargs(L, 1, 2, fn);
  keep = lbp_checkboolean(L, 3, fn, "keepdim");
  if (lua_isnoneornil(L, 2)) {
    if (keep) lbp_error(L, fn, "keepdim is given without a dim");
    double r = bp_reduce_all(op, &t->t, &at);
    if (want & VALUES) lua_pushnumber(L, r);
    if (want == INDICES) lua_pushinteger(L, (lua_Integer)at + 1);
    return 1;
  }
  d = lbp_tcheckdim(L, 2, &t->t, 0, fn);
  if (t->t.shape[d] > LBP_2POW24 && (want & INDICES))
    lbp_error(L, fn, "dimension %d has %lu elements; indices above 2^24 do "
              "not fit in float32", d + 1, (unsigned long)t->t.shape[d]);
  if (t->t.ndim == 1 && !keep) {
    double r = bp_reduce_all(op, &t->t, &at);
    if (want & VALUES) lua_pushnumber(L, r);
    if (want & INDICES) lua_pushinteger(L, (lua_Integer)at + 1);
    return want == (VALUES | INDICES) ? 2 : 1;
  }
  for (i = 0; i < t->t.ndim; i++)
    if (i != d) shape[k++] = t->t.shape[i];
    else if (keep) shape[k++] = 1;
  if (want & VALUES) v = lbp_newtensor(L, k, shape, fn);
  if (want & INDICES) ix = lbp_newtensor(L, k, shape, fn);
  if (v == NULL) {        /* argmax: values into the index tensor first */
    bp_reduce_dim(op, &t->t, d, ix->t.data, ix->t.data);
  } else {
    bp_reduce_dim(op, &t->t, d, v->t.data, ix != NULL ? ix->t.data : NULL);
  }
  if (ix != NULL)
    for (j = 0; j < ix->t.numel; j++) ix->t.data[j] += 1.0f;
  return want == (VALUES | INDICES) ? 2 : 1;
}

static int t_sum(lua_State *L) { return reduce(L, "backprop.Tensor:sum", BP_RSUM, VALUES); }
static int t_mean(lua_State *L) { return reduce(L, "backprop.Tensor:mean", BP_RMEAN, VALUES); }
static int t_max(lua_State *L) {
  return reduce(L, "backprop.Tensor:max", BP_RMAX,
                lua_isnoneornil(L, 2) ? VALUES : VALUES | INDICES);
}
static int t_min(lua_State *L) {
  return reduce(L, "backprop.Tensor:min", BP_RMIN,
                lua_isnoneornil(L, 2) ? VALUES : VALUES | INDICES);
}
static int t_argmax(lua_State *L) { return reduce(L, "backprop.Tensor:argmax", BP_RMAX, INDICES); }
static int t_argmin(lua_State *L) { return reduce(L, "backprop.Tensor:argmin", BP_RMIN, INDICES); }

/* --- reshaping and copying ------------------------------------------- */

static int t_reshape(lua_State *L) {
  const char *fn = "backprop.Tensor:reshape";
  ltensor *t = CHECK_ANY(L, 1, fn);
  size_t shape[BP_MAXDIM], known = 1, n;
  int nd = 0, infer = -1, i, top = lua_gettop(L), first = 2;
  lbp_shapebuf sb;
  bp_tensor v;
  if (top >= 2 && lua_istable(L, 2)) {          /* reshape({3, 2}) */
    int len;
    lbp_checknargs(L, 1, 1, fn);
    len = (int)lbp_checklist(L, 2, fn, "sizes");
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
  if (!bp_tensor_iscontig(&t->t)) {
    /* A strided view has no single stride pattern for the new shape in
    ** general: reshape gives a copy then, as PyTorch's does. */
    ltensor *y = lbp_tnew(L, t->t.dtype, t->t.ndim, t->t.shape, fn);
    bp_copy(&y->t, &t->t);
    y->t.ndim = nd;
    memcpy(y->t.shape, shape, (size_t)nd * sizeof *shape);
    bp_tensor_setcontig(&y->t);
    return 1;
  }
  v = t->t;
  v.ndim = nd;
  memcpy(v.shape, shape, (size_t)nd * sizeof *shape);
  bp_tensor_setcontig(&v);
  lbp_tview(L, 1, t, &v);
  return 1;
}

static int t_transpose(lua_State *L) {
  const char *fn = "backprop.Tensor:t";
  ltensor *t = CHECK_T(L, 1, fn), *y;
  lbp_shapebuf sb;
  lbp_checknargs(L, 1, 0, fn);
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
  const char *fn = "backprop.Tensor:clone";
  ltensor *t = CHECK_ANY(L, 1, fn);
  lbp_checknargs(L, 1, 0, fn);
  ltensor *y = lbp_tnew(L, t->t.dtype, t->t.ndim, t->t.shape, fn);
  bp_copy(&y->t, &t->t);
  return 1;
}

static int t_copy(lua_State *L) {
  const char *fn = "backprop.Tensor:copy";
  ltensor *t = CHECK_ANY(L, 1, fn);
  lbp_checkanytensor(L, 2, fn, "source");
  lbp_checknargs(L, 1, 1, fn);
  assign(L, fn, "source", &t->t, 2);
  lua_settop(L, 1);
  return 1;
}

static int t_fill(lua_State *L) {
  const char *fn = "backprop.Tensor:fill";
  ltensor *t = CHECK_ANY(L, 1, fn);
  lbp_checknargs(L, 1, 1, fn);
  if (lua_type(L, 2) != LUA_TNUMBER)
    lbp_error(L, fn, "value must be a number, got %s",
              luaL_typename(L, 2));
  assign(L, fn, "value", &t->t, 2);
  lua_settop(L, 1);
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
  lbp_checknargs(L, 0, 2, fn);
  if (n > LBP_2POW24)
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

/* internal.standardize(X, mean, std, fit): column statistics into mean and
** std when fit is true (a zero deviation becomes 1, so constant columns
** pass through centred), then X = (X - mean) / std in place. */
static int l_standardize(lua_State *L) {
  const char *fn = "backprop.data.standardize";
  ltensor *x = lbp_checkouttensor(L, 1, fn, "x");
  ltensor *mean = lbp_checkouttensor(L, 2, fn, "mean");
  ltensor *std = lbp_checkouttensor(L, 3, fn, "std");
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
  size_t i, n = t->shape[d];
  int k;
  char num[32];
  luaL_addchar(b, '[');
  for (i = 0; i < n; i++) {
    if (summarize && n > 2 * EDGE && i == EDGE) {
      luaL_addstring(b, d + 1 == t->ndim ? "..., " : "...,\n");
      if (d + 1 < t->ndim)
        for (k = 0; k <= d; k++) luaL_addchar(b, ' ');
      i = n - EDGE;
    }
    if (d + 1 == t->ndim) {
      snprintf(num, sizeof num, "%.6g",
               (double)lbp_tget(t, off + i * t->stride[d]));
      luaL_addstring(b, num);
    } else {
      print_rec(b, t, d + 1, off + i * t->stride[d], summarize);
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
  if (t->closed || (t->t.data == NULL && t->t.u8 == NULL)) {
    lua_pushstring(L, "backprop.Tensor (closed)");
    return 1;
  }
  luaL_buffinit(L, &b);
  print_rec(&b, &t->t, 0, 0, t->t.numel > SUMMARIZE);
  luaL_addstring(&b, "\nbackprop.Tensor of shape ");
  luaL_addstring(&b, lbp_shape(&t->t, &sb));
  if (t->t.dtype != BP_FLOAT32) {
    luaL_addstring(&b, ", ");
    luaL_addstring(&b, lbp_dtype_name(t->t.dtype));
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg methods[] = {
  {"shape", t_shape}, {"dim", t_dim}, {"numel", t_numel},
  {"get", t_get}, {"set", t_set}, {"totable", t_totable},
  {"add", t_add}, {"sub", t_sub}, {"mul", t_mul}, {"div", t_div},
  {"pow", t_pow}, {"gt", t_gt}, {"lt", t_lt}, {"ge", t_ge}, {"le", t_le},
  {"eq", t_eq}, {"ne", t_ne}, {"exp", t_exp}, {"log", t_log},
  {"sqrt", t_sqrt}, {"abs", t_abs}, {"clamp", t_clamp},
  {"matmul", t_matmul}, {"sum", t_sum}, {"mean", t_mean},
  {"max", t_max}, {"min", t_min}, {"argmax", t_argmax}, {"argmin", t_argmin},
  {"reshape", t_reshape}, {"t", t_transpose},
  {"clone", t_clone}, {"copy", t_copy}, {"fill", t_fill},
  {"close", t_close},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", t_gc}, {"__close", t_close}, {"__len", t_len},
  {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
  {"__pow", t_pow}, {"__unm", t_unm}, {"__tostring", t_tostring},
  {"__newindex", t_newindex},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones},
  {"randn", l_randn}, {"rand", l_rand}, {"randperm", l_randperm},
  {NULL, NULL}
};

static const luaL_Reg internal[] = {
  {"standardize", l_standardize}, {NULL, NULL}
};

void lbp_open_tensor(lua_State *L) {
  lbp_newclass(L, LBP_TENSOR, meta, methods, "Tensor", functions);
  lbp_setinternal(L, internal);
  luaL_setfuncs(L, lbp_tview_functions, 0);
  /* The rest of the methods (ltview.c) into the same table; then __index
  ** becomes a function, so that t[i] gives row i, while names still find
  ** the methods (bp.Tensor, so methods added there from Lua work too). */
  luaL_getmetatable(L, LBP_TENSOR);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, lbp_tview_methods, 0);
  lua_pushcclosure(L, t_index_mm, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
