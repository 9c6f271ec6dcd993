/* vmath_avx2.c: the AVX2 transcendentals (body in vmath_simd.h). */
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/vmath_kern.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define VW 8
#define TARGET __attribute__((target("avx2,fma")))
#define SUFFIX(name) name##_avx2
#include "kernels/vmath_simd.h"
#else
void bp_vexp_avx2(size_t n, const float *x, float *y) { bp_vexp_portable(n, x, y); }
void bp_vsigmoid_avx2(size_t n, const float *x, float *y) { bp_vsigmoid_portable(n, x, y); }
void bp_vtanh_avx2(size_t n, const float *x, float *y) { bp_vtanh_portable(n, x, y); }
void bp_vleaky_avx2(size_t n, float a, const float *x, float *y) { bp_vleaky_portable(n, a, x, y); }
void bp_vleaky_grad_avx2(size_t n, float a, const float *x, const float *dy, float *dx) {
  bp_vleaky_grad_portable(n, a, x, dy, dx);
}
#endif
