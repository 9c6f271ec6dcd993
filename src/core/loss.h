/*
** loss.h: losses comparing a prediction (n x c) with a target. Each
** returns the mean loss (PyTorch's default reduction) and, if grad is not
** NULL, writes dL/dprediction (n x c) in the same pass.
**   MSE: target n x c. The classic recipe's squared error.
**   BCE: prediction and target in [0, 1]; logs are clamped at -100, as
**        PyTorch does, so log(0) never reaches the result.
**   CE:  raw scores and n class labels 1..c; softmax and log-likelihood
**        fused through log-sum-exp, so large scores cannot overflow.
** Bad targets (wrong count, label out of range, probability outside [0,1])
** are reported, not clamped.
*/
#ifndef BP_LOSS_H
#define BP_LOSS_H

#include <stddef.h>

#include "status.h"

/* Values are part of the public C API: append, never renumber. */
typedef enum { BP_MSE = 1, BP_BCE = 2, BP_CE = 3 } bp_loss_kind;

/* Number of target values a loss expects for n x c predictions. */
size_t bp_loss_target_count(bp_loss_kind kind, size_t n, size_t c);
bp_status bp_loss(bp_loss_kind kind, const float *pred, size_t n, size_t c,
                  const float *target, double *loss, float *grad,
                  bp_error *err);

#endif
