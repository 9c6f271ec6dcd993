/*
** embedding.c: Embedding(num, dim), a lookup table: each id (1-based, as
** everything in Lua; stored in a float tensor) selects a row of the
** weight (num x dim). A sample of L ids becomes L x dim. Ids are checked
** before the forward pass (integers in 1..num); they get no gradient, so
** dx is zero.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"

typedef struct embedding_set {
  size_t num, dim;
} embedding_set;
BP_SETTINGS_FIT(embedding_set);
#define SET(l) BP_SETTINGS(embedding_set, l)

/* At most 2^24 entries: every id must be exact in float32. */
static const bp_setting SETTINGS[] = {
  {.name = "num_embeddings", .type = BP_SIZE,
   .off = offsetof(embedding_set, num), .required = 1,
   .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 24},
  {.name = "embedding_dim", .type = BP_SIZE,
   .off = offsetof(embedding_set, dim), .required = 1, .bounds = BP_MIN,
   .min = 1},
};

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
  out->d[1] = SET(l)->dim;
  return BP_OK;
}

static bp_status check_input(const bp_layer *l, const float *x, size_t n,
                             const bp_shape *in, bp_error *err) {
  size_t L = in->d[0], i, num = SET(l)->num;
  for (i = 0; i < n * L; i++) {
    float v = x[i];
    if (v != floorf(v))
      return bp_fail(err, BP_EINVAL, "id %.9g at row %lu, position %lu is not "
                     "an integer", (double)v, (unsigned long)(i / L + 1),
                     (unsigned long)(i % L + 1));
    if (v < 1.0f || v > (float)num)
      return bp_fail(err, BP_EINVAL, "id %.9g at row %lu, position %lu is out "
                     "of range 1..%lu", (double)v, (unsigned long)(i / L + 1),
                     (unsigned long)(i % L + 1), (unsigned long)num);
  }
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t i, m = n * in->d[0], D = SET(l)->dim;
  (void)c;
  for (i = 0; i < m; i++)
    memcpy(y + i * D, l->p[0].data + ((size_t)x[i] - 1) * D, D * sizeof *y);
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  size_t i, k, m = n * in->d[0], D = SET(l)->dim;
  (void)c;
  (void)y;
  for (i = 0; i < m; i++) {
    float *g = l->p[0].grad + ((size_t)x[i] - 1) * D;
    for (k = 0; k < D; k++) g[k] += dy[i * D + k];
  }
  if (dx != NULL) memset(dx, 0, m * sizeof *dx);
}

static bp_status describe(bp_layer *l, bp_error *err) {
  const embedding_set *s = SET(l);
  if (s->dim > BP_SIZE_LIMIT / s->num)
    return bp_fail(err, BP_EINVAL, "%lu x %lu is too large (at most 2^31 "
                   "values)", (unsigned long)s->num, (unsigned long)s->dim);
  l->nparams = 1;
  l->p[0].ndim = 2;
  l->p[0].shape[0] = s->num;
  l->p[0].shape[1] = s->dim;
  l->p[0].numel = s->num * s->dim;
  return BP_OK;
}

/* N(0, 1), PyTorch's default. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i;
  (void)next;
  for (i = 0; i < l->p[0].numel; i++)
    l->p[0].data[i] = (float)bp_rng_normal(rng);
}

const bp_layer_class bp_embedding_class = {
  .name = "Embedding", .settings = SETTINGS,
  .nsettings = BP_NSETTINGS(SETTINGS), .shape = shape, .forward = forward,
  .backward = backward, .describe = describe, .reset = reset,
  .check_input = check_input,
};
