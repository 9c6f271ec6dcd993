/* train.c: training step, trainer and evaluation (see train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threadpool.h"
#include "nn/chain.h"
#include "tensor/tensor.h"
#include "train/train.h"

static int clipping(const bp_clip *c) {
  return c != NULL && (c->value > 0 || c->max_norm > 0);
}

/* The update hook when a step can fuse it into backward, else NULL.
** Clipping needs every gradient before the first update: no fusion. */
static const bp_update *fusion(const bp_net *net, const bp_optim *opt,
                               const bp_clip *clip, bp_update *u) {
  if (net->fuses_sgd && !clipping(clip) &&
      bp_optim_update(opt, net->params, u))
    return u;
  return NULL;
}

/* SGD's rule for the fused per-sample step (kernels/small.h), the choice
** bp_optim_sgd_part makes, at the optimizer's current step; NULL for the
** other optimizers (their update goes through the hook). */
static bp_sgd_rule *sgd_rule(const bp_optim *o, bp_sgd_rule *r) {
  if (o->kind != BP_SGD) return NULL;
  r->lr = (float)o->lr;
  r->wd = (float)o->weight_decay;
  r->mu = (float)o->momentum;
  r->keep = (float)(1.0 - o->dampening);
  r->kind = o->m != NULL ? BP_SGD_MOMENTUM
            : r->wd != 0.0f ? BP_SGD_DECAY : BP_SGD_PLAIN;
  r->first = o->steps == 0;
  r->nesterov = o->nesterov;
  return r;
}

static bp_status diverged(double loss, bp_error *err) {
  return bp_fail(err, BP_EINVAL, "the loss is %g: training diverged (try a "
                 "lower learning rate)", loss);
}

/* One sample through the network's fused plan (nn/chain.h); u is the
** hook (the plan needs one), rule SGD's rule or NULL. */
static bp_status chain_step(bp_net *net, const float *x, const float *y,
                            const bp_loss_spec *lf, bp_optim *opt,
                            const bp_update *u, bp_sgd_rule *rule, int last,
                            double *loss, bp_error *err) {
  bp_status st;
  if (rule != NULL) rule->first = opt->steps == 0;
  st = bp_chain_step(net, x, y, lf, u, rule, opt->m, last, loss, err);
  if (st != BP_OK) return st;
  if (!isfinite(*loss)) return diverged(*loss, err);
  opt->steps++;
  return BP_OK;
}

/* bp_train_step with the hook made (a trainer makes it once a run). */
static bp_status step(bp_net *net, const float *x, size_t n,
                      const bp_shape *in, const float *y,
                      const bp_loss_spec *lf, bp_optim *opt,
                      const bp_clip *clip, const bp_update *u, double *loss,
                      bp_error *err) {
  float *dy;
  bp_status st;
  if (u != NULL && bp_chain_fits(net, n)) {
    bp_sgd_rule r;
    st = bp_net_input_buffer(net, n, in, &dy, err);   /* plans, checks */
    if (st != BP_OK) return st;
    return chain_step(net, x, y, lf, opt, u, sgd_rule(opt, &r), 1, loss,
                      err);
  }
  st = bp_net_forward(net, x, n, in, err);
  if (st != BP_OK) return st;
  dy = bp_net_dy_buffer(net);
  st = bp_loss(lf, bp_net_output(net), n, bp_net_out(net), y, loss, NULL, dy,
               err);
  if (st != BP_OK) return st;
  if (!isfinite(*loss)) return diverged(*loss, err);
  if (u != NULL) {
    st = bp_net_backward_update(net, dy, n, &net->shape[net->nlayers], u,
                                err);
    if (st == BP_OK) opt->steps++;
    return st;
  }
  bp_net_zero_grad_mt(net);
  st = bp_net_backward(net, dy, n, &net->shape[net->nlayers], NULL, err);
  if (st != BP_OK) return st;
  if (clipping(clip)) bp_clip_apply(clip, net->grads, net->nparams);
  bp_optim_step_mt(opt, net->pool, net->params, net->grads);
  return BP_OK;
}

bp_status bp_train_step(bp_net *net, const float *x, size_t n,
                        const bp_shape *in, const float *y,
                        const bp_loss_spec *lf, bp_optim *opt,
                        const bp_clip *clip, double *loss, bp_error *err) {
  bp_update u;
  if (opt->n != net->nparams)
    return bp_fail(err, BP_EINVAL, "the optimizer belongs to another network");
  return step(net, x, n, in, y, lf, opt, clip, fusion(net, opt, clip, &u),
              loss, err);
}

/* n bytes times scale into dst. Blocks of a fixed length, the scale in a
** local and restrict let the compiler vectorize (a store through dst
** could otherwise change X->scale); the same product for every value. */
static void bytes_to_floats(size_t n, const unsigned char *restrict src,
                            float scale, float *restrict dst) {
  size_t j = 0, k;
  for (; j + 16 <= n; j += 16)
    for (k = 0; k < 16; k++) dst[j + k] = (float)src[j + k] * scale;
  for (; j < n; j++) dst[j] = (float)src[j] * scale;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

/* The same with AVX2: 32 bytes a step, widened 8 at a time. */
__attribute__((target("avx2"))) static void
bytes_to_floats_avx2(size_t n, const unsigned char *restrict src, float scale,
                     float *restrict dst) {
  const __m256 s = _mm256_set1_ps(scale);
  size_t j = 0, k;
  for (; j + 32 <= n; j += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(src + j));
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    __m128i q[4];
    q[0] = lo;
    q[1] = _mm_srli_si128(lo, 8);
    q[2] = hi;
    q[3] = _mm_srli_si128(hi, 8);
    for (k = 0; k < 4; k++)
      _mm256_storeu_ps(dst + j + 8 * k,
                       _mm256_mul_ps(_mm256_cvtepi32_ps(
                                         _mm256_cvtepu8_epi32(q[k])), s));
  }
  bytes_to_floats(n - j, src + j, scale, dst + j);
}
#endif

/* Row r of X as floats into dst. */
static void row(const bp_samples *X, size_t r, size_t width, float *dst) {
  if (X->f32 != NULL)
    memcpy(dst, X->f32 + r * width, width * sizeof *dst);
#if defined(__GNUC__) && defined(__x86_64__)
  else if (bp_isa_active() != BP_ISA_PORTABLE)
    bytes_to_floats_avx2(width, X->u8 + r * width, X->scale, dst);
#endif
  else
    bytes_to_floats(width, X->u8 + r * width, X->scale, dst);
}

/* A batch's weight in the mean (see bp_train_sum): its samples, or the
** weights of its labels (checked by bp_loss, which ran first). */
static double weight_of(const bp_loss_spec *lf, const float *y, size_t n) {
  double w = 0.0;
  size_t i;
  if (lf->weight == NULL || !bp_loss_takes_labels(lf->kind)) return (double)n;
  for (i = 0; i < n; i++) w += lf->weight[(size_t)y[i] - 1];
  return w;
}

static void add(bp_train_sum *sum, const bp_loss_spec *lf, double loss,
                double weight, size_t n) {
  sum->total += lf->reduction == BP_REDUCE_MEAN ? loss * weight : loss;
  sum->weight += weight;
  sum->seen += n;
}

/* Error unless the n rows of float samples at x (rows r0.. of the data
** set, or order[r0..] when order is not NULL) are finite. */
static bp_status nonfinite(const float *x, size_t k, const bp_shape *in,
                           size_t total, const uint32_t *order, size_t r0,
                           bp_error *err) {
  size_t width = bp_shape_numel(in), r;
  char s[96];
  r = order != NULL ? order[r0 + k / width] : r0 + k / width;
  bp_shape_fmt(total, in, s, sizeof s);
  return bp_fail(err, BP_EINVAL, "input contains %g at row %lu, element %lu "
                 "(shape %s)", (double)x[k], (unsigned long)r + 1,
                 (unsigned long)(k % width) + 1, s);
}

static bp_status check_rows(const float *x, size_t n, const bp_shape *in,
                            size_t total, const uint32_t *order, size_t r0,
                            bp_error *err) {
  size_t m = n * bp_shape_numel(in), k = bp_vfind_nonfinite(m, x);
  return k == m ? BP_OK : nonfinite(x, k, in, total, order, r0, err);
}

/* --- a batch into the network's input ---------------------------------
** Every batch is copied (float) or converted (uint8) into the network's
** input array, in training order, so bp_net_forward copies nothing. A
** large batch's rows are split over the pool: the copy is bound by
** memory, which a second core reads in parallel. Float rows no scan
** vouched for are checked as they land, in cache, which is why a run
** does not scan its range first (finite_rows is the per-sample path's). */
#define LOAD_MT_MIN ((size_t)1 << 14)   /* floats worth a second thread */

typedef struct load_job {
  const bp_samples *x;
  const uint32_t *order;  /* NULL: rows start .. start + n - 1 */
  size_t start, n, width;
  int check;
  float *xin;
  size_t bad[BP_POOL_MAX];   /* each piece's first bad value, or n width */
} load_job;

static void load_task(void *arg, size_t t, size_t nt) {
  load_job *J = arg;
  size_t lo, hi, i, k, w = J->width;
  bp_pool_piece(J->n, 1, t, nt, &lo, &hi);
  if (J->order == NULL && J->x->f32 != NULL)   /* rows side by side */
    memcpy(J->xin + lo * w, J->x->f32 + (J->start + lo) * w,
           (hi - lo) * w * sizeof *J->xin);
  else
    for (i = lo; i < hi; i++)
      row(J->x, J->order != NULL ? J->order[J->start + i] : J->start + i,
          w, J->xin + i * w);
  if (J->check && lo < hi &&
      (k = bp_vfind_nonfinite((hi - lo) * w, J->xin + lo * w)) < (hi - lo) * w)
    J->bad[t] = lo * w + k;
}

/* Rows start .. start + n - 1 of the epoch into xin; the index of the
** first value that is not finite (checked when `check`), else n width. */
static size_t load(bp_pool *pool, const bp_samples *x,
                   const uint32_t *order, size_t start, size_t n,
                   size_t width, int check, float *xin) {
  load_job J;
  size_t nt = bp_pool_size(pool), t, first = n * width;
  J.x = x;
  J.order = order;
  J.start = start;
  J.n = n;
  J.width = width;
  J.check = check && x->f32 != NULL;
  J.xin = xin;
  if (n * width < LOAD_MT_MIN || n < 2) nt = 1;
  for (t = 0; t < nt; t++) J.bad[t] = first;
  bp_pool_split(pool, nt, load_task, &J);
  for (t = 0; t < nt; t++)
    if (J.bad[t] < first) first = J.bad[t];
  return first;
}

bp_status bp_trainer_init(bp_trainer *t, bp_net *net,
                          const bp_loss_spec *loss, bp_optim *opt, size_t n,
                          const bp_shape *in, size_t ywidth, size_t batch,
                          bp_error *err) {
  bp_shape out;
  size_t i, want;
  bp_status st;
  memset(t, 0, sizeof *t);
  if (n == 0 || batch == 0)
    return bp_fail(err, BP_EINVAL, "empty data set or batch");
  if (n > UINT32_MAX)
    return bp_fail(err, BP_EINVAL, "more than 2^32 samples");
  if (batch > n) batch = n;
  st = bp_net_out_shape(net, batch, in, &out, err);
  if (st != BP_OK) return st;
  want = bp_loss_target_count(loss->kind, 1, bp_shape_numel(&out));
  if (ywidth != want)
    return bp_fail(err, BP_EINVAL, "expected %lu target value(s) per sample "
                   "for %lu outputs, got %lu", (unsigned long)want,
                   (unsigned long)bp_shape_numel(&out), (unsigned long)ywidth);
  t->order = bp_malloc(n * sizeof *t->order);
  t->y = bp_alloc(batch * ywidth);
  if (t->order == NULL || t->y == NULL) {
    bp_trainer_free(t);
    return bp_fail(err, BP_ENOMEM, "out of memory for %lu samples",
                   (unsigned long)n);
  }
  for (i = 0; i < n; i++) t->order[i] = (uint32_t)i;
  t->net = net;
  t->loss = loss;
  t->opt = opt;
  t->clip.norm_type = 2.0;
  t->batch = batch;
  t->n = n;
  t->in = *in;
  t->ywidth = ywidth;
  return BP_OK;
}

void bp_trainer_free(bp_trainer *t) {
  free(t->order);
  bp_free(t->y);
  memset(t, 0, sizeof *t);
}

size_t bp_trainer_batches(const bp_trainer *t) {
  return t->batch == 0 ? 0 : (t->n + t->batch - 1) / t->batch;
}

/* Whether the float rows that samples start .. stop - 1 of the epoch read
** are all finite, from one scan: of those rows when they are contiguous
** (the order is the identity), else of the whole set when the range is a
** good part of it (a short range: 0). For the per-sample path: when not,
** each sample is checked just before its step, which names the first bad
** row in training order (the input may have changed since the caller's
** scan). Batches are checked as they are loaded instead (load). */
static int finite_rows(const bp_trainer *t, const bp_samples *x,
                       size_t start, size_t stop) {
  size_t width = bp_shape_numel(&t->in), m;
  if (x->f32 == NULL || t->scanned) return 1;
  if (!t->shuffle && !t->given) {
    m = (stop - start) * width;
    return bp_vfind_nonfinite(m, x->f32 + start * width) == m;
  }
  if ((stop - start) * 4 < t->n) return 0;
  m = t->n * width;
  return bp_vfind_nonfinite(m, x->f32) == m;
}

/* --- runs of samples through the fused plan -----------------------------
** A trainer's samples at batch 1 on a network with the fused plan
** (nn/chain.h) go through bp_chain_train in one call, all but the last
** of a run (which writes the gradients, as a step of the general path
** leaves them). What the kernel cannot do itself it asks of these
** functions: the loss other than the mean squared error, rows of uint8
** inputs, and the check of float rows no earlier scan vouched for. */
typedef struct fused {
  bp_trainer *t;
  const bp_samples *x;
  const float *y;
  float *xin;            /* the network's input array */
  bp_train_sum *sum;
  int checked;           /* the float rows are known to be finite */
  bp_status st;          /* why a function below stopped the run */
  bp_error *err;
} fused;

static int fused_loss(void *ctx, size_t k, const float *z, float *dz,
                      double *l) {
  fused *f = ctx;
  const bp_trainer *t = f->t;
  const float *yk = f->y + k * t->ywidth;
  f->st = bp_loss(t->loss, z, 1, t->net->dense[t->net->ndense - 1].out, yk,
                  l, NULL, dz, f->err);
  if (f->st != BP_OK) return 1;
  if (isfinite(*l)) add(f->sum, t->loss, *l, weight_of(t->loss, yk, 1), 1);
  return 0;
}

static const float *fused_row(void *ctx, size_t k) {
  fused *f = ctx;
  const bp_trainer *t = f->t;
  size_t width = bp_shape_numel(&t->in);
  const float *xr;
  if (f->x->f32 == NULL) {
    row(f->x, k, width, f->xin);
    return f->xin;
  }
  xr = f->x->f32 + k * width;
  f->st = check_rows(xr, 1, &t->in, t->n, NULL, k, f->err);
  return f->st == BP_OK ? xr : NULL;
}

/* Samples start .. stop - 1 of the epoch (at least one) through the
** kernel, with SGD's rule. */
static bp_status run_fused(fused *f, size_t start, size_t stop,
                           bp_sgd_rule *rule) {
  bp_trainer *t = f->t;
  const bp_loss_spec *lf = t->loss;
  bp_dense_run run;
  double mse = 0.0;
  int why;
  if (lf->kind == BP_MSE) {   /* the loss's own checks: of its settings */
    f->st = bp_loss_check(lf, f->y, 1, t->ywidth, f->y, f->err);
    if (f->st != BP_OK) return f->st;
    mse = lf->reduction == BP_REDUCE_MEAN ? (double)t->ywidth : 1.0;
  }
  memset(&run, 0, sizeof run);
  run.x = f->x->f32;
  run.y = f->y;
  run.ywidth = t->ywidth;
  run.order = t->order + start;
  run.count = stop - start;
  run.mse_div = mse;
  run.loss = fused_loss;
  run.row = f->x->f32 == NULL || !f->checked ? fused_row : NULL;
  run.ctx = f;
  run.total = &f->sum->total;
  rule->first = t->opt->steps == 0;
  why = bp_chain_train(t->net, rule, t->opt->m, &run);
  t->opt->steps += run.done;
  if (mse > 0.0) {          /* fused_loss counted the other losses */
    f->sum->weight += (double)run.done;
    f->sum->seen += run.done;
  }
  if (why == 1) return f->st;
  if (why == 2) return diverged(run.loss_at, f->err);
  return BP_OK;
}

/* Samples start .. stop - 1 of the epoch, one step each through the
** network's fused plan (nn/chain.h): with SGD, all but the last in one
** kernel call; float rows are read where they are, byte rows converted
** into the network's input. */
static bp_status run_chain(bp_trainer *t, const bp_samples *x, const float *y,
                           size_t start, size_t stop, const bp_update *u,
                           int checked, bp_train_sum *sum, bp_error *err) {
  bp_net *net = t->net;
  size_t i, width = bp_shape_numel(&t->in), yw = t->ywidth;
  bp_sgd_rule r, *rule = sgd_rule(t->opt, &r);
  float *xin;
  bp_status st = bp_net_input_buffer(net, 1, &t->in, &xin, err);
  if (st != BP_OK) return st;
  if (rule != NULL && stop - start > 1) {
    fused f;
    f.t = t;
    f.x = x;
    f.y = y;
    f.xin = xin;
    f.sum = sum;
    f.checked = checked;
    f.st = BP_OK;
    f.err = err;
    st = run_fused(&f, start, stop - 1, rule);
    if (st != BP_OK) return st;
    start = stop - 1;
  }
  for (i = start; i < stop; i++) {
    size_t k = t->order[i];
    const float *xr = xin, *yr = y + k * yw;
    double l;
    if (x->f32 == NULL) {
      row(x, k, width, xin);
    } else {
      xr = x->f32 + k * width;
      if (!checked) {
        st = check_rows(xr, 1, &t->in, t->n, NULL, k, err);
        if (st != BP_OK) return st;
      }
    }
    st = chain_step(net, xr, yr, t->loss, t->opt, u, rule, i + 1 == stop,
                    &l, err);
    if (st != BP_OK) return st;
    add(sum, t->loss, l, weight_of(t->loss, yr, 1), 1);
  }
  return BP_OK;
}

bp_status bp_trainer_run(bp_trainer *t, const bp_samples *x, const float *y,
                         size_t first, size_t count, bp_train_sum *sum,
                         bp_error *err) {
  size_t i, start, stop, N = t->n, batch = t->batch, yw = t->ywidth,
         width = bp_shape_numel(&t->in), nb = bp_trainer_batches(t);
  int ordered = t->shuffle || t->given, checked;
  bp_update hook;
  const bp_update *u;
  bp_status st;
  memset(sum, 0, sizeof *sum);
  if (t->opt->n != t->net->nparams)
    return bp_fail(err, BP_EINVAL, "the optimizer belongs to another network");
  if (first == 0 && !t->given) {
    for (i = 0; i < N; i++) t->order[i] = (uint32_t)i;
    if (t->shuffle) bp_rng_shuffle(t->rng, t->order, (uint32_t)N);
  }
  if (first >= nb) return BP_OK;   /* past the end */
  t->net->training = 1;
  u = fusion(t->net, t->opt, &t->clip, &hook);   /* lr is fixed for the run */
  start = first * batch;
  stop = count == 0 || count > nb - first ? N : start + count * batch;
  if (batch == 1 && u != NULL && bp_chain_fits(t->net, 1)) {
    checked = finite_rows(t, x, start, stop);
    t->scanned = 0;
    return run_chain(t, x, y, start, stop, u, checked, sum, err);
  }
  /* The caller scans the whole input once, not every epoch: after the
  ** first run each batch is checked as it is loaded, in case it changed. */
  checked = t->scanned;   /* load checks float rows only */
  t->scanned = 0;
  for (; start < stop; start += batch) {
    size_t n = N - start < batch ? N - start : batch, k;
    const uint32_t *order = ordered ? t->order : NULL;
    const float *yb = y + start * yw;
    float *xin;
    double l;
    st = bp_net_input_buffer(t->net, n, &t->in, &xin, err);
    if (st != BP_OK) return st;
    k = load(t->net->pool, x, order, start, n, width, !checked, xin);
    if (k < n * width)
      return nonfinite(xin, k, &t->in, N, order, start, err);
    if (ordered) {   /* one target per sample as a float, wider ones copied */
      float *yin = t->y;
      for (i = 0; i < n; i++) {
        size_t r = t->order[start + i];
        if (yw == 1) yin[i] = y[r];
        else memcpy(yin + i * yw, y + r * yw, yw * sizeof *y);
      }
      yb = yin;
    }
    st = step(t->net, xin, n, &t->in, yb, t->loss, t->opt, &t->clip, u, &l,
              err);
    if (st != BP_OK) return st;
    add(sum, t->loss, l, weight_of(t->loss, yb, n), n);
  }
  return BP_OK;
}

bp_status bp_trainer_eval(bp_trainer *t, const bp_samples *x, size_t n,
                          const bp_shape *in, const float *y, size_t chunk,
                          float *out, bp_train_sum *sum, bp_error *err) {
  size_t start, i, width = bp_shape_numel(in), yw, c;
  bp_net *net = t->net;
  bp_status st;
  memset(sum, 0, sizeof *sum);
  if (n == 0 || chunk == 0)
    return bp_fail(err, BP_EINVAL, "empty data set or chunk");
  net->training = 0;
  for (start = 0; start < n; start += chunk) {
    size_t k = n - start < chunk ? n - start : chunk;
    const float *xb = x->f32 != NULL ? x->f32 + start * width : NULL;
    double l;
    if (xb == NULL) {     /* uint8 rows, converted into the input buffer */
      float *xin;
      st = bp_net_input_buffer(net, k, in, &xin, err);
      if (st != BP_OK) return st;
      for (i = 0; i < k; i++) row(x, start + i, width, xin + i * width);
      xb = xin;
    } else {
      st = check_rows(xb, k, in, n, NULL, start, err);
      if (st != BP_OK) return st;
    }
    st = bp_net_forward(net, xb, k, in, err);
    if (st != BP_OK) return st;
    c = bp_net_out(net);
    yw = bp_loss_target_count(t->loss->kind, 1, c);
    st = bp_loss(t->loss, bp_net_output(net), k, c, y + start * yw, &l, NULL,
                 NULL, err);
    if (st != BP_OK) return st;
    if (out != NULL)
      memcpy(out + start * c, bp_net_output(net), k * c * sizeof *out);
    add(sum, t->loss, l, weight_of(t->loss, y + start * yw, k), k);
  }
  return BP_OK;
}
