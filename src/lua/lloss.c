/*
** lloss.c: backprop.Loss. loss:forward(prediction, target) returns the
** loss (a Lua number; with reduction = "none" a tensor of per-element or
** per-sample losses) and computes the gradient in the same pass;
** loss:backward() returns that gradient, in a tensor the loss reuses.
** With "none" the gradient is that of the sum of the losses, and
** loss:backward(g) weights each loss by g (the chain rule for an outer
** function whose gradient is g).
**
** The user value is a table: [1] the gradient, [2] the weighted gradient
** of backward(g), both reused while the prediction's shape stays.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lloss.h"
#include "ltensor.h"

lloss *lbp_checkloss(lua_State *L, int idx, const char *fn, const char *arg) {
  return lbp_checkudata(L, idx, LBP_LOSS, fn, arg);
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

#define GRAD 1
#define WEIGHTED 2

/* Push options[key] and return its type (LUA_TNIL if no table). */
static int getopt(lua_State *L, const char *key) {
  if (lua_type(L, 1) != LUA_TTABLE) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, 1, key);
}

static bp_reduction optreduction(lua_State *L, const char *fn) {
  bp_reduction r = BP_REDUCE_MEAN;
  int t = getopt(L, "reduction");
  if (t != LUA_TNIL) {
    const char *s = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (s == NULL || !bp_reduction_of(s, &r)) {
      const char *got = luaL_tolstring(L, -1, NULL);
      lbp_error(L, fn, "reduction must be \"mean\", \"sum\" or \"none\", "
                "got %s%s%s", s ? "\"" : "", s ? s : got, s ? "\"" : "");
    }
  }
  lua_pop(L, 1);
  return r;
}

/* A number option: >= 0 (ok_zero) or > 0, and < hi; `range` says so. */
static double optnumber(lua_State *L, const char *fn, const char *key,
                        double dflt, const char *range, int ok_zero,
                        double hi) {
  double v;
  if (getopt(L, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return dflt;
  }
  if (lua_type(L, -1) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be a number in %s, got %s", key, range,
              luaL_typename(L, -1));
  v = (double)lua_tonumber(L, -1);
  if (!(ok_zero ? v >= 0.0 : v > 0.0) || !(v < hi))
    lbp_error(L, fn, "%s must be a number in %s, got %g", key, range, v);
  lua_pop(L, 1);
  return v;
}

/* The weight-like option at the top of the stack (a tensor or a table
** of numbers), checked: returns its count; copies it to dst if not NULL. */
static size_t weights(lua_State *L, const char *fn, const char *key,
                      float *dst) {
  size_t i, n;
  ltensor *t = luaL_testudata(L, -1, LBP_TENSOR);
  if (t != NULL) {
    lbp_shapebuf b;
    t = lbp_checktensor(L, -1, fn, key);
    if (t->t.ndim != 1)
      lbp_error(L, fn, "%s must be a 1-D tensor (one value per class), got "
                "shape %s", key, lbp_shape(&t->t, &b));
    n = t->t.numel;
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    n = (size_t)luaL_len(L, -1);
  } else {
    return (size_t)lbp_error(L, fn, "%s must be a tensor or a table of "
                             "numbers, got %s", key, luaL_typename(L, -1));
  }
  if (n == 0) lbp_error(L, fn, "%s is empty", key);
  for (i = 0; i < n; i++) {
    double v;
    if (t != NULL) {
      v = t->t.data[i];
    } else {
      if (lua_geti(L, -1, (lua_Integer)i + 1) != LUA_TNUMBER)
        lbp_error(L, fn, "%s[%lu] must be a number, got %s", key,
                  (unsigned long)i + 1, luaL_typename(L, -1));
      v = (double)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    if (!(v > 0.0 && isfinite(v) && (float)v > 0.0f &&
          isfinite((float)v)))
      lbp_error(L, fn, "%s[%lu] is %g, expected a positive finite number",
                key, (unsigned long)i + 1, v);
    if (dst) dst[i] = (float)v;
  }
  return n;
}

static size_t optweights(lua_State *L, const char *fn, const char *key,
                         float *dst) {
  size_t n = 0;
  if (getopt(L, key) != LUA_TNIL) n = weights(L, fn, key, dst);
  lua_pop(L, 1);
  return n;
}

/* bp.<Name>{options}: the loss of the kind (its name and options from
** the core, nn/loss.h). */
static int make(lua_State *L, bp_loss_kind kind) {
  const char *name = bp_loss_name(kind);
  char fn[64];
  lloss *l;
  bp_loss_spec s;
  size_t nw, npw;
  snprintf(fn, sizeof fn, "backprop.%s", name);
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) != LUA_TTABLE)
      lbp_error(L, fn, "options must be a table, got %s", luaL_typename(L, 1));
    lbp_checkoptions(L, 1, fn, bp_loss_options(kind));
  }
  /* Everything is checked before the userdata exists. */
  bp_loss_spec_init(&s, kind);
  s.reduction = optreduction(L, fn);
  s.smoothing = optnumber(L, fn, "label_smoothing", 0.0, "[0, 1)", 1, 1.0);
  s.delta = optnumber(L, fn, "delta", 1.0, "(0, inf)", 0, HUGE_VAL);
  nw = optweights(L, fn, "weight", NULL);
  npw = optweights(L, fn, "pos_weight", NULL);
  l = lbp_newuserdata(L, sizeof *l + (nw + npw) * sizeof(float));
  l->spec = s;
  l->name = name;
  l->ready = 0;
  l->n = l->c = 0;
  if (nw) {
    optweights(L, fn, "weight", l->w);
    l->spec.weight = l->w;
    l->spec.nweight = nw;
  }
  if (npw) {
    optweights(L, fn, "pos_weight", l->w + nw);
    l->spec.pos_weight = l->w + nw;
    l->spec.npos_weight = npw;
  }
  luaL_setmetatable(L, LBP_LOSS);
  lua_createtable(L, 2, 0);
  lbp_setuservalue(L, -2);
  return 1;
}

static int l_mse(lua_State *L) { return make(L, BP_MSE); }
static int l_l1(lua_State *L) { return make(L, BP_L1); }
static int l_huber(lua_State *L) { return make(L, BP_HUBER); }
static int l_bce(lua_State *L) { return make(L, BP_BCE); }
static int l_logits(lua_State *L) { return make(L, BP_BCE_LOGITS); }
static int l_ce(lua_State *L) { return make(L, BP_CE); }
static int l_nll(lua_State *L) { return make(L, BP_NLL); }

static lloss *checkself(lua_State *L, const char *method, char *fn,
                        size_t len) {
  lloss *l = luaL_testudata(L, 1, LBP_LOSS);
  snprintf(fn, len, "backprop.%s:%s", l ? l->name : "Loss", method);
  return lbp_checkloss(L, 1, fn, "self");
}

/* Push the reused tensor in slot `slot` of the user value, reallocated if
** its shape is not (ndim, shape). */
static ltensor *scratch(lua_State *L, int slot, int ndim, const size_t *shape,
                        const char *fn) {
  ltensor *g;
  lbp_getuservalue(L, 1);
  lua_rawgeti(L, -1, slot);
  g = luaL_testudata(L, -1, LBP_TENSOR);
  if (g == NULL || g->closed || g->t.ndim != ndim ||
      memcmp(g->t.shape, shape, (size_t)ndim * sizeof *shape) != 0) {
    lua_pop(L, 1);
    g = lbp_newtensor(L, ndim, shape, fn);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, slot);
  }
  lua_remove(L, -2);
  return g;
}

static int loss_forward(lua_State *L) {
  char fn[64];
  lloss *l = checkself(L, "forward", fn, sizeof fn);
  ltensor *p = lbp_checktensor(L, 2, fn, "prediction");
  ltensor *y = lbp_checktensor(L, 3, fn, "target"), *g, *out = NULL;
  size_t n, c;
  double value;
  bp_error err;
  lbp_shapebuf sb;
  l->ready = 0;   /* whatever fails below, backward has nothing stale */
  if (p->t.ndim > 2)
    lbp_error(L, fn, "prediction must be N x C (or one sample as a vector), "
              "got shape %s", lbp_shape(&p->t, &sb));
  n = p->t.ndim == 2 ? p->t.shape[0] : 1;
  c = p->t.ndim == 2 ? p->t.shape[1] : p->t.shape[0];
  lbp_checkvalues(L, &p->t, fn, "prediction");
  lbp_checktarget(L, fn, l->spec.kind, n, c, &y->t);
  if (bp_loss_check(&l->spec, p->t.data, n, c, y->t.data, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  g = scratch(L, GRAD, p->t.ndim, p->t.shape, fn);
  if (l->spec.reduction == BP_REDUCE_NONE) {
    /* A fresh tensor: results the caller keeps are never overwritten. */
    if (bp_loss_takes_labels(l->spec.kind))
      out = lbp_newtensor(L, 1, &n, fn);
    else
      out = lbp_newtensor(L, p->t.ndim, p->t.shape, fn);
  }
  if (bp_loss(&l->spec, p->t.data, n, c, y->t.data, &value,
              out ? out->t.data : NULL, g->t.data, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  l->ready = 1;
  l->n = n;
  l->c = c;
  if (out == NULL) lua_pushnumber(L, value);
  return 1;
}

/* backward(gout) with reduction "none": gout holds one weight per loss. */
static int weighted(lua_State *L, const char *fn, lloss *l, ltensor *g) {
  ltensor *w = lbp_checktensor(L, 2, fn, "gradient"), *d;
  int labels = bp_loss_takes_labels(l->spec.kind);
  size_t i, j, n = l->n, c = l->c;
  lbp_shapebuf a, b;
  int ok = labels ? w->t.shape[0] == n &&
                        (w->t.ndim == 1 || (w->t.ndim == 2 && w->t.shape[1] == 1))
                  : w->t.ndim == g->t.ndim &&
                        memcmp(w->t.shape, g->t.shape,
                               (size_t)g->t.ndim * sizeof *g->t.shape) == 0;
  if (!ok) {
    if (labels)
      lbp_error(L, fn, "expected a gradient of shape %lu (one per sample), "
                "got %s", (unsigned long)n, lbp_shape(&w->t, &a));
    lbp_error(L, fn, "expected a gradient of shape %s (the prediction's), "
              "got %s", lbp_shape(&g->t, &b), lbp_shape(&w->t, &a));
  }
  lbp_checkvalues(L, &w->t, fn, "gradient");
  d = scratch(L, WEIGHTED, g->t.ndim, g->t.shape, fn);
  for (i = 0; i < n; i++)
    for (j = 0; j < c; j++)
      d->t.data[i * c + j] =
          g->t.data[i * c + j] * w->t.data[labels ? i : i * c + j];
  return 1;
}

static int loss_backward(lua_State *L) {
  char fn[64];
  lloss *l = checkself(L, "backward", fn, sizeof fn);
  int weigh = !lua_isnoneornil(L, 2);
  ltensor *g;
  lua_settop(L, 2);   /* the pushes below must not land at index 2 */
  if (!l->ready) lbp_error(L, fn, "no gradient yet (call forward first)");
  if (weigh && l->spec.reduction != BP_REDUCE_NONE)
    lbp_error(L, fn, "takes a gradient argument only with reduction = "
              "\"none\" (this loss reduces to a number)");
  lbp_getuservalue(L, 1);
  lua_rawgeti(L, -1, GRAD);
  g = luaL_checkudata(L, -1, LBP_TENSOR);
  return weigh ? weighted(L, fn, l, g) : 1;
}

static int loss_tostring(lua_State *L) {
  lloss *l = luaL_checkudata(L, 1, LBP_LOSS);
  if (l->spec.reduction == BP_REDUCE_MEAN)
    lua_pushfstring(L, "backprop.%s", l->name);
  else
    lua_pushfstring(L, "backprop.%s{reduction = \"%s\"}", l->name,
                    bp_reduction_name(l->spec.reduction));
  return 1;
}

/* loss:reduction(): "mean", "sum" or "none". */
static int loss_reduction(lua_State *L) {
  lloss *l = lbp_checkloss(L, 1, "backprop.Loss:reduction", "self");
  lua_pushstring(L, bp_reduction_name(l->spec.reduction));
  return 1;
}

static const luaL_Reg methods[] = {
  {"forward", loss_forward}, {"backward", loss_backward},
  {"reduction", loss_reduction}, {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__tostring", loss_tostring}, {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"MSELoss", l_mse}, {"L1Loss", l_l1}, {"HuberLoss", l_huber},
  {"BCELoss", l_bce}, {"BCEWithLogitsLoss", l_logits},
  {"CrossEntropyLoss", l_ce}, {"NLLLoss", l_nll}, {NULL, NULL}
};

void lbp_open_loss(lua_State *L) {
  lbp_newclass(L, LBP_LOSS, meta, methods, NULL, functions);
}
