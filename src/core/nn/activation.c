/*
** activation.c: elementwise activations, y = act(x), over every value of
** every sample whatever its shape. Each backward uses whichever of x or y
** makes the derivative cheapest: sigmoid' = y(1-y), tanh' = 1-y^2, ELU'
** = y + alpha below 0, and the ReLUs look at the sign of x.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"
#include "kernels/vmath.h"

#define COUNT(n, in) ((n) * bp_shape_numel(in))

#define UNUSED_FWD (void)l; (void)c
#define UNUSED_BWD (void)l; (void)c; (void)x; (void)y

static void sigmoid_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                            float *y, size_t n, const bp_shape *in) {
  UNUSED_FWD;
  bp_vsigmoid(COUNT(n, in), x, y);
}

static void sigmoid_backward(const bp_layer *l, const bp_ctx *c,
                             const float *x, const float *y, const float *dy,
                             float *dx, size_t n, const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_BWD;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static void tanh_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                         float *y, size_t n, const bp_shape *in) {
  UNUSED_FWD;
  bp_vtanh(COUNT(n, in), x, y);
}

static void tanh_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                          const float *y, const float *dy, float *dx, size_t n,
                          const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_BWD;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

/* ReLU is LeakyReLU with alpha = 0 (the constructor sets it). */
static void relu_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                         float *y, size_t n, const bp_shape *in) {
  (void)c;
  bp_vleaky(COUNT(n, in), l->alpha, x, y);
}

static void relu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                          const float *y, const float *dy, float *dx, size_t n,
                          const bp_shape *in) {
  (void)c;
  (void)y;
  if (dx == NULL) return;
  bp_vleaky_grad(COUNT(n, in), l->alpha, x, dy, dx);
}

/* GELU, the exact form (PyTorch's default): x Phi(x), Phi the normal CDF;
** GELU' = Phi(x) + x phi(x). */
static void gelu_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                         float *y, size_t n, const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_FWD;
  for (i = 0; i < m; i++)
    y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void gelu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                          const float *y, const float *dy, float *dx, size_t n,
                          const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_BWD;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) {
    float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}

/* ELU: x above 0, alpha (exp(x) - 1) below. The exponentials of the whole
** array come from vmath first; above 0 they are not used (even if inf). */
static void elu_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  float a = l->alpha;
  (void)c;
  bp_vexp(m, x, y);
  for (i = 0; i < m; i++) y[i] = x[i] > 0.0f ? x[i] : a * (y[i] - 1.0f);
}

static void elu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                         const float *y, const float *dy, float *dx, size_t n,
                         const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  float a = l->alpha;
  (void)c;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + a);
}

/* SiLU (swish): x sigmoid(x); SiLU' = s (1 + x (1 - s)). */
static void silu_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                         float *y, size_t n, const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_FWD;
  bp_vsigmoid(m, x, y);
  for (i = 0; i < m; i++) y[i] *= x[i];
}

static void silu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                          const float *y, const float *dy, float *dx, size_t n,
                          const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  UNUSED_BWD;
  if (dx == NULL) return;
  bp_vsigmoid(m, x, dx);
  for (i = 0; i < m; i++)
    dx[i] = dy[i] * dx[i] * (1.0f + x[i] * (1.0f - dx[i]));
}

/* Softplus: log(1 + exp(beta x)) / beta, and x itself where beta x is
** above the threshold (as PyTorch, for stability); derivative
** sigmoid(beta x) (1 above the threshold). */
static void softplus_forward(const bp_layer *l, const bp_ctx *c,
                             const float *x, float *y, size_t n,
                             const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  float b = l->alpha, t = l->beta;
  (void)c;
  for (i = 0; i < m; i++) {
    float z = b * x[i];
    y[i] = z > t ? x[i] : log1pf(expf(z)) / b;
  }
}

static void softplus_backward(const bp_layer *l, const bp_ctx *c,
                              const float *x, const float *y, const float *dy,
                              float *dx, size_t n, const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  float b = l->alpha, t = l->beta;
  (void)c;
  (void)y;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) {
    float z = b * x[i];
    dx[i] = z > t ? dy[i] : dy[i] / (1.0f + expf(-z));
  }
}

static void identity_forward(const bp_layer *l, const bp_ctx *c,
                             const float *x, float *y, size_t n,
                             const bp_shape *in) {
  UNUSED_FWD;
  memcpy(y, x, COUNT(n, in) * sizeof *x);
}

static void identity_backward(const bp_layer *l, const bp_ctx *c,
                              const float *x, const float *y, const float *dy,
                              float *dx, size_t n, const bp_shape *in) {
  UNUSED_BWD;
  if (dx != NULL) memcpy(dx, dy, COUNT(n, in) * sizeof *dy);
}

static bp_status describe_slope(bp_layer *l, bp_error *err) {
  if (!isfinite(l->alpha))
    return bp_fail(err, BP_EINVAL, "%s %s must be finite",
                   l->kind == BP_ELU ? "ELU" : "LeakyReLU",
                   l->kind == BP_ELU ? "alpha" : "slope");
  l->nparams = 0;
  return BP_OK;
}

static bp_status describe_softplus(bp_layer *l, bp_error *err) {
  if (!isfinite(l->alpha) || l->alpha <= 0.0f)
    return bp_fail(err, BP_EINVAL, "Softplus beta must be positive, got %g",
                   (double)l->alpha);
  if (!isfinite(l->beta))
    return bp_fail(err, BP_EINVAL, "Softplus threshold must be finite");
  l->nparams = 0;
  return BP_OK;
}

#define ELEMENTWISE(name, fwd, bwd, desc) \
  {name, bp_shape_same, fwd, bwd, desc, NULL, NULL, NULL, NULL, 1, 0}

const bp_layer_class bp_sigmoid_class =
    ELEMENTWISE("Sigmoid", sigmoid_forward, sigmoid_backward, bp_describe_none);
const bp_layer_class bp_tanh_class =
    ELEMENTWISE("Tanh", tanh_forward, tanh_backward, bp_describe_none);
const bp_layer_class bp_relu_class =
    ELEMENTWISE("ReLU", relu_forward, relu_backward, bp_describe_none);
const bp_layer_class bp_leaky_relu_class =
    ELEMENTWISE("LeakyReLU", relu_forward, relu_backward, describe_slope);
const bp_layer_class bp_gelu_class =
    ELEMENTWISE("GELU", gelu_forward, gelu_backward, bp_describe_none);
const bp_layer_class bp_elu_class =
    ELEMENTWISE("ELU", elu_forward, elu_backward, describe_slope);
const bp_layer_class bp_silu_class =
    ELEMENTWISE("SiLU", silu_forward, silu_backward, bp_describe_none);
const bp_layer_class bp_softplus_class =
    ELEMENTWISE("Softplus", softplus_forward, softplus_backward,
                describe_softplus);
const bp_layer_class bp_identity_class =
    ELEMENTWISE("Identity", identity_forward, identity_backward,
                bp_describe_none);
