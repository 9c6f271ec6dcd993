/*
** lcheck.h: the argument checks and helpers every binding file uses, with
** no knowledge of any backprop type. Errors read "<fn>: <message>" and name
** the argument, what was expected and what came ("backprop.Linear:
** in_features must be a positive integer, got -3").
*/
#ifndef LCHECK_H
#define LCHECK_H

#include <stddef.h>

#include "compat.h"

/* Raise "<fn>: <message>" (full printf syntax). Never returns; the int
** return lets a caller write `return lbp_error(...)`. */
int lbp_error(lua_State *L, const char *fn, const char *fmt, ...);

/* The userdata of metatable tname at idx, or an error naming arg and what
** came instead (its __name when it has one). */
void *lbp_checkudata(lua_State *L, int idx, const char *tname, const char *fn,
                     const char *arg);
size_t lbp_checksize(lua_State *L, int idx, const char *fn, const char *arg);
double lbp_checkfinite(lua_State *L, int idx, const char *fn, const char *arg);
/* Error on keys of the options table at idx that are not in `keys`
** (NULL-terminated): a typo must not be silently ignored. */
void lbp_checkoptions(lua_State *L, int idx, const char *fn,
                      const char *const keys[]);

/* Error when more than max arguments come (trailing nils are not
** counted); self = 1 for a method, whose object is not counted. */
void lbp_checknargs(lua_State *L, int self, int max, const char *fn);
/* An optional boolean at idx (none or nil give 0); anything else is an
** error, not a truth value. */
int lbp_checkboolean(lua_State *L, int idx, const char *fn, const char *arg);
/* The length of the table at idx, which must be a list: keys 1..n and
** nothing else (a hole would make its length ambiguous). `what` names it. */
size_t lbp_checklist(lua_State *L, int idx, const char *fn, const char *what);

/* Register a userdata type: metatable `tname` with the metamethods `meta`
** and __index = a table of `methods` (also stored as module[field] when
** field is not NULL), then the `functions` (constructors) into the module
** table on the top of the stack. */
void lbp_newclass(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *methods, const char *field,
                  const luaL_Reg *functions);

/* Register funcs into module.internal, for the module table on the top of
** the stack: functions the Lua face (src/backprop/) and the specs use
** but users do not see (see lbackprop.c). */
void lbp_setinternal(lua_State *L, const luaL_Reg *funcs);

#endif
