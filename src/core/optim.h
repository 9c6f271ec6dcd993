/*
** optim.h: optimizers over a network's flat parameter and gradient buffers.
** The update rules are PyTorch's, so results can be checked against it:
**   SGD:  d = g + wd*p; with momentum mu: buf = d on the first step, then
**         buf = mu*buf + (1-dampening)*d; d = nesterov ? d + mu*buf : buf;
**         p -= lr*d.
**   Adam: g += wd*p; m = b1*m + (1-b1)g; v = b2*v + (1-b2)g^2;
**         p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
** Hyperparameters are plain fields: change lr between steps to schedule it.
*/
#ifndef BP_OPTIM_H
#define BP_OPTIM_H

#include <stddef.h>

#include "status.h"

typedef enum { BP_SGD = 1, BP_ADAM = 2 } bp_optim_kind;

typedef struct bp_optim {
  bp_optim_kind kind;
  double lr, weight_decay;
  double momentum, dampening;   /* SGD */
  int nesterov;                 /* SGD */
  double beta1, beta2, eps;     /* Adam */
  long long steps;              /* updates done so far */
  size_t n;                     /* floats in the buffers it updates */
  float *m, *v;                 /* state: SGD momentum in m; Adam both */
} bp_optim;

/* Set the fields first (bp_optim_defaults helps), then init. */
void bp_optim_defaults(bp_optim *o, bp_optim_kind kind);
bp_status bp_optim_check(const bp_optim *o, bp_error *err);
bp_status bp_optim_init(bp_optim *o, size_t n, bp_error *err);
void bp_optim_free(bp_optim *o);                  /* idempotent */
void bp_optim_step(bp_optim *o, float *params, const float *grads);

#endif
