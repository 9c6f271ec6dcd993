/*
** train.h: the training loop in C. One step is zero_grad, forward, loss,
** backward and update; one epoch runs steps over every sample in batches,
** in an order shuffled with the caller's generator. Buffers grow to the
** largest batch seen and are reused, so steady-state epochs allocate
** nothing. A step clips the gradients as opt->clip says (off unless fit
** sets it) before the update. A non-finite loss stops before the update,
** leaving the weights as they were.
*/
#ifndef BP_TRAIN_H
#define BP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "nn/loss.h"
#include "nn/net.h"
#include "train/optim.h"
#include "base/rng.h"

/* Scratch for epochs, owned by the caller; zero it before first use. */
typedef struct bp_epoch_buf {
  uint32_t *order;
  float *y;             /* shuffled targets (inputs go to the network's
                           own input buffer) */
  size_t order_cap, y_cap;
  size_t epoch_n;       /* samples of the epoch whose order is drawn */
} bp_epoch_buf;

void bp_epoch_buf_free(bp_epoch_buf *b);    /* idempotent */

/* x holds n samples of shape `in`; y holds bp_loss_target_count(kind, n,
** output width) values. *loss is
** the batch loss under lf's reduction (the sum for reduction NONE, whose
** gradient is that of the sum). */
bp_status bp_train_step(bp_net *net, const float *x, size_t n,
                        const bp_shape *in, const float *y,
                        const bp_loss_spec *lf, bp_optim *opt,
                        double *loss, bp_error *err);

/* X holds N samples of shape `in`, Y is N x ywidth (ywidth targets per sample). *loss is
** the epoch's loss: for reduction MEAN the mean of the batch losses
** weighted by batch size, for SUM and NONE the sum over all batches. */
bp_status bp_train_epoch(bp_net *net, bp_epoch_buf *buf, const float *X,
                         size_t N, const bp_shape *in, const float *Y,
                         size_t ywidth, const bp_loss_spec *lf, bp_optim *opt,
                         size_t batch, int shuffle, bp_rng *rng, double *loss,
                         bp_error *err);

/* The samples of an epoch: float32 rows, or uint8 rows (image data kept
** compact) turned into floats, u8 x scale, as each batch is formed. */
typedef struct bp_samples {
  const float *f32;             /* exactly one of f32 and u8 is set */
  const unsigned char *u8;
  float scale;
} bp_samples;

/* Part of an epoch: batches first .. first + count - 1 (0-based; count 0
** runs to the end), so a caller can report every few batches. first == 0
** draws the epoch's sample order (shuffled when asked); later calls go on
** with that order, so the parts of an epoch add up to bp_train_epoch.
** *total gets the sum over the part's batches of (loss x batch size) for
** reduction MEAN, of the loss otherwise; *seen the samples trained on
** (0 when first is past the end). */
bp_status bp_train_batches(bp_net *net, bp_epoch_buf *buf,
                           const bp_samples *X,
                           size_t N, const bp_shape *in, const float *Y,
                           size_t ywidth, const bp_loss_spec *lf,
                           bp_optim *opt, size_t batch, int shuffle,
                           bp_rng *rng, size_t first, size_t count,
                           double *total, size_t *seen, bp_error *err);

#endif
