/*
** image_portable.c: the plain C loops of image.h, the reference the SIMD
** ones (image_simd.h) match bit for bit: the sums keep the same 16 lanes.
*/
#include <math.h>
#include <string.h>

#include "kernels/image_kern.h"
#include "kernels/nocontract.h"

void bp_im2col_portable(const bp_img_win *g, const float *x, float *col,
                        size_t ldc) {
  size_t ch, i, j, oy, ox;
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < g->kh; i++)
      for (j = 0; j < g->kw; j++) {
        float *row = col + ((ch * g->kh + i) * g->kw + j) * ldc;
        const float *plane = x + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * g->sh + i;     /* + ph, to stay unsigned */
          float *r = row + oy * g->wo;
          if (iy < g->ph || iy - g->ph >= g->h) {
            memset(r, 0, g->wo * sizeof *r);
            continue;
          }
          iy -= g->ph;
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * g->sw + j;
            r[ox] = ix < g->pw || ix - g->pw >= g->w
                        ? 0.0f : plane[iy * g->w + ix - g->pw];
          }
        }
      }
}

void bp_col2im_portable(const bp_img_win *g, float *col, size_t ldc,
                        float *dx) {
  size_t ch, i, j, oy, ox;
  memset(dx, 0, g->c * g->h * g->w * sizeof *dx);
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < g->kh; i++)
      for (j = 0; j < g->kw; j++) {
        const float *row = col + ((ch * g->kh + i) * g->kw + j) * ldc;
        float *plane = dx + ch * g->h * g->w;
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * g->sh + i;
          const float *r = row + oy * g->wo;
          if (iy < g->ph || iy - g->ph >= g->h) continue;
          iy -= g->ph;
          for (ox = 0; ox < g->wo; ox++) {
            size_t ix = ox * g->sw + j;
            if (ix >= g->pw && ix - g->pw < g->w)
              plane[iy * g->w + ix - g->pw] += r[ox];
          }
        }
      }
}

/* One candidate of a window: taken when greater than the best so far. */
#define TAKE(v, pos) if ((v) > m) { m = (v); at = (pos); }

void bp_max2x2_portable(size_t planes, size_t h, size_t w, const float *x,
                        float *y, float *arg) {
  size_t pl, oy, ox, ho = h / 2, wo = w / 2;
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

void bp_max2x2_grad_portable(size_t planes, size_t h, size_t w,
                             const float *arg, const float *dy, float *dx) {
  size_t pl, q, nq = (h / 2) * (w / 2);
  for (pl = 0; pl < planes; pl++, dx += h * w) {
    memset(dx, 0, h * w * sizeof *dx);
    for (q = 0; q < nq; q++) dx[(size_t)*arg++] += *dy++;
  }
}

void bp_img_moments_portable(size_t n, size_t len, size_t stride,
                             const float *x, float c, double s[2]) {
  double a[16] = {0}, b[16] = {0};
  size_t i, k;
  for (i = 0; i < n; i++, x += stride)
    for (k = 0; k < len; k++) {
      double d = (double)x[k] - (double)c;
      a[k & 15] += d;
      b[k & 15] += d * d;
    }
  s[0] = bp_img_fold(a);
  s[1] = bp_img_fold(b);
}

void bp_img_moments2_portable(size_t n, size_t len, size_t stride,
                              const float *x, const float *dy, float c,
                              double s[2]) {
  double a[16] = {0}, b[16] = {0};
  size_t i, k;
  for (i = 0; i < n; i++, x += stride, dy += stride)
    for (k = 0; k < len; k++) {
      double g = (double)dy[k];
      a[k & 15] += g;
      b[k & 15] += g * ((double)x[k] - (double)c);
    }
  s[0] = bp_img_fold(a);
  s[1] = bp_img_fold(b);
}

void bp_img_affine_portable(size_t n, size_t len, size_t stride,
                            const float *x, float a, float b, float *y) {
  size_t i, k;
  for (i = 0; i < n; i++, x += stride, y += stride)
    for (k = 0; k < len; k++) y[k] = x[k] * a + b;
}

void bp_img_bn_grad_portable(size_t n, size_t len, size_t stride,
                             const float *x, const float *dy, float m,
                             float s, float a, float b, float k, float *dx) {
  size_t i, j;
  for (i = 0; i < n; i++, x += stride, dy += stride, dx += stride)
    for (j = 0; j < len; j++) dx[j] = k * ((dy[j] - a) - ((x[j] - m) * s) * b);
}
