/*
** prelu.c: PReLU(num_parameters, init), PyTorch's: y = x above 0, a x
** below, with the slope a learned. One slope for everything
** (num_parameters = 1), or one per channel: the first dim of each sample
** (C of C x H x W, the features of a vector), which must then have
** num_parameters entries. The slopes start at init.
**
** Backward: dx = dy where x > 0, a dy elsewhere; da += dy x where x <= 0,
** summed over the batch and the positions of a's channel.
*/
#include "nn/layer.h"

typedef struct prelu_set {
  size_t n;           /* slopes */
  float init;
} prelu_set;
BP_SETTINGS_FIT(prelu_set);
#define SET(l) BP_SETTINGS(prelu_set, l)

static const bp_setting SETTINGS[] = {
  {.name = "num_parameters", .type = BP_SIZE, .off = offsetof(prelu_set, n),
   .def = 1, .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 24},
  {.name = "init", .type = BP_FLOAT, .off = offsetof(prelu_set, init),
   .def = 0.25, .label = "init"},
};

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  size_t slopes = SET(l)->n;
  (void)c;
  (void)n;
  if (slopes > 1 && in->d[0] != slopes)
    return bp_fail(err, BP_EINVAL, "expected %lu channels (dim 2 of the "
                   "input, one per slope), got %lu", (unsigned long)slopes,
                   (unsigned long)in->d[0]);
  *out = *in;
  return BP_OK;
}

/* The batch as rows of *inner values, row r using slope r % slopes. */
static size_t rows(const bp_layer *l, size_t n, const bp_shape *in,
                   size_t *inner) {
  if (SET(l)->n == 1) {
    *inner = n * bp_shape_numel(in);
    return 1;
  }
  *inner = bp_shape_numel(in) / in->d[0];
  return n * in->d[0];
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t slopes = SET(l)->n, inner, nr = rows(l, n, in, &inner), r, k;
  (void)c;
  for (r = 0; r < nr; r++) {
    float a = l->p[0].data[r % slopes];
    const float *xr = x + r * inner;
    float *yr = y + r * inner;
    for (k = 0; k < inner; k++) yr[k] = xr[k] > 0.0f ? xr[k] : a * xr[k];
  }
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  size_t slopes = SET(l)->n, inner, nr = rows(l, n, in, &inner), r, k;
  (void)c;
  (void)y;
  for (r = 0; r < nr; r++) {
    float a = l->p[0].data[r % slopes], da = 0.0f;
    const float *xr = x + r * inner, *dr = dy + r * inner;
    for (k = 0; k < inner; k++)
      if (xr[k] <= 0.0f) da += dr[k] * xr[k];
    l->p[0].grad[r % slopes] += da;
    if (dx != NULL)
      for (k = 0; k < inner; k++)
        dx[r * inner + k] = xr[k] > 0.0f ? dr[k] : a * dr[k];
  }
}

static bp_status describe(bp_layer *l, bp_error *err) {
  (void)err;
  l->nparams = 1;
  l->p[0].ndim = 1;
  l->p[0].shape[0] = SET(l)->n;
  l->p[0].numel = SET(l)->n;
  return BP_OK;
}

static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i;
  (void)next;
  (void)rng;
  for (i = 0; i < l->p[0].numel; i++) l->p[0].data[i] = SET(l)->init;
}

/* The layer before gets He initialization for the initial slope. */
static double init_slope(const bp_layer *l) {
  return SET(l)->init;
}

const bp_layer_class bp_prelu_class = {
  .name = "PReLU", .settings = SETTINGS, .nsettings = BP_NSETTINGS(SETTINGS),
  .shape = shape, .forward = forward, .backward = backward,
  .describe = describe, .reset = reset, .init_slope = init_slope,
  .same_shape = 1,
};
