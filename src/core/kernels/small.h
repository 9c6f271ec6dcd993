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
#include <stdint.h>

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
  size_t ld;            /* floats from one row of w (and qw) to the next */
  float *w, *b;         /* out x in weights (row j: neuron j), out biases */
  float *gw, *gb;       /* their gradients */
  float *qw, *qb;       /* SGD's momentum buffers of w and b (or NULL) */
  float *y, *z;         /* the last forward's y and z (z == y: no act) */
  int act;              /* BP_DENSE_*; after the Linear */
  float slope;          /* BP_DENSE_LEAKY: y > 0 ? y : slope y (ReLU: 0) */
} bp_dense;

/* SGD's rules (train/optim.h) as the backward call applies them:
** PLAIN p -= lr g; DECAY d = g + wd p, p -= lr d; MOMENTUM as
** bp_upd_sgd_momentum, with each layer's qw and qb. */
enum { BP_SGD_PLAIN, BP_SGD_DECAY, BP_SGD_MOMENTUM };

typedef struct bp_sgd_rule {
  int kind;
  float lr, wd, mu, keep;
  int first, nesterov;  /* MOMENTUM: its first step; Nesterov's form */
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

/* --- a run of samples through the chain --------------------------------
** bp_dense_train trains on `count` samples one after the other, with one
** of SGD's rules, in one call: the same bits as bp_dense_fwd, the loss
** and bp_dense_bwd for each (gradients are not written). Nothing a sample
** computes goes through memory in a form the next step reads back
** slowly: the SIMD kernels store every vector of the scratch whole (a
** store the processor cannot forward to the load that follows, a masked
** one, costs about 40 cycles, and a sample's chain of dependent steps
** held several), which asks of the layers:
** - w rows ld floats apart, ld a multiple of 16 (pad lanes 0), and b, qw
**   and qb padded to a multiple of 16 floats with 0 (nn/chain.c trains a
**   padded copy of layers whose rows are not);
** - xs, y, z, dz and g1 with room for their width rounded up to 16
**   floats (the network's scratch arrays have it).
** Each input row is read where it is (masked) and copied into xs. */
typedef struct bp_dense_run {
  const float *x;          /* sample k's input at x + k * in ... */
  const float *y;          /* ... its target at y + k * ywidth ... */
  size_t ywidth;
  const uint32_t *order;   /* ... for k = order[i], i = 0 .. count - 1 */
  size_t count;
  /* The loss. mse_div > 0: the mean squared error (nn/loss.c's mse:
  ** sum of (z - t)^2 over the outputs, divided by mse_div, dL/dz = (2 /
  ** mse_div) (z - t)), added to *total. 0: loss(ctx, k, z, dz, &l) writes
  ** dL/dz (out floats) and l, and counts it itself; nonzero stops. */
  double mse_div;
  int (*loss)(void *ctx, size_t k, const float *z, float *dz, double *l);
  /* NULL: rows read at x; else the row of sample k (NULL: stop) */
  const float *(*row)(void *ctx, size_t k);
  void *ctx;
  float *xs, *dz, *g1;     /* the network's input and gradient arrays */
  double *total;           /* the running sum of the MSE losses */
  size_t done;             /* out: the samples trained */
  double loss_at;          /* out: the loss of sample `done` when it was
                              not finite (then nothing of it applied) */
} bp_dense_run;

/* Returns 0 when every sample ran, else 1 when loss or row stopped it, 2
** when a loss was not finite (run.done and run.loss_at say where). */
int bp_dense_train(const bp_dense *d, size_t nd, bp_sgd_rule rule,
                   bp_dense_run *run);

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
