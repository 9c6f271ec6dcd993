/*
** activation.c: elementwise activations, y = act(x), over every value of
** every sample whatever its shape. Each backward uses whichever of x or y
** makes the derivative cheapest: sigmoid' = y(1-y), tanh' = 1-y^2, ELU'
** = y + alpha below 0, and the ReLUs look at the sign of x.
*/
#include <math.h>
#include <string.h>

#include "base/threadpool.h"
#include "kernels/small.h"
#include "kernels/vmath.h"
#include "nn/layer.h"

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

/* One float setting: LeakyReLU's slope, ELU's alpha. */
typedef struct slope_set {
  float a;
} slope_set;
BP_SETTINGS_FIT(slope_set);
#define SLOPE(l) (BP_SETTINGS(slope_set, l)->a)

static const bp_setting LEAKY_SETTINGS[] = {
  {.name = "negative_slope", .type = BP_FLOAT, .off = 0, .def = 0.01},
};
static const bp_setting ELU_SETTINGS[] = {
  {.name = "alpha", .type = BP_FLOAT, .off = 0, .def = 1.0},
};

/* The ReLUs over the thread pool from SPLIT_MIN values (an image
** network's feature maps): contiguous pieces of whole 64-byte lines,
** each value computed alone, so any thread count gives the same bits. */
#define SPLIT_MIN ((size_t)1 << 16)

typedef struct leaky_job {
  size_t m;
  float a;
  const float *x, *dy;   /* dy: the gradient's pass (NULL: forward) */
  float *out;
} leaky_job;

static void leaky_task(void *arg, size_t t, size_t nt) {
  const leaky_job *J = arg;
  size_t lo, hi;
  bp_pool_piece(J->m, 16, t, nt, &lo, &hi);   /* an empty piece does nothing */
  if (J->dy != NULL)
    bp_vleaky_grad(hi - lo, J->a, J->x + lo, J->dy + lo, J->out + lo);
  else
    bp_vleaky(hi - lo, J->a, J->x + lo, J->out + lo);
}

static void leaky_run(const bp_ctx *c, size_t m, float a, const float *x,
                      const float *dy, float *out) {
  leaky_job J = {m, a, x, dy, out};
  bp_pool_split(c->pool, m >= SPLIT_MIN ? m : 1, leaky_task, &J);
}

/* ReLU is LeakyReLU with slope 0. */
static void relu_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                         float *y, size_t n, const bp_shape *in) {
  (void)l;
  leaky_run(c, COUNT(n, in), 0.0f, x, NULL, y);
}

static void relu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                          const float *y, const float *dy, float *dx, size_t n,
                          const bp_shape *in) {
  (void)l;
  (void)y;
  if (dx == NULL) return;
  leaky_run(c, COUNT(n, in), 0.0f, x, dy, dx);
}

static void leaky_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                          float *y, size_t n, const bp_shape *in) {
  leaky_run(c, COUNT(n, in), SLOPE(l), x, NULL, y);
}

static void leaky_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                           const float *y, const float *dy, float *dx,
                           size_t n, const bp_shape *in) {
  (void)y;
  if (dx == NULL) return;
  leaky_run(c, COUNT(n, in), SLOPE(l), x, dy, dx);
}

/* He initialization for the layer before (bp_init_bound). */
static double relu_slope(const bp_layer *l) {
  (void)l;
  return 0.0;
}

static double leaky_slope(const bp_layer *l) {
  return SLOPE(l);
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
  float a = SLOPE(l);
  (void)c;
  bp_vexp(m, x, y);
  for (i = 0; i < m; i++) y[i] = x[i] > 0.0f ? x[i] : a * (y[i] - 1.0f);
}

static void elu_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                         const float *y, const float *dy, float *dx, size_t n,
                         const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  float a = SLOPE(l);
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
typedef struct softplus_set {
  float beta, threshold;
} softplus_set;
BP_SETTINGS_FIT(softplus_set);

static const bp_setting SOFTPLUS_SETTINGS[] = {
  {.name = "beta", .type = BP_FLOAT, .off = offsetof(softplus_set, beta),
   .def = 1.0, .bounds = BP_ABOVE, .min = 0, .label = "beta"},
  {.name = "threshold", .type = BP_FLOAT,
   .off = offsetof(softplus_set, threshold), .def = 20.0,
   .label = "threshold"},
};

static void softplus_forward(const bp_layer *l, const bp_ctx *c,
                             const float *x, float *y, size_t n,
                             const bp_shape *in) {
  size_t i, m = COUNT(n, in);
  const softplus_set *s = BP_SETTINGS(softplus_set, l);
  float b = s->beta, t = s->threshold;
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
  const softplus_set *s = BP_SETTINGS(softplus_set, l);
  float b = s->beta, t = s->threshold;
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

/* The fused per-sample step computes these itself (kernels/small.h),
** with the operations of the functions above. */
static void sigmoid_dense(const bp_layer *l, bp_dense *d) {
  (void)l;
  d->act = BP_DENSE_SIGMOID;
}

static void tanh_dense(const bp_layer *l, bp_dense *d) {
  (void)l;
  d->act = BP_DENSE_TANH;
}

static void relu_dense(const bp_layer *l, bp_dense *d) {
  (void)l;
  d->act = BP_DENSE_LEAKY;
  d->slope = 0.0f;
}

static void leaky_dense(const bp_layer *l, bp_dense *d) {
  d->act = BP_DENSE_LEAKY;
  d->slope = SLOPE(l);
}

static void identity_dense(const bp_layer *l, bp_dense *d) {
  (void)l;
  d->act = BP_DENSE_NONE;
}

#define ELEMENTWISE(nm, fwd, bwd) \
  .name = nm, .shape = bp_shape_same, .forward = fwd, .backward = bwd, \
  .same_shape = 1

const bp_layer_class bp_sigmoid_class = {
  ELEMENTWISE("Sigmoid", sigmoid_forward, sigmoid_backward),
  .fuses_as = BP_ACT_SIGMOID, .dense_act = sigmoid_dense,
};
const bp_layer_class bp_tanh_class = {
  ELEMENTWISE("Tanh", tanh_forward, tanh_backward),
  .fuses_as = BP_ACT_TANH, .dense_act = tanh_dense,
};
const bp_layer_class bp_relu_class = {
  ELEMENTWISE("ReLU", relu_forward, relu_backward),
  .fuses_as = BP_ACT_RELU, .init_slope = relu_slope, .dense_act = relu_dense,
};
const bp_layer_class bp_leaky_relu_class = {
  ELEMENTWISE("LeakyReLU", leaky_forward, leaky_backward),
  .settings = LEAKY_SETTINGS, .nsettings = BP_NSETTINGS(LEAKY_SETTINGS),
  .init_slope = leaky_slope, .dense_act = leaky_dense,
};
const bp_layer_class bp_gelu_class = {
  ELEMENTWISE("GELU", gelu_forward, gelu_backward),
};
const bp_layer_class bp_elu_class = {
  ELEMENTWISE("ELU", elu_forward, elu_backward),
  .settings = ELU_SETTINGS, .nsettings = BP_NSETTINGS(ELU_SETTINGS),
};
const bp_layer_class bp_silu_class = {
  ELEMENTWISE("SiLU", silu_forward, silu_backward),
};
const bp_layer_class bp_softplus_class = {
  ELEMENTWISE("Softplus", softplus_forward, softplus_backward),
  .settings = SOFTPLUS_SETTINGS,
  .nsettings = BP_NSETTINGS(SOFTPLUS_SETTINGS),
};
const bp_layer_class bp_identity_class = {
  ELEMENTWISE("Identity", identity_forward, identity_backward),
  .dense_act = identity_dense,
};
