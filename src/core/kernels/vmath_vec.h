/*
** vmath_vec.h: exp, sigmoid and tanh of one vector (the maths of
** vmath_simd.h, which describes it), for kernels that apply an activation
** in registers (small.c's fused Linear + Sigmoid/Tanh). Included with
** VEC_F and VEC_I (float and int vector types of the same lane count),
** VW (that count: 8 or 16), TARGET (with fma) and SUFFIX(name) defined;
** may be included several times in one file with different SUFFIX. Every
** operation is lane by lane, so a lane's result does not depend on the
** vector width: the same bits whichever file or width computes it (the
** build does not contract to FMA; tanh's and sigmoid's fused multiply-adds are written
** out, and both widths have them).
*/
#define VV_SPLAT(v) ((VEC_F){0} + (v))
/* (VEC_F){0} + -0.0f would be +0: the sign bit comes from an integer. */
#define VV_SIGN ((VEC_I){0} + (-0x7FFFFFFF - 1))
#define VV_SEL(m, a, b) ((VEC_F)(((VEC_I)(a) & (m)) | ((VEC_I)(b) & ~(m))))
/* a * b + c rounded once (tanh and sigmoid; VW is the includer's lane count). */
#if VW == 16
#define VV_FMA(a, b, c) \
  ((VEC_F)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#else
#define VV_FMA(a, b, c) \
  ((VEC_F)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#endif

TARGET static inline VEC_F SUFFIX(vexp)(VEC_F x) {
  const float hi = 88.72283935546875f, lo = -103.97208f;
  const float magic = 12582912.0f;   /* 1.5 * 2^23: adding rounds to int */
  VEC_I big = x > VV_SPLAT(hi), small = x < VV_SPLAT(lo), n, n1, n2;
  VEC_F xc = VV_SEL(big, VV_SPLAT(hi), VV_SEL(small, VV_SPLAT(lo), x));
  VEC_F t = xc * VV_SPLAT(1.44269504088896341f) + VV_SPLAT(magic), nf, r, p, y;
  n = (VEC_I)t - (VEC_I)VV_SPLAT(magic);
  nf = t - VV_SPLAT(magic);
  r = xc - nf * VV_SPLAT(0.693359375f);
  r = r - nf * VV_SPLAT(-2.12194440e-4f);
  p = VV_SPLAT(1.9875691500E-4f);
  p = p * r + VV_SPLAT(1.3981999507E-3f);
  p = p * r + VV_SPLAT(8.3334519073E-3f);
  p = p * r + VV_SPLAT(4.1665795894E-2f);
  p = p * r + VV_SPLAT(1.6666665459E-1f);
  p = p * r + VV_SPLAT(5.0000001201E-1f);
  y = p * r * r + r + VV_SPLAT(1.0f);
  n1 = n >> 1;
  n2 = n - n1;
  y = y * (VEC_F)((n1 + 127) << 23) * (VEC_F)((n2 + 127) << 23);
  y = VV_SEL(big, VV_SPLAT(__builtin_inff()), y);
  return VV_SEL(small, VV_SPLAT(0.0f), y);
}

/* sigmoid: 1 / (1 + e) with e = exp(-|x|), e times that for x < 0. The
** training of a small network one sample at a time waits for two of
** these in each sample's chain, so it is written for latency as tanh is:
** |x| = n ln2 - r (n >= 0; r in two steps, as n reaches 150), vexp's
** polynomial in three independent pieces, e = e^r 2^-n in two scales
** (e reaches the subnormals before it rounds to 0, past |x| = 103.97).
** About 70 cycles from x to sigmoid(x) against 100. */
TARGET static inline VEC_F SUFFIX(vsigmoid)(VEC_F x) {
  const float magic = 12582912.0f;   /* 1.5 * 2^23: adding rounds to int */
  VEC_I neg = x < VV_SPLAT(0.0f), n, n1, cap;
  VEC_F ax = (VEC_F)((VEC_I)x & ~VV_SIGN), t, nf, r, r2, q, e, s;
  t = VV_FMA(ax, VV_SPLAT(1.44269504088896341f), VV_SPLAT(magic));
  n = (VEC_I)t - (VEC_I)VV_SPLAT(magic);
  cap = n > 151;                     /* those lanes' e is 0 (below) */
  n = (n & ~cap) | (cap & 151);
  n1 = n >> 1;
  nf = t - VV_SPLAT(magic);
  r = VV_FMA(nf, VV_SPLAT(0.693359375f), -ax);
  r = VV_FMA(nf, VV_SPLAT(-2.12194440e-4f), r);
  /* e^r = 1 + r + r^2 q(r), q as in vtanh */
  r2 = r * r;
  q = VV_FMA(VV_FMA(VV_SPLAT(1.9875691500E-4f), r, VV_SPLAT(1.3981999507E-3f)),
             r2 * r2,
             VV_FMA(VV_FMA(VV_SPLAT(8.3334519073E-3f), r,
                           VV_SPLAT(4.1665795894E-2f)),
                    r2,
                    VV_FMA(VV_SPLAT(1.6666665459E-1f), r,
                           VV_SPLAT(5.0000001201E-1f))));
  e = VV_FMA(VV_FMA(q, r2, r), (VEC_F)((127 - n1) << 23),
             (VEC_F)((127 - n1) << 23));
  e = e * (VEC_F)((127 - (n - n1)) << 23);
  e = VV_SEL(ax > VV_SPLAT(103.97208f), VV_SPLAT(0.0f), e);
  s = VV_SPLAT(1.0f) / (VV_SPLAT(1.0f) + e);
  return VV_SEL(neg, e * s, s);
}

/* tanh: Cephes' odd polynomial below |x| = 0.625; above, 1 - 2/(e + 1)
** with e = exp(2|x|). Each layer of a small network's one-sample forward
** waits for it (one layer's outputs are the next one's inputs), so it is
** written for latency: fused multiply-adds (one rounding, the same on
** AVX2 and AVX-512), vexp's polynomial as three independent pieces joined
** in two steps, and no clamp in front of the exponential: above |x| = 9.5,
** where tanh rounds to 1, that lane's e is ignored (its exponent is capped
** so the scale stays a finite power of 2). One reduction step (2|x| - n
** ln2 in one rounding) is enough here: n is at most 28 and tanh depends
** less and less on e as e grows. About 60 cycles from x to tanh(x)
** against 120 for the chain of separate multiplies and adds; the maximum
** error went from 1.32 to 1.21 ulp (every 7th float, against libm). */
TARGET static inline VEC_F SUFFIX(vtanh)(VEC_F x) {
  const float magic = 12582912.0f;   /* 1.5 * 2^23: adding rounds to int */
  VEC_I sign = (VEC_I)x & VV_SIGN, n, cap;
  VEC_F ax = (VEC_F)((VEC_I)x & ~VV_SIGN), z = x * x, p, t, r, r2, q, s, d;
  p = VV_SPLAT(-5.70498872745E-3f);
  p = VV_FMA(p, z, VV_SPLAT(2.06390887954E-2f));
  p = VV_FMA(p, z, VV_SPLAT(-5.37397155531E-2f));
  p = VV_FMA(p, z, VV_SPLAT(1.33314422036E-1f));
  p = VV_FMA(p, z, VV_SPLAT(-3.33332819422E-1f));
  p = VV_FMA(ax * z, p, ax);   /* odd: computed on |x|, sign put back below */
  /* 2|x| = n ln2 + r, |r| <= ln2/2; s = 2^n */
  t = VV_FMA(ax, VV_SPLAT(2.0f * 1.44269504088896341f), VV_SPLAT(magic));
  n = (VEC_I)t - (VEC_I)VV_SPLAT(magic);
  cap = n > 64;
  n = (n & ~cap) | (cap & 64);
  s = (VEC_F)((n + 127) << 23);
  r = VV_FMA(t - VV_SPLAT(magic), VV_SPLAT(-0.693147180559945309f), ax + ax);
  /* e^r = 1 + r + r^2 q(r), vexp's q of degree 5 as q01 r^4 + q23 r^2 + q45 */
  r2 = r * r;
  q = VV_FMA(VV_FMA(VV_SPLAT(1.9875691500E-4f), r, VV_SPLAT(1.3981999507E-3f)),
             r2 * r2,
             VV_FMA(VV_FMA(VV_SPLAT(8.3334519073E-3f), r,
                           VV_SPLAT(4.1665795894E-2f)),
                    r2,
                    VV_FMA(VV_SPLAT(1.6666665459E-1f), r,
                           VV_SPLAT(5.0000001201E-1f))));
  d = VV_FMA(VV_FMA(q, r2, r), s, s + VV_SPLAT(1.0f));    /* e + 1 */
  d = VV_SPLAT(1.0f) - VV_SPLAT(2.0f) / d;
  d = VV_SEL(ax > VV_SPLAT(9.5f), VV_SPLAT(1.0f), d);
  return (VEC_F)((VEC_I)VV_SEL(ax < VV_SPLAT(0.625f), p, d) | sign);
}

#undef VV_SPLAT
#undef VV_SIGN
#undef VV_SEL
#undef VV_FMA
