/* chain.c: the fused per-sample step (see chain.h). */
#include <math.h>
#include <string.h>

#include "nn/chain.h"

/* The scratch block's part (bp_chain_bytes): the plan, ndense bp_dense;
** in training, a run's view of the layers (as many), then the floats of
** its padded copies, from a 64-byte boundary. */
#define ROUND(n, m) (((n) + (m) - 1) / (m) * (m))
#define STRUCTS(nd) ROUND(2 * (nd) * sizeof(bp_dense), 64)

/* A run's rows are a whole number of 16 floats apart: a layer whose
** rows are not trains a copy of its weights laid out so. */
static int padded(const bp_dense *d) {
  return d->in % 16 != 0;
}

/* Floats of a run's copies of layer d: weights (when padded) and bias,
** each with a momentum buffer beside it. */
static size_t copy_floats(const bp_dense *d) {
  return 2 * ((padded(d) ? d->out * ROUND(d->in, 16) : 0) +
              ROUND(d->out, 16));
}

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
      e->ld = e->in;
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
  size_t i, floats = 0, nd = net->ndense;
  if (nd == 0) return 0;
  if (!net->training) return nd * sizeof(bp_dense);
  for (i = 0; i < net->nlayers; i++)       /* an upper bound, per Linear */
    if (net->step[i].cls->dense != NULL) {
      bp_dense d;
      memset(&d, 0, sizeof d);
      net->step[i].cls->dense(&net->layers[i], &d);
      floats += copy_floats(&d);
    }
  return STRUCTS(nd) + floats * sizeof(float);
}

void bp_chain_point(bp_net *net) {
  if (net->dense != NULL) walk(net, net->dense);
}

/* The momentum buffers of the plan's layers: their slices of m, the
** optimizer's buffer parallel to net->params (NULL: none). */
static void momentum(bp_net *net, float *m) {
  size_t i;
  for (i = 0; i < net->ndense; i++) {
    bp_dense *d = &net->dense[i];
    d->qw = m != NULL ? m + (d->w - net->params) : NULL;
    d->qb = m != NULL ? m + (d->b - net->params) : NULL;
  }
}

int bp_chain_fits(const bp_net *net, size_t n) {
  return n == 1 && net->ndense > 0 && !net->chain_off;
}

bp_status bp_chain_step(bp_net *net, const float *x, const float *y,
                        const bp_loss_spec *lf, const bp_update *u,
                        const bp_sgd_rule *sgd, float *m, int last,
                        double *loss, bp_error *err) {
  const bp_dense *d = net->dense;
  size_t nd = net->ndense, i;
  float *dz = net->delta[0];
  bp_status st;
  momentum(net, m);
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

/* n floats of src into dst, then 0 up to `to` (in: to the copy; out:
** src is the copy, to is n). Rows: `rows` of them, src and dst a row
** apart by their own strides. */
static void copy_rows(float *dst, size_t dld, const float *src, size_t sld,
                      size_t rows, size_t n, size_t to) {
  size_t j;
  for (j = 0; j < rows; j++) {
    memcpy(dst + j * dld, src + j * sld, n * sizeof *dst);
    if (to > n) memset(dst + j * dld + n, 0, (to - n) * sizeof *dst);
  }
}

/* Layer p's weights, bias and momentum buffers into the run's view v at
** f (dir 1), or back from it (dir 0); returns the floats used. */
static size_t exchange(const bp_dense *p, bp_dense *v, float *f, int dir) {
  size_t ld = ROUND(p->in, 16), nb = ROUND(p->out, 16), used = 0;
  int q = p->qw != NULL;
#define MOVE(vp, pp, rows, n, to, vld, pld)                            \
  do {                                                                 \
    if (dir) copy_rows(vp, vld, pp, pld, rows, n, to);                 \
    else copy_rows(pp, pld, vp, vld, rows, n, n);                      \
  } while (0)
  if (dir) *v = *p;
  if (padded(p)) {
    if (dir) {
      v->w = f;
      v->qw = q ? f + p->out * ld : NULL;
      v->ld = ld;
    }
    MOVE(v->w, p->w, p->out, p->in, ld, ld, p->in);
    if (q) MOVE(v->qw, p->qw, p->out, p->in, ld, ld, p->in);
    used += 2 * p->out * ld;
  }
  if (dir) {
    v->b = f + used;
    v->qb = q ? f + used + nb : NULL;
  }
  MOVE(v->b, p->b, 1, p->out, nb, nb, p->out);
  if (q) MOVE(v->qb, p->qb, 1, p->out, nb, nb, p->out);
#undef MOVE
  return used + 2 * nb;
}

int bp_chain_train(bp_net *net, const bp_sgd_rule *sgd, float *m,
                   bp_dense_run *run) {
  size_t nd = net->ndense, i, at;
  bp_dense *v = net->dense + nd;
  float *f = (float *)(void *)((char *)net->dense + STRUCTS(nd));
  int why;
  momentum(net, m);
  for (i = 0, at = 0; i < nd; i++) at += exchange(&net->dense[i], &v[i], f + at, 1);
  run->xs = net->act[0];
  run->dz = net->delta[0];
  run->g1 = net->delta[1];
  why = bp_dense_train(v, nd, *sgd, run);
  for (i = 0, at = 0; i < nd; i++) at += exchange(&net->dense[i], &v[i], f + at, 0);
  net->batch = 1;
  net->chain_steps += run->done;
  return why;
}
