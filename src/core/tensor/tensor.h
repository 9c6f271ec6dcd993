/*
** tensor.h: dense float32 tensors in row-major order, and the array kernels
** the rest of the library is built from. A tensor either owns its storage
** (64-byte aligned, so SIMD loads never straddle cache lines) or is a view
** into storage someone else owns; views never free.
**
** Strides (in elements) let a view select, narrow or broadcast without a
** copy: element (i1, ..., in) is at data[sum(ik * stride[k])], data
** pointing at the view's first element. Everything allocated here is
** contiguous (row-major strides); only the strided kernels in tview.h and
** reduce.h accept other strides, so the array kernels below and the
** layers keep working on plain arrays.
*/
#ifndef BP_TENSOR_H
#define BP_TENSOR_H

#include <stddef.h>

#include "base/alloc.h"
#include "base/status.h"

#define BP_MAXDIM 8

/* Element types. float32 is what every layer computes in; uint8 keeps
** image data compact until a batch is converted. */
typedef enum { BP_FLOAT32 = 0, BP_UINT8 = 1 } bp_dtype;

typedef struct bp_tensor {
  float *data;              /* float32 elements; NULL for other types */
  unsigned char *u8;        /* uint8 elements; NULL for other types */
  bp_dtype dtype;
  int ndim;
  size_t shape[BP_MAXDIM];
  size_t stride[BP_MAXDIM]; /* elements between neighbours along each dim */
  size_t numel;
  int owns;                 /* 1 if data was allocated by bp_tensor_alloc */
} bp_tensor;


/* Product of the dimensions, failing on overflow or a zero dimension. */
bp_status bp_numel(int ndim, const size_t *shape, size_t *numel,
                   bp_error *err);
bp_status bp_tensor_alloc(bp_tensor *t, int ndim, const size_t *shape,
                          bp_error *err);
/* The same for uint8 storage (t->u8, zero-filled). */
bp_status bp_tensor_alloc_u8(bp_tensor *t, int ndim, const size_t *shape,
                             bp_error *err);
/* A contiguous float32 view of data (owns = 0). */
void bp_tensor_view(bp_tensor *t, float *data, int ndim, const size_t *shape);
/* Row-major strides for t's shape; whether t's strides are those (sizes
** of 1 may have any stride, as they are never stepped over). */
void bp_tensor_setcontig(bp_tensor *t);
int bp_tensor_iscontig(const bp_tensor *t);
void bp_tensor_release(bp_tensor *t);   /* idempotent */
/* "8x29" into buf (always terminated). */
void bp_shape_str(int ndim, const size_t *shape, char *buf, size_t len);

/* Elementwise kernels over n floats; y may alias an input. */
void bp_vadd(size_t n, const float *a, const float *b, float *y);
void bp_vsub(size_t n, const float *a, const float *b, float *y);
void bp_vmul(size_t n, const float *a, const float *b, float *y);
void bp_vdiv(size_t n, const float *a, const float *b, float *y);
void bp_vaffine(size_t n, const float *a, float scale, float shift, float *y);
void bp_vfill(size_t n, float v, float *y);

/* Sum in double precision: exact enough for any float32 tensor that fits
** in memory, where a float accumulator loses digits past ~1e7 elements. */
double bp_vsum(size_t n, const float *x);
/* Index of the first non-finite value, or n if all are finite. */
size_t bp_vfind_nonfinite(size_t n, const float *x);
/* The same over a thread pool's threads (NULL: this one). */
struct bp_pool;
size_t bp_vfind_nonfinite_mt(struct bp_pool *pool, size_t n, const float *x);

/* x viewed as outer x len x inner: reduce over len. idx gets the 0-based
** position of the first maximum as a float (exact below 2^24). */
void bp_argmax(const float *x, size_t outer, size_t len, size_t inner,
               float *idx);
/* Gather ids (0-based, < len) along the middle axis: y is outer x nids x inner. */
void bp_gather(const float *x, size_t outer, size_t len, size_t inner,
               const size_t *ids, size_t nids, float *y);
/* Column means and (population) standard deviations of an n x d matrix,
** accumulated in double. */
void bp_colstats(const float *x, size_t n, size_t d, float *mean, float *std);
/* x[i][j] = (x[i][j] - mean[j]) / scale[j], in place. */
void bp_normalize_cols(float *x, size_t n, size_t d, const float *mean,
                       const float *scale);
void bp_transpose(const float *x, size_t rows, size_t cols, float *y);

#endif
