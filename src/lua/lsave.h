/*
** lsave.h: what files need from the binding (lsave.c): the values of a
** model file's sections as bytes and back (internal.encode and decode),
** and whole-file writes for the Lua modules (internal.write_file).
*/
#ifndef LSAVE_H
#define LSAVE_H

#include "compat.h"

/* The sections bp.load reads (serialize.h), in this order: the others
** are skipped (unless marked required: then the file is refused). */
#define LBP_SECTIONS {"predictor", "checkpoint"}
#define LBP_NSECTIONS 2

/* Push a box holding a pointer (NULL) that the collector frees with
** free(): a buffer from the C library stays owned while Lua calls that
** may raise an error run. Free it and set it to NULL when done. */
unsigned char **lbp_bytesbox(lua_State *L);

void lbp_open_save(lua_State *L);

#endif
