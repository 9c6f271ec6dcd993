/*
** gemm_kern.h: the kernels behind bp_gemm, one set per instruction set
** (gemm_portable.c, gemm_avx2.c, gemm_avx512.c). Internal to the core.
**
** Every kernel accumulates each output element as one chain of products
** in ascending p, so where an element is computed (which tile, which
** thread) never changes its value. The store is c = alpha*acc + beta*c,
** done as two roundings (no FMA), and c is not read when beta is 0.
*/
#ifndef BP_GEMM_KERN_H
#define BP_GEMM_KERN_H

#include <stddef.h>

/* Micro-kernel: one MR x NR tile.
**   acc[r][j] = sum over p < kc of a[r*rsa + p*csa] * b[p*rsb + j]
** for all r < MR, j < NR (every such address must be readable; rsa or csa
** is 1), then c[r*rsc + j] = alpha*acc + beta*c for r < m, j < n only. */
typedef void bp_ukr_fn(size_t kc, const float *a, ptrdiff_t rsa,
                       ptrdiff_t csa, const float *b, ptrdiff_t rsb,
                       float alpha, float beta, float *c, ptrdiff_t rsc,
                       size_t m, size_t n);

/* A few rows (M <= 4), B read in place with unit stride along j:
** c[i*ldc + j] = alpha * sum_p a[i*rsa + p*csa] * b[p*ldb + j] + beta*c. */
typedef void bp_rows_fn(size_t M, size_t N, size_t K, float alpha,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                        const float *b, size_t ldb, float beta, float *c,
                        size_t ldc);

/* Dot products (A * B^T with few rows or columns):
** c[i*ldc + j] = alpha * dot(a + i*lda, b + j*ldb, K) + beta*c. */
typedef void bp_dots_fn(size_t M, size_t N, size_t K, float alpha,
                        const float *a, size_t lda, const float *b,
                        size_t ldb, float beta, float *c, size_t ldc);

/* Transposing pack (NULL: gemm.c's scalar copy): dst[p*nr + j] =
** b[j*cs + p] for j < n, p < kc; 0 for n <= j < nr. */
typedef void bp_packt_fn(size_t kc, size_t n, size_t nr, const float *b,
                         ptrdiff_t cs, float *dst);

/* Pack of an A block with unit row stride (NULL: none; the block is
** then read in place): its rows in panels of mr, each p of a panel one
** row of apitch floats (>= mr, the rest padding), dst must be 64-byte
** aligned: dst[(r / mr) * apitch * kc + p * apitch + r % mr] =
** a[r + p*cs] for r < m, 0 for m <= r < the panel's end. */
typedef void bp_packa_fn(size_t kc, size_t m, const float *a, ptrdiff_t cs,
                         float *dst);

/* Transposed store of a tile (NULL: gemm.c's scalar loop):
** c[j*ldc + r] = t[r*ldt + j] + beta*c[j*ldc + r] (c not read when beta
** is 0) for r < m <= mr, j < n <= nr; the same two roundings as a
** kernel's store. */
typedef void bp_storet_fn(size_t m, size_t n, const float *t, size_t ldt,
                          float beta, float *c, ptrdiff_t ldc);

/* For the kernel files, whose tile body is compiled per row count RM
** and vector count NV (body(RM, NV, BP_BODY_ARGS), inlined): its
** arguments, the micro-kernel's, and the micro-kernel's case for RM rows,
** one vector of B when n fits in half a tile (HALF floats). */
#define BP_BODY_ARGS                                                       \
  size_t kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, \
      ptrdiff_t rsb, float alpha, float beta, float *c, ptrdiff_t rsc,     \
      size_t n
#define BP_UKR_ARGS                                                        \
  size_t kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, \
      ptrdiff_t rsb, float alpha, float beta, float *c, ptrdiff_t rsc,     \
      size_t m, size_t n
#define BP_UKR_CASE(RM, HALF)                                              \
  case RM:                                                                 \
    if (n > (HALF)) body(RM, 2, kc, a, rsa, csa, b, rsb, alpha, beta, c, rsc, n); \
    else body(RM, 1, kc, a, rsa, csa, b, rsb, alpha, beta, c, rsc, n);    \
    break;

typedef struct bp_gemm_kernels {
  size_t mr, nr;
  size_t dots_n;   /* dots also beats the tiles for A B^T with N <= dots_n */
  int exact_m;     /* ukr reads rows r < m only: edge A panels need no copy */
  bp_ukr_fn *ukr;
  bp_rows_fn *rows;
  bp_dots_fn *dots;
  bp_packt_fn *packt;
  bp_storet_fn *storet;
  bp_packa_fn *packa;
  size_t apitch;
} bp_gemm_kernels;

extern const bp_gemm_kernels bp_gemm_portable, bp_gemm_avx2, bp_gemm_avx512;

/* The largest MR x NR over all kernel sets (tile buffers). */
#define BP_MR_MAX 12
#define BP_NR_MAX 32

#endif
