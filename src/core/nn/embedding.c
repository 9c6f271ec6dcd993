/*
** embedding.c: Embedding(num, dim), a lookup table: each id (1-based, as
** everything in Lua; stored in a float tensor) selects a row of the
** weight (num x dim). A sample of L ids becomes L x dim. Ids are checked
** before the forward pass (integers in 1..num); they get no gradient, so
** dx is zero. Settings: in = num, out = dim.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)c;
  if (in->ndim != 1) {
    char s[96];
    bp_shape_fmt(n, in, s, sizeof s);
    return bp_fail(err, BP_EINVAL, "expected ids of shape N x L, got %s", s);
  }
  out->ndim = 2;
  out->d[0] = in->d[0];
  out->d[1] = l->out;
  return BP_OK;
}

static bp_status check_input(const bp_layer *l, const float *x, size_t n,
                             const bp_shape *in, bp_error *err) {
  size_t L = in->d[0], i;
  for (i = 0; i < n * L; i++) {
    float v = x[i];
    if (v != floorf(v))
      return bp_fail(err, BP_EINVAL, "id %.9g at row %lu, position %lu is not "
                     "an integer", (double)v, (unsigned long)(i / L + 1),
                     (unsigned long)(i % L + 1));
    if (v < 1.0f || v > (float)l->in)
      return bp_fail(err, BP_EINVAL, "id %.9g at row %lu, position %lu is out "
                     "of range 1..%lu", (double)v, (unsigned long)(i / L + 1),
                     (unsigned long)(i % L + 1), (unsigned long)l->in);
  }
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t i, m = n * in->d[0], D = l->out;
  (void)c;
  for (i = 0; i < m; i++)
    memcpy(y + i * D, l->p[0].data + ((size_t)x[i] - 1) * D, D * sizeof *y);
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  size_t i, k, m = n * in->d[0], D = l->out;
  (void)c;
  (void)y;
  for (i = 0; i < m; i++) {
    float *g = l->p[0].grad + ((size_t)x[i] - 1) * D;
    for (k = 0; k < D; k++) g[k] += dy[i * D + k];
  }
  if (dx != NULL) memset(dx, 0, m * sizeof *dx);
}

static bp_status describe(bp_layer *l, bp_error *err) {
  if (l->in == 0 || l->out == 0)
    return bp_fail(err, BP_EINVAL, "Embedding needs at least 1 entry of 1 "
                   "value, got %lu x %lu", (unsigned long)l->in,
                   (unsigned long)l->out);
  if (l->in > ((size_t)1 << 24) || l->out > ((size_t)1 << 31) / l->in)
    return bp_fail(err, BP_EINVAL, "Embedding %lu x %lu is too large (at most "
                   "2^24 entries, ids must be exact in float32)",
                   (unsigned long)l->in, (unsigned long)l->out);
  l->nparams = 1;
  l->p[0].ndim = 2;
  l->p[0].shape[0] = l->in;
  l->p[0].shape[1] = l->out;
  l->p[0].numel = l->in * l->out;
  return BP_OK;
}

/* N(0, 1), PyTorch's default. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i;
  (void)next;
  for (i = 0; i < l->p[0].numel; i++)
    l->p[0].data[i] = (float)bp_rng_normal(rng);
}

const bp_layer_class bp_embedding_class = {"Embedding", shape, forward,
                                           backward, describe, reset, NULL,
                                           NULL, check_input, 0, 0};
