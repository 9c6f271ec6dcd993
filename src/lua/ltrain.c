/*
** ltrain.c: net:train_step(x, y, loss, opt), one update in one C call,
** and net:_train_epoch, the inner loop of fit (fit.lua): the arguments
** both take are checked against each other here, then the core's
** training loop (train/train.h) runs.
*/
#include <stdio.h>

#include "lloss.h"
#include "lmodule.h"
#include "loptim.h"
#include "lstate.h"
#include "ltensor.h"

/* The optimizer at idx must have been made for the module at 1. */
static loptim *checkopt(lua_State *L, int idx, const char *fn) {
  loptim *o = lbp_checkoptim(L, idx, fn, "optimizer");
  lbp_getuservalue(L, idx);
  if (!lua_rawequal(L, -1, 1))
    lbp_error(L, fn, "the optimizer was made for another network");
  lua_pop(L, 1);
  return o;
}

/* The arguments train_step and fit share: input at 2, target at 3, loss
** at 4 and this network's optimizer at 5, checked against each other. */
typedef struct training {
  ltensor *x, *y;
  lloss *loss;
  loptim *opt;
  lbp_batch in;
} training;

/* Arguments 2..5: input, target, loss, optimizer. uint8 inputs only when
** `u8` (fit's epochs convert them batch by batch). The input's values
** only when `values`. */
static void checktraining(lua_State *L, const char *fn, lmodule *m,
                          training *t, int u8, int values) {
  bp_shape out;
  t->x = lbp_checkanytensor(L, 2, fn, "input");
  if (t->x->t.dtype != BP_UINT8 || !u8)
    t->x = lbp_checktensor(L, 2, fn, "input");  /* float32, contiguous */
  else if (!bp_tensor_iscontig(&t->x->t))
    lbp_error(L, fn, "a uint8 input must be contiguous (not a strided "
              "view): use :clone()");
  t->y = lbp_checktensor(L, 3, fn, "target");
  t->loss = lbp_checkloss(L, 4, fn, "loss");
  t->opt = checkopt(L, 5, fn);
  lbp_checkinput(L, fn, m, &t->x->t, &t->in, &out, values);
  lbp_checktarget(L, fn, t->loss->spec.kind, t->in.n, bp_shape_numel(&out),
                  &t->y->t);
  lbp_ensure_init(L, m);
}

/* net:train_step(x, y, loss, opt): one update, one C call. */
static int m_train_step(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "train_step", &b);
  training t;
  double value;
  bp_error err;
  checktraining(L, b.s, m, &t, 0, 1);
  if (bp_train_step(&m->net, t.x->t.data, t.in.n, &t.in.s, t.y->t.data,
                    &t.loss->spec, &t.opt->o, &value, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  lua_pushnumber(L, value);
  return 1;
}

/* net:_train_epoch(X, Y, loss, opt, batch_size, shuffle [, first, count
** [, scale [, checked]]]): the inner loop of fit, one epoch in C; returns
** its loss. With checked, a float X is not scanned for NaN and infinity
** up front (fit scans it once, at its first call): each batch is checked
** anyway just before its step (bp_train_batches), so a value changed
** between calls is still refused, only after the batches before it.
** With first (1-based batch) and count (0: to the end): only those batches
** (bp_train_batches), for fit's on_batch; returns their loss (the mean over
** their samples for reduction "mean", else the sum), the samples they held,
** and whether the reduction is "mean". A uint8 X is turned into floats
** (x scale, default 1) batch by batch, so image data stays compact. */
static int m_train_epoch(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "fit", &b);
  size_t bs = lbp_checksize(L, 6, b.s, "batch_size");
  int shuffle = lua_toboolean(L, 7), part = !lua_isnoneornil(L, 8);
  size_t first = 1, count = 0, seen;
  training t;
  double value;
  bp_error err;
  bp_samples xs;
  lbp_shapebuf sb;
  if (part) {
    first = lbp_checksize(L, 8, b.s, "first batch");
    if (!lua_isinteger(L, 9) || lua_tointeger(L, 9) < 0)
      lbp_error(L, b.s, "batch count must be an integer >= 0");
    count = (size_t)lua_tointeger(L, 9);
  }
  xs.scale = lua_isnoneornil(L, 10) ? 1.0f
                                    : (float)lbp_checkfinite(L, 10, b.s, "scale");
  t.x = lbp_checkanytensor(L, 2, b.s, "input");
  if (t.x->t.ndim < 2)
    lbp_error(L, b.s, "expected input of shape N x features, got %s",
              lbp_shape(&t.x->t, &sb));
  checktraining(L, b.s, m, &t, 1, !lua_toboolean(L, 11));
  xs.f32 = t.x->t.data;
  xs.u8 = t.x->t.u8;
  if (xs.f32 != NULL && xs.scale != 1.0f)
    lbp_error(L, b.s, "input_scale applies to uint8 inputs only (this input "
              "is float32)");
  if (bp_train_batches(&m->net, &m->epoch, &xs, t.in.n, &t.in.s, t.y->t.data,
                       t.y->t.numel / t.in.n, &t.loss->spec, &t.opt->o, bs,
                       shuffle, lbp_rng(L), first - 1, count, &value, &seen,
                       &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  if (t.loss->spec.reduction == BP_REDUCE_MEAN && seen > 0)
    value /= (double)seen;
  lua_pushnumber(L, value);
  if (!part) return 1;
  lua_pushinteger(L, (lua_Integer)seen);
  lua_pushboolean(L, t.loss->spec.reduction == BP_REDUCE_MEAN);
  return 3;
}

static const luaL_Reg methods[] = {
  {"train_step", m_train_step}, {"_train_epoch", m_train_epoch},
  {NULL, NULL}
};

/* Into the Module method table (lbp_open_module made it). */
void lbp_open_train(lua_State *L) {
  luaL_getmetatable(L, LBP_MODULE);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}
