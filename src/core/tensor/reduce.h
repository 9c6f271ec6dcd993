/*
** reduce.h: sums, means, maxima and minima of strided float32 tensors, over
** all elements or along one dimension. Sums accumulate in double, visiting
** the elements in row-major order (so a contiguous tensor gives the same
** bits as bp_vsum). Maxima and minima keep the first extreme; a NaN counts
** as more extreme than any number (it propagates, as in numpy and PyTorch).
*/
#ifndef BP_REDUCE_H
#define BP_REDUCE_H

#include <stddef.h>

#include "tensor/tensor.h"

typedef enum { BP_RSUM, BP_RMEAN, BP_RMAX, BP_RMIN } bp_reduce_op;

/* Over every element of x. For max and min, *at (if not NULL) gets the
** 0-based row-major position of the element chosen. */
double bp_reduce_all(bp_reduce_op op, const bp_tensor *x, size_t *at);

/* Along dimension d: y gets x->numel / x->shape[d] floats in row-major
** order of the other dimensions. For max and min, idx (if not NULL) gets
** the 0-based positions along d, as floats (exact below 2^24). */
void bp_reduce_dim(bp_reduce_op op, const bp_tensor *x, int d, float *y,
                   float *idx);

#endif
