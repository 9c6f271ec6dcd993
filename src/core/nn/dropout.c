/*
** dropout.c: Dropout(p). In training mode each value is zeroed with
** probability p and the rest scaled by 1/(1-p) (inverted dropout, as
** PyTorch), so eval mode is the identity. The mask is drawn from the
** context's generator (bp.manual_seed's), one uniform per value in order,
** so the same seed gives the same masks; it is kept in the layer's saved
** memory for backward, followed by the mode of the forward pass.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/layer.h"

typedef struct dropout_set {
  float p;
} dropout_set;
BP_SETTINGS_FIT(dropout_set);

static const bp_setting SETTINGS[] = {
  {.name = "p", .type = BP_FLOAT, .off = offsetof(dropout_set, p), .def = 0.5,
   .bounds = BP_MIN | BP_MAX, .min = 0, .max = 1},
};

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)l;
  (void)n;
  if (c->training && c->rng == NULL)
    return bp_fail(err, BP_EINVAL, "training mode needs a random generator");
  *out = *in;
  return BP_OK;
}

/* Values kept: u >= p for the uniform u = k / 2^24, that is k >= p 2^24
** (exact in double), so k >= its ceiling. */
#define BLOCK 256

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t i, j, m = n * bp_shape_numel(in);
  float *mask = c->saved, p = BP_SETTINGS(dropout_set, l)->p;
  float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  uint32_t k[BLOCK], keep = (uint32_t)ceil((double)p * 16777216.0);
  mask[m] = (float)c->training;
  if (!c->training) {
    memcpy(y, x, m * sizeof *x);
    return;
  }
  for (i = 0; i < m; i += BLOCK) {
    size_t b = m - i < BLOCK ? m - i : BLOCK;
    bp_rng_fill24(c->rng, k, b);
    if (b == BLOCK) {   /* a constant count: the compiler vectorizes it */
      for (j = 0; j < BLOCK; j++) mask[i + j] = k[j] >= keep ? scale : 0.0f;
      for (j = 0; j < BLOCK; j++) y[i + j] = x[i + j] * mask[i + j];
      continue;
    }
    for (j = 0; j < b; j++) {
      mask[i + j] = k[j] >= keep ? scale : 0.0f;
      y[i + j] = x[i + j] * mask[i + j];
    }
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

const bp_layer_class bp_dropout_class = {
  .name = "Dropout", .settings = SETTINGS, .nsettings = BP_NSETTINGS(SETTINGS),
  .shape = shape, .forward = forward, .backward = backward, .saved = saved,
  .same_shape = 1,
};
