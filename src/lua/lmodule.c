/*
** lmodule.c: backprop.Module, the userdata behind every layer and network:
** what every method starts with (lbp_modself), parameters and buffers as
** views, modes, save, and the end of a module's life (__gc, __close). The
** rest of its methods, one job a file: lcompose.c (bp.Sequential,
** bp.Residual, bp.load, children), lpass.c (forward and backward),
** ltext.c (tostring, summary), ltrain.c (train_step, fit's trainer); the
** layer constructors are in llayers.c.
*/
#include <stdio.h>
#include <stdlib.h>
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

/* s + src into b->s at *at, cut to fit. */
static void append(lbp_fname *b, size_t *at, const char *src) {
  size_t n = strlen(src);
  if (n > sizeof b->s - 1 - *at) n = sizeof b->s - 1 - *at;
  memcpy(b->s + *at, src, n);
  *at += n;
}

/* "backprop.Linear:forward". Every method call makes one, so it is
** copied, not formatted (snprintf took 1000 instructions, a sixth of a
** per-sample train_step). */
const char *lbp_fname_of(const lmodule *m, const char *method,
                         lbp_fname *b) {
  size_t at = 0;
  append(b, &at, "backprop.");
  append(b, &at, m->name);
  append(b, &at, ":");
  append(b, &at, method);
  b->s[at] = '\0';
  return b->s;
}

lmodule *lbp_modself(lua_State *L, const char *method, lbp_fname *b) {
  lmodule *m = luaL_testudata(L, 1, LBP_MODULE);
  if (m == NULL) {
    snprintf(b->s, sizeof b->s, "backprop.Module:%s", method);
    lbp_checkmodule(L, 1, b->s, "self");     /* raises the error */
  }
  lbp_fname_of(m, method, b);
  if (m->closed) lbp_error(L, b->s, "the module is closed");
  m->net.rng = lbp_rng(L);      /* Dropout draws from bp.manual_seed's */
  m->net.pool = lbp_pool(L);    /* bp.set_num_threads; NULL for one */
  return m;
}

void lbp_module_report(lua_State *L, const lmodule *m) {
  lbp_gc_report(L, (m->net.nparams * 2 + m->net.nstate) * sizeof(float));
}

lmodule *lbp_module_root(lmodule *m) {
  while (m->parent != NULL) m = m->parent;
  return m;
}

void lbp_ensure_init(lua_State *L, lmodule *m) {
  m = lbp_module_root(m);
  if (!m->initialized) {
    bp_net_reset(&m->net, lbp_rng(L));
    m->initialized = 1;
  }
}

void lbp_module_links(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lbp_getuservalue(L, idx) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, -1);
  lbp_setuservalue(L, idx);
}

void lbp_module_addview(lua_State *L, int idx, int view) {
  view = lua_absindex(L, view);
  lbp_module_links(L, idx);
  if (lua_getfield(L, -1, "views") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);                    /* weak keys: views die freely */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "views");
  }
  lua_pushvalue(L, view);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 2);
}

/* A new view of the module at 1 into table -2 at n (into the list). */
static void newview(lua_State *L, float *data, int ndim, const size_t *shape,
                    lua_Integer n) {
  lbp_newview(L, 1, data, ndim, shape);
  lbp_module_addview(L, 1, -1);
  lua_rawseti(L, -2, n);
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
      lua_insert(L, -2);                /* the values' list on top */
      newview(L, l->p[p].data, l->p[p].ndim, l->p[p].shape, (lua_Integer)n);
      lua_insert(L, -2);
      newview(L, l->p[p].grad, l->p[p].ndim, l->p[p].shape, (lua_Integer)n);
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

static int section_order(const void *a, const void *b) {
  return strcmp(((const bp_section *)a)->name, ((const bp_section *)b)->name);
}

/* net:save(path [, sections]): sections, from the Lua face (predict.lua,
** checkpoint.lua), maps section names to their bytes (serialize.h). */
static int m_save(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "save", &b);
  bp_section sec[BP_MAX_SECTIONS];
  size_t ns = 0;
  const char *path;
  bp_error err;
  if (lua_type(L, 2) != LUA_TSTRING)
    lbp_error(L, b.s, "path must be a string, got %s", luaL_typename(L, 2));
  path = lua_tostring(L, 2);
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 3)) {       /* the strings stay in the table */
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
          ns == BP_MAX_SECTIONS)
        lbp_error(L, b.s, "sections must map at most %d names to strings",
                  BP_MAX_SECTIONS);
      sec[ns].name = lua_tostring(L, -2);
      sec[ns].data = (const unsigned char *)lua_tolstring(L, -1, &sec[ns].len);
      sec[ns++].required = 0;
      lua_pop(L, 1);
    }
    qsort(sec, ns, sizeof *sec, section_order);
  }
  lbp_ensure_init(L, m);
  if (bp_net_save_sections(&m->net, path, sec, ns, &err) != BP_OK)
    lbp_error(L, b.s, "%s", err.msg);
  return 0;
}

static void release(lmodule *m) {
  bp_net_free(&m->net);
  bp_free(m->row);
  free(m->bounds);
  m->row = NULL;
  m->row_cap = 0;
  m->bounds = NULL;
}

static int m_gc(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  release(m);
  m->closed = 1;
  return 0;
}

/* Whether children of the module at idx exist as Lua objects. */
static int has_children(lua_State *L, int idx) {
  int yes = 0;
  lbp_module_links(L, idx);
  if (lua_getfield(L, -1, "children") == LUA_TTABLE) {
    lua_pushnil(L);
    if (lua_next(L, -2)) {
      yes = 1;
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 2);
  return yes;
}

/* Close frees the module's memory at once unless views of its buffers
** or its children still use it (then the collector frees it after them):
** a closed container's children keep working, and closing a child
** leaves its container as it was. */
static int m_close(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  if (!m->closed && m->views == 0 && !has_children(L, 1)) release(m);
  m->closed = 1;
  return 0;
}

/* The mode of the module at idx and of its children, recursively. */
static void set_mode(lua_State *L, int idx, int training) {
  lmodule *m = lua_touserdata(L, idx);
  int k;
  m->net.training = training;
  if (m->nchildren == 0) return;       /* a layer: no links to follow */
  luaL_checkstack(L, 4, "too deep");
  lbp_module_links(L, idx);
  if (lua_getfield(L, -1, "children") == LUA_TTABLE)
    for (k = 1; k <= m->nchildren; k++) {
      if (lua_rawgeti(L, -1, k) == LUA_TUSERDATA)
        set_mode(L, lua_gettop(L), training);
      lua_pop(L, 1);
    }
  lua_pop(L, 2);
}

/* net:train() / net:eval(): the mode of later passes (Dropout drops and
** BatchNorm uses batch statistics only in training mode, the default),
** of the module and its children, as PyTorch's. Return self, as PyTorch,
** so `net:eval():forward(x)` reads well. */
static int m_train(lua_State *L) {
  lbp_fname b;
  lbp_modself(L, "train", &b);
  if (!lua_isnoneornil(L, 2) && !lua_isboolean(L, 2))
    lbp_error(L, b.s, "mode must be a boolean, got %s", luaL_typename(L, 2));
  set_mode(L, 1, lua_isnoneornil(L, 2) || lua_toboolean(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int m_eval(lua_State *L) {
  lbp_fname b;
  lbp_modself(L, "eval", &b);
  set_mode(L, 1, 0);
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
    for (k = 0; k < 2 && half > 0; k++)
      newview(L, l->state + k * half, 1, &half, (lua_Integer)++n);
  }
  m->views++;
  return 1;
}

static const luaL_Reg methods[] = {
  {"zero_grad", m_zero_grad}, {"parameters", m_parameters},
  {"num_parameters", m_num_parameters}, {"buffers", m_buffers},
  {"save", m_save}, {"close", m_close},
  {"train", m_train}, {"eval", m_eval}, {"is_training", m_is_training},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", m_gc}, {"__close", m_close}, {NULL, NULL}
};

static const luaL_Reg none[] = {{NULL, NULL}};

void lbp_module_methods(lua_State *L, const luaL_Reg *methods,
                        const luaL_Reg *meta) {
  luaL_getmetatable(L, LBP_MODULE);
  if (meta != NULL) luaL_setfuncs(L, meta, 0);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}

void lbp_open_module(lua_State *L) {
  /* module.Module is the method table: the Lua side adds fit to it. */
  lbp_newclass(L, LBP_MODULE, meta, methods, "Module", none);
  lbp_open_compose(L);
  lbp_open_passes(L);
  lbp_open_text(L);
  lbp_open_layers(L);
}
