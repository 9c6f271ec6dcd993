/* vmath.c: array transcendentals (see vmath.h), portable C. */
#include <math.h>

#include "vmath.h"

void bp_vexp(size_t n, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = expf(x[i]);
}

void bp_vsigmoid(size_t n, const float *x, float *y) {
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

void bp_vtanh(size_t n, const float *x, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
