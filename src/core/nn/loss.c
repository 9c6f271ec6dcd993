/* loss.c: the losses of loss.h, each value and derivative side by side. */
#include <math.h>
#include <string.h>

#include "nn/loss.h"

void bp_loss_spec_init(bp_loss_spec *s, bp_loss_kind kind) {
  s->kind = kind;
  s->reduction = BP_REDUCE_MEAN;
  s->weight = s->pos_weight = NULL;
  s->nweight = s->npos_weight = 0;
  s->smoothing = 0.0;
  s->delta = 1.0;
}

/* By kind: the Lua constructor's name and the options it takes. */
static const char *const PLAIN[] = {"reduction", NULL};
static const char *const CE[] = {"reduction", "weight", "label_smoothing",
                                 NULL};
static const char *const NLL[] = {"reduction", "weight", NULL};
static const char *const HUBER[] = {"reduction", "delta", NULL};
static const char *const LOGITS[] = {"reduction", "pos_weight", NULL};

static const struct {
  const char *name;
  const char *const *options;
} KINDS[] = {
  [BP_MSE] = {"MSELoss", PLAIN},
  [BP_BCE] = {"BCELoss", PLAIN},
  [BP_CE] = {"CrossEntropyLoss", CE},
  [BP_NLL] = {"NLLLoss", NLL},
  [BP_L1] = {"L1Loss", PLAIN},
  [BP_HUBER] = {"HuberLoss", HUBER},
  [BP_BCE_LOGITS] = {"BCEWithLogitsLoss", LOGITS},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

static const char *const REDUCTIONS[] = {"mean", "sum", "none"};

const char *bp_loss_name(bp_loss_kind kind) {
  return (unsigned)kind < NKINDS ? KINDS[kind].name : NULL;
}

bp_loss_kind bp_loss_kind_of(const char *name) {
  size_t k;
  for (k = 1; k < NKINDS; k++)
    if (KINDS[k].name != NULL && strcmp(KINDS[k].name, name) == 0)
      return (bp_loss_kind)k;
  return (bp_loss_kind)0;
}

const char *const *bp_loss_options(bp_loss_kind kind) {
  return (unsigned)kind < NKINDS ? KINDS[kind].options : NULL;
}

const char *bp_reduction_name(bp_reduction r) {
  return (unsigned)r < 3 ? REDUCTIONS[r] : NULL;
}

int bp_reduction_of(const char *name, bp_reduction *r) {
  int i;
  for (i = 0; i < 3; i++)
    if (strcmp(name, REDUCTIONS[i]) == 0) {
      *r = (bp_reduction)i;
      return 1;
    }
  return 0;
}

int bp_loss_takes_labels(bp_loss_kind kind) {
  return kind == BP_CE || kind == BP_NLL;
}

size_t bp_loss_target_count(bp_loss_kind kind, size_t n, size_t c) {
  return bp_loss_takes_labels(kind) ? n : n * c;
}

/* Pointwise losses. Each returns the sum of the element losses, writes
** them to out and their derivatives divided by `div` to grad (either may
** be NULL). */

static double mse(const float *p, size_t m, const float *t, double div,
                  float *out, float *grad) {
  double s = 0.0;
  float g = 2.0f / (float)div;
  size_t i;
  for (i = 0; i < m; i++) {
    float d = p[i] - t[i];
    s += (double)d * d;
    if (out) out[i] = d * d;
    if (grad) grad[i] = g * d;
  }
  return s;
}

static double l1(const float *p, size_t m, const float *t, double div,
                 float *out, float *grad) {
  double s = 0.0;
  float g = (float)(1.0 / div);
  size_t i;
  for (i = 0; i < m; i++) {
    double d = (double)p[i] - t[i];
    s += fabs(d);
    if (out) out[i] = (float)fabs(d);
    if (grad) grad[i] = d > 0 ? g : d < 0 ? -g : 0.0f;
  }
  return s;
}

static double huber(const float *p, size_t m, const float *t, double delta,
                    double div, float *out, float *grad) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < m; i++) {
    double d = (double)p[i] - t[i], z = fabs(d);
    double v = z < delta ? 0.5 * d * d : delta * (z - 0.5 * delta);
    s += v;
    if (out) out[i] = (float)v;
    /* Linear beyond delta: the derivative is clipped to +-delta. */
    if (grad)
      grad[i] = (float)((d > delta ? delta : d < -delta ? -delta : d) / div);
  }
  return s;
}

static double bce(const float *p, size_t m, const float *t, double div,
                  float *out, float *grad) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < m; i++) {
    double lp = p[i] > 0.0f ? log(p[i]) : -100.0;
    double lq = p[i] < 1.0f ? log1p(-(double)p[i]) : -100.0;
    double v;
    if (lp < -100.0) lp = -100.0;
    if (lq < -100.0) lq = -100.0;
    v = -(t[i] * lp + (1.0 - t[i]) * lq);
    s += v;
    if (out) out[i] = (float)v;
    if (grad) {
      /* PyTorch's guard: the denominator never reaches 0. */
      double den = (double)p[i] * (1.0 - p[i]);
      if (den < 1e-12) den = 1e-12;
      grad[i] = (float)(((double)p[i] - t[i]) / den / div);
    }
  }
  return s;
}

/* pw (may be NULL) is indexed by column: element i is in column i % c. */
static double bce_logits(const float *x, size_t m, size_t c, const float *t,
                         const float *pw, double div, float *out,
                         float *grad) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < m; i++) {
    double xi = x[i], y = t[i];
    double lw = pw ? 1.0 + ((double)pw[i % c] - 1.0) * y : 1.0;
    /* softplus(-x) = log(1 + e^-x) and sigmoid(-x) = e^-x / (1 + e^-x),
    ** written with e^-|x| so neither overflows. */
    double e = exp(-fabs(xi));
    double sp = (xi < 0 ? -xi : 0.0) + log1p(e);
    double sg = xi >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
    double v = (1.0 - y) * xi + lw * sp;
    s += v;
    if (out) out[i] = (float)v;
    if (grad) grad[i] = (float)(((1.0 - y) - lw * sg) / div);
  }
  return s;
}

/* Class losses. Labels were checked. W is the sum of the weights of the
** targets, the divisor of the mean. */
static double target_weight(const bp_loss_spec *s, const float *t, size_t n) {
  double w = 0.0;
  size_t i;
  if (s->weight == NULL) return (double)n;
  for (i = 0; i < n; i++) w += s->weight[(size_t)t[i] - 1];
  return w;
}

/* Cross-entropy of row i: with a[j] = (1 - e) w[y] [j = y] + (e / c) w[j]
** the loss is sum_j a[j] (-logp[j]) and its gradient A p[j] - a[j], where
** A = sum_j a[j] (the softmax's probabilities sum to one). */
static double ce(const bp_loss_spec *s, const float *x, size_t n, size_t c,
                 const float *t, double div, float *out, float *grad) {
  const float *w = s->weight;
  double e = s->smoothing, es = e / (double)c, wsum = 0.0, total = 0.0;
  size_t i, j;
  if (e > 0)
    for (j = 0; j < c; j++) wsum += w ? w[j] : 1.0;
  for (i = 0; i < n; i++) {
    const float *r = x + i * c;
    size_t y = (size_t)t[i] - 1;
    double wy = w ? w[y] : 1.0, sum = 0.0, lse, v;
    float mx = r[0];
    for (j = 1; j < c; j++)
      if (r[j] > mx) mx = r[j];
    for (j = 0; j < c; j++) sum += exp((double)r[j] - mx);
    lse = mx + log(sum);
    v = wy * (lse - r[y]);
    if (e > 0) {
      double sm = 0.0;
      for (j = 0; j < c; j++) sm += (w ? w[j] : 1.0) * (lse - r[j]);
      v = (1.0 - e) * v + es * sm;
    }
    total += v;
    if (out) out[i] = (float)v;
    if (grad) {
      double A = (1.0 - e) * wy + es * wsum;
      float *g = grad + i * c;
      for (j = 0; j < c; j++) {
        double a = es * (w ? w[j] : 1.0) + (j == y ? (1.0 - e) * wy : 0.0);
        g[j] = (float)((A * exp((double)r[j] - lse) - a) / div);
      }
    }
  }
  return total;
}

static double nll(const bp_loss_spec *s, const float *x, size_t n, size_t c,
                  const float *t, double div, float *out, float *grad) {
  double total = 0.0;
  size_t i, j;
  for (i = 0; i < n; i++) {
    size_t y = (size_t)t[i] - 1;
    double wy = s->weight ? s->weight[y] : 1.0, v = -wy * x[i * c + y];
    total += v;
    if (out) out[i] = (float)v;
    if (grad) {
      for (j = 0; j < c; j++) grad[i * c + j] = 0.0f;
      grad[i * c + y] = (float)(-wy / div);
    }
  }
  return total;
}

/* Checks. */

/* c = 0: any count (the options alone, before there is a prediction). */
static bp_status check_weights(const float *w, size_t nw, size_t c,
                               const char *name, bp_error *err) {
  size_t j;
  if (w == NULL) return BP_OK;
  if (c != 0 && nw != c)
    return bp_fail(err, BP_EINVAL, "%s has %lu value(s), expected one per "
                   "class: the prediction has %lu column(s)", name,
                   (unsigned long)nw, (unsigned long)c);
  for (j = 0; j < nw; j++)
    if (!(w[j] > 0.0f && isfinite(w[j])))
      return bp_fail(err, BP_EINVAL, "%s %lu is %g, expected a positive "
                     "finite number", name, (unsigned long)j + 1, w[j]);
  return BP_OK;
}

static bp_status check_spec(const bp_loss_spec *s, size_t c, bp_error *err) {
  bp_status st;
  if (s->reduction != BP_REDUCE_MEAN && s->reduction != BP_REDUCE_SUM &&
      s->reduction != BP_REDUCE_NONE)
    return bp_fail(err, BP_EINVAL, "unknown reduction %d", (int)s->reduction);
  if (!(s->smoothing >= 0.0 && s->smoothing < 1.0))
    return bp_fail(err, BP_EINVAL, "label_smoothing is %g, expected a value "
                   "in [0, 1)", s->smoothing);
  if (!(s->delta > 0.0 && isfinite(s->delta)))
    return bp_fail(err, BP_EINVAL, "delta is %g, expected a positive finite "
                   "number", s->delta);
  st = check_weights(s->weight, s->nweight, c, "weight", err);
  if (st != BP_OK) return st;
  return check_weights(s->pos_weight, s->npos_weight, c, "pos_weight", err);
}

bp_status bp_loss_spec_check(const bp_loss_spec *s, bp_error *err) {
  return check_spec(s, 0, err);
}

static bp_status check_labels(const float *t, size_t n, size_t c,
                              bp_error *err) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!(t[i] >= 1.0f && t[i] <= (float)c && t[i] == floorf(t[i])))
      return bp_fail(err, BP_EINVAL, "label %lu is %g, expected an integer "
                     "class in 1..%lu", (unsigned long)i + 1, t[i],
                     (unsigned long)c);
  return BP_OK;
}

static bp_status check_unit(const float *v, size_t m, const char *what,
                            const char *expected, bp_error *err) {
  size_t i;
  for (i = 0; i < m; i++)
    if (!(v[i] >= 0.0f && v[i] <= 1.0f))
      return bp_fail(err, BP_EINVAL, "%s %lu is %g, expected %s", what,
                     (unsigned long)i + 1, v[i], expected);
  return BP_OK;
}

bp_status bp_loss_check(const bp_loss_spec *s, const float *pred, size_t n,
                        size_t c, const float *target, bp_error *err) {
  size_t m = n * c;
  bp_status st;
  if (n == 0 || c == 0) return bp_fail(err, BP_EINVAL, "empty prediction");
  st = check_spec(s, c, err);
  if (st != BP_OK) return st;
  switch (s->kind) {
    case BP_MSE: case BP_L1: case BP_HUBER:
      return BP_OK;
    case BP_BCE:
      st = check_unit(pred, m, "prediction", "a probability in [0, 1] (end "
                      "the network with Sigmoid)", err);
      if (st != BP_OK) return st;
      return check_unit(target, m, "target", "a value in [0, 1]", err);
    case BP_BCE_LOGITS:
      return check_unit(target, m, "target", "a value in [0, 1]", err);
    case BP_CE: case BP_NLL:
      return check_labels(target, n, c, err);
  }
  return bp_fail(err, BP_EINVAL, "unknown loss kind %d", (int)s->kind);
}

bp_status bp_loss(const bp_loss_spec *s, const float *pred, size_t n,
                  size_t c, const float *target, double *loss, float *out,
                  float *grad, bp_error *err) {
  size_t m = n * c;
  double total, div = 1.0;
  bp_status st = bp_loss_check(s, pred, n, c, target, err);
  if (st != BP_OK) return st;
  if (s->reduction == BP_REDUCE_MEAN)
    div = bp_loss_takes_labels(s->kind) ? target_weight(s, target, n)
                                        : (double)m;
  switch (s->kind) {
    case BP_MSE: total = mse(pred, m, target, div, out, grad); break;
    case BP_L1: total = l1(pred, m, target, div, out, grad); break;
    case BP_HUBER:
      total = huber(pred, m, target, s->delta, div, out, grad);
      break;
    case BP_BCE: total = bce(pred, m, target, div, out, grad); break;
    case BP_BCE_LOGITS:
      total = bce_logits(pred, m, c, target, s->pos_weight, div, out, grad);
      break;
    case BP_CE: total = ce(s, pred, n, c, target, div, out, grad); break;
    default: total = nll(s, pred, n, c, target, div, out, grad); break;
  }
  *loss = total / div;
  return BP_OK;
}
