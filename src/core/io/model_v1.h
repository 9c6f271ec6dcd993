/*
** model_v1.h: reading the layer records of format version 1 (model_v1.c);
** serialize.c reads the rest of those files as it reads its own.
*/
#ifndef BP_MODEL_V1_H
#define BP_MODEL_V1_H

#include <stdint.h>

#include "base/status.h"
#include "io/bytes.h"
#include "nn/layer.h"

/* The layer of kind `kind` from the record at rec, settings checked and
** described (bp_layer_init); rec is left at its state (l->nstate floats,
** checked to be there). */
bp_status bp_v1_record(bp_layer *l, uint32_t kind, bp_reader *rec,
                       bp_error *why);

#endif
