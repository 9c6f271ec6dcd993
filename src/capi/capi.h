/*
** capi.h: what the files of the C API (include/backprop.h) share: the
** handle behind backprop_net, and the reader of settings strings. The API
** is a layer over the core, as the Lua binding is: it converts arguments,
** checks them and calls the same functions (nn/net.h, train/train.h,
** io/serialize.h); it computes nothing itself.
**
**   net.c      the handle, layers, forward, files
**   train.c    loss, optimizer, train_step, fit
**   options.c  settings strings
*/
#ifndef CAPI_H
#define CAPI_H

#include <stddef.h>

#include "backprop.h"
#include "base/rng.h"
#include "base/status.h"
#include "nn/loss.h"
#include "nn/net.h"
#include "train/optim.h"

struct bp_pool;

struct backprop_net {
  bp_net net;             /* built when first needed, from `layers` */
  int built;
  int drawn;              /* its weights, drawn on first use */
  bp_layer *layers;       /* the layers added so far (until built) */
  size_t nlayers, cap;
  bp_rng rng;             /* the network's own generator */
  struct bp_pool *pool;   /* NULL: one thread */
  int training;
  bp_shape in;            /* one input sample; ndim 0: a vector of `in` */
  int has_loss;
  bp_loss_spec loss;      /* its weights point into lossw */
  float *lossw;
  int has_opt;
  bp_optim opt;           /* settings, and state once opt_ready */
  int opt_ready;          /* state made for this network's parameters */
  /* The last call's message ("" after success): the function's name and
  ** the core's message (a bp_error). */
  char msg[64 + 2 + sizeof(bp_error)];
};

/* --- the handle (net.c) -------------------------------------------------- */

/* Every entry point starts with this: a NULL network has nowhere to keep
** a message, so the status alone says it. */
#define CAPI_CHECK(net) \
  if ((net) == NULL) return BACKPROP_EINVAL

/* Return BACKPROP_OK and clear the message. */
backprop_status bp_capi_ok(backprop_net *net);
/* Record "fn: <e's message>" and return st (a bp_status, as the API's). */
backprop_status bp_capi_fail(backprop_net *net, const char *fn, bp_status st,
                             const bp_error *e);
/* Record "fn: <formatted message>" and return code. */
backprop_status bp_capi_failf(backprop_net *net, const char *fn, bp_status code,
                              const char *fmt, ...);
/* Build the network from its layers when first needed; point it at the
** generator, pool and mode. */
backprop_status bp_capi_build(backprop_net *net, const char *fn);
/* The same, and draw its weights on first use (as Lua draws them: only
** once the call's arguments passed their checks). */
backprop_status bp_capi_use(backprop_net *net, const char *fn);
/* n samples of `in` floats at x as the core's batch shape *s, checked
** against the network (*out: the output's per-sample shape) and for
** finite values. Builds the network; draws nothing. */
backprop_status bp_capi_input(backprop_net *net, const char *fn, const float *x,
                              size_t n, size_t in, bp_shape *s, bp_shape *out);
/* The first non-finite value of the n x width floats at v, if any, as an
** error naming `what`, its row and element. */
backprop_status bp_capi_finite(backprop_net *net, const char *fn,
                               const char *what, const float *v, size_t n,
                               size_t width);

/* --- settings strings (options.c) --------------------------------------- */

typedef struct capi_entry {
  char name[64];          /* "" for a bare value */
  const char *value;      /* its text, len bytes (not terminated) */
  size_t len;
} capi_entry;

/* The next entry of the string at *s, which moves past it: 1 and *e, or 0
** at the end (a NULL string has no entries), or -1 and a message. */
int bp_capi_next(const char **s, capi_entry *e, bp_error *err);
/* Whether the value is exactly word. */
int bp_capi_is(const capi_entry *e, const char *word);
/* The value as one finite number, as up to max of them separated by
** commas (*n read), or as true or false; messages name e->name. */
bp_status bp_capi_number(const capi_entry *e, double *v, bp_error *err);
bp_status bp_capi_list(const capi_entry *e, double *v, size_t max, size_t *n,
                       bp_error *err);
bp_status bp_capi_bool(const capi_entry *e, int *v, bp_error *err);

#endif
