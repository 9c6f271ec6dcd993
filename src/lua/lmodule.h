/*
** lmodule.h: backprop.Module, the userdata behind every layer and network,
** and what its files share: lmodule.c (the userdata: checks, parameters,
** modes, save, close), lcompose.c (containers, load, children), lpass.c
** (forward, backward), ltext.c (tostring, summary), llayers.c (the layer
** constructors), ltrain.c (train_step, fit's trainer).
*/
#ifndef LMODULE_H
#define LMODULE_H

#include <stddef.h>

#include "base/rng.h"
#include "lcheck.h"
#include "nn/net.h"
#include "tensor/tensor.h"

#define LBP_MODULE "backprop.Module"

typedef struct lmodule {
  bp_net net;
  const char *name;       /* "Sequential", "Linear", ... for messages */
  int initialized;        /* weights drawn (lazily for a lone layer); a
                             child's are its root's (lbp_ensure_init) */
  int views;              /* parameter views taken, as for tensors */
  int closed;
  /* Composition (lcompose.c): a module put into a container becomes a
  ** view of it, its network running on the container's buffers. */
  struct lmodule *parent; /* that container, or NULL */
  size_t first;           /* its first layer among the parent's */
  size_t *bounds;         /* its children: child k (1-based) holds layers
                             bounds[k - 1] .. bounds[k] - 1 */
  int nchildren;
  float *row;             /* staging for a Lua-table input (forward) */
  size_t row_cap;
  bp_rng *rng;            /* the state's generator and a pointer to its */
  struct bp_pool **pool;  /* pool slot, looked up once: the game path */
} lmodule;

lmodule *lbp_checkmodule(lua_State *L, int idx, const char *fn,
                         const char *arg);
/* "backprop.Linear:forward", for messages. */
typedef struct lbp_fname {
  char s[64];
} lbp_fname;
const char *lbp_fname_of(const lmodule *m, const char *method,
                         lbp_fname *b);
/* The module at index 1 as self of `method`, usable (not closed); b gets
** the function name for messages. Points the network at the state's
** generator and thread pool. */
lmodule *lbp_modself(lua_State *L, const char *method, lbp_fname *b);
/* A new, empty module userdata (pushed); name must be a static string. */
lmodule *lbp_newmodule(lua_State *L, const char *name);
/* Draw a lone layer's weights on first use (see lcompose.c): the whole
** root network's, for a child. */
void lbp_ensure_init(lua_State *L, lmodule *m);
/* The container at the top of m's chain of parents (m when it has none). */
lmodule *lbp_module_root(lmodule *m);
/* Push the module at idx's links, its user value (made on first use): a
** table of dx (lpass.c: the cached gradient tensor), views (weak keys:
** the tensors viewing its buffers), parent and children (lcompose.c). */
void lbp_module_links(lua_State *L, int idx);
/* Record the tensor at view as a view of the buffers of the module at
** idx: composition moves it with them. */
void lbp_module_addview(lua_State *L, int idx, int view);
/* Tell the collector about the module's buffers. */
void lbp_module_report(lua_State *L, const lmodule *m);

/* A batch as the core sees it: n samples of shape s. A 1-D tensor is one
** sample (its output is then unbatched too); otherwise dim 1 is the
** batch. */
typedef struct lbp_batch {
  size_t n;
  bp_shape s;
  int unbatched;
} lbp_batch;

/* The batch of tensor t (`what` names it in messages). */
void lbp_tobatch(lua_State *L, const char *fn, const char *what,
                 const bp_tensor *t, lbp_batch *b);
/* Check an input: its shape against the network (the error names the
** first layer that disagrees) and, when `values`, its values. *out gets
** the output sample shape. */
void lbp_checkinput(lua_State *L, const char *fn, lmodule *m,
                    const bp_tensor *x, lbp_batch *b, bp_shape *out,
                    int values);

/* Add methods (and metamethods, unless NULL) to the Module class. */
void lbp_module_methods(lua_State *L, const luaL_Reg *methods,
                        const luaL_Reg *meta);

/* Each file's registration; lbp_open_module calls the first four, with
** the module table on the top of the stack. */
void lbp_open_module(lua_State *L);
void lbp_open_compose(lua_State *L);
void lbp_open_passes(lua_State *L);
void lbp_open_text(lua_State *L);
void lbp_open_layers(lua_State *L);
void lbp_open_train(lua_State *L);

#endif
