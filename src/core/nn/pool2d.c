/*
** pool2d.c: MaxPool2d and AvgPool2d over NCHW batches, each plane on its
** own, with a window (window.h) whose stride defaults to its size and
** whose padding is implicit -inf for max, zeros for average, which
** divides by the full window as PyTorch's default count_include_pad=True
** does.
** MaxPool keeps, per output, the position of its maximum (the first, on
** ties) in the layer's saved memory, so backward routes each gradient
** there without searching again.
*/
#include <math.h>
#include <string.h>

#include "nn/layer.h"
#include "nn/window.h"

#define WIN(l) BP_SETTINGS(bp_window, l)

static const bp_setting SETTINGS[] = {BP_WINDOW_SETTINGS(0, 0, 1)};

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
  return bp_win_shape(WIN(l), in, in->d[0], "window", out, err);
}

/* Window of output (oy, ox), clipped to the image: rows [y0, y1), columns
** [x0, x1). */
typedef struct win {
  size_t y0, y1, x0, x1;
} win;

static win window(const bp_window *w, const bp_shape *in, size_t oy,
                  size_t ox) {
  win r;
  size_t ys = oy * w->sh, xs = ox * w->sw;      /* in padded coordinates */
  r.y0 = ys < w->ph ? 0 : ys - w->ph;
  r.x0 = xs < w->pw ? 0 : xs - w->pw;
  r.y1 = ys + w->kh - w->ph;
  r.x1 = xs + w->kw - w->pw;
  if (ys + w->kh < w->ph) r.y1 = 0;
  if (xs + w->kw < w->pw) r.x1 = 0;
  if (r.y1 > in->d[1]) r.y1 = in->d[1];
  if (r.x1 > in->d[2]) r.x1 = in->d[2];
  return r;
}

/* One candidate of a max window: the same test, in the same order, as
** the general loop below, so both give the same maximum and position. */
#define TAKE(v, pos) if ((v) > m) { m = (v); at = (pos); }

/* 2 x 2 windows, stride 2, no padding (the common pool): every window
** lies inside the plane, so no clipping and no window() per output. */
static void max2x2(size_t planes, size_t h, size_t w, size_t ho, size_t wo,
                   const float *x, float *y, float *arg) {
  size_t pl, oy, ox;
  for (pl = 0; pl < planes; pl++, x += h * w)
    for (oy = 0; oy < ho; oy++) {
      const float *r0 = x + 2 * oy * w, *r1 = r0 + w;
      size_t base = 2 * oy * w;
      for (ox = 0; ox < wo; ox++) {
        size_t b = 2 * ox, at = base + b;
        float m = -INFINITY;
        TAKE(r0[b], base + b)
        TAKE(r0[b + 1], base + b + 1)
        TAKE(r1[b], base + w + b)
        TAKE(r1[b + 1], base + w + b + 1)
        *y++ = m;
        *arg++ = (float)at;
      }
    }
}

static void max_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float *arg = c->saved;
  const bp_window *k = WIN(l);
  bp_win_hw(k, in, &ho, &wo);
  if (k->kh == 2 && k->kw == 2 && k->sh == 2 && k->sw == 2 && k->ph == 0 &&
      k->pw == 0) {
    max2x2(planes, h, w, ho, wo, x, y, arg);
    return;
  }
  for (pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(WIN(l), in, oy, ox);
        float m = -INFINITY;
        size_t at = r.y0 * w + r.x0;
        for (i = r.y0; i < r.y1; i++)
          for (j = r.x0; j < r.x1; j++) TAKE(xp[i * w + j], i * w + j)
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
  bp_win_hw(WIN(l), in, &ho, &wo);
  memset(dx, 0, planes * h * w * sizeof *dx);
  for (pl = 0; pl < planes; pl++) {
    float *dp = dx + pl * h * w;
    for (q = 0; q < ho * wo; q++) dp[(size_t)*arg++] += *dy++;
  }
}

static size_t max_saved(const bp_layer *l, const bp_shape *in, size_t n) {
  size_t ho, wo;
  bp_win_hw(WIN(l), in, &ho, &wo);
  return n * in->d[0] * ho * wo;
}

static void avg_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float scale = 1.0f / (float)(WIN(l)->kh * WIN(l)->kw);
  (void)c;
  bp_win_hw(WIN(l), in, &ho, &wo);
  for (pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(WIN(l), in, oy, ox);
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
  float scale = 1.0f / (float)(WIN(l)->kh * WIN(l)->kw);
  (void)c;
  (void)x;
  (void)y;
  if (dx == NULL) return;
  bp_win_hw(WIN(l), in, &ho, &wo);
  memset(dx, 0, planes * h * w * sizeof *dx);
  for (pl = 0; pl < planes; pl++) {
    float *dp = dx + pl * h * w;
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox++) {
        win r = window(WIN(l), in, oy, ox);
        float g = *dy++ * scale;
        for (i = r.y0; i < r.y1; i++)
          for (j = r.x0; j < r.x1; j++) dp[i * w + j] += g;
      }
  }
}

/* PyTorch's rule; it also keeps every window over some real pixel. */
static bp_status describe(bp_layer *l, bp_error *err) {
  const bp_window *w = WIN(l);
  if (2 * w->ph > w->kh || 2 * w->pw > w->kw)
    return bp_fail(err, BP_EINVAL, "padding must be at most half the kernel "
                   "size, got padding %lux%lu for kernel %lux%lu",
                   (unsigned long)w->ph, (unsigned long)w->pw,
                   (unsigned long)w->kh, (unsigned long)w->kw);
  return BP_OK;
}

const bp_layer_class bp_maxpool2d_class = {
  .name = "MaxPool2d", .settings = SETTINGS,
  .nsettings = BP_NSETTINGS(SETTINGS), .shape = shape,
  .forward = max_forward, .backward = max_backward, .describe = describe,
  .saved = max_saved,
};
const bp_layer_class bp_avgpool2d_class = {
  .name = "AvgPool2d", .settings = SETTINGS,
  .nsettings = BP_NSETTINGS(SETTINGS), .shape = shape,
  .forward = avg_forward, .backward = avg_backward, .describe = describe,
};
