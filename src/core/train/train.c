/* train.c: training step and epoch (see train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "tensor/tensor.h"
#include "train/train.h"

void bp_epoch_buf_free(bp_epoch_buf *b) {
  free(b->order);
  bp_free(b->y);
  memset(b, 0, sizeof *b);
}

/* No clipping (it needs every gradient before the first update): an
** optimizer with an update hook on a network whose layers can fuse it
** runs zero_grad, backward and the update in one pass (see
** bp_net_backward_update), the same results bit for bit. */
static int fusable(const bp_net *net, const bp_optim *opt, bp_update *u) {
  return net->fuses_sgd && !(opt->clip.value > 0) &&
         !(opt->clip.max_norm > 0) && bp_optim_update(opt, net->params, u);
}

bp_status bp_train_step(bp_net *net, const float *x, size_t n,
                        const bp_shape *in, const float *y,
                        const bp_loss_spec *lf, bp_optim *opt,
                        double *loss, bp_error *err) {
  float *dy;
  bp_update u;
  bp_status st;
  if (opt->n != net->nparams)
    return bp_fail(err, BP_EINVAL, "the optimizer belongs to another network");
  st = bp_net_forward(net, x, n, in, err);
  if (st != BP_OK) return st;
  dy = bp_net_dy_buffer(net);
  st = bp_loss(lf, bp_net_output(net), n, bp_net_out(net), y, loss, NULL, dy,
               err);
  if (st != BP_OK) return st;
  if (!isfinite(*loss))
    return bp_fail(err, BP_EINVAL, "the loss is %g: training diverged "
                   "(try a lower learning rate)", *loss);
  if (fusable(net, opt, &u)) {
    st = bp_net_backward_update(net, dy, n, &net->shape[net->nlayers], &u,
                                err);
    if (st == BP_OK) opt->steps++;
    return st;
  }
  bp_net_zero_grad_mt(net);
  st = bp_net_backward(net, dy, n, &net->shape[net->nlayers], NULL, err);
  if (st != BP_OK) return st;
  bp_clip_apply(&opt->clip, net->grads, net->nparams);   /* fit's clipping */
  bp_optim_step_mt(opt, net->pool, net->params, net->grads);
  return BP_OK;
}

/* Grow *p to hold n floats; contents are not kept. */
static int grow(float **p, size_t *cap, size_t n) {
  if (n <= *cap) return 1;
  bp_free(*p);
  *cap = 0;
  *p = bp_alloc(n);
  if (*p == NULL) return 0;
  *cap = n;
  return 1;
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

bp_status bp_train_batches(bp_net *net, bp_epoch_buf *buf,
                           const bp_samples *X,
                           size_t N, const bp_shape *in, const float *Y,
                           size_t ywidth, const bp_loss_spec *lf,
                           bp_optim *opt, size_t batch, int shuffle,
                           bp_rng *rng, size_t first, size_t count,
                           double *total, size_t *seen, bp_error *err) {
  size_t i, start, stop, c, width = bp_shape_numel(in);
  bp_shape out;
  bp_status st;
  *total = 0.0;
  *seen = 0;
  if (N == 0 || batch == 0)
    return bp_fail(err, BP_EINVAL, "empty data set or batch");
  if (batch > N) batch = N;
  st = bp_net_out_shape(net, batch, in, &out, err);
  if (st != BP_OK) return st;
  c = bp_shape_numel(&out);
  if (ywidth != bp_loss_target_count(lf->kind, 1, c))
    return bp_fail(err, BP_EINVAL, "expected %lu target value(s) per sample "
                   "for %lu outputs, got %lu",
                   (unsigned long)bp_loss_target_count(lf->kind, 1, c),
                   (unsigned long)c, (unsigned long)ywidth);
  if (N > UINT32_MAX)
    return bp_fail(err, BP_EINVAL, "more than 2^32 samples");
  if (first == 0) {
    if (N > buf->order_cap) {
      free(buf->order);
      buf->order_cap = 0;
      buf->order = bp_malloc(N * sizeof *buf->order);
      if (buf->order == NULL) goto nomem;
      buf->order_cap = N;
    }
    for (i = 0; i < N; i++) buf->order[i] = (uint32_t)i;
    if (shuffle) bp_rng_shuffle(rng, buf->order, (uint32_t)N);
    buf->epoch_n = N;
  } else if (buf->epoch_n != N) {
    return bp_fail(err, BP_EINVAL, "batches after the first of an epoch "
                   "need the same %lu samples, got %lu",
                   (unsigned long)buf->epoch_n, (unsigned long)N);
  }
  if (!grow(&buf->y, &buf->y_cap, batch * ywidth)) goto nomem;
  if (first > (N - 1) / batch) return BP_OK;   /* past the end */
  start = first * batch;
  stop = count == 0 || count > (N - start + batch - 1) / batch
             ? N : start + count * batch;
  for (; start < stop; start += batch) {
    size_t n = N - start < batch ? N - start : batch;
    const float *xb = X->f32 + start * width, *yb = Y + start * ywidth;
    double l;
    if (shuffle || X->f32 == NULL) {
      /* Samples go straight into the network's input buffer (no second
      ** copy in bp_net_forward); one target per sample is copied as a
      ** float, wider ones with memcpy. */
      float *xin, *yin = buf->y;
      st = bp_net_input_buffer(net, n, in, &xin, err);
      if (st != BP_OK) return st;
      for (i = 0; i < n; i++) {
        size_t r = buf->order[start + i];
        row(X, r, width, xin + i * width);
        if (ywidth == 1) yin[i] = Y[r];
        else memcpy(yin + i * ywidth, Y + r * ywidth, ywidth * sizeof *Y);
      }
      xb = xin;
      yb = yin;
    }
    if (X->f32 != NULL) {
      /* fit scans the whole input once, not every epoch: each batch is
      ** checked here, while it is in cache, in case it changed since. */
      size_t m = n * width, k = bp_vfind_nonfinite(m, xb), r;
      if (k < m) {
        char s[96];
        r = shuffle ? buf->order[start + k / width] : start + k / width;
        bp_shape_fmt(N, in, s, sizeof s);
        return bp_fail(err, BP_EINVAL, "input contains %g at row %lu, "
                       "element %lu (shape %s)", (double)xb[k],
                       (unsigned long)r + 1, (unsigned long)(k % width) + 1,
                       s);
      }
    }
    st = bp_train_step(net, xb, n, in, yb, lf, opt, &l, err);
    if (st != BP_OK) return st;
    *total += lf->reduction == BP_REDUCE_MEAN ? l * (double)n : l;
    *seen += n;
  }
  return BP_OK;
nomem:
  return bp_fail(err, BP_ENOMEM, "out of memory for a batch of %lu",
                 (unsigned long)batch);
}

bp_status bp_train_epoch(bp_net *net, bp_epoch_buf *buf, const float *X,
                         size_t N, const bp_shape *in, const float *Y,
                         size_t ywidth, const bp_loss_spec *lf, bp_optim *opt,
                         size_t batch, int shuffle, bp_rng *rng, double *loss,
                         bp_error *err) {
  double total;
  size_t seen;
  bp_samples xs;
  bp_status st;
  xs.f32 = X;
  xs.u8 = NULL;
  xs.scale = 1.0f;
  st = bp_train_batches(net, buf, &xs, N, in, Y, ywidth, lf, opt, batch,
                        shuffle, rng, 0, 0, &total, &seen, err);
  if (st != BP_OK) return st;
  *loss = lf->reduction == BP_REDUCE_MEAN ? total / (double)N : total;
  return BP_OK;
}
