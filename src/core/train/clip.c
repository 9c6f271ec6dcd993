/* clip.c: gradient clipping (see clip.h). */
#include <math.h>

#include "train/clip.h"

bp_status bp_clip_check(const bp_clip *c, bp_error *err) {
  if (!(c->max_norm >= 0) || isinf(c->max_norm))
    return bp_fail(err, BP_EINVAL, "max_norm must be a finite number > 0, "
                   "got %g", c->max_norm);
  if (c->max_norm > 0 && !(c->norm_type > 0))
    return bp_fail(err, BP_EINVAL, "norm_type must be > 0 (math.huge for "
                   "the max norm), got %g", c->norm_type);
  if (!(c->value >= 0) || isinf(c->value))
    return bp_fail(err, BP_EINVAL, "clip value must be a finite number > 0, "
                   "got %g", c->value);
  return BP_OK;
}

double bp_grad_norm(const float *g, size_t n, double norm_type) {
  double s = 0.0;
  size_t i;
  if (isinf(norm_type)) {
    for (i = 0; i < n; i++) {
      double a = fabs((double)g[i]);
      if (a > s || isnan(a)) s = a;
    }
    return s;
  }
  if (norm_type == 2.0) {
    for (i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
  }
  if (norm_type == 1.0) {
    for (i = 0; i < n; i++) s += fabs((double)g[i]);
    return s;
  }
  for (i = 0; i < n; i++) s += pow(fabs((double)g[i]), norm_type);
  return pow(s, 1.0 / norm_type);
}

double bp_clip_grad_norm(float *g, size_t n, double max_norm,
                         double norm_type) {
  double norm = bp_grad_norm(g, n, norm_type);
  /* PyTorch's coefficient, 1e-6 included; a NaN norm scales by NaN there
  ** too, which the next loss check reports. */
  double coef = max_norm / (norm + 1e-6);
  size_t i;
  if (coef < 1.0 || isnan(coef)) {
    float c = (float)coef;
    for (i = 0; i < n; i++) g[i] *= c;
  }
  return norm;
}

void bp_clip_grad_value(float *g, size_t n, double value) {
  float hi = (float)value, lo = -hi;
  size_t i;
  for (i = 0; i < n; i++)
    g[i] = g[i] < lo ? lo : g[i] > hi ? hi : g[i];
}

void bp_clip_apply(const bp_clip *c, float *g, size_t n) {
  if (c->value > 0) bp_clip_grad_value(g, n, c->value);
  if (c->max_norm > 0) bp_clip_grad_norm(g, n, c->max_norm, c->norm_type);
}
