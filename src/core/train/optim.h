/*
** optim.h: optimizers over a network's flat parameter and gradient buffers.
** The update rules are PyTorch 1.13's (torch.optim, foreach=False), so
** results can be checked against it. With g the gradient, p the parameter,
** t the step count from 1 and wd the weight decay:
**   SGD:     d = g + wd*p; with momentum mu: buf = d on the first step, then
**            buf = mu*buf + (1-dampening)*d; d = nesterov ? d + mu*buf : buf;
**            p -= lr*d.
**   Adam:    g += wd*p; m = b1*m + (1-b1)g; v = b2*v + (1-b2)g^2;
**            (amsgrad: vmax = max(vmax, v), used for v below)
**            p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
**   AdamW:   Adam without the g += wd*p, with p *= 1 - lr*wd first
**            (decoupled weight decay).
**   RMSprop: g += wd*p; v = alpha*v + (1-alpha)g^2; centered:
**            a = alpha*a + (1-alpha)g, s = sqrt(v - a^2), else s = sqrt(v);
**            with momentum mu: buf = mu*buf + g/(s+eps), p -= lr*buf;
**            without: p -= lr*g/(s+eps).
**   Adagrad: g += wd*p; sum += g^2;
**            p -= lr/(1+(t-1)*lr_decay) * g/(sqrt(sum)+eps).
**   Rprop:   iRprop-: each weight has a step size, lr at first; when g has
**            the sign of the previous gradient it grows by etaplus, when
**            the sign flips it shrinks by etaminus and g counts as 0 (no
**            move now, and no flip test next time); it stays within
**            [step_min, step_max]; p -= sign(g)*step. No weight decay.
** Hyperparameters are plain fields: change lr between steps to schedule it
** (Rprop reads lr only at its first step, as PyTorch).
**
** Rounding: the operations are PyTorch's, in its order, in float, none
** fused, except that Adam multiplies sqrt(v) by 1 / sqrt(1 - b2^t) (one
** division fewer, see kernels/update_rules.h); constants such as 1 - beta2,
** 1 - alpha and the bias corrections are computed in double and rounded
** once, as PyTorch rounds its Python floats. The result is the same bits on every ISA (kernels/update.h)
** and for any thread count. Where PyTorch's CPU kernels fuse a multiply
** and an add (add_ with alpha) results differ from it by float rounding.
** Two departures. To keep subnormal numbers (100+ cycles an operation
** on most x86 CPUs) out of the state, Adam's and RMSprop's moments below
** FLT_MIN are stored as 0 where that cannot change the result: second
** moments when the denominator rounds the same either way, first moments
** and RMSprop's buffer when the step they make is below 2^-100 (with a
** tiny eps, PyTorch's rule is kept; see optim.c). And centered RMSprop's
** v - mean^2, which rounding can make negative, counts as 0 (PyTorch:
** NaN).
*/
#ifndef BP_OPTIM_H
#define BP_OPTIM_H

#include <stddef.h>

#include "base/status.h"
#include "nn/layer.h"

/* Kinds are numbered for good: never reuse a number. */
typedef enum {
  BP_SGD = 1, BP_ADAM = 2, BP_ADAMW = 3, BP_RMSPROP = 4, BP_ADAGRAD = 5,
  BP_RPROP = 6
} bp_optim_kind;

typedef struct bp_optim {
  bp_optim_kind kind;
  double lr, weight_decay;
  double momentum, dampening;     /* SGD; momentum also RMSprop */
  int nesterov;                   /* SGD */
  double beta1, beta2;            /* Adam, AdamW */
  double eps;                     /* Adam, AdamW, RMSprop, Adagrad */
  int amsgrad;                    /* Adam, AdamW */
  double alpha;                   /* RMSprop */
  int centered;                   /* RMSprop */
  double lr_decay, initial_accumulator_value;   /* Adagrad */
  double etaminus, etaplus;       /* Rprop */
  double step_min, step_max;      /* Rprop */
  long long steps;                /* updates done so far */
  size_t n;                       /* floats in the buffers it updates */
  /* State, NULL when unused:
  **   m: SGD and RMSprop momentum, Adam first moment, Rprop last gradient;
  **   v: Adam and RMSprop second moment, Adagrad sum, Rprop step sizes;
  **   w: Adam's amsgrad maximum, centered RMSprop's mean gradient. */
  float *m, *v, *w;
} bp_optim;

/* Optimizers by name, as the Lua constructors and the C API's strings
** name them: "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Rprop" (NULL
** for an unknown kind); the kind of a name, 0 if none. */
const char *bp_optim_name(bp_optim_kind kind);
bp_optim_kind bp_optim_kind_of(const char *name);

/* Each kind's options by name ("lr", "betas", ...), as bp.Adam(net, {lr =
** 1e-3, betas = {0.9, 0.999}}) and the C API's "lr=0.001 betas=0.9,0.999"
** give them: one table for every reader, in the order messages and
** descriptions list them, ended by a NULL key. A pair is two adjacent
** doubles of bp_optim (betas: beta1, beta2). */
typedef enum { BP_OPT_NUM, BP_OPT_BOOL, BP_OPT_PAIR } bp_optim_type;
typedef struct bp_optim_field {
  const char *key;
  unsigned kinds;       /* bit k set: kind k takes it */
  bp_optim_type type;   /* a double, an int (0 or 1), or a pair */
  size_t off;           /* where it is in bp_optim */
} bp_optim_field;
extern const bp_optim_field bp_optim_fields[];
/* Whether kind takes field f; the option `key` of kind (NULL if it takes
** none of that name); where f is in o. */
int bp_optim_takes(const bp_optim_field *f, bp_optim_kind kind);
const bp_optim_field *bp_optim_field_find(bp_optim_kind kind, const char *key);
double *bp_optim_num(bp_optim *o, const bp_optim_field *f);
int *bp_optim_flag(bp_optim *o, const bp_optim_field *f);

/* Set the fields first (bp_optim_defaults gives PyTorch's), then init. */
void bp_optim_defaults(bp_optim *o, bp_optim_kind kind);
bp_status bp_optim_check(const bp_optim *o, bp_error *err);
bp_status bp_optim_init(bp_optim *o, size_t n, bp_error *err);
void bp_optim_free(bp_optim *o);                  /* idempotent */
/* Bytes of state that init allocated. */
size_t bp_optim_state_bytes(const bp_optim *o);
/* The state buffers this configuration uses (each o->n floats), named as
** torch.optim names them: SGD's and RMSprop's "momentum_buffer", Adam's
** "exp_avg", "exp_avg_sq" and "max_exp_avg_sq" (amsgrad), RMSprop's
** "square_avg" and "grad_avg" (centered), Adagrad's "sum", Rprop's "prev"
** (the last gradient) and "step_size". Up to 3 into names and bufs, in a
** fixed order; returns how many. With o->steps, all a run's state. */
int bp_optim_buffers(const bp_optim *o, const char *names[3], float *bufs[3]);
void bp_optim_step(bp_optim *o, float *params, const float *grads);
/* SGD's update (o->kind BP_SGD) of the m parameters at p, a piece of the
** buffer params that the optimizer steps, with their gradients g: what
** bp_optim_step does to them, bit for bit (steps is not counted). */
void bp_optim_sgd_part(const bp_optim *o, const float *params, float *p,
                       const float *g, size_t m);
/* The same for any kind: the update of a piece, bit for bit what
** bp_optim_step does to it (steps is not counted). */
void bp_optim_part(const bp_optim *o, const float *params, float *p,
                   const float *g, size_t m);
/* The optimizer's update as a hook for a fused backward pass
** (bp_net_backward_update) over the buffer params: 1 and *u filled when
** its rule updates each parameter from its own gradient and state alone
** (every kind here: apply is bp_optim_part), else 0. Valid while o lives
** and its settings stay as they are (make it again after a change of
** lr). */
int bp_optim_update(const bp_optim *o, const float *params, bp_update *u);
/* bp_optim_step with the update split over the pool (NULL: inline) when
** the buffers are large: the same bits for any thread count. */
struct bp_pool;
void bp_optim_step_mt(bp_optim *o, struct bp_pool *pool, float *params,
                      const float *grads);

#endif
