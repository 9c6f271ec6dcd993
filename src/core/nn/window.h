/*
** window.h: the sliding-window geometry Conv2d (conv.c) and the pools
** (pool2d.c) share. A layer's window is kh x kw with stride sh, sw and
** zero padding ph, pw (bp_layer fields); samples are C x H x W.
*/
#ifndef BP_WINDOW_H
#define BP_WINDOW_H

#include "nn/layer.h"

/* Output length along one axis of length len; 0 if the window does not
** fit even with the padding. */
static inline size_t bp_win_len(size_t len, size_t k, size_t s, size_t p) {
  if (len + 2 * p < k) return 0;
  return (len + 2 * p - k) / s + 1;
}

/* Output height and width of l's window over a C x H x W sample. */
static inline void bp_win_hw(const bp_layer *l, const bp_shape *in,
                             size_t *ho, size_t *wo) {
  *ho = bp_win_len(in->d[1], l->kh, l->sh, l->ph);
  *wo = bp_win_len(in->d[2], l->kw, l->sw, l->pw);
}

/* Fails unless a batch of n samples of shape in is N x C x H x W. */
static inline bp_status bp_win_check(size_t n, const bp_shape *in,
                                     bp_error *err) {
  char s[96];
  if (in->ndim == 3) return BP_OK;
  bp_shape_fmt(n, in, s, sizeof s);
  return bp_fail(err, BP_EINVAL, "expected input of shape N x C x H x W, "
                 "got %s", s);
}

/* out = c x Ho x Wo for l's window over in; fails, calling the window
** `what` ("kernel", "window"), when it is larger than the padded sample. */
static inline bp_status bp_win_shape(const bp_layer *l, const bp_shape *in,
                                     size_t c, const char *what,
                                     bp_shape *out, bp_error *err) {
  char s[96];
  out->ndim = 3;
  out->d[0] = c;
  bp_win_hw(l, in, &out->d[1], &out->d[2]);
  if (out->d[1] != 0 && out->d[2] != 0) return BP_OK;
  bp_shape_fmt(0, in, s, sizeof s);
  return bp_fail(err, BP_EINVAL, "%s %lux%lu (padding %lu, %lu) is larger "
                 "than the sample (%s)", what,
                 (unsigned long)l->kh, (unsigned long)l->kw,
                 (unsigned long)l->ph, (unsigned long)l->pw, s);
}

#endif
