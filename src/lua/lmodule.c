/*
** lmodule.c: backprop.Module, the userdata behind every layer and network.
** bp.Linear(30, 16) is a network of one layer; bp.Sequential{...} builds a
** new network from its children's layers, with one parameter buffer. A lone
** layer draws its weights on first use, so a Sequential can pick each
** Linear's initialization from the activation after it; a layer that has
** already been used brings its weights along instead. bp.Residual(m) is
** m's layers followed by a Residual layer (see net.h: containers are
** flattened, so there is one parameter buffer however deep the nesting).
** The layer constructors are in llayers.c, train_step and fit's trainer in
** ltrain.c.
*/
#include <stdio.h>
#include <string.h>

#include "io/serialize.h"
#include "lmodule.h"
#include "lstate.h"
#include "ltensor.h"

lmodule *lbp_checkmodule(lua_State *L, int idx, const char *fn,
                         const char *arg) {
  lmodule *m = lbp_checkudata(L, idx, LBP_MODULE, fn, arg);
  if (m->closed) lbp_error(L, fn, "%s is a closed module", arg);
  return m;
}

/* "backprop.Linear:forward" */
static const char *fname(const lmodule *m, const char *method, lbp_fname *b) {
  snprintf(b->s, sizeof b->s, "backprop.%s:%s", m->name, method);
  return b->s;
}

lmodule *lbp_modself(lua_State *L, const char *method, lbp_fname *b) {
  lmodule *m = luaL_testudata(L, 1, LBP_MODULE);
  if (m == NULL) {
    snprintf(b->s, sizeof b->s, "backprop.Module:%s", method);
    lbp_checkmodule(L, 1, b->s, "self");     /* raises the error */
  }
  fname(m, method, b);
  if (m->closed) lbp_error(L, b->s, "the module is closed");
  m->net.rng = lbp_rng(L);      /* Dropout draws from bp.manual_seed's */
  m->net.pool = lbp_pool(L);    /* bp.set_num_threads; NULL for one */
  return m;
}

static void report(lua_State *L, const lmodule *m) {
  lbp_gc_report(L, (m->net.nparams * 2 + m->net.nstate) * sizeof(float));
}

void lbp_ensure_init(lua_State *L, lmodule *m) {
  if (!m->initialized) {
    bp_net_reset(&m->net, lbp_rng(L));
    m->initialized = 1;
  }
}

/* --- containers ----------------------------------------------------- */

/* The size setting `name` of l (its class has it). */
static size_t size_setting(const bp_layer *l, const char *name) {
  const bp_setting *s = bp_setting_find(bp_layer_class_of(l->kind), name);
  return *(const size_t *)bp_setting_cptr(l, s);
}

/* The network of the children at stack 1..nchild (checked modules), plus
** a Residual over all of them when `residual`. Children already used bring
** their weights and state; the others get fresh ones, each layer's picked
** by the layer after it in the new network. */
static int assemble(lua_State *L, const char *fn, const char *name,
                    int nchild, int residual) {
  size_t total = residual ? 1 : 0, width = 0, at = 0, from = 0;
  bp_layer *layers;
  bp_error err;
  lmodule *m;
  int i, k, all = 1;
  for (i = 1; i <= nchild; i++)
    total += ((lmodule *)lua_touserdata(L, i))->net.nlayers;
  layers = lua_newuserdata(L, total * sizeof *layers);   /* freed by gc */
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    for (k = 0; k < (int)c->net.nlayers; k++, at++) {
      bp_layer *l = &layers[at];
      const bp_layer_class *cls = bp_layer_class_of(l->kind);
      *l = c->net.layers[k];
      cls = bp_layer_class_of(l->kind);
      /* Catch Linear size mismatches now, where the sizes are known. */
      if (l->kind == BP_LINEAR && width != 0 &&
          size_setting(l, "in_features") != width)
        lbp_error(L, fn, "layer %lu (%s) expects %lu input features, but the "
                  "layer before it gives %lu", (unsigned long)at + 1,
                  cls->name, (unsigned long)size_setting(l, "in_features"),
                  (unsigned long)width);
      if (l->kind == BP_LINEAR) width = size_setting(l, "out_features");
      else if (!cls->same_shape) width = 0;
    }
  }
  if (residual) {
    double span = (double)(total - 1);
    if (bp_layer_make(&layers[at], BP_RESIDUAL, &span, 1, &err) != BP_OK)
      lbp_error(L, fn, "%s", err.msg);
  }
  m = lbp_newmodule(L, name);
  if (bp_net_init(&m->net, layers, total, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  report(L, m);
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    for (k = 0; k < (int)c->net.nlayers; k++, from++) {
      bp_layer *l = &m->net.layers[from];
      const bp_layer *src = &c->net.layers[k];
      const bp_layer_class *cls = bp_layer_class_of(l->kind);
      int p;
      if (c->initialized) {
        for (p = 0; p < l->nparams; p++)
          memcpy(l->p[p].data, src->p[p].data, l->p[p].numel * sizeof(float));
        if (l->nstate)
          memcpy(l->state, src->state, l->nstate * sizeof(float));
      } else if (cls->reset != NULL && !residual) {
        cls->reset(l, from + 1 < total ? &m->net.layers[from + 1] : NULL,
                   lbp_rng(L));
      } else if (cls->reset != NULL) {
        all = 0;                          /* drawn on first use */
      }
    }
  }
  m->initialized = all;
  return 1;
}

/* bp.Sequential{a, b, c} or bp.Sequential(a, b, c) */
static int l_sequential(lua_State *L) {
  const char *fn = "backprop.Sequential";
  int list = lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TTABLE;
  int nchild = list ? (int)luaL_len(L, 1) : lua_gettop(L), i;
  if (nchild == 0) lbp_error(L, fn, "needs at least one layer");
  if (list) {
    luaL_checkstack(L, nchild + 4, "too many layers");
    for (i = 1; i <= nchild; i++) lua_geti(L, 1, i);
    lua_remove(L, 1);
  }
  for (i = 1; i <= nchild; i++) {           /* check everything first */
    char what[32];
    snprintf(what, sizeof what, "layer %d", i);
    lbp_checkmodule(L, i, fn, what);
  }
  return assemble(L, fn, "Sequential", nchild, 0);
}

/* bp.Residual(module): y = x + module(x). A Residual whose body has not
** been used draws its weights on first use, as a lone layer does (inside
** a Sequential, the Sequential draws them). */
static int l_residual(lua_State *L) {
  const char *fn = "backprop.Residual";
  lbp_checkmodule(L, 1, fn, "module");
  if (lua_gettop(L) > 1)
    lbp_error(L, fn, "takes one module (wrap several in a Sequential)");
  return assemble(L, fn, "Residual", 1, 1);
}

static int l_load(lua_State *L) {
  const char *path;
  bp_error err;
  lmodule *m;
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, "backprop.load", "path must be a string, got %s",
              luaL_typename(L, 1));
  path = lua_tostring(L, 1);
  m = lbp_newmodule(L, "Sequential");
  if (bp_net_load(&m->net, path, &err) != BP_OK)
    lbp_error(L, "backprop.load", "%s", err.msg);
  m->initialized = 1;
  report(L, m);
  return 1;
}

/* --- passes ---------------------------------------------------------- */

static void tobatch(lua_State *L, const char *fn, const char *what,
                    const bp_tensor *t, lbp_batch *b) {
  int i;
  if (t->ndim > BP_SAMPLE_DIMS + 1) {
    lbp_shapebuf sb;
    lbp_error(L, fn, "%s has %d dimensions, at most %d are supported (N x C "
              "x H x W), got shape %s", what, t->ndim, BP_SAMPLE_DIMS + 1,
              lbp_shape(t, &sb));
  }
  b->unbatched = t->ndim == 1;
  b->n = b->unbatched ? 1 : t->shape[0];
  b->s.ndim = b->unbatched ? 1 : t->ndim - 1;
  for (i = 0; i < b->s.ndim; i++) b->s.d[i] = t->shape[i + !b->unbatched];
}

/* The tensor shape of n samples of shape s (unbatched: s alone). */
static int fullshape(const lbp_batch *b, const bp_shape *s, size_t *shape) {
  int i, off = b->unbatched ? 0 : 1;
  if (off) shape[0] = b->n;
  for (i = 0; i < s->ndim; i++) shape[i + off] = s->d[i];
  return s->ndim + off;
}

/* See lmodule.h. */
void lbp_checkinput(lua_State *L, const char *fn, lmodule *m,
                    const bp_tensor *x, lbp_batch *b, bp_shape *out,
                    int values) {
  lbp_shapebuf sb;
  bp_error err;
  tobatch(L, fn, "input", x, b);
  if (bp_net_out_shape(&m->net, b->n, &b->s, out, &err) != BP_OK)
    lbp_error(L, fn, "%s (input shape %s)", err.msg, lbp_shape(x, &sb));
  if (values && x->dtype == BP_FLOAT32) lbp_checkvalues(L, x, fn, "input");
}

/* net:forward(tbl [, outtbl]): one sample as a plain table of numbers,
** the outputs into a table (outtbl, reused, or a new one). This is the
** path a game calls every frame, so it allocates nothing once warm: the
** staging row is kept, and the function name for messages is formatted
** only when an error is raised. */
#define CHUNK 16

static int forward_table(lua_State *L, lmodule *m) {
  lbp_fname b;
  bp_error err;
  bp_shape in;
  const bp_shape *os;
  const float *y;
  size_t i, w = (size_t)lua_rawlen(L, 2);
  int out = lua_type(L, 3), top = lua_gettop(L);
  if (out != LUA_TNONE && out != LUA_TNIL && out != LUA_TTABLE)
    lbp_error(L, fname(m, "forward", &b), "out must be a table when the "
              "input is a table, got %s", luaL_typename(L, 3));
  if (w == 0)
    lbp_error(L, fname(m, "forward", &b), "input is an empty table (expected "
              "a sequence of numbers)");
  if (w > m->row_cap) {
    float *row = bp_alloc(w);
    if (row == NULL) lbp_error(L, fname(m, "forward", &b), "out of memory");
    bp_free(m->row);
    m->row = row;
    m->row_cap = w;
  }
  /* Push a chunk of entries, read them, drop them with one settop (a pop
  ** per entry costs more than the read). LUA_MINSTACK slots are free. */
  for (i = 0; i < w; i += CHUNK) {
    size_t k, nk = w - i < CHUNK ? w - i : CHUNK;
    for (k = 0; k < nk; k++) lua_rawgeti(L, 2, (lua_Integer)(i + k) + 1);
    for (k = 0; k < nk; k++) {
      int isnum, idx = (int)(k - nk);
      lua_Number v = lua_tonumberx(L, idx, &isnum);
      if (!isnum)
        lbp_error(L, fname(m, "forward", &b), "input[%lu] must be a number, "
                  "got %s (a table input is one sample: a flat sequence of "
                  "numbers; batches go in a backprop.Tensor)",
                  (unsigned long)(i + k) + 1, luaL_typename(L, idx));
      if (v != v || v - v != 0)
        lbp_error(L, fname(m, "forward", &b), "input[%lu] must be finite, "
                  "got %s", (unsigned long)(i + k) + 1, lua_tostring(L, idx));
      m->row[i + k] = (float)v;
    }
    lua_settop(L, top);
  }
  in.ndim = 1;
  in.d[0] = w;
  lbp_ensure_init(L, m);
  if (bp_net_forward(&m->net, m->row, 1, &in, &err) != BP_OK)
    lbp_error(L, fname(m, "forward", &b), "%s (input: a table of %lu "
              "numbers)", err.msg, (unsigned long)w);
  os = &m->net.shape[m->net.nlayers];
  if (os->ndim != 1)
    lbp_error(L, fname(m, "forward", &b), "a table input needs a network "
              "whose output is one vector, got samples of %d dimensions",
              os->ndim);
  y = bp_net_output(&m->net);
  if (out == LUA_TTABLE) lua_settop(L, 3);
  else lua_createtable(L, (int)os->d[0], 0);
  for (i = 0; i < os->d[0]; i++) {
    lua_pushnumber(L, y[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* net:forward(x [, out]) */
static int m_forward(lua_State *L) {
  lbp_fname b;
  lmodule *m = luaL_testudata(L, 1, LBP_MODULE);
  ltensor *x, *y;
  size_t shape[BP_SAMPLE_DIMS + 1];
  bp_shape os;
  lbp_batch in;
  int nd;
  bp_error err;
  if (m != NULL && !m->closed && lua_type(L, 2) == LUA_TTABLE) {
    m->net.rng = m->rng;
    m->net.pool = m->pool != NULL ? *m->pool : NULL;
    return forward_table(L, m);
  }
  m = lbp_modself(L, "forward", &b);
  x = lbp_checktensor(L, 2, b.s, "input");
  lbp_checkinput(L, b.s, m, &x->t, &in, &os, 1);
  nd = fullshape(&in, &os, shape);
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
  if (bp_net_forward(&m->net, x->t.data, in.n, &in.s, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  memcpy(y->t.data, bp_net_output(&m->net), y->t.numel * sizeof(float));
  return 1;
}

/* net:backward(dy): returns dL/dinput, a tensor the module reuses. dy is
** batched or not, as the input was (one sample: the output shape alone). */
static int m_backward(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "backward", &b);
  ltensor *dy = lbp_checktensor(L, 2, b.s, "gradient"), *dx;
  size_t shape[BP_SAMPLE_DIMS + 1];
  const float *g;
  bp_error err;
  lbp_shapebuf sb;
  lbp_batch gb;
  int nd;
  if (m->net.batch > 0) {
    int d = m->net.shape[m->net.nlayers].ndim;
    if (dy->t.ndim != d && dy->t.ndim != d + 1)
      lbp_error(L, b.s, "gradient must be %d-D or %d-D, got shape %s", d,
                d + 1, lbp_shape(&dy->t, &sb));
    gb.unbatched = dy->t.ndim == d;
    gb.n = gb.unbatched ? 1 : dy->t.shape[0];
    gb.s.ndim = d;
    for (nd = 0; nd < d; nd++) gb.s.d[nd] = dy->t.shape[nd + !gb.unbatched];
  } else {
    tobatch(L, b.s, "gradient", &dy->t, &gb);
  }
  lbp_checkvalues(L, &dy->t, b.s, "gradient");
  if (bp_net_backward(&m->net, dy->t.data, gb.n, &gb.s, &g, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  /* Reuse the cached gradInput tensor when its shape still fits. */
  nd = fullshape(&gb, &m->net.shape[0], shape);
  lbp_getuservalue(L, 1);
  dx = luaL_testudata(L, -1, LBP_TENSOR);
  if (dx == NULL || dx->closed || dx->t.ndim != nd ||
      memcmp(dx->t.shape, shape, nd * sizeof *shape) != 0) {
    dx = lbp_newtensor(L, nd, shape, b.s);
    lua_pushvalue(L, -1);
    lbp_setuservalue(L, 1);
  }
  memcpy(dx->t.data, g, dx->t.numel * sizeof(float));
  return 1;
}

static int m_zero_grad(lua_State *L) {
  lbp_fname b;
  bp_net_zero_grad(&lbp_modself(L, "zero_grad", &b)->net);
  return 0;
}

/* Two lists of views: each weight then its bias, and their gradients. */
static int m_parameters(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "parameters", &b);
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
  lbp_fname b;
  lmodule *m = lbp_modself(L, "num_parameters", &b);
  size_t i, n = 0;
  int p;
  for (i = 0; i < m->net.nlayers; i++)
    for (p = 0; p < m->net.layers[i].nparams; p++)
      n += m->net.layers[i].p[p].numel;
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int m_save(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "save", &b);
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

static void release(lmodule *m) {
  bp_net_free(&m->net);
  bp_free(m->row);
  m->row = NULL;
  m->row_cap = 0;
}

static int m_gc(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  release(m);
  m->closed = 1;
  return 0;
}

static int m_close(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  if (m->views == 0) release(m);
  m->closed = 1;
  return 0;
}

/* net:train() / net:eval(): the mode of later passes (Dropout drops and
** BatchNorm uses batch statistics only in training mode, the default).
** Return self, as PyTorch, so `net:eval():forward(x)` reads well. */
static int m_train(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "train", &b);
  if (!lua_isnoneornil(L, 2) && !lua_isboolean(L, 2))
    lbp_error(L, b.s, "mode must be a boolean, got %s", luaL_typename(L, 2));
  m->net.training = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  lua_settop(L, 1);
  return 1;
}

static int m_eval(lua_State *L) {
  lbp_fname b;
  lbp_modself(L, "eval", &b)->net.training = 0;
  lua_settop(L, 1);
  return 1;
}

static int m_is_training(lua_State *L) {
  lbp_fname b;
  lua_pushboolean(L, lbp_modself(L, "is_training", &b)->net.training);
  return 1;
}

/* net:buffers(): views of the non-trainable state, layer by layer
** (BatchNorm: running mean, then running variance), as PyTorch's
** buffers(). Saved with the network; optimizers never touch them. */
static int m_buffers(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "buffers", &b);
  size_t i, n = 0;
  lbp_ensure_init(L, m);
  lua_newtable(L);
  for (i = 0; i < m->net.nlayers; i++) {
    const bp_layer *l = &m->net.layers[i];
    size_t half = l->nstate / 2, k;
    for (k = 0; k < 2 && half > 0; k++) {
      lbp_newview(L, 1, l->state + k * half, 1, &half);
      lua_rawseti(L, -2, (lua_Integer)++n);
    }
  }
  m->views++;
  return 1;
}

/* --- text ------------------------------------------------------------ */

static void indent(luaL_Buffer *b, int depth) {
  int i;
  for (i = 0; i < depth; i++) luaL_addstring(b, "  ");
}

/* Layers [from, to) of net, one a line, Residual bodies as nested blocks
** (a flattened Residual is its body followed by the Residual layer), the
** outermost `drop` levels of nesting left out (the caller's header shows
** them), inside a block of one indent. */
static void render(luaL_Buffer *b, const bp_net *net, size_t from, size_t to,
                   int drop) {
  size_t j;
  int k;
  char line[160];
  for (j = from; j < to; j++) {
    const bp_step *s = &net->step[j];
    int depth = 1 + s->depth - drop, opens = s->opens - (j == from ? drop : 0);
    for (k = 0; k < opens; k++) {       /* outermost first */
      indent(b, depth - opens + k);
      luaL_addstring(b, "Residual {\n");
    }
    indent(b, depth);
    if (s->span > 0) {
      luaL_addstring(b, "}\n");
      continue;
    }
    bp_layer_text(&net->layers[j], line, sizeof line);
    luaL_addstring(b, line);
    luaL_addchar(b, '\n');
  }
}

static int m_tostring(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  luaL_Buffer b;
  char line[160];
  size_t n = m->net.nlayers;
  if (m->closed) {
    lua_pushfstring(L, "backprop.%s (closed)", m->name);
    return 1;
  }
  luaL_buffinit(L, &b);
  if (n == 1 && strcmp(m->name, "Sequential") != 0) {
    bp_layer_text(&m->net.layers[0], line, sizeof line);
    luaL_addstring(&b, "backprop.");
    luaL_addstring(&b, line);
  } else if (strcmp(m->name, "Residual") == 0 &&
             m->net.step[n - 1].span == n - 1) {
    luaL_addstring(&b, "backprop.Residual {\n");
    render(&b, &m->net, 0, n - 1, 1);
    luaL_addchar(&b, '}');
  } else {
    luaL_addstring(&b, "backprop.Sequential {\n");
    render(&b, &m->net, 0, n, 0);
    luaL_addchar(&b, '}');
  }
  luaL_pushresult(&b);
  return 1;
}

/* The shape at idx: a table of sizes as forward would take a tensor
** ({64, 1, 28, 28}, or {784} for one sample). */
static void checkshape(lua_State *L, int idx, const char *fn, lbp_batch *bt) {
  size_t shape[BP_MAXDIM];
  bp_tensor t;
  int i, nd;
  if (lua_type(L, idx) != LUA_TTABLE)
    lbp_error(L, fn, "input_shape must be a table of sizes (like {64, 1, 28, "
              "28}), got %s", luaL_typename(L, idx));
  nd = (int)luaL_len(L, idx);
  if (nd < 1 || nd > BP_SAMPLE_DIMS + 1)
    lbp_error(L, fn, "input_shape must have 1 to %d sizes, got %d",
              BP_SAMPLE_DIMS + 1, nd);
  for (i = 0; i < nd; i++) {
    char what[32];
    snprintf(what, sizeof what, "input_shape[%d]", i + 1);
    lua_geti(L, idx, i + 1);
    shape[i] = lbp_checksize(L, -1, fn, what);
    lua_pop(L, 1);
  }
  bp_tensor_view(&t, NULL, nd, shape);
  tobatch(L, fn, "input_shape", &t, bt);
}

/* net:summary([input_shape]): each layer, its output shape and its
** parameter count, then the totals. Shapes come from input_shape, else
** from the last forward pass, else are shown as "?". Returns the text
** (print(net:summary()) shows it): a method that printed by itself would
** write into every program that only wants the string. */
static int m_summary(lua_State *L) {
  lbp_fname fb;
  lmodule *m = lbp_modself(L, "summary", &fb);
  const bp_net *net = &m->net;
  const bp_shape *shapes = NULL;
  luaL_Buffer b;
  char line[320], desc[160], shp[96];
  size_t i, n = 0, total = 0, state = 0;
  lbp_batch bt;
  if (!lua_isnoneornil(L, 2)) {
    bp_shape out;
    bp_error err;
    checkshape(L, 2, fb.s, &bt);
    if (bp_net_out_shape(&m->net, bt.n, &bt.s, &out, &err) != BP_OK)
      lbp_error(L, fb.s, "%s", err.msg);
    shapes = net->probe;
    n = bt.unbatched ? 0 : bt.n;
  } else if (net->batch > 0) {
    shapes = net->shape;
    n = net->batch;
  }
  luaL_buffinit(L, &b);
  if (shapes) bp_shape_fmt(n, &shapes[0], shp, sizeof shp);
  snprintf(line, sizeof line, "backprop.%s, input %s\n%-4s %-50s %-16s %s\n",
           m->name, shapes ? shp : "?", "#", "layer", "output shape",
           "parameters");
  luaL_addstring(&b, line);
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    const bp_step *s = &net->step[i];
    size_t np = 0;
    int k;
    for (k = 0; k < l->nparams; k++) np += l->p[k].numel;
    total += np;
    state += l->nstate;
    if (s->span > 0) {
      snprintf(desc, sizeof desc, "%*s+ %s (input of layer %lu)",
               2 * s->depth, "", s->cls->name,
               (unsigned long)(i - s->span + 1));
    } else {
      char d[140];
      bp_layer_text(l, d, sizeof d);
      snprintf(desc, sizeof desc, "%*s%s", 2 * s->depth, "", d);
    }
    if (shapes) bp_shape_fmt(n, &shapes[i + 1], shp, sizeof shp);
    snprintf(line, sizeof line, "%-4lu %-50s %-16s %lu\n",
             (unsigned long)i + 1, desc, shapes ? shp : "?",
             (unsigned long)np);
    luaL_addstring(&b, line);
  }
  snprintf(line, sizeof line, "total parameters: %lu", (unsigned long)total);
  luaL_addstring(&b, line);
  if (state > 0) {
    snprintf(line, sizeof line, "\nnon-trainable state values: %lu",
             (unsigned long)state);
    luaL_addstring(&b, line);
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg methods[] = {
  {"forward", m_forward}, {"backward", m_backward},
  {"zero_grad", m_zero_grad}, {"parameters", m_parameters},
  {"num_parameters", m_num_parameters}, {"save", m_save},
  {"close", m_close},
  {"train", m_train}, {"eval", m_eval}, {"is_training", m_is_training},
  {"buffers", m_buffers}, {"summary", m_summary},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", m_gc}, {"__close", m_close}, {"__tostring", m_tostring},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"Sequential", l_sequential}, {"Residual", l_residual}, {"load", l_load},
  {NULL, NULL}
};

void lbp_open_module(lua_State *L) {
  /* module.Module is the method table: the Lua side adds fit to it. */
  lbp_newclass(L, LBP_MODULE, meta, methods, "Module", functions);
  lbp_open_layers(L);
}
