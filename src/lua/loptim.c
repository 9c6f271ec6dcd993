/*
** loptim.c: backprop.Optimizer (SGD, Adam) over one network's buffers.
** The optimizer's user value is its network, which keeps the network alive
** and lets train_step check that the two belong together. Options come as
** a table; unknown keys are errors. opt.lr can be read and set between
** steps (learning-rate schedules); the rest is fixed at creation.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lbackprop.h"

static const char *const SGD_KEYS[] = {"lr", "momentum", "dampening",
                                       "weight_decay", "nesterov", NULL};
static const char *const ADAM_KEYS[] = {"lr", "betas", "eps", "weight_decay",
                                        NULL};

/* options.key as a finite number, or def when absent */
static double number(lua_State *L, int opts, const char *key, double def,
                     const char *fn) {
  double v = def;
  lua_getfield(L, opts, key);
  if (!lua_isnil(L, -1)) v = lbp_checkfinite(L, -1, fn, key);
  lua_pop(L, 1);
  return v;
}

static int make(lua_State *L, const char *name, bp_optim_kind kind) {
  char fn[64];
  lmodule *m;
  loptim *o;
  bp_optim cfg;
  bp_error err;
  snprintf(fn, sizeof fn, "backprop.%s", name);
  m = lbp_checkmodule(L, 1, fn, "network");
  if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TTABLE)
    lbp_error(L, fn, "options must be a table, got %s", luaL_typename(L, 2));
  lua_settop(L, 2);
  if (lua_isnil(L, 2)) {
    lua_newtable(L);
    lua_replace(L, 2);
  }
  lbp_checkoptions(L, 2, fn, kind == BP_SGD ? SGD_KEYS : ADAM_KEYS);
  bp_optim_defaults(&cfg, kind);
  cfg.lr = number(L, 2, "lr", cfg.lr, fn);
  cfg.weight_decay = number(L, 2, "weight_decay", 0.0, fn);
  if (kind == BP_SGD) {
    cfg.momentum = number(L, 2, "momentum", 0.0, fn);
    cfg.dampening = number(L, 2, "dampening", 0.0, fn);
    lua_getfield(L, 2, "nesterov");
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
      lbp_error(L, fn, "nesterov must be a boolean, got %s",
                luaL_typename(L, -1));
    cfg.nesterov = lua_toboolean(L, -1);
    lua_pop(L, 1);
  } else {
    cfg.eps = number(L, 2, "eps", cfg.eps, fn);
    lua_getfield(L, 2, "betas");
    if (!lua_isnil(L, -1)) {
      if (!lua_istable(L, -1) || luaL_len(L, -1) != 2)
        lbp_error(L, fn, "betas must be a table of two numbers, like {0.9, "
                  "0.999}");
      lua_geti(L, -1, 1);
      cfg.beta1 = lbp_checkfinite(L, -1, fn, "betas[1]");
      lua_geti(L, -2, 2);
      cfg.beta2 = lbp_checkfinite(L, -1, fn, "betas[2]");
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  if (bp_optim_check(&cfg, &err) != BP_OK) lbp_error(L, fn, "%s", err.msg);
  lbp_ensure_init(L, m);
  o = lbp_newuserdata(L, sizeof *o);
  memset(o, 0, sizeof *o);
  o->name = name;
  luaL_setmetatable(L, LBP_OPTIM);
  o->o = cfg;
  if (bp_optim_init(&o->o, m->net.nparams, &err) != BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  lbp_gc_report(L, ((o->o.m ? 1 : 0) + (o->o.v ? 1 : 0)) * m->net.nparams *
                       sizeof(float));
  lua_pushvalue(L, 1);
  lbp_setuservalue(L, -2);
  return 1;
}

static int l_sgd(lua_State *L) { return make(L, "SGD", BP_SGD); }
static int l_adam(lua_State *L) { return make(L, "Adam", BP_ADAM); }

/* The optimizer at 1 and its network, checked to be usable. */
static loptim *checkself(lua_State *L, const char *method, lmodule **net) {
  char fn[64];
  loptim *o = luaL_testudata(L, 1, LBP_OPTIM);
  snprintf(fn, sizeof fn, "backprop.%s:%s", o ? o->name : "Optimizer", method);
  o = lbp_checkoptim(L, 1, fn, "self");
  lbp_getuservalue(L, 1);
  *net = lbp_checkmodule(L, lua_gettop(L), fn, "its network");
  lua_pop(L, 1);
  return o;
}

static int o_step(lua_State *L) {
  lmodule *m;
  loptim *o = checkself(L, "step", &m);
  bp_optim_step(&o->o, m->net.params, m->net.grads);
  return 0;
}

static int o_zero_grad(lua_State *L) {
  lmodule *m;
  checkself(L, "zero_grad", &m);
  bp_net_zero_grad(&m->net);
  return 0;
}

static int o_index(lua_State *L) {
  loptim *o = luaL_checkudata(L, 1, LBP_OPTIM);
  const char *k;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;   /* no such field: nil */
  k = lua_tostring(L, 2);
  lua_getfield(L, lua_upvalueindex(1), k);      /* a method? */
  if (!lua_isnil(L, -1)) return 1;
  if (strcmp(k, "lr") == 0) lua_pushnumber(L, o->o.lr);
  else if (strcmp(k, "weight_decay") == 0) lua_pushnumber(L, o->o.weight_decay);
  else if (strcmp(k, "steps") == 0) lua_pushinteger(L, o->o.steps);
  else if (o->o.kind == BP_SGD && strcmp(k, "momentum") == 0)
    lua_pushnumber(L, o->o.momentum);
  else if (o->o.kind == BP_SGD && strcmp(k, "dampening") == 0)
    lua_pushnumber(L, o->o.dampening);
  else if (o->o.kind == BP_SGD && strcmp(k, "nesterov") == 0)
    lua_pushboolean(L, o->o.nesterov);
  else if (o->o.kind == BP_ADAM && strcmp(k, "eps") == 0)
    lua_pushnumber(L, o->o.eps);
  else if (o->o.kind == BP_ADAM && strcmp(k, "betas") == 0) {
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, o->o.beta1);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, o->o.beta2);
    lua_rawseti(L, -2, 2);
  } else lua_pushnil(L);
  return 1;
}

static int o_newindex(lua_State *L) {
  loptim *o = luaL_checkudata(L, 1, LBP_OPTIM);
  char fn[64];
  double v;
  snprintf(fn, sizeof fn, "backprop.%s", o->name);
  if (lua_type(L, 2) != LUA_TSTRING)
    lbp_error(L, fn, "cannot set a %s key (only lr can change after "
              "creation)", luaL_typename(L, 2));
  if (strcmp(lua_tostring(L, 2), "lr") != 0)
    lbp_error(L, fn, "cannot set '%s' (only lr can change after creation)",
              lua_tostring(L, 2));
  v = lbp_checkfinite(L, 3, fn, "lr");
  if (v < 0) lbp_error(L, fn, "lr must be >= 0, got %g", v);
  o->o.lr = v;
  return 0;
}

static int o_gc(lua_State *L) {
  bp_optim_free(&((loptim *)luaL_checkudata(L, 1, LBP_OPTIM))->o);
  return 0;
}

static int o_tostring(lua_State *L) {
  loptim *o = luaL_checkudata(L, 1, LBP_OPTIM);
  char s[160];
  if (o->o.kind == BP_SGD)
    snprintf(s, sizeof s, "backprop.SGD(lr=%g, momentum=%g, dampening=%g, "
             "weight_decay=%g, nesterov=%s)", o->o.lr, o->o.momentum,
             o->o.dampening, o->o.weight_decay, o->o.nesterov ? "true" : "false");
  else
    snprintf(s, sizeof s, "backprop.Adam(lr=%g, betas={%g, %g}, eps=%g, "
             "weight_decay=%g)", o->o.lr, o->o.beta1, o->o.beta2, o->o.eps,
             o->o.weight_decay);
  lua_pushstring(L, s);
  return 1;
}

static const luaL_Reg methods[] = {
  {"step", o_step}, {"zero_grad", o_zero_grad}, {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", o_gc}, {"__newindex", o_newindex}, {"__tostring", o_tostring},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"SGD", l_sgd}, {"Adam", l_adam}, {NULL, NULL}
};

void lbp_open_optim(lua_State *L) {
  lbp_newclass(L, LBP_OPTIM, meta, methods, NULL, functions);
  /* Fields (opt.lr, ...) as well as methods: __index becomes a function
  ** that looks in the method table first. */
  luaL_getmetatable(L, LBP_OPTIM);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, o_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
