/* reduce.c: reductions over strided tensors (see reduce.h). */
#include <math.h>

#include "tensor/reduce.h"
#include "tensor/walk.h"

/* Whether v replaces best as the maximum (sign 1) or minimum (sign -1). */
static int beats(float v, float best, int sign) {
  if (isnan(best)) return 0;
  if (isnan(v)) return 1;
  return sign > 0 ? v > best : v < best;
}

double bp_reduce_all(bp_reduce_op op, const bp_tensor *x, size_t *at) {
  const size_t *st[1];
  double s = 0.0;
  float best = x->data[0];
  size_t k = 0, where = 0;
  int sign = op == BP_RMAX ? 1 : -1;
  bp_walk w;
  st[0] = x->stride;
  bp_walk_init(&w, x->ndim, x->shape, 1, st);
  do {
    const float *p = x->data + w.off[0];
    size_t i, n = w.n, sx = w.inner[0];
    if (op == BP_RSUM || op == BP_RMEAN) {
      for (i = 0; i < n; i++) s += p[i * sx];
    } else {
      for (i = 0; i < n; i++, k++)
        if (beats(p[i * sx], best, sign)) {
          best = p[i * sx];
          where = k;
        }
    }
  } while (bp_walk_next(&w));
  if (op == BP_RSUM) return s;
  if (op == BP_RMEAN) return s / (double)x->numel;
  if (at != NULL) *at = where;
  return best;
}

void bp_reduce_dim(bp_reduce_op op, const bp_tensor *x, int d, float *y,
                   float *idx) {
  size_t shape[BP_MAXDIM], ystride[BP_MAXDIM], len = x->shape[d],
         step = x->stride[d], s = 1;
  const size_t *st[2];
  int i, sign = op == BP_RMAX ? 1 : -1;
  bp_walk w;
  /* Walk x with dimension d collapsed to 1, y contiguous alongside. */
  for (i = x->ndim - 1; i >= 0; i--) {
    shape[i] = i == d ? 1 : x->shape[i];
    ystride[i] = s;
    s *= shape[i];
  }
  st[0] = ystride;
  st[1] = x->stride;
  bp_walk_init(&w, x->ndim, shape, 2, st);
  do {
    size_t e;
    for (e = 0; e < w.n; e++) {
      const float *p = x->data + w.off[1] + e * w.inner[1];
      size_t o = w.off[0] + e * w.inner[0], j;
      if (op == BP_RSUM || op == BP_RMEAN) {
        double acc = 0.0;
        for (j = 0; j < len; j++) acc += p[j * step];
        y[o] = (float)(op == BP_RMEAN ? acc / (double)len : acc);
      } else {
        size_t where = 0;
        float best = p[0];
        for (j = 1; j < len; j++)
          if (beats(p[j * step], best, sign)) {
            best = p[j * step];
            where = j;
          }
        y[o] = best;
        if (idx != NULL) idx[o] = (float)where;
      }
    }
  } while (bp_walk_next(&w));
}
