/*
** loss.h: losses comparing a prediction (n x c) with a target, with
** PyTorch's definitions and options. One call computes the loss and, if
** grad is not NULL, dL/dprediction (n x c) in the same pass.
**
** Pointwise losses (target n x c, one loss per element):
**   MSE:   (p - y)^2.
**   L1:    |p - y|; the gradient at p = y is 0, as torch's sign().
**   Huber: 0.5 d^2 where |d| < delta, delta (|d| - delta / 2) beyond.
**   BCE:   p and y in [0, 1]; logs clamped at -100, as PyTorch does, so
**          log(0) never reaches the result.
**   BCE with logits: raw scores x, y in [0, 1], computed as
**          (1 - y) x + (1 + (pw - 1) y) softplus(-x), stable for any x;
**          pw is pos_weight (per column, default 1).
** Class losses (target: n labels 1..c, one loss per sample):
**   CE:    raw scores; log-softmax through log-sum-exp, so large scores
**          cannot overflow. With class weights w and label smoothing e:
**          (1 - e) w[y] (-logp[y]) + (e / c) sum_j w[j] (-logp[j]).
**   NLL:   log-probabilities (end the network with LogSoftmax): -w[y] x[y].
**
** Reduction: MEAN divides the sum of the per-element losses by their
** count, or for a weighted class loss by the sum of the weights of the
** targets (PyTorch's rule); SUM adds them; NONE writes each into `out`.
** With NONE, *loss is their sum and grad is the gradient of that sum.
** Bad targets or options (label out of range, probability outside [0, 1],
** weight count not c, ...) are reported before anything is written.
*/
#ifndef BP_LOSS_H
#define BP_LOSS_H

#include <stddef.h>

#include "base/status.h"

/* Values are part of the public C API: append, never renumber. */
typedef enum {
  BP_MSE = 1, BP_BCE = 2, BP_CE = 3, BP_NLL = 4, BP_L1 = 5, BP_HUBER = 6,
  BP_BCE_LOGITS = 7
} bp_loss_kind;

typedef enum {
  BP_REDUCE_MEAN = 0, BP_REDUCE_SUM = 1, BP_REDUCE_NONE = 2
} bp_reduction;

/* A loss and its options. The arrays are the caller's and must outlive
** every call that uses the spec. */
typedef struct bp_loss_spec {
  bp_loss_kind kind;
  bp_reduction reduction;
  const float *weight;      /* CE, NLL: c positive class weights, or NULL */
  size_t nweight;
  const float *pos_weight;  /* BCE with logits: c positive weights, or NULL */
  size_t npos_weight;
  double smoothing;         /* CE: label smoothing in [0, 1) */
  double delta;             /* Huber: threshold > 0 */
} bp_loss_spec;

/* The defaults: mean reduction, no weights, no smoothing, delta 1. */
void bp_loss_spec_init(bp_loss_spec *s, bp_loss_kind kind);

/* Losses by name, as the Lua constructors and the C API's strings name
** them: "MSELoss", "CrossEntropyLoss", ... (NULL for an unknown kind);
** the kind of a name, 0 if none. */
const char *bp_loss_name(bp_loss_kind kind);
bp_loss_kind bp_loss_kind_of(const char *name);
/* The options a kind takes, by name, NULL-terminated: "reduction" for
** every one; "weight" and "label_smoothing" (CE), "weight" (NLL), "delta"
** (Huber), "pos_weight" (BCE with logits). NULL for an unknown kind. */
const char *const *bp_loss_options(bp_loss_kind kind);
/* "mean", "sum", "none" (NULL for another value), and back (0 if the
** name is none of them). */
const char *bp_reduction_name(bp_reduction r);
int bp_reduction_of(const char *name, bp_reduction *r);
/* The checks of the options alone, before there is a prediction: the
** reduction, smoothing, delta and each weight's value (their count is
** checked against the prediction's columns by bp_loss_check). */
bp_status bp_loss_spec_check(const bp_loss_spec *s, bp_error *err);

/* Nonzero for losses whose target is one class label per sample. */
int bp_loss_takes_labels(bp_loss_kind kind);
/* Number of target values a loss expects for n x c predictions; it is
** also the number of per-element losses reduction NONE writes. */
size_t bp_loss_target_count(bp_loss_kind kind, size_t n, size_t c);

/* The checks bp_loss starts with, for a caller that wants them before
** allocating anything. */
bp_status bp_loss_check(const bp_loss_spec *s, const float *pred, size_t n,
                        size_t c, const float *target, bp_error *err);

/* out (may be NULL) receives bp_loss_target_count values: the unreduced
** losses, whatever the reduction. */
bp_status bp_loss(const bp_loss_spec *s, const float *pred, size_t n,
                  size_t c, const float *target, double *loss, float *out,
                  float *grad, bp_error *err);

#endif
