/*
** lmodule.c: backprop.Module, the userdata behind every layer and network.
** bp.Linear(30, 16) is a network of one layer; bp.Sequential{...} builds a
** new network from its children's layers, with one parameter buffer. A lone
** layer draws its weights on first use, so a Sequential can pick each
** Linear's initialization from the activation after it; a layer that has
** already been used brings its weights along instead.
*/
#include <stdio.h>
#include <string.h>

#include "lbackprop.h"
#include "serialize.h"

typedef struct fnbuf {
  char s[64];
} fnbuf;

/* "backprop.Linear:forward" */
static const char *fname(const lmodule *m, const char *method, fnbuf *b) {
  snprintf(b->s, sizeof b->s, "backprop.%s:%s", m->name, method);
  return b->s;
}

static lmodule *checkself(lua_State *L, const char *method, fnbuf *b) {
  lmodule *m = luaL_testudata(L, 1, LBP_MODULE);
  if (m == NULL) {
    snprintf(b->s, sizeof b->s, "backprop.Module:%s", method);
    lbp_checkmodule(L, 1, b->s, "self");     /* raises the error */
  }
  fname(m, method, b);
  if (m->closed) lbp_error(L, b->s, "the module is closed");
  return m;
}

static lmodule *newmodule(lua_State *L, const char *name) {
  lmodule *m = lbp_newuserdata(L, sizeof *m);
  memset(m, 0, sizeof *m);
  m->name = name;
  luaL_setmetatable(L, LBP_MODULE);
  return m;
}

void lbp_ensure_init(lua_State *L, lmodule *m) {
  if (!m->initialized) {
    bp_net_reset(&m->net, lbp_rng(L));
    m->initialized = 1;
  }
}

/* --- constructors ---------------------------------------------------- */

static int make_layer(lua_State *L, const char *name, bp_kind kind, size_t in,
                      size_t out, float alpha) {
  bp_layer l;
  bp_error err;
  lmodule *m;
  char fn[64];
  snprintf(fn, sizeof fn, "backprop.%s", name);
  if (bp_layer_make(&l, kind, in, out, alpha, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  m = newmodule(L, name);
  if (bp_net_init(&m->net, &l, 1, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, m->net.nparams * 2 * sizeof(float));
  return 1;
}

static void no_args(lua_State *L, const char *fn) {
  if (lua_gettop(L) > 0)
    lbp_error(L, fn, "takes no arguments (it works on the last dimension of "
              "its input)");
}

static int l_linear(lua_State *L) {
  size_t in = lbp_checksize(L, 1, "backprop.Linear", "in_features");
  size_t out = lbp_checksize(L, 2, "backprop.Linear", "out_features");
  return make_layer(L, "Linear", BP_LINEAR, in, out, 0.0f);
}

#define ACTIVATION(fn, name, kind)                     \
  static int fn(lua_State *L) {                        \
    no_args(L, "backprop." name);                      \
    return make_layer(L, name, kind, 0, 0, 0.0f);      \
  }
ACTIVATION(l_sigmoid, "Sigmoid", BP_SIGMOID)
ACTIVATION(l_tanh, "Tanh", BP_TANH)
ACTIVATION(l_relu, "ReLU", BP_RELU)
ACTIVATION(l_softmax, "Softmax", BP_SOFTMAX)
ACTIVATION(l_log_softmax, "LogSoftmax", BP_LOG_SOFTMAX)

static int l_leaky_relu(lua_State *L) {
  double a = lua_isnoneornil(L, 1) ? 0.01
             : lbp_checkfinite(L, 1, "backprop.LeakyReLU", "negative_slope");
  return make_layer(L, "LeakyReLU", BP_LEAKY_RELU, 0, 0, (float)a);
}

/* bp.Sequential{a, b, c} or bp.Sequential(a, b, c) */
static int l_sequential(lua_State *L) {
  const char *fn = "backprop.Sequential";
  int list = lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TTABLE;
  int nchild = list ? (int)luaL_len(L, 1) : lua_gettop(L), i, k;
  size_t total = 0, width = 0, at = 0, from = 0;
  bp_layer *layers;
  bp_error err;
  lmodule *m;
  if (nchild == 0) lbp_error(L, fn, "needs at least one layer");
  if (list) {
    luaL_checkstack(L, nchild + 4, "too many layers");
    for (i = 1; i <= nchild; i++) lua_geti(L, 1, i);
    lua_remove(L, 1);
  }
  for (i = 1; i <= nchild; i++) {           /* check everything first */
    char what[32];
    lmodule *c;
    snprintf(what, sizeof what, "layer %d", i);
    c = lbp_checkmodule(L, i, fn, what);
    total += c->net.nlayers;
  }
  layers = lua_newuserdata(L, total * sizeof *layers);   /* freed by gc */
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    for (k = 0; k < (int)c->net.nlayers; k++, at++) {
      bp_layer *l = &layers[at];
      *l = c->net.layers[k];
      if (l->in != 0 && width != 0 && l->in != width)
        lbp_error(L, fn, "layer %lu (%s) expects %lu input features, but the "
                  "layer before it gives %lu", (unsigned long)at + 1,
                  bp_layer_class_of(l->kind)->name, (unsigned long)l->in,
                  (unsigned long)width);
      if (l->out != 0) width = l->out;
    }
  }
  m = newmodule(L, "Sequential");
  if (bp_net_init(&m->net, layers, total, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, m->net.nparams * 2 * sizeof(float));
  /* Weights: kept from children already used, drawn for the others. */
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    for (k = 0; k < (int)c->net.nlayers; k++, from++) {
      bp_layer *l = &m->net.layers[from];
      const bp_layer_class *cls = bp_layer_class_of(l->kind);
      int p;
      if (c->initialized) {
        for (p = 0; p < l->nparams; p++)
          memcpy(l->p[p].data, c->net.layers[k].p[p].data,
                 l->p[p].numel * sizeof(float));
      } else if (cls->reset != NULL) {
        cls->reset(l, from + 1 < total ? &m->net.layers[from + 1] : NULL,
                   lbp_rng(L));
      }
    }
  }
  m->initialized = 1;
  return 1;
}

static int l_load(lua_State *L) {
  const char *path;
  bp_error err;
  lmodule *m;
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, "backprop.load", "path must be a string, got %s",
              luaL_typename(L, 1));
  path = lua_tostring(L, 1);
  m = newmodule(L, "Sequential");
  if (bp_net_load(&m->net, path, &err) != BP_OK)
    lbp_error(L, "backprop.load", "%s", err.msg);
  m->initialized = 1;
  lbp_gc_report(L, m->net.nparams * 2 * sizeof(float));
  return 1;
}

/* --- passes ---------------------------------------------------------- */

/* Rows and features of an input (a 1-D tensor is one sample); check its
** values and that the network accepts its width. Returns output width. */
static size_t checkinput(lua_State *L, const char *fn, lmodule *m,
                         const bp_tensor *x, size_t *n, size_t *w) {
  lbp_shapebuf sb;
  bp_error err;
  size_t out;
  if (x->ndim > 2)
    lbp_error(L, fn, "expected input of shape N x features (or one sample "
              "as a vector), got %s", lbp_shape(x, &sb));
  *n = x->ndim == 2 ? x->shape[0] : 1;
  *w = x->ndim == 2 ? x->shape[1] : x->shape[0];
  if (bp_net_out_width(&m->net, *w, &out, &err) != BP_OK)
    lbp_error(L, fn, "%s (input shape %s)", err.msg, lbp_shape(x, &sb));
  lbp_checkvalues(L, x, fn, "input");
  return out;
}

/* net:forward(x [, out]) */
static int m_forward(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "forward", &b);
  ltensor *x = lbp_checktensor(L, 2, b.s, "input"), *y;
  size_t n, w, c, shape[2];
  int nd;
  bp_error err;
  c = checkinput(L, b.s, m, &x->t, &n, &w);
  nd = x->t.ndim;
  shape[0] = nd == 2 ? n : c;
  shape[1] = c;
  if (!lua_isnoneornil(L, 3)) {
    lbp_shapebuf s1, s2;
    bp_tensor want;
    y = lbp_checkouttensor(L, 3, b.s, "out");
    bp_tensor_view(&want, NULL, nd, shape);
    if (y->t.ndim != nd || memcmp(y->t.shape, shape, nd * sizeof *shape) != 0)
      lbp_error(L, b.s, "out has shape %s, expected %s", lbp_shape(&y->t, &s1),
                lbp_shape(&want, &s2));
    lua_settop(L, 3);
  } else {
    y = lbp_newtensor(L, nd, shape, b.s);
  }
  lbp_ensure_init(L, m);
  if (bp_net_forward(&m->net, x->t.data, n, w, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  memcpy(y->t.data, bp_net_output(&m->net), n * c * sizeof(float));
  return 1;
}

/* net:backward(dy): returns dL/dinput, a tensor the module reuses. */
static int m_backward(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "backward", &b);
  ltensor *dy = lbp_checktensor(L, 2, b.s, "gradient"), *dx;
  size_t n, w, shape[2];
  const float *g;
  bp_error err;
  lbp_shapebuf sb;
  if (dy->t.ndim > 2)
    lbp_error(L, b.s, "gradient must be 1-D or 2-D, got shape %s",
              lbp_shape(&dy->t, &sb));
  n = dy->t.ndim == 2 ? dy->t.shape[0] : 1;
  w = dy->t.ndim == 2 ? dy->t.shape[1] : dy->t.shape[0];
  lbp_checkvalues(L, &dy->t, b.s, "gradient");
  if (bp_net_backward(&m->net, dy->t.data, n, w, &g, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  /* Reuse the cached gradInput tensor when its shape still fits. */
  shape[0] = dy->t.ndim == 2 ? n : m->net.width[0];
  shape[1] = m->net.width[0];
  lbp_getuservalue(L, 1);
  dx = luaL_testudata(L, -1, LBP_TENSOR);
  if (dx == NULL || dx->closed || dx->t.ndim != dy->t.ndim ||
      memcmp(dx->t.shape, shape, dx->t.ndim * sizeof *shape) != 0) {
    dx = lbp_newtensor(L, dy->t.ndim, shape, b.s);
    lua_pushvalue(L, -1);
    lbp_setuservalue(L, 1);
  }
  memcpy(dx->t.data, g, dx->t.numel * sizeof(float));
  return 1;
}

static int m_zero_grad(lua_State *L) {
  fnbuf b;
  bp_net_zero_grad(&checkself(L, "zero_grad", &b)->net);
  return 0;
}

/* Two lists of views: each weight then its bias, and their gradients. */
static int m_parameters(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "parameters", &b);
  size_t i, n = 0;
  int p;
  lbp_ensure_init(L, m);
  lua_newtable(L);
  lua_newtable(L);
  for (i = 0; i < m->net.nlayers; i++) {
    const bp_layer *l = &m->net.layers[i];
    for (p = 0; p < l->nparams; p++) {
      n++;
      lbp_newview(L, 1, l->p[p].data, l->p[p].ndim, l->p[p].shape);
      lua_rawseti(L, -3, (lua_Integer)n);
      lbp_newview(L, 1, l->p[p].grad, l->p[p].ndim, l->p[p].shape);
      lua_rawseti(L, -2, (lua_Integer)n);
    }
  }
  m->views++;
  return 2;
}

static int m_num_parameters(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "num_parameters", &b);
  size_t i, n = 0;
  int p;
  for (i = 0; i < m->net.nlayers; i++)
    for (p = 0; p < m->net.layers[i].nparams; p++)
      n += m->net.layers[i].p[p].numel;
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* The optimizer at idx must have been made for the module at 1. */
static loptim *checkopt(lua_State *L, int idx, const char *fn) {
  loptim *o = lbp_checkoptim(L, idx, fn, "optimizer");
  lbp_getuservalue(L, idx);
  if (!lua_rawequal(L, -1, 1))
    lbp_error(L, fn, "the optimizer was made for another network");
  lua_pop(L, 1);
  return o;
}

/* The arguments train_step and fit share: input at 2, target at 3, loss
** at 4 and this network's optimizer at 5, checked against each other. */
typedef struct training {
  ltensor *x, *y;
  lloss *loss;
  loptim *opt;
  size_t n, width;
} training;

static void checktraining(lua_State *L, const char *fn, lmodule *m,
                          training *t) {
  size_t c;
  t->x = lbp_checktensor(L, 2, fn, "input");
  t->y = lbp_checktensor(L, 3, fn, "target");
  t->loss = lbp_checkloss(L, 4, fn, "loss");
  t->opt = checkopt(L, 5, fn);
  c = checkinput(L, fn, m, &t->x->t, &t->n, &t->width);
  lbp_checktarget(L, fn, t->loss->spec.kind, t->n, c, &t->y->t);
  lbp_ensure_init(L, m);
}

/* net:train_step(x, y, loss, opt): one update, one C call. */
static int m_train_step(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "train_step", &b);
  training t;
  double value;
  bp_error err;
  checktraining(L, b.s, m, &t);
  if (bp_train_step(&m->net, t.x->t.data, t.n, t.width, t.y->t.data,
                    &t.loss->spec, &t.opt->o, &value, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  lua_pushnumber(L, value);
  return 1;
}

/* net:_train_epoch(X, Y, loss, opt, batch_size, shuffle): the inner loop of
** fit, one epoch in C. Returns the mean loss. */
static int m_train_epoch(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "fit", &b);
  size_t bs = lbp_checksize(L, 6, b.s, "batch_size");
  int shuffle = lua_toboolean(L, 7);
  training t;
  double value;
  bp_error err;
  lbp_shapebuf sb;
  ltensor *x = lbp_checktensor(L, 2, b.s, "input");
  if (x->t.ndim != 2)
    lbp_error(L, b.s, "expected input of shape N x features, got %s",
              lbp_shape(&x->t, &sb));
  checktraining(L, b.s, m, &t);
  if (bp_train_epoch(&m->net, &m->epoch, t.x->t.data, t.n, t.width,
                     t.y->t.data, t.y->t.numel / t.n, &t.loss->spec, &t.opt->o,
                     bs, shuffle, lbp_rng(L), &value, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  lua_pushnumber(L, value);
  return 1;
}

static int m_save(lua_State *L) {
  fnbuf b;
  lmodule *m = checkself(L, "save", &b);
  const char *path;
  bp_error err;
  if (lua_type(L, 2) != LUA_TSTRING)
    lbp_error(L, b.s, "path must be a string, got %s", luaL_typename(L, 2));
  path = lua_tostring(L, 2);
  lbp_ensure_init(L, m);
  if (bp_net_save(&m->net, path, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  return 0;
}

/* --- metamethods ----------------------------------------------------- */

static int m_gc(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  bp_net_free(&m->net);
  bp_epoch_buf_free(&m->epoch);
  m->closed = 1;
  return 0;
}

static int m_close(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  if (m->views == 0) {
    bp_net_free(&m->net);
    bp_epoch_buf_free(&m->epoch);
  }
  m->closed = 1;
  return 0;
}

static int m_tostring(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  luaL_Buffer b;
  char line[128];
  size_t i;
  if (m->closed) {
    lua_pushfstring(L, "backprop.%s (closed)", m->name);
    return 1;
  }
  luaL_buffinit(L, &b);
  if (m->net.nlayers == 1 && strcmp(m->name, "Sequential") != 0)
    luaL_addstring(&b, "backprop.");
  else
    luaL_addstring(&b, "backprop.Sequential {\n");
  for (i = 0; i < m->net.nlayers; i++) {
    const bp_layer *l = &m->net.layers[i];
    const char *name = bp_layer_class_of(l->kind)->name;
    const char *indent = m->net.nlayers == 1 &&
                         strcmp(m->name, "Sequential") != 0 ? "" : "  ";
    if (l->kind == BP_LINEAR)
      snprintf(line, sizeof line, "%s%s(%lu -> %lu)", indent, name,
               (unsigned long)l->in, (unsigned long)l->out);
    else if (l->kind == BP_LEAKY_RELU)
      snprintf(line, sizeof line, "%s%s(%g)", indent, name, (double)l->alpha);
    else
      snprintf(line, sizeof line, "%s%s", indent, name);
    luaL_addstring(&b, line);
    if (*indent) luaL_addchar(&b, '\n');
  }
  if (!(m->net.nlayers == 1 && strcmp(m->name, "Sequential") != 0))
    luaL_addchar(&b, '}');
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg methods[] = {
  {"forward", m_forward}, {"backward", m_backward},
  {"zero_grad", m_zero_grad}, {"parameters", m_parameters},
  {"num_parameters", m_num_parameters}, {"train_step", m_train_step},
  {"_train_epoch", m_train_epoch}, {"save", m_save}, {"close", m_close},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", m_gc}, {"__close", m_close}, {"__tostring", m_tostring},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"Linear", l_linear}, {"Sigmoid", l_sigmoid}, {"Tanh", l_tanh},
  {"ReLU", l_relu}, {"LeakyReLU", l_leaky_relu}, {"Softmax", l_softmax},
  {"LogSoftmax", l_log_softmax}, {"Sequential", l_sequential},
  {"load", l_load},
  {NULL, NULL}
};

void lbp_open_module(lua_State *L) {
  /* module.Module is the method table: the Lua side adds fit to it. */
  lbp_newclass(L, LBP_MODULE, meta, methods, "Module", functions);
}
