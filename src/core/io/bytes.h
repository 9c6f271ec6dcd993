/*
** bytes.h: little-endian numbers into and out of a byte buffer, for the
** model file (serialize.c, model_v1.c) and its sections' values
** (the binding's lsave.c). A reader never reads past its
** end: each get returns 0 instead.
*/
#ifndef BP_BYTES_H
#define BP_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bp_reader {
  const unsigned char *p, *end;
} bp_reader;

static inline size_t bp_left(const bp_reader *r) {
  return (size_t)(r->end - r->p);
}

static inline int bp_get8(bp_reader *r, unsigned *v) {
  if (r->p == r->end) return 0;
  *v = *r->p++;
  return 1;
}

static inline int bp_get32(bp_reader *r, uint32_t *v) {
  if (bp_left(r) < 4) return 0;
  *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
       (uint32_t)r->p[3] << 24;
  r->p += 4;
  return 1;
}

static inline int bp_get64(bp_reader *r, uint64_t *v) {
  uint32_t lo = 0, hi = 0;
  if (bp_left(r) < 8) return 0;
  bp_get32(r, &lo);
  bp_get32(r, &hi);
  *v = (uint64_t)hi << 32 | lo;
  return 1;
}

static inline int bp_getf(bp_reader *r, float *f) {
  uint32_t v;
  if (!bp_get32(r, &v)) return 0;
  memcpy(f, &v, 4);
  return 1;
}

static inline unsigned char *bp_put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
  return p + 4;
}

static inline unsigned char *bp_put64(unsigned char *p, uint64_t v) {
  p = bp_put32(p, (uint32_t)v);
  return bp_put32(p, (uint32_t)(v >> 32));
}

static inline unsigned char *bp_putf(unsigned char *p, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  return bp_put32(p, v);
}

#endif
