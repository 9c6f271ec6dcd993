/*
** clip.h: gradient clipping over a flat gradient buffer, as PyTorch's
** torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do it over a
** network's parameters (padding between tensors holds zeros, so it changes
** no norm).
*/
#ifndef BP_CLIP_H
#define BP_CLIP_H

#include <stddef.h>

#include "base/status.h"

/* What bp_train_step clips before each update; fields at 0 are off. */
typedef struct bp_clip {
  double max_norm;    /* > 0: scale g so that its norm is at most this */
  double norm_type;   /* p of the p-norm, > 0; INFINITY for max |g| */
  double value;       /* > 0: clamp every gradient into [-value, value] */
} bp_clip;

bp_status bp_clip_check(const bp_clip *c, bp_error *err);

/* The p-norm of g (computed in double). */
double bp_grad_norm(const float *g, size_t n, double norm_type);
/* Scale g by max_norm / (norm + 1e-6) when that is below 1. Returns the
** norm before clipping. */
double bp_clip_grad_norm(float *g, size_t n, double max_norm,
                         double norm_type);
void bp_clip_grad_value(float *g, size_t n, double value);
/* Value clipping first, then norm clipping, each when it is on. */
void bp_clip_apply(const bp_clip *c, float *g, size_t n);

#endif
