/*
** ltview.c: the tensor methods that view, gather and join (narrow, select,
** index, bp.cat, bp.stack), element types (float, byte, dtype) and the
** constructors of ranges and codes (bp.arange, bp.linspace, bp.one_hot).
** Views share storage with their base: writes through either are seen by
** the other, and a view keeps the base's storage alive (lbp_tview).
*/
#include <math.h>
#include <string.h>

#include "ltensor.h"
#include "tensor/tview.h"

/* --- views ----------------------------------------------------------- */

void lbp_tselect(lua_State *L, int idx, ltensor *t, int d, size_t i) {
  bp_tensor v;
  if (t->t.ndim == 1) {
    if (t->t.dtype == BP_UINT8)
      lua_pushinteger(L, t->t.u8[i * t->t.stride[0]]);
    else
      lua_pushnumber(L, t->t.data[i * t->t.stride[0]]);
    return;
  }
  bp_select(&t->t, d, i, &v);
  lbp_tview(L, idx, t, &v);
}

/* t:narrow(dim, start, len): elements start..start+len-1 along dim. */
static int t_narrow(lua_State *L) {
  const char *fn = "backprop.Tensor:narrow";
  ltensor *t = lbp_checkanytensor(L, 1, fn, "self");
  int d = lbp_tcheckdim(L, 2, &t->t, 0, fn);
  size_t start = lbp_checksize(L, 3, fn, "start");
  size_t len = lbp_checksize(L, 4, fn, "len"), n = t->t.shape[d];
  bp_tensor v;
  lbp_checknargs(L, 1, 3, fn);
  if (start > n)
    lbp_error(L, fn, "start is %lu, out of range 1..%lu (size of dimension "
              "%d)", (unsigned long)start, (unsigned long)n, d + 1);
  if (len > n - (start - 1))
    lbp_error(L, fn, "start %lu with len %lu goes past the end of dimension "
              "%d (size %lu)", (unsigned long)start, (unsigned long)len,
              d + 1, (unsigned long)n);
  bp_narrow(&t->t, d, start - 1, len, &v);
  lbp_tview(L, 1, t, &v);
  return 1;
}

/* t:select(dim, i): the slice at i along dim, that dimension removed (a
** number for a 1-D tensor). */
static int t_select(lua_State *L) {
  const char *fn = "backprop.Tensor:select";
  ltensor *t = lbp_checkanytensor(L, 1, fn, "self");
  int d = lbp_tcheckdim(L, 2, &t->t, 0, fn);
  size_t i = lbp_checksize(L, 3, fn, "index");
  lbp_checknargs(L, 1, 2, fn);
  if (i > t->t.shape[d])
    lbp_error(L, fn, "index is %lu, out of range 1..%lu (size of dimension "
              "%d)", (unsigned long)i, (unsigned long)t->t.shape[d], d + 1);
  lbp_tselect(L, 1, t, d, i - 1);
  return 1;
}

/* --- gathering and joining ------------------------------------------- */

/* The id at position i (0-based) of ids: the tensor it, else the table at
** stack index 3, each checked already. */
static size_t id_at(lua_State *L, const ltensor *it, size_t i) {
  size_t k;
  if (it != NULL) return (size_t)lbp_tget(&it->t, i * it->t.stride[0]);
  lua_geti(L, 3, (lua_Integer)i + 1);
  k = (size_t)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return k;
}

/* t:index(dim, ids): the slices at ids (a table or 1-D tensor of indices)
** along dim, copied into a new tensor of t's element type. From a
** contiguous t each slice is `outer` runs of memory (one for dim 1: a
** whole row), copied with memcpy: an epoch's rows gathered in a random
** order run at the speed of a plain copy of the same bytes. */
static int t_index(lua_State *L) {
  const char *fn = "backprop.Tensor:index";
  ltensor *t = lbp_checkanytensor(L, 1, fn, "self"), *y, *it;
  size_t n, i, len, shape[BP_MAXDIM];
  int d = lbp_tcheckdim(L, 2, &t->t, 0, fn);
  lbp_checknargs(L, 1, 2, fn);
  len = t->t.shape[d];
  it = luaL_testudata(L, 3, LBP_TENSOR);
  if (it == NULL && !lua_istable(L, 3))
    lbp_error(L, fn, "ids must be a table or backprop.Tensor of indices, "
              "got %s", luaL_typename(L, 3));
  if (it != NULL) it = lbp_checkanytensor(L, 3, fn, "ids");
  if (it != NULL && it->t.ndim != 1)
    lbp_error(L, fn, "ids must be a 1-D tensor of indices");
  n = it != NULL ? it->t.numel : lbp_checklist(L, 3, fn, "ids");
  if (n == 0) lbp_error(L, fn, "ids is empty");
  /* Check every id before allocating the result. */
  for (i = 0; i < n; i++) {
    double v;
    if (it != NULL) v = lbp_tget(&it->t, i * it->t.stride[0]);
    else {
      lua_geti(L, 3, (lua_Integer)i + 1);
      v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1.0;
      lua_pop(L, 1);
    }
    if (!(v >= 1 && v <= (double)len && v == floor(v)))
      lbp_error(L, fn, "ids: entry %lu is not an index in 1..%lu",
                (unsigned long)i + 1, (unsigned long)len);
  }
  memcpy(shape, t->t.shape, (size_t)t->t.ndim * sizeof *shape);
  shape[d] = n;
  y = lbp_tnew(L, t->t.dtype, t->t.ndim, shape, fn);
  if (bp_tensor_iscontig(&t->t)) {
    size_t outer = 1, run = t->t.dtype == BP_UINT8 ? 1 : sizeof(float), o;
    const char *x = t->t.dtype == BP_UINT8 ? (const char *)t->t.u8
                                           : (const char *)t->t.data;
    char *out = y->t.dtype == BP_UINT8 ? (char *)y->t.u8 : (char *)y->t.data;
    int k;
    for (k = 0; k < d; k++) outer *= t->t.shape[k];
    for (k = d + 1; k < t->t.ndim; k++) run *= t->t.shape[k];
    for (i = 0; i < n; i++) {
      size_t id = id_at(L, it, i) - 1;
      for (o = 0; o < outer; o++)
        memcpy(out + (o * n + i) * run, x + (o * len + id) * run, run);
    }
    return 1;
  }
  for (i = 0; i < n; i++) {
    bp_tensor src, dst;
    size_t k = id_at(L, it, i);
    bp_narrow(&t->t, d, k - 1, 1, &src);
    bp_narrow(&y->t, d, i, 1, &dst);
    bp_copy(&dst, &src);
  }
  return 1;
}

/* The tensors of the list at idx (at least one, one element type, one
** number of dimensions), left in order on the stack; returns how many. */
static int checklist(lua_State *L, int idx, const char *fn) {
  int n, i;
  ltensor *first = NULL;
  if (!lua_istable(L, idx))
    lbp_error(L, fn, "tensors must be a table of backprop.Tensor, got %s",
              luaL_typename(L, idx));
  n = (int)lbp_checklist(L, idx, fn, "tensors");
  if (n < 1) lbp_error(L, fn, "tensors is empty");
  luaL_checkstack(L, n + 8, "too many tensors");
  for (i = 1; i <= n; i++) {
    char arg[40];
    ltensor *t;
    snprintf(arg, sizeof arg, "tensors[%d]", i);
    lua_geti(L, idx, i);
    t = lbp_checkanytensor(L, -1, fn, arg);
    if (first == NULL) first = t;
    else if (t->t.dtype != first->t.dtype)
      lbp_error(L, fn, "%s is %s, but tensors[1] is %s (convert with :float() "
                "or :byte())", arg, lbp_dtype_name(t->t.dtype),
                lbp_dtype_name(first->t.dtype));
  }
  return n;
}

/* bp.cat(tensors [, dim]): joined along dim (default 1), which may differ
** in size; every other size must agree. */
static int l_cat(lua_State *L) {
  const char *fn = "backprop.cat";
  int n, i, d, base;
  ltensor *t0, *y;
  size_t shape[BP_MAXDIM], at = 0;
  lbp_checknargs(L, 0, 2, fn);
  lua_settop(L, 2);
  n = checklist(L, 1, fn);
  base = lua_gettop(L) - n;
  t0 = lua_touserdata(L, base + 1);
  d = lua_isnil(L, 2) ? 0 : lbp_tcheckdim(L, 2, &t0->t, 0, fn);
  memcpy(shape, t0->t.shape, sizeof shape);
  shape[d] = 0;
  for (i = 1; i <= n; i++) {
    ltensor *t = lua_touserdata(L, base + i);
    int k, ok = t->t.ndim == t0->t.ndim;
    for (k = 0; ok && k < t0->t.ndim; k++)
      if (k != d && t->t.shape[k] != t0->t.shape[k]) ok = 0;
    if (!ok) {
      lbp_shapebuf s1, s2;
      lbp_error(L, fn, "tensors[%d] has shape %s, tensors[1] %s: all sizes "
                "but dimension %d must agree", i, lbp_shape(&t->t, &s1),
                lbp_shape(&t0->t, &s2), d + 1);
    }
    shape[d] += t->t.shape[d];
  }
  y = lbp_tnew(L, t0->t.dtype, t0->t.ndim, shape, fn);
  for (i = 1; i <= n; i++) {
    ltensor *t = lua_touserdata(L, base + i);
    bp_tensor dst;
    bp_narrow(&y->t, d, at, t->t.shape[d], &dst);
    bp_copy(&dst, &t->t);
    at += t->t.shape[d];
  }
  return 1;
}

/* bp.stack(tensors [, dim]): equally shaped tensors joined along a new
** dimension dim (1..ndim+1, default 1). */
static int l_stack(lua_State *L) {
  const char *fn = "backprop.stack";
  int n, i, d, base;
  ltensor *t0, *y;
  size_t shape[BP_MAXDIM];
  lbp_checknargs(L, 0, 2, fn);
  lua_settop(L, 2);
  n = checklist(L, 1, fn);
  base = lua_gettop(L) - n;
  t0 = lua_touserdata(L, base + 1);
  d = lua_isnil(L, 2) ? 0 : lbp_tcheckdim(L, 2, &t0->t, 1, fn);
  if (t0->t.ndim == BP_MAXDIM)
    lbp_error(L, fn, "stacking %d-D tensors would exceed %d dimensions",
              t0->t.ndim, BP_MAXDIM);
  for (i = 2; i <= n; i++) {
    ltensor *t = lua_touserdata(L, base + i);
    if (t->t.ndim != t0->t.ndim ||
        memcmp(t->t.shape, t0->t.shape, (size_t)t->t.ndim * sizeof *shape)) {
      lbp_shapebuf s1, s2;
      lbp_error(L, fn, "tensors[%d] has shape %s, but tensors[1] has %s "
                "(stacked tensors must have one shape)", i,
                lbp_shape(&t->t, &s1), lbp_shape(&t0->t, &s2));
    }
  }
  for (i = 0; i <= t0->t.ndim; i++)
    shape[i] = i < d ? t0->t.shape[i] : i == d ? (size_t)n : t0->t.shape[i - 1];
  y = lbp_tnew(L, t0->t.dtype, t0->t.ndim + 1, shape, fn);
  for (i = 1; i <= n; i++) {
    bp_tensor dst;
    bp_select(&y->t, d, (size_t)i - 1, &dst);
    bp_copy(&dst, &((ltensor *)lua_touserdata(L, base + i))->t);
  }
  return 1;
}

/* --- element types --------------------------------------------------- */

/* t itself if it has type dt, else a converted copy. */
static int convert(lua_State *L, bp_dtype dt, const char *fn) {
  ltensor *t = lbp_checkanytensor(L, 1, fn, "self"), *y;
  lbp_checknargs(L, 1, 0, fn);
  if (t->t.dtype == dt) {
    lua_settop(L, 1);
    return 1;
  }
  y = lbp_tnew(L, dt, t->t.ndim, t->t.shape, fn);
  bp_copy(&y->t, &t->t);
  return 1;
}

static int t_float(lua_State *L) { return convert(L, BP_FLOAT32, "backprop.Tensor:float"); }
static int t_byte(lua_State *L) { return convert(L, BP_UINT8, "backprop.Tensor:byte"); }

static int t_dtype(lua_State *L) {
  ltensor *t = lbp_checkanytensor(L, 1, "backprop.Tensor:dtype", "self");
  lbp_checknargs(L, 1, 0, "backprop.Tensor:dtype");
  lua_pushstring(L, lbp_dtype_name(t->t.dtype));
  return 1;
}

/* --- ranges and codes ------------------------------------------------ */

/* bp.arange([start,] stop [, step]): start, start+step, ... up to but not
** including stop, as PyTorch's arange (start defaults to 0, step to 1). */
static int l_arange(lua_State *L) {
  const char *fn = "backprop.arange";
  double start = 0.0, stop, step = 1.0, count;
  size_t n, i;
  ltensor *t;
  lbp_checknargs(L, 0, 3, fn);
  if (lua_isnoneornil(L, 2)) {
    stop = lbp_checkfinite(L, 1, fn, "stop");
  } else {
    start = lbp_checkfinite(L, 1, fn, "start");
    stop = lbp_checkfinite(L, 2, fn, "stop");
    if (!lua_isnoneornil(L, 3)) step = lbp_checkfinite(L, 3, fn, "step");
  }
  if (step == 0.0) lbp_error(L, fn, "step must not be 0");
  count = ceil((stop - start) / step);
  if (!(count >= 1))
    lbp_error(L, fn, "the range from %g to %g by %g is empty (empty tensors "
              "are not supported)", start, stop, step);
  if (count > (double)LBP_2POW24 * 64)
    lbp_error(L, fn, "the range from %g to %g by %g has %.0f elements, too "
              "many", start, stop, step, count);
  n = (size_t)count;
  t = lbp_newtensor(L, 1, &n, fn);
  for (i = 0; i < n; i++) t->t.data[i] = (float)(start + (double)i * step);
  return 1;
}

/* bp.linspace(start, stop, n): n evenly spaced values, both ends included. */
static int l_linspace(lua_State *L) {
  const char *fn = "backprop.linspace";
  double start = lbp_checkfinite(L, 1, fn, "start");
  double stop = lbp_checkfinite(L, 2, fn, "stop");
  size_t n = lbp_checksize(L, 3, fn, "n"), i;
  ltensor *t;
  double step;
  lbp_checknargs(L, 0, 3, fn);
  t = lbp_newtensor(L, 1, &n, fn);
  step = n > 1 ? (stop - start) / (double)(n - 1) : 0.0;
  for (i = 0; i < n; i++) t->t.data[i] = (float)(start + (double)i * step);
  if (n > 1) t->t.data[n - 1] = (float)stop;   /* exact end, no drift */
  return 1;
}

/* bp.one_hot(labels [, num_classes]): N x C float32 rows with a 1 in the
** column of each (1-based) label; C defaults to the largest label. */
static int l_one_hot(lua_State *L) {
  const char *fn = "backprop.one_hot";
  ltensor *lt = luaL_testudata(L, 1, LBP_TENSOR), *y;
  size_t n, i, c = 0, shape[2];
  double top = 0;
  if (lt == NULL && !lua_istable(L, 1))
    lbp_error(L, fn, "labels must be a table or backprop.Tensor of class "
              "labels, got %s", luaL_typename(L, 1));
  if (lt != NULL) lt = lbp_checkanytensor(L, 1, fn, "labels");
  if (lt != NULL && lt->t.ndim != 1 &&
      !(lt->t.ndim == 2 && lt->t.shape[1] == 1)) {
    lbp_shapebuf sb;
    lbp_error(L, fn, "labels must be a 1-D tensor (or N x 1), got shape %s",
              lbp_shape(&lt->t, &sb));
  }
  lbp_checknargs(L, 0, 2, fn);
  n = lt != NULL ? lt->t.shape[0] : lbp_checklist(L, 1, fn, "labels");
  if (n == 0) lbp_error(L, fn, "labels is empty");
  if (!lua_isnoneornil(L, 2)) c = lbp_checksize(L, 2, fn, "num_classes");
  for (i = 0; i < n; i++) {
    double v;
    if (lt != NULL) v = lbp_tget(&lt->t, i * lt->t.stride[0]);
    else {
      lua_geti(L, 1, (lua_Integer)i + 1);
      if (lua_type(L, -1) != LUA_TNUMBER)
        lbp_error(L, fn, "labels: entry %lu is a %s, expected a class label",
                  (unsigned long)i + 1, luaL_typename(L, -1));
      v = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    if (c != 0 && !(v >= 1 && v <= (double)c && v == floor(v)))
      lbp_error(L, fn, "labels: entry %lu is %g, not a class in 1..%lu",
                (unsigned long)i + 1, v, (unsigned long)c);
    if (!(v >= 1 && v <= 1e9 && v == floor(v)))
      lbp_error(L, fn, "labels: entry %lu is %g, not a class label (a "
                "positive integer)", (unsigned long)i + 1, v);
    if (v > top) top = v;
  }
  shape[0] = n;
  shape[1] = c ? c : (size_t)top;
  y = lbp_newtensor(L, 2, shape, fn);
  for (i = 0; i < n; i++) {
    double v;
    if (lt != NULL) v = lbp_tget(&lt->t, i * lt->t.stride[0]);
    else {
      lua_geti(L, 1, (lua_Integer)i + 1);
      v = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    y->t.data[i * shape[1] + (size_t)v - 1] = 1.0f;
  }
  return 1;
}

const luaL_Reg lbp_tview_methods[] = {
  {"narrow", t_narrow}, {"select", t_select}, {"index", t_index},
  {"float", t_float}, {"byte", t_byte}, {"dtype", t_dtype},
  {NULL, NULL}
};

const luaL_Reg lbp_tview_functions[] = {
  {"cat", l_cat}, {"stack", l_stack}, {"arange", l_arange},
  {"linspace", l_linspace}, {"one_hot", l_one_hot},
  {NULL, NULL}
};
