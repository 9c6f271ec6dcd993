/* net.c: building a network and running its passes (see net.h). */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "tensor.h"

/* Each parameter tensor starts on a 64-byte boundary. */
#define PAD 16

static size_t pad(size_t n) {
  return (n + PAD - 1) / PAD * PAD;
}

bp_status bp_net_init(bp_net *net, const bp_layer *layers, size_t nlayers,
                      bp_error *err) {
  size_t i, total = 0, off = 0;
  int k;
  memset(net, 0, sizeof *net);
  if (nlayers == 0)
    return bp_fail(err, BP_EINVAL, "a network needs at least one layer");
  net->layers = malloc(nlayers * sizeof *net->layers);
  net->width = malloc((nlayers + 1) * sizeof *net->width);
  net->act = malloc((nlayers + 1) * sizeof *net->act);
  if (!net->layers || !net->width || !net->act) goto nomem;
  memcpy(net->layers, layers, nlayers * sizeof *layers);
  net->nlayers = nlayers;
  for (i = 0; i < nlayers; i++)
    for (k = 0; k < layers[i].nparams; k++) total += pad(layers[i].p[k].numel);
  net->nparams = total;
  net->params = bp_alloc(total);
  net->grads = bp_alloc(total);
  if (!net->params || !net->grads) goto nomem;
  for (i = 0; i < nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++) {
      bp_param *p = &net->layers[i].p[k];
      p->data = net->params + off;
      p->grad = net->grads + off;
      off += pad(p->numel);
    }
  return BP_OK;
nomem:
  bp_net_free(net);
  return bp_fail(err, BP_ENOMEM, "out of memory building the network");
}

void bp_net_free(bp_net *net) {
  free(net->layers);
  free(net->width);
  free(net->act);
  bp_free(net->params);
  bp_free(net->grads);
  bp_free(net->scratch);
  memset(net, 0, sizeof *net);
}

void bp_net_reset(bp_net *net, bp_rng *rng) {
  size_t i;
  for (i = 0; i < net->nlayers; i++) {
    bp_layer *l = &net->layers[i];
    const bp_layer_class *c = bp_layer_class_of(l->kind);
    if (c->reset != NULL)
      c->reset(l, i + 1 < net->nlayers ? &net->layers[i + 1] : NULL, rng);
  }
}

void bp_net_zero_grad(bp_net *net) {
  memset(net->grads, 0, net->nparams * sizeof *net->grads);
}

bp_status bp_net_out_width(const bp_net *net, size_t width, size_t *out,
                           bp_error *err) {
  size_t i;
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    if (l->in != 0 && l->in != width) {
      const char *name = bp_layer_class_of(l->kind)->name;
      if (net->nlayers == 1)
        return bp_fail(err, BP_EINVAL, "expected input with %lu features, "
                       "got %lu", (unsigned long)l->in, (unsigned long)width);
      return bp_fail(err, BP_EINVAL, "layer %lu (%s) expected input with %lu "
                     "features, got %lu", (unsigned long)i + 1, name,
                     (unsigned long)l->in, (unsigned long)width);
    }
    if (l->out != 0) width = l->out;
  }
  *out = width;
  return BP_OK;
}

/* Lay out act[] and delta[] for n rows, growing the scratch block if
** needed. The widths must already be in net->width. */
static bp_status layout(bp_net *net, size_t n, bp_error *err) {
  size_t i, need = 0, widest = 0, off = 0;
  for (i = 0; i <= net->nlayers; i++) {
    size_t w = net->width[i];
    if (w > widest) widest = w;
    if (w > ((size_t)-1 / 4 - need) / n) goto toolarge;
    need += pad(n * w);
  }
  if (widest > ((size_t)-1 / 4 - need) / (2 * n)) goto toolarge;
  need += 2 * pad(n * widest);
  if (need > net->scratch_cap) {
    bp_free(net->scratch);
    net->scratch_cap = 0;
    net->scratch = bp_alloc(need);
    if (net->scratch == NULL)
      return bp_fail(err, BP_ENOMEM, "out of memory for a batch of %lu",
                     (unsigned long)n);
    net->scratch_cap = need;
  }
  for (i = 0; i <= net->nlayers; i++) {
    net->act[i] = net->scratch + off;
    off += pad(n * net->width[i]);
  }
  net->delta[0] = net->scratch + off;
  net->delta[1] = net->scratch + off + pad(n * widest);
  return BP_OK;
toolarge:
  return bp_fail(err, BP_EINVAL, "batch of %lu is too large",
                 (unsigned long)n);
}

bp_status bp_net_forward(bp_net *net, const float *x, size_t n, size_t width,
                         bp_error *err) {
  size_t i, out;
  bp_status st;
  net->batch = 0;
  if (n == 0) return bp_fail(err, BP_EINVAL, "empty batch");
  st = bp_net_out_width(net, width, &out, err);
  if (st != BP_OK) return st;
  net->width[0] = width;
  for (i = 0; i < net->nlayers; i++) {
    size_t o = net->layers[i].out;
    net->width[i + 1] = o != 0 ? o : net->width[i];
  }
  st = layout(net, n, err);
  if (st != BP_OK) return st;
  memcpy(net->act[0], x, n * width * sizeof *x);
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    bp_layer_class_of(l->kind)->forward(l, net->act[i], net->act[i + 1], n,
                                        net->width[i]);
  }
  net->batch = n;
  return BP_OK;
}

const float *bp_net_output(const bp_net *net) {
  return net->act[net->nlayers];
}

size_t bp_net_out(const bp_net *net) {
  return net->width[net->nlayers];
}

float *bp_net_dy_buffer(bp_net *net) {
  return net->delta[net->nlayers & 1];
}

bp_status bp_net_backward(bp_net *net, const float *dy, size_t n,
                          size_t width, const float **dx, bp_error *err) {
  size_t i;
  if (net->batch == 0)
    return bp_fail(err, BP_EINVAL, "no forward pass to backpropagate "
                   "(call forward first)");
  if (n != net->batch || width != bp_net_out(net))
    return bp_fail(err, BP_EINVAL, "expected a gradient of shape %lux%lu "
                   "(the last forward's output), got %lux%lu",
                   (unsigned long)net->batch, (unsigned long)bp_net_out(net),
                   (unsigned long)n, (unsigned long)width);
  for (i = net->nlayers; i-- > 0;) {
    const bp_layer *l = &net->layers[i];
    float *d = (i > 0 || dx != NULL) ? net->delta[i & 1] : NULL;
    bp_layer_class_of(l->kind)->backward(l, net->act[i], net->act[i + 1], dy,
                                         d, n, net->width[i]);
    dy = d;
  }
  if (dx != NULL) *dx = dy;
  return BP_OK;
}
