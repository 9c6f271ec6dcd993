/*
** bench/gemm.c: our bp_gemm against OpenBLAS's cblas_sgemm on the same
** operands, in one process, best of several timings each. OpenBLAS is
** loaded with dlopen, so the benchmark builds without it and prints a
** note when it is missing. OPENBLAS_CORETYPE is whatever the environment
** says (make bench runs this twice: as set, and unset).
**
** Times are the best of several samples: the calling thread's CPU time
** with one thread, the wall clock with more.
**
** One machine-readable line per case:
**   gemm 1024x1024x1024 nn case=square threads=1 isa=avx512 ours_gflops=... \
**     openblas_gflops=... ratio=... ours_ns=... openblas_ns=... coretype=...
** A "train" case is the three products of one training step of a Linear
** layer (out N, in K) at batch M: y = x W^T (M x N x K), dW = dy^T x
** (N x K x M) and dx = dy W (M x K x N), timed together; its GFLOP/s are
** those of the three (issue 12: flat from width 256 to 4096).
**
** Usage: gemm [--isa NAME] [--threads N] [--quick]
*/
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cpu.h"
#include "kernels/gemm.h"
#include "base/threadpool.h"
#include "tensor/tensor.h"

typedef void sgemm_fn(int order, int ta, int tb, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef struct shape {
  const char *what;
  int ta, tb;
  size_t M, N, K;
  int train;        /* the three products of a layer's training step */
} shape;

static const shape shapes[] = {
    {"square", 0, 0, 1024, 1024, 1024, 0},
    /* Fashion-MNIST MLP 784-256-128-10, batch 64: y = x W^T, dW = dy^T x,
    ** dx = dy W (W is out x in, as linear.c stores it). */
    {"mlp_fwd1", 0, 1, 64, 256, 784, 0},
    {"mlp_fwd2", 0, 1, 64, 128, 256, 0},
    {"mlp_fwd3", 0, 1, 64, 10, 128, 0},
    {"mlp_dw1", 1, 0, 256, 784, 64, 0},
    {"mlp_dw2", 1, 0, 128, 256, 64, 0},
    {"mlp_dw3", 1, 0, 10, 128, 64, 0},
    {"mlp_dx1", 0, 0, 64, 784, 256, 0},
    {"mlp_dx2", 0, 0, 64, 256, 128, 0},
    {"mlp_dx3", 0, 0, 64, 128, 10, 0},
    /* classic 30-16-1 at batch 1 and 32, game net 16-32-32-4 at batch 1 */
    {"classic_fwd1_b1", 0, 1, 1, 16, 30, 0},
    {"classic_fwd2_b1", 0, 1, 1, 1, 16, 0},
    {"classic_dw1_b1", 1, 0, 16, 30, 1, 0},
    {"classic_fwd1_b32", 0, 1, 32, 16, 30, 0},
    {"classic_dw1_b32", 1, 0, 16, 30, 32, 0},
    {"classic_dx2_b32", 0, 0, 32, 16, 1, 0},
    {"game_fwd1", 0, 1, 1, 32, 16, 0},
    {"game_fwd2", 0, 1, 1, 32, 32, 0},
    {"game_fwd3", 0, 1, 1, 4, 32, 0},
    /* the Fashion-MNIST CNN's products at batch 64 (conv.c): the first
    ** layer's forward W col and dW += dY col^T a sample at a time, the
    ** second's on chunks of 2 samples (forward W col, dW += dY col^T,
    ** dcol = W^T dY), and its dense 1568-128 layer */
    {"cnn_c1_fwd", 0, 0, 16, 784, 9, 0},
    {"cnn_c1_dw", 0, 1, 16, 9, 784, 0},
    {"cnn_c2_fwd", 0, 0, 32, 392, 144, 0},
    {"cnn_c2_dw", 0, 1, 32, 144, 392, 0},
    {"cnn_c2_dx", 1, 0, 144, 392, 32, 0},
    {"cnn_fc", 0, 1, 64, 128, 1568, 1},
    /* wide layers at batch 64, a training step's three products each */
    {"train_w256", 0, 1, 64, 256, 256, 1},
    {"train_w512", 0, 1, 64, 512, 512, 1},
    {"train_w1024", 0, 1, 64, 1024, 1024, 1},
    {"train_w2048", 0, 1, 64, 2048, 2048, 1},
    {"train_w4096", 0, 1, 64, 4096, 4096, 1},
};

/* One thread: the calling thread's CPU time, which a machine busy with
** other work disturbs far less than the wall clock (both libraries run
** on the calling thread then); more: the wall clock. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec ts;
  clock_gettime(clock_id, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fill(float *x, size_t n, unsigned *s) {
  size_t i;
  for (i = 0; i < n; i++) {
    *s = *s * 1664525u + 1013904223u;
    x[i] = (float)((*s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
  }
}

typedef struct run_arg {
  const shape *s;
  const float *A, *B;
  float *C;
  float *D, *E;     /* train: dW and dx */
  sgemm_fn *blas;
  bp_pool *pool;
} run_arg;

static void gemm(const run_arg *r, int ours, int ta, int tb, size_t M,
                 size_t N, size_t K, const float *A, const float *B,
                 float *C) {
  size_t lda = ta ? M : K, ldb = tb ? K : N;
  if (ours)
    bp_gemm_mt(r->pool, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
  else
    r->blas(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, (int)M,
            (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, 0.0f, C, (int)N);
}

/* A: x (M x K), B: W (N x K), C: y and dy (M x N), D: dW, E: dx. */
static void call(const run_arg *r, int ours) {
  const shape *s = r->s;
  if (!s->train) {
    gemm(r, ours, s->ta, s->tb, s->M, s->N, s->K, r->A, r->B, r->C);
    return;
  }
  gemm(r, ours, 0, 1, s->M, s->N, s->K, r->A, r->B, r->C);
  gemm(r, ours, 1, 0, s->N, s->K, s->M, r->C, r->A, r->D);
  gemm(r, ours, 0, 0, s->M, s->K, s->N, r->C, r->B, r->E);
}

static long calibrate(const run_arg *r, int ours, double budget) {
  long reps = 1, i;
  double t0;
  call(r, ours);   /* warm up, page in */
  for (;;) {
    t0 = now();
    for (i = 0; i < reps; i++) call(r, ours);
    if (now() - t0 >= budget / 4 || reps > (1L << 28)) return reps;
    reps *= 4;
  }
}

static double sample(const run_arg *r, int ours, long reps) {
  double t0 = now();
  long i;
  for (i = 0; i < reps; i++) call(r, ours);
  return (now() - t0) / reps;
}

/* Best time per call of ours (t[0]) and OpenBLAS (t[1]), samples taken
** alternately so that both see the same machine load. */
static void best(const run_arg *r, int samples, double budget, double *t) {
  long reps0 = calibrate(r, 1, budget), reps1 = r->blas ? calibrate(r, 0, budget) : 0;
  int k;
  t[0] = t[1] = 1e30;
  for (k = 0; k < samples; k++) {
    double a = sample(r, 1, reps0);
    if (a < t[0]) t[0] = a;
    if (r->blas) {
      a = sample(r, 0, reps1);
      if (a < t[1]) t[1] = a;
    }
  }
}

int main(int argc, char **argv) {
  const char *core = getenv("OPENBLAS_CORETYPE");
  sgemm_fn *blas = NULL;
  void *lib = NULL;
  bp_pool *pool = NULL;
  bp_error err;
  size_t nthreads = 1, i;
  const char *only = NULL;
  int quick = 0, a;
  double budget = 0.02;
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--isa") == 0 && a + 1 < argc) {
      bp_isa isa;
      if (!bp_isa_parse(argv[++a], &isa) || bp_isa_set(isa, NULL, &err)) {
        fprintf(stderr, "gemm: cannot use ISA %s\n", argv[a]);
        return 1;
      }
    } else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
      nthreads = (size_t)atoi(argv[++a]);
    } else if (strcmp(argv[a], "--only") == 0 && a + 1 < argc) {
      only = argv[++a];
    } else if (strcmp(argv[a], "--quick") == 0) {
      quick = 1;
      budget = 0.005;
    } else {
      fprintf(stderr, "usage: gemm [--isa NAME] [--threads N] [--quick] [--only NAME_PREFIX]\n");
      return 1;
    }
  }
  if (nthreads == 1) clock_id = CLOCK_THREAD_CPUTIME_ID;
  if (nthreads > 1 && bp_pool_new(nthreads, &pool, &err) != BP_OK) {
    fprintf(stderr, "gemm: %s\n", err.msg);
    return 1;
  }
  lib = dlopen("libopenblas.so.0", RTLD_NOW);
  if (lib == NULL) lib = dlopen("libopenblas.so", RTLD_NOW);
  if (lib != NULL) *(void **)&blas = dlsym(lib, "cblas_sgemm");
  if (blas == NULL)
    printf("note: OpenBLAS not found (libopenblas.so.0), ours only\n");
  if (blas != NULL && nthreads == 1) {
    /* Compare one core with one core. */
    void (*set)(int);
    *(void **)&set = dlsym(lib, "openblas_set_num_threads");
    if (set != NULL) set(1);
  }
  for (i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    const shape *s = &shapes[i];
    unsigned seed = 12345;
    float *A, *B, *C;
    run_arg r;
    double flops = (s->train ? 6.0 : 2.0) * s->M * s->N * s->K, t[2], to, tb;
    int samples = quick ? 5 : 15;
    if (only != NULL && strncmp(s->what, only, strlen(only)) != 0) continue;
    A = bp_alloc(s->M * s->K);
    B = bp_alloc(s->K * s->N);
    C = bp_alloc(s->M * s->N);
    r.D = bp_alloc(s->train ? s->N * s->K : 1);
    r.E = bp_alloc(s->train ? s->M * s->K : 1);
    if (A == NULL || B == NULL || C == NULL || r.D == NULL || r.E == NULL) return 1;
    fill(A, s->M * s->K, &seed);
    fill(B, s->K * s->N, &seed);
    r.s = s; r.A = A; r.B = B; r.C = C; r.blas = blas; r.pool = pool;
    best(&r, samples, budget, t);
    to = t[0];
    tb = t[1];
    printf("gemm %lux%lux%lu %s case=%s threads=%lu isa=%s ours_gflops=%.2f",
           (unsigned long)s->M, (unsigned long)s->N, (unsigned long)s->K,
           s->train ? "train" : s->ta ? (s->tb ? "tt" : "tn") : (s->tb ? "nt" : "nn"),
           s->what,
           (unsigned long)nthreads, bp_gemm_backend(), flops / to * 1e-9);
    if (blas)
      printf(" openblas_gflops=%.2f ratio=%.3f", flops / tb * 1e-9, tb / to);
    printf(" ours_ns=%.0f", to * 1e9);
    if (blas) printf(" openblas_ns=%.0f", tb * 1e9);
    printf(" coretype=%s\n", core && *core ? core : "unset");
    fflush(stdout);
    bp_free(A); bp_free(B); bp_free(C); bp_free(r.D); bp_free(r.E);
  }
  bp_pool_free(pool);
  if (lib) dlclose(lib);
  return 0;
}
