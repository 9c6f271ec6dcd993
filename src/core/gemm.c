/*
** gemm.c: portable matrix products (see gemm.h). Every case keeps a row of
** C as the innermost contiguous run, so the compiler can vectorize it,
** except A*B^T, which is a set of dot products and uses eight partial sums.
*/
#include "gemm.h"

static void scale_c(size_t M, size_t N, float beta, float *C, size_t ldc) {
  size_t i, j;
  for (i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f)
      for (j = 0; j < N; j++) c[j] = 0.0f;
    else if (beta != 1.0f)
      for (j = 0; j < N; j++) c[j] *= beta;
  }
}

/* c[0..n) += a * b[0..n) */
static void axpy(size_t n, float a, const float *b, float *c) {
  size_t j;
  for (j = 0; j < n; j++) c[j] += a * b[j];
}

static float dot(size_t n, const float *a, const float *b) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0, r;
  for (; k + 8 <= n; k += 8)
    for (r = 0; r < 8; r++) s[r] += a[k + r] * b[k + r];
  for (; k < n; k++) s[0] += a[k] * b[k];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

void bp_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha,
             const float *A, size_t lda, const float *B, size_t ldb,
             float beta, float *C, size_t ldc) {
  size_t i, j, k;
  scale_c(M, N, beta, C, ldc);
  if (!ta && !tb) {          /* C[i,:] += A[i,k] * B[k,:] */
    for (i = 0; i < M; i++)
      for (k = 0; k < K; k++)
        axpy(N, alpha * A[i * lda + k], B + k * ldb, C + i * ldc);
  } else if (!ta && tb) {    /* C[i,j] += A[i,:] . B[j,:] */
    for (i = 0; i < M; i++)
      for (j = 0; j < N; j++)
        C[i * ldc + j] += alpha * dot(K, A + i * lda, B + j * ldb);
  } else if (ta && !tb) {    /* C[i,:] += A[k,i] * B[k,:] */
    for (k = 0; k < K; k++)
      for (i = 0; i < M; i++)
        axpy(N, alpha * A[k * lda + i], B + k * ldb, C + i * ldc);
  } else {                   /* C[i,j] += A[k,i] * B[j,k] */
    for (i = 0; i < M; i++)
      for (j = 0; j < N; j++) {
        float s = 0.0f;
        for (k = 0; k < K; k++) s += A[k * lda + i] * B[j * ldb + k];
        C[i * ldc + j] += alpha * s;
      }
  }
}
