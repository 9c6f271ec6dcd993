/*
** conv.c: Conv2d over NCHW batches, by im2col and one matrix product per
** sample: the sample's receptive fields are unrolled into a K x P matrix
** (K = in_channels kh kw, P = output pixels) in the shared workspace, so
** y_s = W col + b with W viewed as out_channels x K. Backward rebuilds col
** (cheaper than keeping it for the whole batch): dW += dy_s col^T, and
** dx_s = col2im(W^T dy_s). The work is all in bp_gemm.
**
** Weight out x in x kh x kw, bias out (PyTorch's layout).
*/
#include <string.h>

#include "kernels/gemm.h"
#include "nn/layer.h"
#include "nn/window.h"

typedef struct conv_set {
  size_t in, out;     /* channels */
  bp_window w;
} conv_set;
BP_SETTINGS_FIT(conv_set);
#define SET(l) BP_SETTINGS(conv_set, l)

static const bp_setting SETTINGS[] = {
  {.name = "in_channels", .type = BP_SIZE, .off = offsetof(conv_set, in),
   .required = 1, .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 24},
  {.name = "out_channels", .type = BP_SIZE, .off = offsetof(conv_set, out),
   .required = 1, .bounds = BP_MIN, .min = 1, .label = "->"},
  BP_WINDOW_SETTINGS(offsetof(conv_set, w), 1, 0),
};

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  const conv_set *s = SET(l);
  bp_status st = bp_win_check(n, in, err);
  (void)c;
  if (st != BP_OK) return st;
  if (in->d[0] != s->in)
    return bp_fail(err, BP_EINVAL, "expected %lu input channels, got %lu",
                   (unsigned long)s->in, (unsigned long)in->d[0]);
  return bp_win_shape(&s->w, in, s->out, "kernel", out, err);
}

typedef struct geom {
  size_t c, h, w, ho, wo, k, p;
} geom;

static geom geometry(const bp_window *w, const bp_shape *in) {
  geom g;
  g.c = in->d[0];
  g.h = in->d[1];
  g.w = in->d[2];
  bp_win_hw(w, in, &g.ho, &g.wo);
  g.k = g.c * w->kh * w->kw;
  g.p = g.ho * g.wo;
  return g;
}

/* col[(c kh + i) kw + j][oy wo + ox] = x[c][oy sh - ph + i][ox sw - pw + j],
** zero outside the image. */
static void im2col(const bp_window *win, const geom *g, const float *x,
                   float *col) {
  size_t ch, i, j, oy, ox;
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < win->kh; i++)
      for (j = 0; j < win->kw; j++) {
        float *row = col + ((ch * win->kh + i) * win->kw + j) * g->p;
        const float *plane = x + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * win->sh + i;     /* + ph, to stay unsigned */
          float *r = row + oy * g->wo;
          if (iy < win->ph || iy - win->ph >= g->h) {
            memset(r, 0, g->wo * sizeof *r);
            continue;
          }
          iy -= win->ph;
          if (win->sw == 1) {   /* zeros left, a copy, zeros right */
            size_t lo = win->pw > j ? win->pw - j : 0,
                   hi = j >= g->w + win->pw ? 0 : g->w + win->pw - j;
            if (hi > g->wo) hi = g->wo;
            if (lo >= hi) lo = hi = g->wo;   /* no pixel of this row */
            memset(r, 0, lo * sizeof *r);
            memcpy(r + lo, plane + iy * g->w + lo + j - win->pw, (hi - lo) * sizeof *r);
            memset(r + hi, 0, (g->wo - hi) * sizeof *r);
            continue;
          }
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * win->sw + j;
            r[ox] = ix < win->pw || ix - win->pw >= g->w
                        ? 0.0f : plane[iy * g->w + ix - win->pw];
          }
        }
      }
}

/* The adjoint of im2col: dx[...] += col[...] (dx zeroed by the caller). */
static void col2im(const bp_window *win, const geom *g, const float *col,
                   float *dx) {
  size_t ch, i, j, oy, ox;
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < win->kh; i++)
      for (j = 0; j < win->kw; j++) {
        const float *row = col + ((ch * win->kh + i) * win->kw + j) * g->p;
        float *plane = dx + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * win->sh + i;
          const float *r = row + oy * g->wo;
          if (iy < win->ph || iy - win->ph >= g->h) continue;
          iy -= win->ph;
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * win->sw + j;
            if (ix >= win->pw && ix - win->pw < g->w)
              plane[iy * g->w + ix - win->pw] += r[ox];
          }
        }
      }
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  const conv_set *cs = SET(l);
  geom g = geometry(&cs->w, in);
  const float *w = l->p[0].data, *b = l->p[1].data;
  size_t s, o, q, out = cs->out;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * g.c * g.h * g.w;
    float *ys = y + s * out * g.p;
    im2col(&cs->w, &g, xs, c->work);
    for (o = 0; o < out; o++)
      for (q = 0; q < g.p; q++) ys[o * g.p + q] = b[o];
    bp_gemm_mt(c->pool, 0, 0, out, g.p, g.k, 1.0f, w, g.k, c->work, g.p,
               1.0f, ys, g.p);
  }
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  const conv_set *cs = SET(l);
  geom g = geometry(&cs->w, in);
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  size_t s, o, q, out = cs->out;
  (void)y;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * g.c * g.h * g.w;
    const float *ds = dy + s * out * g.p;
    im2col(&cs->w, &g, xs, c->work);
    bp_gemm_mt(c->pool, 0, 1, out, g.k, g.p, 1.0f, ds, g.p, c->work, g.p,
               1.0f, gw, g.k);
    for (o = 0; o < out; o++) {
      float t = 0.0f;
      for (q = 0; q < g.p; q++) t += ds[o * g.p + q];
      gb[o] += t;
    }
    if (dx != NULL) {
      float *xd = dx + s * g.c * g.h * g.w;
      bp_gemm_mt(c->pool, 1, 0, g.k, g.p, out, 1.0f, l->p[0].data, g.k, ds,
                 g.p, 0.0f, c->work, g.p);
      memset(xd, 0, g.c * g.h * g.w * sizeof *xd);
      col2im(&cs->w, &g, c->work, xd);
    }
  }
}

static size_t work(const bp_layer *l, const bp_shape *in, size_t n) {
  geom g = geometry(&SET(l)->w, in);
  (void)n;
  return g.k * g.p;
}

/* Each setting is in bounds (the schema); their product must be too. */
static bp_status describe(bp_layer *l, bp_error *err) {
  const conv_set *s = SET(l);
  size_t k = s->in * s->w.kh * s->w.kw;
  if (k > BP_SIZE_LIMIT / s->out)
    return bp_fail(err, BP_EINVAL, "%lu -> %lu channels with kernel %lux%lu "
                   "are too large (at most 2^31 weights)", (unsigned long)s->in,
                   (unsigned long)s->out, (unsigned long)s->w.kh,
                   (unsigned long)s->w.kw);
  l->nparams = 2;
  l->p[0].ndim = 4;
  l->p[0].shape[0] = s->out;
  l->p[0].shape[1] = s->in;
  l->p[0].shape[2] = s->w.kh;
  l->p[0].shape[3] = s->w.kw;
  l->p[0].numel = s->out * k;
  l->p[1].ndim = 1;
  l->p[1].shape[0] = s->out;
  l->p[1].numel = s->out;
  return BP_OK;
}

/* As Linear: Xavier or He by the next layer, fans counting the kernel. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  const conv_set *s = SET(l);
  size_t i, area = s->w.kh * s->w.kw;
  bp_fill_uniform(l->p[0].data, l->p[0].numel,
                  bp_init_bound(next, s->in * area, s->out * area), rng);
  for (i = 0; i < l->p[1].numel; i++) l->p[1].data[i] = 0.0f;
}

const bp_layer_class bp_conv2d_class = {
  .name = "Conv2d", .settings = SETTINGS, .nsettings = BP_NSETTINGS(SETTINGS),
  .shape = shape, .forward = forward, .backward = backward,
  .describe = describe, .reset = reset, .work = work,
};
