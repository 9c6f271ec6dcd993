/*
** llayers.c: the layer constructors, bp.Linear(30, 16) to bp.Embedding(
** 1000, 32). Each checks its arguments with messages naming them, fills a
** bp_layer and returns a one-layer network. Signatures follow PyTorch;
** sizes of two dims (kernel, stride, padding) are a number for both or a
** table {h, w}; optional settings come positionally or in an options table
** (unknown keys rejected).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lmodule.h"
#include "lstate.h"

lmodule *lbp_newmodule(lua_State *L, const char *name) {
  lmodule *m = lbp_newuserdata(L, sizeof *m);
  memset(m, 0, sizeof *m);
  m->name = name;
  m->rng = lbp_rng(L);
  m->pool = lbp_poolslot(L);
  luaL_setmetatable(L, LBP_MODULE);
  return m;
}

/* Check *l's settings and push a network of this one layer. */
static int make(lua_State *L, const char *fn, bp_layer *l) {
  bp_error err;
  lmodule *m;
  if (bp_layer_init(l, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  m = lbp_newmodule(L, bp_layer_class_of(l->kind)->name);
  if (bp_net_init(&m->net, l, 1, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, (m->net.nparams * 2 + m->net.nstate) * sizeof(float));
  return 1;
}

static void start(bp_layer *l, bp_kind kind) {
  memset(l, 0, sizeof *l);
  l->kind = kind;
}

/* An integer >= min at idx (min is 0 or 1). */
static size_t checkcount(lua_State *L, int idx, const char *fn,
                         const char *arg, size_t min) {
  lua_Number v;
  if (min >= 1) return lbp_checksize(L, idx, fn, arg);
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be a non-negative integer, got %s", arg,
              luaL_typename(L, idx));
  v = lua_tonumber(L, idx);
  if (!(v >= 0 && v <= 1e9 && v == floor(v)))
    lbp_error(L, fn, "%s must be a non-negative integer, got %s", arg,
              luaL_tolstring(L, idx, NULL));
  return (size_t)v;
}

/* A number (both dims) or {h, w}. */
static void checkpair(lua_State *L, int idx, const char *fn, const char *arg,
                      size_t min, size_t *h, size_t *w) {
  char name[48];
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    *h = *w = checkcount(L, idx, fn, arg, min);
    return;
  }
  if (luaL_len(L, idx) != 2)
    lbp_error(L, fn, "%s must be a number or a table {h, w}, got a table of "
              "%d values", arg, (int)luaL_len(L, idx));
  lua_geti(L, idx, 1);
  snprintf(name, sizeof name, "%s[1]", arg);
  *h = checkcount(L, -1, fn, name, min);
  lua_geti(L, idx, 2);
  snprintf(name, sizeof name, "%s[2]", arg);
  *w = checkcount(L, -1, fn, name, min);
  lua_pop(L, 2);
}

/* Whether idx holds an options table (string keys) rather than a pair. */
static int isoptions(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TTABLE && luaL_len(L, idx) == 0;
}

static const char *const STRIDE_PADDING[] = {"stride", "padding", NULL};

/* stride and padding: positional at idx, idx + 1, or options at idx. */
static void stride_padding(lua_State *L, int idx, const char *fn,
                           bp_layer *l) {
  if (isoptions(L, idx)) {
    lbp_checkoptions(L, idx, fn, STRIDE_PADDING);
    if (lua_getfield(L, idx, "stride") != LUA_TNIL)
      checkpair(L, -1, fn, "stride", 1, &l->sh, &l->sw);
    if (lua_getfield(L, idx, "padding") != LUA_TNIL)
      checkpair(L, -1, fn, "padding", 0, &l->ph, &l->pw);
    lua_pop(L, 2);
    return;
  }
  if (!lua_isnoneornil(L, idx)) checkpair(L, idx, fn, "stride", 1, &l->sh,
                                          &l->sw);
  if (!lua_isnoneornil(L, idx + 1))
    checkpair(L, idx + 1, fn, "padding", 0, &l->ph, &l->pw);
}

static void no_args(lua_State *L, const char *fn) {
  if (lua_gettop(L) > 0)
    lbp_error(L, fn, "takes no arguments (it works on the last dimension of "
              "its input)");
}

/* A float option: positional at idx, or field `key` of the options table
** at opts (0 for none); def when absent. */
static float optnumber(lua_State *L, int idx, const char *fn,
                       const char *key, float def) {
  double v;
  if (lua_isnoneornil(L, idx)) return def;
  v = lbp_checkfinite(L, idx, fn, key);
  return (float)v;
}

/* --- the foundation's layers ----------------------------------------- */

static int l_linear(lua_State *L) {
  bp_layer l;
  start(&l, BP_LINEAR);
  l.in = lbp_checksize(L, 1, "backprop.Linear", "in_features");
  l.out = lbp_checksize(L, 2, "backprop.Linear", "out_features");
  return make(L, "backprop.Linear", &l);
}

#define SIMPLE(fn, name, kind)                         \
  static int fn(lua_State *L) {                        \
    bp_layer l;                                        \
    no_args(L, "backprop." name);                      \
    start(&l, kind);                                   \
    return make(L, "backprop." name, &l);              \
  }
SIMPLE(l_sigmoid, "Sigmoid", BP_SIGMOID)
SIMPLE(l_tanh, "Tanh", BP_TANH)
SIMPLE(l_relu, "ReLU", BP_RELU)
SIMPLE(l_softmax, "Softmax", BP_SOFTMAX)
SIMPLE(l_log_softmax, "LogSoftmax", BP_LOG_SOFTMAX)
SIMPLE(l_gelu, "GELU", BP_GELU)
SIMPLE(l_silu, "SiLU", BP_SILU)
SIMPLE(l_identity, "Identity", BP_IDENTITY)

static int l_leaky_relu(lua_State *L) {
  bp_layer l;
  start(&l, BP_LEAKY_RELU);
  l.alpha = optnumber(L, 1, "backprop.LeakyReLU", "negative_slope", 0.01f);
  return make(L, "backprop.LeakyReLU", &l);
}

/* --- activations ----------------------------------------------------- */

static int l_elu(lua_State *L) {
  bp_layer l;
  start(&l, BP_ELU);
  l.alpha = optnumber(L, 1, "backprop.ELU", "alpha", 1.0f);
  return make(L, "backprop.ELU", &l);
}

static int l_softplus(lua_State *L) {
  const char *fn = "backprop.Softplus";
  bp_layer l;
  start(&l, BP_SOFTPLUS);
  l.alpha = optnumber(L, 1, fn, "beta", 1.0f);
  l.beta = optnumber(L, 2, fn, "threshold", 20.0f);
  if (!(l.alpha > 0.0f))
    lbp_error(L, fn, "beta must be positive, got %g", (double)l.alpha);
  return make(L, fn, &l);
}

/* --- convolution and pooling ----------------------------------------- */

/* bp.Conv2d(in, out, kernel [, stride [, padding]]) or
** bp.Conv2d(in, out, kernel, {stride = s, padding = p}) */
static int l_conv2d(lua_State *L) {
  const char *fn = "backprop.Conv2d";
  bp_layer l;
  start(&l, BP_CONV2D);
  l.in = lbp_checksize(L, 1, fn, "in_channels");
  l.out = lbp_checksize(L, 2, fn, "out_channels");
  checkpair(L, 3, fn, "kernel_size", 1, &l.kh, &l.kw);
  l.sh = l.sw = 1;
  stride_padding(L, 4, fn, &l);
  return make(L, fn, &l);
}

/* bp.MaxPool2d(kernel [, stride [, padding]]), stride defaulting to the
** kernel; or bp.MaxPool2d(kernel, {stride = s, padding = p}). */
static int pool(lua_State *L, const char *fn, bp_kind kind) {
  bp_layer l;
  start(&l, kind);
  checkpair(L, 1, fn, "kernel_size", 1, &l.kh, &l.kw);
  l.sh = l.kh;
  l.sw = l.kw;
  stride_padding(L, 2, fn, &l);
  if (2 * l.ph > l.kh || 2 * l.pw > l.kw)
    lbp_error(L, fn, "padding must be at most half the kernel size, got "
              "padding %lux%lu for kernel %lux%lu", (unsigned long)l.ph,
              (unsigned long)l.pw, (unsigned long)l.kh, (unsigned long)l.kw);
  return make(L, fn, &l);
}

static int l_maxpool2d(lua_State *L) {
  return pool(L, "backprop.MaxPool2d", BP_MAXPOOL2D);
}

static int l_avgpool2d(lua_State *L) {
  return pool(L, "backprop.AvgPool2d", BP_AVGPOOL2D);
}

static int l_flatten(lua_State *L) {
  bp_layer l;
  if (lua_gettop(L) > 0)
    lbp_error(L, "backprop.Flatten", "takes no arguments (it flattens each "
              "sample, keeping the batch dimension)");
  start(&l, BP_FLATTEN);
  return make(L, "backprop.Flatten", &l);
}

/* --- regularization and normalization -------------------------------- */

static int l_dropout(lua_State *L) {
  const char *fn = "backprop.Dropout";
  bp_layer l;
  start(&l, BP_DROPOUT);
  l.alpha = optnumber(L, 1, fn, "p", 0.5f);
  if (!(l.alpha >= 0.0f && l.alpha <= 1.0f))
    lbp_error(L, fn, "p must be between 0 and 1, got %g", lua_tonumber(L, 1));
  return make(L, fn, &l);
}

static const char *const BN_OPTIONS[] = {"eps", "momentum", NULL};

/* bp.BatchNorm1d(features [, eps [, momentum]]) or (features, {eps = ..,
** momentum = ..}) */
static int batchnorm(lua_State *L, const char *fn, bp_kind kind) {
  bp_layer l;
  start(&l, kind);
  l.in = lbp_checksize(L, 1, fn, "num_features");
  l.eps = 1e-5f;
  l.beta = 0.1f;
  if (isoptions(L, 2)) {
    lbp_checkoptions(L, 2, fn, BN_OPTIONS);
    lua_getfield(L, 2, "eps");
    l.eps = optnumber(L, -1, fn, "eps", l.eps);
    lua_getfield(L, 2, "momentum");
    l.beta = optnumber(L, -1, fn, "momentum", l.beta);
    lua_pop(L, 2);
  } else {
    l.eps = optnumber(L, 2, fn, "eps", l.eps);
    l.beta = optnumber(L, 3, fn, "momentum", l.beta);
  }
  if (!(l.eps > 0.0f))
    lbp_error(L, fn, "eps must be positive, got %g", (double)l.eps);
  if (!(l.beta >= 0.0f && l.beta <= 1.0f))
    lbp_error(L, fn, "momentum must be between 0 and 1, got %g",
              (double)l.beta);
  return make(L, fn, &l);
}

static int l_batchnorm1d(lua_State *L) {
  return batchnorm(L, "backprop.BatchNorm1d", BP_BATCHNORM1D);
}

static int l_batchnorm2d(lua_State *L) {
  return batchnorm(L, "backprop.BatchNorm2d", BP_BATCHNORM2D);
}

static const char *const LN_OPTIONS[] = {"eps", NULL};

static int l_layernorm(lua_State *L) {
  const char *fn = "backprop.LayerNorm";
  bp_layer l;
  start(&l, BP_LAYERNORM);
  l.in = lbp_checksize(L, 1, fn, "normalized_shape");
  l.eps = 1e-5f;
  if (isoptions(L, 2)) {
    lbp_checkoptions(L, 2, fn, LN_OPTIONS);
    lua_getfield(L, 2, "eps");
    l.eps = optnumber(L, -1, fn, "eps", l.eps);
    lua_pop(L, 1);
  } else {
    l.eps = optnumber(L, 2, fn, "eps", l.eps);
  }
  if (!(l.eps > 0.0f))
    lbp_error(L, fn, "eps must be positive, got %g", (double)l.eps);
  return make(L, fn, &l);
}

static int l_embedding(lua_State *L) {
  const char *fn = "backprop.Embedding";
  bp_layer l;
  start(&l, BP_EMBEDDING);
  l.in = lbp_checksize(L, 1, fn, "num_embeddings");
  l.out = lbp_checksize(L, 2, fn, "embedding_dim");
  if (l.in > ((size_t)1 << 24))
    lbp_error(L, fn, "num_embeddings must be at most 2^24 (ids are float32), "
              "got %lu", (unsigned long)l.in);
  return make(L, fn, &l);
}

/* --- descriptions ---------------------------------------------------- */

/* "3" or "3x2" */
static const char *pair(size_t a, size_t b, char *buf, size_t len) {
  if (a == b)
    snprintf(buf, len, "%lu", (unsigned long)a);
  else
    snprintf(buf, len, "%lux%lu", (unsigned long)a, (unsigned long)b);
  return buf;
}

void lbp_layer_desc(const bp_layer *l, char *buf, size_t len) {
  const char *name = bp_layer_class_of(l->kind)->name;
  char k[32], s[32], p[32];
  switch (l->kind) {
    case BP_LINEAR:
    case BP_CONV2D:
      if (l->kind == BP_LINEAR) {
        snprintf(buf, len, "%s(%lu -> %lu)", name, (unsigned long)l->in,
                 (unsigned long)l->out);
        break;
      }
      snprintf(buf, len, "%s(%lu -> %lu, kernel %s, stride %s, padding %s)",
               name, (unsigned long)l->in, (unsigned long)l->out,
               pair(l->kh, l->kw, k, sizeof k), pair(l->sh, l->sw, s, sizeof s),
               pair(l->ph, l->pw, p, sizeof p));
      break;
    case BP_MAXPOOL2D:
    case BP_AVGPOOL2D:
      snprintf(buf, len, "%s(kernel %s, stride %s, padding %s)", name,
               pair(l->kh, l->kw, k, sizeof k), pair(l->sh, l->sw, s, sizeof s),
               pair(l->ph, l->pw, p, sizeof p));
      break;
    case BP_LEAKY_RELU:
    case BP_ELU:
    case BP_DROPOUT:
      snprintf(buf, len, "%s(%g)", name, (double)l->alpha);
      break;
    case BP_SOFTPLUS:
      snprintf(buf, len, "%s(beta %g, threshold %g)", name, (double)l->alpha,
               (double)l->beta);
      break;
    case BP_BATCHNORM1D:
    case BP_BATCHNORM2D:
      snprintf(buf, len, "%s(%lu, eps %g, momentum %g)", name,
               (unsigned long)l->in, (double)l->eps, (double)l->beta);
      break;
    case BP_LAYERNORM:
      snprintf(buf, len, "%s(%lu, eps %g)", name, (unsigned long)l->in,
               (double)l->eps);
      break;
    case BP_EMBEDDING:
      snprintf(buf, len, "%s(%lu, %lu)", name, (unsigned long)l->in,
               (unsigned long)l->out);
      break;
    default:
      snprintf(buf, len, "%s", name);
  }
}

static const luaL_Reg functions[] = {
  {"Linear", l_linear}, {"Sigmoid", l_sigmoid}, {"Tanh", l_tanh},
  {"ReLU", l_relu}, {"LeakyReLU", l_leaky_relu}, {"Softmax", l_softmax},
  {"LogSoftmax", l_log_softmax}, {"GELU", l_gelu}, {"ELU", l_elu},
  {"SiLU", l_silu}, {"Softplus", l_softplus}, {"Identity", l_identity},
  {"Conv2d", l_conv2d}, {"MaxPool2d", l_maxpool2d},
  {"AvgPool2d", l_avgpool2d}, {"Flatten", l_flatten},
  {"Dropout", l_dropout}, {"BatchNorm1d", l_batchnorm1d},
  {"BatchNorm2d", l_batchnorm2d}, {"LayerNorm", l_layernorm},
  {"Embedding", l_embedding},
  {NULL, NULL}
};

void lbp_open_layers(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
}
