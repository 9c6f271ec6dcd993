/*
** lbackprop.h: what the binding's files share. Each userdata type has one
** struct, one metatable name, and one check function that raises a clear
** error ("backprop.Linear:forward: argument 1 (input) expected
** backprop.Tensor, got table").
*/
#ifndef LBACKPROP_H
#define LBACKPROP_H

#include <stddef.h>

#include "compat.h"
#include "loss.h"
#include "net.h"
#include "optim.h"
#include "rng.h"
#include "tensor.h"
#include "train.h"

#define LBP_TENSOR "backprop.Tensor"
#define LBP_MODULE "backprop.Module"
#define LBP_LOSS "backprop.Loss"
#define LBP_OPTIM "backprop.Optimizer"

/* A tensor owns its storage or is a view whose user value keeps the owner
** alive. `views` counts views ever taken: while nonzero, __close leaves the
** memory to __gc, which cannot run before the views are gone. */
typedef struct ltensor {
  bp_tensor t;
  int views;
  int closed;
} ltensor;

typedef struct lmodule {
  bp_net net;
  bp_epoch_buf epoch;
  const char *name;       /* "Sequential", "Linear", ... for messages */
  int initialized;        /* weights drawn (lazily for a lone layer) */
  int views;              /* parameter views taken, as for tensors */
  int closed;
  float *row;             /* staging for a Lua-table input (forward) */
  size_t row_cap;
  bp_rng *rng;            /* the state's generator and a pointer to its */
  struct bp_pool **pool;  /* pool slot, looked up once: the game path */
} lmodule;

typedef struct lloss {
  bp_loss_spec spec;      /* its weight arrays point into w below */
  const char *name;
  int ready;              /* a forward has filled the gradient */
  size_t n, c;            /* that forward's prediction, as n x c */
  float w[];              /* weight, then pos_weight: copies of the options */
} lloss;

typedef struct loptim {
  bp_optim o;
  const char *name;
} loptim;

/* Errors: "<fn>: <message>", formatted with the full printf syntax. */
int lbp_error(lua_State *L, const char *fn, const char *fmt, ...);

/* Argument checks. `arg` names the argument in messages.
** lbp_checkanytensor accepts any element type and any strides.
** lbp_checktensor accepts float32 tensors only (what every computation
** needs) and always returns one whose t.data is t.numel contiguous floats
** in row-major order: a strided view (from select, narrow, t[i]) is copied
** and the copy replaces the stack slot at idx for the rest of the call.
** That copy would silently lose writes, so a tensor the call writes into
** (an `out` argument) is checked with lbp_checkouttensor instead, which
** raises an error for a strided view. */
ltensor *lbp_checkanytensor(lua_State *L, int idx, const char *fn,
                            const char *arg);
ltensor *lbp_checktensor(lua_State *L, int idx, const char *fn,
                         const char *arg);
ltensor *lbp_checkouttensor(lua_State *L, int idx, const char *fn,
                            const char *arg);
lmodule *lbp_checkmodule(lua_State *L, int idx, const char *fn,
                         const char *arg);
lloss *lbp_checkloss(lua_State *L, int idx, const char *fn, const char *arg);
loptim *lbp_checkoptim(lua_State *L, int idx, const char *fn, const char *arg);
size_t lbp_checksize(lua_State *L, int idx, const char *fn, const char *arg);
double lbp_checkfinite(lua_State *L, int idx, const char *fn, const char *arg);
/* Error unless every value of t is finite; `what` names it ("input"). */
void lbp_checkvalues(lua_State *L, const bp_tensor *t, const char *fn,
                     const char *what);
/* Error on keys of the options table at idx that are not in `keys`
** (NULL-terminated): a typo must not be silently ignored. */
void lbp_checkoptions(lua_State *L, int idx, const char *fn,
                      const char *const keys[]);
/* Shape as "8x29" in a static-size buffer. */
typedef struct lbp_shapebuf {
  char s[96];
} lbp_shapebuf;
const char *lbp_shape(const bp_tensor *t, lbp_shapebuf *b);
/* Check that y is the target for an n x c prediction under `kind`: n or
** n x 1 labels for the class losses (CE, NLL), else n x c or (c = 1) n. */
void lbp_checktarget(lua_State *L, const char *fn, bp_loss_kind kind,
                     size_t n, size_t c, const bp_tensor *y);

/* New tensors, pushed on the stack. A view's owner is the value at owner. */
ltensor *lbp_newtensor(lua_State *L, int ndim, const size_t *shape,
                       const char *fn);
ltensor *lbp_newtensor_u8(lua_State *L, int ndim, const size_t *shape,
                          const char *fn);
ltensor *lbp_newview(lua_State *L, int owner, float *data, int ndim,
                     const size_t *shape);

/* Draw a lone layer's weights on first use (see lmodule.c). */
void lbp_ensure_init(lua_State *L, lmodule *m);

/* The generator behind bp.manual_seed, one per Lua state. */
bp_rng *lbp_rng(lua_State *L);

/* Register a userdata type: metatable `tname` with the metamethods `meta`
** and __index = a table of `methods` (also stored as module[field] when
** field is not NULL), then the `functions` (constructors) into the module
** table on the top of the stack. */
void lbp_newclass(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *methods, const char *field,
                  const luaL_Reg *functions);

/* Each file registers its functions into the module table on the top. */
void lbp_open_tensor(lua_State *L);
void lbp_open_module(lua_State *L);
void lbp_open_loss(lua_State *L);
void lbp_open_optim(lua_State *L);
void lbp_open_data(lua_State *L);
void lbp_open_threads(lua_State *L);

/* The state's thread pool (bp.set_num_threads), NULL for one thread;
** pass it to bp_gemm_mt. Owned by the state: never free it. */
struct bp_pool *lbp_pool(lua_State *L);
/* Where the state keeps its pool pointer: the address stays valid for the
** state's lifetime while set_num_threads changes what it holds. */
struct bp_pool **lbp_poolslot(lua_State *L);

#endif
