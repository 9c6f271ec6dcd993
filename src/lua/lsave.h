/*
** lsave.h: what files need from the binding (lsave.c): whole-file writes
** for the Lua modules (internal.write_file, io/file.h's atomic write).
*/
#ifndef LSAVE_H
#define LSAVE_H

#include "compat.h"

void lbp_open_save(lua_State *L);

#endif
