/*
** linear.c: y = x W^T + b, the neuron of the classic recipe for a whole
** batch at once. W is out x in and b has out entries, as in Torch and
** PyTorch, so row j of W holds the weights of neuron j.
*/
#include <math.h>

#include "gemm.h"
#include "layer.h"

static void forward(const bp_layer *l, const float *x, float *y, size_t n,
                    size_t width) {
  const float *w = l->p[0].data, *b = l->p[1].data;
  size_t i, j;
  (void)width;
  for (i = 0; i < n; i++)
    for (j = 0; j < l->out; j++) y[i * l->out + j] = b[j];
  bp_gemm(0, 1, n, l->out, l->in, 1.0f, x, l->in, w, l->in, 1.0f, y, l->out);
}

static void backward(const bp_layer *l, const float *x, const float *y,
                     const float *dy, float *dx, size_t n, size_t width) {
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  size_t i, j;
  (void)y;
  (void)width;
  /* dW += dy^T x,  db += column sums of dy,  dx = dy W */
  bp_gemm(1, 0, l->out, l->in, n, 1.0f, dy, l->out, x, l->in, 1.0f, gw,
          l->in);
  for (i = 0; i < n; i++)
    for (j = 0; j < l->out; j++) gb[j] += dy[i * l->out + j];
  if (dx != NULL)
    bp_gemm(0, 0, n, l->in, l->out, 1.0f, dy, l->out, l->p[0].data, l->in,
            0.0f, dx, l->in);
}

static void describe(bp_layer *l) {
  l->nparams = 2;
  l->p[0].ndim = 2;
  l->p[0].shape[0] = l->out;
  l->p[0].shape[1] = l->in;
  l->p[0].numel = l->out * l->in;
  l->p[1].ndim = 1;
  l->p[1].shape[0] = l->out;
  l->p[1].numel = l->out;
}

/* Uniform bounds keep the values bounded: Xavier/Glorot sqrt(6/(in+out))
** suits sigmoid, tanh and softmax; He sqrt(6/in) keeps the variance of
** ReLU layers from shrinking with depth. Biases start at zero. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  bp_kind k = next != NULL ? next->kind : (bp_kind)0;
  double bound;
  size_t i;
  if (k == BP_RELU || k == BP_LEAKY_RELU) {
    double a = k == BP_LEAKY_RELU ? next->alpha : 0.0;
    bound = sqrt(6.0 / ((1.0 + a * a) * (double)l->in));
  } else {
    bound = sqrt(6.0 / (double)(l->in + l->out));
  }
  for (i = 0; i < l->p[0].numel; i++)
    l->p[0].data[i] = (float)((2.0 * bp_rng_uniform(rng) - 1.0) * bound);
  for (i = 0; i < l->p[1].numel; i++) l->p[1].data[i] = 0.0f;
}

const bp_layer_class bp_linear_class = {"Linear", forward, backward, describe,
                                        reset};
