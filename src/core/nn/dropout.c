/*
** dropout.c: Dropout(p). In training mode each value is zeroed with
** probability p and the rest scaled by 1/(1-p) (inverted dropout, as
** PyTorch), so eval mode is the identity. The mask is drawn from the
** context's generator (bp.manual_seed's), one uniform per value in order,
** so the same seed gives the same masks; it is kept in the layer's saved
** memory for backward, followed by the mode of the forward pass.
** Settings: alpha = p.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)l;
  (void)n;
  if (c->training && c->rng == NULL)
    return bp_fail(err, BP_EINVAL, "training mode needs a random generator");
  *out = *in;
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t i, m = n * bp_shape_numel(in);
  float *mask = c->saved, p = l->alpha;
  float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  mask[m] = (float)c->training;
  if (!c->training) {
    memcpy(y, x, m * sizeof *x);
    return;
  }
  for (i = 0; i < m; i++) {
    mask[i] = bp_rng_uniform(c->rng) >= (double)p ? scale : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  size_t i, m = n * bp_shape_numel(in);
  const float *mask = c->saved;
  (void)l;
  (void)x;
  (void)y;
  if (dx == NULL) return;
  if (mask[m] == 0.0f)
    memcpy(dx, dy, m * sizeof *dy);
  else
    for (i = 0; i < m; i++) dx[i] = dy[i] * mask[i];
}

static size_t saved(const bp_layer *l, const bp_shape *in, size_t n) {
  (void)l;
  return n * bp_shape_numel(in) + 1;
}

static bp_status describe(bp_layer *l, bp_error *err) {
  if (!(l->alpha >= 0.0f && l->alpha <= 1.0f))
    return bp_fail(err, BP_EINVAL, "Dropout probability must be between 0 "
                   "and 1, got %g", (double)l->alpha);
  l->nparams = 0;
  return BP_OK;
}

const bp_layer_class bp_dropout_class = {"Dropout", shape, forward, backward,
                                         describe, NULL, saved, NULL, NULL, 1, 0};
