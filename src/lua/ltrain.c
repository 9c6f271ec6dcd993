/*
** ltrain.c: net:train_step(x, y, loss, opt), one update in one C call,
** and the trainer behind fit (fit.lua): an internal userdata made once per
** fit call by internal.trainer, which checks everything the call trains
** with against each other once; trainer:run and trainer:evaluate then run
** the core's loop (train/train.h). Clipping is a trainer setting, so it
** never outlives the fit call that asked for it (train_step never clips).
** Also internal.column_rms and internal.last_layer, for fit's warnings.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lloss.h"
#include "lmodule.h"
#include "loptim.h"
#include "lstate.h"
#include "ltensor.h"
#include "train/train.h"

#define LBP_TRAINER "backprop.Trainer"

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
** `u8` (fit converts them batch by batch). */
static void checktraining(lua_State *L, const char *fn, lmodule *m,
                          training *t, int u8) {
  bp_shape out;
  t->x = u8 ? lbp_checkanytensor(L, 2, fn, "input") : NULL;
  if (t->x == NULL || t->x->t.dtype != BP_UINT8)
    t->x = lbp_checktensor(L, 2, fn, "input");  /* float32, contiguous */
  else if (!bp_tensor_iscontig(&t->x->t))
    lbp_error(L, fn, "a uint8 input must be contiguous (not a strided "
              "view): use :clone()");
  t->y = lbp_checktensor(L, 3, fn, "target");
  t->loss = lbp_checkloss(L, 4, fn, "loss");
  t->opt = checkopt(L, 5, fn);
  lbp_checkinput(L, fn, m, &t->x->t, &t->in, &out, 1);
  lbp_checktarget(L, fn, t->loss->spec.kind, t->in.n, bp_shape_numel(&out),
                  &t->y->t);
  lbp_ensure_init(L, m);
}

/* --- train_step ---------------------------------------------------------
** Called once per sample in the classic loop, so its checks are made
** cheap for the usual arguments: each is recognized by its metatable,
** kept in an upvalue (a lookup by name in the registry costs more than
** the training step itself), and the input's shape by the network's
** plan for the last batch (net.h: every check of that plan would pass
** again). Anything else goes through the full checks, which raise the
** errors. */
enum { UP_MODULE = 1, UP_TENSOR, UP_LOSS, UP_OPTIM, NUP };

/* The userdata at idx if its metatable is the one at upvalue up. */
static void *known(lua_State *L, int idx, int up) {
  void *p = NULL;
  if (lua_getmetatable(L, idx)) {
    if (lua_rawequal(L, -1, lua_upvalueindex(up))) p = lua_touserdata(L, idx);
    lua_pop(L, 1);
  }
  return p;
}

/* A contiguous float32 tensor at idx (else the full check: a copy of a
** strided view, or an error). */
static ltensor *tensor_arg(lua_State *L, int idx, const char *fn,
                           const char *arg) {
  ltensor *t = known(L, idx, UP_TENSOR);
  if (t == NULL || t->closed || t->t.dtype != BP_FLOAT32 ||
      !bp_tensor_iscontig(&t->t))
    t = lbp_checktensor(L, idx, fn, arg);
  return t;
}

/* checktraining for train_step (float inputs only), by the fast checks. */
static void checkstep(lua_State *L, const char *fn, lmodule *m, training *t) {
  bp_net *net = &m->net;
  bp_shape out;
  t->x = tensor_arg(L, 2, fn, "input");
  t->y = tensor_arg(L, 3, fn, "target");
  t->loss = known(L, 4, UP_LOSS);
  if (t->loss == NULL) t->loss = lbp_checkloss(L, 4, fn, "loss");
  t->opt = known(L, 5, UP_OPTIM);
  if (t->opt != NULL) {          /* made for this network (checkopt) */
    lbp_getuservalue(L, 5);
    if (!lua_rawequal(L, -1, 1)) t->opt = NULL;
    lua_pop(L, 1);
  }
  if (t->opt == NULL) t->opt = checkopt(L, 5, fn);
  lbp_tobatch(L, fn, "input", &t->x->t, &t->in);
  if (net->planned && net->plan_n == t->in.n &&
      net->plan_training == net->training &&
      bp_shape_equal(&t->in.s, &net->shape[0])) {
    out = net->shape[net->nlayers];
    lbp_checkvalues_mt(L, &t->x->t, net->pool, fn, "input");
  } else {
    lbp_checkinput(L, fn, m, &t->x->t, &t->in, &out, 1);
  }
  lbp_checktarget(L, fn, t->loss->spec.kind, t->in.n, bp_shape_numel(&out),
                  &t->y->t);
  lbp_ensure_init(L, m);
}

/* net:train_step(x, y, loss, opt): one update, one C call. */
static int m_train_step(lua_State *L) {
  lbp_fname b;
  lmodule *m;
  training t;
  double value;
  bp_error err;
  int up;
  for (up = UP_MODULE; up < NUP; up++)   /* first call: the metatables */
    if (lua_isnil(L, lua_upvalueindex(up))) {
      static const char *const names[] = {LBP_MODULE, LBP_TENSOR, LBP_LOSS,
                                          LBP_OPTIM};
      luaL_getmetatable(L, names[up - 1]);
      lua_replace(L, lua_upvalueindex(up));
    }
  m = known(L, 1, UP_MODULE);
  if (m == NULL || m->closed) {
    m = lbp_modself(L, "train_step", &b);   /* raises the error */
  } else {
    lbp_fname_of(m, "train_step", &b);
    m->net.rng = lbp_rng(L);
    m->net.pool = lbp_pool(L);
  }
  checkstep(L, b.s, m, &t);
  if (bp_train_step(&m->net, t.x->t.data, t.in.n, &t.in.s, t.y->t.data,
                    &t.loss->spec, &t.opt->o, NULL, &value, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  lua_pushnumber(L, value);
  return 1;
}

/* --- the trainer ------------------------------------------------------ */

/* Its user value is a table holding what the pointers below point into,
** at these indices, so none of it can be collected while it trains. */
enum { U_NET = 1, U_X, U_Y, U_LOSS, U_OPT, U_VX, U_VY, U_VOUT };

typedef struct ltrainer {
  bp_trainer t;
  lmodule *m;
  char fn[64], vfn[96];   /* "backprop.Sequential:fit" (: validation) */
  float scale;            /* input_scale, for uint8 inputs */
  size_t vn, vchunk;      /* validation: samples, and per forward */
  bp_shape vin;           /* and their shape */
  int validation;
} ltrainer;

static double numfield(lua_State *L, int idx, const char *key, double def) {
  double v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) v = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* The evaluation set: validation, or the training data for metrics. */
typedef struct evalset {
  size_t n, chunk;        /* samples, and per forward */
  bp_shape in, out;       /* per sample */
} evalset;

/* The set {vx, vy} at idx (fit.lua checked that both are tensors)
** against the network in its current (eval) mode and the loss; vx and vy
** are pushed (contiguous copies of strided float views). Errors read
** "<fn>: validation: ...". */
static void checkeval(lua_State *L, const char *vfn, lmodule *m,
                      bp_loss_kind kind, size_t batch, int idx, evalset *e) {
  bp_error err;
  lbp_shapebuf sb;
  ltensor *vx, *vy;
  int i;
  lua_rawgeti(L, idx, 1);
  lua_rawgeti(L, idx, 2);
  vx = lbp_checkanytensor(L, -2, vfn, "input");
  if (vx->t.dtype == BP_UINT8 && !bp_tensor_iscontig(&vx->t))
    lbp_error(L, vfn, "a uint8 input must be contiguous (not a strided "
              "view): use :clone()");
  if (vx->t.ndim < 2 || vx->t.ndim > BP_SAMPLE_DIMS + 1)
    lbp_error(L, vfn, "expected input of shape N x features (or N x C x H "
              "x W), got %s", lbp_shape(&vx->t, &sb));
  vy = lbp_checktensor(L, -1, vfn, "target");
  if (vx->t.dtype == BP_FLOAT32) vx = lbp_checktensor(L, -2, vfn, "input");
  e->n = vx->t.shape[0];
  e->in.ndim = vx->t.ndim - 1;
  for (i = 0; i < e->in.ndim; i++) e->in.d[i] = vx->t.shape[i + 1];
  if (bp_net_out_shape(&m->net, e->n, &e->in, &e->out, &err) != BP_OK)
    lbp_error(L, vfn, "%s (input shape %s)", err.msg, lbp_shape(&vx->t, &sb));
  if (vx->t.dtype == BP_FLOAT32)
    lbp_checkvalues_mt(L, &vx->t, m->net.pool, vfn, "input");
  lbp_checktarget(L, vfn, kind, e->n, bp_shape_numel(&e->out), &vy->t);
  /* Chunks of at least 256 rows: few calls, and scratch memory the size
  ** of a chunk rather than of the set (5000 images through a CNN would
  ** hold gigabytes of activations). */
  e->chunk = batch > 256 ? batch : 256;
  if (e->chunk > e->n) e->chunk = e->n;
}

/* a then b into dst (size bytes), cut to fit: a fit call makes a few of
** these names, so they are copied, not formatted. */
static void join(char *dst, size_t size, const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > size - 1) na = size - 1;
  if (nb > size - 1 - na) nb = size - 1 - na;
  memcpy(dst, a, na);
  memcpy(dst + na, b, nb);
  dst[na + nb] = '\0';
}

/* internal.trainer(net, x, y, loss, optimizer, settings): settings is a
** table of batch_size, shuffle, input_scale (nil: none), max_norm,
** norm_type, clip_value (0: off), evaluate (the set trainer:evaluate
** runs, {vx, vy}, or nil) and outputs (keep its outputs, for metrics).
** Everything is checked here, once, before anything is allocated; x is
** scanned for NaN and infinity in full. Returns the trainer and the
** number of batches in an epoch. */
static int l_trainer(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "fit", &b);
  char vfn[96];
  training t;
  ltrainer *tr;
  bp_clip clip;
  bp_error err;
  lbp_shapebuf sb;
  evalset e;
  size_t batch;
  int shuffle, outputs, eval, i;
  float scale = 1.0f;
  luaL_checktype(L, 6, LUA_TTABLE);
  lua_settop(L, 6);
  lua_pushvalue(L, 2);    /* 7, 8: x and y as given (the checks may put */
  lua_pushvalue(L, 3);    /* contiguous copies of strided views at 2, 3) */
  t.x = lbp_checkanytensor(L, 2, b.s, "input");
  if (t.x->t.ndim < 2)
    lbp_error(L, b.s, "expected input of shape N x features, got %s",
              lbp_shape(&t.x->t, &sb));
  checktraining(L, b.s, m, &t, 1);
  lua_getfield(L, 6, "batch_size");
  batch = lbp_checksize(L, -1, b.s, "batch_size");
  lua_getfield(L, 6, "shuffle");
  shuffle = lua_toboolean(L, -1);
  lua_getfield(L, 6, "input_scale");
  if (!lua_isnil(L, -1)) {
    scale = (float)lbp_checkfinite(L, -1, b.s, "input_scale");
    if (t.x->t.dtype != BP_UINT8)
      lbp_error(L, b.s, "input_scale applies to uint8 inputs only (this "
                "input is float32)");
  }
  lua_getfield(L, 6, "outputs");
  outputs = lua_toboolean(L, -1);
  lua_pop(L, 4);
  clip.max_norm = numfield(L, 6, "max_norm", 0.0);
  clip.norm_type = numfield(L, 6, "norm_type", 2.0);
  clip.value = numfield(L, 6, "clip_value", 0.0);
  if (bp_clip_check(&clip, &err) != BP_OK) lbp_error(L, b.s, "%s", err.msg);
  join(vfn, sizeof vfn, b.s, ": validation");
  eval = lua_getfield(L, 6, "evaluate") == LUA_TTABLE;             /* 9 */
  if (eval) checkeval(L, vfn, m, t.loss->spec.kind, batch, 9, &e);
  lua_settop(L, 9);
  /* Checked: now the trainer, its user value and the outputs. */
  tr = lbp_newuserdata(L, sizeof *tr);
  memset(tr, 0, sizeof *tr);
  luaL_setmetatable(L, LBP_TRAINER);
  if (bp_trainer_init(&tr->t, &m->net, &t.loss->spec, &t.opt->o, t.in.n,
                      &t.in.s, t.y->t.numel / t.in.n, batch, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  lbp_gc_report(L, t.in.n * 4 + tr->t.batch * tr->t.ywidth * 4);
  tr->t.clip = clip;
  tr->t.scanned = 1;             /* checktraining looked at every value */
  tr->t.shuffle = shuffle;
  tr->t.rng = lbp_rng(L);
  tr->m = m;
  tr->scale = scale;
  join(tr->fn, sizeof tr->fn, b.s, "");
  join(tr->vfn, sizeof tr->vfn, vfn, "");
  /* The tensors as given: a run or an evaluation checks them again (and
  ** copies a strided view again, so changes to it between epochs count). */
  lua_createtable(L, U_VOUT, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, U_NET);
  lua_pushvalue(L, 7);
  lua_rawseti(L, -2, U_X);
  lua_pushvalue(L, 8);
  lua_rawseti(L, -2, U_Y);
  lua_pushvalue(L, 4);
  lua_rawseti(L, -2, U_LOSS);
  lua_pushvalue(L, 5);
  lua_rawseti(L, -2, U_OPT);
  if (eval) {
    tr->validation = 1;
    tr->vn = e.n;
    tr->vin = e.in;
    tr->vchunk = e.chunk;
    lua_rawgeti(L, 9, 1);
    lua_rawseti(L, -2, U_VX);
    lua_rawgeti(L, 9, 2);
    lua_rawseti(L, -2, U_VY);
    if (outputs) {
      size_t shape[BP_SAMPLE_DIMS + 1];
      shape[0] = e.n;
      for (i = 0; i < e.out.ndim; i++) shape[i + 1] = e.out.d[i];
      lbp_newtensor(L, e.out.ndim + 1, shape, b.s);
      lua_rawseti(L, -2, U_VOUT);
    }
  }
  lbp_setuservalue(L, -2);
  lua_pushinteger(L, (lua_Integer)bp_trainer_batches(&tr->t));
  lua_pushinteger(L, (lua_Integer)tr->t.n);
  return 3;
}

static ltrainer *checktrainer(lua_State *L) {
  return luaL_checkudata(L, 1, LBP_TRAINER);
}

/* The network still usable, pointed at the state's generator and thread
** pool (either may have changed since the last call). */
static void ready(lua_State *L, ltrainer *tr, const char *fn) {
  if (tr->m->closed) lbp_error(L, fn, "the network was closed");
  tr->m->net.rng = lbp_rng(L);
  tr->m->net.pool = lbp_pool(L);
}

/* Samples from the tensor at idx (checked again: it may have been closed,
** and a strided float view is copied for this call). */
static void samples(lua_State *L, int idx, const char *fn, const char *arg,
                    float scale, bp_samples *s) {
  ltensor *x = lbp_checkanytensor(L, idx, fn, arg);
  if (x->t.dtype == BP_FLOAT32) x = lbp_checktensor(L, idx, fn, arg);
  s->f32 = x->t.data;
  s->u8 = x->t.u8;
  s->scale = x->t.dtype == BP_UINT8 ? scale : 1.0f;
}

static int pushsum(lua_State *L, const bp_train_sum *sum) {
  lua_pushnumber(L, sum->total);
  lua_pushnumber(L, sum->weight);
  lua_pushinteger(L, (lua_Integer)sum->seen);
  return 3;
}

/* trainer:run(first, count): batches first .. first + count - 1 of the
** epoch (1-based; count 0: to the end; first 1 starts a new epoch).
** Returns total, weight, samples (bp_train_sum). */
static int t_run(lua_State *L) {
  ltrainer *tr = checktrainer(L);
  lua_Integer first = luaL_checkinteger(L, 2), count = luaL_checkinteger(L, 3);
  const char *fn = tr->fn;
  bp_samples xs;
  bp_train_sum sum;
  bp_error err;
  if (first < 1 || count < 0)
    lbp_error(L, fn, "batches %d + %d are not a range of the epoch",
              (int)first, (int)count);
  ready(L, tr, fn);
  lbp_getuservalue(L, 1);                                        /* 4 */
  lua_rawgeti(L, 4, U_X);                                        /* 5 */
  lua_rawgeti(L, 4, U_Y);                                        /* 6 */
  samples(L, 5, fn, "input", tr->scale, &xs);
  if (bp_trainer_run(&tr->t, &xs, lbp_checktensor(L, 6, fn, "target")->t.data,
                     (size_t)first - 1, (size_t)count, &sum, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  return pushsum(L, &sum);
}

/* trainer:evaluate(): the validation set's total, weight and samples,
** and its outputs (a tensor kept for the trainer's life) when the trainer
** was made with outputs = true. */
static int t_evaluate(lua_State *L) {
  ltrainer *tr = checktrainer(L);
  const char *fn = tr->fn, *vfn = tr->vfn;
  bp_samples xs;
  bp_train_sum sum;
  bp_error err;
  ltensor *out;
  if (!tr->validation) lbp_error(L, fn, "no validation set");
  ready(L, tr, fn);
  lbp_getuservalue(L, 1);                                        /* 2 */
  lua_rawgeti(L, 2, U_VX);                                       /* 3 */
  lua_rawgeti(L, 2, U_VY);                                       /* 4 */
  lua_rawgeti(L, 2, U_VOUT);                                     /* 5 */
  samples(L, 3, vfn, "input", tr->scale, &xs);
  out = lua_isnil(L, 5) ? NULL : lbp_checkouttensor(L, 5, vfn, "outputs");
  if (bp_trainer_eval(&tr->t, &xs, tr->vn, &tr->vin,
                      lbp_checktensor(L, 4, vfn, "target")->t.data,
                      tr->vchunk, out ? out->t.data : NULL, &sum,
                      &err) != BP_OK)
    lbp_error(L, vfn, "%s", err.msg);
  pushsum(L, &sum);
  lua_pushvalue(L, 5);
  return 4;
}

/* The entry i (0-based) of the order at idx, a list or a 1-D tensor. */
static double order_entry(lua_State *L, int idx, const ltensor *t, size_t i) {
  double v;
  if (t != NULL) return lbp_tget(&t->t, i * t->t.stride[0]);
  lua_rawgeti(L, idx, (lua_Integer)i + 1);
  v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : -1.0;
  lua_pop(L, 1);
  return v;
}

/* trainer:set_order(ids [, what]): the order of the epochs that follow:
** ids (a 1-D tensor or a list) holds one 1-based row index for each
** sample, each in 1..n (repeats allowed). All are checked before the
** trainer's order changes; `what` names ids in messages ("order"). The
** rows are gathered batch by batch in this order, as for shuffling: the
** data set is never copied. */
static int t_set_order(lua_State *L) {
  ltrainer *tr = checktrainer(L);
  const char *fn = tr->fn, *what = luaL_optstring(L, 3, "order");
  size_t n = tr->t.n, m, i;
  ltensor *t = luaL_testudata(L, 2, LBP_TENSOR);
  if (t == NULL && !lua_istable(L, 2))
    lbp_error(L, fn, "%s must be a tensor or a list of row indices, got %s",
              what, luaL_typename(L, 2));
  if (t != NULL) {
    t = lbp_checkanytensor(L, 2, fn, what);
    if (t->t.ndim != 1)
      lbp_error(L, fn, "%s must be a 1-D tensor of row indices, got %d "
                "dimensions", what, t->t.ndim);
    m = t->t.numel;
  } else {
    m = lbp_checklist(L, 2, fn, what);
  }
  if (m != n)
    lbp_error(L, fn, "%s must list %lu row indices (one per sample), got %lu",
              what, (unsigned long)n, (unsigned long)m);
  for (i = 0; i < n; i++) {
    double v = order_entry(L, 2, t, i);
    if (!(v >= 1 && v <= (double)n && v == floor(v))) {
      char got[32];
      if (t != NULL) snprintf(got, sizeof got, "%g", v);
      else lua_rawgeti(L, 2, (lua_Integer)i + 1);
      lbp_error(L, fn, "%s[%lu] is %s, expected a row index in 1..%lu", what,
                (unsigned long)i + 1, t != NULL ? got
                : luaL_tolstring(L, -1, NULL), (unsigned long)n);
    }
  }
  for (i = 0; i < n; i++)
    tr->t.order[i] = (uint32_t)order_entry(L, 2, t, i) - 1;
  tr->t.given = 1;
  return 0;
}

static int t_gc(lua_State *L) {
  bp_trainer_free(&checktrainer(L)->t);
  return 0;
}

/* --- what fit's warnings look at -------------------------------------- */

/* internal.column_rms(x [, rows]): for a float tensor of N samples, the
** root mean square of each feature over up to `rows` (256) rows spread
** evenly through the set; returns the largest, its feature (1-based) and
** the rows looked at. A feature far above 1 was likely not standardized. */
static int l_column_rms(lua_State *L) {
  const char *fn = "backprop.internal.column_rms";
  ltensor *x = lbp_checktensor(L, 1, fn, "input");
  size_t rows = lua_isnoneornil(L, 2) ? 256 : lbp_checksize(L, 2, fn, "rows");
  size_t n = x->t.ndim > 0 ? x->t.shape[0] : 0, w, k, j, r, best = 0;
  double worst = 0.0;
  if (n == 0 || x->t.numel == 0) {
    lua_pushnumber(L, 0);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, 0);
    return 3;
  }
  w = x->t.numel / n;
  k = n < rows ? n : rows;
  for (j = 0; j < w; j++) {
    double s = 0.0;
    for (r = 0; r < k; r++) {     /* row r of k, spread over the n */
      double v = x->t.data[(size_t)((double)r * (double)n / (double)k) * w + j];
      s += v * v;
    }
    s = sqrt(s / (double)k);
    if (s > worst) {
      worst = s;
      best = j;
    }
  }
  lua_pushnumber(L, worst);
  lua_pushinteger(L, (lua_Integer)best + 1);
  lua_pushinteger(L, (lua_Integer)k);
  return 3;
}

/* internal.last_layer(net): the class name of the network's last layer
** ("Softmax", ...). */
static int l_last_layer(lua_State *L) {
  lmodule *m = lbp_checkmodule(L, 1, "backprop.internal.last_layer",
                               "network");
  const bp_layer_class *c =
      bp_layer_class_of(m->net.layers[m->net.nlayers - 1].kind);
  lua_pushstring(L, c != NULL ? c->name : "?");
  return 1;
}

/* internal.fused(net [, on]): whether the network has the fused
** per-sample plan (nn/chain.h) and how many steps it has run; on = false
** keeps its training on the general path (specs compare the two), true
** lets it take the plan again. */
static int l_fused(lua_State *L) {
  lmodule *m = lbp_checkmodule(L, 1, "backprop.internal.fused", "network");
  if (!lua_isnoneornil(L, 2)) m->net.chain_off = !lua_toboolean(L, 2);
  lua_pushboolean(L, m->net.ndense > 0 && !m->net.chain_off);
  lua_pushinteger(L, (lua_Integer)m->net.chain_steps);
  return 2;
}

static const luaL_Reg methods[] = {
  {"train_step", m_train_step}, {NULL, NULL}
};

static const luaL_Reg trainer_methods[] = {
  {"run", t_run}, {"evaluate", t_evaluate}, {"set_order", t_set_order},
  {NULL, NULL}
};

static const luaL_Reg trainer_meta[] = {{"__gc", t_gc}, {NULL, NULL}};

static const luaL_Reg internal[] = {
  {"trainer", l_trainer}, {"column_rms", l_column_rms},
  {"last_layer", l_last_layer}, {"fused", l_fused}, {NULL, NULL}
};

/* train_step into the Module method table (lbp_open_module made it); the
** trainer's class and constructor into the internal table. */
void lbp_open_train(lua_State *L) {
  static const luaL_Reg none[] = {{NULL, NULL}};
  int up;
  luaL_getmetatable(L, LBP_MODULE);
  lua_getfield(L, -1, "__index");
  for (up = UP_MODULE; up < NUP; up++) lua_pushnil(L);  /* see m_train_step */
  luaL_setfuncs(L, methods, NUP - 1);
  lua_pop(L, 2);
  lbp_newclass(L, LBP_TRAINER, trainer_meta, trainer_methods, NULL, none);
  lbp_setinternal(L, internal);
}
