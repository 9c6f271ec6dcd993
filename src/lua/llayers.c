/*
** llayers.c: the layer constructors, bp.Linear(30, 16) to bp.Embedding(
** 1000, 32): one function for every class of the registry (nn/layer.h),
** driven by its schema, as loptim.c builds optimizers from its FIELDS.
** Arguments follow the schema's order, required settings first:
**
**   bp.Conv2d(1, 32, 3, 1, 1)                   positionally
**   bp.Conv2d(1, 32, 3, {stride = 1, padding = 1})
**                                               optional ones by name, in
**                                               a table that comes last
**
** A size of two dims (kernel, stride, padding) is a number for both or a
** table {h, w}. Here arguments are only converted (a size must be a
** non-negative integer, a float a number); their bounds are checked once,
** by the core (bp_layer_init), whose message this prefixes with the
** function's name. A layer with a span (Residual) is made by composition
** (lcompose.c), not here.
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

/* A size at idx: an integer from 0 to BP_SIZE_LIMIT ("positive" in the
** message when the setting's bounds start at 1). */
static size_t checkcount(lua_State *L, int idx, const char *fn,
                         const char *arg, const bp_setting *s) {
  const char *what = (s->bounds & BP_MIN) && s->min >= 1 ? "a positive"
                                                          : "a non-negative";
  lua_Number v;
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "%s must be %s integer, got %s", arg, what,
              luaL_typename(L, idx));
  v = lua_tonumber(L, idx);
  if (v > (lua_Number)BP_SIZE_LIMIT)
    lbp_error(L, fn, "%s must be at most %lu, got %s", arg,
              (unsigned long)BP_SIZE_LIMIT, luaL_tolstring(L, idx, NULL));
  if (!(v >= 0 && v == floor(v)))
    lbp_error(L, fn, "%s must be %s integer, got %s", arg, what,
              luaL_tolstring(L, idx, NULL));
  return (size_t)v;
}

/* The value at idx into setting s of l. */
static void convert(lua_State *L, int idx, const char *fn, bp_layer *l,
                    const bp_setting *s) {
  void *p = bp_setting_ptr(l, s);
  size_t *z = p;
  char name[64];
  int i;
  idx = lua_absindex(L, idx);
  if (s->type == BP_FLOAT) {
    if (lua_type(L, idx) != LUA_TNUMBER)
      lbp_error(L, fn, "%s must be a number, got %s", s->name,
                luaL_typename(L, idx));
    *(float *)p = (float)lua_tonumber(L, idx);
  } else if (s->type == BP_SIZE || lua_type(L, idx) != LUA_TTABLE) {
    z[0] = checkcount(L, idx, fn, s->name, s);
    if (s->type == BP_PAIR) z[1] = z[0];
  } else {
    if (luaL_len(L, idx) != 2)
      lbp_error(L, fn, "%s must be a number or a table {h, w}, got a table "
                "of %d values", s->name, (int)luaL_len(L, idx));
    for (i = 0; i < 2; i++) {
      lua_geti(L, idx, i + 1);
      snprintf(name, sizeof name, "%s[%d]", s->name, i + 1);
      z[i] = checkcount(L, -1, fn, name, s);
      lua_pop(L, 1);
    }
  }
}

/* The optional settings named in the options table at idx. */
static unsigned long options(lua_State *L, int idx, const char *fn,
                             bp_layer *l, const bp_layer_class *c, int first) {
  const char *keys[33];
  unsigned long given = 0;
  int k, n = 0;
  for (k = first; k < c->nsettings && n < 32; k++)
    keys[n++] = c->settings[k].name;
  keys[n] = NULL;
  lbp_checkoptions(L, idx, fn, keys);
  for (k = first; k < c->nsettings; k++) {
    if (lua_getfield(L, idx, c->settings[k].name) != LUA_TNIL) {
      convert(L, -1, fn, l, &c->settings[k]);
      given |= 1ul << k;
    }
    lua_pop(L, 1);
  }
  return given;
}

/* bp.<Name>(...): the layer of the kind in upvalue 1, as a network of
** that one layer. */
static int construct(lua_State *L) {
  bp_kind kind = (bp_kind)lua_tointeger(L, lua_upvalueindex(1));
  const bp_layer_class *c = bp_layer_class_of(kind);
  unsigned long given = 0;
  int top = lua_gettop(L), nreq = 0, k, opts = 0;
  char fn[64];
  bp_layer l;
  bp_error err;
  lmodule *m;
  snprintf(fn, sizeof fn, "backprop.%s", c->name);
  while (top > 0 && lua_isnil(L, top)) top--;     /* f(a, nil) is f(a) */
  lua_settop(L, top);
  while (nreq < c->nsettings && c->settings[nreq].required) nreq++;
  /* An options table in place of the first optional argument. */
  if (top == nreq + 1 && nreq < c->nsettings && lua_istable(L, top) &&
      luaL_len(L, top) == 0)
    opts = top;
  if (top > c->nsettings && c->nsettings == 0)
    lbp_error(L, fn, "takes no arguments, got %d", top);
  if (top > c->nsettings)
    lbp_error(L, fn, "takes at most %d argument%s, got %d", c->nsettings,
              c->nsettings == 1 ? "" : "s", top);
  if (bp_layer_start(&l, kind, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  for (k = 0; k < c->nsettings && k + 1 != opts; k++)
    if (k < nreq || !lua_isnoneornil(L, k + 1)) {
      convert(L, k + 1, fn, &l, &c->settings[k]);
      given |= 1ul << k;
    }
  if (opts) given |= options(L, opts, fn, &l, c, nreq);
  if (bp_layer_defaults(&l, given, &err) != BP_OK ||
      bp_layer_init(&l, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  m = lbp_newmodule(L, c->name);
  if (bp_net_init(&m->net, &l, 1, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, (m->net.nparams * 2 + m->net.nstate) * sizeof(float));
  return 1;
}

void lbp_open_layers(lua_State *L) {
  int kind;
  for (kind = 1; kind < BP_NKINDS; kind++) {
    const bp_layer_class *c = bp_layer_class_of((bp_kind)kind);
    if (c == NULL)
      luaL_error(L, "backprop: layer kind %d has no class (nn/registry.c)",
                 kind);
    if (c->span != NULL) continue;
    lua_pushinteger(L, kind);
    lua_pushcclosure(L, construct, 1);
    lua_setfield(L, -2, c->name);
  }
}
