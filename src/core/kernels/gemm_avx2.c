/*
** gemm_avx2.c: AVX2 + FMA kernels, compiled with a target attribute (see
** gemm_avx512.c). Micro-tile 6 x 16: 12 ymm accumulators, two vectors of
** B and one broadcast of A per step, 15 of the 16 registers. Like the
** AVX-512 tile, its body is compiled for each row count and width (an
** edge tile computes what it stores; reading only rows r < m, so edge A
** panels need no copy), which took a tile of depth 10 from 31 to 16 ns.
*/
#include "kernels/gemm_kern.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NR 16

/* Lanes j < n set (n may exceed 8). */
TARGET static inline __m256i mask8(size_t n) {
  int k = n > 8 ? 8 : (int)n;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

TARGET static inline void store(float *c, __m256 acc, float alpha,
                                float beta, __m256i k, int full) {
  __m256 t = alpha == 1.0f ? acc : _mm256_mul_ps(_mm256_set1_ps(alpha), acc);
  if (beta != 0.0f) {
    __m256 old = full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, k);
    t = beta == 1.0f ? _mm256_add_ps(old, t)
                     : _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(beta), old), t);
  }
  if (full) _mm256_storeu_ps(c, t);
  else _mm256_maskstore_ps(c, k, t);
}

/* The tile body for exactly RM rows and NV vectors of B (constants once
** inlined, as gemm_avx512.c's): an edge tile computes only what it
** stores, and a whole tile with alpha 1 and beta 0 stores without masks
** or branches. */
TARGET static inline __attribute__((always_inline)) void
body(const int RM, const int NV, BP_BODY_ARGS) {
  __m256 c0[MR], c1[MR];
  size_t p;
  int r;
#pragma GCC unroll 6
  for (r = 0; r < RM; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  if (csa == 1) {
    for (p = 0; p < kc; p++, b += rsb) {
      __m256 b0 = _mm256_loadu_ps(b), b1 = NV > 1 ? _mm256_loadu_ps(b + 8) : b0;
#pragma GCC unroll 6
      for (r = 0; r < RM; r++) {
        __m256 av = _mm256_broadcast_ss(a + r * rsa + (ptrdiff_t)p);
        c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
        if (NV > 1) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
      }
    }
  } else {
    for (p = 0; p < kc; p++, b += rsb, a += csa) {
      __m256 b0 = _mm256_loadu_ps(b), b1 = NV > 1 ? _mm256_loadu_ps(b + 8) : b0;
#pragma GCC unroll 6
      for (r = 0; r < RM; r++) {
        __m256 av = _mm256_broadcast_ss(a + r);
        c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
        if (NV > 1) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
      }
    }
  }
  if (alpha == 1.0f && beta == 0.0f && n == (size_t)NV * 8) {
#pragma GCC unroll 6
    for (r = 0; r < RM; r++) {
      _mm256_storeu_ps(c + r * rsc, c0[r]);
      if (NV > 1) _mm256_storeu_ps(c + r * rsc + 8, c1[r]);
    }
    return;
  }
  {
    __m256i k0 = mask8(n), k1 = mask8(n > 8 ? n - 8 : 0);
#pragma GCC unroll 6
    for (r = 0; r < RM; r++) {
      store(c + r * rsc, c0[r], alpha, beta, k0, n >= 8);
      if (NV > 1 && n > 8) store(c + r * rsc + 8, c1[r], alpha, beta, k1, n >= 16);
    }
  }
}

#define CASE(RM) BP_UKR_CASE(RM, 8)

TARGET static void ukr(BP_UKR_ARGS) {
  switch (m) {
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5)
    default: CASE(6)   /* m == MR */
  }
}

TARGET static void rows(size_t M, size_t N, size_t K, float alpha,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                        const float *b, size_t ldb, float beta, float *c,
                        size_t ldc) {
  size_t i, j, p;
  for (i = 0; i < M; i++)
    for (j = 0; j < N; j += 32) {
      size_t n = N - j;
      __m256i k0 = mask8(n), k1 = mask8(n > 8 ? n - 8 : 0),
              k2 = mask8(n > 16 ? n - 16 : 0), k3 = mask8(n > 24 ? n - 24 : 0);
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      const float *bp = b + j, *ap = a + (ptrdiff_t)i * rsa;
      float *cp = c + i * ldc + j;
      if (n >= 32) {
        for (p = 0; p < K; p++, bp += ldb, ap += csa) {
          __m256 av = _mm256_broadcast_ss(ap);
          s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp), s0);
          s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8), s1);
          s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 16), s2);
          s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 24), s3);
        }
      } else {
        for (p = 0; p < K; p++, bp += ldb, ap += csa) {
          __m256 av = _mm256_broadcast_ss(ap);
          s0 = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp, k0), s0);
          if (n > 8) s1 = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp + 8, k1), s1);
          if (n > 16) s2 = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp + 16, k2), s2);
          if (n > 24) s3 = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp + 24, k3), s3);
        }
      }
      store(cp, s0, alpha, beta, k0, n >= 8);
      if (n > 8) store(cp + 8, s1, alpha, beta, k1, n >= 16);
      if (n > 16) store(cp + 16, s2, alpha, beta, k2, n >= 24);
      if (n > 24) store(cp + 24, s3, alpha, beta, k3, n >= 32);
    }
}

TARGET static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

TARGET static void dots(size_t M, size_t N, size_t K, float alpha,
                        const float *a, size_t lda, const float *b,
                        size_t ldb, float beta, float *c, size_t ldc) {
  size_t i, j, p, q;
  __m256i kt = mask8(K % 8);
  for (i = 0; i < M; i++) {
    const float *ai = a + i * lda;
    for (j = 0; j < N; j += 4) {
      size_t nj = N - j < 4 ? N - j : 4;
      const float *b0 = b + j * ldb, *b1 = b + (j + (nj > 1)) * ldb,
                  *b2 = b + (j + (nj > 2 ? 2 : nj - 1)) * ldb,
                  *b3 = b + (j + nj - 1) * ldb;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      float out[8];
      for (p = 0; p + 8 <= K; p += 8) {
        __m256 av = _mm256_loadu_ps(ai + p);
        s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b0 + p), s0);
        s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b1 + p), s1);
        s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b2 + p), s2);
        s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b3 + p), s3);
      }
      if (K % 8) {
        __m256 av = _mm256_maskload_ps(ai + p, kt);
        s0 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b0 + p, kt), s0);
        s1 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b1 + p, kt), s1);
        s2 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b2 + p, kt), s2);
        s3 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b3 + p, kt), s3);
      }
      out[0] = hsum(s0);
      out[1] = hsum(s1);
      out[2] = hsum(s2);
      out[3] = hsum(s3);
      for (q = 4; q < 8; q++) out[q] = 0.0f;
      store(c + i * ldc + j, _mm256_loadu_ps(out), alpha, beta, mask8(nj), 0);
    }
  }
}

/* r[q] = row q of an 8 x 8 block -> r[q] = column q. */
TARGET static inline __attribute__((always_inline)) void tr8(__m256 *r) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
         t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]),
         t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
         t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* A tile of a transposed product stored: 8 x 8 blocks of t turned in
** registers, each column of t then one masked row of c. */
TARGET static void storet(size_t m, size_t n, const float *t, size_t ldt,
                          float beta, float *c, ptrdiff_t ldc) {
  __m256i km = mask8(m);
  size_t j0;
  int q;
  for (j0 = 0; j0 < n; j0 += 8) {
    __m256 r[8];
    __m256i kn = mask8(n - j0);
#pragma GCC unroll 8
    for (q = 0; q < 8; q++)
      r[q] = (size_t)q < m ? _mm256_maskload_ps(t + q * ldt + j0, kn)
                           : _mm256_setzero_ps();
    tr8(r);
    for (q = 0; q < 8 && j0 + q < n; q++)
      store(c + (ptrdiff_t)(j0 + q) * ldc, r[q], 1.0f, beta, km, m >= 8);
  }
}

/* Each panel row padded to 8 floats, so that every store is one aligned
** 32-byte vector. Rows are read 8 at a time, across the block and back:
** 8 rows' misses in flight at once (see gemm_avx512.c). */
TARGET static void packa(size_t kc, size_t m, const float *a, ptrdiff_t cs,
                         float *dst) {
  size_t p, p0, r;
  for (p0 = 0; p0 < kc; p0 += 8)
    for (r = 0; r < m; r += MR)
      for (p = p0; p < p0 + 8 && p < kc; p++)
        _mm256_store_ps(dst + r / MR * 8 * kc + p * 8,
                        _mm256_maskload_ps(a + (ptrdiff_t)p * cs + r,
                                           mask8(m - r < MR ? m - r : MR)));
}

const bp_gemm_kernels bp_gemm_avx2 = {MR, NR, 4, 1, ukr, rows, dots, 0,
                                      storet, packa, 8};

#else
const bp_gemm_kernels bp_gemm_avx2 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
