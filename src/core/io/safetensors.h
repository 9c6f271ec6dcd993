/*
** safetensors.h: the safetensors format, what PyTorch users exchange
** weights in (Hugging Face's; safetensors.torch.save_file writes it):
**
**   u64        N, little-endian: the header's length in bytes
**   N bytes    a JSON object: each tensor's name ->
**                {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}
**              and optionally "__metadata__": {"key": "value", ...};
**              padded with spaces so that 8 + N is a multiple of 8
**   the data   each tensor's elements, row-major and little-endian, at
**              bytes [b, e) of this part; together the tensors cover it
**              exactly, without a gap or an overlap
**
** Reading is strict, as the reference implementation is: the header length
** is checked against the file before anything else; the header must be
** that JSON subset (objects, strings with escapes, non-negative integers,
** arrays of them; valid UTF-8, no duplicate name, no other field); every
** tensor's bytes must match its dtype and shape and lie inside the data.
** Every failure names the file and what is wrong, and nothing is
** allocated before the sizes it depends on have been checked against the
** file's own size.
**
** bp_st_parse takes a buffer and never touches the file system: it is the
** entry point for fuzzing the reader.
*/
#ifndef BP_SAFETENSORS_H
#define BP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* The format's element types (the names are the file's: "F32", ...). */
typedef enum {
  BP_ST_BOOL, BP_ST_U8, BP_ST_I8, BP_ST_F8_E5M2, BP_ST_F8_E4M3, BP_ST_I16,
  BP_ST_U16, BP_ST_F16, BP_ST_BF16, BP_ST_I32, BP_ST_U32, BP_ST_F32,
  BP_ST_I64, BP_ST_U64, BP_ST_F64, BP_ST_NDTYPES
} bp_st_dtype;

const char *bp_st_dtype_name(bp_st_dtype dt);
size_t bp_st_dtype_size(bp_st_dtype dt);
/* F32, F64, F16, BF16: what bp_st_floats converts to float32. */
int bp_st_is_float(bp_st_dtype dt);

typedef struct bp_st_tensor {
  const char *name;         /* in the file's arena */
  bp_st_dtype dtype;
  int ndim;                 /* 0 for a scalar */
  const uint64_t *shape;    /* ndim sizes, in the file's arena */
  uint64_t numel;           /* 1 for a scalar */
  size_t begin, end;        /* its bytes: data + begin .. data + end */
} bp_st_tensor;

typedef struct bp_st_meta {
  const char *key, *value;
} bp_st_meta;

typedef struct bp_st_file {
  size_t ntensors;
  bp_st_tensor *tensors;    /* in the header's order */
  size_t nmeta;
  bp_st_meta *meta;         /* "__metadata__", in the header's order */
  const unsigned char *data;
  size_t data_len;
  void *arena;              /* names, strings and shapes */
  const bp_st_tensor **byname;  /* the tensors sorted by name (bp_st_find) */
  unsigned char *buf;       /* the file's bytes, when bp_st_read read them */
} bp_st_file;

/* Parse the size bytes at buf, a whole safetensors file; `what` names it
** in messages (the path). On success f describes it and points into buf,
** which must outlive f. On failure f holds nothing (bp_st_free is
** harmless). */
bp_status bp_st_parse(bp_st_file *f, const unsigned char *buf, size_t size,
                      const char *what, bp_error *err);
/* Read path whole and parse it; f owns the bytes. */
bp_status bp_st_read(bp_st_file *f, const char *path, bp_error *err);
void bp_st_free(bp_st_file *f);             /* idempotent */

/* The tensor called name, or NULL. */
const bp_st_tensor *bp_st_find(const bp_st_file *f, const char *name);

/* Tensor t's values as numel floats: F32 as they are, F64 rounded to
** nearest, F16 and BF16 exactly. Returns 0 (writing nothing) for other
** dtypes. */
int bp_st_floats(const bp_st_file *f, const bp_st_tensor *t, float *out);
/* Integer tensor t's element i, for dtypes I8 to I64 and U8 to U64 (and
** BOOL); 0 for others (a U64 above INT64_MAX too). */
int bp_st_int(const bp_st_file *f, const bp_st_tensor *t, uint64_t i,
              int64_t *v);

/* --- writing ----------------------------------------------------------- */

/* One tensor to write: F32 (float data), U8 (unsigned char) or I64
** (int64_t). */
typedef struct bp_st_entry {
  const char *name;
  bp_st_dtype dtype;
  int ndim;                 /* 0 for a scalar */
  const size_t *shape;
  const void *data;
} bp_st_entry;

/* The file of the n tensors (data in this order, one after the other)
** and the nmeta key/value pairs of "__metadata__" (meta[2k], meta[2k+1];
** none when nmeta is 0), into a new buffer (*buf, free() it). Names and
** strings must be valid UTF-8; names distinct and not "__metadata__". */
bp_status bp_st_encode(const bp_st_entry *t, size_t n,
                       const char *const *meta, size_t nmeta,
                       unsigned char **buf, size_t *size, bp_error *err);
/* The same, written to path so that it is never seen half written. */
bp_status bp_st_write(const char *path, const bp_st_entry *t, size_t n,
                      const char *const *meta, size_t nmeta, bp_error *err);

#endif
