/*
** residual.c: the layer that closes bp.Residual(body). Containers are
** flattened (net.h): the body's layers come first, then this layer, whose
** span counts them. It adds the body's input (bp_ctx.skip, the activation
** span layers back) to the body's output; backward sends its gradient
** both ways (bp_ctx.skip_grad: the network adds it to the gradient of
** the body's input).
*/
#include <string.h>

#include "nn/layer.h"

typedef struct residual_set {
  size_t span;
} residual_set;
BP_SETTINGS_FIT(residual_set);

static const bp_setting SETTINGS[] = {
  {.name = "span", .type = BP_SIZE, .off = offsetof(residual_set, span),
   .required = 1, .bounds = BP_MIN, .min = 1},
};

static size_t span(const bp_layer *l) {
  return BP_SETTINGS(residual_set, l)->span;
}

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)l;
  if (!bp_shape_equal(in, c->skip_shape)) {
    char a[96], b[96];
    bp_shape_fmt(n, c->skip_shape, a, sizeof a);
    bp_shape_fmt(n, in, b, sizeof b);
    return bp_fail(err, BP_EINVAL, "needs its body to keep the shape of its "
                   "input: %s in, %s out", a, b);
  }
  *out = *in;
  return BP_OK;
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  size_t k, m = n * bp_shape_numel(in);
  (void)l;
  for (k = 0; k < m; k++) y[k] = x[k] + c->skip[k];
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  size_t m = n * bp_shape_numel(in);
  (void)l;
  (void)x;
  (void)y;
  memcpy(c->skip_grad, dy, m * sizeof *dy);
  if (dx != NULL) memcpy(dx, dy, m * sizeof *dy);
}

const bp_layer_class bp_residual_class = {
  .name = "Residual", .settings = SETTINGS,
  .nsettings = BP_NSETTINGS(SETTINGS), .shape = shape, .forward = forward,
  .backward = backward, .same_shape = 1, .span = span,
};
