/*
** update.h: the elementwise update loops of Adam, AdamW, RMSprop, Adagrad
** and Rprop (the rules are in train/optim.h; SGD's are in small.h). Each
** runs over n floats of a buffer with its gradients and state, AVX-512,
** AVX2 or portable as cpu.h chooses (bp_isa_set moves them).
**
** Bits: every ISA computes each element with the same operations in the
** same order (PyTorch 1.13's: see update_rules.h), each a correctly
** rounded IEEE multiply, add, divide or square root, none fused (the
** files forbid FMA contraction), so the results are the same bits on
** every ISA, wherever a piece of the buffer starts (threads).
**
** Denormals: a multiply or square root with a subnormal input or result
** costs 100+ cycles on most x86 CPUs, and moments whose gradients stay 0
** decay into that range and stay (beta * v rounds back to v there).
** These loops store such moments as 0 instead, without touching the FP
** environment: a moment of magnitude below the field `tiny` of its
** constants becomes +0 (tiny 0: never). The caller picks tiny so that the
** flush cannot change a result beyond rounding (train/optim.c).
*/
#ifndef BP_UPDATE_H
#define BP_UPDATE_H

#include <stddef.h>

/* The constants of one step, each computed in double and rounded once. */
typedef struct bp_upd_adam_k {
  float b1, c1;      /* beta1, 1 - beta1 */
  float b2, c2;      /* beta2, 1 - beta2 */
  float l2;          /* Adam: g += l2 p first (0: not done) */
  float shrink;      /* AdamW: p *= shrink first (1: not done) */
  float step;        /* lr / (1 - beta1^t) */
  float iroot2;      /* 1 / sqrt(1 - beta2^t) */
  float eps;
  float mtiny, vtiny;   /* m, v (and vmax) below these are stored as 0 */
} bp_upd_adam_k;

typedef struct bp_upd_rmsprop_k {
  float a, c;        /* alpha, 1 - alpha */
  float wd, eps, lr, mu;
  float vtiny, atiny, btiny;   /* v, the mean, the momentum buffer below
                                  these are stored as 0 */
} bp_upd_rmsprop_k;

typedef struct bp_upd_rprop_k {
  float up, down;    /* etaplus, etaminus */
  float lo, hi;      /* step_min, step_max */
  float lr;          /* every step size starts at lr ... */
  int first;         /* ... on the first step (the state is not read) */
} bp_upd_rprop_k;

/* m, v: the moments; vmax: amsgrad's maximum of v, or NULL. */
void bp_upd_adam(size_t n, const bp_upd_adam_k *k, float *p, const float *g,
                 float *m, float *v, float *vmax);
/* v: the mean square; mean: centered's mean gradient, or NULL; buf: the
** momentum buffer, or NULL (momentum 0). */
void bp_upd_rmsprop(size_t n, const bp_upd_rmsprop_k *k, float *p,
                    const float *g, float *v, float *mean, float *buf);
/* clr = lr / (1 + (t - 1) lr_decay); sum: the sums of squares. */
void bp_upd_adagrad(size_t n, float clr, float wd, float eps, float *p,
                    const float *g, float *sum);
/* prev: the last gradient used (0 after a sign flip); step: step sizes. */
void bp_upd_rprop(size_t n, const bp_upd_rprop_k *k, float *p,
                  const float *g, float *prev, float *step);

#endif
