/*
** ldata.h: the data readers' C side (ldata.c): IDX and gzip files, the
** batch iterator's gather, standardization kernels.
*/
#ifndef LDATA_H
#define LDATA_H

#include "compat.h"

void lbp_open_data(lua_State *L);

#endif
