/* vmath_kern.h: the per-ISA array functions behind vmath.h (internal). */
#ifndef BP_VMATH_KERN_H
#define BP_VMATH_KERN_H

#include <stddef.h>

#define BP_VMATH_DECL(isa)                                           \
  void bp_vexp_##isa(size_t n, const float *x, float *y);            \
  void bp_vsigmoid_##isa(size_t n, const float *x, float *y);        \
  void bp_vtanh_##isa(size_t n, const float *x, float *y);            \
  void bp_vleaky_##isa(size_t n, float a, const float *x, float *y);  \
  void bp_vleaky_grad_##isa(size_t n, float a, const float *x,        \
                            const float *dy, float *dx);

BP_VMATH_DECL(portable)
BP_VMATH_DECL(avx2)
BP_VMATH_DECL(avx512)

#endif
