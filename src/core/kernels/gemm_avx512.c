/*
** gemm_avx512.c: AVX-512 kernels. Compiled with a target attribute, not
** -mavx512f, so the file builds with plain flags; the dispatcher calls
** these functions only when the CPU has AVX-512 (cpu.c).
**
** Micro-tile 12 x 32: 24 zmm accumulators, two vectors of B and one
** broadcast of A per step, which keeps both FMA pipes busy (12 FMAs per
** 14 loads would not; 24 per 14 do) and leaves registers to spare.
*/
#include "kernels/gemm_kern.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define TARGET \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define MR 12
#define NR 32

static __mmask16 mask16(size_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* c = alpha*acc + beta*c on the lanes in k. */
TARGET static inline void store(float *c, __m512 acc, float alpha,
                                float beta, __mmask16 k) {
  __m512 t = alpha == 1.0f ? acc : _mm512_mul_ps(_mm512_set1_ps(alpha), acc);
  if (beta == 1.0f)
    t = _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), t);
  else if (beta != 0.0f)
    t = _mm512_add_ps(
        _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(k, c)), t);
  _mm512_mask_storeu_ps(c, k, t);
}

/* The tile body for exactly RM rows and NV vectors of B (constants once
** inlined), so an edge tile costs what it computes: a 10-row or 16-column
** remainder does not pay for 12 x 32. */
TARGET static inline __attribute__((always_inline)) void
body(const int RM, const int NV, BP_BODY_ARGS) {
  __m512 c0[MR], c1[MR];
  __mmask16 k0 = mask16(n), k1 = mask16(n > 16 ? n - 16 : 0);
  size_t p;
  int r;
#pragma GCC unroll 12
  for (r = 0; r < RM; r++) c0[r] = c1[r] = _mm512_setzero_ps();
  if (csa == 1) {            /* A rows contiguous along p */
    for (p = 0; p < kc; p++, b += rsb) {
      __m512 b0 = _mm512_loadu_ps(b), b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
#pragma GCC unroll 12
      for (r = 0; r < RM; r++) {
        __m512 av = _mm512_set1_ps(a[r * rsa + (ptrdiff_t)p]);
        c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
        if (NV > 1) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
      }
    }
  } else {                   /* rsa == 1: the rows side by side per p */
    for (p = 0; p < kc; p++, b += rsb, a += csa) {
      __m512 b0 = _mm512_loadu_ps(b), b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
#pragma GCC unroll 12
      for (r = 0; r < RM; r++) {
        __m512 av = _mm512_set1_ps(a[r]);
        c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
        if (NV > 1) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
      }
    }
  }
  if (alpha == 1.0f && beta == 0.0f) {   /* store()'s common case, hoisted */
#pragma GCC unroll 12
    for (r = 0; r < RM; r++) {
      _mm512_mask_storeu_ps(c + r * rsc, k0, c0[r]);
      if (NV > 1) _mm512_mask_storeu_ps(c + r * rsc + 16, k1, c1[r]);
    }
    return;
  }
#pragma GCC unroll 12
  for (r = 0; r < RM; r++) {
    store(c + r * rsc, c0[r], alpha, beta, k0);
    if (NV > 1 && k1) store(c + r * rsc + 16, c1[r], alpha, beta, k1);
  }
}

#define CASE(RM) BP_UKR_CASE(RM, 16)

TARGET static void ukr(BP_UKR_ARGS) {
  switch (m) {
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
    CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)
    default: CASE(12)   /* m == MR */
  }
}

TARGET static void rows(size_t M, size_t N, size_t K, float alpha,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                        const float *b, size_t ldb, float beta, float *c,
                        size_t ldc) {
  size_t i, j, p;
  for (i = 0; i < M; i++)
    for (j = 0; j < N; j += 64) {
      size_t n = N - j;
      __mmask16 k0 = mask16(n), k1 = mask16(n > 16 ? n - 16 : 0),
                k2 = mask16(n > 32 ? n - 32 : 0),
                k3 = mask16(n > 48 ? n - 48 : 0);
      __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      const float *bp = b + j, *ap = a + (ptrdiff_t)i * rsa;
      for (p = 0; p < K; p++, bp += ldb, ap += csa) {
        __m512 av = _mm512_set1_ps(*ap);
        s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(k0, bp), s0);
        if (k1) s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(k1, bp + 16), s1);
        if (k2) s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(k2, bp + 32), s2);
        if (k3) s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(k3, bp + 48), s3);
      }
      store(c + i * ldc + j, s0, alpha, beta, k0);
      if (k1) store(c + i * ldc + j + 16, s1, alpha, beta, k1);
      if (k2) store(c + i * ldc + j + 32, s2, alpha, beta, k2);
      if (k3) store(c + i * ldc + j + 48, s3, alpha, beta, k3);
    }
}

/* Lane q of the result = the sum of the lanes of v[q], for q < NJ <= 16
** (lanes NJ.. are 0): a tree of unpacks and 128-bit shuffles that sums
** 16 vectors in 15 adds instead of 16 separate reductions. */
TARGET static inline __attribute__((always_inline)) __m512
hsums(const __m512 *v, const int NJ) {
  __m512 x[8], y[4], z[2], zero = _mm512_setzero_ps();
  int q;
  for (q = 0; q < 8; q++) {   /* lanes 0,2 / 1,3 of each 128: v[2q], v[2q+1] */
    __m512 u = v[2 * q < NJ ? 2 * q : 0], w = 2 * q + 1 < NJ ? v[2 * q + 1] : zero;
    x[q] = 2 * q >= NJ ? zero
                       : _mm512_add_ps(_mm512_unpacklo_ps(u, w),
                                       _mm512_unpackhi_ps(u, w));
  }
  for (q = 0; q < 4; q++) {   /* lane r of each 128: v[4q + r] */
    __m512d u = _mm512_castps_pd(x[2 * q]), w = _mm512_castps_pd(x[2 * q + 1]);
    y[q] = 4 * q >= NJ ? zero
                       : _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(u, w)),
                                       _mm512_castpd_ps(_mm512_unpackhi_pd(u, w)));
  }
  for (q = 0; q < 2; q++)     /* 128-bit lanes: halves of v[8q..8q+3], v[8q+4..] */
    z[q] = 8 * q >= NJ ? zero
                       : _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0x88),
                                       _mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(z[0], z[1], 0x88),
                       _mm512_shuffle_f32x4(z[0], z[1], 0xDD));
}

/* RI (1 or 2) rows of A against NJ (<= 12) rows of B: RI*NJ FMA chains
** of 16 lanes each, every B vector loaded once for both rows. A row's
** values do not depend on RI. */
TARGET static inline __attribute__((always_inline)) void
dblock(const int RI, const int NJ, size_t K, const float *a, size_t lda,
       const float *b, size_t ldb, float alpha, float beta, float *c,
       size_t ldc) {
  __m512 s0[12], s1[12];
  __mmask16 kt = mask16(K % 16);
  size_t p;
  int q;
#pragma GCC unroll 12
  for (q = 0; q < NJ; q++) s0[q] = s1[q] = _mm512_setzero_ps();
  for (p = 0; p + 16 <= K; p += 16) {
    __m512 a0 = _mm512_loadu_ps(a + p),
           a1 = RI > 1 ? _mm512_loadu_ps(a + lda + p) : a0;
#pragma GCC unroll 12
    for (q = 0; q < NJ; q++) {
      __m512 bq = _mm512_loadu_ps(b + q * ldb + p);
      s0[q] = _mm512_fmadd_ps(a0, bq, s0[q]);
      if (RI > 1) s1[q] = _mm512_fmadd_ps(a1, bq, s1[q]);
    }
  }
  if (kt) {
    __m512 a0 = _mm512_maskz_loadu_ps(kt, a + p),
           a1 = RI > 1 ? _mm512_maskz_loadu_ps(kt, a + lda + p) : a0;
#pragma GCC unroll 12
    for (q = 0; q < NJ; q++) {
      __m512 bq = _mm512_maskz_loadu_ps(kt, b + q * ldb + p);
      s0[q] = _mm512_fmadd_ps(a0, bq, s0[q]);
      if (RI > 1) s1[q] = _mm512_fmadd_ps(a1, bq, s1[q]);
    }
  }
  store(c, hsums(s0, NJ), alpha, beta, mask16((size_t)NJ));
  if (RI > 1) store(c + ldc, hsums(s1, NJ), alpha, beta, mask16((size_t)NJ));
}

#define DCASE(RI, NJ)                                                 \
  case NJ:                                                            \
    dblock(RI, NJ, K, ai, lda, bj, ldb, alpha, beta, cij, ldc);       \
    break;
#define DSWITCH(RI)                                                   \
  switch (nj) {                                                       \
    DCASE(RI, 1) DCASE(RI, 2) DCASE(RI, 3) DCASE(RI, 4) DCASE(RI, 5)  \
    DCASE(RI, 6) DCASE(RI, 7) DCASE(RI, 8) DCASE(RI, 9) DCASE(RI, 10) \
    DCASE(RI, 11) default: DCASE(RI, 12)                              \
  }

/* Few columns (N <= 16, K up to KQ or more): B packed once so that one vector holds
** PW consecutive p of 16 / PW rows of B, bq[(t*G + g)*16 + PW*jj + e] =
** B(16/PW g + jj, PW t + e), zero past N and K. A row's PW values at p
** are broadcast to every group of PW lanes, so every FMA does 16 useful
** products, and the reduction is a 4 x 4 transpose-add per row instead
** of a 16-way tree. PW is 4 (4 columns a vector) or 8 (2 columns a
** vector: N = 10, a classifier's output, in 5 vectors where groups of 4
** columns take 3, a fifth of them padding); which one depends on N
** alone. */
#define KQ 512

/* One vector of bq: PW values at p of each of the rows j0, j0 + 1, ...
** (16 / PW of them; zeros past N, and past K where kt is not all ones). */
TARGET static inline __attribute__((always_inline)) __m512
groupq(const int PW, const float *b, size_t ldb, size_t j0, size_t N,
       size_t p, __mmask8 kt) {
  __m512 v;
  if (PW == 4) {   /* immediates spelled out: the intrinsic needs constants */
#define ROW(jj) (j0 + (jj) < N ? _mm_maskz_loadu_ps(kt, b + (j0 + (jj)) * ldb + p) : _mm_setzero_ps())
    v = _mm512_zextps128_ps512(ROW(0));
    v = _mm512_insertf32x4(v, ROW(1), 1);
    v = _mm512_insertf32x4(v, ROW(2), 2);
    v = _mm512_insertf32x4(v, ROW(3), 3);
#undef ROW
  } else {
    v = _mm512_zextps256_ps512(_mm256_maskz_loadu_ps(kt, b + j0 * ldb + p));
    if (j0 + 1 < N)
      v = _mm512_insertf32x8(v, _mm256_maskz_loadu_ps(kt, b + (j0 + 1) * ldb + p), 1);
  }
  return v;
}

TARGET static void packq(size_t N, size_t K, const float *b, size_t ldb,
                         size_t G, const int PW, float *bq) {
  size_t t, g, full = K / PW;
  __mmask8 kt = (__mmask8)((1u << (K % PW)) - 1);
  for (g = 0; g < G; g++) {
    for (t = 0; t < full; t++)
      _mm512_store_ps(bq + (t * G + g) * 16,
                      groupq(PW, b, ldb, g * (16 / PW), N, t * PW, (__mmask8)0xFF));
    if (kt) _mm512_store_ps(bq + (t * G + g) * 16, groupq(PW, b, ldb, g * (16 / PW), N, t * PW, kt));
  }
}

/* A row's PW values at a in every group of PW lanes; the tail's kt of
** them (kt < PW), zeros above. */
TARGET static inline __attribute__((always_inline)) __m512
rowq(const int PW, const float *a) {
  return PW == 4 ? _mm512_broadcast_f32x4(_mm_loadu_ps(a))
                 : _mm512_broadcast_f32x8(_mm256_loadu_ps(a));
}

TARGET static inline __attribute__((always_inline)) __m512
rowq_tail(const int PW, const float *a, size_t kt) {
  return PW == 4 ? _mm512_broadcast_f32x4(_mm_maskz_loadu_ps((__mmask8)((1u << kt) - 1), a))
                 : _mm512_broadcast_f32x8(_mm256_maskz_loadu_ps((__mmask8)((1u << kt) - 1), a));
}

/* s[r][g] += rows' values times the vectors of p-group t. */
#define QSTEP(LOAD)                                                      \
  do {                                                                   \
    __m512 av[4];                                                        \
    _Pragma("GCC unroll 4") for (r = 0; r < RI; r++) av[r] = LOAD;       \
    _Pragma("GCC unroll 6") for (g = 0; g < G; g++) {                    \
      __m512 bv = _mm512_load_ps(bq + (t * G + g) * 16);                 \
      _Pragma("GCC unroll 4") for (r = 0; r < RI; r++)                   \
        s[r][g] = _mm512_fmadd_ps(av[r], bv, s[r][g]);                   \
    }                                                                    \
  } while (0)

TARGET static inline __attribute__((always_inline)) void
qblock(const int RI, const int G, const int PW, size_t K, const float *a,
       size_t lda, const float *bq, float alpha, float beta, float *c,
       size_t ldc, __mmask16 kn) {
  __m512 s[4][6];
  const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10,
                                         14, 3, 7, 11, 15);
  size_t p, t;
  int r, g;
#pragma GCC unroll 4
  for (r = 0; r < RI; r++)
#pragma GCC unroll 6
    for (g = 0; g < G; g++) s[r][g] = _mm512_setzero_ps();
  for (p = 0, t = 0; p + PW <= K; p += PW, t++) QSTEP(rowq(PW, a + r * lda + p));
  if (p < K) QSTEP(rowq_tail(PW, a + r * lda + p, K - p));
#pragma GCC unroll 4
  for (r = 0; r < RI; r++) {
    __m512 z = _mm512_setzero_ps(), u[4];
    int q;
    /* u[q], lane 4L + e: partial e of column 4q + L */
    if (PW == 4) {
#pragma GCC unroll 4
      for (q = 0; q < 4; q++) u[q] = q < G ? s[r][q] : z;
    } else {   /* lane 8h + e of s[r][g]: partial e of column 2g + h */
      __m512 w[6];
#pragma GCC unroll 6
      for (g = 0; g < 6; g++)   /* 8 partials to 4: the 128-bit lanes of each half added */
        w[g] = g < G ? _mm512_add_ps(s[r][g], _mm512_shuffle_f32x4(s[r][g], s[r][g], 0xB1)) : z;
#pragma GCC unroll 3
      for (q = 0; q < 3; q++)   /* columns 4q, 4q + 1 of w[2q], 4q + 2, 4q + 3 of w[2q + 1] */
        u[q] = 2 * q < G ? _mm512_shuffle_f32x4(w[2 * q], w[2 * q + 1], 0x88) : z;
      u[3] = z;
    }
    {
      __m512 x0 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1])),
             x1 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
      __m512d d0 = _mm512_castps_pd(x0), d1 = _mm512_castps_pd(x1);
      __m512 y = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d0, d1)),
                               _mm512_castpd_ps(_mm512_unpackhi_pd(d0, d1)));
      /* lane 4L + q of y: column 4q + L */
      store(c + r * ldc, _mm512_permutexvar_ps(perm, y), alpha, beta, kn);
    }
  }
}

#define QCASE(RI, G, PW)                                                  \
  case G:                                                                 \
    qblock(RI, G, PW, K, a + i * lda, lda, bq, alpha, beta, c + i * ldc,  \
           ldc, kn);                                                      \
    break;
#define QSWITCH(RI)                                                       \
  if (pw == 8) {                                                          \
    switch (G) { QCASE(RI, 1, 8) QCASE(RI, 3, 8) default: QCASE(RI, 5, 8) } \
  } else {                                                                \
    switch (G) { QCASE(RI, 1, 4) QCASE(RI, 2, 4) QCASE(RI, 3, 4)          \
                 default: QCASE(RI, 4, 4) }                               \
  }

/* Few rows of A (M <= 4, a layer at batch 1..4): four dot products at
** once, four independent FMA chains, one horizontal sum each; columns past
** N repeat the last one and are not stored. Cheaper than the grouped
** kernels below when there are too few rows to share their set-up. */
TARGET static void dots_rows(size_t M, size_t N, size_t K, float alpha,
                        const float *a, size_t lda, const float *b,
                        size_t ldb, float beta, float *c, size_t ldc) {
  size_t i, j, p;
  __mmask16 kt = mask16(K % 16);
  for (i = 0; i < M; i++) {
    const float *ai = a + i * lda;
    for (j = 0; j < N; j += 4) {
      size_t nj = N - j < 4 ? N - j : 4;
      const float *b0 = b + j * ldb, *b1 = b + (j + (nj > 1)) * ldb,
                  *b2 = b + (j + (nj > 2 ? 2 : nj - 1)) * ldb,
                  *b3 = b + (j + nj - 1) * ldb;
      __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      float out[4];
      for (p = 0; p + 16 <= K; p += 16) {
        __m512 av = _mm512_loadu_ps(ai + p);
        s0 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b0 + p), s0);
        s1 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b1 + p), s1);
        s2 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b2 + p), s2);
        s3 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b3 + p), s3);
      }
      if (kt) {
        __m512 av = _mm512_maskz_loadu_ps(kt, ai + p);
        s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(kt, b0 + p), s0);
        s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(kt, b1 + p), s1);
        s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(kt, b2 + p), s2);
        s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(kt, b3 + p), s3);
      }
      out[0] = _mm512_reduce_add_ps(s0);
      out[1] = _mm512_reduce_add_ps(s1);
      out[2] = _mm512_reduce_add_ps(s2);
      out[3] = _mm512_reduce_add_ps(s3);
      store(c + i * ldc + j, _mm512_castps128_ps512(_mm_loadu_ps(out)), alpha,
            beta, mask16(nj));
    }
  }
}

/* The layout for N columns: p a vector (2 columns a vector when 4 would
** pad more: N = 1, 2, 5, 6, 9, 10), and vectors a group of p. */
static size_t qwidth(size_t N) { return N % 4 == 1 || N % 4 == 2 ? 8 : 4; }
static size_t qgroups(size_t N) { return (N + 16 / qwidth(N) - 1) / (16 / qwidth(N)); }

TARGET static void dotsq(size_t M, size_t N, size_t K, float alpha,
                         const float *a, size_t lda, const float *b,
                         size_t ldb, float beta, float *c, size_t ldc) {
  float bq[KQ * 16] __attribute__((aligned(64)));   /* KQ vectors */
  int pw = (int)qwidth(N);
  size_t G = qgroups(N), i;
  __mmask16 kn = mask16(N);
  if (pw == 8) packq(N, K, b, ldb, G, 8, bq);
  else packq(N, K, b, ldb, G, 4, bq);
  for (i = 0; i < M; i += 4) {
    switch (M - i) {
    case 1: QSWITCH(1) break;
    case 2: QSWITCH(2) break;
    case 3: QSWITCH(3) break;
    default: QSWITCH(4)
    }
  }
}

/* Dot products, rows of A in pairs and rows of B in groups of 12. */
TARGET static void dots(size_t M, size_t N, size_t K, float alpha,
                        const float *a, size_t lda, const float *b,
                        size_t ldb, float beta, float *c, size_t ldc) {
  size_t i, j;
  if (M <= 4) {
    dots_rows(M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (N <= 16 && (K + qwidth(N) - 1) / qwidth(N) * qgroups(N) <= KQ) {   /* bq fits */
    dotsq(M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for (i = 0; i < M; i += 2)
    for (j = 0; j < N; j += 12) {
      size_t nj = N - j < 12 ? N - j : 12;
      const float *ai = a + i * lda, *bj = b + j * ldb;
      float *cij = c + i * ldc + j;
      if (M - i >= 2) {
        DSWITCH(2)
      } else {
        DSWITCH(1)
      }
    }
}

/* r[q] = row q of a 16 x 16 block -> r[q] = column q: unpacks, then
** 128-bit shuffles (0.25 shuffles per element). */
TARGET static inline __attribute__((always_inline)) void tr16(__m512 *r) {
  __m512 t[16];
  int q, m;
#pragma GCC unroll 8
  for (q = 0; q < 16; q += 2) {
    t[q] = _mm512_unpacklo_ps(r[q], r[q + 1]);
    t[q + 1] = _mm512_unpackhi_ps(r[q], r[q + 1]);
  }
#pragma GCC unroll 4
  for (q = 0; q < 16; q += 4) {   /* r[q+m] lane (L,x): row q+x, column 4L+m */
    r[q] = _mm512_shuffle_ps(t[q], t[q + 2], 0x44);
    r[q + 1] = _mm512_shuffle_ps(t[q], t[q + 2], 0xEE);
    r[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44);
    r[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (m = 0; m < 4; m++) {       /* 4 x 4 transpose of 128-bit blocks */
    __m512 v0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88),
           v1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD),
           v2 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88),
           v3 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
    t[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    t[4 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    t[8 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    t[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
#pragma GCC unroll 16
  for (q = 0; q < 16; q++) r[q] = t[q];
}

/* 16 x 16 blocks of B transposed in registers. */
TARGET static void packt(size_t kc, size_t n, size_t nr, const float *b,
                         ptrdiff_t cs, float *dst) {
  size_t j0, p0;
  int q;
  for (j0 = 0; j0 < nr; j0 += 16)
    for (p0 = 0; p0 < kc; p0 += 16) {
      __m512 r[16];
      __mmask16 kp = mask16(kc - p0);
      size_t ne = kc - p0 < 16 ? kc - p0 : 16;
#pragma GCC unroll 16
      for (q = 0; q < 16; q++)
        r[q] = j0 + q < n ? _mm512_maskz_loadu_ps(kp, b + (ptrdiff_t)(j0 + q) * cs + p0)
                          : _mm512_setzero_ps();
      tr16(r);
      for (q = 0; q < (int)ne; q++) _mm512_storeu_ps(dst + (p0 + q) * nr + j0, r[q]);
    }
}

/* A tile of a transposed product stored: 16 x 16 blocks of t turned in
** registers, each column of t then one masked row of c. */
TARGET static void storet(size_t m, size_t n, const float *t, size_t ldt,
                          float beta, float *c, ptrdiff_t ldc) {
  __mmask16 km = mask16(m);
  size_t j0;
  int q;
  for (j0 = 0; j0 < n; j0 += 16) {
    __m512 r[16];
    __mmask16 kn = mask16(n - j0);
#pragma GCC unroll 16
    for (q = 0; q < 16; q++)
      r[q] = (size_t)q < m ? _mm512_maskz_loadu_ps(kn, t + q * ldt + j0)
                           : _mm512_setzero_ps();
    tr16(r);
    for (q = 0; q < 16 && j0 + q < n; q++)
      store(c + (ptrdiff_t)(j0 + q) * ldc, r[q], 1.0f, beta, km);
  }
}

/* Each panel row padded to a whole vector, so that every store is one
** aligned 64-byte line. Rows are read 8 at a time, across the block and
** back: 8 rows' misses in flight at once (3-4% over one whole row after
** another at 64 x 2048 x 2048). */
TARGET static void packa(size_t kc, size_t m, const float *a, ptrdiff_t cs,
                         float *dst) {
  size_t p, p0, r;
  for (p0 = 0; p0 < kc; p0 += 8)
    for (r = 0; r < m; r += MR)
      for (p = p0; p < p0 + 8 && p < kc; p++)
        _mm512_store_ps(dst + r / MR * 16 * kc + p * 16,
                        _mm512_maskz_loadu_ps(mask16(m - r < MR ? m - r : MR),
                                              a + (ptrdiff_t)p * cs + r));
}

const bp_gemm_kernels bp_gemm_avx512 = {MR, NR, 16, 1, ukr, rows, dots, packt,
                                        storet, packa, 16};

#else /* not x86-64 with GCC/Clang: never selected (bp_cpu_has says no) */
const bp_gemm_kernels bp_gemm_avx512 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
