/*
** small_simd.h: the SIMD bodies of small.h, written once with GCC vector
** extensions and included by small.c twice, with VW (lanes: 16 or 8),
** TARGET (the target attribute), SUFFIX(name), and the ISA's masked
** loads and stores for row tails: LDM(p, r) loads r < VW floats (the rest
** 0), STM(p, r, v) stores r, HSUM(v) adds the lanes in a fixed order.
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

/* Dot products of rows of w with x, four rows at a time so the loads of
** x are shared and the four sums overlap. */
TARGET static void SUFFIX(fwd1)(size_t in, size_t out, const float *x,
                                const float *w, const float *b, float *y) {
  size_t j = 0, k, r = in % VW, full = in - r;
  for (; j + 4 <= out; j += 4) {
    const float *w0 = w + j * in, *w1 = w0 + in, *w2 = w1 + in,
                *w3 = w2 + in;
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
    y[j] = b[j] + HSUM(a0);
    y[j + 1] = b[j + 1] + HSUM(a1);
    y[j + 2] = b[j + 2] + HSUM(a2);
    y[j + 3] = b[j + 3] + HSUM(a3);
  }
  for (; j < out; j++) {
    const float *w0 = w + j * in;
    vf a0 = SPLAT(0.0f);
    for (k = 0; k < full; k += VW) a0 += LD(w0 + k) * LD(x + k);
    if (r) a0 += LDM(w0 + k, r) * LDM(x + k, r);
    y[j] = b[j] + HSUM(a0);
  }
}

TARGET void SUFFIX(bp_small_fwd)(size_t n, size_t in, size_t out,
                                 const float *x, const float *w,
                                 const float *b, float *y) {
  size_t s;
  for (s = 0; s < n; s++) SUFFIX(fwd1)(in, out, x + s * in, w, b, y + s * out);
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

#undef vf
#undef LD
#undef ST
#undef SPLAT
