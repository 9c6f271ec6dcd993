/*
** image_simd.h: the SIMD loops of image.h, written once. Included by
** image_avx2.c (VW 8) and image_avx512.c (VW 16), which define VW, TARGET
** and NAME(name) (name with the ISA's suffix).
**
** Vectors of VW floats (GCC vectors of the register's width: wider ones
** live on the stack). Copies, maxima and elementwise maths are lane by
** lane, so the same bits as the portable loops. The sums take blocks of
** 16 floats, as 16 / VW float vectors, each widened to two vectors of
** doubles: 16 double lanes on either ISA, lane l summing the values at
** l, l + 16, ... of each plane, as the portable loops' array does. A
** plane's tail is loaded masked and adds exact zeros (a lane's sum
** starts at +0 and can never become -0, so adding a zero of either sign
** leaves it as it was). Only the pooling shuffles need the ISA's own
** instructions.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/nocontract.h"

typedef float vf __attribute__((vector_size(VW * 4)));
typedef double vd __attribute__((vector_size(VW * 4)));
typedef long long vl __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));

#define NF (16 / VW)      /* float vectors in a block of 16 */
#define ND (2 * NF)       /* double vectors of its sums */
#define LD(p) ((vf) * (const vfu *)(const void *)(p))
#define ST(p, v) (*(vfu *)(void *)(p) = (v))
#define SPLAT(s) ((vf){0} + (s))

#ifdef __GNUC__
#define INL TARGET static inline __attribute__((always_inline))
#else
#define INL TARGET static inline
#endif

#if VW == 16
static inline __mmask16 NAME(mask)(size_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}
/* Floats p[0 .. n) (n <= VW) in lanes 0 .. n, zeros above; nothing past
** them is read or written. */
#define LDN(p, n) ((vf)_mm512_maskz_loadu_ps(NAME(mask)(n), (p)))
#define STN(p, n, v) _mm512_mask_storeu_ps((p), NAME(mask)(n), (__m512)(v))
/* The low and high halves of a float vector, as doubles. */
#define CVTLO(v) ((vd)_mm512_cvtps_pd(_mm512_castps512_ps256((__m512)(v))))
#define CVTHI(v) ((vd)_mm512_cvtps_pd(_mm512_extractf32x8_ps((__m512)(v), 1)))
#else
INL __m256i NAME(mask)(size_t n) {
  int k = n > 8 ? 8 : (int)n;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define LDN(p, n) ((vf)_mm256_maskload_ps((p), NAME(mask)(n)))
#define STN(p, n, v) _mm256_maskstore_ps((p), NAME(mask)(n), (__m256)(v))
#define CVTLO(v) ((vd)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)(v))))
#define CVTHI(v) ((vd)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)(v), 1)))
#endif

/* --- im2col and col2im -------------------------------------------------- */

/* Floats from d to the next vector boundary (at most n): a loop that
** stores to d masks that many first, so that its other stores are whole
** aligned vectors, none split across two cache lines. */
INL size_t NAME(head)(const float *d, size_t n) {
  size_t k = (size_t)(-(uintptr_t)d / sizeof *d) % VW;
  return k < n ? k : n;
}

/* d[k] = 0, d[k] = s[k], d[k] += s[k] for k < n. */
INL void NAME(zero)(float *d, size_t n) {
  size_t k = NAME(head)(d, n);
  if (k) STN(d, k, SPLAT(0.0f));
  for (; k + VW <= n; k += VW) ST(d + k, SPLAT(0.0f));
  if (k < n) STN(d + k, n - k, SPLAT(0.0f));
}

INL void NAME(copy)(float *d, const float *s, size_t n) {
  size_t k = NAME(head)(d, n);
  if (k) STN(d, k, LDN(s, k));
  for (; k + VW <= n; k += VW) ST(d + k, LD(s + k));
  if (k < n) STN(d + k, n - k, LDN(s + k, n - k));
}

INL void NAME(add)(float *d, const float *s, size_t n) {
  size_t k = NAME(head)(d, n);
  if (k) STN(d, k, LDN(d, k) + LDN(s, k));
  for (; k + VW <= n; k += VW) ST(d + k, LD(d + k) + LD(s + k));
  if (k < n) STN(d + k, n - k, LDN(d + k, n - k) + LDN(s + k, n - k));
}

/* Outputs [*lo, *hi) of a row whose window column j falls inside the
** plane (stride 1): ox + j - pw in [0, w). */
INL void NAME(span)(const bp_img_win *g, size_t j, size_t *lo,
                       size_t *hi) {
  *lo = g->pw > j ? g->pw - j : 0;
  *hi = j >= g->w + g->pw ? 0 : g->w + g->pw - j;
  if (*hi > g->wo) *hi = g->wo;
  if (*lo >= *hi) *lo = *hi = g->wo;   /* no pixel of this row */
}

/* The part of the row of window offset (i, j) that lies in the plane,
** when outputs are as wide as the plane (wo = w, strides 1: a "same"
** convolution): output rows [oy0, oy1), columns [lo, hi) of each, and
** the distance from an output's index oy w + ox to its pixel's, so that
** the whole part is one run [a, b) of the row, shifted by off in the
** plane, apart from the columns outside [lo, hi) of the rows it spans
** (a row's last columns and the next row's first). */
typedef struct NAME(run) {
  size_t oy0, oy1, lo, hi, a, b;
  ptrdiff_t off;
} NAME(run);

INL int NAME(flat)(const bp_img_win *g) {
  return g->sh == 1 && g->sw == 1 && g->wo == g->w;
}

/* 0 when no output of the row sees the plane. */
INL int NAME(run_of)(const bp_img_win *g, size_t i, size_t j,
                        NAME(run) *r) {
  r->oy0 = i < g->ph ? g->ph - i : 0;
  r->oy1 = g->h + g->ph > i ? g->h + g->ph - i : 0;
  if (r->oy1 > g->ho) r->oy1 = g->ho;
  NAME(span)(g, j, &r->lo, &r->hi);
  if (r->oy0 >= r->oy1 || r->lo >= r->hi) return 0;
  r->a = r->oy0 * g->w + r->lo;
  r->b = (r->oy1 - 1) * g->w + r->hi;
  r->off = ((ptrdiff_t)i - (ptrdiff_t)g->ph) * (ptrdiff_t)g->w +
           (ptrdiff_t)j - (ptrdiff_t)g->pw;
  return 1;
}

/* Zeros at the columns outside [lo, hi) inside run [a, b): from hi in a
** row to lo in the next, one stretch of w - hi + lo floats. */
INL void NAME(run_edges)(const bp_img_win *g, const NAME(run) *r,
                         float *row) {
  size_t oy, n = g->w - r->hi + r->lo;
  float *e = row + r->oy0 * g->w + r->hi;
  if (n == 0) return;
  /* a masked store or two, not a call of memset per row */
  for (oy = r->oy0; oy + 1 < r->oy1; oy++, e += g->w) NAME(zero)(e, n);
}

TARGET void NAME(bp_im2col)(const bp_img_win *g, const float *x, float *col,
                            size_t ldc) {
  size_t ch, i, j, oy, ox, lo, hi, P = g->ho * g->wo;
  if (g->sw != 1) {   /* strided rows: one value at a time */
    bp_im2col_portable(g, x, col, ldc);
    return;
  }
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < g->kh; i++)
      for (j = 0; j < g->kw; j++) {
        float *row = col + ((ch * g->kh + i) * g->kw + j) * ldc;
        const float *plane = x + ch * g->h * g->w;
        if (NAME(flat)(g)) {   /* one run, its edges zeroed after */
          NAME(run) r;
          if (!NAME(run_of)(g, i, j, &r)) {
            NAME(zero)(row, P);
            continue;
          }
          NAME(zero)(row, r.a);
          NAME(copy)(row + r.a, plane + (ptrdiff_t)r.a + r.off, r.b - r.a);
          NAME(zero)(row + r.b, P - r.b);
          NAME(run_edges)(g, &r, row);
          continue;
        }
        NAME(span)(g, j, &lo, &hi);
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * g->sh + i;
          float *r = row + oy * g->wo;
          if (iy < g->ph || iy - g->ph >= g->h) {
            NAME(zero)(r, g->wo);
            continue;
          }
          for (ox = 0; ox < lo; ox++) r[ox] = 0.0f;
          if (lo < hi)
            NAME(copy)(r + lo, plane + (iy - g->ph) * g->w + lo + j - g->pw, hi - lo);
          for (ox = hi; ox < g->wo; ox++) r[ox] = 0.0f;
        }
      }
}

TARGET void NAME(bp_col2im)(const bp_img_win *g, float *col, size_t ldc,
                            float *dx) {
  size_t ch, i, j, oy, lo, hi;
  if (g->sw != 1) {
    bp_col2im_portable(g, col, ldc, dx);
    return;
  }
  NAME(zero)(dx, g->c * g->h * g->w);
  for (ch = 0; ch < g->c; ch++)
    for (i = 0; i < g->kh; i++)
      for (j = 0; j < g->kw; j++) {
        float *row = col + ((ch * g->kh + i) * g->kw + j) * ldc;
        float *plane = dx + ch * g->h * g->w;
        if (NAME(flat)(g)) {   /* edges zeroed, then one run added */
          NAME(run) r;
          if (!NAME(run_of)(g, i, j, &r)) continue;
          NAME(run_edges)(g, &r, row);
          NAME(add)(plane + (ptrdiff_t)r.a + r.off, row + r.a, r.b - r.a);
          continue;
        }
        NAME(span)(g, j, &lo, &hi);
        for (oy = 0; oy < g->ho; oy++) {
          size_t iy = oy * g->sh + i;
          if (iy < g->ph || iy - g->ph >= g->h || lo >= hi) continue;
          NAME(add)(plane + (iy - g->ph) * g->w + lo + j - g->pw,
                    row + oy * g->wo + lo, hi - lo);
        }
      }
}

/* --- 2 x 2 max pooling --------------------------------------------------- */

#if VW == 16
/* Windows ox .. ox + n (n <= 16) of rows r0, r1 (base: r0's position in
** the plane): the four candidates taken in order, as TAKE does. */
TARGET static void NAME(max16)(const float *r0, const float *r1, size_t w,
                               size_t base, size_t n, float *y, float *arg) {
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                       20, 22, 24, 26, 28, 30),
                od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
  __mmask16 k0 = NAME(mask)(2 * n), k1 = NAME(mask)(n > 8 ? 2 * n - 16 : 0), k;
  __m512 a0 = _mm512_maskz_loadu_ps(k0, r0), a1 = _mm512_maskz_loadu_ps(k1, r0 + 16),
         b0 = _mm512_maskz_loadu_ps(k0, r1), b1 = _mm512_maskz_loadu_ps(k1, r1 + 16);
  __m512 v[4], m = _mm512_set1_ps(-INFINITY);
  __m512i off = _mm512_setzero_si512(), pos;
  int q;
  const int offs[4] = {0, 1, (int)w, (int)w + 1};
  v[0] = _mm512_permutex2var_ps(a0, ev, a1);
  v[1] = _mm512_permutex2var_ps(a0, od, a1);
  v[2] = _mm512_permutex2var_ps(b0, ev, b1);
  v[3] = _mm512_permutex2var_ps(b0, od, b1);
#pragma GCC unroll 4
  for (q = 0; q < 4; q++) {
    k = _mm512_cmp_ps_mask(v[q], m, _CMP_GT_OQ);
    m = _mm512_mask_mov_ps(m, k, v[q]);
    off = _mm512_mask_mov_epi32(off, k, _mm512_set1_epi32(offs[q]));
  }
  pos = _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32((int)base), ev), off);
  _mm512_mask_storeu_ps(y, NAME(mask)(n), m);
  _mm512_mask_storeu_ps(arg, NAME(mask)(n), _mm512_cvtepi32_ps(pos));
}

/* dx of those windows: 0 + dy at the arg of each, 0 at the other three. */
TARGET static void NAME(max16_grad)(float *d0, float *d1, size_t w,
                                    size_t base, size_t n, const float *arg,
                                    const float *dy) {
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                       20, 22, 24, 26, 28, 30),
                lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                       21, 6, 22, 7, 23),
                hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  __mmask16 kn = NAME(mask)(n), k0 = NAME(mask)(2 * n),
            k1 = NAME(mask)(n > 8 ? 2 * n - 16 : 0);
  __m512 a = _mm512_maskz_loadu_ps(kn, arg),
         g = _mm512_add_ps(_mm512_maskz_loadu_ps(kn, dy), _mm512_setzero_ps()),
         p = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_set1_epi32((int)base), ev));
  __m512 e0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, p, _CMP_EQ_OQ), g),
         e1 = _mm512_maskz_mov_ps(
             _mm512_cmp_ps_mask(a, _mm512_add_ps(p, _mm512_set1_ps(1.0f)), _CMP_EQ_OQ), g),
         e2 = _mm512_maskz_mov_ps(
             _mm512_cmp_ps_mask(a, _mm512_add_ps(p, _mm512_set1_ps((float)w)), _CMP_EQ_OQ), g),
         e3 = _mm512_maskz_mov_ps(
             _mm512_cmp_ps_mask(a, _mm512_add_ps(p, _mm512_set1_ps((float)(w + 1))), _CMP_EQ_OQ), g);
  _mm512_mask_storeu_ps(d0, k0, _mm512_permutex2var_ps(e0, lo, e1));
  _mm512_mask_storeu_ps(d0 + 16, k1, _mm512_permutex2var_ps(e0, hi, e1));
  _mm512_mask_storeu_ps(d1, k0, _mm512_permutex2var_ps(e2, lo, e3));
  _mm512_mask_storeu_ps(d1 + 16, k1, _mm512_permutex2var_ps(e2, hi, e3));
}
#define STEP 16
#else
/* The same, 8 windows at a time. */
TARGET static void NAME(max16)(const float *r0, const float *r1, size_t w,
                               size_t base, size_t n, float *y, float *arg) {
  __m256i k0 = NAME(mask)(2 * n), k1 = NAME(mask)(n > 4 ? 2 * n - 8 : 0), off, pos;
  __m256 a0 = _mm256_maskload_ps(r0, k0), a1 = _mm256_maskload_ps(r0 + 8, k1),
         b0 = _mm256_maskload_ps(r1, k0), b1 = _mm256_maskload_ps(r1 + 8, k1);
  __m256 v[4], m = _mm256_set1_ps(-INFINITY), k;
  const int offs[4] = {0, 1, (int)w, (int)w + 1};
  int q;
  /* shuffle: even (odd) lanes of each 128-bit half; permute: halves in order */
  v[0] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0x88)), 0xD8));
  v[1] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0xDD)), 0xD8));
  v[2] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), 0xD8));
  v[3] = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xDD)), 0xD8));
  off = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (q = 0; q < 4; q++) {
    k = _mm256_cmp_ps(v[q], m, _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, v[q], k);
    off = _mm256_castps_si256(_mm256_blendv_ps(
        _mm256_castsi256_ps(off), _mm256_castsi256_ps(_mm256_set1_epi32(offs[q])), k));
  }
  pos = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32((int)base),
                                          _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
                         off);
  _mm256_maskstore_ps(y, NAME(mask)(n), m);
  _mm256_maskstore_ps(arg, NAME(mask)(n), _mm256_cvtepi32_ps(pos));
}

TARGET static void NAME(max16_grad)(float *d0, float *d1, size_t w,
                                    size_t base, size_t n, const float *arg,
                                    const float *dy) {
  __m256i kn = NAME(mask)(n), k0 = NAME(mask)(2 * n),
          k1 = NAME(mask)(n > 4 ? 2 * n - 8 : 0);
  __m256 a = _mm256_maskload_ps(arg, kn),
         g = _mm256_add_ps(_mm256_maskload_ps(dy, kn), _mm256_setzero_ps()),
         p = _mm256_cvtepi32_ps(_mm256_add_epi32(
             _mm256_set1_epi32((int)base), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)));
  __m256 e0 = _mm256_and_ps(_mm256_cmp_ps(a, p, _CMP_EQ_OQ), g),
         e1 = _mm256_and_ps(_mm256_cmp_ps(a, _mm256_add_ps(p, _mm256_set1_ps(1.0f)), _CMP_EQ_OQ), g),
         e2 = _mm256_and_ps(_mm256_cmp_ps(a, _mm256_add_ps(p, _mm256_set1_ps((float)w)), _CMP_EQ_OQ), g),
         e3 = _mm256_and_ps(_mm256_cmp_ps(a, _mm256_add_ps(p, _mm256_set1_ps((float)(w + 1))), _CMP_EQ_OQ), g);
  __m256 l01 = _mm256_unpacklo_ps(e0, e1), h01 = _mm256_unpackhi_ps(e0, e1),
         l23 = _mm256_unpacklo_ps(e2, e3), h23 = _mm256_unpackhi_ps(e2, e3);
  _mm256_maskstore_ps(d0, k0, _mm256_permute2f128_ps(l01, h01, 0x20));
  _mm256_maskstore_ps(d0 + 8, k1, _mm256_permute2f128_ps(l01, h01, 0x31));
  _mm256_maskstore_ps(d1, k0, _mm256_permute2f128_ps(l23, h23, 0x20));
  _mm256_maskstore_ps(d1 + 8, k1, _mm256_permute2f128_ps(l23, h23, 0x31));
}
#define STEP 8
#endif

TARGET void NAME(bp_max2x2)(size_t planes, size_t h, size_t w, const float *x,
                            float *y, float *arg) {
  size_t pl, oy, ox, ho = h / 2, wo = w / 2;
  for (pl = 0; pl < planes; pl++, x += h * w)
    for (oy = 0; oy < ho; oy++)
      for (ox = 0; ox < wo; ox += STEP) {
        size_t n = wo - ox < STEP ? wo - ox : STEP, base = 2 * oy * w + 2 * ox;
        NAME(max16)(x + base, x + base + w, w, base, n, y, arg);
        y += n;
        arg += n;
      }
}

TARGET void NAME(bp_max2x2_grad)(size_t planes, size_t h, size_t w,
                                 const float *arg, const float *dy,
                                 float *dx) {
  size_t pl, oy, ox, ho = h / 2, wo = w / 2;
  for (pl = 0; pl < planes; pl++, dx += h * w) {
    for (oy = 0; oy < ho; oy++) {
      for (ox = 0; ox < wo; ox += STEP) {
        size_t n = wo - ox < STEP ? wo - ox : STEP, base = 2 * oy * w + 2 * ox;
        NAME(max16_grad)(dx + base, dx + base + w, w, base, n, arg, dy);
        arg += n;
        dy += n;
      }
      if (w % 2) dx[2 * oy * w + w - 1] = dx[2 * oy * w + 2 * w - 1] = 0.0f;
    }
    if (h % 2) memset(dx + (h - 1) * w, 0, w * sizeof *dx);
  }
}
#undef STEP

/* --- batch normalization --------------------------------------------------- */

/* The 16 lanes of a sum: ND vectors of doubles. */
typedef struct NAME(sum16) { vd v[ND]; } NAME(sum16);

INL double NAME(fold)(const NAME(sum16) *a) {
  double t[16];
  memcpy(t, a->v, sizeof t);
  return bp_img_fold(t);
}

/* Lanes l < n of a block set, for each double vector. */
INL void NAME(tails)(size_t n, vl *m) {
  int h, e;
#pragma GCC unroll 4
  for (h = 0; h < ND; h++) {
    vl v;
#pragma GCC unroll 8
    for (e = 0; e < VW / 2; e++) v[e] = (size_t)(h * VW / 2 + e) < n ? -1 : 0;
    m[h] = v;
  }
}

/* Two sums at zero, and the tail masks of planes of len floats. */
INL void NAME(start)(size_t len, NAME(sum16) *a, NAME(sum16) *b, vl *tail) {
  int h;
  NAME(tails)(len % 16, tail);
#pragma GCC unroll 4
  for (h = 0; h < ND; h++) a->v[h] = b->v[h] = (vd){0};
}

/* The block of 16 floats at p as ND vectors of doubles; lanes from n on
** are 0 (n < 16: a tail, read masked). */
INL void NAME(widen)(const float *p, size_t n, vd *d) {
  int q;
#pragma GCC unroll 2
  for (q = 0; q < NF; q++) {
    vf v = n >= 16 ? LD(p + q * VW)
           : (size_t)q * VW < n ? LDN(p + q * VW, n - q * VW) : SPLAT(0.0f);
    d[2 * q] = CVTLO(v);
    d[2 * q + 1] = CVTHI(v);
  }
}

TARGET void NAME(bp_img_moments)(size_t n, size_t len, size_t stride,
                                 const float *x, float c, double s[2]) {
  NAME(sum16) a, b;
  vd cv = (vd){0} + (double)c, d[ND];
  vl tail[ND];
  size_t i, k;
  int h;
  NAME(start)(len, &a, &b, tail);
  for (i = 0; i < n; i++, x += stride) {
    for (k = 0; k + 16 <= len; k += 16) {
      NAME(widen)(x + k, 16, d);
#pragma GCC unroll 4
      for (h = 0; h < ND; h++) {
        d[h] = d[h] - cv;
        a.v[h] += d[h];
        b.v[h] += d[h] * d[h];
      }
    }
    if (k < len) {
      NAME(widen)(x + k, len - k, d);
#pragma GCC unroll 4
      for (h = 0; h < ND; h++) {
        d[h] = (vd)((vl)(d[h] - cv) & tail[h]);
        a.v[h] += d[h];
        b.v[h] += d[h] * d[h];
      }
    }
  }
  s[0] = NAME(fold)(&a);
  s[1] = NAME(fold)(&b);
}

TARGET void NAME(bp_img_moments2)(size_t n, size_t len, size_t stride,
                                  const float *x, const float *dy, float c,
                                  double s[2]) {
  NAME(sum16) a, b;
  vd cv = (vd){0} + (double)c, d[ND], g[ND];
  vl tail[ND];
  size_t i, k;
  int h;
  NAME(start)(len, &a, &b, tail);
  for (i = 0; i < n; i++, x += stride, dy += stride) {
    for (k = 0; k + 16 <= len; k += 16) {
      NAME(widen)(x + k, 16, d);
      NAME(widen)(dy + k, 16, g);
#pragma GCC unroll 4
      for (h = 0; h < ND; h++) {
        a.v[h] += g[h];
        b.v[h] += g[h] * (d[h] - cv);
      }
    }
    if (k < len) {
      NAME(widen)(x + k, len - k, d);
      NAME(widen)(dy + k, len - k, g);
#pragma GCC unroll 4
      for (h = 0; h < ND; h++) {
        a.v[h] += g[h];
        b.v[h] += (vd)((vl)(g[h] * (d[h] - cv)) & tail[h]);
      }
    }
  }
  s[0] = NAME(fold)(&a);
  s[1] = NAME(fold)(&b);
}

TARGET void NAME(bp_img_affine)(size_t n, size_t len, size_t stride,
                                const float *x, float a, float b, float *y) {
  vf av = SPLAT(a), bv = SPLAT(b);
  size_t i, k;
  for (i = 0; i < n; i++, x += stride, y += stride) {
    k = NAME(head)(y, len);
    if (k) STN(y, k, LDN(x, k) * av + bv);
    for (; k + VW <= len; k += VW) ST(y + k, LD(x + k) * av + bv);
    if (k < len) STN(y + k, len - k, LDN(x + k, len - k) * av + bv);
  }
}

/* dx = k ((dy - a) - ((x - m) s) b), over floats [j, j + cnt) */
#define BN_GRAD(LOAD, STORE, j, cnt) \
  STORE(dx + (j), cnt, kv * ((LOAD(dy + (j), cnt) - av) - ((LOAD(x + (j), cnt) - mv) * sv) * bv))
#define LDW(p, cnt) LD(p)
#define STW(p, cnt, v) ST(p, v)

TARGET void NAME(bp_img_bn_grad)(size_t n, size_t len, size_t stride,
                                 const float *x, const float *dy, float m,
                                 float s, float a, float b, float k,
                                 float *dx) {
  vf mv = SPLAT(m), sv = SPLAT(s), av = SPLAT(a), bv = SPLAT(b), kv = SPLAT(k);
  size_t i, j;
  for (i = 0; i < n; i++, x += stride, dy += stride, dx += stride) {
    j = NAME(head)(dx, len);
    if (j) BN_GRAD(LDN, STN, 0, j);
    for (; j + VW <= len; j += VW) BN_GRAD(LDW, STW, j, VW);
    if (j < len) BN_GRAD(LDN, STN, j, len - j);
  }
}
#undef BN_GRAD
#undef LDW
#undef STW

#undef NF
#undef ND
#undef LD
#undef ST
#undef LDN
#undef STN
#undef CVTLO
#undef CVTHI
#undef SPLAT
#undef INL
