/* optim.c: the update rules (see optim.h). */
#include <math.h>
#include <string.h>

#include "train/optim.h"
#include "base/threadpool.h"
#include "kernels/small.h"
#include "tensor/tensor.h"

/* Centered RMSprop's root: v - mean^2 >= 0 in exact arithmetic, but
** rounding can dip below. */
static float rms_centered(float v, float mean) {
  float s = v - mean * mean;
  return s > 0.0f ? sqrtf(s) : 0.0f;
}

void bp_optim_defaults(bp_optim *o, bp_optim_kind kind) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr = kind == BP_ADAM || kind == BP_ADAMW ? 1e-3 : 0.01;
  o->weight_decay = kind == BP_ADAMW ? 0.01 : 0.0;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = kind == BP_ADAGRAD ? 1e-10 : 1e-8;
  o->alpha = 0.99;
  o->etaminus = 0.5;
  o->etaplus = 1.2;
  o->step_min = 1e-6;
  o->step_max = 50.0;
}

#define CHECK(cond, ...) \
  if (!(cond)) return bp_fail(err, BP_EINVAL, __VA_ARGS__)

/* NaN fails every comparison, so each check below also rejects it. */
static bp_status check_kind(const bp_optim *o, bp_error *err) {
  switch (o->kind) {
  case BP_SGD:
    CHECK(o->momentum >= 0, "momentum must be >= 0, got %g", o->momentum);
    CHECK(o->dampening >= 0 && o->dampening <= 1,
          "dampening must be in [0, 1], got %g", o->dampening);
    CHECK(!o->nesterov || (o->momentum > 0 && o->dampening == 0),
          "nesterov needs momentum > 0 and dampening = 0");
    return BP_OK;
  case BP_ADAM:
  case BP_ADAMW:
    CHECK(o->beta1 >= 0 && o->beta1 < 1, "beta1 must be in [0, 1), got %g",
          o->beta1);
    CHECK(o->beta2 >= 0 && o->beta2 < 1, "beta2 must be in [0, 1), got %g",
          o->beta2);
    break;
  case BP_RMSPROP:
    CHECK(o->alpha >= 0 && o->alpha < 1, "alpha must be in [0, 1), got %g",
          o->alpha);
    CHECK(o->momentum >= 0, "momentum must be >= 0, got %g", o->momentum);
    break;
  case BP_ADAGRAD:
    CHECK(o->lr_decay >= 0, "lr_decay must be >= 0, got %g", o->lr_decay);
    CHECK(o->initial_accumulator_value >= 0,
          "initial_accumulator_value must be >= 0, got %g",
          o->initial_accumulator_value);
    break;
  case BP_RPROP:
    CHECK(o->etaminus > 0 && o->etaminus < 1,
          "etas[1] (the decrease factor) must be in (0, 1), got %g",
          o->etaminus);
    CHECK(o->etaplus > 1, "etas[2] (the increase factor) must be > 1, got %g",
          o->etaplus);
    CHECK(o->step_min >= 0, "step_sizes[1] (the smallest step) must be >= 0, "
          "got %g", o->step_min);
    CHECK(o->step_max >= o->step_min, "step_sizes[2] (the largest step, %g) "
          "must be >= step_sizes[1] (%g)", o->step_max, o->step_min);
    CHECK(o->weight_decay == 0, "Rprop has no weight decay");
    return BP_OK;
  default:
    return bp_fail(err, BP_EINVAL, "unknown optimizer kind %d", (int)o->kind);
  }
  /* eps > 0, not >= 0 as PyTorch: with eps 0 a zero gradient and zero
  ** state would divide 0 by 0. */
  CHECK(o->eps > 0 && isfinite(o->eps), "eps must be > 0, got %g", o->eps);
  return BP_OK;
}

bp_status bp_optim_check(const bp_optim *o, bp_error *err) {
  CHECK(isfinite(o->lr) && o->lr >= 0, "lr must be >= 0, got %g", o->lr);
  CHECK(isfinite(o->weight_decay) && o->weight_decay >= 0,
        "weight_decay must be >= 0, got %g", o->weight_decay);
  return check_kind(o, err);
}

/* Which state buffers a configuration needs (see optim.h). */
static void needs(const bp_optim *o, int *m, int *v, int *w) {
  int adam = o->kind == BP_ADAM || o->kind == BP_ADAMW;
  *m = adam || o->kind == BP_RPROP ||
       ((o->kind == BP_SGD || o->kind == BP_RMSPROP) && o->momentum != 0);
  *v = adam || o->kind == BP_RMSPROP || o->kind == BP_ADAGRAD ||
       o->kind == BP_RPROP;
  *w = (adam && o->amsgrad) || (o->kind == BP_RMSPROP && o->centered);
}

bp_status bp_optim_init(bp_optim *o, size_t n, bp_error *err) {
  int m, v, w;
  size_t i;
  bp_status st = bp_optim_check(o, err);
  if (st != BP_OK) return st;
  needs(o, &m, &v, &w);
  o->n = n;
  o->steps = 0;
  o->m = o->v = o->w = NULL;
  if ((m && (o->m = bp_alloc(n)) == NULL) ||
      (v && (o->v = bp_alloc(n)) == NULL) ||
      (w && (o->w = bp_alloc(n)) == NULL)) {
    bp_optim_free(o);
    return bp_fail(err, BP_ENOMEM, "out of memory for optimizer state");
  }
  if (o->kind == BP_ADAGRAD)
    for (i = 0; i < n; i++) o->v[i] = (float)o->initial_accumulator_value;
  return BP_OK;
}

void bp_optim_free(bp_optim *o) {
  bp_free(o->m);
  bp_free(o->v);
  bp_free(o->w);
  o->m = o->v = o->w = NULL;
}

size_t bp_optim_state_bytes(const bp_optim *o) {
  return ((o->m != NULL) + (o->v != NULL) + (o->w != NULL)) * o->n *
         sizeof(float);
}

/* Each rule is split into loops per option set, with restrict pointers
** and no branch inside, so they vectorize; SGD, the per-sample hot path,
** uses the SIMD kernels of small.h. Every loop computes exactly what the
** single loop of optim.h's formulas would, bit for bit, except that SGD
** without momentum and weight decay skips adding 0 * p (which only
** changes the sign of a zero, or keeps an infinite weight infinite). */
static void sgd(bp_optim *o, float *p, const float *g) {
  float lr = (float)o->lr, wd = (float)o->weight_decay;
  float mu = (float)o->momentum, keep = (float)(1.0 - o->dampening);
  if (o->m != NULL)
    bp_upd_sgd_momentum(o->n, lr, wd, mu, keep, o->steps == 0, o->nesterov,
                        p, g, o->m);
  else if (wd != 0.0f)
    bp_upd_sgd_wd(o->n, lr, wd, p, g);
  else
    bp_upd_sgd(o->n, lr, p, g);
}

void bp_optim_sgd_part(const bp_optim *o, const float *params, float *p,
                       const float *g, size_t m) {
  float lr = (float)o->lr, wd = (float)o->weight_decay;
  if (o->m != NULL)
    bp_upd_sgd_momentum(m, lr, wd, (float)o->momentum,
                        (float)(1.0 - o->dampening), o->steps == 0,
                        o->nesterov, p, g, o->m + (p - params));
  else if (wd != 0.0f)
    bp_upd_sgd_wd(m, lr, wd, p, g);
  else
    bp_upd_sgd(m, lr, p, g);
}

static void sgd_apply(const bp_update *u, float *p, const float *g,
                      size_t m) {
  bp_optim_sgd_part(u->opt, u->params, p, g, m);
}

int bp_optim_update(const bp_optim *o, const float *params, bp_update *u) {
  if (o->kind != BP_SGD) return 0;
  u->apply = sgd_apply;
  u->opt = o;
  u->params = params;
  u->plain = o->m == NULL && o->weight_decay == 0.0;
  u->lr = (float)o->lr;
  return 1;
}

/* Adam and AdamW: they differ only in where the weight decay goes. */
static void adam_moments(size_t n, float b1, float b2, float l2,
                         const float *restrict p, const float *restrict g,
                         float *restrict m, float *restrict v) {
  size_t i;
  if (l2 != 0.0f)
    for (i = 0; i < n; i++) {
      float gi = g[i] + l2 * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    }
  else
    for (i = 0; i < n; i++) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    }
}

static void adam(bp_optim *o, float *restrict p, const float *restrict g) {
  double t = (double)(o->steps + 1);
  int decoupled = o->kind == BP_ADAMW;
  float b1 = (float)o->beta1, b2 = (float)o->beta2;
  float l2 = decoupled ? 0.0f : (float)o->weight_decay;
  float shrink = (float)(1.0 - (decoupled ? o->lr * o->weight_decay : 0.0));
  float step = (float)(o->lr / (1.0 - pow(o->beta1, t)));
  float root2 = (float)sqrt(1.0 - pow(o->beta2, t)), eps = (float)o->eps;
  float *restrict m = o->m, *restrict v = o->v, *restrict w = o->w;
  size_t i, n = o->n;
  /* The moments use g + l2 p with p before AdamW's shrink (which l2 = 0
  ** makes irrelevant), so they can come first. */
  adam_moments(n, b1, b2, l2, p, g, m, v);
  if (decoupled)
    for (i = 0; i < n; i++) p[i] *= shrink;
  if (w != NULL) {
    for (i = 0; i < n; i++) w[i] = v[i] > w[i] ? v[i] : w[i];
    v = w;
  }
  for (i = 0; i < n; i++) p[i] -= step * m[i] / (sqrtf(v[i]) / root2 + eps);
}

static void rmsprop(bp_optim *o, float *restrict p, const float *restrict g) {
  float lr = (float)o->lr, wd = (float)o->weight_decay;
  float a = (float)o->alpha, b = 1.0f - a, eps = (float)o->eps;
  float mu = (float)o->momentum;
  float *restrict v = o->v, *restrict w = o->w, *restrict m = o->m;
  size_t i, n = o->n;
  /* v, and for centered the mean w, first; then the step, which needs
  ** g + wd p with p not yet moved. */
  for (i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i];
    v[i] = a * v[i] + b * gi * gi;
  }
  if (w != NULL)
    for (i = 0; i < n; i++) w[i] = a * w[i] + b * (g[i] + wd * p[i]);
  /* Then the step, one loop per (centered, momentum). */
#define STEP(denom)                                                   \
  if (m != NULL)                                                      \
    for (i = 0; i < n; i++) {                                         \
      m[i] = mu * m[i] + (g[i] + wd * p[i]) / ((denom) + eps);        \
      p[i] -= lr * m[i];                                              \
    }                                                                 \
  else                                                                \
    for (i = 0; i < n; i++)                                           \
      p[i] -= lr * ((g[i] + wd * p[i]) / ((denom) + eps));
  if (w != NULL) {
    STEP(rms_centered(v[i], w[i]))
  } else {
    STEP(sqrtf(v[i]))
  }
#undef STEP
}

static void adagrad(bp_optim *o, float *restrict p, const float *restrict g) {
  float clr = (float)(o->lr / (1.0 + (double)o->steps * o->lr_decay));
  float wd = (float)o->weight_decay, eps = (float)o->eps;
  float *restrict v = o->v;
  size_t i, n = o->n;
  for (i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i];
    v[i] += gi * gi;
    p[i] -= clr * (gi / (sqrtf(v[i]) + eps));
  }
}

/* iRprop-, written with selects instead of branches: a factor of 1 keeps
** s exactly, and p +- 0 is p. */
static void rprop(bp_optim *o, float *restrict p, const float *restrict g) {
  float up = (float)o->etaplus, down = (float)o->etaminus;
  float lo = (float)o->step_min, hi = (float)o->step_max;
  float *restrict m = o->m, *restrict v = o->v;
  size_t i, n = o->n;
  if (o->steps == 0)        /* lr now, not at creation: it may have changed */
    for (i = 0; i < n; i++) v[i] = (float)o->lr;
  for (i = 0; i < n; i++) {
    float gi = g[i], same = gi * m[i], s = v[i];
    s = same > 0.0f ? s * up : same < 0.0f ? s * down : s;
    gi = same < 0.0f ? 0.0f : gi;   /* iRprop-: skip this move, forget */
    s = s < lo ? lo : s > hi ? hi : s;
    v[i] = s;
    p[i] = gi > 0.0f ? p[i] - s : gi < 0.0f ? p[i] + s : p[i];
    m[i] = gi;
  }
}

/* SGD over the pool: contiguous pieces of whole 64-byte lines, one per
** thread. The update is elementwise and computes each element the same
** way wherever a piece starts (small.h), so any thread count gives the
** same bits. Below MT_MIN floats a wake-up costs more than the loop. */
#define MT_MIN ((size_t)1 << 16)

typedef struct sgd_job {
  bp_optim *o;
  float *p;
  const float *g;
  int first;
} sgd_job;

static void sgd_task(void *arg, size_t t, size_t nt) {
  const sgd_job *J = arg;
  bp_optim *o = J->o;
  size_t lines = (o->n + 15) / 16, lo = lines * t / nt * 16,
         hi = lines * (t + 1) / nt * 16;
  float lr = (float)o->lr, wd = (float)o->weight_decay;
  if (hi > o->n) hi = o->n;
  if (lo >= hi) return;
  if (o->m != NULL)
    bp_upd_sgd_momentum(hi - lo, lr, wd, (float)o->momentum,
                        (float)(1.0 - o->dampening), J->first, o->nesterov,
                        J->p + lo, J->g + lo, o->m + lo);
  else if (wd != 0.0f)
    bp_upd_sgd_wd(hi - lo, lr, wd, J->p + lo, J->g + lo);
  else
    bp_upd_sgd(hi - lo, lr, J->p + lo, J->g + lo);
}

void bp_optim_step_mt(bp_optim *o, struct bp_pool *pool, float *params,
                      const float *grads) {
  size_t nt = bp_pool_size(pool);
  if (o->kind == BP_SGD && nt > 1 && o->n >= MT_MIN) {
    sgd_job J;
    J.o = o;
    J.p = params;
    J.g = grads;
    J.first = o->steps == 0;
    bp_pool_run(pool, nt, sgd_task, &J);
    o->steps++;
    return;
  }
  bp_optim_step(o, params, grads);
}

void bp_optim_step(bp_optim *o, float *params, const float *grads) {
  switch (o->kind) {
  case BP_SGD: sgd(o, params, grads); break;
  case BP_ADAM:
  case BP_ADAMW: adam(o, params, grads); break;
  case BP_RMSPROP: rmsprop(o, params, grads); break;
  case BP_ADAGRAD: adagrad(o, params, grads); break;
  case BP_RPROP: rprop(o, params, grads); break;
  }
  o->steps++;
}
