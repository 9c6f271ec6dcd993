/*
** vmath.c: array transcendentals (see vmath.h): the portable versions
** (libm, correctly rounded or nearly) and the dispatch to the SIMD ones.
*/
#include <math.h>

#include "base/cpu.h"
#include "kernels/vmath.h"
#include "kernels/vmath_kern.h"

void bp_vexp_portable(size_t n, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = expf(x[i]);
}

void bp_vsigmoid_portable(size_t n, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) {
    /* Never exp of a large positive number: no overflow, no inf/inf. */
    if (x[i] >= 0.0f) y[i] = 1.0f / (1.0f + expf(-x[i]));
    else {
      float e = expf(x[i]);
      y[i] = e / (1.0f + e);
    }
  }
}

void bp_vtanh_portable(size_t n, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

#define DISPATCH(name)                                                  \
  void bp_##name(size_t n, const float *x, float *y) {                  \
    switch (bp_isa_active()) {                                          \
    case BP_ISA_AVX512: bp_##name##_avx512(n, x, y); break;             \
    case BP_ISA_AVX2: bp_##name##_avx2(n, x, y); break;                 \
    default: bp_##name##_portable(n, x, y);                             \
    }                                                                   \
  }

void bp_vleaky_portable(size_t n, float a, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
}

void bp_vleaky_grad_portable(size_t n, float a, const float *x,
                             const float *dy, float *dx) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
}

DISPATCH(vexp)
DISPATCH(vsigmoid)
DISPATCH(vtanh)

void bp_vleaky(size_t n, float a, const float *x, float *y) {
  switch (bp_isa_active()) {
  case BP_ISA_AVX512: bp_vleaky_avx512(n, a, x, y); break;
  case BP_ISA_AVX2: bp_vleaky_avx2(n, a, x, y); break;
  default: bp_vleaky_portable(n, a, x, y);
  }
}

void bp_vleaky_grad(size_t n, float a, const float *x, const float *dy,
                    float *dx) {
  switch (bp_isa_active()) {
  case BP_ISA_AVX512: bp_vleaky_grad_avx512(n, a, x, dy, dx); break;
  case BP_ISA_AVX2: bp_vleaky_grad_avx2(n, a, x, dy, dx); break;
  default: bp_vleaky_grad_portable(n, a, x, dy, dx);
  }
}

void bp_bias_act(size_t n, size_t m, float *y, size_t ldy, const float *b,
                 bp_act act) {
  size_t i, j;
  for (i = 0; i < n; i++) {
    float *r = y + i * ldy;
    if (b != NULL)
      for (j = 0; j < m; j++) r[j] += b[j];
    switch (act) {
    case BP_ACT_RELU:
      for (j = 0; j < m; j++) r[j] = r[j] > 0.0f ? r[j] : r[j] != r[j] ? r[j] : 0.0f;
      break;
    case BP_ACT_SIGMOID: bp_vsigmoid(m, r, r); break;
    case BP_ACT_TANH: bp_vtanh(m, r, r); break;
    default: break;
    }
  }
}
