/*
** lloss.h: backprop.Loss (lloss.c), and the check of a target against a
** prediction that train_step and fit share with loss:forward.
*/
#ifndef LLOSS_H
#define LLOSS_H

#include <stddef.h>

#include "lcheck.h"
#include "nn/loss.h"
#include "tensor/tensor.h"

#define LBP_LOSS "backprop.Loss"

typedef struct lloss {
  bp_loss_spec spec;      /* its weight arrays point into w below */
  const char *name;
  int ready;              /* a forward has filled the gradient */
  size_t n, c;            /* that forward's prediction, as n x c */
  float w[];              /* weight, then pos_weight: copies of the options */
} lloss;

lloss *lbp_checkloss(lua_State *L, int idx, const char *fn, const char *arg);
/* Check that y is the target for an n x c prediction under `kind`: n or
** n x 1 labels for the class losses (CE, NLL), else n x c or (c = 1) n. */
void lbp_checktarget(lua_State *L, const char *fn, bp_loss_kind kind,
                     size_t n, size_t c, const bp_tensor *y);

void lbp_open_loss(lua_State *L);

#endif
