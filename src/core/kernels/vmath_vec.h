/*
** vmath_vec.h: exp, sigmoid and tanh of one vector (the maths of
** vmath_simd.h, which describes it), for kernels that apply an activation
** in registers (small.c's fused Linear + Sigmoid/Tanh). Included with
** VEC_F and VEC_I (float and int vector types of the same lane count),
** TARGET and SUFFIX(name) defined; may be included several times in one
** file with different SUFFIX. Every operation is lane by lane, so a lane's
** result does not depend on the vector width: the same bits whichever
** file or width computes it (the build does not contract to FMA).
*/
#define VV_SPLAT(v) ((VEC_F){0} + (v))
/* (VEC_F){0} + -0.0f would be +0: the sign bit comes from an integer. */
#define VV_SIGN ((VEC_I){0} + (-0x7FFFFFFF - 1))
#define VV_SEL(m, a, b) ((VEC_F)(((VEC_I)(a) & (m)) | ((VEC_I)(b) & ~(m))))

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

TARGET static inline VEC_F SUFFIX(vsigmoid)(VEC_F x) {
  VEC_I neg = x < VV_SPLAT(0.0f);
  VEC_F ax = (VEC_F)((VEC_I)x & ~VV_SIGN);
  VEC_F e = SUFFIX(vexp)(-ax), s = VV_SPLAT(1.0f) / (VV_SPLAT(1.0f) + e);
  return VV_SEL(neg, e * s, s);
}

TARGET static inline VEC_F SUFFIX(vtanh)(VEC_F x) {
  VEC_I sign = (VEC_I)x & VV_SIGN;
  VEC_F ax = (VEC_F)((VEC_I)x & ~VV_SIGN), z = x * x, p, e, big;
  p = VV_SPLAT(-5.70498872745E-3f);
  p = p * z + VV_SPLAT(2.06390887954E-2f);
  p = p * z + VV_SPLAT(-5.37397155531E-2f);
  p = p * z + VV_SPLAT(1.33314422036E-1f);
  p = p * z + VV_SPLAT(-3.33332819422E-1f);
  p = ax + ax * z * p;   /* odd: computed on |x|, sign put back below */
  e = SUFFIX(vexp)(ax + ax);
  big = VV_SPLAT(1.0f) - VV_SPLAT(2.0f) / (e + VV_SPLAT(1.0f));
  return (VEC_F)((VEC_I)VV_SEL(ax < VV_SPLAT(0.625f), p, big) | sign);
}

#undef VV_SPLAT
#undef VV_SIGN
#undef VV_SEL
