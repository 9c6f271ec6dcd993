/* layer.c: from kind tag to class, and the checks every layer shares. */
#include <math.h>
#include <string.h>

#include "layer.h"

const bp_layer_class *bp_layer_class_of(bp_kind kind) {
  switch (kind) {
    case BP_LINEAR: return &bp_linear_class;
    case BP_SIGMOID: return &bp_sigmoid_class;
    case BP_TANH: return &bp_tanh_class;
    case BP_RELU: return &bp_relu_class;
    case BP_LEAKY_RELU: return &bp_leaky_relu_class;
    case BP_SOFTMAX: return &bp_softmax_class;
    case BP_LOG_SOFTMAX: return &bp_log_softmax_class;
    default: return NULL;
  }
}

void bp_describe_none(bp_layer *l) {
  l->nparams = 0;
}

bp_status bp_layer_make(bp_layer *l, bp_kind kind, size_t in, size_t out,
                        float alpha, bp_error *err) {
  const bp_layer_class *c = bp_layer_class_of(kind);
  if (c == NULL) return bp_fail(err, BP_EINVAL, "unknown layer kind %d", kind);
  memset(l, 0, sizeof *l);
  l->kind = kind;
  if (kind == BP_LINEAR) {
    if (in == 0 || out == 0)
      return bp_fail(err, BP_EINVAL, "Linear needs at least 1 input and 1 "
                     "output feature, got %lu and %lu", (unsigned long)in,
                     (unsigned long)out);
    if (in > ((size_t)1 << 31) / out)
      return bp_fail(err, BP_EINVAL, "Linear %lux%lu is too large",
                     (unsigned long)in, (unsigned long)out);
    l->in = in;
    l->out = out;
  } else if (in != 0 || out != 0) {
    return bp_fail(err, BP_EINVAL, "%s takes its size from its input", c->name);
  }
  if (kind == BP_LEAKY_RELU) {
    if (!isfinite(alpha))
      return bp_fail(err, BP_EINVAL, "LeakyReLU slope must be finite");
    l->alpha = alpha;
  }
  c->describe(l);
  return BP_OK;
}
