/*
** update_rules.h: the loops of update.h, written once. Included by
** update_portable.c (VW 1: plain floats), update_avx2.c (VW 8) and
** update_avx512.c (VW 16), which define VW, TARGET (the target attribute,
** or nothing) and NAME(name) (name with the ISA's suffix).
**
** An element's update is an inline function of V (VW floats, or a float)
** taking the options as constant arguments, so every option set compiles
** to its own loop with no branch inside. The SIMD loops run whole vectors
** and hand the last n % VW elements to the portable loop: the same
** operations in the same order, so the same bits.
**
** The order is PyTorch 1.13's (torch.optim, foreach=False), operation by
** operation, e.g. Adam's p.addcdiv_(m, denom, value=-step) is
** p + (-step * m) / denom: here p - (step * m) / denom, the same value.
** One departure: Adam's sqrt(v) / sqrt(1 - beta2^t) is a product with the
** reciprocal. Adam's loop is bound by the divider (a square root and a
** division of 16 floats take 3.3 and 2.8 ns here, the rest of the loop
** overlaps them), and that divide was a third of it; the denominator may
** differ from PyTorch's by one rounding.
*/
#include <float.h>
#include <math.h>

#include "kernels/nocontract.h"

#if VW == 1
typedef float V;
#define LD(p) (*(p))
#define ST(p, x) (*(p) = (x))
#define SPLAT(s) (s)
#define SEL(m, a, b) ((m) ? (a) : (b))
#define SQRT(x) sqrtf(x)
#define ABS(x) fabsf(x)
#define TAIL(call)
#else
typedef float V __attribute__((vector_size(VW * 4)));
typedef int VI __attribute__((vector_size(VW * 4)));
typedef float VU __attribute__((vector_size(VW * 4), aligned(4), may_alias));
#define LD(p) ((V) * (const VU *)(const void *)(p))
#define ST(p, x) (*(VU *)(void *)(p) = (x))
#define SPLAT(s) ((V){0} + (s))
/* m: a comparison's lanes, all ones or all zeros */
#define SEL(m, a, b) ((V)(((VI)(a) & (m)) | ((VI)(b) & ~(m))))
#define ABS(x) ((V)((VI)(x) & 0x7FFFFFFF))
#if VW == 8
#define SQRT(x) ((V)_mm256_sqrt_ps((__m256)(x)))
#else
#define SQRT(x) ((V)_mm512_sqrt_ps((__m512)(x)))
#endif
#define TAIL(call) call
#endif

#ifdef __GNUC__
#define ELEM TARGET static inline __attribute__((always_inline))
#else
#define ELEM static inline
#endif

/* LOOP(o1, o2, o3) (a loop, then break) for the set of three options
** whose bits are `set` (o1 = 1, o2 = 2, o3 = 4). */
#define EACH_SET(set)                                                    \
  switch (set) {                                                         \
  case 0: LOOP(0, 0, 0)                                                  \
  case 1: LOOP(1, 0, 0)                                                  \
  case 2: LOOP(0, 1, 0)                                                  \
  case 3: LOOP(1, 1, 0)                                                  \
  case 4: LOOP(0, 0, 1)                                                  \
  case 5: LOOP(1, 0, 1)                                                  \
  case 6: LOOP(0, 1, 1)                                                  \
  default: LOOP(1, 1, 1)                                                 \
  }

/* x, or +0 where |x| < tiny (never for tiny 0; NaN stays). */
#define FLUSH(x, tiny) SEL(ABS(x) < SPLAT(tiny), SPLAT(0.0f), (x))

/* Adam (l2: g += l2 p) and AdamW (dec: p *= shrink first), with or
** without amsgrad (ams: the step uses w = max(w, v)). */
ELEM void NAME(adam1)(const bp_upd_adam_k *k, int l2, int dec, int ams,
                      size_t i, float *p, const float *g, float *m,
                      float *v, float *w) {
  V pv = LD(p + i), gv = LD(g + i), mv, vv;
  if (l2) gv = gv + SPLAT(k->l2) * pv;
  mv = SPLAT(k->b1) * LD(m + i) + SPLAT(k->c1) * gv;
  vv = SPLAT(k->b2) * LD(v + i) + SPLAT(k->c2) * gv * gv;
  mv = FLUSH(mv, k->mtiny);
  vv = FLUSH(vv, k->vtiny);
  ST(m + i, mv);
  ST(v + i, vv);
  if (ams) {
    V wv = LD(w + i);
    vv = SEL(vv > wv, vv, wv);
    ST(w + i, vv);
  }
  if (dec) pv = pv * SPLAT(k->shrink);
  ST(p + i, pv - SPLAT(k->step) * mv /
                     (SQRT(vv) * SPLAT(k->iroot2) + SPLAT(k->eps)));
}

TARGET void NAME(bp_upd_adam)(size_t n, const bp_upd_adam_k *kp, float *p,
                              const float *g, float *m, float *v,
                              float *w) {
  const bp_upd_adam_k k = *kp;
  size_t i = 0;
#define LOOP(l2, dec, ams)                                               \
  for (; i + VW <= n; i += VW)                                           \
    NAME(adam1)(&k, l2, dec, ams, i, p, g, m, v, w);                     \
  break;
  EACH_SET((k.l2 != 0.0f) + 2 * (k.shrink != 1.0f) + 4 * (w != NULL))
#undef LOOP
  TAIL(bp_upd_adam_portable(n - i, kp, p + i, g + i, m + i, v + i,
                            w != NULL ? w + i : NULL));
}

/* RMSprop with weight decay (wd), centered (a: the mean gradient) and
** momentum (b: the buffer) each on or off. */
ELEM void NAME(rmsprop1)(const bp_upd_rmsprop_k *k, int wd, int centered,
                         int mom, size_t i, float *p, const float *g,
                         float *v, float *a, float *b) {
  V pv = LD(p + i), gv = LD(g + i), vv, s;
  if (wd) gv = gv + SPLAT(k->wd) * pv;
  vv = SPLAT(k->a) * LD(v + i) + SPLAT(k->c) * gv * gv;
  vv = FLUSH(vv, k->vtiny);
  ST(v + i, vv);
  if (centered) {
    /* v - mean^2 >= 0 in exact arithmetic; rounding can dip below */
    V av = FLUSH(SPLAT(k->a) * LD(a + i) + SPLAT(k->c) * gv, k->atiny);
    ST(a + i, av);
    s = vv - av * av;
    s = SQRT(SEL(s > SPLAT(0.0f), s, SPLAT(0.0f)));
  } else {
    s = SQRT(vv);
  }
  s = s + SPLAT(k->eps);
  if (mom) {
    V bv = FLUSH(SPLAT(k->mu) * LD(b + i) + gv / s, k->btiny);
    ST(b + i, bv);
    ST(p + i, pv - SPLAT(k->lr) * bv);
  } else {
    ST(p + i, pv - SPLAT(k->lr) * gv / s);
  }
}

TARGET void NAME(bp_upd_rmsprop)(size_t n, const bp_upd_rmsprop_k *kp,
                                 float *p, const float *g, float *v,
                                 float *a, float *b) {
  const bp_upd_rmsprop_k k = *kp;
  size_t i = 0;
#define LOOP(wd, centered, mom)                                             \
  for (; i + VW <= n; i += VW)                                              \
    NAME(rmsprop1)(&k, wd, centered, mom, i, p, g, v, a, b);                \
  break;
  EACH_SET((k.wd != 0.0f) + 2 * (a != NULL) + 4 * (b != NULL))
#undef LOOP
  TAIL(bp_upd_rmsprop_portable(n - i, kp, p + i, g + i, v + i,
                               a != NULL ? a + i : NULL,
                               b != NULL ? b + i : NULL));
}

/* Adagrad: the sums only grow, so they are never flushed. */
ELEM void NAME(adagrad1)(float clr, float wd, float eps, int decay,
                         size_t i, float *p, const float *g, float *sum) {
  V pv = LD(p + i), gv = LD(g + i), sv;
  if (decay) gv = gv + SPLAT(wd) * pv;
  sv = LD(sum + i) + gv * gv;
  ST(sum + i, sv);
  ST(p + i, pv - SPLAT(clr) * gv / (SQRT(sv) + SPLAT(eps)));
}

TARGET void NAME(bp_upd_adagrad)(size_t n, float clr, float wd, float eps,
                                 float *p, const float *g, float *sum) {
  size_t i = 0;
  if (wd != 0.0f)
    for (; i + VW <= n; i += VW) NAME(adagrad1)(clr, wd, eps, 1, i, p, g, sum);
  else
    for (; i + VW <= n; i += VW) NAME(adagrad1)(clr, wd, eps, 0, i, p, g, sum);
  TAIL(bp_upd_adagrad_portable(n - i, clr, wd, eps, p + i, g + i, sum + i));
}

/* iRprop- with selects: a factor of 1 keeps a step size exactly, and a
** move by 0 is no move. */
ELEM void NAME(rprop1)(const bp_upd_rprop_k *k, int first, size_t i,
                       float *p, const float *g, float *prev, float *step) {
  V zero = SPLAT(0.0f), gv = LD(g + i), pv = LD(p + i);
  V same = gv * LD(prev + i), s = first ? SPLAT(k->lr) : LD(step + i);
  s = SEL(same > zero, s * SPLAT(k->up),
          SEL(same < zero, s * SPLAT(k->down), s));
  gv = SEL(same < zero, zero, gv);   /* a flip: no move now, forget it */
  s = SEL(s < SPLAT(k->lo), SPLAT(k->lo), SEL(s > SPLAT(k->hi), SPLAT(k->hi), s));
  ST(step + i, s);
  ST(p + i, SEL(gv > zero, pv - s, SEL(gv < zero, pv + s, pv)));
  ST(prev + i, gv);
}

TARGET void NAME(bp_upd_rprop)(size_t n, const bp_upd_rprop_k *kp, float *p,
                               const float *g, float *prev, float *step) {
  const bp_upd_rprop_k k = *kp;
  size_t i = 0;
  if (k.first)
    for (; i + VW <= n; i += VW) NAME(rprop1)(&k, 1, i, p, g, prev, step);
  else
    for (; i + VW <= n; i += VW) NAME(rprop1)(&k, 0, i, p, g, prev, step);
  TAIL(bp_upd_rprop_portable(n - i, kp, p + i, g + i, prev + i, step + i));
}
