/*
** norm.c: BatchNorm1d, BatchNorm2d and LayerNorm, y = xhat gamma + beta
** with xhat = (x - mean) / sqrt(var + eps).
**
** BatchNorm normalizes each channel (dim 1 of a sample: N x C, N x C x L
** or N x C x H x W) over the batch and the positions. In training mode it
** uses the batch's mean and biased variance and moves the running
** statistics toward them (running = (1 - momentum) running + momentum
** batch, the variance unbiased, as PyTorch); in eval mode it uses the
** running statistics. Parameters gamma (1) and beta (0); state running
** mean (0) then running variance (1). Saved: mean and 1/std per channel,
** then the mode.
**
** LayerNorm normalizes the last dim of each sample (each row), the same in
** both modes. Saved: mean and 1/std per row. Statistics are accumulated in
** double.
**
** BatchNorm's loops are kernels/image.h's (the same bits on every ISA),
** one channel at a time, the channels split between threads. The batch
** statistics take one pass: sums of d = x - x0 and d^2 (x0 the channel's
** first value, which keeps sum d^2 - (sum d)^2 / n from cancelling), and
** backward's two sums (dy, and dy (x - mean)) one more.
*/
#include <math.h>
#include <stdio.h>

#include "base/threadpool.h"
#include "kernels/image.h"
#include "nn/layer.h"

/* n: BatchNorm's channels, LayerNorm's last dimension. */
typedef struct norm_set {
  size_t n;
  float eps, momentum;
} norm_set;
BP_SETTINGS_FIT(norm_set);
#define SET(l) BP_SETTINGS(norm_set, l)

#define EPS                                                               \
  {.name = "eps", .type = BP_FLOAT, .off = offsetof(norm_set, eps),       \
   .def = 1e-5, .bounds = BP_ABOVE, .min = 0, .label = "eps"}

static const bp_setting BN_SETTINGS[] = {
  {.name = "num_features", .type = BP_SIZE, .off = offsetof(norm_set, n),
   .required = 1, .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 28},
  EPS,
  {.name = "momentum", .type = BP_FLOAT, .off = offsetof(norm_set, momentum),
   .def = 0.1, .bounds = BP_MIN | BP_MAX, .min = 0, .max = 1,
   .label = "momentum"},
};

static const bp_setting LN_SETTINGS[] = {
  {.name = "normalized_shape", .type = BP_SIZE, .off = offsetof(norm_set, n),
   .required = 1, .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 28},
  EPS,
};

/* --- BatchNorm -------------------------------------------------------- */

/* two: BatchNorm2d. */
static bp_status bn_shape(const bp_layer *l, const bp_ctx *c, size_t n,
                          const bp_shape *in, bp_shape *out, int two,
                          bp_error *err) {
  char s[96];
  bp_shape_fmt(n, in, s, sizeof s);
  if (two ? in->ndim != 3 : in->ndim > 2)
    return bp_fail(err, BP_EINVAL, "expected input of shape %s, got %s",
                   two ? "N x C x H x W" : "N x C or N x C x L", s);
  if (in->d[0] != SET(l)->n)
    return bp_fail(err, BP_EINVAL, "expected %lu channels, got %lu",
                   (unsigned long)SET(l)->n, (unsigned long)in->d[0]);
  if (c->training && n * bp_shape_numel(in) / in->d[0] < 2)
    return bp_fail(err, BP_EINVAL, "expected more than 1 value per channel "
                   "when training, got %s", s);
  *out = *in;
  return BP_OK;
}

static bp_status bn1_shape(const bp_layer *l, const bp_ctx *c, size_t n,
                           const bp_shape *in, bp_shape *out, bp_error *err) {
  return bn_shape(l, c, n, in, out, 0, err);
}

static bp_status bn2_shape(const bp_layer *l, const bp_ctx *c, size_t n,
                           const bp_shape *in, bp_shape *out, bp_error *err) {
  return bn_shape(l, c, n, in, out, 1, err);
}

/* A pass over channels [lo, hi) of a batch, a share of the thread
** pool's: each channel is computed whole by one thread, so any count of
** threads gives the same bits. */
typedef struct bn_job {
  const bp_layer *l;
  const bp_ctx *c;
  const float *x, *dy;
  float *y, *dx;
  size_t n, C, inner;
  int training;
} bn_job;

static void bn_forward_task(void *arg, size_t t, size_t nt) {
  const bn_job *J = arg;
  const bp_layer *l = J->l;
  size_t C = J->C, inner = J->inner, n = J->n, cnt = n * inner, ch;
  const float *g = l->p[0].data, *b = l->p[1].data;
  float *rm = l->state, *rv = l->state + C, eps = SET(l)->eps;
  float *mean = J->c->saved, *istd = J->c->saved + C, mom = SET(l)->momentum;
  for (ch = C * t / nt; ch < C * (t + 1) / nt; ch++) {
    const float *xc = J->x + ch * inner;
    float scale, shift;
    if (J->training) {
      /* sums of x - x0 (the first value): mean and variance in one pass */
      double s[2], mu, var;
      bp_img_moments(n, inner, C * inner, xc, xc[0], s);
      mu = s[0] / (double)cnt;
      var = (s[1] - s[0] * mu) / (double)cnt;
      if (var < 0.0) var = 0.0;
      mu += (double)xc[0];
      mean[ch] = (float)mu;
      istd[ch] = (float)(1.0 / sqrt(var + eps));
      rm[ch] = (1.0f - mom) * rm[ch] + mom * (float)mu;
      rv[ch] = (1.0f - mom) * rv[ch] +
               mom * (float)(var * (double)cnt / (double)(cnt - 1));
    } else {
      mean[ch] = rm[ch];
      istd[ch] = (float)(1.0 / sqrt((double)rv[ch] + eps));
    }
    scale = istd[ch] * g[ch];
    shift = b[ch] - mean[ch] * scale;
    bp_img_affine(n, inner, C * inner, xc, scale, shift, J->y + ch * inner);
  }
}

static void bn_backward_task(void *arg, size_t t, size_t nt) {
  const bn_job *J = arg;
  const bp_layer *l = J->l;
  size_t C = J->C, inner = J->inner, n = J->n, cnt = n * inner, ch, s, k;
  const float *g = l->p[0].data, *mean = J->c->saved, *istd = J->c->saved + C;
  float *gg = l->p[0].grad, *gb = l->p[1].grad;
  for (ch = C * t / nt; ch < C * (t + 1) / nt; ch++) {
    const float *xc = J->x + ch * inner, *dc = J->dy + ch * inner;
    float m = mean[ch], is = istd[ch];
    double sums[2], sdy, sdyx;
    /* sum dy and sum dy (x - mean), then times 1/std: sum dy xhat */
    bp_img_moments2(n, inner, C * inner, xc, dc, m, sums);
    sdy = sums[0];
    sdyx = sums[1] * (double)is;
    gg[ch] += (float)sdyx;
    gb[ch] += (float)sdy;
    if (J->dx == NULL) continue;
    if (J->training) {
      /* dx = gamma/std (dy - mean(dy) - xhat mean(dy xhat)) */
      float a = (float)(sdy / (double)cnt), b = (float)(sdyx / (double)cnt);
      bp_img_bn_grad(n, inner, C * inner, xc, dc, m, is, a, b, g[ch] * is,
                     J->dx + ch * inner);
    } else {
      for (s = 0; s < n; s++) {
        const float *dp = dc + s * C * inner;
        float *dxp = J->dx + ch * inner + s * C * inner;
        for (k = 0; k < inner; k++) dxp[k] = g[ch] * is * dp[k];
      }
    }
  }
}

/* Split over channels when there is enough to split (64k values). */
static void bn_run(const bp_ctx *c, bp_task_fn *fn, bn_job *J) {
  size_t most = J->n * J->C * J->inner / 65536;
  bp_pool_split(c->pool, most < J->C ? most : J->C, fn, J);
}

static void bn_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, size_t n, const bp_shape *in) {
  size_t C = SET(l)->n;
  bn_job J = {l, c, x, NULL, y, NULL, n, C, bp_shape_numel(in) / C,
              c->training};
  bn_run(c, bn_forward_task, &J);
  c->saved[2 * C] = (float)c->training;
}

static void bn_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                        const float *y, const float *dy, float *dx, size_t n,
                        const bp_shape *in) {
  size_t C = SET(l)->n;
  bn_job J = {l, c, x, dy, NULL, dx, n, C, bp_shape_numel(in) / C,
              c->saved[2 * C] != 0.0f};
  (void)y;
  bn_run(c, bn_backward_task, &J);
}

static size_t bn_saved(const bp_layer *l, const bp_shape *in, size_t n) {
  (void)in;
  (void)n;
  return 2 * SET(l)->n + 1;
}

/* gamma and beta; BatchNorm also keeps running statistics (state). */
static bp_status norm_describe(bp_layer *l, int stats) {
  size_t C = SET(l)->n;
  l->nparams = 2;
  l->p[0].ndim = l->p[1].ndim = 1;
  l->p[0].shape[0] = l->p[1].shape[0] = C;
  l->p[0].numel = l->p[1].numel = C;
  l->nstate = stats ? 2 * C : 0;
  return BP_OK;
}

static bp_status bn_describe(bp_layer *l, bp_error *err) {
  (void)err;
  return norm_describe(l, 1);
}

static bp_status ln_describe(bp_layer *l, bp_error *err) {
  (void)err;
  return norm_describe(l, 0);
}

/* gamma 1, beta 0, running mean 0, running variance 1 (also LayerNorm's
** gamma and beta, which has no state). */
static void norm_reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i, C = SET(l)->n;
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
  if (in->d[in->ndim - 1] != SET(l)->n) {
    return bp_fail(err, BP_EINVAL, "expected a last dimension of %lu, got "
                   "%lu", (unsigned long)SET(l)->n,
                   (unsigned long)in->d[in->ndim - 1]);
  }
  *out = *in;
  return BP_OK;
}

static void ln_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                       float *y, size_t n, const bp_shape *in) {
  size_t D = SET(l)->n, rows = n * bp_shape_numel(in) / D, r, k;
  const float *g = l->p[0].data, *b = l->p[1].data;
  float eps = SET(l)->eps;
  float *mean = c->saved, *istd = c->saved + rows;
  for (r = 0; r < rows; r++) {
    const float *xp = x + r * D;
    float *yp = y + r * D;
    double sum = 0.0, sq = 0.0, mu;
    for (k = 0; k < D; k++) sum += xp[k];
    mu = sum / (double)D;
    for (k = 0; k < D; k++) sq += (xp[k] - mu) * (xp[k] - mu);
    mean[r] = (float)mu;
    istd[r] = (float)(1.0 / sqrt(sq / (double)D + eps));
    for (k = 0; k < D; k++) yp[k] = (xp[k] - mean[r]) * istd[r] * g[k] + b[k];
  }
}

static void ln_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                        const float *y, const float *dy, float *dx, size_t n,
                        const bp_shape *in) {
  size_t D = SET(l)->n, rows = n * bp_shape_numel(in) / D, r, k;
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
  return 2 * (n * bp_shape_numel(in) / SET(l)->n);
}

const bp_layer_class bp_batchnorm1d_class = {
  .name = "BatchNorm1d", .settings = BN_SETTINGS,
  .nsettings = BP_NSETTINGS(BN_SETTINGS), .shape = bn1_shape,
  .forward = bn_forward, .backward = bn_backward, .describe = bn_describe,
  .reset = norm_reset, .saved = bn_saved, .same_shape = 1,
};
const bp_layer_class bp_batchnorm2d_class = {
  .name = "BatchNorm2d", .settings = BN_SETTINGS,
  .nsettings = BP_NSETTINGS(BN_SETTINGS), .shape = bn2_shape,
  .forward = bn_forward, .backward = bn_backward, .describe = bn_describe,
  .reset = norm_reset, .saved = bn_saved, .same_shape = 1,
};
const bp_layer_class bp_layernorm_class = {
  .name = "LayerNorm", .settings = LN_SETTINGS,
  .nsettings = BP_NSETTINGS(LN_SETTINGS), .shape = ln_shape,
  .forward = ln_forward, .backward = ln_backward, .describe = ln_describe,
  .reset = norm_reset, .saved = ln_saved, .same_shape = 1,
};
