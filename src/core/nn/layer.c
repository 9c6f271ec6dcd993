/* layer.c: the pieces every layer shares (shapes, initialization). */
#include <math.h>
#include <stdio.h>

#include "nn/layer.h"

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
** depth (with the gain of a negative slope a: sqrt(6/((1+a^2) fan_in))). */
double bp_init_bound(const bp_layer *next, size_t fan_in, size_t fan_out) {
  const bp_layer_class *c = next != NULL ? bp_layer_class_of(next->kind) : NULL;
  if (c != NULL && c->init_slope != NULL) {
    double a = c->init_slope(next);
    return sqrt(6.0 / ((1.0 + a * a) * (double)fan_in));
  }
  return sqrt(6.0 / (double)(fan_in + fan_out));
}
