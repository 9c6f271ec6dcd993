/*
** loptim.c: backprop.Optimizer (SGD, Adam, AdamW, RMSprop, Adagrad, Rprop)
** over one network's buffers, and gradient clipping (bp.clip_grad_norm,
** bp.clip_grad_value). The optimizer's user value is its network, which
** keeps the network alive and lets train_step check that the two belong
** together. Options come as a table; unknown keys are errors. opt.lr can
** be read and set between steps (learning-rate schedules); the rest is
** fixed at creation.
*/
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lmodule.h"
#include "loptim.h"
#include "ltensor.h"
#include "train/clip.h"

loptim *lbp_checkoptim(lua_State *L, int idx, const char *fn,
                       const char *arg) {
  return lbp_checkudata(L, idx, LBP_OPTIM, fn, arg);
}

/* The options (opt.betas, ...) come from the core's table of them
** (train/optim.h), for parsing, reading and printing. */
#define MAXKEYS 24

/* The keys kind takes, NULL-terminated, for lbp_checkoptions. */
static void kind_keys(bp_optim_kind kind, const char *keys[MAXKEYS]) {
  const bp_optim_field *f;
  int n = 0;
  for (f = bp_optim_fields; f->key != NULL && n < MAXKEYS - 1; f++)
    if (bp_optim_takes(f, kind)) keys[n++] = f->key;
  keys[n] = NULL;
}

/* Push the value of field f of o: a number, a boolean, or a pair {a, b}. */
static void push_field(lua_State *L, bp_optim *o, const bp_optim_field *f) {
  if (f->type == BP_OPT_NUM) {
    lua_pushnumber(L, *bp_optim_num(o, f));
  } else if (f->type == BP_OPT_BOOL) {
    lua_pushboolean(L, *bp_optim_flag(o, f));
  } else {
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, bp_optim_num(o, f)[0]);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, bp_optim_num(o, f)[1]);
    lua_rawseti(L, -2, 2);
  }
}

/* The value at the top of the stack into field f of cfg; pops it. */
static void parse(lua_State *L, const char *fn, bp_optim *cfg,
                  const bp_optim_field *f) {
  char name[48];
  int i;
  switch (f->type) {
  case BP_OPT_NUM:
    *bp_optim_num(cfg, f) = lbp_checkfinite(L, -1, fn, f->key);
    break;
  case BP_OPT_BOOL:
    if (!lua_isboolean(L, -1))
      lbp_error(L, fn, "%s must be a boolean, got %s", f->key,
                luaL_typename(L, -1));
    *bp_optim_flag(cfg, f) = lua_toboolean(L, -1);
    break;
  default:
    if (!lua_istable(L, -1) || luaL_len(L, -1) != 2)
      lbp_error(L, fn, "%s must be a table of two numbers, like {%g, %g}",
                f->key, bp_optim_num(cfg, f)[0], bp_optim_num(cfg, f)[1]);
    for (i = 0; i < 2; i++) {
      lua_geti(L, -1, i + 1);
      snprintf(name, sizeof name, "%s[%d]", f->key, i + 1);
      bp_optim_num(cfg, f)[i] = lbp_checkfinite(L, -1, fn, name);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

static int make(lua_State *L, const char *name, bp_optim_kind kind) {
  char fn[64];
  const char *keys[MAXKEYS];
  const bp_optim_field *f;
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
  kind_keys(kind, keys);
  lbp_checkoptions(L, 2, fn, keys);
  bp_optim_defaults(&cfg, kind);
  for (f = bp_optim_fields; f->key != NULL; f++) {
    if (!bp_optim_takes(f, kind)) continue;
    lua_getfield(L, 2, f->key);
    if (lua_isnil(L, -1)) lua_pop(L, 1);
    else parse(L, fn, &cfg, f);
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
  lbp_gc_report(L, bp_optim_state_bytes(&o->o));
  lua_pushvalue(L, 1);
  lbp_setuservalue(L, -2);
  return 1;
}

static int l_sgd(lua_State *L) { return make(L, "SGD", BP_SGD); }
static int l_adam(lua_State *L) { return make(L, "Adam", BP_ADAM); }
static int l_adamw(lua_State *L) { return make(L, "AdamW", BP_ADAMW); }
static int l_rmsprop(lua_State *L) { return make(L, "RMSprop", BP_RMSPROP); }
static int l_adagrad(lua_State *L) { return make(L, "Adagrad", BP_ADAGRAD); }
static int l_rprop(lua_State *L) { return make(L, "Rprop", BP_RPROP); }

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
  const bp_optim_field *f;
  const char *k;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;   /* no such field: nil */
  k = lua_tostring(L, 2);
  lua_getfield(L, lua_upvalueindex(1), k);      /* a method? */
  if (!lua_isnil(L, -1)) return 1;
  if (strcmp(k, "steps") == 0) {
    lua_pushinteger(L, o->o.steps);
    return 1;
  }
  f = bp_optim_field_find(o->o.kind, k);
  if (f == NULL) lua_pushnil(L);
  else push_field(L, &o->o, f);
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

/* --- state ------------------------------------------------------------ */

/* Parameter tensor j (0-based, net:parameters() order) of the network,
** or NULL past the last; *at gets its place in the optimizer's buffers. */
static const bp_param *param(const bp_net *net, int j, size_t *at) {
  size_t i;
  int k;
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++)
      if (j-- == 0) {
        *at = (size_t)(net->layers[i].p[k].data - net->params);
        return &net->layers[i].p[k];
      }
  return NULL;
}

/* opt:state(): everything a run has changed or may need to go on, as a
** plain table, PyTorch's state_dict in Lua's terms: kind ("Adam"), step
** (updates done), options (every hyperparameter, lr as it is now: what
** the constructor takes) and each state buffer named as torch.optim
** names it (optim.h): a list of copies, one tensor per parameter tensor
** in net:parameters() order, of its shape. */
static int o_state(lua_State *L) {
  lmodule *m;
  loptim *o = checkself(L, "state", &m);
  const bp_net *net = &m->net;
  const char *names[3];
  float *bufs[3];
  const bp_param *p;
  const bp_optim_field *f;
  char fn[64];
  size_t at;
  int k, j, nb = bp_optim_buffers(&o->o, names, bufs);
  snprintf(fn, sizeof fn, "backprop.%s:state", o->name);
  lua_createtable(L, 0, 3 + nb);
  lua_pushstring(L, o->name);
  lua_setfield(L, -2, "kind");
  lua_pushinteger(L, (lua_Integer)o->o.steps);
  lua_setfield(L, -2, "step");
  lua_newtable(L);
  for (f = bp_optim_fields; f->key != NULL; f++) {
    if (!bp_optim_takes(f, o->o.kind)) continue;
    push_field(L, &o->o, f);
    lua_setfield(L, -2, f->key);
  }
  lua_setfield(L, -2, "options");
  for (k = 0; k < nb; k++) {
    lua_newtable(L);
    for (j = 0; (p = param(net, j, &at)) != NULL; j++) {
      ltensor *t = lbp_newtensor(L, p->ndim, p->shape, fn);
      memcpy(t->t.data, bufs[k] + at, p->numel * sizeof(float));
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, names[k]);
  }
  return 1;
}

/* The options table at idx (a state's) checked against this optimizer's:
** every one there and equal, lr aside; returns the state's lr. */
static double check_state_options(lua_State *L, const char *fn, loptim *o,
                                  int idx) {
  const char *keys[MAXKEYS];
  char what[96];
  bp_optim cfg = o->o;
  const bp_optim_field *f;
  kind_keys(o->o.kind, keys);
  snprintf(what, sizeof what, "%s: state.options", fn);
  lbp_checkoptions(L, idx, what, keys);
  for (f = bp_optim_fields; f->key != NULL; f++) {
    if (!bp_optim_takes(f, o->o.kind)) continue;
    if (lua_getfield(L, idx, f->key) == LUA_TNIL)
      lbp_error(L, fn, "state.options.%s is missing", f->key);
    parse(L, what, &cfg, f);
    if (f == &bp_optim_fields[0]) continue;   /* lr: the state's is taken */
    if (f->type == BP_OPT_BOOL
            ? *bp_optim_flag(&cfg, f) != *bp_optim_flag(&o->o, f)
            : (bp_optim_num(&cfg, f)[0] != bp_optim_num(&o->o, f)[0] ||
               (f->type == BP_OPT_PAIR &&
                bp_optim_num(&cfg, f)[1] != bp_optim_num(&o->o, f)[1])))
      lbp_error(L, fn, "the state's %s differs from this optimizer's (make "
                "the optimizer with the state's options: bp.%s(net, "
                "state.options))", f->key, o->name);
  }
  if (!(cfg.lr >= 0)) lbp_error(L, fn, "state.options.lr must be >= 0");
  return cfg.lr;
}

/* opt:load_state(state): a state from opt:state() of an optimizer of the
** same kind and options (lr aside: it takes the state's) for a network of
** the same parameter shapes. Everything is checked before anything
** changes. */
static int o_load_state(lua_State *L) {
  lmodule *m;
  loptim *o = checkself(L, "load_state", &m);
  const bp_net *net = &m->net;
  const char *names[3], *keys[3 + 3 + 1] = {"kind", "step", "options"};
  float *bufs[3];
  const bp_param *p;
  char fn[64], what[64];
  lua_Integer step;
  double lr;
  size_t at;
  int k, j, ok = 0, pass, nb = bp_optim_buffers(&o->o, names, bufs);
  snprintf(fn, sizeof fn, "backprop.%s:load_state", o->name);
  if (!lua_istable(L, 2))
    lbp_error(L, fn, "state must be a table (from opt:state()), got %s",
              luaL_typename(L, 2));
  lua_settop(L, 2);
  if (lua_getfield(L, 2, "kind") != LUA_TSTRING ||
      strcmp(lua_tostring(L, -1), o->name) != 0)
    lbp_error(L, fn, "the state is of %s, this optimizer is %s",
              lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                             : luaL_typename(L, -1),
              o->name);
  step = lua_getfield(L, 2, "step") == LUA_TNUMBER
             ? lua_tointegerx(L, -1, &ok) : 0;
  if (!ok || step < 0)
    lbp_error(L, fn, "state.step must be an integer >= 0, got %s",
              lua_isnumber(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
  if (lua_getfield(L, 2, "options") != LUA_TTABLE)                /* 5 */
    lbp_error(L, fn, "state.options must be a table, got %s",
              luaL_typename(L, -1));
  lr = check_state_options(L, fn, o, 5);
  for (k = 0; k < nb; k++) keys[3 + k] = names[k];
  keys[3 + nb] = NULL;
  lbp_checkoptions(L, 2, fn, keys);
  /* Pass 0 checks every buffer, pass 1 copies. */
  for (pass = 0; pass < 2; pass++)
    for (k = 0; k < nb; k++) {
      if (lua_getfield(L, 2, names[k]) != LUA_TTABLE)
        lbp_error(L, fn, "state.%s must be a list of tensors, got %s",
                  names[k], luaL_typename(L, -1));
      for (j = 0; param(net, j, &at) != NULL; j++) {}
      if (luaL_len(L, -1) != j)
        lbp_error(L, fn, "state.%s has %d tensors, the network %d "
                  "parameter tensors", names[k], (int)luaL_len(L, -1), j);
      for (j = 0; (p = param(net, j, &at)) != NULL; j++) {
        ltensor *t;
        snprintf(what, sizeof what, "state.%s[%d]", names[k], j + 1);
        lua_rawgeti(L, -1, j + 1);
        t = lbp_checktensor(L, -1, fn, what);
        if (pass == 1) {
          memcpy(bufs[k] + at, t->t.data, p->numel * sizeof(float));
        } else if (t->t.ndim != p->ndim ||
                   memcmp(t->t.shape, p->shape, p->ndim * sizeof *p->shape)) {
          lbp_shapebuf a, b;
          bp_shape_str(p->ndim, p->shape, b.s, sizeof b.s);
          lbp_error(L, fn, "%s has shape %s, its parameter %s", what,
                    lbp_shape(&t->t, &a), b.s);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  o->o.lr = lr;
  o->o.steps = (long long)step;
  return 0;
}

static int o_gc(lua_State *L) {
  bp_optim_free(&((loptim *)luaL_checkudata(L, 1, LBP_OPTIM))->o);
  return 0;
}

/* backprop.Adam(lr=0.001, betas={0.9, 0.999}, ...) */
static int o_tostring(lua_State *L) {
  loptim *o = luaL_checkudata(L, 1, LBP_OPTIM);
  luaL_Buffer b;
  const bp_optim_field *f;
  const char *sep = "";
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "backprop.%s(", o->name);
  luaL_addvalue(&b);
  for (f = bp_optim_fields; f->key != NULL; f++) {
    char s[96];
    if (!bp_optim_takes(f, o->o.kind)) continue;
    if (f->type == BP_OPT_NUM)
      snprintf(s, sizeof s, "%s%s=%g", sep, f->key, *bp_optim_num(&o->o, f));
    else if (f->type == BP_OPT_BOOL)
      snprintf(s, sizeof s, "%s%s=%s", sep, f->key,
               *bp_optim_flag(&o->o, f) ? "true" : "false");
    else
      snprintf(s, sizeof s, "%s%s={%g, %g}", sep, f->key,
               bp_optim_num(&o->o, f)[0], bp_optim_num(&o->o, f)[1]);
    luaL_addstring(&b, s);
    sep = ", ";
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/* --- clipping -------------------------------------------------------- */

/* The p of a p-norm at idx: a number > 0, math.huge for the max norm. */
static double norm_type(lua_State *L, int idx, const char *fn) {
  double p;
  if (lua_isnoneornil(L, idx)) return 2.0;
  if (lua_type(L, idx) != LUA_TNUMBER)
    lbp_error(L, fn, "norm_type must be a number, got %s",
              luaL_typename(L, idx));
  p = lua_tonumber(L, idx);
  if (!(p > 0))
    lbp_error(L, fn, "norm_type must be > 0 (math.huge for the max norm), "
              "got %g", p);
  return p;
}

static double positive(lua_State *L, int idx, const char *fn,
                       const char *arg) {
  double v = lbp_checkfinite(L, idx, fn, arg);
  if (!(v > 0)) lbp_error(L, fn, "%s must be > 0, got %g", arg, v);
  return v;
}

/* bp.clip_grad_norm(net, max_norm [, norm_type]): the norm before. */
static int l_clip_grad_norm(lua_State *L) {
  const char *fn = "backprop.clip_grad_norm";
  lmodule *m = lbp_checkmodule(L, 1, fn, "network");
  double max_norm = positive(L, 2, fn, "max_norm");
  double p = norm_type(L, 3, fn);
  lua_pushnumber(L, bp_clip_grad_norm(m->net.grads, m->net.nparams,
                                      max_norm, p));
  return 1;
}

/* bp.clip_grad_value(net, value) */
static int l_clip_grad_value(lua_State *L) {
  const char *fn = "backprop.clip_grad_value";
  lmodule *m = lbp_checkmodule(L, 1, fn, "network");
  bp_clip_grad_value(m->net.grads, m->net.nparams,
                     positive(L, 2, fn, "clip_value"));
  return 0;
}

static const luaL_Reg methods[] = {
  {"step", o_step}, {"zero_grad", o_zero_grad},
  {"state", o_state}, {"load_state", o_load_state},
  {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__gc", o_gc}, {"__newindex", o_newindex}, {"__tostring", o_tostring},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"SGD", l_sgd}, {"Adam", l_adam}, {"AdamW", l_adamw},
  {"RMSprop", l_rmsprop}, {"Adagrad", l_adagrad}, {"Rprop", l_rprop},
  {"clip_grad_norm", l_clip_grad_norm}, {"clip_grad_value", l_clip_grad_value},
  {NULL, NULL}
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
