/*
** net.c: the handle of the C API (backprop.h): making and freeing it,
** messages, layers by name, the input shape, mode and threads, forward,
** and model files.
**
** Layers are collected as the core describes them (bp_layer, checked by
** bp_layer_init as they come) and the network is built from them on first
** use, when its weights are drawn: as a Lua Sequential draws its weights
** on first use, so that each Linear's initialization can follow the
** activation after it, and the same seed gives the same weights.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/threadpool.h"
#include "capi.h"
#include "io/serialize.h"
#include "tensor/tensor.h"

#define DEFAULT_SEED 5489   /* Lua's, until bp.manual_seed */

const char *backprop_version(void) {
  return BACKPROP_VERSION;
}

/* --- messages ------------------------------------------------------------ */

backprop_status bp_capi_ok(backprop_net *net) {
  net->msg[0] = '\0';
  return BACKPROP_OK;
}

backprop_status bp_capi_fail(backprop_net *net, const char *fn, bp_status st,
                             const bp_error *e) {
  snprintf(net->msg, sizeof net->msg, "%.63s: %s", fn, e->msg);
  return (backprop_status)st;
}

backprop_status bp_capi_failf(backprop_net *net, const char *fn, bp_status code,
                              const char *fmt, ...) {
  bp_error e;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.msg, sizeof e.msg, fmt, ap);
  va_end(ap);
  return bp_capi_fail(net, fn, code, &e);
}

const char *backprop_error(const backprop_net *net) {
  return net != NULL ? net->msg : "backprop: the network is NULL";
}

/* --- the handle ---------------------------------------------------------- */

backprop_net *backprop_new(void) {
  backprop_net *net = bp_calloc(1, sizeof *net);
  if (net == NULL) return NULL;
  bp_rng_seed(&net->rng, DEFAULT_SEED);
  net->training = 1;
  return net;
}

void backprop_free(backprop_net *net) {
  if (net == NULL) return;
  bp_net_free(&net->net);
  bp_optim_free(&net->opt);
  bp_pool_free(net->pool);
  free(net->layers);
  free(net->lossw);
  free(net);
}

backprop_status backprop_seed(backprop_net *net, uint64_t seed) {
  CAPI_CHECK(net);
  bp_rng_seed(&net->rng, seed);
  return bp_capi_ok(net);
}

backprop_status bp_capi_build(backprop_net *net, const char *fn) {
  bp_error e;
  bp_status st;
  if (!net->built) {
    if (net->nlayers == 0)
      return bp_capi_failf(net, fn, BP_EINVAL, "the network has no layers "
                           "(backprop_add or backprop_load first)");
    st = bp_net_init(&net->net, net->layers, net->nlayers, &e);
    if (st != BP_OK) return bp_capi_fail(net, fn, st, &e);
    free(net->layers);
    net->layers = NULL;
    net->nlayers = net->cap = 0;
    net->built = 1;
  }
  net->net.rng = &net->rng;
  net->net.pool = net->pool;
  net->net.training = net->training;
  return BACKPROP_OK;
}

backprop_status bp_capi_use(backprop_net *net, const char *fn) {
  backprop_status st = bp_capi_build(net, fn);
  if (st == BACKPROP_OK && !net->drawn) {
    bp_net_reset(&net->net, &net->rng);
    net->drawn = 1;
  }
  return st;
}

/* --- layers -------------------------------------------------------------- */

static bp_kind kind_of(const char *name) {
  int k;
  for (k = 1; k < BP_NKINDS; k++)
    if (strcmp(bp_layer_class_of((bp_kind)k)->name, name) == 0)
      return (bp_kind)k;
  return (bp_kind)0;
}

/* "in_features, out_features" (the settings c takes) into buf. */
static void setting_names(const bp_layer_class *c, char *buf, size_t len) {
  int k;
  buf[0] = '\0';
  for (k = 0; k < c->nsettings; k++) {
    size_t at = strlen(buf);
    snprintf(buf + at, len - at, "%s%s", k ? ", " : "", c->settings[k].name);
  }
}

/* Entry e, naming setting s, into l. */
static bp_status convert(bp_layer *l, const bp_setting *s, capi_entry *e,
                         bp_error *err) {
  double v[2];
  size_t n, i, *z = bp_setting_ptr(l, s);
  bp_status st;
  snprintf(e->name, sizeof e->name, "%s", s->name);
  if (s->type == BP_FLOAT) {
    st = bp_capi_number(e, v, err);
    if (st == BP_OK) *(float *)bp_setting_ptr(l, s) = (float)v[0];
    return st;
  }
  st = bp_capi_list(e, v, s->type == BP_PAIR ? 2 : 1, &n, err);
  if (st != BP_OK) return st;
  for (i = 0; i < n; i++)
    if (!(v[i] >= 0 && v[i] <= (double)BP_SIZE_LIMIT && v[i] == (size_t)v[i]))
      return bp_fail(err, BP_EINVAL, "%s must be %s integer%s, got \"%.*s\"",
                     s->name, n == 1 ? "a non-negative" : "non-negative",
                     n == 1 ? "" : "s", (int)e->len, e->value);
  z[0] = (size_t)v[0];
  if (s->type == BP_PAIR) z[1] = (size_t)v[n - 1];
  return BP_OK;
}

/* Layer l of class c with `settings`, checked; messages leave out the
** layer's name (the caller puts it first). */
static bp_status make_layer(bp_layer *l, const bp_layer_class *c,
                            const char *settings, bp_error *err) {
  unsigned long given = 0;
  int k, bare = 0, named = 0, r;
  capi_entry e;
  char names[256];
  bp_status st;
  while ((r = bp_capi_next(&settings, &e, err)) == 1) {
    const bp_setting *s;
    if (e.name[0] == '\0') {
      if (named)
        return bp_fail(err, BP_EINVAL, "a value without a name (\"%.*s\") "
                       "after named ones", (int)e.len, e.value);
      if (bare == c->nsettings)
        return bp_fail(err, BP_EINVAL, "takes at most %d setting%s, got "
                       "\"%.*s\" more", c->nsettings,
                       c->nsettings == 1 ? "" : "s", (int)e.len, e.value);
      s = &c->settings[bare++];
    } else {
      named = 1;
      s = bp_setting_find(c, e.name);
      if (s == NULL) {
        setting_names(c, names, sizeof names);
        return bp_fail(err, BP_EINVAL, "no setting '%s' (%s%s)", e.name,
                       c->nsettings ? "it takes " : "it takes none", names);
      }
    }
    k = (int)(s - c->settings);
    if (given & (1ul << k))
      return bp_fail(err, BP_EINVAL, "%s is given twice", s->name);
    given |= 1ul << k;
    st = convert(l, s, &e, err);
    if (st != BP_OK) return st;
  }
  if (r < 0) return BP_EINVAL;
  st = bp_layer_defaults(l, given, err);
  return st != BP_OK ? st : bp_layer_init(l, err);
}

backprop_status backprop_add(backprop_net *net, const char *layer,
                             const char *settings) {
  const char *fn = "backprop_add";
  const bp_layer_class *c;
  bp_kind kind;
  bp_layer l;
  bp_error e;
  char what[96];
  bp_status st;
  CAPI_CHECK(net);
  if (layer == NULL)
    return bp_capi_failf(net, fn, BP_EINVAL, "the layer's name is NULL");
  kind = kind_of(layer);
  c = bp_layer_class_of(kind);
  if (c == NULL)
    return bp_capi_failf(net, fn, BP_EINVAL, "unknown layer '%s' (the "
                         "names are those of the Lua constructors: Linear, "
                         "ReLU, ...)", layer);
  if (net->built)
    return bp_capi_failf(net, fn, BP_EINVAL, "the network has been used (or "
                         "loaded): layers can only be added before");
  snprintf(what, sizeof what, "%s: %s", fn, c->name);
  st = bp_layer_start(&l, kind, &e);
  if (st == BP_OK) st = make_layer(&l, c, settings, &e);
  if (st != BP_OK) return bp_capi_fail(net, what, st, &e);
  if (net->nlayers == net->cap) {
    size_t cap = net->cap ? 2 * net->cap : 8;
    bp_layer *grown = realloc(net->layers, cap * sizeof *grown);
    if (grown == NULL)
      return bp_capi_failf(net, fn, BP_ENOMEM, "out of memory");
    net->layers = grown;
    net->cap = cap;
  }
  net->layers[net->nlayers++] = l;
  return bp_capi_ok(net);
}

/* --- shape, mode, threads ------------------------------------------------ */

backprop_status backprop_set_input_shape(backprop_net *net, int ndim,
                                         const size_t *dims) {
  const char *fn = "backprop_set_input_shape";
  bp_shape s;
  int i;
  CAPI_CHECK(net);
  if (ndim < 0 || ndim > BP_SAMPLE_DIMS)
    return bp_capi_failf(net, fn, BP_EINVAL, "ndim must be 0 to %d, got %d",
                         BP_SAMPLE_DIMS, ndim);
  if (ndim > 0 && dims == NULL)
    return bp_capi_failf(net, fn, BP_EINVAL, "dims is NULL");
  s.ndim = ndim;
  for (i = 0; i < ndim; i++) {
    if (dims[i] == 0 || dims[i] > BP_SIZE_LIMIT)
      return bp_capi_failf(net, fn, BP_EINVAL, "dims[%d] must be 1 to %lu, got "
                           "%lu", i, (unsigned long)BP_SIZE_LIMIT,
                           (unsigned long)dims[i]);
    s.d[i] = dims[i];
  }
  net->in = s;
  return bp_capi_ok(net);
}

backprop_status backprop_set_training(backprop_net *net, int training) {
  CAPI_CHECK(net);
  net->training = training != 0;
  return bp_capi_ok(net);
}

backprop_status backprop_set_threads(backprop_net *net, int n) {
  const char *fn = "backprop_set_threads";
  bp_pool *pool = NULL;
  bp_error e;
  bp_status st;
  CAPI_CHECK(net);
  if (n < 1 || n > BP_POOL_MAX)
    return bp_capi_failf(net, fn, BP_EINVAL, "n must be 1 to %d, got %d",
                         BP_POOL_MAX, n);
  if ((size_t)n == bp_pool_size(net->pool)) return bp_capi_ok(net);
  if (n > 1 && (st = bp_pool_new((size_t)n, &pool, &e)) != BP_OK)
    return bp_capi_fail(net, fn, st, &e);
  bp_pool_free(net->pool);
  net->pool = pool;
  return bp_capi_ok(net);
}

/* --- forward ------------------------------------------------------------- */

backprop_status bp_capi_finite(backprop_net *net, const char *fn,
                               const char *what, const float *v, size_t n,
                               size_t width) {
  size_t m = n * width, k = bp_vfind_nonfinite(m, v);
  if (k == m) return BACKPROP_OK;
  return bp_capi_failf(net, fn, BP_EINVAL, "%s contains %g at row %lu, element "
                       "%lu (shape %lux%lu)", what, (double)v[k],
                       (unsigned long)(k / width) + 1,
                       (unsigned long)(k % width) + 1, (unsigned long)n,
                       (unsigned long)width);
}

/* The shapes of n samples of `in` floats: *s the sample's, *out the
** output's; builds the network. */
static backprop_status shapes(backprop_net *net, const char *fn, size_t n,
                              size_t in, bp_shape *s, bp_shape *out) {
  char shape[96];
  bp_error e;
  backprop_status st;
  if (n == 0 || in == 0)
    return bp_capi_failf(net, fn, BP_EINVAL, "n and in must be positive, got n "
                         "%lu, in %lu", (unsigned long)n, (unsigned long)in);
  if (n > ((size_t)-1 / sizeof(float)) / in)
    return bp_capi_failf(net, fn, BP_EINVAL, "n x in is too large");
  if (net->in.ndim == 0) {
    s->ndim = 1;
    s->d[0] = in;
  } else if (bp_shape_numel(&net->in) != in) {
    bp_shape_fmt(0, &net->in, shape, sizeof shape);
    return bp_capi_failf(net, fn, BP_EINVAL, "in is %lu, but the input "
                         "shape is %s (%lu floats a sample)",
                         (unsigned long)in, shape,
                         (unsigned long)bp_shape_numel(&net->in));
  } else {
    *s = net->in;
  }
  st = bp_capi_build(net, fn);
  if (st != BACKPROP_OK) return st;
  if (bp_net_out_shape(&net->net, n, s, out, &e) != BP_OK) {
    bp_shape_fmt(n, s, shape, sizeof shape);
    return bp_capi_failf(net, fn, BP_EINVAL, "%s (input shape %s)", e.msg,
                         shape);
  }
  return BACKPROP_OK;
}

backprop_status bp_capi_input(backprop_net *net, const char *fn, const float *x,
                              size_t n, size_t in, bp_shape *s, bp_shape *out) {
  backprop_status st;
  if (x == NULL) return bp_capi_failf(net, fn, BP_EINVAL, "the input is NULL");
  st = shapes(net, fn, n, in, s, out);
  if (st != BACKPROP_OK) return st;
  return bp_capi_finite(net, fn, "the input", x, n, in);
}

backprop_status backprop_output_size(backprop_net *net, size_t in,
                                     size_t *out) {
  const char *fn = "backprop_output_size";
  bp_shape s, o;
  backprop_status st;
  CAPI_CHECK(net);
  if (out == NULL) return bp_capi_failf(net, fn, BP_EINVAL, "out is NULL");
  st = shapes(net, fn, 1, in, &s, &o);
  if (st != BACKPROP_OK) return st;
  *out = bp_shape_numel(&o);
  return bp_capi_ok(net);
}

backprop_status backprop_forward(backprop_net *net, const float *x, size_t n,
                                 size_t in, float *y, size_t ylen) {
  const char *fn = "backprop_forward";
  bp_shape s, o;
  bp_error e;
  size_t want;
  backprop_status st;
  CAPI_CHECK(net);
  st = bp_capi_input(net, fn, x, n, in, &s, &o);
  if (st != BACKPROP_OK) return st;
  want = n * bp_shape_numel(&o);
  if (y == NULL || ylen < want)
    return bp_capi_failf(net, fn, BP_EINVAL, "y holds %lu floats, the output "
                         "is %lu (%lu samples of %lu)",
                         (unsigned long)(y ? ylen : 0), (unsigned long)want,
                         (unsigned long)n, (unsigned long)bp_shape_numel(&o));
  bp_capi_use(net, fn);
  if (bp_net_forward(&net->net, x, n, &s, &e) != BP_OK)
    return bp_capi_fail(net, fn, BP_EINVAL, &e);
  memcpy(y, bp_net_output(&net->net), want * sizeof *y);
  return bp_capi_ok(net);
}

/* --- files --------------------------------------------------------------- */

backprop_status backprop_save(backprop_net *net, const char *path) {
  const char *fn = "backprop_save";
  bp_error e;
  bp_status st;
  backprop_status used;
  CAPI_CHECK(net);
  if (path == NULL) return bp_capi_failf(net, fn, BP_EINVAL, "path is NULL");
  used = bp_capi_use(net, fn);
  if (used != BACKPROP_OK) return used;
  st = bp_net_save(&net->net, path, &e);
  return st == BP_OK ? bp_capi_ok(net) : bp_capi_fail(net, fn, st, &e);
}

backprop_status backprop_load(backprop_net *net, const char *path) {
  const char *fn = "backprop_load";
  bp_net loaded;
  bp_error e;
  bp_status st;
  CAPI_CHECK(net);
  if (path == NULL) return bp_capi_failf(net, fn, BP_EINVAL, "path is NULL");
  st = bp_net_load(&loaded, path, &e);
  if (st != BP_OK) return bp_capi_fail(net, fn, st, &e);
  bp_net_free(&net->net);
  net->net = loaded;
  net->built = net->drawn = 1;
  free(net->layers);
  net->layers = NULL;
  net->nlayers = net->cap = 0;
  bp_optim_free(&net->opt);
  net->opt_ready = 0;
  return bp_capi_ok(net);
}
