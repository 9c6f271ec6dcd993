/*
** gemm.c: bp_gemm's dispatch and cache blocking (see gemm.h); the SIMD
** arithmetic is in gemm_<isa>.c.
**
** The product is first described by strides, C(i,j) = sum_p A(i,p) B(p,j)
** with X(r,c) = X[r*rs + c*cs], which turns transposition into a choice of
** strides. The micro-kernel broadcasts A and loads B as vectors along j,
** so B wants unit stride along j; when it has not (C = A B^T, the forward
** pass of a linear layer), the problem is transposed, C^T = B^T A^T, so
** the big weight matrix is read in place and only the small batch is
** packed.
**
** Two ways to feed the micro-kernel, with identical arithmetic:
** - direct: operands read in place; only edge tiles and operands without
**   unit stride are copied, into small stack buffers. Best for the layer
**   shapes (a batch of 64 against a weight matrix), where packing the
**   weights would cost as much as the product.
** - packed (BLIS-style): B in KC x NC blocks, A in MC x KC blocks, both
**   copied into panels in the kernel's order, so large products stream
**   from cache without TLB misses or set conflicts.
** Every element of C is a chain of FMAs over p in blocks of KC (a split
** that depends on K only), so neither the mode nor the tile or thread
** that computes an element changes its value.
*/
#include <pthread.h>
#include <string.h>

#include "base/cpu.h"
#include "kernels/gemm.h"
#include "kernels/gemm_kern.h"
#include "base/threadpool.h"
#include "tensor/tensor.h"

#ifdef BP_USE_CBLAS
#include <cblas.h>
#endif

#if defined(__GNUC__)
#define ALIGNED __attribute__((aligned(64)))
#else
#define ALIGNED
#endif

/* Block sizes, tuned on Zen 5 (48 KB L1, 1 MB L2): an A micro-panel
** (MR x KC, 24 KB) stays in L1 while the B block (KC x NC) streams from
** L2. Deep blocks mean few passes over C. */
#define KC 512      /* depth of a block; the only one that affects results */
#define MC 96       /* rows of a packed A block (multiple of every MR) */
#define NC 512      /* columns of a packed B block (multiple of every NR) */
#define WS_FLOATS ((size_t)(MC + NC) * KC)
#define NARROW 128  /* B columns packed whole (run_direct) */
#ifndef MCW
#define MCW 240
#endif

typedef struct prob {
  size_t M, N, K;
  const float *A, *B;
  float *C;
  ptrdiff_t rsa, csa, rsb, csb, rsc, csc;
  float alpha, beta;
  const bp_gemm_kernels *kern;
  int packed;
  int transposed;         /* computes C^T = B^T A^T (P's rows: C's columns) */
  struct bp_pool *pool;   /* its scratch, when there is one */
} prob;

static const bp_gemm_kernels *kernels(void) {
  switch (bp_isa_active()) {
  case BP_ISA_AVX512: return &bp_gemm_avx512;
  case BP_ISA_AVX2: return &bp_gemm_avx2;
  default: return &bp_gemm_portable;
  }
}

/* Depth of the p blocks: K split into equal blocks of at most KC, a
** multiple of 8 (no short last block), a function of K alone. */
static size_t kblock(size_t K) {
  size_t nb = (K + KC - 1) / KC, kc = (K + nb - 1) / nb;
  kc = (kc + 7) & ~(size_t)7;
  return kc > KC ? KC : kc;
}

/* The packing workspace of large products (1.2 MB) is per thread. With
** a pool, the pool's scratch (bp_pool_scratch): one buffer per thread,
** all allocated on the first large product, so a training loop's first
** step allocates them whichever threads claim its tasks. Without one, a
** buffer of the calling thread's own, allocated on its first large
** product and freed when it exits (the main thread's lives until the
** process ends). Why not the alternatives: a stack buffer this size would
** overflow small thread stacks; a malloc per call would break the rule
** of no allocation in a steady training loop. The key is created once
** and never changes, so this is per-thread scratch, not shared state. If
** the allocation fails, the product runs unpacked (same results). */
static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static int ws_ok;

static void ws_free(void *w) { bp_free(w); }
static void ws_init(void) { ws_ok = pthread_key_create(&ws_key, ws_free) == 0; }

static float *workspace(struct bp_pool *pool) {
  float *w = bp_pool_scratch(pool, WS_FLOATS);
  if (w != NULL) return w;
  pthread_once(&ws_once, ws_init);
  if (!ws_ok) return NULL;
  w = pthread_getspecific(ws_key);
  if (w == NULL && (w = bp_alloc(WS_FLOATS)) != NULL &&
      pthread_setspecific(ws_key, w) != 0) {
    bp_free(w);
    w = NULL;
  }
  return w;
}

/* dst[p*nr + j] = B(p, j) for j < n, 0 for n <= j < nr. */
static void pack_b(const bp_gemm_kernels *k, size_t kc, size_t n,
                   size_t nr, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                   float *dst) {
  size_t p, j;
  if (rs == 1 && cs != 1 && k->packt != NULL && nr % 16 == 0) {
    k->packt(kc, n, nr, b, cs, dst);
  } else if (cs == 1) {
    for (p = 0; p < kc; p++) {
      memcpy(dst + p * nr, b + (ptrdiff_t)p * rs, n * sizeof *dst);
      for (j = n; j < nr; j++) dst[p * nr + j] = 0.0f;
    }
  } else {
    for (j = 0; j < n; j++)
      for (p = 0; p < kc; p++) dst[p * nr + j] = b[(ptrdiff_t)j * cs + (ptrdiff_t)p * rs];
    for (p = 0; n < nr && p < kc; p++)
      for (j = n; j < nr; j++) dst[p * nr + j] = 0.0f;
  }
}

/* dst[p*mr + r] = A(r, p) for r < m, 0 for m <= r < mr. */
static void pack_a(size_t kc, size_t m, size_t mr, const float *a,
                   ptrdiff_t rs, ptrdiff_t cs, float *dst) {
  size_t p, r;
  if (rs == 1) {
    for (p = 0; p < kc; p++) {
      memcpy(dst + p * mr, a + (ptrdiff_t)p * cs, m * sizeof *dst);
      for (r = m; r < mr; r++) dst[p * mr + r] = 0.0f;
    }
    return;
  }
  for (r = 0; r < m; r++)
    for (p = 0; p < kc; p++) dst[p * mr + r] = a[(ptrdiff_t)r * rs + (ptrdiff_t)p * cs];
  for (p = 0; m < mr && p < kc; p++)
    for (r = m; r < mr; r++) dst[p * mr + r] = 0.0f;
}

/* A tile of transposed output (csc != 1): computed into a buffer, then
** stored by the kernel set's storet (or a scalar loop) with the same two
** roundings as a kernel's store. Out of line: its buffer makes a large
** frame, which the common case below should not pay for. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tile_t(const prob *P, size_t kc, const float *a, ptrdiff_t rsa,
                   ptrdiff_t csa, const float *b, ptrdiff_t rsb, float beta,
                   float *c, size_t m, size_t n) {
  const bp_gemm_kernels *k = P->kern;
  float t[BP_MR_MAX * BP_NR_MAX] ALIGNED;
  size_t r, j;
  k->ukr(kc, a, rsa, csa, b, rsb, P->alpha, 0.0f, t, (ptrdiff_t)k->nr, m, n);
  if (k->storet != NULL) {
    k->storet(m, n, t, k->nr, beta, c, P->csc);
    return;
  }
  for (r = 0; r < m; r++)
    for (j = 0; j < n; j++) {
      float *cp = c + (ptrdiff_t)r * P->rsc + (ptrdiff_t)j * P->csc;
      float v = t[r * k->nr + j];
      *cp = beta == 0.0f ? v : beta == 1.0f ? *cp + v : beta * *cp + v;
    }
}

/* One tile of C at c (m x n) from A panel a and B panel b. A partial
** A panel must already be padded. */
static inline void tile(const prob *P, size_t kc, const float *a,
                        ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                        ptrdiff_t rsb, float beta, float *c, size_t m,
                        size_t n) {
  if (P->csc == 1)
    P->kern->ukr(kc, a, rsa, csa, b, rsb, P->alpha, beta, c, P->rsc, m, n);
  else
    tile_t(P, kc, a, rsa, csa, b, rsb, beta, c, m, n);
}

/* Rows of the tile that starts at row ir of [ir, i1): MR, except that a
** thin last tile (12 + 4 rows) runs slower than two halves (8 + 8) when
** the kernel is exact in m. */
static size_t tile_rows(const bp_gemm_kernels *k, size_t ir, size_t i1) {
  size_t mr = k->mr, m = i1 - ir < mr ? i1 - ir : mr;
  if (k->exact_m && i1 - ir > mr && i1 - ir < mr + mr / 2)
    m = (i1 - ir + 1) / 2;
  return m;
}

/* One depth block [pc, pc + kc) of run_direct with B narrow: every B
** panel packed into ws, then each A tile read once for all of them. A
** stored with unit row stride (a transposed weight matrix, rows of W
** side by side) at a stride of 4 KB or more is copied MC rows at a time,
** each row of the block read whole: read in place, 12 floats a row at
** such a stride, it misses the caches on every line (the rows all fall
** in the same few cache sets). Software prefetch of the next block,
** spread over this one's tiles, made it slower on a Sapphire Rapids
** (126 to 150 GFLOP/s without, 64 x 2048 x 2048): the prefetches stall
** waiting for fill buffers, which the copy's own loads then lack. */
static void narrow_block(const prob *P, float *ws, size_t kc, size_t pc,
                         float beta, size_t iedge, const float *abuf,
                         size_t i0, size_t i1, size_t j0, size_t j1) {
  const bp_gemm_kernels *k = P->kern;
  size_t mr = k->mr, nr = k->nr, ir, jr, m, ic;
  float *apk = ws + NARROW * KC;
  for (jr = j0; jr < j1; jr += nr)
    pack_b(k, kc, j1 - jr < nr ? j1 - jr : nr, nr,
           P->B + (ptrdiff_t)pc * P->rsb + (ptrdiff_t)jr * P->csb, P->rsb,
           P->csb, ws + (jr - j0) * kc);
  if (P->rsa == 1 && P->csa >= 1024 && k->packa != NULL) {
    for (ic = i0; ic < i1; ic += MCW) {
      size_t mc = i1 - ic < MCW ? i1 - ic : MCW;
      k->packa(kc, mc, P->A + (ptrdiff_t)ic + (ptrdiff_t)pc * P->csa, P->csa,
               apk);
      for (ir = 0; ir < mc; ir += mr)
        for (jr = j0; jr < j1; jr += nr) {
          tile(P, kc, apk + ir / mr * k->apitch * kc, 1,
               (ptrdiff_t)k->apitch, ws + (jr - j0) * kc,
               (ptrdiff_t)nr, beta,
               P->C + (ptrdiff_t)(ic + ir) * P->rsc + (ptrdiff_t)jr * P->csc,
               mc - ir < mr ? mc - ir : mr, j1 - jr < nr ? j1 - jr : nr);
        }
    }
    return;
  }
  for (ir = i0; ir < i1; ir += m) {
    const float *a = ir >= iedge ? abuf
                     : P->A + (ptrdiff_t)ir * P->rsa + (ptrdiff_t)pc * P->csa;
    ptrdiff_t rsa = ir >= iedge ? 1 : P->rsa,
              csa = ir >= iedge ? (ptrdiff_t)mr : P->csa;
    m = tile_rows(k, ir, i1);
    for (jr = j0; jr < j1; jr += nr)
      tile(P, kc, a, rsa, csa, ws + (jr - j0) * kc, (ptrdiff_t)nr, beta,
           P->C + (ptrdiff_t)ir * P->rsc + (ptrdiff_t)jr * P->csc, m,
           j1 - jr < nr ? j1 - jr : nr);
  }
}

/* Rows [i0, i1) and columns [j0, j1) of C, operands in place. Two loop
** orders over the tiles of a depth block:
** - B narrow (a batch against a weight matrix read as A): every B panel
**   of the block packed once into the workspace, then each A tile read
**   once for all of them, so a weight matrix larger than the caches
**   streams from memory once instead of once per B panel;
** - otherwise B panel by panel, each read in place (or copied into a
**   stack buffer) and used by every A tile. */
static void run_direct(const prob *P, size_t i0, size_t i1, size_t j0,
                       size_t j1) {
  size_t mr = P->kern->mr, nr = P->kern->nr, kcb = kblock(P->K);
  float abuf[BP_MR_MAX * KC] ALIGNED, bbuf[KC * BP_NR_MAX] ALIGNED;
  size_t pc, ir, jr, m;
  /* start of a partial A panel, copied and padded unless the kernel
  ** reads only the rows it computes */
  size_t iedge = P->kern->exact_m ? i1 : i1 - (i1 - i0) % mr;
  /* B narrow and A past the L1 and L2 caches' share (256 KB) */
  float *bws = j1 - j0 <= NARROW && (double)(i1 - i0) * P->K >= 65536.0
                   ? workspace(P->pool) : NULL;
  for (pc = 0; pc < P->K; pc += kcb) {
    size_t kc = P->K - pc < kcb ? P->K - pc : kcb;
    float beta = pc == 0 ? P->beta : 1.0f;
    if (iedge < i1)   /* packed once per depth block, used for every jr */
      pack_a(kc, i1 - iedge, mr,
             P->A + (ptrdiff_t)iedge * P->rsa + (ptrdiff_t)pc * P->csa,
             P->rsa, P->csa, abuf);
    if (bws != NULL) {
      narrow_block(P, bws, kc, pc, beta, iedge, abuf, i0, i1, j0, j1);
      continue;
    }
    for (jr = j0; jr < j1; jr += nr) {
      size_t n = j1 - jr < nr ? j1 - jr : nr;
      const float *b = P->B + (ptrdiff_t)pc * P->rsb + (ptrdiff_t)jr * P->csb;
      ptrdiff_t rsb = P->rsb;
      if (P->csb != 1 || n < nr) {
        pack_b(P->kern, kc, n, nr, b, P->rsb, P->csb, bbuf);
        b = bbuf;
        rsb = (ptrdiff_t)nr;
      }
      for (ir = i0; ir < i1; ir += m) {
        const float *a;
        float *c;
        m = tile_rows(P->kern, ir, i1);
        a = P->A + (ptrdiff_t)ir * P->rsa + (ptrdiff_t)pc * P->csa;
        c = P->C + (ptrdiff_t)ir * P->rsc + (ptrdiff_t)jr * P->csc;
        if (ir >= iedge) {
          tile(P, kc, abuf, 1, (ptrdiff_t)mr, b, rsb, beta, c, m, n);
        } else {
          tile(P, kc, a, P->rsa, P->csa, b, rsb, beta, c, m, n);
        }
      }
    }
  }
}

/* The same with both operands packed block by block into ws. */
static void run_packed(const prob *P, float *ws, size_t i0, size_t i1,
                       size_t j0, size_t j1) {
  size_t mr = P->kern->mr, nr = P->kern->nr, kcb = kblock(P->K);
  float *apack = ws, *bpack = ws + MC * KC;
  size_t jc, pc, ic, jr, ir;
  for (jc = j0; jc < j1; jc += NC) {
    size_t nc = j1 - jc < NC ? j1 - jc : NC;
    for (pc = 0; pc < P->K; pc += kcb) {
      size_t kc = P->K - pc < kcb ? P->K - pc : kcb;
      float beta = pc == 0 ? P->beta : 1.0f;
      for (jr = 0; jr < nc; jr += nr)
        pack_b(P->kern, kc, nc - jr < nr ? nc - jr : nr, nr,
               P->B + (ptrdiff_t)pc * P->rsb + (ptrdiff_t)(jc + jr) * P->csb,
               P->rsb, P->csb, bpack + jr * kc);
      for (ic = i0; ic < i1; ic += MC) {
        size_t mc = i1 - ic < MC ? i1 - ic : MC;
        for (ir = 0; ir < mc; ir += mr)
          pack_a(kc, mc - ir < mr ? mc - ir : mr, mr,
                 P->A + (ptrdiff_t)(ic + ir) * P->rsa + (ptrdiff_t)pc * P->csa,
                 P->rsa, P->csa, apack + ir * kc);
        for (ir = 0; ir < mc; ir += mr) {
          size_t m = mc - ir < mr ? mc - ir : mr;
          for (jr = 0; jr < nc; jr += nr) {
            size_t n = nc - jr < nr ? nc - jr : nr;
            float *c = P->C + (ptrdiff_t)(ic + ir) * P->rsc +
                       (ptrdiff_t)(jc + jr) * P->csc;
            tile(P, kc, apack + ir * kc, 1, (ptrdiff_t)mr, bpack + jr * kc,
                 (ptrdiff_t)nr, beta, c, m, n);
          }
        }
      }
    }
  }
}

static void run(const prob *P, size_t i0, size_t i1, size_t j0, size_t j1) {
  float *ws = P->packed ? workspace(P->pool) : NULL;
  if (ws != NULL) run_packed(P, ws, i0, i1, j0, j1);
  else run_direct(P, i0, i1, j0, j1);
}

/* C = beta C (alpha == 0 or K == 0: A and B are not read). */
static void scale(size_t M, size_t N, float beta, float *C, size_t ldc) {
  size_t i, j;
  for (i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0.0f) memset(c, 0, N * sizeof *c);
    else if (beta != 1.0f)
      for (j = 0; j < N; j++) c[j] *= beta;
  }
}

/* The small cases that bypass blocking; 1 if handled. They depend on
** the shape only, never on the thread count. */
enum { TILES, ROWS, DOTS };

static int thin(const bp_gemm_kernels *k, int ta, int tb, size_t M,
                size_t N, size_t K) {
  /* a few rows or a small product: vectors along the rows of B */
  if (!tb && (M <= 4 || (double)M * N * K <= 16384.0)) return ROWS;
  if (!ta && tb && (M <= 4 || N <= k->dots_n)) return DOTS;
  return TILES;
}

static int small(const bp_gemm_kernels *k, int ta, int tb, size_t M,
                 size_t N, size_t K, float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb, float beta, float *C,
                 size_t ldc) {
  switch (thin(k, ta, tb, M, N, K)) {
  case ROWS:
    k->rows(M, N, K, alpha, A, ta ? 1 : (ptrdiff_t)lda, ta ? (ptrdiff_t)lda : 1,
            B, ldb, beta, C, ldc);
    return 1;
  case DOTS:
    k->dots(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return 1;
  default:
    return 0;
  }
}

static double cost(const bp_gemm_kernels *k, size_t M, size_t N, size_t K,
                   int pack, int transposed) {
  double m = (double)((M + k->mr - 1) / k->mr * k->mr),
         n = (double)((N + k->nr - 1) / k->nr * k->nr);
  return m * n * (double)K + (pack ? 8.0 * (double)K * (double)N : 0.0) +
         (transposed ? 8.0 * (double)M * (double)N : 0.0);
}

static void describe(prob *P, int ta, int tb, size_t M, size_t N, size_t K,
                     float alpha, const float *A, size_t lda, const float *B,
                     size_t ldb, float beta, float *C, size_t ldc) {
  P->kern = kernels();
  P->alpha = alpha;
  P->beta = beta;
  P->K = K;
  P->M = M;
  P->N = N;
  P->A = A;
  P->B = B;
  P->C = C;
  P->rsa = ta ? 1 : (ptrdiff_t)lda;
  P->csa = ta ? (ptrdiff_t)lda : 1;
  P->rsb = tb ? 1 : (ptrdiff_t)ldb;
  P->csb = tb ? (ptrdiff_t)ldb : 1;
  P->rsc = (ptrdiff_t)ldc;
  P->csc = 1;
  P->transposed = 0;
  /* Packing pays off when each packed panel is reused many times. */
  P->packed = M >= 4 * MC && N >= 2 * NC && K >= 64;
  /* Transpose (C^T = B^T A^T) when that costs less: fewer padded
  ** multiply-adds in edge tiles, less to pack (an operand without unit
  ** stride along the vector dimension), plus a strided store of C. */
  if (!P->packed && cost(P->kern, M, N, K, P->csb != 1, 0) >
                        cost(P->kern, N, M, K, P->rsa != 1, 1)) {
    const float *t = P->A;
    ptrdiff_t rsa = P->rsa, csa = P->csa;
    P->A = P->B;
    P->rsa = P->csb;
    P->csa = P->rsb;
    P->B = t;
    P->rsb = csa;
    P->csb = rsa;
    P->rsc = 1;
    P->csc = (ptrdiff_t)ldc;
    P->M = N;
    P->N = M;
    P->transposed = 1;
  }
}

#ifdef BP_USE_CBLAS
static int cblas(int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                 const float *A, size_t lda, const float *B, size_t ldb,
                 float beta, float *C, size_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha,
              A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  return 1;
}
#endif

void bp_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha,
             const float *A, size_t lda, const float *B, size_t ldb,
             float beta, float *C, size_t ldc) {
  bp_gemm_mt(NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Rows of C as dot products, split between threads in pairs of rows (a
** row's values do not depend on the split). */
typedef struct dots_job {
  const bp_gemm_kernels *k;
  size_t M, N, K, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  float alpha, beta;
} dots_job;

static void dots_task(void *arg, size_t t, size_t nt) {
  const dots_job *D = arg;
  size_t lo, hi;
  bp_pool_piece(D->M, 2, t, nt, &lo, &hi);
  if (lo < hi)
    D->k->dots(hi - lo, D->N, D->K, D->alpha, D->A + lo * D->lda, D->lda,
               D->B, D->ldb, D->beta, D->C + lo * D->ldc, D->ldc);
}

typedef struct job {
  const prob *P;
  size_t tiles, step;    /* tiles along the split dimension, their width */
  int by_rows;
} job;

static void task(void *arg, size_t t, size_t nt) {
  const job *J = arg;
  size_t lo = J->tiles * t / nt * J->step, hi = J->tiles * (t + 1) / nt * J->step;
  size_t lim = J->by_rows ? J->P->M : J->P->N;
  if (hi > lim) hi = lim;
  if (lo >= hi) return;
  if (J->by_rows) run(J->P, lo, hi, 0, J->P->N);
  else run(J->P, 0, J->P->M, lo, hi);
}

void bp_gemm_mt(struct bp_pool *pool, int ta, int tb, size_t M, size_t N,
                size_t K, float alpha, const float *A, size_t lda,
                const float *B, size_t ldb, float beta, float *C,
                size_t ldc) {
  prob P;
  size_t nt = bp_pool_size(pool);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scale(M, N, beta, C, ldc);
    return;
  }
  if (nt >= 2 && !ta && tb && M > 4 && N <= kernels()->dots_n &&
      (double)M * N * K >= (double)BP_GEMM_MT_MIN) {   /* small()'s dots, threaded */
    dots_job D = {kernels(), M, N, K, lda, ldb, ldc, A, B, C, alpha, beta};
    bp_pool_run(pool, nt < (M + 1) / 2 ? nt : (M + 1) / 2, dots_task, &D);
    return;
  }
  if (small(kernels(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
#ifdef BP_USE_CBLAS
  /* OpenBLAS threads itself (OPENBLAS_NUM_THREADS); the pool is unused,
  ** and bit-identity across thread counts is OpenBLAS's to give. */
  (void)nt;
  cblas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return;
#endif
  describe(&P, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  P.pool = pool;
  if (nt < 2 || (double)M * N * K < (double)BP_GEMM_MT_MIN) {
    run(&P, 0, P.M, 0, P.N);
  } else {
    /* Split the dimension with more tiles, on tile boundaries. */
    job J;
    size_t tm = (P.M + P.kern->mr - 1) / P.kern->mr,
           tn = (P.N + P.kern->nr - 1) / P.kern->nr;
    J.P = &P;
    J.by_rows = tm > tn;
    J.tiles = J.by_rows ? tm : tn;
    J.step = J.by_rows ? P.kern->mr : P.kern->nr;
    if (nt > J.tiles) nt = J.tiles;
    bp_pool_run(pool, nt, task, &J);
  }
}

int bp_gemm_tiled(int ta, int tb, size_t M, size_t N, size_t K) {
#ifdef BP_USE_CBLAS
  (void)ta, (void)tb, (void)M, (void)N, (void)K;
  return 0;
#else
  return M > 0 && N > 0 && K > 0 && thin(kernels(), ta, tb, M, N, K) == TILES;
#endif
}

void bp_gemm_part(struct bp_pool *pool, int ta, int tb, size_t M, size_t N,
                  size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C,
                  size_t ldc, size_t i0, size_t i1, size_t j0, size_t j1) {
  prob P;
  if (i0 >= i1 || j0 >= j1) return;
  if (alpha == 0.0f) {     /* K > 0: bp_gemm_tiled */
    scale(i1 - i0, j1 - j0, beta, C + i0 * ldc + j0, ldc);
    return;
  }
  describe(&P, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  P.pool = pool;
  if (P.transposed) run(&P, j0, j1, i0, i1);
  else run(&P, i0, i1, j0, j1);
}

const char *bp_gemm_backend(void) {
#ifdef BP_USE_CBLAS
  return "cblas";
#else
  return bp_isa_name(bp_isa_active());
#endif
}
