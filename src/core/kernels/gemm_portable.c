/*
** gemm_portable.c: the plain C kernels (any CPU; the reference the SIMD
** kernels are tested against besides the double-precision spec loops).
*/
#include "kernels/gemm_kern.h"

#define MR 4
#define NR 8

static float store1(float acc, float alpha, float beta, const float *c) {
  float t = alpha == 1.0f ? acc : alpha * acc;
  if (beta == 0.0f) return t;
  if (beta == 1.0f) return *c + t;
  return beta * *c + t;
}

static void ukr(size_t kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                const float *b, ptrdiff_t rsb, float alpha, float beta,
                float *c, ptrdiff_t rsc, size_t m, size_t n) {
  float acc[MR][NR] = {{0}};
  size_t p, r, j;
  for (p = 0; p < kc; p++) {
    const float *bp = b + (ptrdiff_t)p * rsb, *ap = a + (ptrdiff_t)p * csa;
    for (r = 0; r < MR; r++) {
      float av = ap[(ptrdiff_t)r * rsa];
      for (j = 0; j < NR; j++) acc[r][j] += av * bp[j];
    }
  }
  for (r = 0; r < m; r++)
    for (j = 0; j < n; j++) {
      float *cp = c + (ptrdiff_t)r * rsc + j;
      *cp = store1(acc[r][j], alpha, beta, cp);
    }
}

static void rows(size_t M, size_t N, size_t K, float alpha, const float *a,
                 ptrdiff_t rsa, ptrdiff_t csa, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc) {
  size_t i, j0, j, p;
  for (i = 0; i < M; i++)
    for (j0 = 0; j0 < N; j0 += NR) {
      float acc[NR] = {0};
      size_t n = N - j0 < NR ? N - j0 : NR;
      for (p = 0; p < K; p++) {
        float av = a[(ptrdiff_t)i * rsa + (ptrdiff_t)p * csa];
        const float *bp = b + p * ldb + j0;
        for (j = 0; j < n; j++) acc[j] += av * bp[j];
      }
      for (j = 0; j < n; j++) {
        float *cp = c + i * ldc + j0 + j;
        *cp = store1(acc[j], alpha, beta, cp);
      }
    }
}

/* Eight partial sums, combined in a fixed tree. */
static float dot(size_t n, const float *a, const float *b) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0, r;
  for (; k + 8 <= n; k += 8)
    for (r = 0; r < 8; r++) s[r] += a[k + r] * b[k + r];
  for (r = 0; k < n; k++, r++) s[r] += a[k] * b[k];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static void dots(size_t M, size_t N, size_t K, float alpha, const float *a,
                 size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc) {
  size_t i, j;
  for (i = 0; i < M; i++)
    for (j = 0; j < N; j++) {
      float *cp = c + i * ldc + j;
      *cp = store1(dot(K, a + i * lda, b + j * ldb), alpha, beta, cp);
    }
}

const bp_gemm_kernels bp_gemm_portable = {MR, NR, 4, 0, ukr, rows, dots, 0, 0, 0, 0};
