/*
** window.h: the sliding-window geometry Conv2d (conv.c) and the pools
** (pool2d.c) share: a kh x kw window with stride sh, sw and zero padding
** ph, pw, over samples of C x H x W, and the settings that describe it.
*/
#ifndef BP_WINDOW_H
#define BP_WINDOW_H

#include <stddef.h>

#include "nn/layer.h"

typedef struct bp_window {
  size_t kh, kw, sh, sw, ph, pw;
} bp_window;

/* Schema entries for a window that sits at offset `at` of a settings
** struct; stride defaults to `stride_def`, or to the kernel size when
** stride_same is set (the pools). */
#define BP_WINDOW_SETTINGS(at, stride_def, stride_same)                    \
  {.name = "kernel_size", .type = BP_PAIR,                                \
   .off = (at) + offsetof(bp_window, kh), .required = 1,                  \
   .bounds = BP_MIN | BP_MAX, .min = 1, .max = 4096, .label = "kernel"},  \
  {.name = "stride", .type = BP_PAIR, .off = (at) + offsetof(bp_window, sh), \
   .def = (stride_def), .same_as = (stride_same) ? "kernel_size" : NULL,  \
   .bounds = BP_MIN | BP_MAX, .min = 1, .max = 4096, .label = "stride"},  \
  {.name = "padding", .type = BP_PAIR, .off = (at) + offsetof(bp_window, ph), \
   .bounds = BP_MIN | BP_MAX, .min = 0, .max = 4096, .label = "padding"}

/* Output length along one axis of length len; 0 if the window does not
** fit even with the padding. */
static inline size_t bp_win_len(size_t len, size_t k, size_t s, size_t p) {
  if (len + 2 * p < k) return 0;
  return (len + 2 * p - k) / s + 1;
}

/* Output height and width of window w over a C x H x W sample. */
static inline void bp_win_hw(const bp_window *w, const bp_shape *in,
                             size_t *ho, size_t *wo) {
  *ho = bp_win_len(in->d[1], w->kh, w->sh, w->ph);
  *wo = bp_win_len(in->d[2], w->kw, w->sw, w->pw);
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

/* out = c x Ho x Wo for window w over in; fails, calling the window
** `what` ("kernel", "window"), when it is larger than the padded sample. */
static inline bp_status bp_win_shape(const bp_window *w, const bp_shape *in,
                                     size_t c, const char *what,
                                     bp_shape *out, bp_error *err) {
  char s[96];
  out->ndim = 3;
  out->d[0] = c;
  bp_win_hw(w, in, &out->d[1], &out->d[2]);
  if (out->d[1] != 0 && out->d[2] != 0) return BP_OK;
  bp_shape_fmt(0, in, s, sizeof s);
  return bp_fail(err, BP_EINVAL, "%s %lux%lu (padding %lu, %lu) is larger "
                 "than the sample (%s)", what,
                 (unsigned long)w->kh, (unsigned long)w->kw,
                 (unsigned long)w->ph, (unsigned long)w->pw, s);
}

#endif
