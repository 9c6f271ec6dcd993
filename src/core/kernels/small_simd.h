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

/* Dot products of 8 rows of w (rows ld floats apart) with x: VW-lane
** sums in registers (the loads of x shared), then one transpose-and-add
** tree for all 8 (RED8) instead of a horizontal sum per row. Rows from
** `rows` on repeat the last one (read, never stored): a short block runs
** the same code. Every row's sum is FOLDed and reduced in the same order.
** The last piece of x (in % VW floats) is loaded masked; the rows' too,
** unless `padded` says they hold 0 up to a whole vector (the same
** products: 0 either way). */
#define WTAIL(p) (padded ? (vf)LD((p) + k) : LDM((p) + k, r))
TARGET static inline __attribute__((always_inline)) __m256 SUFFIX(dot8)(size_t in, size_t ld, int padded,
                                         const float *x, const float *w,
                                         size_t rows) {
  size_t k, r = in % VW, full = in - r, e = rows - 1;
#define ROW(i) (w + ((i) < rows ? (i) : e) * ld)
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
    a0 += WTAIL(w0) * xv;
    a1 += WTAIL(w1) * xv;
    a2 += WTAIL(w2) * xv;
    a3 += WTAIL(w3) * xv;
    a4 += WTAIL(w4) * xv;
    a5 += WTAIL(w5) * xv;
    a6 += WTAIL(w6) * xv;
    a7 += WTAIL(w7) * xv;
  }
  return red8(FOLD(a0), FOLD(a1), FOLD(a2), FOLD(a3), FOLD(a4), FOLD(a5),
              FOLD(a6), FOLD(a7));
}

/* The same for up to 4 rows (the sums in the low 4 lanes, 0 above). */
TARGET static inline __attribute__((always_inline)) __m256 SUFFIX(dot4)(size_t in, size_t ld, int padded,
                                         const float *x, const float *w,
                                         size_t rows) {
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
    a0 += WTAIL(w0) * xv;
    a1 += WTAIL(w1) * xv;
    a2 += WTAIL(w2) * xv;
    a3 += WTAIL(w3) * xv;
  }
  return red4(FOLD(a0), FOLD(a1), FOLD(a2), FOLD(a3));
}
#undef WTAIL

/* Rows j .. j + 7 (m of them, m <= 8) of one sample's y = W x, as fwd1
** sums them (dot4 for 4 or fewer). */
TARGET static inline __attribute__((always_inline)) __m256 SUFFIX(dots8)(size_t in, size_t ld, int padded,
                                          const float *x, const float *w,
                                          size_t m) {
  return m <= 4 ? SUFFIX(dot4)(in, ld, padded, x, w, m)
                         : SUFFIX(dot8)(in, ld, padded, x, w, m);
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
                             SUFFIX(dot8)(in, in, 0, x, w + j * in, 8));
    _mm256_storeu_ps(y + j, s);
  }
  if (j < out) {
    size_t rem = out - j;
    __m256 s = SUFFIX(dots8)(in, in, 0, x, w + j * in, rem);
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

/* y = W x for rows j .. j + m - 1 (m <= VW) of one sample, a lane each
** (lanes from m on: not used), summed as fwd1 sums them: blocks of 8. */
TARGET static inline __attribute__((always_inline)) vf SUFFIX(rows)(size_t in, size_t ld, int padded,
                                     const float *x, const float *w,
                                     size_t m) {
  __m256 lo = SUFFIX(dots8)(in, ld, padded, x, w, m < 8 ? m : 8);
#if VW == 16
  if (m > 8) {
    __m256 hi = SUFFIX(dots8)(in, ld, padded, x, w + 8 * ld, m - 8);
    return (vf)_mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi),
        1));
  }
  return (vf)_mm512_zextps256_ps512(lo);
#else
  return (vf)lo;
#endif
}

/* One layer's forward of one sample x: y = b + W x and z = act(y), VW
** neurons at a time, each vector stored whole into the scratch arrays y
** and z with its lanes past `out` set to 0 (the next layer's input then
** reads whole vectors). `padded`: rows, b and their padding as
** bp_dense_train has them; else the network's own (masked tails).
** `padded`: x is such a scratch array too (read whole: the padded rows
** hold 0 past `in`). `libm` (the portable ISA active): Sigmoid and Tanh
** are libm's, as the layers' (bp_vsigmoid, bp_vtanh). */
TARGET static inline __attribute__((always_inline)) void
SUFFIX(dense_layer)(const bp_dense *d, const float *x, int padded, int libm) {
  size_t j, m = d->out, in = padded ? (d->in + VW - 1) / VW * VW : d->in;
  vf a = SPLAT(d->slope), y, z;
  for (j = 0; j < m; j += VW) {
    size_t n = m - j < VW ? m - j : VW;
    y = SUFFIX(rows)(in, d->ld, padded, x, d->w + j * d->ld, n);
    y = KEEP((padded ? (vf)LD(d->b + j) : LDM(d->b + j, n)) + y, n);
    ST(d->y + j, y);
    switch (d->act) {
    case BP_DENSE_SIGMOID:
    case BP_DENSE_TANH:
      if (libm) {
        if (d->act == BP_DENSE_SIGMOID) bp_vsigmoid(n, d->y + j, d->z + j);
        else bp_vtanh(n, d->y + j, d->z + j);
        z = KEEP(LD(d->z + j), n);
      } else {
        z = d->act == BP_DENSE_SIGMOID ? SUFFIX(vsigmoid)(y) : SUFFIX(vtanh)(y);
      }
      break;
    case BP_DENSE_LEAKY: z = SUFFIX(sel)(y > SPLAT(0.0f), y, y * a); break;
    default:
      if (d->z == d->y) continue;     /* no activation layer */
      z = y;
    }
    ST(d->z + j, KEEP(z, n));
  }
}

TARGET void SUFFIX(bp_dense_fwd)(const bp_dense *d, size_t nd,
                                 const float *x) {
  size_t i;
  int libm = bp_isa_active() == BP_ISA_PORTABLE;
  for (i = 0; i < nd; i++) {
    SUFFIX(dense_layer)(&d[i], x, 0, libm);
    x = d[i].z;
  }
}

/* g act'(.) for neurons k .. k + VW - 1 of layer d: dL/dy from dL/dz, as
** the activation's backward computes it (Sigmoid: g z (1 - z), Tanh:
** g (1 - z^2), the ReLUs: y > 0 ? g : slope g). */
TARGET static inline vf SUFFIX(dact)(const bp_dense *d, size_t k, vf g) {
  vf t, one = SPLAT(1.0f);
  switch (d->act) {
  case BP_DENSE_SIGMOID: t = LD(d->z + k); return g * t * (one - t);
  case BP_DENSE_TANH: t = LD(d->z + k); return g * (one - t * t);
  case BP_DENSE_LEAKY:
    t = LD(d->y + k);     /* the sign of the input decides */
    return SUFFIX(sel)(t > SPLAT(0.0f), g, g * SPLAT(d->slope));
  default: return g;
  }
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
** `write`, applied under rule K (none when -1). `padded` (a run's
** layers, see bp_dense_train): whole vectors only, rows ld floats apart,
** x padded as dense_layer's.
** Else the network's own rows: every row's whole vectors first, then
** every row's masked tail (a row's tail store would otherwise overlap the
** next row's first load, which would wait for it). STEP handles the
** vector a of the gradient at offset o of parameter tensor p (momentum
** q, gradient g at offset og) with LOAD and STORE. */
TARGET static inline __attribute__((always_inline)) void
SUFFIX(dense_step)(int K, const bp_dense *d, const float *x, const float *dy,
                   const bp_sgd_rule *s, int write, int padded) {
  size_t in = d->in, ld = d->ld, out = d->out, r = in % VW, full = in - r;
  size_t ro = out % VW, j, k;
  float *w = d->w, *b = d->b, *gw = d->gw, *gb = d->gb;   /* kept in */
  float *qw = d->qw, *qb = d->qb;                          /* registers */
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
  if (padded) {                   /* the tails are whole vectors too */
    full = in + (VW - r) % VW;
    r = 0;
    ro = 0;
  }
#define STEP(p, g, q_, o, og, LOAD, STORE)                        \
  do {                                                            \
    if (write) STORE((g) + (og), a);                              \
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
      STEP(w, gw, qw, j * ld + k, j * in + k, LDF, STF);
    }
  }
  if (r)
    for (j = 0; j < out; j++) {
      a = SPLAT(0.0f) + SPLAT(dy[j]) * LDM(x + full, r);
      STEP(w, gw, qw, j * ld + full, j * in + full, LDR, STR);
    }
  for (k = 0; k + VW <= out || (padded && k < out); k += VW) {
    a = SPLAT(0.0f) + LD(dy + k);
    STEP(b, gb, qb, k, k, LDF, STF);
  }
  if (ro) {
    a = SPLAT(0.0f) + LDM(dy + k, ro);
    STEP(b, gb, qb, k, k, LDO, STO);
  }
#undef STEP
#undef LDF
#undef STF
#undef LDR
#undef STR
#undef LDO
#undef STO
}

/* Backward of one sample through the chain (bp_dense_bwd; `padded` as
** for dense_step): the last layer's dy = act'(dz) in place, then for
** each layer from the last, dx = W^T dy for the layer below with that
** layer's act' applied as it is formed (into g1, with W as the forward
** saw it), then the layer's gradients and update. Vectors of dz and g1
** are stored whole. */
TARGET static inline __attribute__((always_inline)) void
SUFFIX(dense_back)(const bp_dense *d, size_t nd, const float *x, float *dz,
                   float *g1, const bp_sgd_rule *rule, int write,
                   int padded) {
  size_t i = nd - 1, j, k;
  int kind = rule != NULL ? rule->kind : -1;
  for (k = 0; k < d[i].out; k += VW)
    ST(dz + k, SUFFIX(dact)(&d[i], k, LD(dz + k)));
  for (i = nd; i-- > 0;) {
    const bp_dense *l = &d[i];
    const float *xi = i > 0 ? d[i - 1].z : x;
    float *t;
    if (i > 0)        /* bp_small_dx's sums, a VW-float piece at a time */
      for (k = 0; k < l->in; k += VW) {
        size_t n = l->in - k < VW ? l->in - k : VW;
        vf a = SPLAT(0.0f);
        for (j = 0; j < l->out; j++)
          a += SPLAT(dz[j]) * (padded || n == VW ? (vf)LD(l->w + j * l->ld + k)
                                                 : LDM(l->w + j * l->ld + k, n));
        ST(g1 + k, SUFFIX(dact)(&d[i - 1], k, a));
      }
    switch (kind) {
#define CASE(K) SUFFIX(dense_step)(K, l, xi, dz, rule, write, padded); break
    case BP_SGD_PLAIN: CASE(BP_SGD_PLAIN);
    case BP_SGD_DECAY: CASE(BP_SGD_DECAY);
    case BP_SGD_MOMENTUM: CASE(BP_SGD_MOMENTUM);
    default: SUFFIX(dense_step)(-1, l, xi, dz, rule, 1, padded); break;
#undef CASE
    }
    t = dz;
    dz = g1;
    g1 = t;
  }
}

TARGET void SUFFIX(bp_dense_bwd)(const bp_dense *d, size_t nd,
                                 const float *x, float *dz, float *g1,
                                 const bp_sgd_rule *rule, int write) {
  SUFFIX(dense_back)(d, nd, x, dz, g1, rule, write, 0);
}

/* A run's loss for sample k (small.h, bp_dense_run): the mean squared
** error of the last layer d, VW outputs at a time (nn/loss.c's mse: d = z
** - t; the sum of d^2 in double, output by output; dL/dz = (2 / div) d),
** stored whole into dz; or the run's function, its dz then read back
** with the lanes past `out` set to 0. Nonzero when that function stops. */
TARGET static int SUFFIX(run_loss)(bp_dense_run *r, size_t k,
                                   const bp_dense *d, double *l) {
  const float *t = r->y + k * r->ywidth;
  size_t j, i, m = d->out;
  double s = 0.0;
  vf g;
  float e[VW];
  if (r->mse_div <= 0.0) {
    if (r->loss(r->ctx, k, d->z, r->dz, l)) return 1;
    for (j = 0; j < m; j += VW)
      ST(r->dz + j, LDM(r->dz + j, m - j < VW ? m - j : VW));
    return 0;
  }
  g = SPLAT(2.0f / (float)r->mse_div);
  for (j = 0; j < m; j += VW) {
    size_t n = m - j < VW ? m - j : VW;
    vf v = LD(d->z + j) - LDM(t + j, n);
    ST(e, v);
    for (i = 0; i < n; i++) s += (double)e[i] * e[i];
    ST(r->dz + j, g * v);
  }
  *l = s / r->mse_div;
  return 0;
}

/* bp_dense_train: the run's samples one after the other, each input row
** first copied into run.xs with its pad lanes 0 (the layers then read
** whole vectors only), then through dense_layer, run_loss and dense_back
** on the padded layers. */
TARGET int SUFFIX(bp_dense_train)(const bp_dense *d, size_t nd,
                                  bp_sgd_rule rule, bp_dense_run *r) {
  size_t i, j, l, in = d[0].in;
  int libm = bp_isa_active() == BP_ISA_PORTABLE;
  for (i = 0; i < r->count; i++) {
    size_t k = r->order[i];
    const float *x = r->row != NULL ? r->row(r->ctx, k) : r->x + k * in;
    const float *xl = r->xs;
    double loss;
    if (x == NULL) return run_stop(r, i, 1, 0.0);
    for (j = 0; j < in; j += VW)
      ST(r->xs + j, LDM(x + j, in - j < VW ? in - j : VW));
    for (l = 0; l < nd; l++) {
      SUFFIX(dense_layer)(&d[l], xl, 1, libm);
      xl = d[l].z;
    }
    if (SUFFIX(run_loss)(r, k, &d[nd - 1], &loss)) return run_stop(r, i, 1, 0.0);
    if (!isfinite(loss)) return run_stop(r, i, 2, loss);
    if (r->mse_div > 0.0) *r->total += loss;
    SUFFIX(dense_back)(d, nd, r->xs, r->dz, r->g1, &rule, 0, 1);
    rule.first = 0;
  }
  r->done = r->count;
  return 0;
}

#undef vi
#undef vf
#undef LD
#undef ST
#undef SPLAT
