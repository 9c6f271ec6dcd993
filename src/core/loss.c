/* loss.c: MSE, BCE and cross-entropy (see loss.h). */
#include <math.h>

#include "loss.h"

size_t bp_loss_target_count(bp_loss_kind kind, size_t n, size_t c) {
  return kind == BP_CE ? n : n * c;
}

static bp_status mse(const float *p, size_t m, const float *t, double *loss,
                     float *grad) {
  double s = 0.0;
  float g = 2.0f / (float)m;
  size_t i;
  for (i = 0; i < m; i++) {
    float d = p[i] - t[i];
    s += (double)d * d;
    if (grad) grad[i] = g * d;
  }
  *loss = s / (double)m;
  return BP_OK;
}

static bp_status bce(const float *p, size_t m, const float *t, double *loss,
                     float *grad, bp_error *err) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < m; i++) {
    if (!(p[i] >= 0.0f && p[i] <= 1.0f))
      return bp_fail(err, BP_EINVAL, "prediction %lu is %g, expected a "
                     "probability in [0, 1] (end the network with Sigmoid)",
                     (unsigned long)i + 1, p[i]);
    if (!(t[i] >= 0.0f && t[i] <= 1.0f))
      return bp_fail(err, BP_EINVAL, "target %lu is %g, expected a value "
                     "in [0, 1]", (unsigned long)i + 1, t[i]);
  }
  for (i = 0; i < m; i++) {
    double lp = p[i] > 0.0f ? log(p[i]) : -100.0;
    double lq = p[i] < 1.0f ? log1p(-(double)p[i]) : -100.0;
    if (lp < -100.0) lp = -100.0;
    if (lq < -100.0) lq = -100.0;
    s -= t[i] * lp + (1.0 - t[i]) * lq;
    if (grad) {
      /* PyTorch's guard: the denominator never reaches 0. */
      double den = (double)p[i] * (1.0 - p[i]);
      if (den < 1e-12) den = 1e-12;
      grad[i] = (float)(((double)p[i] - t[i]) / den / (double)m);
    }
  }
  *loss = s / (double)m;
  return BP_OK;
}

static bp_status ce(const float *x, size_t n, size_t c, const float *t,
                    double *loss, float *grad, bp_error *err) {
  double s = 0.0;
  size_t i, j;
  for (i = 0; i < n; i++)
    if (!(t[i] >= 1.0f && t[i] <= (float)c && t[i] == floorf(t[i])))
      return bp_fail(err, BP_EINVAL, "label %lu is %g, expected an integer "
                     "class in 1..%lu", (unsigned long)i + 1, t[i],
                     (unsigned long)c);
  for (i = 0; i < n; i++) {
    const float *r = x + i * c;
    size_t label = (size_t)t[i] - 1;
    double sum = 0.0, lse;
    float m = r[0];
    for (j = 1; j < c; j++)
      if (r[j] > m) m = r[j];
    for (j = 0; j < c; j++) sum += exp((double)r[j] - m);
    lse = m + log(sum);
    s += lse - r[label];
    if (grad) {
      for (j = 0; j < c; j++)
        grad[i * c + j] = (float)(exp((double)r[j] - lse) / (double)n);
      grad[i * c + label] -= 1.0f / (float)n;
    }
  }
  *loss = s / (double)n;
  return BP_OK;
}

bp_status bp_loss(bp_loss_kind kind, const float *pred, size_t n, size_t c,
                  const float *target, double *loss, float *grad,
                  bp_error *err) {
  if (n == 0 || c == 0) return bp_fail(err, BP_EINVAL, "empty prediction");
  switch (kind) {
    case BP_MSE: return mse(pred, n * c, target, loss, grad);
    case BP_BCE: return bce(pred, n * c, target, loss, grad, err);
    case BP_CE: return ce(pred, n, c, target, loss, grad, err);
  }
  return bp_fail(err, BP_EINVAL, "unknown loss kind %d", (int)kind);
}
