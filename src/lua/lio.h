/*
** lio.h: the C side of PyTorch interchange (lio.c): safetensors files,
** what the ONNX export and the state_dict names need to know of a module.
*/
#ifndef LIO_H
#define LIO_H

#include "compat.h"

void lbp_open_io(lua_State *L);

#endif
