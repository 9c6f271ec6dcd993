/* net.c: building a network and running its passes (see net.h). */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/threadpool.h"
#include "nn/chain.h"
#include "nn/net.h"

/* Each parameter tensor and scratch array starts on a 64-byte boundary. */
#define PAD 16

static size_t pad(size_t n) {
  return (n + PAD - 1) / PAD * PAD;
}

/* --- building --------------------------------------------------------- */

/* The plan (bp_step) of net->layers; fails on spans that do not fit
** (from a damaged file: a network that was built never has them). */
static bp_status plan_steps(bp_net *net, size_t *njoins, bp_error *err) {
  size_t i, j, n = net->nlayers, poff = 0, soff = 0;
  int k;
  for (i = 0; i < n; i++) {
    bp_step *s = &net->step[i];
    const bp_layer *l = &net->layers[i];
    s->cls = bp_layer_class_of(l->kind);
    if (s->cls == NULL)
      return bp_fail(err, BP_EINVAL, "layer %lu has unknown kind %d",
                     (unsigned long)i + 1, (int)l->kind);
    s->span = s->cls->span != NULL ? s->cls->span(l) : 0;
    s->poff = poff;
    s->soff = soff;
    for (k = 0; k < l->nparams; k++) poff += pad(l->p[k].numel);
    soff += pad(l->nstate);
  }
  for (i = 0; i < n; i++) {
    bp_step *s = &net->step[i];
    if (s->span > i)
      return bp_fail(err, BP_EINVAL, "layer %lu (%s) spans %lu layers, but "
                     "only %lu come before it", (unsigned long)i + 1,
                     s->cls->name, (unsigned long)s->span, (unsigned long)i);
    /* Bodies nest: one that ends inside this body starts inside it. */
    for (j = i - s->span; j < i; j++)
      if (net->step[j].span > j - (i - s->span))
        return bp_fail(err, BP_EINVAL, "layer %lu (%s) spans part of the "
                       "body of layer %lu", (unsigned long)i + 1,
                       s->cls->name, (unsigned long)j + 1);
    if (s->span > 0) {
      net->step[i - s->span].njoin++;
      net->step[i - s->span].opens++;
      for (j = i - s->span; j < i; j++) net->step[j].depth++;
    }
    if (i + 1 < n && s->cls->forward_act != NULL)
      s->act = net->step[i + 1].cls->fuses_as;
  }
  /* Each layer's joins, in the order of the layers that make them. */
  for (i = 0, j = 0; i < n; i++) {
    net->step[i].join0 = j;
    j += net->step[i].njoin;
    net->step[i].njoin = 0;
  }
  *njoins = j;
  net->nparams = poff;
  net->nstate = soff;
  return BP_OK;
}

/* Point each layer at its slices of net->params, grads and state. */
static void point(bp_net *net) {
  size_t i;
  int k;
  for (i = 0; i < net->nlayers; i++) {
    bp_layer *l = &net->layers[i];
    size_t off = net->step[i].poff;
    for (k = 0; k < l->nparams; k++) {
      l->p[k].data = net->params + off;
      l->p[k].grad = net->grads + off;
      off += pad(l->p[k].numel);
    }
    l->state = l->nstate ? net->state + net->step[i].soff : NULL;
  }
  bp_chain_point(net);
}

/* bp_net_init, on buffers of its own (params NULL) or on the given ones. */
static bp_status init(bp_net *net, const bp_layer *layers, size_t nlayers,
                      float *params, float *grads, float *state,
                      bp_error *err) {
  size_t i, njoins = 0;
  bp_status st;
  memset(net, 0, sizeof *net);
  net->training = 1;
  if (nlayers == 0)
    return bp_fail(err, BP_EINVAL, "a network needs at least one layer");
  net->layers = bp_malloc(nlayers * sizeof *net->layers);
  net->step = bp_calloc(nlayers, sizeof *net->step);
  net->shape = bp_malloc((nlayers + 1) * sizeof *net->shape);
  net->probe = bp_malloc((nlayers + 1) * sizeof *net->probe);
  net->act = bp_malloc((nlayers + 1) * sizeof *net->act);
  net->saved = bp_malloc(nlayers * sizeof *net->saved);
  net->skip = bp_malloc(nlayers * sizeof *net->skip);
  if (!net->layers || !net->step || !net->shape || !net->probe || !net->act ||
      !net->saved || !net->skip)
    goto nomem;
  memcpy(net->layers, layers, nlayers * sizeof *layers);
  net->nlayers = nlayers;
  st = plan_steps(net, &njoins, err);
  if (st != BP_OK) {
    bp_net_free(net);
    return st;
  }
  net->join = bp_malloc((njoins ? njoins : 1) * sizeof *net->join);
  if (net->join == NULL) goto nomem;
  for (i = 0; i < nlayers; i++) {
    bp_step *s = &net->step[i];
    if (s->span > 0) {
      bp_step *at = &net->step[i - s->span];
      net->join[at->join0 + at->njoin++] = i;
    }
  }
  net->fuses_sgd = 1;
  for (i = 0; i < nlayers; i++)
    if (layers[i].nparams > 0 && !net->step[i].cls->fuses_update)
      net->fuses_sgd = 0;     /* its backward ignores bp_ctx.update */
  bp_chain_plan(net);
  if (params != NULL) {
    bp_net_share(net, params, grads, state);
    return BP_OK;
  }
  net->params = bp_alloc(net->nparams);
  net->grads = bp_alloc(net->nparams);
  net->state = bp_alloc(net->nstate);
  if (!net->params || !net->grads || !net->state) goto nomem;
  point(net);
  return BP_OK;
nomem:
  bp_net_free(net);
  return bp_fail(err, BP_ENOMEM, "out of memory building the network");
}

bp_status bp_net_init(bp_net *net, const bp_layer *layers, size_t nlayers,
                      bp_error *err) {
  return init(net, layers, nlayers, NULL, NULL, NULL, err);
}

bp_status bp_net_init_shared(bp_net *net, const bp_layer *layers,
                             size_t nlayers, float *params, float *grads,
                             float *state, bp_error *err) {
  return init(net, layers, nlayers, params, grads, state, err);
}

void bp_net_share(bp_net *net, float *params, float *grads, float *state) {
  if (!net->shared) {
    bp_free(net->params);
    bp_free(net->grads);
    bp_free(net->state);
  }
  net->params = params;
  net->grads = grads;
  net->state = state;
  net->shared = 1;
  point(net);
}

void bp_net_free(bp_net *net) {
  free(net->layers);
  free(net->shape);
  free(net->probe);
  free(net->act);
  free(net->saved);
  free(net->skip);
  free(net->step);
  free(net->join);
  if (!net->shared) {
    bp_free(net->params);
    bp_free(net->grads);
    bp_free(net->state);
  }
  bp_free(net->scratch);
  memset(net, 0, sizeof *net);
}

void bp_net_reset(bp_net *net, bp_rng *rng) {
  size_t i;
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer_class *c = net->step[i].cls;
    if (c->reset != NULL)
      c->reset(&net->layers[i],
               i + 1 < net->nlayers ? &net->layers[i + 1] : NULL, rng);
  }
}

/* Large buffers are cleared in one contiguous piece per thread. */
static void zero_task(void *arg, size_t t, size_t nt) {
  bp_net *net = arg;
  size_t lines = net->nparams / PAD, lo = lines * t / nt * PAD,
         hi = lines * (t + 1) / nt * PAD;
  memset(net->grads + lo, 0, (hi - lo) * sizeof *net->grads);
}

void bp_net_zero_grad(bp_net *net) {
  memset(net->grads, 0, net->nparams * sizeof *net->grads);
}

void bp_net_zero_grad_mt(bp_net *net) {
  if (bp_pool_size(net->pool) > 1 && net->nparams >= ((size_t)1 << 16))
    bp_pool_run(net->pool, bp_pool_size(net->pool), zero_task, net);
  else
    bp_net_zero_grad(net);
}

/* --- shapes ----------------------------------------------------------- */

static bp_ctx context(const bp_net *net) {
  bp_ctx c;
  c.training = net->training;
  c.rng = net->rng;
  c.pool = net->pool;
  c.work = net->work;
  c.saved = NULL;
  c.skip_shape = NULL;
  c.skip = NULL;
  c.skip_grad = NULL;
  c.update = NULL;
  return c;
}

/* Message of layer i's failure: the layer's own for a lone layer. */
static bp_status layer_fail(const bp_net *net, size_t i, const bp_error *why,
                            bp_error *err) {
  const char *name = net->step[i].cls->name;
  if (net->nlayers == 1) return bp_fail(err, BP_EINVAL, "%s", why->msg);
  return bp_fail(err, BP_EINVAL, "layer %lu (%s) %s", (unsigned long)i + 1,
                 name, why->msg);
}

/* sh[0..nlayers] for a batch of n samples of shape in. */
static bp_status shapes(const bp_net *net, size_t n, const bp_shape *in,
                        bp_shape *sh, bp_error *err) {
  bp_ctx c = context(net);
  bp_error why;
  size_t i;
  if (in->ndim < 1 || in->ndim > BP_SAMPLE_DIMS)
    return bp_fail(err, BP_EINVAL, "samples must have 1 to %d dimensions",
                   BP_SAMPLE_DIMS);
  sh[0] = *in;
  for (i = 0; i < net->nlayers; i++) {
    const bp_step *s = &net->step[i];
    c.skip_shape = s->span ? &sh[i - s->span] : NULL;
    if (s->cls->shape(&net->layers[i], &c, n, &sh[i], &sh[i + 1], &why) !=
        BP_OK)
      return layer_fail(net, i, &why, err);
  }
  return BP_OK;
}

bp_status bp_net_out_shape(bp_net *net, size_t n, const bp_shape *in,
                           bp_shape *out, bp_error *err) {
  bp_status st = shapes(net, n, in, net->probe, err);
  if (st == BP_OK) *out = net->probe[net->nlayers];
  return st;
}

/* --- scratch layout --------------------------------------------------- */

#define LIMIT ((size_t)-1 / 8)

/* *need += pad(a * b), failing on overflow. */
static int grow(size_t *need, size_t a, size_t b) {
  size_t m;
  if (b != 0 && a > LIMIT / b) return 0;
  m = pad(a * b);
  if (m > LIMIT - *need) return 0;
  *need += m;
  return 1;
}

/* Sizes (in floats) of the pieces for n samples of the shapes in
** net->shape; with base != NULL, also point the arrays into it. */
static int plan(bp_net *net, size_t n, float *base, size_t *total) {
  size_t i, need = 0, widest = 0, wmax = 0, at;
  for (i = 0; i <= net->nlayers; i++) {
    size_t w = bp_shape_numel(&net->shape[i]);
    if (w > widest) widest = w;
    at = need;
    if (!grow(&need, n, w)) return 0;
    if (base) net->act[i] = base + at;
  }
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    const bp_layer_class *c = net->step[i].cls;
    size_t span = net->step[i].span;      /* skip_grad: d act[i - span] */
    size_t s = c->saved ? c->saved(l, &net->shape[i], n) : 0;
    size_t w = c->work ? c->work(l, &net->shape[i], n) : 0;
    if (w > wmax) wmax = w;
    at = need;
    if (!grow(&need, s, 1)) return 0;
    if (base) net->saved[i] = s ? base + at : NULL;
    at = need;
    if (span && !grow(&need, n, bp_shape_numel(&net->shape[i - span])))
      return 0;
    if (base) net->skip[i] = span ? base + at : NULL;
  }
  at = need;
  if (!grow(&need, n, widest) || !grow(&need, n, widest)) return 0;
  if (base) {
    net->delta[0] = base + at;
    net->delta[1] = base + at + pad(n * widest);
  }
  at = need;
  if (!grow(&need, wmax, 1)) return 0;
  if (base) net->work = base + at;
  at = need;     /* the fused per-sample plan (nn/chain.h), if any */
  if (!grow(&need, (bp_chain_bytes(net) + sizeof *base - 1) / sizeof *base,
            1))
    return 0;
  if (base) net->dense = net->ndense ? (bp_dense *)(void *)(base + at) : NULL;
  *total = need;
  return 1;
}

/* Lay the scratch block out for n samples, growing it if needed. */
static bp_status layout(bp_net *net, size_t n, bp_error *err) {
  size_t need;
  if (!plan(net, n, NULL, &need))
    return bp_fail(err, BP_EINVAL, "batch of %lu is too large",
                   (unsigned long)n);
  if (need > net->scratch_cap) {
    bp_free(net->scratch);
    net->scratch_cap = 0;
    net->scratch = bp_alloc(need);
    if (net->scratch == NULL)
      return bp_fail(err, BP_ENOMEM, "out of memory for a batch of %lu",
                     (unsigned long)n);
    net->scratch_cap = need;
  }
  plan(net, n, net->scratch, &need);
  bp_chain_point(net);
  return BP_OK;
}

/* --- passes ----------------------------------------------------------- */

/* Shapes and scratch for n samples of shape in, unless the last plan
** was for the same batch. */
static bp_status replan(bp_net *net, size_t n, const bp_shape *in,
                        bp_error *err) {
  bp_status st;
  if (net->planned && n == net->plan_n &&
      net->training == net->plan_training && bp_shape_equal(in, &net->shape[0]))
    return BP_OK;
  net->planned = 0;
  if (n == 0) return bp_fail(err, BP_EINVAL, "empty batch");
  st = shapes(net, n, in, net->shape, err);
  if (st != BP_OK) return st;
  st = layout(net, n, err);
  if (st != BP_OK) return st;
  net->planned = 1;
  net->plan_n = n;
  net->plan_training = net->training;
  return BP_OK;
}

bp_status bp_net_input_buffer(bp_net *net, size_t n, const bp_shape *in,
                              float **x, bp_error *err) {
  bp_status st;
  net->batch = 0;
  st = replan(net, n, in, err);
  *x = st == BP_OK ? net->act[0] : NULL;
  return st;
}

bp_status bp_net_forward(bp_net *net, const float *x, size_t n,
                         const bp_shape *in, bp_error *err) {
  size_t i;
  bp_status st;
  bp_ctx c;
  net->batch = 0;
  st = replan(net, n, in, err);
  if (st != BP_OK) return st;
  if (x != net->act[0])
    memcpy(net->act[0], x, n * bp_shape_numel(in) * sizeof *x);
  c = context(net);
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    const bp_step *s = &net->step[i];
    if (s->act && s->cls->forward_act(l, &c, net->act[i], net->act[i + 1],
                                      net->act[i + 2], n, s->act)) {
      i++;                            /* the activation ran too */
      continue;
    }
    if (s->cls->check_input != NULL) {
      bp_error why;
      if (s->cls->check_input(l, net->act[i], n, &net->shape[i], &why) !=
          BP_OK)
        return layer_fail(net, i, &why, err);
    }
    c.saved = net->saved[i];
    c.skip = s->span ? net->act[i - s->span] : NULL;
    s->cls->forward(l, &c, net->act[i], net->act[i + 1], n, &net->shape[i]);
  }
  net->batch = n;
  return BP_OK;
}

const float *bp_net_output(const bp_net *net) {
  return net->act[net->nlayers];
}

size_t bp_net_out(const bp_net *net) {
  return bp_shape_numel(&net->shape[net->nlayers]);
}

float *bp_net_dy_buffer(bp_net *net) {
  return net->delta[net->nlayers & 1];
}

/* Layers whose body starts at layer i: their gradients join d, the
** gradient of i's input (NULL: not wanted). */
static void join(const bp_net *net, size_t i, float *d, size_t n) {
  const bp_step *st = &net->step[i];
  size_t m = n * bp_shape_numel(&net->shape[i]), r, k;
  if (d != NULL)
    for (r = st->join0; r < st->join0 + st->njoin; r++) {
      const float *g = net->skip[net->join[r]];
      for (k = 0; k < m; k++) d[k] += g[k];
    }
}

static bp_status backprop(bp_net *net, const float *dy, size_t n,
                          const bp_shape *s, const float **dx,
                          const bp_update *update, bp_error *err) {
  const bp_shape *out = &net->shape[net->nlayers];
  size_t i;
  bp_ctx c;
  if (net->batch == 0)
    return bp_fail(err, BP_EINVAL, "no forward pass to backpropagate "
                   "(call forward first)");
  if (n != net->batch || !bp_shape_equal(s, out)) {
    char want[96], got[96];
    bp_shape_fmt(net->batch, out, want, sizeof want);
    bp_shape_fmt(n, s, got, sizeof got);
    return bp_fail(err, BP_EINVAL, "expected a gradient of shape %s (the "
                   "last forward's output), got %s", want, got);
  }
  c = context(net);
  c.update = update;
  for (i = net->nlayers; i-- > 0;) {
    const bp_step *st = &net->step[i];
    float *d = (i > 0 || dx != NULL) ? net->delta[i & 1] : NULL;
    /* An activation the layer before ran in its forward (step.act), with
    ** no gradient joining between them: that layer may run both
    ** backwards (backward_act). */
    if (i > 0 && net->step[i - 1].act && st->njoin == 0 &&
        net->step[i - 1].cls->backward_act != NULL) {
      const bp_step *sp = &net->step[i - 1];
      float *d0 = (i > 1 || dx != NULL) ? net->delta[(i - 1) & 1] : NULL;
      c.saved = net->saved[i - 1];
      c.skip_grad = net->skip[i - 1];
      if (sp->cls->backward_act(&net->layers[i - 1], &c, net->act[i - 1],
                                net->act[i], dy, d, d0, n, sp->act)) {
        join(net, --i, d0, n);
        dy = d0;
        continue;
      }
    }
    c.saved = net->saved[i];
    c.skip_grad = net->skip[i];
    st->cls->backward(&net->layers[i], &c, net->act[i], net->act[i + 1], dy,
                      d, n, &net->shape[i]);
    join(net, i, d, n);
    dy = d;
  }
  if (dx != NULL) *dx = dy;
  return BP_OK;
}

bp_status bp_net_backward(bp_net *net, const float *dy, size_t n,
                          const bp_shape *s, const float **dx, bp_error *err) {
  return backprop(net, dy, n, s, dx, NULL, err);
}

bp_status bp_net_backward_update(bp_net *net, const float *dy, size_t n,
                                 const bp_shape *s, const bp_update *update,
                                 bp_error *err) {
  if (!net->fuses_sgd)
    return bp_fail(err, BP_EINVAL, "this network cannot fuse an update");
  return backprop(net, dy, n, s, NULL, update, err);
}
