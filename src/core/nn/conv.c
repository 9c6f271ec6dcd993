/*
** conv.c: Conv2d over NCHW batches, by im2col and matrix products: a
** sample's receptive fields are unrolled into a K x P matrix col (K =
** in_channels kh kw, P = output pixels; kernels/image.h), so y_s = W col
** + b with W viewed as out_channels x K.
**
** Both passes work on chunks of a few samples, their cols side by side (K
** x cP for c samples), so that each chunk is long products: forward y =
** W col (out x cP, then each sample's planes moved to its place in y with
** the bias added), backward dW += dY col^T and dcol = W^T dY, which
** col2im then adds into dx. A chunk is one sample when a sample alone is
** long enough (RUN pixels); its dY is then read in place, not gathered.
** Backward deals the chunks to a fixed number of lanes (at most LANES, by
** the batch size alone), each lane summing its chunks' dW and db in order
** into a partial of its own; the partials are added in lane order at the
** end. The threads run whole lanes, so the result is the same bits for
** any thread count. (Since 2026-12 dW and db are summed this way, chunk
** by chunk, instead of sample by sample: the last bits differ from
** earlier versions.) Forward splits the chunks between the threads: an
** output is the same product whoever computes it, in whichever chunk.
**
** The workspace holds, per lane, db's partial (doubles), dW's partial, a
** chunk's col and its dY (forward: its output): about CHUNK floats, a
** share of a core's L2.
**
** Weight out x in x kh x kw, bias out (PyTorch's layout).
*/
#include <string.h>

#include "base/threadpool.h"
#include "kernels/gemm.h"
#include "kernels/image.h"
#include "nn/layer.h"
#include "nn/window.h"

#define LANES 8
#define CHUNK ((size_t)1 << 17)   /* floats of a chunk's col and dY */
#define RUN 512                   /* pixels of a chunk long enough */

typedef struct conv_set {
  size_t in, out;     /* channels */
  bp_window w;
} conv_set;
BP_SETTINGS_FIT(conv_set);
#define SET(l) BP_SETTINGS(conv_set, l)

static const bp_setting SETTINGS[] = {
  {.name = "in_channels", .type = BP_SIZE, .off = offsetof(conv_set, in),
   .required = 1, .bounds = BP_MIN | BP_MAX, .min = 1, .max = 1 << 24},
  {.name = "out_channels", .type = BP_SIZE, .off = offsetof(conv_set, out),
   .required = 1, .bounds = BP_MIN, .min = 1, .label = "->"},
  BP_WINDOW_SETTINGS(offsetof(conv_set, w), 1, 0),
};

static bp_status shape(const bp_layer *l, const bp_ctx *c, size_t n,
                       const bp_shape *in, bp_shape *out, bp_error *err) {
  const conv_set *s = SET(l);
  bp_status st = bp_win_check(n, in, err);
  (void)c;
  if (st != BP_OK) return st;
  if (in->d[0] != s->in)
    return bp_fail(err, BP_EINVAL, "expected %lu input channels, got %lu",
                   (unsigned long)s->in, (unsigned long)in->d[0]);
  return bp_win_shape(&s->w, in, s->out, "kernel", out, err);
}

/* Sizes of a pass over n samples: the window (g), K, P, the chunks and
** lanes, and the floats of a lane's block of the workspace. */
typedef struct plan {
  bp_img_win g;
  size_t out, k, p, in_numel;     /* in_numel: floats of an input sample */
  size_t chunk, nchunks, lanes, lane_floats;
} plan;

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

static plan make_plan(const bp_layer *l, const bp_shape *in, size_t n) {
  const conv_set *s = SET(l);
  plan P;
  P.g.c = in->d[0];
  P.g.h = in->d[1];
  P.g.w = in->d[2];
  P.g.kh = s->w.kh;
  P.g.kw = s->w.kw;
  P.g.sh = s->w.sh;
  P.g.sw = s->w.sw;
  P.g.ph = s->w.ph;
  P.g.pw = s->w.pw;
  bp_win_hw(&s->w, in, &P.g.ho, &P.g.wo);
  P.out = s->out;
  P.k = P.g.c * P.g.kh * P.g.kw;
  P.p = P.g.ho * P.g.wo;
  P.in_numel = P.g.c * P.g.h * P.g.w;
  /* samples per chunk: doubled while shorter than RUN pixels and its col
  ** and dY fit in CHUNK floats (at least 1, at most n) */
  P.chunk = 1;
  while (P.chunk * P.p < RUN && 2 * P.chunk <= n &&
         2 * P.chunk * (P.k + P.out) * P.p <= CHUNK)
    P.chunk *= 2;
  P.nchunks = n == 0 ? 0 : (n + P.chunk - 1) / P.chunk;
  P.lanes = P.nchunks < LANES ? P.nchunks : LANES;
  P.lane_floats = round16(2 * P.out) + round16(P.out * P.k) +
                  round16(P.k * P.chunk * P.p) + round16(P.out * P.chunk * P.p);
  return P;
}

/* Lane i's block: db's partial, dW's, a chunk's col, its dY. */
typedef struct lane {
  double *db;
  float *dw, *col, *dy;
} lane;

static lane lane_of(const plan *P, float *work, size_t i) {
  lane L;
  float *b = work + i * P->lane_floats;
  L.db = (double *)(void *)b;           /* 64-byte aligned (net.c) */
  L.dw = b + round16(2 * P->out);
  L.col = L.dw + round16(P->out * P->k);
  L.dy = L.col + round16(P->k * P->chunk * P->p);
  return L;
}

typedef struct job {
  const plan *P;
  const bp_layer *l;
  float *work;
  const float *x, *dy;
  float *y, *dx;
  size_t n;
  struct bp_pool *pool;   /* for the products (split only outside a task) */
} job;

/* Chunk ci's samples and count. */
static size_t chunk_of(const plan *P, size_t n, size_t ci, size_t *cnt) {
  size_t s0 = ci * P->chunk;
  *cnt = n - s0 < P->chunk ? n - s0 : P->chunk;
  return s0;
}

/* Chunks t, t + nt, ... forward, with lane t's col and dY blocks: y =
** W col, each sample's planes then moved to y with the bias added (acc,
** then acc + b: the bits of b + acc, a product with beta 1); a lone
** sample's product is written in place. */
static void forward_task(void *arg, size_t t, size_t nt) {
  const job *J = arg;
  const plan *P = J->P;
  const float *w = J->l->p[0].data, *b = J->l->p[1].data;
  lane L = lane_of(P, J->work, t);
  size_t ci, s, o, cnt, out = P->out, p = P->p;
  for (ci = t; ci < P->nchunks; ci += nt) {
    size_t s0 = chunk_of(P, J->n, ci, &cnt), ld = cnt * p;
    float *ys = J->y + s0 * out * p, *acc = cnt == 1 ? ys : L.dy;
    for (s = 0; s < cnt; s++)
      bp_im2col(&P->g, J->x + (s0 + s) * P->in_numel, L.col + s * p, ld);
    bp_gemm_mt(J->pool, 0, 0, out, ld, P->k, 1.0f, w, P->k, L.col, ld, 0.0f,
               acc, ld);
    for (s = 0; s < cnt; s++)
      for (o = 0; o < out; o++)
        bp_img_affine(1, p, 0, acc + o * ld + s * p, 1.0f, b[o],
                      ys + (s * out + o) * p);
  }
}

/* Lane t's chunks t, t + lanes, ...: their dW and db summed into the
** lane's partials, their dx written. A chunk of several samples gathers
** their dY side by side; a lone sample's is read in place. */
static void backward_task(void *arg, size_t t, size_t nt) {
  const job *J = arg;
  const plan *P = J->P;
  lane L = lane_of(P, J->work, t);
  const float *w = J->l->p[0].data;
  size_t ci, s, o, cnt, out = P->out, p = P->p;
  (void)nt;
  for (o = 0; o < out; o++) L.db[o] = 0.0;
  for (ci = t; ci < P->nchunks; ci += P->lanes) {
    size_t s0 = chunk_of(P, J->n, ci, &cnt), ld = cnt * p;
    const float *dy = cnt == 1 ? J->dy + s0 * out * p : L.dy;
    for (s = 0; s < cnt; s++) {
      const float *ds = J->dy + (s0 + s) * out * p;
      bp_im2col(&P->g, J->x + (s0 + s) * P->in_numel, L.col + s * p, ld);
      if (cnt > 1)
        for (o = 0; o < out; o++)
          memcpy(L.dy + o * ld + s * p, ds + o * p, p * sizeof *ds);
    }
    for (o = 0; o < out; o++) {
      double m[2];
      bp_img_moments(1, ld, 0, dy + o * ld, 0.0f, m);
      L.db[o] += m[0];
    }
    bp_gemm_mt(J->pool, 0, 1, out, P->k, ld, 1.0f, dy, ld, L.col, ld,
               ci == t ? 0.0f : 1.0f, L.dw, P->k);
    if (J->dx == NULL) continue;
    bp_gemm_mt(J->pool, 1, 0, P->k, ld, out, 1.0f, w, P->k, dy, ld, 0.0f,
               L.col, ld);
    for (s = 0; s < cnt; s++)
      bp_col2im(&P->g, L.col + s * p, ld, J->dx + (s0 + s) * P->in_numel);
  }
}

/* Work of about a million multiply-adds or more is split between the
** threads; less runs here, its products split by bp_gemm_mt. */
static void run(const bp_ctx *c, job *J, bp_task_fn *fn, size_t ntasks,
                int any_split) {
  const plan *P = J->P;
  size_t nt = bp_pool_size(c->pool), t;
  J->pool = c->pool;   /* inside a task its size is 1: products unsplit */
  if (nt > 1 && ntasks > 1 &&
      (double)J->n * P->out * P->k * P->p >= (double)(1 << 20)) {
    bp_pool_run(c->pool, any_split && nt < ntasks ? nt : ntasks, fn, J);
    return;
  }
  if (any_split) fn(J, 0, 1);
  else for (t = 0; t < ntasks; t++) fn(J, t, ntasks);
}

static void forward(const bp_layer *l, const bp_ctx *c, const float *x,
                    float *y, size_t n, const bp_shape *in) {
  plan P = make_plan(l, in, n);
  job J = {&P, l, c->work, x, NULL, y, NULL, n, NULL};
  run(c, &J, forward_task, P.lanes, 1);
}

static void backward(const bp_layer *l, const bp_ctx *c, const float *x,
                     const float *y, const float *dy, float *dx, size_t n,
                     const bp_shape *in) {
  plan P = make_plan(l, in, n);
  job J = {&P, l, c->work, x, dy, NULL, dx, n, NULL};
  float *gw = l->p[0].grad, *gb = l->p[1].grad;
  size_t i, e;
  (void)y;
  run(c, &J, backward_task, P.lanes, 0);
  for (i = 0; i < P.lanes; i++) {   /* the partials, in lane order */
    lane L = lane_of(&P, c->work, i);
    for (e = 0; e < P.out * P.k; e++) gw[e] += L.dw[e];
  }
  for (e = 0; e < P.out; e++) {
    double t = 0.0;
    for (i = 0; i < P.lanes; i++) t += lane_of(&P, c->work, i).db[e];
    gb[e] += (float)t;
  }
}

static size_t work(const bp_layer *l, const bp_shape *in, size_t n) {
  plan P = make_plan(l, in, n);
  return P.lanes * P.lane_floats;
}

/* Each setting is in bounds (the schema); their product must be too. */
static bp_status describe(bp_layer *l, bp_error *err) {
  const conv_set *s = SET(l);
  size_t k = s->in * s->w.kh * s->w.kw;
  if (k > BP_SIZE_LIMIT / s->out)
    return bp_fail(err, BP_EINVAL, "%lu -> %lu channels with kernel %lux%lu "
                   "are too large (at most 2^31 weights)", (unsigned long)s->in,
                   (unsigned long)s->out, (unsigned long)s->w.kh,
                   (unsigned long)s->w.kw);
  l->nparams = 2;
  l->p[0].ndim = 4;
  l->p[0].shape[0] = s->out;
  l->p[0].shape[1] = s->in;
  l->p[0].shape[2] = s->w.kh;
  l->p[0].shape[3] = s->w.kw;
  l->p[0].numel = s->out * k;
  l->p[1].ndim = 1;
  l->p[1].shape[0] = s->out;
  l->p[1].numel = s->out;
  return BP_OK;
}

/* As Linear: Xavier or He by the next layer, fans counting the kernel. */
static void reset(bp_layer *l, const bp_layer *next, bp_rng *rng) {
  const conv_set *s = SET(l);
  size_t i, area = s->w.kh * s->w.kw;
  bp_fill_uniform(l->p[0].data, l->p[0].numel,
                  bp_init_bound(next, s->in * area, s->out * area), rng);
  for (i = 0; i < l->p[1].numel; i++) l->p[1].data[i] = 0.0f;
}

const bp_layer_class bp_conv2d_class = {
  .name = "Conv2d", .settings = SETTINGS, .nsettings = BP_NSETTINGS(SETTINGS),
  .shape = shape, .forward = forward, .backward = backward,
  .describe = describe, .reset = reset, .work = work,
};
