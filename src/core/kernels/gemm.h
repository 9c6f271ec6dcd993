/*
** gemm.h: C = alpha * op(A) * op(B) + beta * C, row-major, float32.
** op(X) is X or its transpose (ta/tb nonzero). op(A) is M x K, op(B) is
** K x N, C is M x N; lda/ldb/ldc are row strides of the stored matrices.
** When beta is 0, C is overwritten and may hold garbage (even NaN) before;
** when alpha is 0 or K is 0, A and B are not read.
**
** Kernels: cache-blocked with SIMD micro-kernels for AVX-512 and AVX2+FMA
** and a portable C one, chosen at run time (cpu.h). Results are
** reproducible bit for bit for a given ISA and shape, whatever the thread
** count; different ISAs round differently (within float32 rounding of the
** exact product).
**
** Memory: at most 96 KB of stack for edge buffers. Products large enough
** to be packed in cache blocks (M >= 384 and N >= 512 after orientation)
** or to stream a weight matrix past a narrow batch use a 1.2 MB workspace
** per thread: with a pool, its scratch (one per thread, all allocated on
** the first such product), else the calling thread's own, allocated on
** its first such product and freed when it exits (see gemm.c); nothing
** else is allocated, so a steady loop allocates nothing.
*/
#ifndef BP_GEMM_H
#define BP_GEMM_H

#include <stddef.h>

struct bp_pool;

void bp_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha,
             const float *A, size_t lda, const float *B, size_t ldb,
             float beta, float *C, size_t ldc);

/* The same, split over the threads of pool (NULL: the calling thread
** only). Each element of C is computed by one thread exactly as bp_gemm
** computes it, so the result is identical to bp_gemm's; products below
** about a million multiply-adds stay on the calling thread. */
void bp_gemm_mt(struct bp_pool *pool, int ta, int tb, size_t M, size_t N,
                size_t K, float alpha, const float *A, size_t lda,
                const float *B, size_t ldb, float beta, float *C,
                size_t ldc);

/* Whether bp_gemm computes a product of this shape with its tiles (not
** the dot-product or row loops of thin shapes, nor cblas). Then every
** element of C is the same chain of operations wherever the block that
** computes it starts, and bp_gemm_part may compute any block alone. */
int bp_gemm_tiled(int ta, int tb, size_t M, size_t N, size_t K);

/* Rows [i0, i1) and columns [j0, j1) of the product bp_gemm computes with
** the same arguments, on the calling thread, for a shape bp_gemm_tiled
** accepts: the same bits as those elements of the whole. A layer splits
** its own work with it (each thread a block of C and what it does next
** with it); pool names whose packing scratch the thread uses (NULL: its
** own). */
void bp_gemm_part(struct bp_pool *pool, int ta, int tb, size_t M, size_t N,
                  size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C,
                  size_t ldc, size_t i0, size_t i1, size_t j0, size_t j1);

/* Multiply-adds from which bp_gemm_mt uses a second thread. */
#define BP_GEMM_MT_MIN ((size_t)1 << 20)

/* The kernel set in use ("avx512", "avx2", "portable", or "cblas" when
** built with BP_USE_CBLAS). */
const char *bp_gemm_backend(void);

#endif
