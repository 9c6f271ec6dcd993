/*
** ltensor.h: what the two tensor binding files share (ltensor.c: creation,
** elements, arithmetic, reductions, printing; ltview.c: views, gathering,
** joining, element types, ranges). Not part of the binding's common API.
*/
#ifndef LTENSOR_H
#define LTENSOR_H

#include "lbackprop.h"

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
