/* optim.c: the update rules (see optim.h). */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "train/optim.h"
#include "base/threadpool.h"
#include "kernels/small.h"
#include "kernels/update.h"
#include "tensor/tensor.h"

static const char *const NAMES[] = {
  [BP_SGD] = "SGD", [BP_ADAM] = "Adam", [BP_ADAMW] = "AdamW",
  [BP_RMSPROP] = "RMSprop", [BP_ADAGRAD] = "Adagrad", [BP_RPROP] = "Rprop",
};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

const char *bp_optim_name(bp_optim_kind kind) {
  return (unsigned)kind < NNAMES ? NAMES[kind] : NULL;
}

bp_optim_kind bp_optim_kind_of(const char *name) {
  size_t k;
  for (k = 1; k < NNAMES; k++)
    if (NAMES[k] != NULL && strcmp(NAMES[k], name) == 0)
      return (bp_optim_kind)k;
  return (bp_optim_kind)0;
}

#define K(kind) (1u << (kind))
#define ADAMS (K(BP_ADAM) | K(BP_ADAMW))
#define ALL (K(BP_SGD) | ADAMS | K(BP_RMSPROP) | K(BP_ADAGRAD) | K(BP_RPROP))

const bp_optim_field bp_optim_fields[] = {
  {"lr", ALL, BP_OPT_NUM, offsetof(bp_optim, lr)},
  {"momentum", K(BP_SGD) | K(BP_RMSPROP), BP_OPT_NUM,
   offsetof(bp_optim, momentum)},
  {"dampening", K(BP_SGD), BP_OPT_NUM, offsetof(bp_optim, dampening)},
  {"betas", ADAMS, BP_OPT_PAIR, offsetof(bp_optim, beta1)},
  {"alpha", K(BP_RMSPROP), BP_OPT_NUM, offsetof(bp_optim, alpha)},
  {"eps", ADAMS | K(BP_RMSPROP) | K(BP_ADAGRAD), BP_OPT_NUM,
   offsetof(bp_optim, eps)},
  {"weight_decay", ALL & ~K(BP_RPROP), BP_OPT_NUM,
   offsetof(bp_optim, weight_decay)},
  {"nesterov", K(BP_SGD), BP_OPT_BOOL, offsetof(bp_optim, nesterov)},
  {"amsgrad", ADAMS, BP_OPT_BOOL, offsetof(bp_optim, amsgrad)},
  {"centered", K(BP_RMSPROP), BP_OPT_BOOL, offsetof(bp_optim, centered)},
  {"lr_decay", K(BP_ADAGRAD), BP_OPT_NUM, offsetof(bp_optim, lr_decay)},
  {"initial_accumulator_value", K(BP_ADAGRAD), BP_OPT_NUM,
   offsetof(bp_optim, initial_accumulator_value)},
  {"etas", K(BP_RPROP), BP_OPT_PAIR, offsetof(bp_optim, etaminus)},
  {"step_sizes", K(BP_RPROP), BP_OPT_PAIR, offsetof(bp_optim, step_min)},
  {NULL, 0, BP_OPT_NUM, 0}
};

int bp_optim_takes(const bp_optim_field *f, bp_optim_kind kind) {
  return (unsigned)kind < 32 && (f->kinds & K(kind)) != 0;
}

const bp_optim_field *bp_optim_field_find(bp_optim_kind kind,
                                          const char *key) {
  const bp_optim_field *f;
  for (f = bp_optim_fields; f->key != NULL; f++)
    if (bp_optim_takes(f, kind) && strcmp(f->key, key) == 0) return f;
  return NULL;
}

double *bp_optim_num(bp_optim *o, const bp_optim_field *f) {
  return (double *)(void *)((char *)o + f->off);
}

int *bp_optim_flag(bp_optim *o, const bp_optim_field *f) {
  return (int *)(void *)((char *)o + f->off);
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

int bp_optim_buffers(const bp_optim *o, const char *names[3],
                     float *bufs[3]) {
  /* by kind (optim.h numbers them 1..6): what m, v and w hold */
  static const char *const M[] = {NULL, "momentum_buffer", "exp_avg",
                                  "exp_avg", "momentum_buffer", NULL, "prev"};
  static const char *const V[] = {NULL, NULL, "exp_avg_sq", "exp_avg_sq",
                                  "square_avg", "sum", "step_size"};
  static const char *const W[] = {NULL, NULL, "max_exp_avg_sq",
                                  "max_exp_avg_sq", "grad_avg", NULL, NULL};
  int n = 0;
  if (o->kind < BP_SGD || o->kind > BP_RPROP) return 0;
  if (o->m != NULL) {
    names[n] = M[o->kind];
    bufs[n++] = o->m;
  }
  if (o->v != NULL) {
    names[n] = V[o->kind];
    bufs[n++] = o->v;
  }
  if (o->w != NULL) {
    names[n] = W[o->kind];
    bufs[n++] = o->w;
  }
  return n;
}

/* SGD's loops are small.h's (the per-sample hot path); every other rule's
** are update.h's, one loop per option set, vectorized. */
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

/* update.h's flush thresholds: a moment below FLT_MIN is stored as 0 when
** that cannot change a result beyond rounding, or by more than 2^-100.
**
** A second moment v enters the denominator sqrt(v) iroot2 + eps (RMSprop:
** iroot2 = 1). Below FLT_MIN = 2^-126, sqrt(v) <= 2^-63 and the product
** <= 2^-63 iroot2 (a power of 2 scales exactly); when twice that is below
** eps 2^-25 (under half an ulp of eps), the float sum rounds to eps
** whether v is flushed or not. */
static float v_tiny(float iroot2, float eps) {
  return ldexp(iroot2, -62) < ldexp(eps, -25) ? FLT_MIN : 0.0f;
}

/* A first moment or momentum buffer x moves p by at most gain |x| (Adam:
** step / eps; RMSprop's buffer: lr). Flushed below FLT_MIN = 2^-126, it
** moves p differently by less than 2^-100 (8e-31) a step when gain < 2^26:
** nothing, unless |p| < 2^-75. A larger gain (a tiny eps) keeps
** PyTorch's rule exactly. */
static float m_tiny(double gain) {
  return gain < ldexp(1.0, 26) ? FLT_MIN : 0.0f;
}

/* The per-step constants are computed in double and rounded once, as
** PyTorch rounds its Python floats: 1 - beta2 computed from the float
** beta2 is off by up to 2^-24 / (1 - beta2) relative (1.7e-4 for beta2 =
** 0.9999: 8e-5 on Adam's first step). */
static void adam_k(const bp_optim *o, bp_upd_adam_k *k) {
  double t = (double)(o->steps + 1);
  k->b1 = (float)o->beta1;
  k->c1 = (float)(1.0 - o->beta1);
  k->b2 = (float)o->beta2;
  k->c2 = (float)(1.0 - o->beta2);
  /* AdamW decays p itself (decoupled), Adam adds wd p to g */
  k->l2 = o->kind == BP_ADAM ? (float)o->weight_decay : 0.0f;
  k->shrink =
      o->kind == BP_ADAMW ? (float)(1.0 - o->lr * o->weight_decay) : 1.0f;
  k->step = (float)(o->lr / (1.0 - pow(o->beta1, t)));
  k->iroot2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, t)));
  k->eps = (float)o->eps;
  k->mtiny = m_tiny((double)k->step / k->eps);
  k->vtiny = v_tiny(k->iroot2, k->eps);
}

static void rmsprop_k(const bp_optim *o, bp_upd_rmsprop_k *k) {
  k->a = (float)o->alpha;
  k->c = (float)(1.0 - o->alpha);
  k->wd = (float)o->weight_decay;
  k->eps = (float)o->eps;
  k->lr = (float)o->lr;
  k->mu = (float)o->momentum;
  k->vtiny = v_tiny(1.0f, k->eps);
  /* the mean enters only squared, and below FLT_MIN its square is 0 */
  k->atiny = FLT_MIN;
  k->btiny = m_tiny(k->lr);
}

void bp_optim_part(const bp_optim *o, const float *params, float *p,
                   const float *g, size_t m) {
  size_t at = (size_t)(p - params);
#define AT(state) ((state) != NULL ? (state) + at : NULL)
  switch (o->kind) {
  case BP_SGD: bp_optim_sgd_part(o, params, p, g, m); break;
  case BP_ADAM:
  case BP_ADAMW: {
    bp_upd_adam_k k;
    adam_k(o, &k);
    bp_upd_adam(m, &k, p, g, o->m + at, o->v + at, AT(o->w));
    break;
  }
  case BP_RMSPROP: {
    bp_upd_rmsprop_k k;
    rmsprop_k(o, &k);
    bp_upd_rmsprop(m, &k, p, g, o->v + at, AT(o->w), AT(o->m));
    break;
  }
  case BP_ADAGRAD:
    bp_upd_adagrad(m, (float)(o->lr / (1.0 + (double)o->steps * o->lr_decay)),
                   (float)o->weight_decay, (float)o->eps, p, g, o->v + at);
    break;
  case BP_RPROP: {
    bp_upd_rprop_k k;
    k.up = (float)o->etaplus;
    k.down = (float)o->etaminus;
    k.lo = (float)o->step_min;
    k.hi = (float)o->step_max;
    k.lr = (float)o->lr;   /* now, not at creation: it may have changed */
    k.first = o->steps == 0;
    bp_upd_rprop(m, &k, p, g, o->m + at, o->v + at);
    break;
  }
  }
#undef AT
}

static void part_apply(const bp_update *u, float *p, const float *g,
                       size_t m) {
  bp_optim_part(u->opt, u->params, p, g, m);
}

/* Every rule qualifies: each updates a parameter from its own gradient and
** state (and the step count, read at each call) alone. */
int bp_optim_update(const bp_optim *o, const float *params, bp_update *u) {
  u->apply = part_apply;
  u->opt = o;
  u->params = params;
  u->plain = o->kind == BP_SGD && o->m == NULL && o->weight_decay == 0.0;
  u->lr = (float)o->lr;
  return 1;
}

/* Over the pool: contiguous pieces of whole 64-byte lines, one per
** thread. Every rule is elementwise and computes an element the same way
** wherever a piece starts (update.h, small.h), so any thread count gives
** the same bits. Below these sizes a wake-up costs more than it saves.
** Measured with 2 threads (AVX-512): SGD with momentum gains 1.14x at
** 16k floats and 1.6x at 64k; the other rules, 2 to 5 times the work a
** float, gain 1.3x at 8k, 1.36 to 1.54x at 16k. */
#define MT_MIN_SGD ((size_t)1 << 16)
#define MT_MIN_OTHER ((size_t)1 << 14)

typedef struct part_job {
  const bp_optim *o;
  float *params;
  const float *grads;
} part_job;

static void part_task(void *arg, size_t t, size_t nt) {
  const part_job *J = arg;
  size_t n = J->o->n, lines = (n + 15) / 16, lo = lines * t / nt * 16,
         hi = lines * (t + 1) / nt * 16;
  if (hi > n) hi = n;
  if (lo < hi)
    bp_optim_part(J->o, J->params, J->params + lo, J->grads + lo, hi - lo);
}

void bp_optim_step_mt(bp_optim *o, struct bp_pool *pool, float *params,
                      const float *grads) {
  size_t nt = bp_pool_size(pool);
  size_t min = o->kind == BP_SGD ? MT_MIN_SGD : MT_MIN_OTHER;
  if (nt > 1 && o->n >= min) {
    part_job J;
    J.o = o;
    J.params = params;
    J.grads = grads;
    bp_pool_run(pool, nt, part_task, &J);
    o->steps++;
    return;
  }
  bp_optim_step(o, params, grads);
}

void bp_optim_step(bp_optim *o, float *params, const float *grads) {
  bp_optim_part(o, params, params, grads, o->n);
  o->steps++;
}
