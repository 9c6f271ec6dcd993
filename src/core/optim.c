/* optim.c: SGD and Adam (see optim.h). */
#include <math.h>
#include <string.h>

#include "optim.h"
#include "tensor.h"

void bp_optim_defaults(bp_optim *o, bp_optim_kind kind) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr = kind == BP_ADAM ? 1e-3 : 0.01;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
}

#define CHECK(cond, ...) \
  if (!(cond)) return bp_fail(err, BP_EINVAL, __VA_ARGS__)

bp_status bp_optim_check(const bp_optim *o, bp_error *err) {
  CHECK(isfinite(o->lr) && o->lr >= 0, "lr must be >= 0, got %g", o->lr);
  CHECK(isfinite(o->weight_decay) && o->weight_decay >= 0,
        "weight_decay must be >= 0, got %g", o->weight_decay);
  if (o->kind == BP_SGD) {
    CHECK(isfinite(o->momentum) && o->momentum >= 0,
          "momentum must be >= 0, got %g", o->momentum);
    CHECK(isfinite(o->dampening) && o->dampening >= 0 && o->dampening <= 1,
          "dampening must be in [0, 1], got %g", o->dampening);
    CHECK(!o->nesterov || (o->momentum > 0 && o->dampening == 0),
          "nesterov needs momentum > 0 and dampening = 0");
  } else {
    CHECK(o->beta1 >= 0 && o->beta1 < 1, "beta1 must be in [0, 1), got %g",
          o->beta1);
    CHECK(o->beta2 >= 0 && o->beta2 < 1, "beta2 must be in [0, 1), got %g",
          o->beta2);
    CHECK(isfinite(o->eps) && o->eps > 0, "eps must be > 0, got %g", o->eps);
  }
  return BP_OK;
}

bp_status bp_optim_init(bp_optim *o, size_t n, bp_error *err) {
  bp_status st = bp_optim_check(o, err);
  if (st != BP_OK) return st;
  o->n = n;
  o->steps = 0;
  o->m = o->v = NULL;
  if (o->kind == BP_ADAM || o->momentum != 0) {
    o->m = bp_alloc(n);
    if (o->m == NULL) goto nomem;
  }
  if (o->kind == BP_ADAM) {
    o->v = bp_alloc(n);
    if (o->v == NULL) goto nomem;
  }
  return BP_OK;
nomem:
  bp_optim_free(o);
  return bp_fail(err, BP_ENOMEM, "out of memory for optimizer state");
}

void bp_optim_free(bp_optim *o) {
  bp_free(o->m);
  bp_free(o->v);
  o->m = o->v = NULL;
}

static void sgd(bp_optim *o, float *p, const float *g) {
  float lr = (float)o->lr, wd = (float)o->weight_decay;
  float mu = (float)o->momentum, keep = (float)(1.0 - o->dampening);
  size_t i;
  for (i = 0; i < o->n; i++) {
    float d = g[i] + wd * p[i];
    if (o->m != NULL) {
      float b = o->steps == 0 ? d : mu * o->m[i] + keep * d;
      o->m[i] = b;
      d = o->nesterov ? d + mu * b : b;
    }
    p[i] -= lr * d;
  }
}

static void adam(bp_optim *o, float *p, const float *g) {
  double t = (double)(o->steps + 1);
  float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->weight_decay;
  float step = (float)(o->lr / (1.0 - pow(o->beta1, t)));
  float root2 = (float)sqrt(1.0 - pow(o->beta2, t)), eps = (float)o->eps;
  size_t i;
  for (i = 0; i < o->n; i++) {
    float gi = g[i] + wd * p[i];
    o->m[i] = b1 * o->m[i] + (1.0f - b1) * gi;
    o->v[i] = b2 * o->v[i] + (1.0f - b2) * gi * gi;
    p[i] -= step * o->m[i] / (sqrtf(o->v[i]) / root2 + eps);
  }
}

void bp_optim_step(bp_optim *o, float *params, const float *grads) {
  if (o->kind == BP_ADAM) adam(o, params, grads);
  else sgd(o, params, grads);
  o->steps++;
}
