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

TARGET static inline vf SUFFIX(vexp)(vf x) {
  const float hi = 88.72283935546875f, lo = -103.97208f;
  const float magic = 12582912.0f;   /* 1.5 * 2^23: adding rounds to int */
  vi big = x > SPLAT(hi), small = x < SPLAT(lo), n, n1, n2;
  vf xc = SEL(big, SPLAT(hi), SEL(small, SPLAT(lo), x));
  vf t = xc * SPLAT(1.44269504088896341f) + SPLAT(magic), nf, r, p, y;
  n = (vi)t - (vi)SPLAT(magic);
  nf = t - SPLAT(magic);
  r = xc - nf * SPLAT(0.693359375f);
  r = r - nf * SPLAT(-2.12194440e-4f);
  p = SPLAT(1.9875691500E-4f);
  p = p * r + SPLAT(1.3981999507E-3f);
  p = p * r + SPLAT(8.3334519073E-3f);
  p = p * r + SPLAT(4.1665795894E-2f);
  p = p * r + SPLAT(1.6666665459E-1f);
  p = p * r + SPLAT(5.0000001201E-1f);
  y = p * r * r + r + SPLAT(1.0f);
  n1 = n >> 1;
  n2 = n - n1;
  y = y * (vf)((n1 + 127) << 23) * (vf)((n2 + 127) << 23);
  y = SEL(big, SPLAT(__builtin_inff()), y);
  return SEL(small, SPLAT(0.0f), y);
}

TARGET static inline vf SUFFIX(vsigmoid)(vf x) {
  vi neg = x < SPLAT(0.0f);
  vf ax = (vf)((vi)x & ~SIGN);
  vf e = SUFFIX(vexp)(-ax), s = SPLAT(1.0f) / (SPLAT(1.0f) + e);
  return SEL(neg, e * s, s);
}

TARGET static inline vf SUFFIX(vtanh)(vf x) {
  vi sign = (vi)x & SIGN;
  vf ax = (vf)((vi)x & ~SIGN), z = x * x, p, e, big;
  p = SPLAT(-5.70498872745E-3f);
  p = p * z + SPLAT(2.06390887954E-2f);
  p = p * z + SPLAT(-5.37397155531E-2f);
  p = p * z + SPLAT(1.33314422036E-1f);
  p = p * z + SPLAT(-3.33332819422E-1f);
  p = ax + ax * z * p;   /* odd: computed on |x|, sign put back below */
  e = SUFFIX(vexp)(ax + ax);
  big = SPLAT(1.0f) - SPLAT(2.0f) / (e + SPLAT(1.0f));
  return (vf)((vi)SEL(ax < SPLAT(0.625f), p, big) | sign);
}

/* Whole vectors in place, the tail through a padded buffer. */
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
      float buf[VW] = {0};                                              \
      memcpy(buf, x + i, (n - i) * sizeof *x);                          \
      memcpy(&v, buf, sizeof v);                                        \
      v = SUFFIX(name)(v);                                              \
      memcpy(buf, &v, sizeof v);                                        \
      memcpy(y + i, buf, (n - i) * sizeof *y);                          \
    }                                                                   \
  }

ARRAY_FN(vexp)
ARRAY_FN(vsigmoid)
ARRAY_FN(vtanh)
