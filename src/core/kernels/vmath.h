/*
** vmath.h: elementwise transcendental functions over arrays, the hot
** inner loops of the activations and losses. SIMD (AVX-512 or AVX2,
** chosen at run time like the gemm kernels, cpu.h) with a libm fallback.
** y may alias x.
**
** Accuracy of the SIMD versions against double-precision libm, measured
** over every 101st float bit pattern (42 million inputs, both with and
** without FMA contraction); spec/kernels_spec.lua checks the bounds:
**   exp      1.02 ulp max (bound 2 ulp; subnormal results in units of 2^-149)
**   sigmoid  2.60 ulp max (bound 3 ulp)
**   tanh     1.15 ulp max (bound 2 ulp; 1.21 over every float; written
**            with fused multiply-adds for latency, see vmath_vec.h)
** exp(x) is +inf above 88.72, 0 below -103.97; NaN stays NaN (payload not
** kept); +-inf give the exact limits; tanh(-0) = -0.
*/
#ifndef BP_VMATH_H
#define BP_VMATH_H

#include <stddef.h>

void bp_vexp(size_t n, const float *x, float *y);
void bp_vsigmoid(size_t n, const float *x, float *y);
void bp_vtanh(size_t n, const float *x, float *y);
/* ReLU (a = 0) and LeakyReLU: y = x > 0 ? x : a x; the gradient
** dx = x > 0 ? dy : a dy. Exact: the same values on every ISA. */
void bp_vleaky(size_t n, float a, const float *x, float *y);
void bp_vleaky_grad(size_t n, float a, const float *x, const float *dy,
                    float *dx);

typedef enum { BP_ACT_NONE, BP_ACT_RELU, BP_ACT_SIGMOID, BP_ACT_TANH } bp_act;

/* Linear's epilogue over an n x m block with row stride ldy:
** y = act(y + b) (b: m biases, or NULL for none). */
void bp_bias_act(size_t n, size_t m, float *y, size_t ldy, const float *b,
                 bp_act act);

#endif
