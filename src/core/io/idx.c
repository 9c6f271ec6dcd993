/*
** idx.c: IDX files (see idx.h). The header is 0 0 <type> <ndim>, then ndim
** big-endian 32-bit sizes, then the values, big-endian, row-major. A file
** starting 0x1f 0x8b is gzip and goes through the decoder in inflate.c.
*/
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/idx.h"
#include "tensor/tensor.h"

/* The read buffer of a plain file. The fuzz build (fuzz/idx_read.c) makes
** it tiny so that elements are split between reads there too. */
#ifndef BP_IDX_BUFSIZE
#define BP_IDX_BUFSIZE 65536u
#endif
#define BUFSIZE ((size_t)BP_IDX_BUFSIZE)
#define MAX_RATIO 1032u   /* DEFLATE never expands more than 1032:1 */

static const char *TYPES = "0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, "
                           "0x0D float32 or 0x0E float64";

static size_t type_size(int type) {
  switch (type) {
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

/* The next bytes of the (decompressed) file into r->p, r->n; n = 0 at
** the end. A gzip file is decoded only as far as the `want` bytes the
** caller still needs (roughly: a match may run a little past), so what
** follows the data, even a 4 GiB gzip member, is never decompressed. */
static bp_status next(bp_idx *r, size_t want, bp_error *err) {
  if (r->gz) return bp_gunzip_read_max(r->gz, want, &r->p, &r->n, err);
  r->p = r->buf;
  r->n = fread(r->buf, 1, BUFSIZE, r->f);
  if (r->n == 0 && ferror(r->f))
    return bp_fail(err, BP_EIO, "read error: %s", strerror(errno ? errno : EIO));
  return BP_OK;
}

/* Exactly want bytes into dst; *got says how many there were. */
static bp_status take(bp_idx *r, unsigned char *dst, size_t want, size_t *got,
                      bp_error *err) {
  *got = 0;
  while (*got < want) {
    size_t k;
    if (r->n == 0) {
      bp_status st = next(r, want - *got, err);
      if (st != BP_OK) return st;
      if (r->n == 0) break;
    }
    k = want - *got < r->n ? want - *got : r->n;
    memcpy(dst + *got, r->p, k);
    r->p += k;
    r->n -= k;
    *got += k;
  }
  return BP_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bp_status read_header(bp_idx *r, bp_error *err) {
  unsigned char h[4 + 4 * BP_MAXDIM];
  size_t got, need, i, limit = SIZE_MAX;
  bp_status st;
  if ((st = take(r, h, 4, &got, err)) != BP_OK) return st;
  if (got < 4)
    return bp_fail(err, BP_EFORMAT, "not an IDX file: %lu bytes are too few "
                   "for the 4-byte magic number", (unsigned long)got);
  if (h[0] != 0 || h[1] != 0)
    return bp_fail(err, BP_EFORMAT, "not an IDX file: the magic number starts "
                   "with 0x%02x 0x%02x, expected 0x00 0x00", h[0], h[1]);
  r->type = h[2];
  r->esize = type_size(r->type);
  if (r->esize == 0)
    return bp_fail(err, BP_EFORMAT, "unsupported IDX type code 0x%02x "
                   "(expected %s)", h[2], TYPES);
  r->ndim = h[3];
  if (r->ndim < 1 || r->ndim > BP_MAXDIM)
    return bp_fail(err, BP_EFORMAT, "the IDX header gives %d dimensions; "
                   "1 to %d are supported", r->ndim, BP_MAXDIM);
  need = 4 * (size_t)r->ndim;
  if ((st = take(r, h + 4, need, &got, err)) != BP_OK) return st;
  if (got < need)
    return bp_fail(err, BP_EFORMAT, "truncated IDX header: expected %lu "
                   "bytes of sizes for %d dimensions, got %lu",
                   (unsigned long)need, r->ndim, (unsigned long)got);
  r->numel = 1;
  for (i = 0; i < (size_t)r->ndim; i++) {
    uint32_t d = be32(h + 4 + 4 * i);
    if (d == 0)
      return bp_fail(err, BP_EFORMAT, "dimension %lu has size 0 (empty "
                     "tensors are not supported)", (unsigned long)i + 1);
    if (r->numel > limit / r->esize / d)
      return bp_fail(err, BP_EFORMAT, "the IDX header's sizes overflow");
    r->shape[i] = d;
    r->numel *= d;
  }
  return BP_OK;
}

bp_status bp_idx_open(bp_idx *r, const char *path, bp_error *err) {
  unsigned char magic[2];
  size_t got, bytes;
  long end;
  bp_status st;
  memset(r, 0, sizeof *r);
  r->f = fopen(path, "rb");
  if (r->f == NULL)
    return bp_fail(err, BP_EIO, "cannot open: %s", strerror(errno));
  if (fseek(r->f, 0, SEEK_END) != 0 || (end = ftell(r->f)) < 0 ||
      fseek(r->f, 0, SEEK_SET) != 0)
    return bp_fail(err, BP_EIO, "cannot seek in it (IDX files must be "
                   "regular files): %s", strerror(errno));
  r->fsize = (unsigned long long)end;
  got = fread(magic, 1, 2, r->f);
  if (got < 2 && ferror(r->f))
    return bp_fail(err, BP_EIO, "read error: %s", strerror(errno ? errno : EIO));
  if (fseek(r->f, 0, SEEK_SET) != 0)
    return bp_fail(err, BP_EIO, "cannot seek in it: %s", strerror(errno));
  if (got == 2 && magic[0] == 0x1F && magic[1] == 0x8B) {
    r->gz = bp_gunzip_open(r->f, err);
    if (r->gz == NULL) return BP_ENOMEM;
  } else {
    r->buf = bp_malloc(BUFSIZE);
    if (r->buf == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  }
  if ((st = read_header(r, err)) != BP_OK) return st;
  /* Check the size before the caller allocates: exactly for a plain file,
  ** against the most DEFLATE can expand for a gzip one (a damaged header
  ** must not make us allocate terabytes). */
  bytes = r->numel * r->esize;
  if (r->gz == NULL) {
    unsigned long long have = r->fsize - (4 + 4 * (unsigned long long)r->ndim);
    if (have != bytes)
      return bp_fail(err, BP_EFORMAT, "expected %lu bytes of data after the "
                     "header, got %llu", (unsigned long)bytes, have);
  } else if (bytes / MAX_RATIO > r->fsize) {
    return bp_fail(err, BP_EFORMAT, "the header asks for %lu bytes of data, "
                   "more than a %llu-byte gzip file can hold",
                   (unsigned long)bytes, r->fsize);
  }
  return BP_OK;
}

bp_dtype bp_idx_dtype(const bp_idx *r) {
  return r->type == 0x08 ? BP_UINT8 : BP_FLOAT32;
}

/* One big-endian element of type `type` as a float. */
static float convert(const unsigned char *p, int type) {
  uint32_t u;
  switch (type) {
  case 0x09: return (float)(signed char)p[0];
  case 0x0B: return (float)(int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
  case 0x0C: return (float)(int32_t)be32(p);
  case 0x0D: {
    float f;
    u = be32(p);
    memcpy(&f, &u, 4);
    return f;
  }
  default: {   /* 0x0E */
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
    double d;
    memcpy(&d, &v, 8);
    return (float)d;
  }
  }
}

bp_status bp_idx_read(bp_idx *r, bp_tensor *t, bp_error *err) {
  size_t want = r->numel * r->esize, got = 0, extra, k = 0, nc = 0;
  unsigned char carry[8];      /* an element split between two chunks */
  bp_status st;
  if (t->numel != r->numel || t->dtype != bp_idx_dtype(r))
    return bp_fail(err, BP_EINVAL, "tensor does not match the IDX header");
  while (got < want) {
    const unsigned char *p;
    size_t m;
    if (r->n == 0) {
      if ((st = next(r, want - got, err)) != BP_OK) return st;
      if (r->n == 0) break;
    }
    m = want - got < r->n ? want - got : r->n;
    p = r->p;
    r->p += m;
    r->n -= m;
    got += m;
    if (r->type == 0x08) {
      memcpy(t->u8 + got - m, p, m);
      continue;
    }
    while (m > 0) {
      if (nc > 0 || m < r->esize) {
        size_t c = r->esize - nc < m ? r->esize - nc : m;
        memcpy(carry + nc, p, c);
        nc += c;
        p += c;
        m -= c;
        if (nc == r->esize) {
          t->data[k++] = convert(carry, r->type);
          nc = 0;
        }
      } else {
        size_t whole = m / r->esize, i;
        for (i = 0; i < whole; i++) t->data[k++] = convert(p + i * r->esize, r->type);
        p += whole * r->esize;
        m -= whole * r->esize;
      }
    }
  }
  if (got < want)
    return bp_fail(err, BP_EFORMAT, "expected %lu bytes of data after the "
                   "header, got %lu", (unsigned long)want, (unsigned long)got);
  /* Nothing may follow the data. One more byte is asked for: that reads
  ** the last member's trailer (its CRC is checked there) and stops at the
  ** first byte past the data. A plain file's size was checked at open. */
  extra = r->n;
  r->n = 0;
  if (extra == 0) {
    if ((st = next(r, 1, err)) != BP_OK) return st;
    extra = r->n;
    r->n = 0;
  }
  if (extra > 0)
    return bp_fail(err, BP_EFORMAT, "expected %lu bytes of data after the "
                   "header, but the %s data goes on past them",
                   (unsigned long)want, r->gz ? "decompressed" : "file's");
  return BP_OK;
}

void bp_idx_close(bp_idx *r) {
  bp_gunzip_close(r->gz);
  r->gz = NULL;
  free(r->buf);
  r->buf = NULL;
  if (r->f) fclose(r->f);
  r->f = NULL;
  r->p = NULL;
  r->n = 0;
}
