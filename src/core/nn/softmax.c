/*
** softmax.c: Softmax and LogSoftmax over the last dimension of each
** sample (the features; each row of L x features).
** Both subtract the row maximum first, so exp never overflows; LogSoftmax
** never takes the log of a rounded-to-zero probability.
*/
#include <math.h>

#include "nn/layer.h"

/* max and log(sum(exp(x - max))) of one row */
static void row_stats(const float *x, size_t c, float *max, float *lse) {
  double s = 0.0;
  float m = x[0];
  size_t j;
  for (j = 1; j < c; j++)
    if (x[j] > m) m = x[j];
  for (j = 0; j < c; j++) s += exp((double)x[j] - m);
  *max = m;
  *lse = (float)log(s);
}

/* rows and row length of a batch */
#define ROWS(n, in) ((n) * bp_shape_numel(in) / (in)->d[(in)->ndim - 1])
#define LEN(in) ((in)->d[(in)->ndim - 1])

static void softmax_forward(const bp_layer *l, const bp_ctx *ctx,
                            const float *x, float *y, size_t batch,
                            const bp_shape *in) {
  size_t i, j, c = LEN(in), n = ROWS(batch, in);
  (void)l;
  (void)ctx;
  for (i = 0; i < n; i++) {
    const float *xr = x + i * c;
    float m, lse;
    row_stats(xr, c, &m, &lse);
    for (j = 0; j < c; j++) y[i * c + j] = expf(xr[j] - m - lse);
  }
}

/* dx_j = y_j (dy_j - sum_k dy_k y_k) */
static void softmax_backward(const bp_layer *l, const bp_ctx *ctx,
                             const float *x, const float *y, const float *dy,
                             float *dx, size_t batch, const bp_shape *in) {
  size_t i, j, c = LEN(in), n = ROWS(batch, in);
  (void)l;
  (void)ctx;
  (void)x;
  if (dx == NULL) return;
  for (i = 0; i < n; i++) {
    const float *yr = y + i * c, *dr = dy + i * c;
    double s = 0.0;
    for (j = 0; j < c; j++) s += (double)dr[j] * yr[j];
    for (j = 0; j < c; j++) dx[i * c + j] = yr[j] * (dr[j] - (float)s);
  }
}

static void log_softmax_forward(const bp_layer *l, const bp_ctx *ctx,
                                const float *x, float *y, size_t batch,
                                const bp_shape *in) {
  size_t i, j, c = LEN(in), n = ROWS(batch, in);
  (void)l;
  (void)ctx;
  for (i = 0; i < n; i++) {
    const float *xr = x + i * c;
    float m, lse;
    row_stats(xr, c, &m, &lse);
    for (j = 0; j < c; j++) y[i * c + j] = xr[j] - m - lse;
  }
}

/* dx_j = dy_j - softmax_j * sum_k dy_k */
static void log_softmax_backward(const bp_layer *l, const bp_ctx *ctx,
                                 const float *x, const float *y,
                                 const float *dy, float *dx, size_t batch,
                                 const bp_shape *in) {
  size_t i, j, c = LEN(in), n = ROWS(batch, in);
  (void)l;
  (void)ctx;
  (void)x;
  if (dx == NULL) return;
  for (i = 0; i < n; i++) {
    const float *yr = y + i * c, *dr = dy + i * c;
    double s = 0.0;
    for (j = 0; j < c; j++) s += dr[j];
    for (j = 0; j < c; j++) dx[i * c + j] = dr[j] - expf(yr[j]) * (float)s;
  }
}

const bp_layer_class bp_softmax_class = {
  .name = "Softmax", .shape = bp_shape_same, .forward = softmax_forward,
  .backward = softmax_backward, .same_shape = 1,
};
const bp_layer_class bp_log_softmax_class = {
  .name = "LogSoftmax", .shape = bp_shape_same,
  .forward = log_softmax_forward, .backward = log_softmax_backward,
  .same_shape = 1,
};
