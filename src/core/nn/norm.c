/*
** norm.c: BatchNorm1d, BatchNorm2d and LayerNorm, y = xhat gamma + beta
** with xhat = (x - mean) / sqrt(var + eps).
**
** BatchNorm normalizes each channel (dim 1 of a sample: N x C, N x C x L
** or N x C x H x W) over the batch and the positions. In training mode it
** uses the batch's mean and biased variance and moves the running
** statistics toward them (running = (1 - momentum) running + momentum
** batch, the variance unbiased, as PyTorch); in eval mode it uses the
** running statistics. Settings: in = channels, eps, beta = momentum.
** Parameters gamma (1) and beta (0); state running mean (0) then running
** variance (1). Saved: mean and 1/std per channel, then the mode.
**
** LayerNorm normalizes the last dim of each sample (each row), the same in
** both modes. Settings: in = the last dim, eps. Saved: mean and 1/std per
** row. Statistics are accumulated in double.
*/
#include <math.h>
#include <stdio.h>

#include "nn/layer.h"

/* --- BatchNorm -------------------------------------------------------- */

static bp_status bn_shape(const bp_layer *l, const bp_ctx *c, size_t n,
                          const bp_shape *in, bp_shape *out, bp_error *err) {
  char s[96];
  int two = l->kind == BP_BATCHNORM2D;
  bp_shape_fmt(n, in, s, sizeof s);
  if (two ? in->ndim != 3 : in->ndim > 2)
    return bp_fail(err, BP_EINVAL, "expected input of shape %s, got %s",
                   two ? "N x C x H x W" : "N x C or N x C x L", s);
  if (in->d[0] != l->in)
    return bp_fail(err, BP_EINVAL, "expected %lu channels, got %lu",
                   (unsigned long)l->in, (unsigned long)in->d[0]);
  if (c->training && n * bp_shape_numel(in) / in->d[0] < 2)
    return bp_fail(err, BP_EINVAL, "expected more than 1 value per channel "
                   "when training, got %s", s);
  *out = *in;
  return BP_OK;
}

static void bn_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, size_t n, const bp_shape *in) {
  size_t C = l->in, inner = bp_shape_numel(in) / C, cnt = n * inner;
  size_t ch, s, k;
  const float *g = l->p[0].data, *b = l->p[1].data;
  float *rm = l->state, *rv = l->state + C;
  float *mean = c->saved, *istd = c->saved + C, mom = l->beta;
  for (ch = 0; ch < C; ch++) {
    if (c->training) {
      double sum = 0.0, sq = 0.0, mu, var;
      for (s = 0; s < n; s++) {
        const float *xp = x + (s * C + ch) * inner;
        for (k = 0; k < inner; k++) sum += xp[k];
      }
      mu = sum / (double)cnt;
      for (s = 0; s < n; s++) {
        const float *xp = x + (s * C + ch) * inner;
        for (k = 0; k < inner; k++) sq += (xp[k] - mu) * (xp[k] - mu);
      }
      var = sq / (double)cnt;
      mean[ch] = (float)mu;
      istd[ch] = (float)(1.0 / sqrt(var + l->eps));
      rm[ch] = (1.0f - mom) * rm[ch] + mom * (float)mu;
      rv[ch] = (1.0f - mom) * rv[ch] +
               mom * (float)(sq / (double)(cnt - 1));
    } else {
      mean[ch] = rm[ch];
      istd[ch] = (float)(1.0 / sqrt((double)rv[ch] + l->eps));
    }
    for (s = 0; s < n; s++) {
      const float *xp = x + (s * C + ch) * inner;
      float *yp = y + (s * C + ch) * inner;
      float scale = istd[ch] * g[ch], shift = b[ch] - mean[ch] * scale;
      for (k = 0; k < inner; k++) yp[k] = xp[k] * scale + shift;
    }
  }
  c->saved[2 * C] = (float)c->training;
}

static void bn_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                        const float *y, const float *dy, float *dx, size_t n,
                        const bp_shape *in) {
  size_t C = l->in, inner = bp_shape_numel(in) / C, cnt = n * inner;
  size_t ch, s, k;
  const float *g = l->p[0].data, *mean = c->saved, *istd = c->saved + C;
  float *gg = l->p[0].grad, *gb = l->p[1].grad;
  int training = c->saved[2 * C] != 0.0f;
  (void)y;
  for (ch = 0; ch < C; ch++) {
    double sdy = 0.0, sdyx = 0.0;
    float m = mean[ch], is = istd[ch];
    for (s = 0; s < n; s++) {
      const float *xp = x + (s * C + ch) * inner;
      const float *dp = dy + (s * C + ch) * inner;
      for (k = 0; k < inner; k++) {
        sdy += dp[k];
        sdyx += dp[k] * ((xp[k] - m) * is);
      }
    }
    gg[ch] += (float)sdyx;
    gb[ch] += (float)sdy;
    if (dx == NULL) continue;
    for (s = 0; s < n; s++) {
      const float *xp = x + (s * C + ch) * inner;
      const float *dp = dy + (s * C + ch) * inner;
      float *dxp = dx + (s * C + ch) * inner;
      if (training) {
        /* dx = gamma/std (dy - mean(dy) - xhat mean(dy xhat)) */
        float a = (float)(sdy / (double)cnt), b = (float)(sdyx / (double)cnt);
        for (k = 0; k < inner; k++)
          dxp[k] = g[ch] * is * (dp[k] - a - (xp[k] - m) * is * b);
      } else {
        for (k = 0; k < inner; k++) dxp[k] = g[ch] * is * dp[k];
      }
    }
  }
}

static size_t bn_saved(const bp_layer *l, const bp_shape *in, size_t n) {
  (void)in;
  (void)n;
  return 2 * l->in + 1;
}

static bp_status bn_describe(bp_layer *l, bp_error *err) {
  const char *name = l->kind == BP_BATCHNORM2D ? "BatchNorm2d" : "BatchNorm1d";
  if (l->in == 0 || l->in > ((size_t)1 << 28))
    return bp_fail(err, BP_EINVAL, "%s needs between 1 and 2^28 channels, "
                   "got %lu", name, (unsigned long)l->in);
  if (!(l->eps > 0.0f) || !isfinite(l->eps))
    return bp_fail(err, BP_EINVAL, "%s eps must be positive, got %g", name,
                   (double)l->eps);
  if (!(l->beta >= 0.0f && l->beta <= 1.0f))
    return bp_fail(err, BP_EINVAL, "%s momentum must be between 0 and 1, "
                   "got %g", name, (double)l->beta);
  l->nparams = 2;
  l->p[0].ndim = l->p[1].ndim = 1;
  l->p[0].shape[0] = l->p[1].shape[0] = l->in;
  l->p[0].numel = l->p[1].numel = l->in;
  l->nstate = 2 * l->in;
  return BP_OK;
}

/* gamma 1, beta 0, running mean 0, running variance 1 (also LayerNorm's
** gamma and beta, which has no state). */
static void norm_reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i, C = l->in;
  (void)next;
  (void)rng;
  for (i = 0; i < C; i++) {
    l->p[0].data[i] = 1.0f;
    l->p[1].data[i] = 0.0f;
  }
  for (i = 0; i < l->nstate; i++) l->state[i] = i < C ? 0.0f : 1.0f;
}

/* --- LayerNorm -------------------------------------------------------- */

static bp_status ln_shape(const bp_layer *l, const bp_ctx *c, size_t n,
                          const bp_shape *in, bp_shape *out, bp_error *err) {
  (void)c;
  (void)n;
  if (in->d[in->ndim - 1] != l->in) {
    return bp_fail(err, BP_EINVAL, "expected a last dimension of %lu, got "
                   "%lu", (unsigned long)l->in,
                   (unsigned long)in->d[in->ndim - 1]);
  }
  *out = *in;
  return BP_OK;
}

static void ln_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, size_t n, const bp_shape *in) {
  size_t D = l->in, rows = n * bp_shape_numel(in) / D, r, k;
  const float *g = l->p[0].data, *b = l->p[1].data;
  float *mean = c->saved, *istd = c->saved + rows;
  for (r = 0; r < rows; r++) {
    const float *xp = x + r * D;
    float *yp = y + r * D;
    double sum = 0.0, sq = 0.0, mu;
    for (k = 0; k < D; k++) sum += xp[k];
    mu = sum / (double)D;
    for (k = 0; k < D; k++) sq += (xp[k] - mu) * (xp[k] - mu);
    mean[r] = (float)mu;
    istd[r] = (float)(1.0 / sqrt(sq / (double)D + l->eps));
    for (k = 0; k < D; k++) yp[k] = (xp[k] - mean[r]) * istd[r] * g[k] + b[k];
  }
}

static void ln_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                        const float *y, const float *dy, float *dx, size_t n,
                        const bp_shape *in) {
  size_t D = l->in, rows = n * bp_shape_numel(in) / D, r, k;
  const float *g = l->p[0].data, *mean = c->saved, *istd = c->saved + rows;
  float *gg = l->p[0].grad, *gb = l->p[1].grad;
  (void)y;
  for (r = 0; r < rows; r++) {
    const float *xp = x + r * D, *dp = dy + r * D;
    double s1 = 0.0, s2 = 0.0;
    float m = mean[r], is = istd[r];
    for (k = 0; k < D; k++) {
      float xh = (xp[k] - m) * is, gh = dp[k] * g[k];
      gg[k] += dp[k] * xh;
      gb[k] += dp[k];
      s1 += gh;
      s2 += gh * xh;
    }
    if (dx != NULL) {
      /* dx = 1/std (g - mean(g) - xhat mean(g xhat)), g = dy gamma */
      float a = (float)(s1 / (double)D), b = (float)(s2 / (double)D);
      float *dxp = dx + r * D;
      for (k = 0; k < D; k++)
        dxp[k] = is * (dp[k] * g[k] - a - (xp[k] - m) * is * b);
    }
  }
}

static size_t ln_saved(const bp_layer *l, const bp_shape *in, size_t n) {
  return 2 * (n * bp_shape_numel(in) / l->in);
}

static bp_status ln_describe(bp_layer *l, bp_error *err) {
  if (l->in == 0 || l->in > ((size_t)1 << 28))
    return bp_fail(err, BP_EINVAL, "LayerNorm needs between 1 and 2^28 "
                   "features, got %lu", (unsigned long)l->in);
  if (!(l->eps > 0.0f) || !isfinite(l->eps))
    return bp_fail(err, BP_EINVAL, "LayerNorm eps must be positive, got %g",
                   (double)l->eps);
  l->nparams = 2;
  l->p[0].ndim = l->p[1].ndim = 1;
  l->p[0].shape[0] = l->p[1].shape[0] = l->in;
  l->p[0].numel = l->p[1].numel = l->in;
  return BP_OK;
}

const bp_layer_class bp_batchnorm1d_class = {
    "BatchNorm1d", bn_shape, bn_forward, bn_backward, bn_describe, norm_reset,
    bn_saved, NULL, NULL, 1, 0};
const bp_layer_class bp_batchnorm2d_class = {
    "BatchNorm2d", bn_shape, bn_forward, bn_backward, bn_describe, norm_reset,
    bn_saved, NULL, NULL, 1, 0};
const bp_layer_class bp_layernorm_class = {
    "LayerNorm", ln_shape, ln_forward, ln_backward, ln_describe, norm_reset,
    ln_saved, NULL, NULL, 1, 0};
