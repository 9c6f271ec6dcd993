/*
** flatten.c: Flatten, each sample to one vector (C x H x W -> C*H*W), the
** bridge from convolutions to Linear. The values keep their row-major
** order, so forward and backward are copies.
*/
#include <string.h>

#include "nn/layer.h"

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)l;
  (void)c;
  (void)n;
  (void)err;
  out->ndim = 1;
  out->d[0] = bp_shape_numel(in);
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  (void)l;
  (void)c;
  memcpy(y, x, n * bp_shape_numel(in) * sizeof *x);
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  (void)l;
  (void)c;
  (void)x;
  (void)y;
  if (dx != NULL) memcpy(dx, dy, n * bp_shape_numel(in) * sizeof *dy);
}

const bp_layer_class bp_flatten_class = {
  .name = "Flatten", .shape = shape, .forward = forward, .backward = backward,
};
