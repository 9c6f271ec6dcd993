/*
** lcompose.c: networks made of modules. bp.Sequential{...} builds a new
** network from its children's layers, with one parameter buffer. A lone
** layer draws its weights on first use, so a Sequential can pick each
** Linear's initialization from the activation after it; a layer that has
** already been used brings its weights along instead. bp.Residual(m) is
** m's layers followed by a Residual layer (see net.h: containers are
** flattened, so there is one parameter buffer however deep the nesting).
** bp.load reads a network from a file.
*/
#include <stdio.h>
#include <string.h>

#include "io/serialize.h"
#include "lmodule.h"
#include "lstate.h"

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
  lbp_module_report(L, m);
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
  lbp_module_report(L, m);
  return 1;
}

static const luaL_Reg functions[] = {
  {"Sequential", l_sequential}, {"Residual", l_residual}, {"load", l_load},
  {NULL, NULL}
};

/* Into the module table on the top of the stack. */
void lbp_open_compose(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
}
