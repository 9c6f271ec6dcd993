/*
** lcompose.c: networks made of modules, and their children.
**
** bp.Sequential{a, b} builds one network of its children's layers, with
** one parameter buffer (net.h: containers are flattened; bp.Residual(m) is
** m's layers followed by a Residual layer). The children are not copied
** and left behind: each becomes a view of the container, its own network
** moved onto the container's buffers (bp_net_share), where consecutive
** layers occupy one contiguous slice. So a child and its container are the
** same parameters, as Torch's modules inside a container are the same
** objects: training either changes what both compute, saving a child
** saves the trained weights, an optimizer made for a child before keeps
** stepping the same values, and the views of a child's buffers taken
** before (parameters(), buffers(), and views of those) are moved with them.
** Moving is recursive: a container put into another takes its children
** along. A module can be in one container only.
**
** A lone layer draws its weights on first use, so a Sequential can pick
** each Linear's initialization from the activation after it; a module
** that has already been used brings its weights along instead. A child's
** weights are its root's: drawing them draws the root's (lbp_ensure_init).
**
** net:get(i) and #net give the children: the modules a container was
** built from, or, for a network from bp.load (and for children made that
** way), its top-level layers and Residual blocks, made on first use.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/serialize.h"
#include "lmodule.h"
#include "lsave.h"
#include "lstate.h"
#include "ltensor.h"

/* --- moving a module onto a container's buffers ------------------------ */

/* Where p lands when the n floats at from move to to (p unchanged when it
** is not among them). */
static float *moved(float *p, const float *from, size_t n, float *to) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)from;
  if (p == NULL || from == NULL || a < lo || a >= lo + n * sizeof *from)
    return p;
  return to + (p - from);
}

/* Point the module at idx, its children and every view of its buffers at
** params, grads and state, the new homes of its buffers (freeing its own:
** the caller has copied the values). A module closed and released has no
** network and no views left to move. */
static void move(lua_State *L, int idx, float *params, float *grads,
                 float *state) {
  lmodule *m = lua_touserdata(L, idx);
  bp_net *net = &m->net;
  int k, links;
  if (net->nlayers == 0) return;
  luaL_checkstack(L, 6, "containers nested too deep");
  lbp_module_links(L, idx);
  links = lua_gettop(L);
  if (lua_getfield(L, links, "views") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      ltensor *t = lua_touserdata(L, -2);
      float *d = moved(t->t.data, net->params, net->nparams, params);
      d = moved(d, net->grads, net->nparams, grads);
      t->t.data = moved(d, net->state, net->nstate, state);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  bp_net_share(net, params, grads, state);
  if (lua_getfield(L, links, "children") == LUA_TTABLE)
    for (k = 1; k <= m->nchildren; k++) {
      if (lua_rawgeti(L, -1, k) == LUA_TUSERDATA) {
        const bp_step *s = &net->step[((lmodule *)lua_touserdata(L, -1))->first];
        move(L, lua_gettop(L), params + s->poff, grads + s->poff,
             state + s->soff);
      }
      lua_pop(L, 1);
    }
  lua_pop(L, 2);
}

/* Link the module at child as the k-th child of the one at parent (the
** Lua side: the parent keeps its children, a child keeps the buffers it
** uses alive); the caller sets its parent and first once it has moved. */
static void adopt(lua_State *L, int parent, int child, int k) {
  lmodule *p = lua_touserdata(L, parent);
  child = lua_absindex(L, child);
  lbp_module_links(L, child);
  lua_pushvalue(L, parent);
  lua_setfield(L, -2, "parent");        /* keeps the buffers alive */
  lbp_module_links(L, parent);
  if (lua_getfield(L, -1, "children") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, p->nchildren, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "children");
  }
  lua_pushvalue(L, child);
  lua_rawseti(L, -2, k);
  lua_pop(L, 3);
}

/* --- children ----------------------------------------------------------- */

/* m->bounds for n children; fails only when out of memory. */
static int set_bounds(lmodule *m, int n) {
  m->bounds = bp_malloc((size_t)(n + 1) * sizeof *m->bounds);
  m->nchildren = m->bounds != NULL ? n : 0;
  return m->bounds != NULL;
}

/* The children of a network not built from modules (bp.load's, or a child
** made by get): a Residual's body is its one child; a lone layer has none;
** otherwise each top-level layer or Residual block is one. */
static int derive_children(lmodule *m) {
  const bp_net *net = &m->net;
  size_t i, n = net->nlayers, r;
  int count = 0, pass;
  if (strcmp(m->name, "Residual") == 0) {
    if (!set_bounds(m, 1)) return 0;
    m->bounds[0] = 0;
    m->bounds[1] = n - 1;
    return 1;
  }
  if (strcmp(m->name, "Sequential") != 0) return 1;    /* a lone layer */
  for (pass = 0; pass < 2; pass++) {     /* count, then fill */
    if (pass == 1 && !set_bounds(m, count)) return 0;
    count = 0;
    for (i = 0; i < n; i = r + 1) {
      /* A top-level layer is in no body but those it starts; a block
      ** ends at the first top-level layer with a span. */
      r = i;
      if (net->step[i].opens > 0 && net->step[i].depth == net->step[i].opens)
        while (!(net->step[r].span > 0 && net->step[r].depth == 0)) r++;
      if (pass == 1) m->bounds[count] = i;
      count++;
    }
    if (pass == 1) m->bounds[count] = n;
  }
  return 1;
}

/* The name of a view of layers [a, b) of net: its class, or a container. */
static const char *view_name(const bp_net *net, size_t a, size_t b) {
  if (b - a == 1) return net->step[a].cls->name;
  return net->step[b - 1].span == b - a - 1 ? "Residual" : "Sequential";
}

/* Push child k of the module at idx, making it on first use. */
static void push_child(lua_State *L, int idx, int k, const char *fn) {
  lmodule *m = lua_touserdata(L, idx), *v;
  size_t a, b;
  const bp_step *s;
  bp_error err;
  idx = lua_absindex(L, idx);
  lbp_module_links(L, idx);                       /* links */
  if (lua_getfield(L, -1, "children") == LUA_TTABLE) {
    if (lua_rawgeti(L, -1, k) == LUA_TUSERDATA) {  /* links children c */
      lua_replace(L, -3);
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  a = m->bounds[k - 1];
  b = m->bounds[k];
  s = &m->net.step[a];
  v = lbp_newmodule(L, view_name(&m->net, a, b));
  if (bp_net_init_shared(&v->net, m->net.layers + a, b - a,
                         m->net.params + s->poff, m->net.grads + s->poff,
                         m->net.state + s->soff, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  v->net.training = m->net.training;
  v->initialized = 1;                   /* its root's weights decide */
  if (!derive_children(v)) lbp_error(L, fn, "out of memory");
  adopt(L, idx, -1, k);
  v->parent = m;
  v->first = a;
}

/* net:get(i): the i-th child, 1-based. */
static int m_get(lua_State *L) {
  lbp_fname b;
  lmodule *m = lbp_modself(L, "get", &b);
  lua_Integer i;
  if (m->nchildren == 0)
    lbp_error(L, b.s, "a %s has no children (it is a single layer)", m->name);
  if (!lua_isinteger(L, 2))
    lbp_error(L, b.s, "index must be an integer, got %s",
              lua_type(L, 2) == LUA_TNUMBER ? lua_tostring(L, 2)
                                            : luaL_typename(L, 2));
  i = lua_tointeger(L, 2);
  if (i < 1 || i > m->nchildren)
    lbp_error(L, b.s, "index %d is out of range 1..%d", (int)i, m->nchildren);
  push_child(L, 1, (int)i, b.s);
  return 1;
}

/* #net: the number of children (0 for a single layer). */
static int m_len(lua_State *L) {
  lmodule *m = luaL_checkudata(L, 1, LBP_MODULE);
  lua_pushinteger(L, m->closed ? 0 : m->nchildren);
  return 1;
}

/* --- containers --------------------------------------------------------- */

/* The size setting `name` of l (its class has it). */
static size_t size_setting(const bp_layer *l, const char *name) {
  const bp_setting *s = bp_setting_find(bp_layer_class_of(l->kind), name);
  return *(const size_t *)bp_setting_cptr(l, s);
}

/* "layer 2" or "module", for messages about the child at i. */
static const char *what(int residual, int i, char *buf, size_t len) {
  if (residual) snprintf(buf, len, "module");
  else snprintf(buf, len, "layer %d", i);
  return buf;
}

/* The children at 1..nchild must be modules that are in no container yet,
** each once. */
static void check_children(lua_State *L, const char *fn, int nchild,
                           int residual) {
  char w[32];
  int i, j;
  for (i = 1; i <= nchild; i++) lbp_checkmodule(L, i, fn,
                                                what(residual, i, w, sizeof w));
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    if (c->parent != NULL)
      lbp_error(L, fn, "%s (%s) is already part of a %s: a module can be in "
                "one container (make another, or put that %s in instead)",
                what(residual, i, w, sizeof w), c->name, c->parent->name,
                c->parent->name);
    for (j = 1; j < i; j++)
      if (lua_rawequal(L, i, j))
        lbp_error(L, fn, "layer %d is layer %d again: a module can be in one "
                  "container once", i, j);
  }
}

/* The layers of the children at 1..nchild, plus a Residual over all of
** them when `residual`, in a block that lives on the stack. */
static bp_layer *gather(lua_State *L, const char *fn, int nchild,
                        int residual, size_t *total) {
  size_t n = residual ? 1 : 0, width = 0, at = 0;
  bp_layer *layers;
  bp_error err;
  int i, k;
  for (i = 1; i <= nchild; i++)
    n += ((lmodule *)lua_touserdata(L, i))->net.nlayers;
  layers = lua_newuserdata(L, n * sizeof *layers);   /* freed by gc */
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    for (k = 0; k < (int)c->net.nlayers; k++, at++) {
      bp_layer *l = &layers[at];
      const bp_layer_class *cls = bp_layer_class_of(c->net.layers[k].kind);
      *l = c->net.layers[k];
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
    double span = (double)(n - 1);
    if (bp_layer_make(&layers[at], BP_RESIDUAL, &span, 1, &err) != BP_OK)
      lbp_error(L, fn, "%s", err.msg);
  }
  *total = n;
  return layers;
}

/* The container of the children at stack 1..nchild (see the top). Every
** check and allocation comes first; then each child's values go into the
** container (or, never used, are drawn there, each layer's picked by the
** layer after it; inside a Residual, on first use) and the child moves. */
static int assemble(lua_State *L, const char *fn, const char *name,
                    int nchild, int residual) {
  size_t total, at = 0, j;
  bp_layer *layers;
  bp_error err;
  lmodule *m;
  int i, top, all = 1;
  check_children(L, fn, nchild, residual);
  layers = gather(L, fn, nchild, residual, &total);
  m = lbp_newmodule(L, name);
  top = lua_gettop(L);
  if (bp_net_init(&m->net, layers, total, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  if (!set_bounds(m, nchild)) lbp_error(L, fn, "out of memory");
  lbp_module_report(L, m);
  for (i = 1; i <= nchild; i++) {
    m->bounds[i - 1] = at;
    adopt(L, top, i, i);
    at += ((lmodule *)lua_touserdata(L, i))->net.nlayers;
  }
  m->bounds[nchild] = at;
  for (i = 1; i <= nchild; i++) {
    lmodule *c = lua_touserdata(L, i);
    const bp_step *s = &m->net.step[m->bounds[i - 1]];
    float *p = m->net.params + s->poff, *g = m->net.grads + s->poff;
    float *st = m->net.state + s->soff;
    if (c->initialized) {
      memcpy(p, c->net.params, c->net.nparams * sizeof *p);
      memcpy(st, c->net.state, c->net.nstate * sizeof *st);
    } else {
      for (j = m->bounds[i - 1]; j < m->bounds[i]; j++) {
        const bp_layer_class *cls = m->net.step[j].cls;
        if (cls->reset == NULL) continue;
        if (residual) all = 0;          /* drawn on first use */
        else cls->reset(&m->net.layers[j],
                        j + 1 < total ? &m->net.layers[j + 1] : NULL,
                        lbp_rng(L));
      }
    }
    move(L, i, p, g, st);
    c->parent = m;
    c->first = m->bounds[i - 1];
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
    luaL_checkstack(L, nchild + 8, "too many layers");
    for (i = 1; i <= nchild; i++) lua_geti(L, 1, i);
    lua_remove(L, 1);
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

/* bp.load(path): the network, and a table of the sections it knows
** (lsave.h) that the file has, as strings, for the Lua face to decode
** (nil when none). */
static int l_load(lua_State *L) {
  static const char *const names[LBP_NSECTIONS] = LBP_SECTIONS;
  bp_section known[LBP_NSECTIONS];
  unsigned char **file;
  const char *path;
  bp_error err;
  lmodule *m;
  int k, found = 0;
  if (lua_type(L, 1) != LUA_TSTRING)
    lbp_error(L, "backprop.load", "path must be a string, got %s",
              luaL_typename(L, 1));
  path = lua_tostring(L, 1);
  for (k = 0; k < LBP_NSECTIONS; k++) known[k].name = names[k];
  file = lbp_bytesbox(L);            /* the sections point into it */
  m = lbp_newmodule(L, "Sequential");
  if (bp_net_load_sections(&m->net, path, known, LBP_NSECTIONS, file,
                           &err) != BP_OK)
    lbp_error(L, "backprop.load", "%s", err.msg);
  for (k = 0; k < LBP_NSECTIONS; k++) found |= known[k].data != NULL;
  if (found) lua_createtable(L, 0, LBP_NSECTIONS);
  else lua_pushnil(L);
  for (k = 0; k < LBP_NSECTIONS && found; k++) {
    if (known[k].data == NULL) continue;
    lua_pushlstring(L, (const char *)known[k].data, known[k].len);
    lua_setfield(L, -2, names[k]);
  }
  free(*file);
  *file = NULL;
  if (!derive_children(m)) lbp_error(L, "backprop.load", "out of memory");
  m->initialized = 1;
  lbp_module_report(L, m);
  return 2;
}

static const luaL_Reg methods[] = {{"get", m_get}, {NULL, NULL}};
static const luaL_Reg meta[] = {{"__len", m_len}, {NULL, NULL}};
static const luaL_Reg functions[] = {
  {"Sequential", l_sequential}, {"Residual", l_residual}, {"load", l_load},
  {NULL, NULL}
};

/* Into the module table on the top of the stack, and the Module class. */
void lbp_open_compose(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  lbp_module_methods(L, methods, meta);
}
