/*
** lloss.c: backprop.Loss. loss:forward(prediction, target) returns the
** mean loss as a Lua number and computes the gradient in the same pass;
** loss:backward() returns that gradient, in a tensor the loss reuses.
*/
#include <stdio.h>
#include <string.h>

#include "lbackprop.h"

static const char *const NO_OPTIONS[] = {NULL};

static int make(lua_State *L, const char *name, bp_loss_kind kind) {
  char fn[64];
  lloss *l;
  snprintf(fn, sizeof fn, "backprop.%s", name);
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) != LUA_TTABLE)
      lbp_error(L, fn, "options must be a table, got %s", luaL_typename(L, 1));
    lbp_checkoptions(L, 1, fn, NO_OPTIONS);
  }
  l = lbp_newuserdata(L, sizeof *l);
  l->kind = kind;
  l->name = name;
  l->ready = 0;
  luaL_setmetatable(L, LBP_LOSS);
  return 1;
}

static int l_mse(lua_State *L) { return make(L, "MSELoss", BP_MSE); }
static int l_bce(lua_State *L) { return make(L, "BCELoss", BP_BCE); }
static int l_ce(lua_State *L) { return make(L, "CrossEntropyLoss", BP_CE); }

static lloss *checkself(lua_State *L, const char *method, char *fn,
                        size_t len) {
  lloss *l = luaL_testudata(L, 1, LBP_LOSS);
  snprintf(fn, len, "backprop.%s:%s", l ? l->name : "Loss", method);
  return lbp_checkloss(L, 1, fn, "self");
}

static int loss_forward(lua_State *L) {
  char fn[64];
  lloss *l = checkself(L, "forward", fn, sizeof fn);
  ltensor *p = lbp_checktensor(L, 2, fn, "prediction");
  ltensor *y = lbp_checktensor(L, 3, fn, "target"), *g;
  size_t n, c;
  double value;
  bp_error err;
  lbp_shapebuf sb;
  l->ready = 0;   /* whatever fails below, backward has nothing stale */
  if (p->t.ndim > 2)
    lbp_error(L, fn, "prediction must be N x C (or one sample as a vector), "
              "got shape %s", lbp_shape(&p->t, &sb));
  n = p->t.ndim == 2 ? p->t.shape[0] : 1;
  c = p->t.ndim == 2 ? p->t.shape[1] : p->t.shape[0];
  lbp_checkvalues(L, &p->t, fn, "prediction");
  lbp_checktarget(L, fn, l->kind, n, c, &y->t);
  /* The gradient tensor is kept as the user value and reused. */
  lbp_getuservalue(L, 1);
  g = luaL_testudata(L, -1, LBP_TENSOR);
  if (g == NULL || g->closed || g->t.ndim != p->t.ndim ||
      memcmp(g->t.shape, p->t.shape, p->t.ndim * sizeof *p->t.shape) != 0) {
    g = lbp_newtensor(L, p->t.ndim, p->t.shape, fn);
    lua_pushvalue(L, -1);
    lbp_setuservalue(L, 1);
  }
  if (bp_loss(l->kind, p->t.data, n, c, y->t.data, &value, g->t.data, &err) !=
      BP_OK)
    lbp_error(L, fn, "%s", err.msg);
  l->ready = 1;
  lua_pushnumber(L, value);
  return 1;
}

static int loss_backward(lua_State *L) {
  char fn[64];
  lloss *l = checkself(L, "backward", fn, sizeof fn);
  if (!l->ready) lbp_error(L, fn, "no gradient yet (call forward first)");
  lbp_getuservalue(L, 1);
  return 1;
}

static int loss_tostring(lua_State *L) {
  lloss *l = luaL_checkudata(L, 1, LBP_LOSS);
  lua_pushfstring(L, "backprop.%s", l->name);
  return 1;
}

static const luaL_Reg methods[] = {
  {"forward", loss_forward}, {"backward", loss_backward}, {NULL, NULL}
};

static const luaL_Reg meta[] = {
  {"__tostring", loss_tostring}, {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"MSELoss", l_mse}, {"BCELoss", l_bce}, {"CrossEntropyLoss", l_ce},
  {NULL, NULL}
};

void lbp_open_loss(lua_State *L) {
  lbp_newclass(L, LBP_LOSS, meta, methods, NULL, functions);
}
