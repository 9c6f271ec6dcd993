/*
** linear.c: y = x W^T + b, the neuron of the classic recipe for a whole
** batch at once. W is out x in and b has out entries, as in Torch and
** PyTorch, so row j of W holds the weights of neuron j. Each sample is a
** vector of `in` features.
*/
#include <string.h>

#include "base/threadpool.h"
#include "kernels/gemm.h"
#include "kernels/small.h"
#include "nn/layer.h"

typedef struct linear_set {
  size_t in, out;
} linear_set;
BP_SETTINGS_FIT(linear_set);

static const bp_setting SETTINGS[] = {
  {.name = "in_features", .type = BP_SIZE, .off = offsetof(linear_set, in),
   .required = 1, .bounds = BP_MIN, .min = 1},
  {.name = "out_features", .type = BP_SIZE, .off = offsetof(linear_set, out),
   .required = 1, .bounds = BP_MIN, .min = 1, .label = "->"},
};

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  (void)c;
  if (in->ndim != 1) {
    char b[96];
    bp_shape_fmt(n, in, b, sizeof b);
    return bp_fail(err, BP_EINVAL, "expected input of shape N x features, "
                   "got %s", b);
  }
  if (in->d[0] != s->in)
    return bp_fail(err, BP_EINVAL, "expected input with %lu features, got %lu",
                   (unsigned long)s->in, (unsigned long)in->d[0]);
  out->ndim = 1;
  out->d[0] = s->out;
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  const float *w = l->p[0].data, *b = l->p[1].data;
  size_t i;
  (void)in;
  if (n <= BP_SMALL_BATCH) {    /* direct dot products: see small.h */
    bp_small_fwd(n, s->in, s->out, x, w, b, y);
    return;
  }
  for (i = 0; i < n; i++) memcpy(y + i * s->out, b, s->out * sizeof *b);
  bp_gemm_mt(c->pool, 0, 1, n, s->out, s->in, 1.0f, x, s->in, w, s->in, 1.0f,
             y, s->out);
}

/* The fusion hook: a small batch through this layer and the activation
** after it in one kernel, the same bits as the two forwards. */
static int forward_act(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, float *z, size_t n, int act) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  (void)c;
  if (n > BP_SMALL_BATCH) return 0;
  bp_small_fwd_act(n, s->in, s->out, x, l->p[0].data, l->p[1].data, y, z,
                   act);
  return 1;
}

/* gb[j] += the sum of column j of dy (n x m), row after row (each
** column's sum keeps its order, so the bits do not change). */
static void colsum(size_t n, size_t m, const float *restrict dy,
                   float *restrict gb) {
  size_t i, j = 0, k;
  for (; j + 8 <= m; j += 8)          /* fixed-length rows vectorize at -O2 */
    for (i = 0; i < n; i++)
      for (k = 0; k < 8; k++) gb[j + k] += dy[i * m + j + k];
  for (i = 0; i < n; i++)
    for (k = j; k < m; k++) gb[k] += dy[i * m + k];
}

/* The fused update of m parameters, in contiguous pieces of whole
** 64-byte lines over the pool from UPD_MT_MIN of them (every rule is
** elementwise: a piece's values do not depend on where it starts, so any
** thread count gives the same bits). Plain SGD is the kernel, without the
** call through apply. From 16k: the MLP's 256 x 128 layer (33k, about 10
** us of a 250 us step at 2 threads) is split too. */
#define UPD_MT_MIN ((size_t)1 << 14)

typedef struct upd_job {
  const bp_update *u;
  float *p;
  const float *g;
  size_t m;
} upd_job;

static void upd_task(void *arg, size_t t, size_t nt) {
  const upd_job *J = arg;
  size_t lo, hi;
  bp_pool_piece(J->m, 16, t, nt, &lo, &hi);
  if (lo == hi) return;
  if (J->u->plain) bp_upd_sgd(hi - lo, J->u->lr, J->p + lo, J->g + lo);
  else J->u->apply(J->u, J->p + lo, J->g + lo, hi - lo);
}

static void update(const bp_ctx *c, float *p, const float *g, size_t m) {
  upd_job J;
  J.u = c->update;
  J.p = p;
  J.g = g;
  J.m = m;
  bp_pool_split(c->pool, m >= UPD_MT_MIN ? m : 1, upd_task, &J);
}

/* Backward with the update fused in (bp_ctx.update): dx first, while W
** is unchanged, then each gradient written and its parameters updated. */
static void backward_update(const bp_layer *l, const bp_ctx *c,
                            const float *x, const float *dy, float *dx,
                            size_t n) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  const bp_update *u = c->update;
  float *w = l->p[0].data, *b = l->p[1].data;
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  size_t j;
  if (dx != NULL) {
    if (n <= BP_SMALL_BATCH) bp_small_dx(n, s->in, s->out, dy, w, dx);
    else bp_gemm_mt(c->pool, 0, 0, n, s->in, s->out, 1.0f, dy, s->out, w,
                    s->in, 0.0f, dx, s->in);
  }
  if (n <= BP_SMALL_BATCH && u->plain) {   /* as the unfused path: same sums */
    bp_small_grad_sgd(n, s->in, s->out, x, dy, gw, gb, w, b, u->lr);
    return;
  }
  if (n <= BP_SMALL_BATCH) {
    memset(gw, 0, l->p[0].numel * sizeof *gw);
    memset(gb, 0, l->p[1].numel * sizeof *gb);
    bp_small_grad(n, s->in, s->out, x, dy, gw, gb);
  } else {
    bp_gemm_mt(c->pool, 1, 0, s->out, s->in, n, 1.0f, dy, s->out, x, s->in,
               0.0f, gw, s->in);
    for (j = 0; j < s->out; j++) gb[j] = 0.0f;
    colsum(n, s->out, dy, gb);
  }
  update(c, w, gw, l->p[0].numel);
  update(c, b, gb, l->p[1].numel);
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  (void)y;
  (void)in;
  if (c->update != NULL) {
    backward_update(l, c, x, dy, dx, n);
    return;
  }
  /* dW += dy^T x,  db += column sums of dy,  dx = dy W */
  if (n <= BP_SMALL_BATCH) {
    bp_small_grad(n, s->in, s->out, x, dy, gw, gb);
    if (dx != NULL) bp_small_dx(n, s->in, s->out, dy, l->p[0].data, dx);
    return;
  }
  bp_gemm_mt(c->pool, 1, 0, s->out, s->in, n, 1.0f, dy, s->out, x, s->in,
             1.0f, gw, s->in);
  colsum(n, s->out, dy, gb);
  if (dx != NULL)
    bp_gemm_mt(c->pool, 0, 0, n, s->in, s->out, 1.0f, dy, s->out,
               l->p[0].data, s->in, 0.0f, dx, s->in);
}

/* This layer as the fused per-sample step sees it (nn/chain.c). */
static void dense(const bp_layer *l, bp_dense *d) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  d->in = s->in;
  d->out = s->out;
  d->w = l->p[0].data;
  d->b = l->p[1].data;
  d->gw = l->p[0].grad;
  d->gb = l->p[1].grad;
}

static bp_status describe(bp_layer *l, bp_error *err) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  if (s->in > BP_SIZE_LIMIT / s->out)
    return bp_fail(err, BP_EINVAL, "%lu x %lu weights are too large (at most "
                   "2^31)", (unsigned long)s->out, (unsigned long)s->in);
  l->nparams = 2;
  l->p[0].ndim = 2;
  l->p[0].shape[0] = s->out;
  l->p[0].shape[1] = s->in;
  l->p[0].numel = s->out * s->in;
  l->p[1].ndim = 1;
  l->p[1].shape[0] = s->out;
  l->p[1].numel = s->out;
  return BP_OK;
}

/* Xavier or He by the next layer (see bp_init_bound); biases start at 0. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  size_t i;
  bp_fill_uniform(l->p[0].data, l->p[0].numel,
                  bp_init_bound(next, s->in, s->out), rng);
  for (i = 0; i < l->p[1].numel; i++) l->p[1].data[i] = 0.0f;
}

const bp_layer_class bp_linear_class = {
  .name = "Linear", .settings = SETTINGS, .nsettings = BP_NSETTINGS(SETTINGS),
  .shape = shape, .forward = forward, .backward = backward,
  .describe = describe, .reset = reset,
  .fuses_update = 1, .forward_act = forward_act, .dense = dense,
};
