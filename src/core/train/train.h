/*
** train.h: the training loop in C. One step is zero_grad, forward, loss,
** backward, clipping and the optimizer's update. A trainer, made once per
** fit call, holds what its epochs share (loss, optimizer, clipping, batch
** size, shuffling, the epoch's sample order and the buffers a batch is
** gathered into) and runs any range of an epoch's batches, so the caller
** can report, or hand control to a user, between ranges. It also
** evaluates a data set in chunks (validation). Buffers are made by
** bp_trainer_init; runs and evaluations allocate nothing. A non-finite
** loss stops before the update, leaving the weights as they were.
*/
#ifndef BP_TRAIN_H
#define BP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "train/clip.h"
#include "train/optim.h"

/* x holds n samples of shape `in`; y holds bp_loss_target_count(kind, n,
** output width) values. *loss is the batch loss under lf's reduction (the
** sum for reduction NONE, whose gradient is that of the sum). clip (NULL:
** none) is applied to the gradients before the update. With SGD on a
** network whose layers can fuse its update and no clipping, zero_grad,
** backward and the update run as one pass (bp_net_backward_update), with
** the same results bit for bit. */
bp_status bp_train_step(bp_net *net, const float *x, size_t n,
                        const bp_shape *in, const float *y,
                        const bp_loss_spec *lf, bp_optim *opt,
                        const bp_clip *clip, double *loss, bp_error *err);

/* Samples: float32 rows, or uint8 rows (image data kept compact) turned
** into floats, u8 x scale, as each batch is formed. */
typedef struct bp_samples {
  const float *f32;             /* exactly one of f32 and u8 is set */
  const unsigned char *u8;
  float scale;
} bp_samples;

typedef struct bp_trainer {
  /* Settings: bp_trainer_init sets them (clipping off, no shuffling); the
  ** caller may change clip, shuffle and rng before a run. The trainer
  ** keeps the pointers: net, loss and opt must outlive it. */
  bp_net *net;
  const bp_loss_spec *loss;
  bp_optim *opt;
  bp_clip clip;         /* clipping before each update (fields at 0: off) */
  int shuffle;          /* draw a new order at each epoch's first batch */
  bp_rng *rng;          /* ... with this generator */
  int given;            /* or: the caller wrote the epoch's order (each
                           entry below n) before its first batch */
  int scanned;          /* the caller found every float input finite since
                           the last run (the next run need not look) */
  size_t batch;         /* samples per update (the last may have fewer) */
  size_t n;             /* samples of the training set, of shape `in`, */
  bp_shape in;
  size_t ywidth;        /* ... with ywidth target values each */
  /* State. */
  uint32_t *order;      /* the current epoch's order of the n samples */
  float *y;             /* a gathered batch's targets */
} bp_trainer;

/* What a run or an evaluation adds up. With reduction MEAN, total is the
** sum over batches of (loss x weight), where a batch's weight is its
** sample count, or for a class-weighted loss (CrossEntropy, NLL with
** weight) the sum of its labels' weights: total / weight is then the loss
** of all the samples at once, as PyTorch defines it. With SUM and NONE,
** total is the sum of the batch losses (weight is summed all the same). */
typedef struct bp_train_sum {
  double total, weight;
  size_t seen;          /* samples */
} bp_train_sum;

/* Check that n samples of shape `in` with ywidth targets each suit net and
** loss (the error names the mismatch), and make the buffers; batch is cut
** to n. On failure t needs no free. */
bp_status bp_trainer_init(bp_trainer *t, bp_net *net,
                          const bp_loss_spec *loss, bp_optim *opt, size_t n,
                          const bp_shape *in, size_t ywidth, size_t batch,
                          bp_error *err);
void bp_trainer_free(bp_trainer *t);    /* idempotent */
/* Batches in an epoch. */
size_t bp_trainer_batches(const bp_trainer *t);

/* Batches first .. first + count - 1 of the epoch (0-based; count 0 runs
** to the end) over x and y (t->n samples, as at init), in training mode.
** first == 0 draws the epoch's order (shuffled when asked); later ranges
** go on with it, so the ranges of an epoch add up to one whole run. Each
** batch of float samples is checked for NaN and infinity just before its
** step (the error names the row of x). *sum gets the range's sums (zeros
** when first is past the end). */
bp_status bp_trainer_run(bp_trainer *t, const bp_samples *x, const float *y,
                         size_t first, size_t count, bp_train_sum *sum,
                         bp_error *err);

/* The loss of the network on n samples x of shape `in` with targets y, in
** eval mode, `chunk` samples at a time (the scratch memory stays the size
** of a chunk). out, when not NULL, receives the n outputs. */
bp_status bp_trainer_eval(bp_trainer *t, const bp_samples *x, size_t n,
                          const bp_shape *in, const float *y, size_t chunk,
                          float *out, bp_train_sum *sum, bp_error *err);

#endif
