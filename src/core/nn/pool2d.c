/*
** pool2d.c: MaxPool2d and AvgPool2d over NCHW batches, each plane on its
** own. Settings: kh, kw window; sh, sw stride; ph, pw padding (implicit
** -inf for max, zeros for average, which divides by the full window as
** PyTorch's default count_include_pad=True does).
** MaxPool keeps, per output, the position of its maximum (the first, on
** ties) in the layer's saved memory, so backward routes each gradient
** there without searching again.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"
#include "nn/window.h"

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  char s[96];
  bp_status st = bp_win_check(n, in, err);
  (void)c;
  if (st != BP_OK) return st;
  if (in->d[1] * in->d[2] >= ((size_t)1 << 24)) {
    bp_shape_fmt(n, in, s, sizeof s);
    return bp_fail(err, BP_EINVAL, "planes of more than 2^24 pixels are not "
                   "supported (%s)", s);
  }
  return bp_win_shape(l, in, in->d[0], "window", out, err);
}

/* Window of output (oy, ox), clipped to the image: rows [y0, y1), columns
** [x0, x1). */
typedef struct win {
  size_t y0, y1, x0, x1;
} win;

static win window(const bp_layer *l, const bp_shape *in, size_t oy,
                  size_t ox) {
  win r;
  size_t ys = oy * l->sh, xs = ox * l->sw;      /* in padded coordinates */
  r.y0 = ys < l->ph ? 0 : ys - l->ph;
  r.x0 = xs < l->pw ? 0 : xs - l->pw;
  r.y1 = ys + l->kh - l->ph;
  r.x1 = xs + l->kw - l->pw;
  if (ys + l->kh < l->ph) r.y1 = 0;
  if (xs + l->kw < l->pw) r.x1 = 0;
  if (r.y1 > in->d[1]) r.y1 = in->d[1];
  if (r.x1 > in->d[2]) r.x1 = in->d[2];
  return r;
}

static void max_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float *arg = c->saved;
  bp_win_hw(l, in, &ho, &wo);
  for (pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(l, in, oy, ox);
        float m = -INFINITY;
        size_t at = r.y0 * w + r.x0;
        for (i = r.y0; i < r.y1; i++)
          for (j = r.x0; j < r.x1; j++)
            if (xp[i * w + j] > m) {
              m = xp[i * w + j];
              at = i * w + j;
            }
        *y++ = m;
        *arg++ = (float)at;
      }
  }
}

static void max_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                         const float *y, const float *dy, float *dx, size_t n,
                         const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, q;
  const float *arg = c->saved;
  (void)x;
  (void)y;
  if (dx == NULL) return;
  bp_win_hw(l, in, &ho, &wo);
  memset(dx, 0, planes * h * w * sizeof *dx);
  for (pl = 0; pl < planes; pl++) {
    float *dp = dx + pl * h * w;
    for (q = 0; q < ho * wo; q++) dp[(size_t)*arg++] += *dy++;
  }
}

static size_t max_saved(const bp_layer *l, const bp_shape *in, size_t n) {
  size_t ho, wo;
  bp_win_hw(l, in, &ho, &wo);
  return n * in->d[0] * ho * wo;
}

static void avg_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float scale = 1.0f / (float)(l->kh * l->kw);
  (void)c;
  bp_win_hw(l, in, &ho, &wo);
  for (pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(l, in, oy, ox);
        float s = 0.0f;
        for (i = r.y0; i < r.y1; i++)
          for (j = r.x0; j < r.x1; j++) s += xp[i * w + j];
        *y++ = s * scale;
      }
  }
}

static void avg_backward(const bp_layer *l, const bp_ctx *c, const float *x,
                         const float *y, const float *dy, float *dx, size_t n,
                         const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float scale = 1.0f / (float)(l->kh * l->kw);
  (void)c;
  (void)x;
  (void)y;
  if (dx == NULL) return;
  bp_win_hw(l, in, &ho, &wo);
  memset(dx, 0, planes * h * w * sizeof *dx);
  for (pl = 0; pl < planes; pl++) {
    float *dp = dx + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(l, in, oy, ox);
        float g = *dy++ * scale;
        for (i = r.y0; i < r.y1; i++)
          for (j = r.x0; j < r.x1; j++) dp[i * w + j] += g;
      }
  }
}

static bp_status describe(bp_layer *l, bp_error *err) {
  const char *name = l->kind == BP_MAXPOOL2D ? "MaxPool2d" : "AvgPool2d";
  if (l->kh == 0 || l->kw == 0 || l->sh == 0 || l->sw == 0)
    return bp_fail(err, BP_EINVAL, "%s window and stride must be positive, "
                   "got window %lux%lu, stride %lux%lu", name,
                   (unsigned long)l->kh, (unsigned long)l->kw,
                   (unsigned long)l->sh, (unsigned long)l->sw);
  if (l->kh > 4096 || l->kw > 4096 || l->sh > 4096 || l->sw > 4096)
    return bp_fail(err, BP_EINVAL, "%s window %lux%lu is too large", name,
                   (unsigned long)l->kh, (unsigned long)l->kw);
  /* PyTorch's rule; it also keeps every window over some real pixel. */
  if (2 * l->ph > l->kh || 2 * l->pw > l->kw)
    return bp_fail(err, BP_EINVAL, "%s padding must be at most half the "
                   "window, got padding %lux%lu for window %lux%lu", name,
                   (unsigned long)l->ph, (unsigned long)l->pw,
                   (unsigned long)l->kh, (unsigned long)l->kw);
  l->nparams = 0;
  return BP_OK;
}

const bp_layer_class bp_maxpool2d_class = {
    "MaxPool2d", shape, max_forward, max_backward, describe, NULL, max_saved,
    NULL, NULL, 0, 0};
const bp_layer_class bp_avgpool2d_class = {
    "AvgPool2d", shape, avg_forward, avg_backward, describe, NULL, NULL, NULL,
    NULL, 0, 0};
