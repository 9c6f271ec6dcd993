/*
** gunzip.c: libFuzzer target for the gzip decoder (io/inflate.c), checked
** against zlib.
**
** The input is a gzip file. Ours decodes it in chunks of varying size
** (bp_gunzip_read_max with 1, 7, 100, ... bytes wanted, which may overrun
** by a match's length and no more); zlib decodes it member after member,
** as gzip -d does, but refusing anything after the last member that is
** not another one, as ours does. Both must accept the same files and give
** the same bytes; output beyond a few MB is not compared (a fuzzer's
** memory limit is not a finding).
*/
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "io/inflate.h"

#define LIMIT ((size_t)16 << 20)
#define OVERRUN 258            /* a DEFLATE match, past what was asked for */

typedef struct out {
  unsigned char *p;             /* a buffer of LIMIT bytes kept for the run */
  size_t n;
  int ok;                       /* 1 decoded, 0 refused, -1 too long */
} out;

static void put(out *o, const unsigned char *p, size_t n) {
  if (o->ok < 0) return;
  if (n > LIMIT - o->n) {
    o->ok = -1;
    return;
  }
  memcpy(o->p + o->n, p, n);
  o->n += n;
}

static out ours(const uint8_t *data, size_t size) {
  static const size_t wants[] = {1, 7, 100, 1000, 40000, (size_t)1 << 20};
  out o = {NULL, 0, 1};
  FILE *f = fmemopen((void *)data, size, "rb");
  bp_gunzip *z;
  bp_error err;
  size_t i = 0;
  fuzz_check(f != NULL, "fmemopen");
  static unsigned char *space;
  if (space == NULL) space = malloc(LIMIT);
  fuzz_check(space != NULL, "out of memory");
  o.p = space;
  z = bp_gunzip_open(f, &err);
  fuzz_check(z != NULL, "bp_gunzip_open: %s", err.msg);
  for (;;) {
    const unsigned char *p;
    size_t n, want = wants[i++ % 6];
    if (bp_gunzip_read_max(z, want, &p, &n, &err) != BP_OK) {
      o.ok = 0;
      /* A failed decoder stays failed. */
      fuzz_check(bp_gunzip_read(z, &p, &n, &err) != BP_OK,
                 "a read after an error succeeded");
      break;
    }
    fuzz_check(n <= want + OVERRUN, "asked for %lu bytes, got %lu",
               (unsigned long)want, (unsigned long)n);
    if (n == 0) break;
    put(&o, p, n);
    if (o.ok < 0) break;
  }
  bp_gunzip_close(z);
  fclose(f);
  return o;
}

/* zlib: members back to back until the input ends. */
static out reference(const uint8_t *data, size_t size) {
  out o = {NULL, 0, 1};
  z_stream s;
  unsigned char buf[65536];
  size_t at = 0;
  static unsigned char *space;
  if (space == NULL) space = malloc(LIMIT);
  fuzz_check(space != NULL, "out of memory");
  o.p = space;
  do {
    int rc;
    if (size - at < 2 || data[at] != 0x1F || data[at + 1] != 0x8B) {
      o.ok = 0;
      break;
    }
    memset(&s, 0, sizeof s);
    fuzz_check(inflateInit2(&s, 16 + MAX_WBITS) == Z_OK, "inflateInit2");
    s.next_in = (unsigned char *)data + at;
    s.avail_in = (uInt)(size - at);
    do {
      s.next_out = buf;
      s.avail_out = sizeof buf;
      rc = inflate(&s, Z_NO_FLUSH);
      put(&o, buf, sizeof buf - s.avail_out);
    } while (rc == Z_OK && o.ok > 0);
    at = size - s.avail_in;
    inflateEnd(&s);
    if (rc != Z_STREAM_END) {
      if (o.ok > 0) o.ok = 0;
      break;
    }
  } while (at < size);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  out a, b;
  if (size > ((size_t)1 << 31)) return 0;   /* zlib's uInt */
  a = ours(data, size);
  b = reference(data, size);
  if (a.ok >= 0 && b.ok >= 0) {
    fuzz_check(a.ok == b.ok, "ours %s, zlib %s", a.ok ? "decodes" : "refuses",
               b.ok ? "decodes" : "refuses");
    fuzz_check(!a.ok || (a.n == b.n && memcmp(a.p, b.p, a.n) == 0),
               "ours and zlib decode to different bytes (%lu and %lu)",
               (unsigned long)a.n, (unsigned long)b.n);
  }
  return 0;
}
