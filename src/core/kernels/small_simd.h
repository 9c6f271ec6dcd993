/*
** small_simd.h: the SIMD bodies of small.h, written once with GCC vector
** extensions and included by small.c twice, with VW (lanes: 16 or 8),
** TARGET (the target attribute), SUFFIX(name), and the ISA's masked
** loads and stores for row tails: LDM(p, r) loads r < VW floats (the rest
** 0), STM(p, r, v) stores r, FOLD(v) adds a VW-lane vector's halves into
** an __m256 (nothing for VW 8).
** Multiplies and adds stay separate (the build is ISO C: no contraction),
** so the elementwise results equal the portable C bit for bit.
*/
typedef float SUFFIX(vf) __attribute__((vector_size(VW * 4)));
typedef float SUFFIX(vfu)
    __attribute__((vector_size(VW * 4), aligned(4), may_alias));
#define vf SUFFIX(vf)
#define LD(p) (*(const SUFFIX(vfu) *)(const void *)(p))
#define ST(p, v) (*(SUFFIX(vfu) *)(void *)(p) = (v))
#define SPLAT(s) ((vf){0} + (s))

/* The activations of vmath, inlined into the kernel. */
typedef int SUFFIX(vi) __attribute__((vector_size(VW * 4)));
#define VEC_F vf
#define VEC_I SUFFIX(vi)
#include "kernels/vmath_vec.h"
#undef VEC_F
#undef VEC_I

/* Dot products of 8 rows of w (out x in) with x: VW-lane sums in
** registers (the loads of x shared), then one transpose-and-add tree for
** all 8 (RED8) instead of a horizontal sum per row. Rows from `rows` on
** repeat the last one (read, never stored): a short block runs the same
** code. Every row's sum is FOLDed and reduced in the same order. */
TARGET static inline __m256 SUFFIX(dot8)(size_t in, const float *x,
                                         const float *w, size_t rows) {
  size_t k, r = in % VW, full = in - r, e = rows - 1;
#define ROW(i) (w + ((i) < rows ? (i) : e) * in)
  const float *w0 = w, *w1 = ROW(1), *w2 = ROW(2), *w3 = ROW(3),
              *w4 = ROW(4), *w5 = ROW(5), *w6 = ROW(6), *w7 = ROW(7);
  vf a0 = SPLAT(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
     a6 = a0, a7 = a0, xv;
  for (k = 0; k < full; k += VW) {
    xv = LD(x + k);
    a0 += LD(w0 + k) * xv;
    a1 += LD(w1 + k) * xv;
    a2 += LD(w2 + k) * xv;
    a3 += LD(w3 + k) * xv;
    a4 += LD(w4 + k) * xv;
    a5 += LD(w5 + k) * xv;
    a6 += LD(w6 + k) * xv;
    a7 += LD(w7 + k) * xv;
  }
  if (r) {
    xv = LDM(x + k, r);
    a0 += LDM(w0 + k, r) * xv;
    a1 += LDM(w1 + k, r) * xv;
    a2 += LDM(w2 + k, r) * xv;
    a3 += LDM(w3 + k, r) * xv;
    a4 += LDM(w4 + k, r) * xv;
    a5 += LDM(w5 + k, r) * xv;
    a6 += LDM(w6 + k, r) * xv;
    a7 += LDM(w7 + k, r) * xv;
  }
  return red8(FOLD(a0), FOLD(a1), FOLD(a2), FOLD(a3), FOLD(a4), FOLD(a5),
              FOLD(a6), FOLD(a7));
}

/* The same for up to 4 rows (the sums in the low 4 lanes, 0 above). */
TARGET static inline __m256 SUFFIX(dot4)(size_t in, const float *x,
                                         const float *w, size_t rows) {
  size_t k, r = in % VW, full = in - r, e = rows - 1;
  const float *w0 = w, *w1 = ROW(1), *w2 = ROW(2), *w3 = ROW(3);
#undef ROW
  vf a0 = SPLAT(0.0f), a1 = a0, a2 = a0, a3 = a0, xv;
  for (k = 0; k < full; k += VW) {
    xv = LD(x + k);
    a0 += LD(w0 + k) * xv;
    a1 += LD(w1 + k) * xv;
    a2 += LD(w2 + k) * xv;
    a3 += LD(w3 + k) * xv;
  }
  if (r) {
    xv = LDM(x + k, r);
    a0 += LDM(w0 + k, r) * xv;
    a1 += LDM(w1 + k, r) * xv;
    a2 += LDM(w2 + k, r) * xv;
    a3 += LDM(w3 + k, r) * xv;
  }
  return red4(FOLD(a0), FOLD(a1), FOLD(a2), FOLD(a3));
}

/* z = act(y) over m floats, whole vectors then a masked tail, as
** bp_vtanh and bp_vsigmoid (their lanes are computed alike). After all of
** y, not per block of 8: the activations of a layer are independent, and
** a row of them in one loop overlaps their long latencies. */
TARGET static inline void SUFFIX(act_row)(size_t m, const float *y,
                                          float *z, int act) {
  size_t k = 0, r = m % VW;
  if (act == BP_ACT_TANH) {
    for (; k + VW <= m; k += VW) ST(z + k, SUFFIX(vtanh)(LD(y + k)));
    if (r) STM(z + k, r, SUFFIX(vtanh)(LDM(y + k, r)));
  } else {
    for (; k + VW <= m; k += VW) ST(z + k, SUFFIX(vsigmoid)(LD(y + k)));
    if (r) STM(z + k, r, SUFFIX(vsigmoid)(LDM(y + k, r)));
  }
}

/* y = b + W x for one sample, 8 neurons at a time; with act (not
** BP_ACT_NONE) then z = act(y). */
TARGET static void SUFFIX(fwd1)(size_t in, size_t out, const float *x,
                                const float *w, const float *b, float *y,
                                float *z, int act) {
  size_t j = 0;
  for (; j + 8 <= out; j += 8) {
    __m256 s = _mm256_add_ps(_mm256_loadu_ps(b + j),
                             SUFFIX(dot8)(in, x, w + j * in, 8));
    _mm256_storeu_ps(y + j, s);
  }
  if (j < out) {
    size_t rem = out - j;
    __m256 s = rem <= 4 ? SUFFIX(dot4)(in, x, w + j * in, rem)
                        : SUFFIX(dot8)(in, x, w + j * in, rem);
    s = _mm256_add_ps(LDM8(b + j, rem), s);
    STM8(y + j, rem, s);
  }
  if (act != BP_ACT_NONE) SUFFIX(act_row)(out, y, z, act);
}

TARGET void SUFFIX(bp_small_fwd)(size_t n, size_t in, size_t out,
                                 const float *x, const float *w,
                                 const float *b, float *y) {
  size_t s;
  for (s = 0; s < n; s++)
    SUFFIX(fwd1)(in, out, x + s * in, w, b, y + s * out, NULL, BP_ACT_NONE);
}

TARGET void SUFFIX(bp_small_fwd_act)(size_t n, size_t in, size_t out,
                                     const float *x, const float *w,
                                     const float *b, float *y, float *z,
                                     int act) {
  size_t s;
  for (s = 0; s < n; s++)
    SUFFIX(fwd1)(in, out, x + s * in, w, b, y + s * out, z + s * out, act);
}

/* gw[j] += g x: the row in VW-float pieces, the tail masked. */
TARGET void SUFFIX(bp_small_grad)(size_t n, size_t in, size_t out,
                                  const float *x, const float *dy, float *gw,
                                  float *gb) {
  size_t s, j, k, r = in % VW, full = in - r;
  for (s = 0; s < n; s++) {
    const float *xs = x + s * in, *d = dy + s * out;
    for (j = 0; j < out; j++) {
      float *row = gw + j * in;
      vf g = SPLAT(d[j]);
      for (k = 0; k < full; k += VW) ST(row + k, LD(row + k) + g * LD(xs + k));
      if (r) STM(row + k, r, LDM(row + k, r) + g * LDM(xs + k, r));
    }
    for (j = 0; j < out; j++) gb[j] += d[j];
  }
}

/* The optimizer updates: whole vectors, then the tail through the
** portable loop (the same operations, so the same bits). */
TARGET void SUFFIX(bp_upd_sgd)(size_t m, float lr, float *p, const float *g) {
  size_t i;
  vf l = SPLAT(lr);
  for (i = 0; i + VW <= m; i += VW) ST(p + i, LD(p + i) - l * LD(g + i));
  bp_upd_sgd_portable(m - i, lr, p + i, g + i);
}

/* The fused step: each gradient piece summed over the samples in a
** register (from 0, samples in order: what zero_grad then bp_small_grad
** compute) and written once; then the weights move in one pass over the
** whole contiguous matrix. Updating them row by row would load each row
** just after the masked store of the row before, whose 64-byte footprint
** overlaps it: the load then waits for the store to reach the cache. */
TARGET void SUFFIX(bp_small_grad_sgd)(size_t n, size_t in, size_t out,
                                      const float *x, const float *dy,
                                      float *gw, float *gb, float *w,
                                      float *b, float lr) {
  size_t s, j, k, r = in % VW, full = in - r, ro = out % VW;
  for (j = 0; j < out; j++) {
    float *grow = gw + j * in;
    for (k = 0; k < full; k += VW) {
      vf a = SPLAT(0.0f);
      for (s = 0; s < n; s++) a += SPLAT(dy[s * out + j]) * LD(x + s * in + k);
      ST(grow + k, a);
    }
    if (r) {
      vf a = SPLAT(0.0f);
      for (s = 0; s < n; s++)
        a += SPLAT(dy[s * out + j]) * LDM(x + s * in + k, r);
      STM(grow + k, r, a);
    }
  }
  for (j = 0; j + VW <= out; j += VW) {
    vf a = SPLAT(0.0f);
    for (s = 0; s < n; s++) a += LD(dy + s * out + j);
    ST(gb + j, a);
  }
  if (ro) {
    vf a = SPLAT(0.0f);
    for (s = 0; s < n; s++) a += LDM(dy + s * out + j, ro);
    STM(gb + j, ro, a);
  }
  SUFFIX(bp_upd_sgd)(in * out, lr, w, gw);
  SUFFIX(bp_upd_sgd)(out, lr, b, gb);
}

/* dx[s] = sum_j dy[s][j] w[j], a VW-float piece of dx at a time held in a
** register while j runs (bp_gemm's order: from 0, then j = 0, 1, ...). */
TARGET void SUFFIX(bp_small_dx)(size_t n, size_t in, size_t out,
                                const float *dy, const float *w, float *dx) {
  size_t s, j, k, r = in % VW, full = in - r;
  for (s = 0; s < n; s++) {
    const float *d = dy + s * out;
    float *o = dx + s * in;
    for (k = 0; k < full; k += VW) {
      vf a = SPLAT(0.0f);
      for (j = 0; j < out; j++) a += SPLAT(d[j]) * LD(w + j * in + k);
      ST(o + k, a);
    }
    if (r) {
      vf a = SPLAT(0.0f);
      for (j = 0; j < out; j++) a += SPLAT(d[j]) * LDM(w + j * in + k, r);
      STM(o + k, r, a);
    }
  }
}

TARGET void SUFFIX(bp_upd_sgd_wd)(size_t m, float lr, float wd, float *p,
                                  const float *g) {
  size_t i;
  vf l = SPLAT(lr), w = SPLAT(wd);
  for (i = 0; i + VW <= m; i += VW) {
    vf pv = LD(p + i);
    ST(p + i, pv - l * (LD(g + i) + w * pv));
  }
  bp_upd_sgd_wd_portable(m - i, lr, wd, p + i, g + i);
}

TARGET void SUFFIX(bp_upd_sgd_momentum)(size_t m, float lr, float wd,
                                        float mu, float keep, int first,
                                        int nesterov, float *p,
                                        const float *g, float *b) {
  size_t i;
  vf l = SPLAT(lr), w = SPLAT(wd), u = SPLAT(mu), kp = SPLAT(keep);
  /* Four loops, one per (first, nesterov), none branching inside. */
#define MOMENTUM(buf, step)                                     \
  for (i = 0; i + VW <= m; i += VW) {                           \
    vf pv = LD(p + i), d = LD(g + i) + w * pv, bv;              \
    bv = buf;                                                   \
    ST(b + i, bv);                                              \
    ST(p + i, pv - l * (step));                                 \
  }
  if (first && nesterov) MOMENTUM(d, d + u * bv)
  else if (first) MOMENTUM(d, bv)
  else if (nesterov) MOMENTUM(u * LD(b + i) + kp * d, d + u * bv)
  else MOMENTUM(u * LD(b + i) + kp * d, bv)
#undef MOMENTUM
  bp_upd_sgd_momentum_portable(m - i, lr, wd, mu, keep, first, nesterov,
                               p + i, g + i, b + i);
}

/* --- the fused per-sample step (small.h, bp_dense) ---------------------- */

#define vi SUFFIX(vi)
/* Lanes of a where m is set, else of b. */
TARGET static inline vf SUFFIX(sel)(vi m, vf a, vf b) {
  return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* z = act(y) for one layer (vmath's functions lane by lane; with the
** portable ISA active, Sigmoid and Tanh are libm's, as the layers'). */
TARGET static void SUFFIX(dense_act)(const bp_dense *d) {
  size_t m = d->out, k = 0, r = m % VW;
  const float *y = d->y;
  float *z = d->z;
  vf a = SPLAT(d->slope), v;
  switch (d->act) {
  case BP_DENSE_SIGMOID:
  case BP_DENSE_TANH:
    if (bp_isa_active() == BP_ISA_PORTABLE) {
      if (d->act == BP_DENSE_SIGMOID) bp_vsigmoid(m, y, z);
      else bp_vtanh(m, y, z);
    } else {
      SUFFIX(act_row)(m, y, z, d->act == BP_DENSE_SIGMOID ? BP_ACT_SIGMOID
                                                          : BP_ACT_TANH);
    }
    return;
  case BP_DENSE_LEAKY:
    for (; k + VW <= m; k += VW) {
      v = LD(y + k);
      ST(z + k, SUFFIX(sel)(v > SPLAT(0.0f), v, v * a));
    }
    if (r) {
      v = LDM(y + k, r);
      STM(z + k, r, SUFFIX(sel)(v > SPLAT(0.0f), v, v * a));
    }
    return;
  default:
    if (z != y) memcpy(z, y, m * sizeof *z);
  }
}

TARGET void SUFFIX(bp_dense_fwd)(const bp_dense *d, size_t nd,
                                 const float *x) {
  size_t i;
  for (i = 0; i < nd; i++) {
    SUFFIX(fwd1)(d[i].in, d[i].out, x, d[i].w, d[i].b, d[i].y, NULL,
                 BP_ACT_NONE);
    SUFFIX(dense_act)(&d[i]);
    x = d[i].z;
  }
}

/* g = act'(.) g in place: dL/dy from dL/dz, as the activation's backward
** computes it (Sigmoid: g z (1 - z), Tanh: g (1 - z^2), the ReLUs: y > 0
** ? g : slope g). */
TARGET static void SUFFIX(dense_dact)(const bp_dense *d, float *g) {
  size_t m = d->out, k = 0, r = m % VW;
  const float *y = d->y, *z = d->z;
  vf one = SPLAT(1.0f), a = SPLAT(d->slope), v, t;
#define DACT(expr)                                  \
  for (; k + VW <= m; k += VW) {                    \
    v = LD(g + k);                                  \
    t = LD(z + k);                                  \
    ST(g + k, expr);                                \
  }                                                 \
  if (r) {                                          \
    v = LDM(g + k, r);                              \
    t = LDM(z + k, r);                              \
    STM(g + k, r, expr);                            \
  }
  switch (d->act) {
  case BP_DENSE_SIGMOID: DACT(v * t * (one - t)) break;
  case BP_DENSE_TANH: DACT(v * (one - t * t)) break;
  case BP_DENSE_LEAKY:
    z = y;    /* the sign of the input decides */
    DACT(SUFFIX(sel)(t > SPLAT(0.0f), v, v * a)) break;
  default: break;
  }
#undef DACT
}

/* SGD's rule with its constants in registers (loaded once: a store to
** the weights could change a float the compiler would otherwise reread). */
typedef struct SUFFIX(rule_k) {
  vf lr, wd, mu, keep;
  int first, nesterov;
} SUFFIX(rule_k);

/* One vector of parameters p (and momentum buffer q) moved by gradient a
** under rule kind K: bp_upd_sgd, bp_upd_sgd_wd and bp_upd_sgd_momentum's
** operations. K is a constant where this is inlined. */
TARGET static inline __attribute__((always_inline)) vf
SUFFIX(rule)(int K, const SUFFIX(rule_k) *k, vf p, vf a, vf *q) {
  vf d;
  if (K == BP_SGD_PLAIN) return p - k->lr * a;
  d = a + k->wd * p;
  if (K == BP_SGD_DECAY) return p - k->lr * d;
  *q = k->first ? d : k->mu * *q + k->keep * d;
  return p - k->lr * (k->nesterov ? d + k->mu * *q : *q);
}

/* The gradients of one layer, formed in registers from 0 as zero_grad
** then bp_small_grad do (a = 0 + dy[j] x), written to gw and gb when
** `write`, applied under rule K (none when -1). Rows' whole vectors
** first, then every row's masked tail: a row's tail store would
** otherwise overlap the next row's first load, which would wait for it.
** STEP handles the vector a of the gradient at offset o of parameter
** tensor p (gradient g, momentum buffer q) with LOAD and STORE. */
TARGET static inline __attribute__((always_inline)) void
SUFFIX(dense_step)(int K, const bp_dense *d, const float *x, const float *dy,
                   const bp_sgd_rule *s, int write) {
  size_t in = d->in, out = d->out, r = in % VW, full = in - r, j, k;
  size_t ro = out % VW;
  float *w = d->w, *b = d->b, *gw = d->gw, *gb = d->gb;   /* kept in */
  float *qw = NULL, *qb = NULL;                            /* registers */
  vf a, q = SPLAT(0.0f);
  SUFFIX(rule_k) rk;
  if (K >= 0) {
    rk.lr = SPLAT(s->lr);
    rk.wd = SPLAT(s->wd);
    rk.mu = SPLAT(s->mu);
    rk.keep = SPLAT(s->keep);
    rk.first = s->first;
    rk.nesterov = s->nesterov;
  }
  if (K == BP_SGD_MOMENTUM) {
    qw = s->buf + (w - s->params);
    qb = s->buf + (b - s->params);
  }
#define STEP(p, g, q_, o, LOAD, STORE)                            \
  do {                                                            \
    if (write) STORE((g) + (o), a);                               \
    if (K == BP_SGD_MOMENTUM && !rk.first) q = LOAD((q_) + (o));  \
    if (K >= 0) STORE((p) + (o), SUFFIX(rule)(K, &rk, LOAD((p) + (o)), a, &q)); \
    if (K == BP_SGD_MOMENTUM) STORE((q_) + (o), q);               \
  } while (0)
#define LDF(p) LD(p)
#define STF(p, v) ST(p, v)
#define LDR(p) LDM(p, r)
#define STR(p, v) STM(p, r, v)
#define LDO(p) LDM(p, ro)
#define STO(p, v) STM(p, ro, v)
  for (j = 0; j < out; j++) {
    vf g = SPLAT(dy[j]);
    for (k = 0; k < full; k += VW) {
      a = SPLAT(0.0f) + g * LD(x + k);
      STEP(w, gw, qw, j * in + k, LDF, STF);
    }
  }
  if (r)
    for (j = 0; j < out; j++) {
      a = SPLAT(0.0f) + SPLAT(dy[j]) * LDM(x + full, r);
      STEP(w, gw, qw, j * in + full, LDR, STR);
    }
  for (k = 0; k + VW <= out; k += VW) {
    a = SPLAT(0.0f) + LD(dy + k);
    STEP(b, gb, qb, k, LDF, STF);
  }
  if (ro) {
    a = SPLAT(0.0f) + LDM(dy + k, ro);
    STEP(b, gb, qb, k, LDO, STO);
  }
#undef STEP
#undef LDF
#undef STF
#undef LDR
#undef STR
#undef LDO
#undef STO
}

TARGET void SUFFIX(bp_dense_bwd)(const bp_dense *d, size_t nd,
                                 const float *x, float *dz, float *g1,
                                 const bp_sgd_rule *rule, int write) {
  size_t i = nd;
  int kind = rule != NULL ? rule->kind : -1;
  while (i-- > 0) {
    const bp_dense *l = &d[i];
    const float *xi = i > 0 ? d[i - 1].z : x;
    float *t;
    SUFFIX(dense_dact)(l, dz);
    if (i > 0) SUFFIX(bp_small_dx)(1, l->in, l->out, dz, l->w, g1);
    switch (kind) {
    case BP_SGD_PLAIN: SUFFIX(dense_step)(BP_SGD_PLAIN, l, xi, dz, rule, write); break;
    case BP_SGD_DECAY: SUFFIX(dense_step)(BP_SGD_DECAY, l, xi, dz, rule, write); break;
    case BP_SGD_MOMENTUM: SUFFIX(dense_step)(BP_SGD_MOMENTUM, l, xi, dz, rule, write); break;
    default: SUFFIX(dense_step)(-1, l, xi, dz, rule, 1); break;
    }
    t = dz;
    dz = g1;
    g1 = t;
  }
}

#undef vi
#undef vf
#undef LD
#undef ST
#undef SPLAT
