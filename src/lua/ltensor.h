/*
** ltensor.h: backprop.Tensor, the userdata every binding file passes
** around. The checks and constructors in the first half are for every
** binding file (ltbase.c); the second half is what the two tensor files
** share (ltensor.c: creation, elements, arithmetic, reductions, printing;
** ltview.c: views, gathering, joining, element types, ranges).
*/
#ifndef LTENSOR_H
#define LTENSOR_H

#include <stddef.h>

#include "lcheck.h"
#include "tensor/tensor.h"

#define LBP_TENSOR "backprop.Tensor"

/* A tensor owns its storage or is a view whose user value keeps the owner
** alive. `views` counts views ever taken: while nonzero, __close leaves the
** memory to __gc, which cannot run before the views are gone. */
typedef struct ltensor {
  bp_tensor t;
  int views;
  int closed;
} ltensor;

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
/* Error unless every value of t is finite; `what` names it ("input"). */
void lbp_checkvalues(lua_State *L, const bp_tensor *t, const char *fn,
                     const char *what);
/* The same, scanned by the threads of pool (a network's; NULL: this one). */
struct bp_pool;
void lbp_checkvalues_mt(lua_State *L, const bp_tensor *t,
                        struct bp_pool *pool, const char *fn,
                        const char *what);

/* Shape as "8x29" in a static-size buffer. */
typedef struct lbp_shapebuf {
  char s[96];
} lbp_shapebuf;
const char *lbp_shape(const bp_tensor *t, lbp_shapebuf *b);

/* New tensors, pushed on the stack. A view's owner is the value at owner. */
ltensor *lbp_newtensor(lua_State *L, int ndim, const size_t *shape,
                       const char *fn);
ltensor *lbp_newtensor_u8(lua_State *L, int ndim, const size_t *shape,
                          const char *fn);
ltensor *lbp_newview(lua_State *L, int owner, float *data, int ndim,
                     const size_t *shape);

void lbp_open_tensor(lua_State *L);

/* --- shared by ltensor.c and ltview.c only --------------------------- */

#define LBP_2POW24 ((size_t)1 << 24)   /* floats hold integers exactly below */

/* Dimension argument at idx, 1..t->ndim (extra allows one more, for
** stack); returned 0-based. */
int lbp_tcheckdim(lua_State *L, int idx, const bp_tensor *t, int extra,
                  const char *fn);
/* Any tensor at idx, as float32 (any strides): a uint8 tensor is converted
** into a new tensor that replaces the stack slot. */
ltensor *lbp_tfloat(lua_State *L, int idx, const char *fn, const char *arg);
/* New contiguous tensor of either element type, pushed. */
ltensor *lbp_tnew(lua_State *L, bp_dtype dt, int ndim, const size_t *shape,
                  const char *fn);
/* Push a view described by v into the storage of the tensor t at idx; it
** keeps the storage's owner alive and marks both as having views. */
ltensor *lbp_tview(lua_State *L, int idx, ltensor *t, const bp_tensor *v);
/* Push t at index i (0-based) of dimension d: a view, or for a 1-D
** tensor the element as a number. */
void lbp_tselect(lua_State *L, int idx, ltensor *t, int d, size_t i);
/* Element at offset off (in elements from t->data or t->u8). */
lua_Number lbp_tget(const bp_tensor *t, size_t off);
/* "float32" or "uint8". */
const char *lbp_dtype_name(bp_dtype dt);
/* Optional element-type name at idx (none or nil gives float32). */
bp_dtype lbp_checkdtype(lua_State *L, int idx, const char *fn);

extern const luaL_Reg lbp_tview_methods[];
extern const luaL_Reg lbp_tview_functions[];

#endif
