/*
** loptim.h: backprop.Optimizer (loptim.c). Its user value is its network.
*/
#ifndef LOPTIM_H
#define LOPTIM_H

#include "lcheck.h"
#include "train/optim.h"

#define LBP_OPTIM "backprop.Optimizer"

typedef struct loptim {
  bp_optim o;
  const char *name;
} loptim;

loptim *lbp_checkoptim(lua_State *L, int idx, const char *fn, const char *arg);

void lbp_open_optim(lua_State *L);

#endif
