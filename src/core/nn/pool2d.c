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

#include "base/threadpool.h"
#include "kernels/image.h"
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

/* One candidate of a max window: taken when greater than the best so
** far, as kernels/image.h's 2 x 2 loops do. */
#define TAKE(v, pos) if ((v) > m) { m = (v); at = (pos); }

/* 2 x 2 windows, stride 2, no padding (the common pool): every window
** lies inside the plane, so kernels/image.h's loops do it. */
static int is_2x2(const bp_window *k) {
  return k->kh == 2 && k->kw == 2 && k->sh == 2 && k->sw == 2 &&
         k->ph == 0 && k->pw == 0;
}

/* Planes [lo, hi) of a 2 x 2 pool's pass, a share of the thread pool's. */
typedef struct planes_job {
  size_t planes, h, w, ho, wo;
  const float *x, *dy;
  float *y, *arg, *dx;
} planes_job;


static void max2x2_task(void *arg, size_t t, size_t nt) {
  const planes_job *J = arg;
  size_t lo, hi, out = J->ho * J->wo;
  bp_pool_piece(J->planes, 1, t, nt, &lo, &hi);
  bp_max2x2(hi - lo, J->h, J->w, J->x + lo * J->h * J->w, J->y + lo * out,
            J->arg + lo * out);
}

static void max2x2_grad_task(void *arg, size_t t, size_t nt) {
  const planes_job *J = arg;
  size_t lo, hi, out = J->ho * J->wo;
  bp_pool_piece(J->planes, 1, t, nt, &lo, &hi);
  bp_max2x2_grad(hi - lo, J->h, J->w, J->arg + lo * out, J->dy + lo * out,
                 J->dx + lo * J->h * J->w);
}

/* Each plane is computed whole by one thread: the same bits for any
** count; below about 64k values one thread does it all. */
static void run_planes(const bp_ctx *c, bp_task_fn *fn, planes_job *J) {
  size_t most = J->planes * J->h * J->w / 65536;
  bp_pool_split(c->pool, most < J->planes ? most : J->planes, fn, J);
}

static void max_forward(const bp_layer *l, const bp_ctx *c, const float *x,
                        float *y, size_t n, const bp_shape *in) {
  size_t h = in->d[1], w = in->d[2];
  size_t ho, wo;
  size_t planes = n * in->d[0], pl, oy, ox, i, j;
  float *arg = c->saved;
  const bp_window *k = WIN(l);
  bp_win_hw(k, in, &ho, &wo);
  if (is_2x2(k)) {
    planes_job J = {planes, h, w, ho, wo, x, NULL, y, arg, NULL};
    run_planes(c, max2x2_task, &J);
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
  if (is_2x2(WIN(l))) {
    planes_job J = {planes, h, w, ho, wo, NULL, dy, NULL, c->saved, dx};
    run_planes(c, max2x2_grad_task, &J);
    return;
  }
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
