/*
** gemm.h: C = alpha * op(A) * op(B) + beta * C, row-major, float32.
** op(X) is X or its transpose (ta/tb nonzero). op(A) is M x K, op(B) is
** K x N, C is M x N; lda/ldb/ldc are row strides of the stored matrices.
** The loop order is fixed, so results are bit-for-bit reproducible.
** When beta is 0, C is overwritten and may hold garbage (even NaN) before.
*/
#ifndef BP_GEMM_H
#define BP_GEMM_H

#include <stddef.h>

void bp_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha,
             const float *A, size_t lda, const float *B, size_t ldb,
             float beta, float *C, size_t ldc);

#endif
