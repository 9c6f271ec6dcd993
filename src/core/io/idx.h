/*
** idx.h: IDX files (the format of MNIST and Fashion-MNIST), plain or
** gzip-compressed. Reading is two steps so the caller can allocate the
** tensor in between: bp_idx_open reads and checks the header, then
** bp_idx_read streams the data into the tensor, converting big-endian
** values as it goes (the decompressed file is never held whole).
**
** Type codes: 0x08 unsigned byte -> uint8 tensor; 0x09 signed byte,
** 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 -> float32 tensor.
*/
#ifndef BP_IDX_H
#define BP_IDX_H

#include <stdio.h>

#include "io/inflate.h"
#include "tensor/tensor.h"

typedef struct bp_idx {
  FILE *f;
  bp_gunzip *gz;               /* NULL for a plain file */
  unsigned char *buf;          /* read buffer of a plain file */
  const unsigned char *p;      /* bytes read but not yet used */
  size_t n;
  unsigned long long fsize;    /* size of the file on disk */
  int type;                    /* IDX type code */
  int ndim;
  size_t shape[BP_MAXDIM];
  size_t numel, esize;         /* elements, bytes per element in the file */
} bp_idx;

/* Open path and read its header into r (shape, type). On failure r holds
** nothing to release, but bp_idx_close is harmless. */
bp_status bp_idx_open(bp_idx *r, const char *path, bp_error *err);
/* BP_UINT8 for type 0x08, else BP_FLOAT32. */
bp_dtype bp_idx_dtype(const bp_idx *r);
/* Fill t (allocated by the caller with r's shape and dtype) and check that
** the file holds exactly that much data (and, if gzipped, its CRCs). */
bp_status bp_idx_read(bp_idx *r, bp_tensor *t, bp_error *err);
void bp_idx_close(bp_idx *r);   /* idempotent */

#endif
