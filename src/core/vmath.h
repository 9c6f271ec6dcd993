/*
** vmath.h: elementwise transcendental functions over arrays, the hot
** inner loops of the activations and losses. One place to make them fast
** (SIMD, chosen at run time) without touching the layers that call them.
** y may alias x.
*/
#ifndef BP_VMATH_H
#define BP_VMATH_H

#include <stddef.h>

void bp_vexp(size_t n, const float *x, float *y);
void bp_vsigmoid(size_t n, const float *x, float *y);
void bp_vtanh(size_t n, const float *x, float *y);

#endif
