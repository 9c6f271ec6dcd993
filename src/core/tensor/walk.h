/*
** walk.h: visiting every element of up to three equally shaped strided
** operands in row-major order (private to the strided kernels).
**
** Sizes of 1 are dropped and neighbouring dimensions that are contiguous
** in every operand merged first, so a contiguous operand walks as one flat
** run and only real strides cost an outer step. The last remaining
** dimension is the kernels' inner loop:
**
**   bp_walk w;
**   bp_walk_init(&w, ndim, shape, 2, strides);
**   do { n = w.n; s0 = w.inner[0]; ... use w.off[0], w.off[1] ... }
**   while (bp_walk_next(&w));
*/
#ifndef BP_WALK_H
#define BP_WALK_H

#include <stddef.h>

#include "tensor/tensor.h"

#define BP_WALK_MAXOP 3

typedef struct bp_walk {
  int nd;                                 /* outer dims (the inner one apart) */
  int nop;
  size_t n;                               /* inner-loop length */
  size_t inner[BP_WALK_MAXOP];            /* inner-loop stride per operand */
  size_t shape[BP_MAXDIM];
  size_t idx[BP_MAXDIM];
  size_t stride[BP_WALK_MAXOP][BP_MAXDIM];
  size_t off[BP_WALK_MAXOP];              /* offset of the current run */
} bp_walk;

static inline void bp_walk_init(bp_walk *w, int ndim, const size_t *shape,
                                int nop, const size_t *const *strides) {
  size_t sh[BP_MAXDIM], st[BP_WALK_MAXOP][BP_MAXDIM];
  int d, k, m = 0;
  for (d = 0; d < ndim; d++) {
    int merge = m > 0;
    if (shape[d] == 1) continue;
    for (k = 0; k < nop && merge; k++)
      if (st[k][m - 1] != strides[k][d] * shape[d]) merge = 0;
    if (merge) {
      sh[m - 1] *= shape[d];
      for (k = 0; k < nop; k++) st[k][m - 1] = strides[k][d];
    } else {
      sh[m] = shape[d];
      for (k = 0; k < nop; k++) st[k][m] = strides[k][d];
      m++;
    }
  }
  w->nop = nop;
  for (k = 0; k < nop; k++) w->off[k] = 0;
  if (m == 0) {                           /* a single element */
    w->nd = 0;
    w->n = 1;
    for (k = 0; k < nop; k++) w->inner[k] = 0;
    return;
  }
  w->nd = m - 1;
  w->n = sh[m - 1];
  for (k = 0; k < nop; k++) w->inner[k] = st[k][m - 1];
  for (d = 0; d < m - 1; d++) {
    w->shape[d] = sh[d];
    w->idx[d] = 0;
    for (k = 0; k < nop; k++) w->stride[k][d] = st[k][d];
  }
}

/* Step to the next inner run; 0 when every element has been visited. */
static inline int bp_walk_next(bp_walk *w) {
  int d, k;
  for (d = w->nd - 1; d >= 0; d--) {
    if (++w->idx[d] < w->shape[d]) {
      for (k = 0; k < w->nop; k++) w->off[k] += w->stride[k][d];
      return 1;
    }
    w->idx[d] = 0;
    for (k = 0; k < w->nop; k++)
      w->off[k] -= w->stride[k][d] * (w->shape[d] - 1);
  }
  return 0;
}

#endif
