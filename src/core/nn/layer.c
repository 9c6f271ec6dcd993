/* layer.c: from kind tag to class, and the pieces every layer shares. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

const bp_layer_class *bp_layer_class_of(bp_kind kind) {
  switch (kind) {
    case BP_LINEAR: return &bp_linear_class;
    case BP_SIGMOID: return &bp_sigmoid_class;
    case BP_TANH: return &bp_tanh_class;
    case BP_RELU: return &bp_relu_class;
    case BP_LEAKY_RELU: return &bp_leaky_relu_class;
    case BP_SOFTMAX: return &bp_softmax_class;
    case BP_LOG_SOFTMAX: return &bp_log_softmax_class;
    case BP_CONV2D: return &bp_conv2d_class;
    case BP_MAXPOOL2D: return &bp_maxpool2d_class;
    case BP_AVGPOOL2D: return &bp_avgpool2d_class;
    case BP_FLATTEN: return &bp_flatten_class;
    case BP_DROPOUT: return &bp_dropout_class;
    case BP_BATCHNORM1D: return &bp_batchnorm1d_class;
    case BP_BATCHNORM2D: return &bp_batchnorm2d_class;
    case BP_LAYERNORM: return &bp_layernorm_class;
    case BP_EMBEDDING: return &bp_embedding_class;
    case BP_GELU: return &bp_gelu_class;
    case BP_ELU: return &bp_elu_class;
    case BP_SILU: return &bp_silu_class;
    case BP_SOFTPLUS: return &bp_softplus_class;
    case BP_IDENTITY: return &bp_identity_class;
    case BP_RESIDUAL: return &bp_residual_class;
    default: return NULL;
  }
}

size_t bp_shape_numel(const bp_shape *s) {
  size_t n = 1;
  int i;
  for (i = 0; i < s->ndim; i++) n *= s->d[i];
  return n;
}

int bp_shape_equal(const bp_shape *a, const bp_shape *b) {
  int i;
  if (a->ndim != b->ndim) return 0;
  for (i = 0; i < a->ndim; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

void bp_shape_fmt(size_t n, const bp_shape *s, char *buf, size_t len) {
  size_t at = 0;
  int i;
  buf[0] = '\0';
  if (n != 0) at += (size_t)snprintf(buf, len, "%lu", (unsigned long)n);
  for (i = 0; i < s->ndim && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, "%s%lu", at ? "x" : "",
                           (unsigned long)s->d[i]);
}

bp_status bp_describe_none(bp_layer *l, bp_error *err) {
  (void)err;
  l->nparams = 0;
  return BP_OK;
}

bp_status bp_shape_same(const bp_layer *l, const bp_ctx *c, size_t n,
                        const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)l;
  (void)c;
  (void)n;
  (void)err;
  *out = *in;
  return BP_OK;
}

void bp_fill_uniform(float *p, size_t n, double bound, bp_rng *rng) {
  size_t i;
  for (i = 0; i < n; i++)
    p[i] = (float)((2.0 * bp_rng_uniform(rng) - 1.0) * bound);
}

/* Uniform bounds keep the values bounded: Xavier/Glorot
** sqrt(6/(fan_in+fan_out)) suits sigmoid, tanh and softmax; He
** sqrt(6/fan_in) keeps the variance of ReLU layers from shrinking with
** depth. */
double bp_init_bound(const bp_layer *next, size_t fan_in, size_t fan_out) {
  bp_kind k = next != NULL ? next->kind : (bp_kind)0;
  if (k == BP_RELU || k == BP_LEAKY_RELU) {
    double a = k == BP_LEAKY_RELU ? next->alpha : 0.0;
    return sqrt(6.0 / ((1.0 + a * a) * (double)fan_in));
  }
  return sqrt(6.0 / (double)(fan_in + fan_out));
}

bp_status bp_layer_init(bp_layer *l, bp_error *err) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  int k;
  if (c == NULL)
    return bp_fail(err, BP_EINVAL, "unknown layer kind %d", (int)l->kind);
  l->nparams = 0;
  l->nstate = 0;
  l->state = NULL;
  for (k = 0; k < BP_MAXPARAMS; k++) memset(&l->p[k], 0, sizeof l->p[k]);
  return c->describe(l, err);
}

bp_status bp_layer_make(bp_layer *l, bp_kind kind, size_t in, size_t out,
                        float alpha, bp_error *err) {
  const bp_layer_class *c = bp_layer_class_of(kind);
  if (c == NULL) return bp_fail(err, BP_EINVAL, "unknown layer kind %d", kind);
  memset(l, 0, sizeof *l);
  l->kind = kind;
  if (kind != BP_LINEAR && (in != 0 || out != 0))
    return bp_fail(err, BP_EINVAL, "%s takes its size from its input", c->name);
  l->in = in;
  l->out = out;
  if (kind == BP_LEAKY_RELU) l->alpha = alpha;
  return bp_layer_init(l, err);
}
