/*
** small.c: the portable kernels of small.h, the AVX-512 and AVX2 ones
** (bodies in small_simd.h) and the run-time choice between them.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic.h"
#include "base/cpu.h"
#include "kernels/nocontract.h"
#include "kernels/small.h"
#include "kernels/vmath.h"

/* --- portable: plain loops, bp_gemm's order ---------------------------- */

static float dot8(size_t n, const float *a, const float *b) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0, r;
  for (; k + 8 <= n; k += 8)
    for (r = 0; r < 8; r++) s[r] += a[k + r] * b[k + r];
  for (; k < n; k++) s[0] += a[k] * b[k];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static void bp_small_fwd_portable(size_t n, size_t in, size_t out,
                                  const float *x, const float *w,
                                  const float *b, float *y) {
  size_t s, j;
  for (s = 0; s < n; s++)
    for (j = 0; j < out; j++)
      y[s * out + j] = b[j] + dot8(in, w + j * in, x + s * in);
}

static void bp_small_grad_portable(size_t n, size_t in, size_t out,
                                   const float *x, const float *dy,
                                   float *restrict gw, float *restrict gb) {
  size_t s, j, k;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * in, *d = dy + s * out;
    for (j = 0; j < out; j++) {
      float g = d[j], *row = gw + j * in;
      for (k = 0; k < in; k++) row[k] += g * xs[k];
      gb[j] += g;
    }
  }
}

static void bp_small_grad_sgd_portable(size_t n, size_t in, size_t out,
                                       const float *x, const float *dy,
                                       float *restrict gw,
                                       float *restrict gb, float *restrict w,
                                       float *restrict b, float lr) {
  size_t s, j, k;
  for (j = 0; j < out; j++) {
    float *grow = gw + j * in, *wrow = w + j * in, a;
    for (k = 0; k < in; k++) grow[k] = 0.0f;
    for (s = 0; s < n; s++) {
      float g = dy[s * out + j];
      for (k = 0; k < in; k++) grow[k] += g * x[s * in + k];
    }
    for (k = 0; k < in; k++) wrow[k] -= lr * grow[k];
    a = 0.0f;
    for (s = 0; s < n; s++) a += dy[s * out + j];
    gb[j] = a;
    b[j] -= lr * a;
  }
}

static void bp_small_dx_portable(size_t n, size_t in, size_t out,
                                 const float *dy, const float *w,
                                 float *restrict dx) {
  size_t s, j, k;
  for (s = 0; s < n; s++) {
    const float *d = dy + s * out;
    float *o = dx + s * in;
    for (k = 0; k < in; k++) o[k] = 0.0f;
    for (j = 0; j < out; j++)
      for (k = 0; k < in; k++) o[k] += d[j] * w[j * in + k];
  }
}

static void bp_upd_sgd_portable(size_t m, float lr, float *restrict p,
                                const float *restrict g) {
  size_t i;
  for (i = 0; i < m; i++) p[i] -= lr * g[i];
}

static void bp_upd_sgd_wd_portable(size_t m, float lr, float wd,
                                   float *restrict p,
                                   const float *restrict g) {
  size_t i;
  for (i = 0; i < m; i++) p[i] -= lr * (g[i] + wd * p[i]);
}

static void bp_upd_sgd_momentum_portable(size_t m, float lr, float wd,
                                         float mu, float keep, int first,
                                         int nesterov, float *restrict p,
                                         const float *restrict g,
                                         float *restrict b) {
  size_t i;
  for (i = 0; i < m; i++) {
    float d = g[i] + wd * p[i];
    float v = first ? d : mu * b[i] + keep * d;
    b[i] = v;
    p[i] -= lr * (nesterov ? d + mu * v : v);
  }
}

/* The fused per-sample step (small.h, bp_dense): the layers' own loops
** one after the other, rows ld floats apart. Sigmoid and Tanh go through
** vmath's dispatch, as bp_small_fwd_act does after the portable product. */
static void dense_act_portable(const bp_dense *d) {
  size_t k, m = d->out;
  const float *y = d->y;
  float *z = d->z;
  switch (d->act) {
  case BP_DENSE_SIGMOID: bp_vsigmoid(m, y, z); break;
  case BP_DENSE_TANH: bp_vtanh(m, y, z); break;
  case BP_DENSE_LEAKY:
    for (k = 0; k < m; k++) z[k] = y[k] > 0.0f ? y[k] : d->slope * y[k];
    break;
  default:
    if (z != y) memcpy(z, y, m * sizeof *z);
  }
}

static void bp_dense_fwd_portable(const bp_dense *d, size_t nd,
                                  const float *x) {
  size_t i, j;
  for (i = 0; i < nd; i++) {
    for (j = 0; j < d[i].out; j++)     /* bp_small_fwd_portable's sums */
      d[i].y[j] = d[i].b[j] + dot8(d[i].in, d[i].w + j * d[i].ld, x);
    dense_act_portable(&d[i]);
    x = d[i].z;
  }
}

static void dense_dact_portable(const bp_dense *d, float *g) {
  size_t k, m = d->out;
  const float *y = d->y, *z = d->z;
  for (k = 0; k < m; k++)
    switch (d->act) {
    case BP_DENSE_SIGMOID: g[k] = g[k] * z[k] * (1.0f - z[k]); break;
    case BP_DENSE_TANH: g[k] = g[k] * (1.0f - z[k] * z[k]); break;
    case BP_DENSE_LEAKY: g[k] = y[k] > 0.0f ? g[k] : d->slope * g[k]; break;
    default: return;
    }
}

/* Parameter p moved by gradient a (momentum buffer *q): the portable
** update loops' operations. */
static float rule_portable(const bp_sgd_rule *s, float p, float a, float *q) {
  float d;
  if (s->kind == BP_SGD_PLAIN) return p - s->lr * a;
  d = a + s->wd * p;
  if (s->kind == BP_SGD_DECAY) return p - s->lr * d;
  *q = s->first ? d : s->mu * *q + s->keep * d;
  return p - s->lr * (s->nesterov ? d + s->mu * *q : *q);
}

/* m parameters p (momentum q) with gradients a[k] = 0 + g src[k]. */
static void step_portable(size_t m, float g, const float *src, float *p,
                          float *q, float *gp, const bp_sgd_rule *s,
                          int write) {
  size_t k;
  if (s == NULL || s->kind != BP_SGD_MOMENTUM) q = NULL;
  for (k = 0; k < m; k++) {
    float a = 0.0f + g * src[k], t = 0.0f;
    if (write) gp[k] = a;
    if (s == NULL) continue;
    if (q != NULL) t = q[k];
    p[k] = rule_portable(s, p[k], a, &t);
    if (q != NULL) q[k] = t;
  }
}

static void bp_dense_bwd_portable(const bp_dense *d, size_t nd,
                                  const float *x, float *dz, float *g1,
                                  const bp_sgd_rule *rule, int write) {
  size_t i = nd, j, k;
  if (rule == NULL) write = 1;
  while (i-- > 0) {
    const bp_dense *l = &d[i];
    const float *xi = i > 0 ? d[i - 1].z : x;
    float *t;
    dense_dact_portable(l, dz);
    if (i > 0) {                       /* bp_small_dx_portable's sums */
      for (k = 0; k < l->in; k++) g1[k] = 0.0f;
      for (j = 0; j < l->out; j++)
        for (k = 0; k < l->in; k++) g1[k] += dz[j] * l->w[j * l->ld + k];
    }
    for (j = 0; j < l->out; j++)
      step_portable(l->in, dz[j], xi, l->w + j * l->ld,
                    l->qw ? l->qw + j * l->ld : NULL, l->gw + j * l->in,
                    rule, write);
    for (k = 0; k < l->out; k++)
      step_portable(1, 1.0f, dz + k, l->b + k, l->qb ? l->qb + k : NULL,
                    l->gb + k, rule, write);
    t = dz;
    dz = g1;
    g1 = t;
  }
}

/* The loss of a run's sample k at z (m outputs) into *l, dL/dz into
** r->dz: nn/loss.c's mse (operations and order) or the run's function.
** Nonzero when that function stops the run. */
static int run_loss(bp_dense_run *r, size_t k, const float *z, size_t m,
                    double *l) {
  const float *t = r->y + k * r->ywidth;
  float g = 2.0f / (float)r->mse_div;
  double s = 0.0;
  size_t i;
  if (r->mse_div <= 0.0) return r->loss(r->ctx, k, z, r->dz, l);
  for (i = 0; i < m; i++) {
    float d = z[i] - t[i];
    s += (double)d * d;
    r->dz[i] = g * d;
  }
  *l = s / r->mse_div;
  return 0;
}

/* The input row of a run's sample k (NULL: the run stops). */
static const float *run_row(const bp_dense_run *r, size_t k, size_t in) {
  return r->row != NULL ? r->row(r->ctx, k) : r->x + k * in;
}

/* A run stopped at sample i for `why` (small.h). */
static int run_stop(bp_dense_run *r, size_t i, int why, double l) {
  r->done = i;
  r->loss_at = l;
  return why;
}

static int bp_dense_train_portable(const bp_dense *d, size_t nd,
                                   bp_sgd_rule rule, bp_dense_run *r) {
  size_t i;
  for (i = 0; i < r->count; i++) {
    size_t k = r->order[i];
    const float *x = run_row(r, k, d[0].in);
    double l;
    if (x == NULL) return run_stop(r, i, 1, 0.0);
    bp_dense_fwd_portable(d, nd, x);
    if (run_loss(r, k, d[nd - 1].z, d[nd - 1].out, &l))
      return run_stop(r, i, 1, 0.0);
    if (!isfinite(l)) return run_stop(r, i, 2, l);
    if (r->mse_div > 0.0) *r->total += l;
    bp_dense_bwd_portable(d, nd, x, r->dz, r->g1, &rule, 0);
    rule.first = 0;
  }
  r->done = r->count;
  return 0;
}

/* --- SIMD versions ---------------------------------------------------- */

#if defined(__GNUC__) && defined(__x86_64__)
#define BP_SMALL_SIMD 1
#include <immintrin.h>

/* A lane of the mask vector is on when its index is below r; masked-off
** lanes are neither read nor written (no fault). */
#define MASK8(r) \
  _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(r)), \
                     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))

/* Sums of 8 vectors' lanes, one per lane of the result, each added as
** ((v0+v1) + (v2+v3)) + ((v4+v5) + (v6+v7)) (hadd pairs neighbours; the
** last add joins the 128-bit halves). */
__attribute__((target("avx2"))) static inline __m256
red8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5,
     __m256 a6, __m256 a7) {
  __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                       _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* The same for 4 vectors, in the same order; lanes 4 to 7 are 0. */
__attribute__((target("avx2"))) static inline __m256
red4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
  return _mm256_insertf128_ps(_mm256_setzero_ps(), s, 0);
}

#define VW 16
#define TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define SUFFIX(name) name##_avx512
#define MASK16(r) ((__mmask16)((1u << (r)) - 1u))
/* 8-lane masked loads and stores through mask registers (AMD's
** vmaskmovps store is microcoded: many times slower). */
#define LDM8(p, r) _mm256_maskz_loadu_ps((__mmask8)MASK16(r), (p))
#define STM8(p, r, v) _mm256_mask_storeu_ps((p), (__mmask8)MASK16(r), (v))
#define LDM(p, r) ((vf_avx512)_mm512_maskz_loadu_ps(MASK16(r), (p)))
#define STM(p, r, v) _mm512_mask_storeu_ps((p), MASK16(r), (__m512)(v))
/* v with the lanes from r on set to 0 (in a register). */
#define KEEP(v, r) ((vf_avx512)_mm512_maskz_mov_ps(MASK16(r), (__m512)(v)))
/* 16 lanes to 8: lane i + lane i + 8. */
#define FOLD(v)                                                        \
  _mm256_add_ps(_mm512_castps512_ps256((__m512)(v)),                   \
                _mm256_castpd_ps(_mm512_extractf64x4_pd(               \
                    _mm512_castps_pd((__m512)(v)), 1)))
#include "kernels/small_simd.h"
#undef VW
#undef TARGET
#undef SUFFIX
#undef LDM
#undef STM
#undef KEEP
#undef FOLD
#undef LDM8
#undef STM8

#define VW 8
#define TARGET __attribute__((target("avx2,fma")))
#define SUFFIX(name) name##_avx2
#define LDM(p, r) ((vf_avx2)_mm256_maskload_ps((p), MASK8(r)))
#define STM(p, r, v) _mm256_maskstore_ps((p), MASK8(r), (__m256)(v))
#define KEEP(v, r) \
  ((vf_avx2)_mm256_and_ps((__m256)(v), _mm256_castsi256_ps(MASK8(r))))
#define FOLD(v) ((__m256)(v))
#define LDM8(p, r) _mm256_maskload_ps((p), MASK8(r))
#define STM8(p, r, v) _mm256_maskstore_ps((p), MASK8(r), (v))
#include "kernels/small_simd.h"
#endif

/* --- dispatch --------------------------------------------------------- */

enum { PORTABLE, AVX2, AVX512 };

/* The choice is made once and never changes afterwards: the kernels it
** picks between compute the same function (see small.h), so two first
** calls racing (two threads, each with its own Lua state) may both make
** it and store the same value (base/atomic.h). */
static int chosen = -1;

static int has(int isa) {
#ifdef BP_SMALL_SIMD
  if (isa == AVX512) return __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("avx512vl") &&
                            __builtin_cpu_supports("avx2") &&
                            __builtin_cpu_supports("fma");
  if (isa == AVX2) return __builtin_cpu_supports("avx2") &&
                          __builtin_cpu_supports("fma");
#endif
  return isa == PORTABLE;
}

static int isa(void) {
  int c = BP_LOAD_RELAXED(&chosen);
  if (c < 0) {
    const char *env = getenv("BACKPROP_ISA");
    c = has(AVX512) ? AVX512 : has(AVX2) ? AVX2 : PORTABLE;
    if (env != NULL) {
      int want = strcmp(env, "portable") == 0 ? PORTABLE
                 : strcmp(env, "avx2") == 0   ? AVX2
                 : strcmp(env, "avx512") == 0 ? AVX512 : -1;
      if (want >= 0 && has(want)) c = want;
    }
    BP_STORE_RELAXED(&chosen, c);
  }
  return c;
}

const char *bp_small_isa(void) {
  static const char *const names[] = {"portable", "avx2", "avx512"};
  return names[isa()];
}

#ifdef BP_SMALL_SIMD
#define PICK(name, args)                                  \
  switch (isa()) {                                        \
  case AVX512: name##_avx512 args; return;                \
  case AVX2: name##_avx2 args; return;                    \
  default: name##_portable args; return;                  \
  }
#else
#define PICK(name, args) name##_portable args;
#endif

void bp_small_fwd(size_t n, size_t in, size_t out, const float *x,
                  const float *w, const float *b, float *y) {
  PICK(bp_small_fwd, (n, in, out, x, w, b, y))
}

void bp_small_fwd_act(size_t n, size_t in, size_t out, const float *x,
                      const float *w, const float *b, float *y, float *z,
                      int act) {
#ifdef BP_SMALL_SIMD
  /* vmath's portable activations are libm's: only the SIMD ones match. */
  if (act != BP_ACT_NONE && bp_isa_active() != BP_ISA_PORTABLE)
    switch (isa()) {
    case AVX512: bp_small_fwd_act_avx512(n, in, out, x, w, b, y, z, act); return;
    case AVX2: bp_small_fwd_act_avx2(n, in, out, x, w, b, y, z, act); return;
    default: break;
    }
#endif
  bp_small_fwd(n, in, out, x, w, b, y);
  if (act == BP_ACT_SIGMOID) bp_vsigmoid(n * out, y, z);
  else if (act == BP_ACT_TANH) bp_vtanh(n * out, y, z);
}

void bp_small_grad(size_t n, size_t in, size_t out, const float *x,
                   const float *dy, float *gw, float *gb) {
  PICK(bp_small_grad, (n, in, out, x, dy, gw, gb))
}

void bp_small_grad_sgd(size_t n, size_t in, size_t out, const float *x,
                       const float *dy, float *gw, float *gb, float *w,
                       float *b, float lr) {
  PICK(bp_small_grad_sgd, (n, in, out, x, dy, gw, gb, w, b, lr))
}

void bp_small_dx(size_t n, size_t in, size_t out, const float *dy,
                 const float *w, float *dx) {
  PICK(bp_small_dx, (n, in, out, dy, w, dx))
}

void bp_dense_fwd(const bp_dense *d, size_t nd, const float *x) {
  PICK(bp_dense_fwd, (d, nd, x))
}

void bp_dense_bwd(const bp_dense *d, size_t nd, const float *x, float *dz,
                  float *g1, const bp_sgd_rule *rule, int write) {
  PICK(bp_dense_bwd, (d, nd, x, dz, g1, rule, write))
}

int bp_dense_train(const bp_dense *d, size_t nd, bp_sgd_rule rule,
                   bp_dense_run *run) {
#ifdef BP_SMALL_SIMD
  switch (isa()) {
  case AVX512: return bp_dense_train_avx512(d, nd, rule, run);
  case AVX2: return bp_dense_train_avx2(d, nd, rule, run);
  default: break;
  }
#endif
  return bp_dense_train_portable(d, nd, rule, run);
}

/* The optimizer updates follow cpu.h's ISA, as every other optimizer's
** loops (kernels/update.h), so bp_isa_set moves them too. */
void bp_upd_sgd(size_t m, float lr, float *p, const float *g) {
  BP_ISA_CALL(bp_upd_sgd, (m, lr, p, g))
}

void bp_upd_sgd_wd(size_t m, float lr, float wd, float *p, const float *g) {
  BP_ISA_CALL(bp_upd_sgd_wd, (m, lr, wd, p, g))
}

void bp_upd_sgd_momentum(size_t m, float lr, float wd, float mu, float keep,
                         int first, int nesterov, float *p, const float *g,
                         float *b) {
  BP_ISA_CALL(bp_upd_sgd_momentum,
              (m, lr, wd, mu, keep, first, nesterov, p, g, b))
}
