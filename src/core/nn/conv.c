/*
** conv.c: Conv2d over NCHW batches, by im2col and one matrix product per
** sample: the sample's receptive fields are unrolled into a K x P matrix
** (K = in_channels kh kw, P = output pixels) in the shared workspace, so
** y_s = W col + b with W viewed as out_channels x K. Backward rebuilds col
** (cheaper than keeping it for the whole batch): dW += dy_s col^T, and
** dx_s = col2im(W^T dy_s). The work is all in bp_gemm.
**
** Settings: in, out = channels; kh, kw kernel; sh, sw stride; ph, pw
** zero padding. Weight out x in x kh x kw, bias out (PyTorch's layout).
*/
#include <string.h>

#include "kernels/gemm.h"
#include "nn/layer.h"
#include "nn/window.h"

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  bp_status st = bp_win_check(n, in, err);
  (void)c;
  if (st != BP_OK) return st;
  if (in->d[0] != l->in)
    return bp_fail(err, BP_EINVAL, "expected %lu input channels, got %lu",
                   (unsigned long)l->in, (unsigned long)in->d[0]);
  return bp_win_shape(l, in, l->out, "kernel", out, err);
}

typedef struct geom {
  size_t c, h, w, ho, wo, k, p;
} geom;

static geom geometry(const bp_layer *l, const bp_shape *in) {
  geom g;
  g.c = in->d[0];
  g.h = in->d[1];
  g.w = in->d[2];
  bp_win_hw(l, in, &g.ho, &g.wo);
  g.k = g.c * l->kh * l->kw;
  g.p = g.ho * g.wo;
  return g;
}

/* col[(c kh + i) kw + j][oy wo + ox] = x[c][oy sh - ph + i][ox sw - pw + j],
** zero outside the image. */
static void im2col(const bp_layer *l, const geom *g, const float *x,
                   float *col) {
  size_t ch, i, j, oy, ox;
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < l->kh; i++)
      for (j = 0; j < l->kw; j++) {
        float *row = col + ((ch * l->kh + i) * l->kw + j) * g->p;
        const float *plane = x + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * l->sh + i;     /* + ph, to stay unsigned */
          float *r = row + oy * g->wo;
          if (iy < l->ph || iy - l->ph >= g->h) {
            memset(r, 0, g->wo * sizeof *r);
            continue;
          }
          iy -= l->ph;
          if (l->sw == 1 && l->pw <= j && g->wo + j - l->pw <= g->w) {
            memcpy(r, plane + iy * g->w + j - l->pw, g->wo * sizeof *r);
            continue;
          }
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * l->sw + j;
            r[ox] = ix < l->pw || ix - l->pw >= g->w
                        ? 0.0f : plane[iy * g->w + ix - l->pw];
          }
        }
      }
}

/* The adjoint of im2col: dx[...] += col[...] (dx zeroed by the caller). */
static void col2im(const bp_layer *l, const geom *g, const float *col,
                   float *dx) {
  size_t ch, i, j, oy, ox;
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < l->kh; i++)
      for (j = 0; j < l->kw; j++) {
        const float *row = col + ((ch * l->kh + i) * l->kw + j) * g->p;
        float *plane = dx + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * l->sh + i;
          const float *r = row + oy * g->wo;
          if (iy < l->ph || iy - l->ph >= g->h) continue;
          iy -= l->ph;
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * l->sw + j;
            if (ix >= l->pw && ix - l->pw < g->w)
              plane[iy * g->w + ix - l->pw] += r[ox];
          }
        }
      }
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  geom g = geometry(l, in);
  const float *w = l->p[0].data, *b = l->p[1].data;
  size_t s, o, q;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * g.c * g.h * g.w;
    float *ys = y + s * l->out * g.p;
    im2col(l, &g, xs, c->work);
    for (o = 0; o < l->out; o++)
      for (q = 0; q < g.p; q++) ys[o * g.p + q] = b[o];
    bp_gemm_mt(c->pool, 0, 0, l->out, g.p, g.k, 1.0f, w, g.k, c->work, g.p,
               1.0f, ys, g.p);
  }
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  geom g = geometry(l, in);
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  size_t s, o, q;
  (void)y;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * g.c * g.h * g.w;
    const float *ds = dy + s * l->out * g.p;
    im2col(l, &g, xs, c->work);
    bp_gemm_mt(c->pool, 0, 1, l->out, g.k, g.p, 1.0f, ds, g.p, c->work, g.p,
               1.0f, gw, g.k);
    for (o = 0; o < l->out; o++) {
      float t = 0.0f;
      for (q = 0; q < g.p; q++) t += ds[o * g.p + q];
      gb[o] += t;
    }
    if (dx != NULL) {
      float *xd = dx + s * g.c * g.h * g.w;
      bp_gemm_mt(c->pool, 1, 0, g.k, g.p, l->out, 1.0f, l->p[0].data, g.k, ds,
                 g.p, 0.0f, c->work, g.p);
      memset(xd, 0, g.c * g.h * g.w * sizeof *xd);
      col2im(l, &g, c->work, xd);
    }
  }
}

static size_t work(const bp_layer *l, const bp_shape *in, size_t n) {
  geom g = geometry(l, in);
  (void)n;
  return g.k * g.p;
}

static bp_status describe(bp_layer *l, bp_error *err) {
  size_t k = l->in * l->kh * l->kw;
  if (l->in == 0 || l->out == 0)
    return bp_fail(err, BP_EINVAL, "Conv2d needs at least 1 input and 1 "
                   "output channel, got %lu and %lu", (unsigned long)l->in,
                   (unsigned long)l->out);
  if (l->kh == 0 || l->kw == 0 || l->sh == 0 || l->sw == 0)
    return bp_fail(err, BP_EINVAL, "Conv2d kernel and stride must be "
                   "positive, got kernel %lux%lu, stride %lux%lu",
                   (unsigned long)l->kh, (unsigned long)l->kw,
                   (unsigned long)l->sh, (unsigned long)l->sw);
  if (l->kh > 4096 || l->kw > 4096 || l->sh > 4096 || l->sw > 4096 ||
      l->ph > 4096 || l->pw > 4096 || l->in > ((size_t)1 << 24) ||
      k > ((size_t)1 << 31) / l->out)
    return bp_fail(err, BP_EINVAL, "Conv2d %lu -> %lu, kernel %lux%lu is too "
                   "large", (unsigned long)l->in, (unsigned long)l->out,
                   (unsigned long)l->kh, (unsigned long)l->kw);
  l->nparams = 2;
  l->p[0].ndim = 4;
  l->p[0].shape[0] = l->out;
  l->p[0].shape[1] = l->in;
  l->p[0].shape[2] = l->kh;
  l->p[0].shape[3] = l->kw;
  l->p[0].numel = l->out * k;
  l->p[1].ndim = 1;
  l->p[1].shape[0] = l->out;
  l->p[1].numel = l->out;
  return BP_OK;
}

/* As Linear: Xavier or He by the next layer, fans counting the kernel. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  size_t i, area = l->kh * l->kw;
  bp_fill_uniform(l->p[0].data, l->p[0].numel,
                  bp_init_bound(next, l->in * area, l->out * area), rng);
  for (i = 0; i < l->p[1].numel; i++) l->p[1].data[i] = 0.0f;
}

const bp_layer_class bp_conv2d_class = {"Conv2d", shape, forward, backward,
                                        describe, reset, NULL, work, NULL, 0, 0};
