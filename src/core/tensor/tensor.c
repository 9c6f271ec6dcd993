/* tensor.c: storage and array kernels (see tensor.h). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threadpool.h"
#include "tensor/tensor.h"

bp_status bp_numel(int ndim, const size_t *shape, size_t *numel,
                   bp_error *err) {
  size_t n = 1;
  int i;
  if (ndim < 1 || ndim > BP_MAXDIM)
    return bp_fail(err, BP_EINVAL, "expected 1 to %d dimensions, got %d",
                   BP_MAXDIM, ndim);
  for (i = 0; i < ndim; i++) {
    if (shape[i] == 0)
      return bp_fail(err, BP_EINVAL, "dimension %d is 0 (empty tensors "
                     "are not supported)", i + 1);
    if (n > (SIZE_MAX / sizeof(float)) / shape[i])
      return bp_fail(err, BP_EINVAL, "tensor too large");
    n *= shape[i];
  }
  *numel = n;
  return BP_OK;
}

bp_status bp_tensor_alloc(bp_tensor *t, int ndim, const size_t *shape,
                          bp_error *err) {
  size_t n;
  bp_status st = bp_numel(ndim, shape, &n, err);
  if (st != BP_OK) return st;
  t->data = bp_alloc(n);
  if (t->data == NULL)
    return bp_fail(err, BP_ENOMEM, "out of memory allocating %lu floats",
                   (unsigned long)n);
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  t->numel = n;
  t->u8 = NULL;
  t->dtype = BP_FLOAT32;
  t->owns = 1;
  bp_tensor_setcontig(t);
  return BP_OK;
}

bp_status bp_tensor_alloc_u8(bp_tensor *t, int ndim, const size_t *shape,
                             bp_error *err) {
  size_t n;
  bp_status st = bp_numel(ndim, shape, &n, err);
  if (st != BP_OK) return st;
  /* bp_alloc counts floats: round the byte count up to whole floats. */
  t->u8 = (unsigned char *)bp_alloc(n / sizeof(float) + 1);
  if (t->u8 == NULL)
    return bp_fail(err, BP_ENOMEM, "out of memory allocating %lu bytes",
                   (unsigned long)n);
  t->data = NULL;
  t->dtype = BP_UINT8;
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  t->numel = n;
  t->owns = 1;
  bp_tensor_setcontig(t);
  return BP_OK;
}

void bp_tensor_view(bp_tensor *t, float *data, int ndim, const size_t *shape) {
  int i;
  t->data = data;
  t->u8 = NULL;
  t->dtype = BP_FLOAT32;
  t->ndim = ndim;
  t->numel = 1;
  for (i = 0; i < ndim; i++) {
    t->shape[i] = shape[i];
    t->numel *= shape[i];
  }
  t->owns = 0;
  bp_tensor_setcontig(t);
}

void bp_tensor_setcontig(bp_tensor *t) {
  size_t s = 1;
  int i;
  for (i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

int bp_tensor_iscontig(const bp_tensor *t) {
  size_t s = 1;
  int i;
  for (i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

void bp_tensor_release(bp_tensor *t) {
  if (t->owns) bp_free(t->data != NULL ? t->data : (float *)(void *)t->u8);
  t->data = NULL;
  t->u8 = NULL;
  t->owns = 0;
  t->numel = 0;
}

void bp_shape_str(int ndim, const size_t *shape, char *buf, size_t len) {
  size_t used = 0;
  int i;
  if (len == 0) return;
  buf[0] = '\0';
  for (i = 0; i < ndim && used < len; i++) {
    int k = snprintf(buf + used, len - used, i ? "x%lu" : "%lu",
                     (unsigned long)shape[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}

void bp_vadd(size_t n, const float *a, const float *b, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void bp_vsub(size_t n, const float *a, const float *b, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] - b[i];
}

void bp_vmul(size_t n, const float *a, const float *b, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void bp_vdiv(size_t n, const float *a, const float *b, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] / b[i];
}

void bp_vaffine(size_t n, const float *a, float scale, float shift, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = a[i] * scale + shift;
}

void bp_vfill(size_t n, float v, float *y) {
  size_t i;
  for (i = 0; i < n; i++) y[i] = v;
}

double bp_vsum(size_t n, const float *x) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < n; i++) s += x[i];
  return s;
}

/* fit checks each batch before its step: blocks of a fixed length are
** tested without a branch per value, and the block holding a bad value
** is searched one value at a time. A value v is finite when |v| <= FLT_MAX
** (NaN compares false). */
#define FIND_BLOCK 256

static size_t find_tail(size_t i, size_t n, const float *x) {
  for (; i < n; i++)
    if (!isfinite(x[i])) return i;
  return n;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

/* 32 values a step in 4 independent ORs: 4x the SSE loop below on data
** in cache. */
__attribute__((target("avx2"))) static size_t find_avx2(size_t n,
                                                        const float *x) {
  const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 big = _mm256_set1_ps(FLT_MAX);
  size_t i = 0, k;
#define BAD(o) _mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + k + (o)), \
                                           abs), big, _CMP_NLE_UQ)
  for (; i + FIND_BLOCK <= n; i += FIND_BLOCK) {
    __m256 b0 = _mm256_setzero_ps(), b1 = b0, b2 = b0, b3 = b0;
    for (k = 0; k < FIND_BLOCK; k += 32) {
      b0 = _mm256_or_ps(b0, BAD(0));
      b1 = _mm256_or_ps(b1, BAD(8));
      b2 = _mm256_or_ps(b2, BAD(16));
      b3 = _mm256_or_ps(b3, BAD(24));
    }
    if (_mm256_movemask_ps(_mm256_or_ps(_mm256_or_ps(b0, b1),
                                        _mm256_or_ps(b2, b3))))
      break;
  }
  for (k = 0; i + 8 <= n; i += 8)     /* short rows (one sample): 8 a step */
    if (_mm256_movemask_ps(BAD(0))) break;
#undef BAD
  return find_tail(i, n, x);
}
#endif

size_t bp_vfind_nonfinite(size_t n, const float *x) {
  size_t i = 0, k;
#if defined(__GNUC__) && defined(__x86_64__)
  if (bp_isa_active() != BP_ISA_PORTABLE) return find_avx2(n, x);
#endif
  for (; i + FIND_BLOCK <= n; i += FIND_BLOCK) {
    int bad = 0;      /* the compiler vectorizes this OR */
    for (k = 0; k < FIND_BLOCK; k++) bad |= !(fabsf(x[i + k]) <= FLT_MAX);
    if (bad) break;
  }
  return find_tail(i, n, x);
}

/* A scan of a large input (fit checks its whole data set) over the pool:
** each thread finds the first bad value of its piece; the first piece
** with one names it. Memory-bound, so a second core reads in parallel. */
#define FIND_MT_MIN ((size_t)1 << 18)

typedef struct find_job {
  size_t n;
  const float *x;
  size_t at[BP_POOL_MAX];   /* each piece's first bad index, or n */
} find_job;

static void find_task(void *arg, size_t t, size_t nt) {
  find_job *J = arg;
  size_t lo, hi;
  bp_pool_piece(J->n, FIND_BLOCK, t, nt, &lo, &hi);
  J->at[t] = lo + bp_vfind_nonfinite(hi - lo, J->x + lo);
  if (J->at[t] == hi) J->at[t] = J->n;
}

size_t bp_vfind_nonfinite_mt(struct bp_pool *pool, size_t n, const float *x) {
  find_job J;
  size_t nt = bp_pool_size(pool), t;
  if (nt < 2 || n < FIND_MT_MIN) return bp_vfind_nonfinite(n, x);
  J.n = n;
  J.x = x;
  bp_pool_run(pool, nt, find_task, &J);
  for (t = 0; t < nt; t++)
    if (J.at[t] < n) return J.at[t];
  return n;
}

void bp_argmax(const float *x, size_t outer, size_t len, size_t inner,
               float *idx) {
  size_t o, j, k;
  for (o = 0; o < outer; o++) {
    const float *base = x + o * len * inner;
    for (k = 0; k < inner; k++) {
      size_t best = 0;
      float bv = base[k];
      for (j = 1; j < len; j++) {
        float v = base[j * inner + k];
        /* NaN compares false, so a NaN wins only if it comes first;
        ** that matches "first maximum" for ordinary data. */
        if (v > bv) {
          bv = v;
          best = j;
        }
      }
      idx[o * inner + k] = (float)best;
    }
  }
}

void bp_gather(const float *x, size_t outer, size_t len, size_t inner,
               const size_t *ids, size_t nids, float *y) {
  size_t o, j;
  for (o = 0; o < outer; o++)
    for (j = 0; j < nids; j++)
      memcpy(y + (o * nids + j) * inner, x + (o * len + ids[j]) * inner,
             inner * sizeof *x);
}

void bp_colstats(const float *x, size_t n, size_t d, float *mean,
                 float *std) {
  size_t i, j;
  for (j = 0; j < d; j++) {
    double s = 0.0, ss = 0.0, m;
    for (i = 0; i < n; i++) s += x[i * d + j];
    m = s / (double)n;
    for (i = 0; i < n; i++) {   /* two passes: no cancellation */
      double e = x[i * d + j] - m;
      ss += e * e;
    }
    mean[j] = (float)m;
    std[j] = (float)sqrt(ss / (double)n);
  }
}

void bp_normalize_cols(float *x, size_t n, size_t d, const float *mean,
                       const float *scale) {
  size_t i, j;
  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++) x[i * d + j] = (x[i * d + j] - mean[j]) / scale[j];
}

void bp_transpose(const float *x, size_t rows, size_t cols, float *y) {
  /* Blocked so both sides touch whole cache lines. */
  enum { B = 32 };
  size_t i0, j0, i, j;
  for (i0 = 0; i0 < rows; i0 += B)
    for (j0 = 0; j0 < cols; j0 += B)
      for (i = i0; i < rows && i < i0 + B; i++)
        for (j = j0; j < cols && j < j0 + B; j++)
          y[j * rows + i] = x[i * cols + j];
}
