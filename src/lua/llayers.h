/*
** llayers.h: the layer constructors (llayers.c) and what they share with
** lmodule.c (networks, passes, summary).
*/
#ifndef LLAYERS_H
#define LLAYERS_H

#include <stddef.h>

#include "lbackprop.h"

/* A new, empty module userdata (pushed); name must be a static string. */
lmodule *lbp_newmodule(lua_State *L, const char *name);
/* "Conv2d(1 -> 32, kernel 3, stride 1, padding 1)" into buf. */
void lbp_layer_desc(const bp_layer *l, char *buf, size_t len);
/* Register the constructors into the table on the top of the stack. */
void lbp_open_layers(lua_State *L);

#endif
