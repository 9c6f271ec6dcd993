/* chain.c: the fused per-sample step (see chain.h). */
#include <math.h>
#include <string.h>

#include "nn/chain.h"

/* The layers as dense layers into d (NULL: just count them); 0 when they
** are not a chain. Layer i is dense, i + 1 its activation when its class
** has dense_act; y and z are the activations the general path keeps in
** net->act. */
static size_t walk(bp_net *net, bp_dense *d) {
  size_t i = 0, k = 0, n = net->nlayers;
  while (i < n) {
    const bp_layer_class *c = net->step[i].cls;
    int act = i + 1 < n && net->step[i + 1].cls->dense_act != NULL;
    if (c->dense == NULL) return 0;
    if (d != NULL) {
      bp_dense *e = &d[k];
      memset(e, 0, sizeof *e);
      c->dense(&net->layers[i], e);
      if (act) net->step[i + 1].cls->dense_act(&net->layers[i + 1], e);
      e->y = net->act[i + 1];
      e->z = net->act[i + 1 + act];
    }
    i += 1 + act;
    k++;
  }
  return k;
}

void bp_chain_plan(bp_net *net) {
  net->ndense = walk(net, NULL);
}

size_t bp_chain_bytes(const bp_net *net) {
  return net->ndense * sizeof(bp_dense);
}

void bp_chain_point(bp_net *net) {
  if (net->dense != NULL) walk(net, net->dense);
}

int bp_chain_fits(const bp_net *net, size_t n) {
  return n == 1 && net->ndense > 0 && !net->chain_off;
}

bp_status bp_chain_step(bp_net *net, const float *x, const float *y,
                        const bp_loss_spec *lf, const bp_update *u,
                        const bp_sgd_rule *sgd, int last, double *loss,
                        bp_error *err) {
  const bp_dense *d = net->dense;
  size_t nd = net->ndense, i;
  float *dz = net->delta[0];
  bp_status st;
  bp_dense_fwd(d, nd, x);
  net->batch = 1;
  st = bp_loss(lf, d[nd - 1].z, 1, d[nd - 1].out, y, loss, NULL, dz, err);
  if (st != BP_OK || !isfinite(*loss)) return st;
  bp_dense_bwd(d, nd, x, dz, net->delta[1], sgd, last);
  if (sgd == NULL)
    for (i = 0; i < nd; i++) {
      u->apply(u, d[i].w, d[i].gw, d[i].in * d[i].out);
      u->apply(u, d[i].b, d[i].gb, d[i].out);
    }
  if (last && x != net->act[0])
    memcpy(net->act[0], x, d[0].in * sizeof *x);
  net->chain_steps++;
  return BP_OK;
}
