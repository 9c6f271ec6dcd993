/*
** ltbase.c: the tensor userdata as every binding file sees it: argument
** checks (contiguous float32 copies of strided views, write targets that
** must not be copies, finite values) and new tensors and views.
*/
#include <string.h>

#include "ltensor.h"
#include "tensor/tview.h"

ltensor *lbp_checkanytensor(lua_State *L, int idx, const char *fn,
                            const char *arg) {
  ltensor *t = lbp_checkudata(L, idx, LBP_TENSOR, fn, arg);
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

void lbp_checkvalues(lua_State *L, const bp_tensor *t, const char *fn,
                     const char *what) {
  lbp_checkvalues_mt(L, t, NULL, fn, what);
}

void lbp_checkvalues_mt(lua_State *L, const bp_tensor *t,
                        struct bp_pool *pool, const char *fn,
                        const char *what) {
  size_t i = bp_vfind_nonfinite_mt(pool, t->numel, t->data);
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

const char *lbp_shape(const bp_tensor *t, lbp_shapebuf *b) {
  bp_shape_str(t->ndim, t->shape, b->s, sizeof b->s);
  return b->s;
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
