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
#include "kernels/vmath.h"
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

/* gb[j] += the sum of column j of dy (n rows of m columns, ld floats
** apart), row after row (each column's sum keeps its order, so the bits
** do not depend on which columns are summed together). */
static void colsum(size_t n, size_t m, size_t ld, const float *restrict dy,
                   float *restrict gb) {
  size_t i, j = 0, k;
  for (; j + 8 <= m; j += 8)          /* fixed-length rows vectorize at -O2 */
    for (i = 0; i < n; i++)
      for (k = 0; k < 8; k++) gb[j + k] += dy[i * ld + j + k];
  for (i = 0; i < n; i++)
    for (k = j; k < m; k++) gb[k] += dy[i * ld + k];
}

/* m parameters at p updated from their gradients g (see bp_update);
** plain SGD is the kernel, without the call through apply. */
static void upd(const bp_update *u, float *p, const float *g, size_t m) {
  if (u->plain) bp_upd_sgd(m, u->lr, p, g);
  else u->apply(u, p, g, m);
}

/* --- a step split by neurons ------------------------------------------
** With a pool, a layer with a million multiply-adds or more gives each
** thread a block of neurons for the whole step: its columns of y in the
** forward pass, then in the fused backward its rows of the weight
** gradient, their biases' gradients and the update of both. The caller
** always runs task 0, so each thread meets the same rows of W, of their
** gradients and of the optimizer's state step after step, in its own
** cache, and updates gradients it has just computed (one job where the
** product and the update over the pool took two, their rows split in
** different places). The blocks are balanced to NEURON_UNIT neurons.
** Every element is computed as the whole product computes it
** (bp_gemm_part), so the thread count never changes a bit. */
#define NEURON_UNIT 8

/* Whether the product (bp_gemm's arguments) of a batch of n is split by
** neurons. */
static int by_neurons(const bp_ctx *c, size_t n, const linear_set *s,
                      int ta, int tb, size_t M, size_t N, size_t K) {
  return bp_pool_size(c->pool) > 1 && s->out >= 2 * NEURON_UNIT &&
         (double)n * s->in * s->out >= (double)BP_GEMM_MT_MIN &&
         bp_gemm_tiled(ta, tb, M, N, K);
}

typedef struct neuron_job {
  const linear_set *s;
  const bp_ctx *c;
  const float *x, *dy;   /* dy: backward's */
  float *w, *b, *y, *z;  /* y, z: forward's (z = ReLU(y), or NULL) */
  float *gw, *gb;
  size_t n;
  /* backward after a ReLU (backward_act): first dy = ReLU'(y) dz, written
  ** to relu_dy (which dy then reads); NULL otherwise */
  const float *dz;
  float *relu_dy;
} neuron_job;

/* y[:, lo:hi] = b[lo:hi] + x W[lo:hi]^T, and z[:, lo:hi] = ReLU of it
** while in cache (the ReLU layer's own kernel: the same bits) */
static void fwd_task(void *arg, size_t t, size_t nt) {
  const neuron_job *J = arg;
  size_t in = J->s->in, out = J->s->out, lo, hi, i;
  bp_pool_piece(out, NEURON_UNIT, t, nt, &lo, &hi);
  if (lo == hi) return;
  for (i = 0; i < J->n; i++)
    memcpy(J->y + i * out + lo, J->b + lo, (hi - lo) * sizeof *J->b);
  bp_gemm_part(J->c->pool, 0, 1, J->n, out, in, 1.0f, J->x, in, J->w, in,
               1.0f, J->y, out, 0, J->n, lo, hi);
  for (i = 0; J->z != NULL && i < J->n; i++)
    bp_vleaky(hi - lo, 0.0f, J->y + i * out + lo, J->z + i * out + lo);
}

/* The forward over the pool by neurons (z: NULL, or the ReLU's output);
** 0 when the product is not split so. */
static int fwd_neurons(const bp_ctx *c, const linear_set *s, const float *x,
                       const float *w, const float *b, float *y, float *z,
                       size_t n) {
  neuron_job J = {s, c, x, NULL, (float *)w, (float *)b, y, z, NULL, NULL, n,
                  NULL, NULL};
  if (!by_neurons(c, n, s, 0, 1, n, s->out, s->in)) return 0;
  bp_pool_run(c->pool, bp_pool_size(c->pool), fwd_task, &J);
  return 1;
}

/* gW[lo:hi] = dy[:, lo:hi]^T x, gb[lo:hi] = its column sums, then both
** updated (written, as the fused backward does: see bp_ctx.update) */
static void grad_task(void *arg, size_t t, size_t nt) {
  const neuron_job *J = arg;
  size_t in = J->s->in, out = J->s->out, lo, hi, j;
  bp_pool_piece(out, NEURON_UNIT, t, nt, &lo, &hi);
  if (lo == hi) return;
  for (j = 0; J->dz != NULL && j < J->n; j++)   /* the ReLU's own kernel */
    bp_vleaky_grad(hi - lo, 0.0f, J->y + j * out + lo, J->dz + j * out + lo,
                   J->relu_dy + j * out + lo);
  bp_gemm_part(J->c->pool, 1, 0, out, in, J->n, 1.0f, J->dy, out, J->x, in,
               0.0f, J->gw, in, lo, hi, 0, in);
  for (j = lo; j < hi; j++) J->gb[j] = 0.0f;
  colsum(J->n, hi - lo, out, J->dy + lo, J->gb + lo);
  upd(J->c->update, J->w + lo * in, J->gw + lo * in, (hi - lo) * in);
  upd(J->c->update, J->b + lo, J->gb + lo, hi - lo);
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
  if (fwd_neurons(c, s, x, w, b, y, NULL, n)) return;
  for (i = 0; i < n; i++) memcpy(y + i * s->out, b, s->out * sizeof *b);
  bp_gemm_mt(c->pool, 0, 1, n, s->out, s->in, 1.0f, x, s->in, w, s->in, 1.0f,
             y, s->out);
}

/* The fusion hook: a small batch through this layer and the sigmoid or
** tanh after it in one kernel, a batch split by neurons through it and
** the ReLU after it in one job; the same bits as the two forwards. */
static int forward_act(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, float *z, size_t n, int act) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  if (act == BP_ACT_RELU)
    return n > BP_SMALL_BATCH &&
           fwd_neurons(c, s, x, l->p[0].data, l->p[1].data, y, z, n);
  if (n > BP_SMALL_BATCH) return 0;
  bp_small_fwd_act(n, s->in, s->out, x, l->p[0].data, l->p[1].data, y, z,
                   act);
  return 1;
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
  if (lo < hi) upd(J->u, J->p + lo, J->g + lo, hi - lo);
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
  } else if (by_neurons(c, n, s, 1, 0, s->out, s->in, n)) {
    neuron_job J = {s, c, x, dy, w, b, NULL, NULL, gw, gb, n, NULL, NULL};
    bp_pool_run(c->pool, bp_pool_size(c->pool), grad_task, &J);
    return;
  } else {
    bp_gemm_mt(c->pool, 1, 0, s->out, s->in, n, 1.0f, dy, s->out, x, s->in,
               0.0f, gw, s->in);
    for (j = 0; j < s->out; j++) gb[j] = 0.0f;
    colsum(n, s->out, s->out, dy, gb);
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
  colsum(n, s->out, s->out, dy, gb);
  if (dx != NULL)
    bp_gemm_mt(c->pool, 0, 0, n, s->in, s->out, 1.0f, dy, s->out,
               l->p[0].data, s->in, 0.0f, dx, s->in);
}

/* The fusion hook of backward: the first layer's step split by neurons
** takes the ReLU's backward after it into its job, each thread the
** gradient of its own neurons (whose y its forward job wrote), instead of
** a pass over the whole gradient on the calling thread. Only with the
** fused update and without dx (a dx product needs every column of dy
** first). */
static int backward_act(const bp_layer *l, const bp_ctx *c, const float *x,
                        const float *y, const float *dz, float *dy,
                        float *dx, size_t n, int act) {
  const linear_set *s = BP_SETTINGS(linear_set, l);
  neuron_job J = {s, c, x, dy, l->p[0].data, l->p[1].data, (float *)y, NULL,
                  l->p[0].grad, l->p[1].grad, n, dz, dy};
  if (act != BP_ACT_RELU || dx != NULL || c->update == NULL ||
      n <= BP_SMALL_BATCH || !by_neurons(c, n, s, 1, 0, s->out, s->in, n))
    return 0;
  bp_pool_run(c->pool, bp_pool_size(c->pool), grad_task, &J);
  return 1;
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
  .fuses_update = 1, .forward_act = forward_act,
  .backward_act = backward_act, .dense = dense,
};
