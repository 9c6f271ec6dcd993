/*
** activation.c: elementwise activations, z = act(y). Each backward uses
** whichever of x or y makes the derivative cheapest: sigmoid' = y(1-y),
** tanh' = 1-y^2, and the ReLUs look at the sign of x.
*/
#include "layer.h"
#include "vmath.h"

static void sigmoid_forward(const bp_layer *l, const float *x, float *y,
                            size_t n, size_t width) {
  (void)l;
  bp_vsigmoid(n * width, x, y);
}

static void sigmoid_backward(const bp_layer *l, const float *x, const float *y,
                             const float *dy, float *dx, size_t n,
                             size_t width) {
  size_t i, m = n * width;
  (void)l;
  (void)x;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static void tanh_forward(const bp_layer *l, const float *x, float *y, size_t n,
                         size_t width) {
  (void)l;
  bp_vtanh(n * width, x, y);
}

static void tanh_backward(const bp_layer *l, const float *x, const float *y,
                          const float *dy, float *dx, size_t n, size_t width) {
  size_t i, m = n * width;
  (void)l;
  (void)x;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

/* ReLU is LeakyReLU with alpha = 0 (the constructor sets it). */
static void relu_forward(const bp_layer *l, const float *x, float *y, size_t n,
                         size_t width) {
  size_t i, m = n * width;
  float a = l->alpha;
  for (i = 0; i < m; i++) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
}

static void relu_backward(const bp_layer *l, const float *x, const float *y,
                          const float *dy, float *dx, size_t n, size_t width) {
  size_t i, m = n * width;
  float a = l->alpha;
  (void)y;
  if (dx == NULL) return;
  for (i = 0; i < m; i++) dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
}

const bp_layer_class bp_sigmoid_class = {"Sigmoid", sigmoid_forward,
                                         sigmoid_backward, bp_describe_none, NULL};
const bp_layer_class bp_tanh_class = {"Tanh", tanh_forward, tanh_backward,
                                      bp_describe_none, NULL};
const bp_layer_class bp_relu_class = {"ReLU", relu_forward, relu_backward,
                                      bp_describe_none, NULL};
const bp_layer_class bp_leaky_relu_class = {"LeakyReLU", relu_forward,
                                            relu_backward, bp_describe_none,
                                            NULL};
