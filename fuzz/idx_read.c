/*
** idx_read.c: libFuzzer target for the IDX reader (io/idx.c), plain or
** gzip-compressed, as read_idx uses it: open, allocate the tensor the
** header asks for, read.
**
** The reader's verdict and values are checked against a reference made
** here from the decompressed bytes (the gzip decoder is checked against
** zlib by the gunzip target): the file is valid exactly when those bytes
** are a header (0 0 type ndim, ndim non-zero big-endian sizes) followed
** by exactly the data it announces, and the tensor then holds the
** elements converted as idx.h says, bit for bit. Tensors above 16 MB are
** skipped (legal, but not the fuzzer's to allocate).
*/
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/idx.h"

#define LIMIT ((size_t)16 << 20)

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The bytes an IDX reader sees: the input, or its decompression, in a
** buffer kept for the run. NULL when the gzip stream is refused or
** decodes past LIMIT (*skip). */
static unsigned char *content(const uint8_t *data, size_t size, size_t *n,
                              int *skip) {
  static unsigned char *c;
  unsigned char *out;
  FILE *f;
  bp_gunzip *z;
  bp_error err;
  *skip = 0;
  if (c == NULL) c = malloc(LIMIT);
  fuzz_check(c != NULL, "out of memory");
  if (size < 2 || data[0] != 0x1F || data[1] != 0x8B) {
    if (size > LIMIT) {
      *skip = 1;
      return NULL;
    }
    memcpy(c, data, size);
    *n = size;
    return c;
  }
  f = fmemopen((void *)data, size, "rb");
  fuzz_check(f != NULL, "fmemopen");
  z = bp_gunzip_open(f, &err);
  fuzz_check(z != NULL, "out of memory");
  *n = 0;
  out = c;
  for (;;) {
    const unsigned char *p;
    size_t k;
    if (bp_gunzip_read(z, &p, &k, &err) != BP_OK) {
      out = NULL;
      break;
    }
    if (k == 0) break;
    if (k > LIMIT - *n) {
      *skip = 1;
      out = NULL;
      break;
    }
    memcpy(c + *n, p, k);
    *n += k;
  }
  bp_gunzip_close(z);
  fclose(f);
  return out;
}

/* The element types the IDX format lists, and their sizes in bytes. */
static const struct { int type; size_t size; } TYPES[] = {
  {0x08, 1}, {0x09, 1}, {0x0B, 2}, {0x0C, 4}, {0x0D, 4}, {0x0E, 8}
};

static size_t esize(int type) {
  size_t i;
  for (i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
    if (TYPES[i].type == type) return TYPES[i].size;
  return 0;
}

static float element(const unsigned char *p, int type) {
  uint32_t u;
  uint64_t v;
  float f;
  double d;
  switch (type) {
  case 0x08: return (float)p[0];
  case 0x09: return (float)(int8_t)p[0];
  case 0x0B: return (float)(int16_t)(uint16_t)(p[0] << 8 | p[1]);
  case 0x0C: return (float)(int32_t)be32(p);
  case 0x0D:
    u = be32(p);
    memcpy(&f, &u, 4);
    return f;
  default:
    v = (uint64_t)be32(p) << 32 | be32(p + 4);
    memcpy(&d, &v, 8);
    return (float)d;
  }
}

/* Whether c[0..n) is a valid IDX file; its element count in *numel. */
static int valid(const unsigned char *c, size_t n, size_t *numel) {
  size_t i, nd, es, m = 1;
  if (c == NULL || n < 4 || c[0] != 0 || c[1] != 0) return 0;
  es = esize(c[2]);
  nd = c[3];
  if (es == 0 || nd < 1 || nd > BP_MAXDIM || n < 4 + 4 * nd) return 0;
  for (i = 0; i < nd; i++) {
    uint32_t d = be32(c + 4 + 4 * i);
    if (d == 0 || m > (n / es) / d) return 0;   /* more than n bytes */
    m *= d;
  }
  *numel = m;
  return n - 4 - 4 * nd == m * es;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write("input.idx", data, size);
  size_t n = 0, numel = 0, i, hdr;
  int skip, ok, read_ok = 0;
  unsigned char *c = content(data, size, &n, &skip);
  bp_idx r;
  bp_tensor t;
  bp_error err;
  if (skip) return 0;
  ok = valid(c, n, &numel);
  memset(&t, 0, sizeof t);
  if (bp_idx_open(&r, path, &err) == BP_OK) {
    fuzz_check(r.numel * r.esize <= (size_t)size * 1032 + 1032,
               "header accepted for %lu bytes from a %lu-byte file",
               (unsigned long)(r.numel * r.esize), (unsigned long)size);
    if (r.numel * r.esize <= LIMIT) {
      bp_status st = bp_idx_dtype(&r) == BP_UINT8
                         ? bp_tensor_alloc_u8(&t, r.ndim, r.shape, &err)
                         : bp_tensor_alloc(&t, r.ndim, r.shape, &err);
      fuzz_check(st == BP_OK, "allocating the tensor: %s", err.msg);
      read_ok = bp_idx_read(&r, &t, &err) == BP_OK;
    } else {
      read_ok = -1;
    }
  }
  bp_idx_close(&r);
  bp_idx_close(&r);   /* idempotent */
  if (read_ok >= 0) {
    fuzz_check(read_ok == ok, "reader %s a file the reference %s: %s",
               read_ok ? "accepts" : "refuses", ok ? "accepts" : "refuses",
               read_ok ? "" : err.msg);
  }
  if (read_ok == 1) {
    int type = c[2];
    fuzz_check(t.numel == numel, "%lu elements, expected %lu",
               (unsigned long)t.numel, (unsigned long)numel);
    hdr = 4 + 4 * (size_t)c[3];
    for (i = 0; i < numel; i++) {
      float want = element(c + hdr + i * esize(type), type);
      float got = type == 0x08 ? (float)t.u8[i] : t.data[i];
      fuzz_check(memcmp(&want, &got, sizeof got) == 0,
                 "element %lu is %g, expected %g", (unsigned long)i,
                 (double)got, (double)want);
    }
  }
  bp_tensor_release(&t);
  return 0;
}
