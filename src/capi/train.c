/*
** train.c: training through the C API (backprop.h): the loss and the
** optimizer by name, backprop_train_step (the core's bp_train_step, as
** net:train_step) and backprop_fit (the core's trainer, as net:fit runs
** its epochs). Names and options come from the core's tables (nn/loss.h,
** train/optim.h), so they are the Lua constructors'.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "capi.h"
#include "train/train.h"

/* "a, b, c" (a NULL-terminated list) into buf. */
static void join(const char *const *names, char *buf, size_t len) {
  size_t at = 0, n;
  buf[0] = '\0';
  for (; *names != NULL && at + 1 < len; names++) {
    n = strlen(*names);
    if (at > 0 && at + 2 < len) {
      memcpy(buf + at, ", ", 2);
      at += 2;
    }
    if (n > len - 1 - at) n = len - 1 - at;
    memcpy(buf + at, *names, n);
    at += n;
    buf[at] = '\0';
  }
}

/* An entry must have a name (only layers take bare values). */
static bp_status named(const capi_entry *e, bp_error *err) {
  if (e->name[0] != '\0') return BP_OK;
  return bp_fail(err, BP_EINVAL, "expected name=value, got \"%.*s\"",
                 (int)e->len, e->value);
}

/* --- the loss ------------------------------------------------------------ */

/* The entry's number into *v (left alone on failure). */
static bp_status number(const capi_entry *e, double *v, bp_error *err) {
  double x[1];
  bp_status st = bp_capi_number(e, x, err);
  if (st == BP_OK) *v = x[0];
  return st;
}

static int takes(const char *const *keys, const char *key) {
  for (; *keys != NULL; keys++)
    if (strcmp(*keys, key) == 0) return 1;
  return 0;
}

/* One option of a loss of spec's kind into spec; weight lists go into w,
** which has room for every number of the string. */
static bp_status loss_option(bp_loss_spec *s, capi_entry *e, float *w,
                             size_t *used, bp_error *err) {
  const char *const *keys = bp_loss_options(s->kind);
  char names[128];
  double *list;
  size_t n, i;
  bp_status st = named(e, err);
  if (st != BP_OK) return st;
  if (!takes(keys, e->name)) {
    join(keys, names, sizeof names);
    return bp_fail(err, BP_EINVAL, "no option '%s' (it takes %s)", e->name,
                   names);
  }
  if (strcmp(e->name, "reduction") == 0) {
    char word[16];
    snprintf(word, sizeof word, "%.*s", (int)e->len, e->value);
    if (e->len >= sizeof word || !bp_reduction_of(word, &s->reduction))
      return bp_fail(err, BP_EINVAL, "reduction must be mean, sum or none, "
                     "got \"%.*s\"", (int)e->len, e->value);
    return BP_OK;
  }
  if (strcmp(e->name, "label_smoothing") == 0)
    return number(e, &s->smoothing, err);
  if (strcmp(e->name, "delta") == 0) return number(e, &s->delta, err);
  /* weight, pos_weight: a list of any length (checked against the
  ** prediction's columns when the loss runs) */
  list = malloc((e->len / 2 + 1) * sizeof *list);
  if (list == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  st = bp_capi_list(e, list, e->len / 2 + 1, &n, err);
  for (i = 0; st == BP_OK && i < n; i++) w[*used + i] = (float)list[i];
  free(list);
  if (st != BP_OK) return st;
  if (e->name[0] == 'w') {
    s->weight = w + *used;
    s->nweight = n;
  } else {
    s->pos_weight = w + *used;
    s->npos_weight = n;
  }
  *used += n;
  return BP_OK;
}

backprop_status backprop_set_loss(backprop_net *net, const char *loss,
                                  const char *options) {
  const char *fn = "backprop_set_loss", *at = options;
  bp_loss_kind kind;
  bp_loss_spec s;
  capi_entry e;
  char what[64];
  bp_error err;
  float *w;
  size_t used = 0;
  int r;
  CAPI_CHECK(net);
  kind = loss != NULL ? bp_loss_kind_of(loss) : (bp_loss_kind)0;
  if (kind == 0)
    return bp_capi_failf(net, fn, BP_EINVAL, "unknown loss '%s' (MSELoss, "
                         "L1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, "
                         "CrossEntropyLoss or NLLLoss)", loss ? loss : "NULL");
  snprintf(what, sizeof what, "%s: %s", fn, bp_loss_name(kind));
  /* Room for every number the string could hold: at most one per two
  ** characters. */
  w = malloc((options != NULL ? strlen(options) / 2 + 1 : 1) * sizeof *w);
  if (w == NULL) return bp_capi_failf(net, fn, BP_ENOMEM, "out of memory");
  bp_loss_spec_init(&s, kind);
  while ((r = bp_capi_next(&at, &e, &err)) == 1)
    if (loss_option(&s, &e, w, &used, &err) != BP_OK) {
      r = -1;
      break;
    }
  if (r == 0 && bp_loss_spec_check(&s, &err) != BP_OK) r = -1;
  if (r < 0) {
    free(w);
    return bp_capi_fail(net, what, BP_EINVAL, &err);
  }
  free(net->lossw);
  net->lossw = w;
  net->loss = s;
  net->has_loss = 1;
  return bp_capi_ok(net);
}

/* --- the optimizer ------------------------------------------------------- */

static bp_status optim_option(bp_optim *o, capi_entry *e, bp_error *err) {
  const bp_optim_field *f;
  double v[2];
  size_t n;
  bp_status st = named(e, err);
  if (st != BP_OK) return st;
  f = bp_optim_field_find(o->kind, e->name);
  if (f == NULL) {
    const char *keys[32];
    char names[256];
    int k = 0;
    for (f = bp_optim_fields; f->key != NULL && k < 31; f++)
      if (bp_optim_takes(f, o->kind)) keys[k++] = f->key;
    keys[k] = NULL;
    join(keys, names, sizeof names);
    return bp_fail(err, BP_EINVAL, "no option '%s' (it takes %s)", e->name,
                   names);
  }
  switch (f->type) {
  case BP_OPT_BOOL:
    return bp_capi_bool(e, bp_optim_flag(o, f), err);
  case BP_OPT_PAIR:
    st = bp_capi_list(e, v, 2, &n, err);
    if (st == BP_OK && n != 2)
      st = bp_fail(err, BP_EINVAL, "%s must be two numbers, like %s=%g,%g",
                   f->key, f->key, bp_optim_num(o, f)[0],
                   bp_optim_num(o, f)[1]);
    if (st == BP_OK) memcpy(bp_optim_num(o, f), v, sizeof v);
    return st;
  default:
    return number(e, bp_optim_num(o, f), err);
  }
}

/* The optimizer's state, made for the network's parameters (again after
** backprop_load). */
static backprop_status optim_ready(backprop_net *net, const char *fn) {
  bp_error e;
  bp_status st;
  if (net->opt_ready) return BACKPROP_OK;
  bp_optim_free(&net->opt);
  st = bp_optim_init(&net->opt, net->net.nparams, &e);
  if (st != BP_OK) return bp_capi_fail(net, fn, st, &e);
  net->opt_ready = 1;
  return BACKPROP_OK;
}

backprop_status backprop_set_optimizer(backprop_net *net,
                                       const char *optimizer,
                                       const char *options) {
  const char *fn = "backprop_set_optimizer", *at = options;
  bp_optim_kind kind;
  bp_optim o;
  capi_entry e;
  char what[64];
  bp_error err;
  backprop_status st;
  int r;
  CAPI_CHECK(net);
  kind = optimizer != NULL ? bp_optim_kind_of(optimizer) : (bp_optim_kind)0;
  if (kind == 0)
    return bp_capi_failf(net, fn, BP_EINVAL, "unknown optimizer '%s' (SGD, "
                         "Adam, AdamW, RMSprop, Adagrad or Rprop)",
                         optimizer ? optimizer : "NULL");
  snprintf(what, sizeof what, "%s: %s", fn, bp_optim_name(kind));
  bp_optim_defaults(&o, kind);
  while ((r = bp_capi_next(&at, &e, &err)) == 1)
    if (optim_option(&o, &e, &err) != BP_OK)
      return bp_capi_fail(net, what, BP_EINVAL, &err);
  if (r < 0 || bp_optim_check(&o, &err) != BP_OK)
    return bp_capi_fail(net, what, BP_EINVAL, &err);
  /* As bp.SGD(net, ...): the network's weights are drawn now. */
  st = bp_capi_use(net, fn);
  if (st != BACKPROP_OK) return st;
  bp_optim_free(&net->opt);
  net->opt = o;
  net->has_opt = 1;
  net->opt_ready = 0;
  st = optim_ready(net, fn);
  if (st != BACKPROP_OK) net->has_opt = 0;
  return st != BACKPROP_OK ? st : bp_capi_ok(net);
}

backprop_status backprop_set_lr(backprop_net *net, double lr) {
  const char *fn = "backprop_set_lr";
  CAPI_CHECK(net);
  if (!net->has_opt)
    return bp_capi_failf(net, fn, BP_EINVAL, "no optimizer (backprop_set_"
                         "optimizer first)");
  if (!(isfinite(lr) && lr >= 0))
    return bp_capi_failf(net, fn, BP_EINVAL, "lr must be >= 0, got %g", lr);
  net->opt.lr = lr;
  return bp_capi_ok(net);
}

/* --- training ------------------------------------------------------------ */

/* The checks train_step and fit share: a loss and an optimizer, x and y
** for the network and the loss (*s: the sample shape, *yw: targets per
** sample). Draws the weights (first use) and makes the optimizer's state. */
static backprop_status ready(backprop_net *net, const char *fn,
                             const float *x, size_t n, size_t in,
                             const float *y, bp_shape *s, size_t *yw) {
  bp_shape out;
  backprop_status st;
  if (!net->has_loss)
    return bp_capi_failf(net, fn, BP_EINVAL, "no loss (backprop_set_loss "
                         "first)");
  if (!net->has_opt)
    return bp_capi_failf(net, fn, BP_EINVAL, "no optimizer (backprop_set_"
                         "optimizer first)");
  st = bp_capi_input(net, fn, x, n, in, s, &out);
  if (st != BACKPROP_OK) return st;
  if (y == NULL) return bp_capi_failf(net, fn, BP_EINVAL, "the target is NULL");
  *yw = bp_loss_target_count(net->loss.kind, 1, bp_shape_numel(&out));
  /* Labels are checked by the loss (integers 1..classes). */
  if (!bp_loss_takes_labels(net->loss.kind)) {
    st = bp_capi_finite(net, fn, "the target", y, n, *yw);
    if (st != BACKPROP_OK) return st;
  }
  st = bp_capi_use(net, fn);
  return st != BACKPROP_OK ? st : optim_ready(net, fn);
}

backprop_status backprop_train_step(backprop_net *net, const float *x,
                                    size_t n, size_t in, const float *y,
                                    double *loss) {
  const char *fn = "backprop_train_step";
  bp_shape s;
  size_t yw;
  double l;
  bp_error e;
  bp_status st;
  backprop_status ok;
  CAPI_CHECK(net);
  ok = ready(net, fn, x, n, in, y, &s, &yw);
  if (ok != BACKPROP_OK) return ok;
  st = bp_train_step(&net->net, x, n, &s, y, &net->loss, &net->opt, NULL, &l,
                     &e);
  if (st != BP_OK) return bp_capi_fail(net, fn, st, &e);
  if (loss != NULL) *loss = l;
  return bp_capi_ok(net);
}

/* fit's options: epochs, batch_size, shuffle (net:fit's names and
** defaults). */
typedef struct fit_options {
  size_t epochs, batch;
  int shuffle;
} fit_options;

/* A count: an integer from 1 to 2^32 - 1. */
static bp_status count(const capi_entry *e, size_t *n, bp_error *err) {
  double v;
  bp_status st = number(e, &v, err);
  if (st != BP_OK) return st;
  if (!(v >= 1 && v <= 4294967295.0 && v == floor(v)))
    return bp_fail(err, BP_EINVAL, "%s must be a positive integer, got "
                   "\"%.*s\"", e->name, (int)e->len, e->value);
  *n = (size_t)v;
  return BP_OK;
}

static bp_status fit_option(fit_options *o, capi_entry *e, bp_error *err) {
  bp_status st = named(e, err);
  if (st != BP_OK) return st;
  if (strcmp(e->name, "shuffle") == 0) return bp_capi_bool(e, &o->shuffle, err);
  if (strcmp(e->name, "epochs") == 0) return count(e, &o->epochs, err);
  if (strcmp(e->name, "batch_size") == 0) return count(e, &o->batch, err);
  return bp_fail(err, BP_EINVAL, "no option '%s' (it takes epochs, "
                 "batch_size, shuffle)", e->name);
}

backprop_status backprop_fit(backprop_net *net, const float *x, size_t n,
                             size_t in, const float *y, const char *options,
                             double *loss) {
  const char *fn = "backprop_fit", *at = options;
  fit_options o = {1, 32, 1};
  bp_trainer t;
  bp_train_sum sum;
  bp_samples samples = {NULL, NULL, 1.0f};
  bp_shape s;
  capi_entry e;
  bp_error err;
  bp_status st = BP_OK;
  backprop_status ok;
  size_t yw, epoch;
  int r;
  CAPI_CHECK(net);
  while ((r = bp_capi_next(&at, &e, &err)) == 1)
    if (fit_option(&o, &e, &err) != BP_OK)
      return bp_capi_fail(net, fn, BP_EINVAL, &err);
  if (r < 0) return bp_capi_fail(net, fn, BP_EINVAL, &err);
  ok = ready(net, fn, x, n, in, y, &s, &yw);
  if (ok != BACKPROP_OK) return ok;
  st = bp_trainer_init(&t, &net->net, &net->loss, &net->opt, n, &s, yw,
                       o.batch, &err);
  if (st != BP_OK) return bp_capi_fail(net, fn, st, &err);
  t.shuffle = o.shuffle;
  t.rng = &net->rng;
  samples.f32 = x;
  for (epoch = 0; epoch < o.epochs && st == BP_OK; epoch++)
    st = bp_trainer_run(&t, &samples, y, 0, 0, &sum, &err);
  bp_trainer_free(&t);
  net->training = 1;     /* the trainer's mode, as after net:fit */
  if (st != BP_OK) return bp_capi_fail(net, fn, st, &err);
  if (loss != NULL)
    *loss = net->loss.reduction == BP_REDUCE_MEAN ? sum.total / sum.weight
                                                  : sum.total;
  return bp_capi_ok(net);
}
