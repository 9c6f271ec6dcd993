/*
** small.h: kernels for the per-sample hot path: a dense layer over a few
** samples (the classic recipe trains on one sample per update, a game
** asks for one forward per frame), and the elementwise optimizer updates.
** A general matrix product pays for packing and blocking that a 30x16
** layer never recovers; these are direct dot/axpy loops.
**
** Each has AVX-512, AVX2 and portable versions, chosen at run time from
** what the CPU has (compiled with per-function target attributes, so the
** default -O2 build runs everywhere); BACKPROP_ISA=portable|avx2|avx512
** in the environment forces one (read once, for tests; an ISA the CPU
** lacks falls back to the best it has). The optimizer updates follow
** cpu.h's active ISA instead (bp_isa_set moves them, as every
** optimizer's loops).
**
** Rounding: every elementwise operation is the same multiply then add as
** the portable C (no FMA contraction), so bp_small_grad, bp_small_dx and
** the optimizer updates give the same bits on every ISA, and the same as
** bp_gemm's portable loops. Only bp_small_fwd's dot products sum in an
** order that depends on the ISA (its lane count): the portable version
** keeps bp_gemm's eight partial sums, the SIMD ones use 8 or 16 lanes and
** a fixed reduction tree (8 rows reduced together); results are
** reproducible for a given ISA.
*/
#ifndef BP_SMALL_H
#define BP_SMALL_H

#include <stddef.h>

/* Batches up to this size take the small kernels in Linear. */
#define BP_SMALL_BATCH 4

/* The ISA in use: "avx512", "avx2" or "portable". */
const char *bp_small_isa(void);

/* x: n x in, w: out x in (row j is neuron j), y: n x out.
** y[s][j] = b[j] + w[j] . x[s]. */
void bp_small_fwd(size_t n, size_t in, size_t out, const float *x,
                  const float *w, const float *b, float *y);
/* bp_small_fwd, then z = act(y) for act a bp_act of vmath.h (NONE,
** SIGMOID or TANH; z unused for NONE): the same bits as bp_small_fwd
** followed by bp_vsigmoid or bp_vtanh, computed from the registers (no
** second pass, no dispatch per layer). z must not overlap y. */
void bp_small_fwd_act(size_t n, size_t in, size_t out, const float *x,
                      const float *w, const float *b, float *y, float *z,
                      int act);
/* gw[j] += dy[s][j] x[s] and gb[j] += dy[s][j], samples in order. */
void bp_small_grad(size_t n, size_t in, size_t out, const float *x,
                   const float *dy, float *gw, float *gb);
/* The same summed from zero and written to gw and gb, then w -= lr gw and
** b -= lr gb: zero_grad, bp_small_grad and plain SGD on this layer in one
** pass (see bp_ctx.update). */
void bp_small_grad_sgd(size_t n, size_t in, size_t out, const float *x,
                       const float *dy, float *gw, float *gb, float *w,
                       float *b, float lr);
/* dx[s] = sum over j of dy[s][j] w[j] (dx: n x in, overwritten). */
void bp_small_dx(size_t n, size_t in, size_t out, const float *dy,
                 const float *w, float *dx);

/* --- the fused per-sample step ----------------------------------------
** A chain of dense layers, each a Linear (y = b + W x) and the pointwise
** activation after it (z = act(y)), trained one sample at a time: the
** network's plan (nn/chain.c) describes it once as an array of bp_dense,
** and each sample is one forward call and one backward call through the
** whole chain. Activations stay in the small arrays y and z (the
** network's scratch, in L1), gradients are formed in registers and
** applied as they are formed: written to gw and gb only when asked.
** Every value is the same bits as the layers' own passes (Linear's small
** kernels above, the activations' forward and backward, zero_grad and the
** optimizer's step): the same operations in the same order. */

/* Activations of a chain (each lane alone; vmath.h's functions). */
enum { BP_DENSE_NONE, BP_DENSE_SIGMOID, BP_DENSE_TANH, BP_DENSE_LEAKY };

typedef struct bp_dense {
  size_t in, out;
  float *w, *b;         /* out x in weights (row j: neuron j), out biases */
  float *gw, *gb;       /* their gradients */
  float *y, *z;         /* the last forward's y and z (z == y: no act) */
  int act;              /* BP_DENSE_*; after the Linear */
  float slope;          /* BP_DENSE_LEAKY: y > 0 ? y : slope y (ReLU: 0) */
} bp_dense;

/* SGD's rules (train/optim.h) as the backward call applies them:
** PLAIN p -= lr g; DECAY d = g + wd p, p -= lr d; MOMENTUM as
** bp_upd_sgd_momentum, the buffer at buf + (p - params). */
enum { BP_SGD_PLAIN, BP_SGD_DECAY, BP_SGD_MOMENTUM };

typedef struct bp_sgd_rule {
  int kind;
  float lr, wd, mu, keep;
  int first, nesterov;  /* MOMENTUM: its first step; Nesterov's form */
  float *buf;           /* MOMENTUM: the buffer, parallel to ... */
  const float *params;  /* ... the parameter buffer w and b point into */
} bp_sgd_rule;

/* One sample x through the chain: each d[i].y and d[i].z (d[i + 1] reads
** d[i].z). The same bits as Linear's forward_act (bp_small_fwd_act) then
** the activation's forward. */
void bp_dense_fwd(const bp_dense *d, size_t nd, const float *x);
/* Backward of that sample from dz = dL/dz of the last layer (overwritten;
** g1 is room for the widest layer's dz, both float arrays of the
** network's scratch): each layer's dy = act'(dz), then dx = W^T dy for the
** layer before (with W as the forward saw it), then the gradients dy x^T
** and dy, which rule (when not NULL) applies to w and b as they are
** formed. They are written to gw and gb when `write` is set or rule is
** NULL (the caller then applies its optimizer to them). */
void bp_dense_bwd(const bp_dense *d, size_t nd, const float *x, float *dz,
                  float *g1, const bp_sgd_rule *rule, int write);

/* Optimizer updates over m floats (p: parameters, g: gradients, state
** arrays as optim.h names them). Each is one specialization of the rule
** in optim.h, with no branch inside its loop. */
/* p -= lr * g */
void bp_upd_sgd(size_t m, float lr, float *p, const float *g);
/* d = g + wd p; p -= lr * d */
void bp_upd_sgd_wd(size_t m, float lr, float wd, float *p, const float *g);
/* d = g + wd p; b = first ? d : mu b + keep d; d = nesterov ? d + mu b : b;
** p -= lr d */
void bp_upd_sgd_momentum(size_t m, float lr, float wd, float mu, float keep,
                         int first, int nesterov, float *p, const float *g,
                         float *b);

#endif
