/*
** vmath_simd.h: the body of the SIMD transcendentals, written once with
** GCC vector extensions and included by vmath_avx2.c (VW 8) and
** vmath_avx512.c (VW 16), which define VW, TARGET and SUFFIX(name).
**
** exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6
** polynomial for e^r, scaled by 2^n in two steps so results down to the
** smallest subnormal are right. sigmoid: e = exp(-|x|), 1/(1+e) or
** e/(1+e), never exp of a large positive number. tanh: Cephes' odd
** polynomial below |x| = 0.625, 1 - 2/(exp(2|x|)+1) above, sign copied.
** Maximum errors over every float are measured in spec/kernels_spec.lua
** and documented in vmath.h. NaN propagates; +-inf and -0 are exact.
*/
typedef float vf __attribute__((vector_size(VW * 4)));
typedef int vi __attribute__((vector_size(VW * 4)));

#define SPLAT(v) ((vf){0} + (v))
/* (vf){0} + -0.0f would be +0: the sign bit comes from an integer. */
#define SIGN ((vi){0} + (-0x7FFFFFFF - 1))
#define SEL(m, a, b) ((vf)(((vi)(a) & (m)) | ((vi)(b) & ~(m))))

#define VEC_F vf
#define VEC_I vi
#include "kernels/vmath_vec.h"
#undef VEC_F
#undef VEC_I

/* Whole vectors, then the tail with masked loads and stores (a padded
** stack buffer filled by memcpy stalls on store forwarding, which costs
** more than the maths for the short rows of small networks). */
#if VW == 16
#define LOADN(p, k) ((vf)_mm512_maskz_loadu_ps((__mmask16)((1u << (k)) - 1), (p)))
#define STOREN(p, k, v) \
  _mm512_mask_storeu_ps((p), (__mmask16)((1u << (k)) - 1), (__m512)(v))
#else
#define TAILMASK(k) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k)), \
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOADN(p, k) ((vf)_mm256_maskload_ps((p), TAILMASK(k)))
#define STOREN(p, k, v) _mm256_maskstore_ps((p), TAILMASK(k), (__m256)(v))
#endif

#define ARRAY_FN(name)                                                  \
  TARGET void SUFFIX(bp_##name)(size_t n, const float *x, float *y) {   \
    size_t i = 0;                                                       \
    vf v;                                                               \
    for (; i + VW <= n; i += VW) {                                      \
      memcpy(&v, x + i, sizeof v);                                      \
      v = SUFFIX(name)(v);                                              \
      memcpy(y + i, &v, sizeof v);                                      \
    }                                                                   \
    if (i < n) {                                                        \
      v = SUFFIX(name)(LOADN(x + i, n - i));                            \
      STOREN(y + i, n - i, v);                                          \
    }                                                                   \
  }

ARRAY_FN(vexp)
ARRAY_FN(vsigmoid)
ARRAY_FN(vtanh)

/* ReLU (a = 0) and LeakyReLU: y = x > 0 ? x : a x, dx = x > 0 ? dy : a dy,
** the same values as the scalar expressions, without a branch per
** element (the sign of an activation is a coin toss a branch predictor
** loses half the time). */
TARGET void SUFFIX(bp_vleaky)(size_t n, float a, const float *x, float *y) {
  size_t i = 0;
  vf v;
  for (; i + VW <= n; i += VW) {
    memcpy(&v, x + i, sizeof v);
    v = SEL(v > SPLAT(0.0f), v, v * SPLAT(a));
    memcpy(y + i, &v, sizeof v);
  }
  if (i < n) {
    v = LOADN(x + i, n - i);
    v = SEL(v > SPLAT(0.0f), v, v * SPLAT(a));
    STOREN(y + i, n - i, v);
  }
}

TARGET void SUFFIX(bp_vleaky_grad)(size_t n, float a, const float *x,
                                   const float *dy, float *dx) {
  size_t i = 0;
  vf v, g;
  for (; i + VW <= n; i += VW) {
    memcpy(&v, x + i, sizeof v);
    memcpy(&g, dy + i, sizeof g);
    g = SEL(v > SPLAT(0.0f), g, g * SPLAT(a));
    memcpy(dx + i, &g, sizeof g);
  }
  if (i < n) {
    v = LOADN(x + i, n - i);
    g = LOADN(dy + i, n - i);
    g = SEL(v > SPLAT(0.0f), g, g * SPLAT(a));
    STOREN(dx + i, n - i, g);
  }
}
