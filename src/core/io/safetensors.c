/*
** safetensors.c: the safetensors format (see safetensors.h).
**
** The header is parsed twice by the same code: the first pass checks
** everything a tensor can get wrong on its own and counts what the second
** pass stores (tensors, metadata pairs, shape sizes, string bytes), each
** count bounded by the header's length, which is bounded by the file's.
** Then one allocation each, the second pass, and the checks that need the
** whole list (duplicate names; tensors covering the data exactly).
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/bytes.h"
#include "io/file.h"
#include "io/safetensors.h"

static const struct {
  const char *name;
  size_t size;
} DTYPES[BP_ST_NDTYPES] = {
  {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
  {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"U32", 4},
  {"F32", 4}, {"I64", 8}, {"U64", 8}, {"F64", 8},
};

const char *bp_st_dtype_name(bp_st_dtype dt) {
  return (unsigned)dt < BP_ST_NDTYPES ? DTYPES[dt].name : "?";
}

size_t bp_st_dtype_size(bp_st_dtype dt) {
  return (unsigned)dt < BP_ST_NDTYPES ? DTYPES[dt].size : 0;
}

int bp_st_is_float(bp_st_dtype dt) {
  return dt == BP_ST_F32 || dt == BP_ST_F64 || dt == BP_ST_F16 ||
         dt == BP_ST_BF16;
}

/* Length of the UTF-8 sequence at p (before end), 0 if it is not a valid
** one: no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0], lo = 0x80, hi = 0xBF;
  size_t n, k;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) n = 3;
  else if (c >= 0xF0 && c <= 0xF4) n = 4;
  else return 0;
  if ((size_t)(end - p) < n) return 0;
  if (c == 0xE0) lo = 0xA0;
  if (c == 0xED) hi = 0x9F;
  if (c == 0xF0) lo = 0x90;
  if (c == 0xF4) hi = 0x8F;
  if (p[1] < lo || p[1] > hi) return 0;
  for (k = 2; k < n; k++)
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  return n;
}

/* --- reading: the header ---------------------------------------------- */

typedef struct parser {
  const unsigned char *p, *start, *end;   /* the header text */
  const char *what;                       /* the file, for messages */
  bp_error *err;
  size_t data_len;
  size_t ntensors, nmeta, ndims, nchars;  /* counted, then stored */
  int fill;                               /* the second pass */
  bp_st_file *f;
  uint64_t *dims;                         /* next free (second pass) */
  char *chars;
} parser;

/* "'<file>': bad safetensors header at byte <k>: <msg>" */
static bp_status bad(parser *ps, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return bp_fail(ps->err, BP_EFORMAT, "'%s': bad safetensors header at byte "
                 "%lu: %s", ps->what, (unsigned long)(ps->p - ps->start + 8),
                 msg);
}

static void ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                             *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

/* Skip whitespace, then expect the character c. */
static bp_status expect(parser *ps, char c, const char *where) {
  ws(ps);
  if (ps->p == ps->end)
    return bad(ps, "the header ends where '%c' should come %s", c, where);
  if (*ps->p != (unsigned char)c)
    return bad(ps, "expected '%c' %s, got '%c'", c, where, *ps->p);
  ps->p++;
  return BP_OK;
}

/* Skip whitespace; 1 (and skip it) if the next character is c. */
static int next_is(parser *ps, char c) {
  ws(ps);
  if (ps->p < ps->end && *ps->p == (unsigned char)c) {
    ps->p++;
    return 1;
  }
  return 0;
}

static int hex4(const unsigned char *p, unsigned *v) {
  int k;
  *v = 0;
  for (k = 0; k < 4; k++) {
    unsigned c = p[k], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return 0;
    *v = *v << 4 | d;
  }
  return 1;
}

/* Append code point / bytes to the decoded string: at most cap - 1 bytes
** are kept in dst (NUL-terminated by the caller), all are counted. */
static void put(char *dst, size_t cap, size_t *len, const void *s, size_t n) {
  size_t k;
  for (k = 0; k < n; k++, (*len)++)
    if (dst != NULL && *len + 1 < cap) dst[*len] = ((const char *)s)[k];
}

static void put_cp(char *dst, size_t cap, size_t *len, unsigned cp) {
  unsigned char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (unsigned char)(0xC0 | cp >> 6);
    b[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (unsigned char)(0xE0 | cp >> 12);
    b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (unsigned char)(0xF0 | cp >> 18);
    b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  put(dst, cap, len, b, n);
}

/* The JSON string at ps->p, decoded: its first cap - 1 bytes into dst
** (NUL-terminated; dst may be NULL), its full length into *len. Decoding
** never makes a string longer than its text. */
static bp_status string(parser *ps, char *dst, size_t cap, size_t *len) {
  static const char ESC[] = "\"\\/bfnrt", OUT[] = "\"\\/\b\f\n\r\t";
  *len = 0;
  ws(ps);
  if (ps->p == ps->end || *ps->p != '"')
    return bad(ps, "expected a string");
  ps->p++;
  for (;;) {
    unsigned c, cp, lo;
    const char *e;
    size_t n;
    if (ps->p == ps->end) return bad(ps, "a string is not closed");
    c = *ps->p;
    if (c == '"') break;
    if (c < 0x20) return bad(ps, "control character 0x%02x in a string", c);
    if (c != '\\') {
      n = utf8_seq(ps->p, ps->end);
      if (n == 0) return bad(ps, "a string is not valid UTF-8");
      put(dst, cap, len, ps->p, n);
      ps->p += n;
      continue;
    }
    if (ps->end - ps->p < 2) return bad(ps, "a string is not closed");
    e = ps->p[1] != 0 ? strchr(ESC, ps->p[1]) : NULL;
    if (e != NULL) {
      put(dst, cap, len, &OUT[e - ESC], 1);
      ps->p += 2;
      continue;
    }
    if (ps->p[1] != 'u' || ps->end - ps->p < 6 || !hex4(ps->p + 2, &cp))
      return bad(ps, "invalid escape in a string");
    ps->p += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return bad(ps, "a lone low surrogate \\u%04X in a string", cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
          !hex4(ps->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return bad(ps, "a high surrogate \\u%04X without its low half", cp);
      ps->p += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return bad(ps, "a string holds a NUL character (\\u0000)");
    put_cp(dst, cap, len, cp);
  }
  ps->p++;
  if (dst != NULL && cap > 0) dst[*len < cap ? *len : cap - 1] = '\0';
  return BP_OK;
}

/* A non-negative JSON integer that fits 64 bits. */
static bp_status integer(parser *ps, uint64_t *v) {
  ws(ps);
  *v = 0;
  if (ps->p < ps->end && *ps->p == '-')
    return bad(ps, "a negative number where a size or offset goes");
  if (ps->p == ps->end || *ps->p < '0' || *ps->p > '9')
    return bad(ps, "expected an integer");
  if (*ps->p == '0' && ps->end - ps->p > 1 && ps->p[1] >= '0' &&
      ps->p[1] <= '9')
    return bad(ps, "a number with a leading zero");
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    unsigned d = *ps->p - '0';
    if (*v > (UINT64_MAX - d) / 10) return bad(ps, "an integer too large");
    *v = *v * 10 + d;
    ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
    return bad(ps, "expected an integer, got a fraction or an exponent");
  return BP_OK;
}

/* An array of integers: the first `cap` into v (if not NULL), the count
** into *n. */
static bp_status integers(parser *ps, uint64_t *v, size_t cap, size_t *n) {
  bp_status st = expect(ps, '[', "to open an array");
  *n = 0;
  if (st != BP_OK || next_is(ps, ']')) return st;
  do {
    uint64_t x;
    if ((st = integer(ps, &x)) != BP_OK) return st;
    if (v != NULL && *n < cap) v[*n] = x;
    (*n)++;
  } while (next_is(ps, ','));
  return expect(ps, ']', "to close an array");
}

/* A string kept in the arena: the first pass counts its bytes (decoded
** length + 1), the second stores it there and points *out at it. */
static bp_status stored_string(parser *ps, const char **out) {
  size_t len, room = ps->fill ? ps->nchars : 0;
  char *dst = ps->fill ? ps->chars : NULL;
  bp_status st = string(ps, dst, room, &len);
  if (st != BP_OK) return st;
  if (ps->fill) {
    *out = dst;
    ps->chars += len + 1;
    ps->nchars -= len + 1;
  } else {
    ps->nchars += len + 1;
  }
  return BP_OK;
}

/* "__metadata__": {"key": "value", ...} */
static bp_status meta_pair(parser *ps) {
  const char *k = NULL, *v = NULL;
  bp_status st;
  if ((st = stored_string(ps, &k)) != BP_OK ||
      (st = expect(ps, ':', "after a key of __metadata__")) != BP_OK)
    return st;
  ws(ps);
  if (ps->p < ps->end && *ps->p != '"')
    return bad(ps, "__metadata__ values must be strings");
  if ((st = stored_string(ps, &v)) != BP_OK) return st;
  if (ps->fill) {
    ps->f->meta[ps->f->nmeta].key = k;
    ps->f->meta[ps->f->nmeta++].value = v;
  } else {
    ps->nmeta++;
  }
  return BP_OK;
}

static bp_status metadata(parser *ps) {
  bp_status st = expect(ps, '{', "to open __metadata__");
  if (st != BP_OK || next_is(ps, '}')) return st;
  do {
    if ((st = meta_pair(ps)) != BP_OK) return st;
  } while (next_is(ps, ','));
  return expect(ps, '}', "to close __metadata__");
}

#define MAXDIM 64   /* more dimensions than any tensor has */

/* A tensor's entry as read so far. */
typedef struct fields {
  unsigned seen;            /* DTYPE | SHAPE | OFFSETS */
  int dt;
  size_t ndim;
  uint64_t shape[MAXDIM], off[2];
} fields;

enum { DTYPE = 1, SHAPE = 2, OFFSETS = 4 };

/* One field of tensor name's entry: "dtype": "F32", "shape": [...] or
** "data_offsets": [b, e]. */
static bp_status field(parser *ps, const char *name, fields *e) {
  char key[16], val[16];
  size_t len, n, k;
  unsigned bit;
  bp_status st;
  if ((st = string(ps, key, sizeof key, &len)) != BP_OK ||
      (st = expect(ps, ':', "after a field name")) != BP_OK)
    return st;
  bit = len >= sizeof key ? 0 : strcmp(key, "dtype") == 0 ? DTYPE
      : strcmp(key, "shape") == 0 ? SHAPE
      : strcmp(key, "data_offsets") == 0 ? OFFSETS : 0;
  if (bit == 0)
    return bad(ps, "tensor '%.60s' has an unknown field '%.15s'", name, key);
  if (e->seen & bit)
    return bad(ps, "tensor '%.60s' has '%s' twice", name, key);
  e->seen |= bit;
  if (bit == DTYPE) {
    ws(ps);
    if (ps->p < ps->end && *ps->p != '"')
      return bad(ps, "tensor '%.60s': dtype must be a string", name);
    if ((st = string(ps, val, sizeof val, &len)) != BP_OK) return st;
    for (k = 0; k < BP_ST_NDTYPES && len < sizeof val; k++)
      if (strcmp(val, DTYPES[k].name) == 0) e->dt = (int)k;
    if (e->dt < 0)
      return bad(ps, "tensor '%.60s' has an unknown dtype '%.15s'", name,
                 val);
  } else if (bit == SHAPE) {
    if ((st = integers(ps, e->shape, MAXDIM, &e->ndim)) != BP_OK) return st;
    if (e->ndim > MAXDIM)
      return bad(ps, "tensor '%.60s' has %lu dimensions (at most %d)", name,
                 (unsigned long)e->ndim, MAXDIM);
  } else {
    if ((st = integers(ps, e->off, 2, &n)) != BP_OK) return st;
    if (n != 2)
      return bad(ps, "tensor '%.60s': data_offsets must be two integers, "
                 "got %lu", name, (unsigned long)n);
  }
  return BP_OK;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} of tensor name
** (in the first pass, a copy cut short for messages), checked against
** the data; stored into *t in the second pass. */
static bp_status tensor(parser *ps, const char *name, bp_st_tensor *t) {
  fields e;
  uint64_t numel = 1, bytes, *off = e.off;
  size_t k;
  bp_status st = expect(ps, '{', "to open a tensor's entry");
  if (st != BP_OK) return st;
  memset(&e, 0, sizeof e);
  e.dt = -1;
  if (!next_is(ps, '}')) {
    do {
      if ((st = field(ps, name, &e)) != BP_OK) return st;
    } while (next_is(ps, ','));
    if ((st = expect(ps, '}', "to close a tensor's entry")) != BP_OK)
      return st;
  }
  if (e.seen != (DTYPE | SHAPE | OFFSETS))
    return bad(ps, "tensor '%.60s' has no '%s'", name,
               !(e.seen & DTYPE) ? "dtype" : !(e.seen & SHAPE)
                                                 ? "shape" : "data_offsets");
  for (k = 0; k < e.ndim; k++) {
    if (e.shape[k] != 0 && numel > UINT64_MAX / e.shape[k])
      return bad(ps, "tensor '%.60s' has a shape too large", name);
    numel *= e.shape[k];
  }
  if (numel > UINT64_MAX / DTYPES[e.dt].size)
    return bad(ps, "tensor '%.60s' has a shape too large", name);
  bytes = numel * DTYPES[e.dt].size;
  if (off[0] > off[1])
    return bad(ps, "tensor '%.60s': data_offsets [%llu, %llu] end before "
               "they begin", name, (unsigned long long)off[0],
               (unsigned long long)off[1]);
  if (off[1] > ps->data_len)
    return bad(ps, "tensor '%.60s': data_offsets [%llu, %llu] go past the "
               "end of the data (%lu bytes): the file is truncated", name,
               (unsigned long long)off[0], (unsigned long long)off[1],
               (unsigned long)ps->data_len);
  if (off[1] - off[0] != bytes)
    return bad(ps, "tensor '%.60s': data_offsets [%llu, %llu] hold %llu "
               "bytes, but %llu values of %s need %llu", name,
               (unsigned long long)off[0], (unsigned long long)off[1],
               (unsigned long long)(off[1] - off[0]),
               (unsigned long long)numel, DTYPES[e.dt].name,
               (unsigned long long)bytes);
  if (!ps->fill) {
    ps->ndims += e.ndim;
    return BP_OK;
  }
  memcpy(ps->dims, e.shape, e.ndim * sizeof *e.shape);
  t->name = name;
  t->dtype = (bp_st_dtype)e.dt;
  t->ndim = (int)e.ndim;
  t->shape = ps->dims;
  t->numel = numel;
  t->begin = (size_t)off[0];
  t->end = (size_t)off[1];
  ps->dims += e.ndim;
  return BP_OK;
}

/* One member of the header: "__metadata__": {...} or a tensor's entry. */
static bp_status member(parser *ps, int *had_meta) {
  char name[64];
  const char *stored = name;
  size_t len;
  const unsigned char *at = ps->p;
  bp_st_tensor *t = ps->fill ? &ps->f->tensors[ps->f->ntensors] : NULL;
  bp_status st = string(ps, name, sizeof name, &len);
  if (st != BP_OK) return st;
  if (len == 12 && memcmp(name, "__metadata__", 12) == 0) {
    if (*had_meta) return bad(ps, "__metadata__ twice");
    *had_meta = 1;
    if ((st = expect(ps, ':', "after __metadata__")) != BP_OK) return st;
    return metadata(ps);
  }
  if (ps->fill) {             /* again, whole, into the arena */
    ps->p = at;
    if ((st = stored_string(ps, &stored)) != BP_OK) return st;
  } else {
    ps->nchars += len + 1;
  }
  if ((st = expect(ps, ':', "after a tensor's name")) != BP_OK ||
      (st = tensor(ps, stored, t)) != BP_OK)
    return st;
  if (ps->fill) ps->f->ntensors++;
  else ps->ntensors++;
  return BP_OK;
}

/* The whole header: one object of tensors and "__metadata__", then only
** whitespace (the padding). */
static bp_status header(parser *ps) {
  int had_meta = 0;
  bp_status st;
  ws(ps);
  if (ps->p == ps->end || *ps->p != '{')
    return bad(ps, "the header is not a JSON object (it must start with "
               "'{')");
  ps->p++;
  if (!next_is(ps, '}')) {
    do {
      if ((st = member(ps, &had_meta)) != BP_OK) return st;
    } while (next_is(ps, ','));
    if ((st = expect(ps, '}', "to close the header")) != BP_OK) return st;
  }
  ws(ps);
  if (ps->p != ps->end)
    return bad(ps, "more after the header's object (only spaces may pad it)");
  return BP_OK;
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(const bp_st_tensor *const *)a)->name,
                (*(const bp_st_tensor *const *)b)->name);
}

static int by_offset(const void *a, const void *b) {
  const bp_st_tensor *x = *(const bp_st_tensor *const *)a;
  const bp_st_tensor *y = *(const bp_st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* What needs every tensor: distinct names, and the tensors covering the
** data exactly (sorted by offset, each begins where the one before ends). */
static bp_status whole(bp_st_file *f, const char *what, bp_error *err) {
  const bp_st_tensor **s = f->byname;
  size_t i, at = 0;
  for (i = 1; i < f->ntensors; i++)
    if (strcmp(s[i - 1]->name, s[i]->name) == 0)
      return bp_fail(err, BP_EFORMAT, "'%s': bad safetensors header: tensor "
                     "'%.60s' twice", what, s[i]->name);
  s = bp_malloc((f->ntensors + 1) * sizeof *s);
  if (s == NULL) return bp_fail(err, BP_ENOMEM, "out of memory reading '%s'",
                                what);
  memcpy(s, f->byname, f->ntensors * sizeof *s);
  qsort(s, f->ntensors, sizeof *s, by_offset);
  for (i = 0; i < f->ntensors; i++) {
    if (s[i]->begin != at) {
      bp_status st = bp_fail(err, BP_EFORMAT, "'%s': bad safetensors "
                             "header: tensor '%.60s' starts at byte %lu of "
                             "the data, expected %lu (the tensors must cover "
                             "the data without gaps or overlaps)", what,
                             s[i]->name, (unsigned long)s[i]->begin,
                             (unsigned long)at);
      free(s);
      return st;
    }
    at = s[i]->end;
  }
  free(s);
  if (at != f->data_len)
    return bp_fail(err, BP_EFORMAT, "'%s': bad safetensors file: its tensors "
                   "end at byte %lu of the data, which has %lu (trailing "
                   "bytes)", what, (unsigned long)at,
                   (unsigned long)f->data_len);
  return BP_OK;
}

bp_status bp_st_parse(bp_st_file *f, const unsigned char *buf, size_t size,
                      const char *what, bp_error *err) {
  parser ps;
  bp_reader r;
  uint32_t lo = 0, hi = 0;
  uint64_t n;
  bp_status st;
  size_t i;
  memset(f, 0, sizeof *f);
  if (size < 8)
    return bp_fail(err, BP_EFORMAT, "'%s' is not a safetensors file (%lu "
                   "bytes, too short for the header's length)", what,
                   (unsigned long)size);
  r.p = buf;
  r.end = buf + size;
  bp_get32(&r, &lo);
  bp_get32(&r, &hi);
  n = (uint64_t)hi << 32 | lo;
  if (n > size - 8)
    return bp_fail(err, BP_EFORMAT, "'%s' is not a safetensors file, or is "
                   "truncated: its header length is %llu bytes, but only %lu "
                   "follow", what, (unsigned long long)n,
                   (unsigned long)(size - 8));
  memset(&ps, 0, sizeof ps);
  ps.start = ps.p = buf + 8;
  ps.end = buf + 8 + (size_t)n;
  ps.what = what;
  ps.err = err;
  ps.data_len = size - 8 - (size_t)n;
  if ((st = header(&ps)) != BP_OK) return st;
  /* every count is at most n: each stored thing takes header bytes */
  f->tensors = bp_calloc(ps.ntensors + 1, sizeof *f->tensors);
  f->meta = bp_calloc(ps.nmeta + 1, sizeof *f->meta);
  f->byname = bp_calloc(ps.ntensors + 1, sizeof *f->byname);
  f->arena = bp_malloc(ps.ndims * sizeof(uint64_t) + ps.nchars + 1);
  if (f->tensors == NULL || f->meta == NULL || f->byname == NULL ||
      f->arena == NULL) {
    bp_st_free(f);
    return bp_fail(err, BP_ENOMEM, "out of memory reading '%s'", what);
  }
  ps.fill = 1;
  ps.f = f;
  ps.p = ps.start;
  ps.dims = f->arena;
  ps.chars = (char *)(ps.dims + ps.ndims);
  header(&ps);                 /* the same text: it succeeds again */
  f->data = ps.end;
  f->data_len = ps.data_len;
  for (i = 0; i < f->ntensors; i++) f->byname[i] = &f->tensors[i];
  qsort(f->byname, f->ntensors, sizeof *f->byname, by_name);
  if ((st = whole(f, what, err)) != BP_OK) bp_st_free(f);
  return st;
}

bp_status bp_st_read(bp_st_file *f, const char *path, bp_error *err) {
  FILE *fp = fopen(path, "rb");
  unsigned char *buf;
  long size;
  bp_status st;
  memset(f, 0, sizeof *f);
  if (fp == NULL)
    return bp_fail(err, BP_EIO, "cannot open '%s': %s", path,
                   strerror(errno));
  if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
      fseek(fp, 0, SEEK_SET) != 0) {
    fclose(fp);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  buf = bp_malloc(size > 0 ? (size_t)size : 1);
  if (buf == NULL) {
    fclose(fp);
    return bp_fail(err, BP_ENOMEM, "out of memory reading '%s'", path);
  }
  if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
    fclose(fp);
    free(buf);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  fclose(fp);
  st = bp_st_parse(f, buf, (size_t)size, path, err);
  if (st != BP_OK) {
    free(buf);
    return st;
  }
  f->buf = buf;
  return BP_OK;
}

void bp_st_free(bp_st_file *f) {
  free(f->tensors);
  free(f->meta);
  free(f->byname);
  free(f->arena);
  free(f->buf);
  memset(f, 0, sizeof *f);
}

const bp_st_tensor *bp_st_find(const bp_st_file *f, const char *name) {
  size_t lo = 0, hi = f->ntensors;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, f->byname[mid]->name);
    if (c == 0) return f->byname[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

/* --- reading: the values ------------------------------------------------ */

/* The n-byte little-endian number at p. */
static uint64_t le(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  while (n-- > 0) v = v << 8 | p[n];
  return v;
}

static float from_bits(uint32_t b) {
  float x;
  memcpy(&x, &b, sizeof x);
  return x;
}

/* IEEE half precision, exactly (subnormals, infinities and NaN too). */
static float half(unsigned h) {
  unsigned e = h >> 10 & 0x1F, m = h & 0x3FF;
  float v;
  if (e == 0) v = (float)m * 5.9604644775390625e-8f;   /* m 2^-24 */
  else if (e == 31) return from_bits((uint32_t)(h & 0x8000) << 16 |
                                     0x7F800000u | (uint32_t)m << 13);
  else return from_bits((uint32_t)(h & 0x8000) << 16 |
                        (uint32_t)(e + 112) << 23 | (uint32_t)m << 13);
  return (h & 0x8000) ? -v : v;
}

int bp_st_floats(const bp_st_file *f, const bp_st_tensor *t, float *out) {
  const unsigned char *p = f->data + t->begin;
  uint64_t i;
  if (!bp_st_is_float(t->dtype)) return 0;
  for (i = 0; i < t->numel; i++) {
    switch (t->dtype) {
    case BP_ST_F32: out[i] = from_bits((uint32_t)le(p + 4 * i, 4)); break;
    case BP_ST_BF16: out[i] = from_bits((uint32_t)le(p + 2 * i, 2) << 16);
      break;
    case BP_ST_F16: out[i] = half((unsigned)le(p + 2 * i, 2)); break;
    default: {
      uint64_t b = le(p + 8 * i, 8);
      double d;
      memcpy(&d, &b, sizeof d);
      out[i] = (float)d;
    }
    }
  }
  return 1;
}

int bp_st_int(const bp_st_file *f, const bp_st_tensor *t, uint64_t i,
              int64_t *v) {
  size_t n = DTYPES[t->dtype].size;
  uint64_t u;
  if (bp_st_is_float(t->dtype) || t->dtype == BP_ST_F8_E5M2 ||
      t->dtype == BP_ST_F8_E4M3 || i >= t->numel)
    return 0;
  u = le(f->data + t->begin + i * n, n);
  switch (t->dtype) {
  case BP_ST_I8: case BP_ST_I16: case BP_ST_I32: case BP_ST_I64:
    if (n < 8 && (u >> (8 * n - 1)) != 0) u |= ~(uint64_t)0 << (8 * n);
    memcpy(v, &u, sizeof *v);
    return 1;
  default:
    if (u > (uint64_t)INT64_MAX) return 0;
    *v = (int64_t)u;
    return 1;
  }
}

/* --- writing ------------------------------------------------------------ */

/* Bytes go to p (when not NULL); n counts them either way. */
typedef struct sink {
  char *p;
  size_t n;
} sink;

static void emit(sink *s, const char *b, size_t n) {
  if (s->p != NULL) memcpy(s->p + s->n, b, n);
  s->n += n;
}

static void emits(sink *s, const char *b) {
  emit(s, b, strlen(b));
}

static void emitu(sink *s, unsigned long long v) {
  char b[24];
  emit(s, b, (size_t)snprintf(b, sizeof b, "%llu", v));
}

/* s as a JSON string: " and \ escaped, control characters as \u00XX. */
static void emit_string(sink *s, const char *str) {
  const unsigned char *c;
  emit(s, "\"", 1);
  for (c = (const unsigned char *)str; *c; c++) {
    char b[8];
    if (*c == '"' || *c == '\\') {
      b[0] = '\\';
      b[1] = (char)*c;
      emit(s, b, 2);
    } else if (*c < 0x20) {
      emit(s, b, (size_t)snprintf(b, sizeof b, "\\u%04x", *c));
    } else {
      emit(s, (const char *)c, 1);
    }
  }
  emit(s, "\"", 1);
}

static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
  while (p < end) {
    size_t n = utf8_seq(p, end);
    if (n == 0) return 0;
    p += n;
  }
  return 1;
}

static size_t entry_bytes(const bp_st_entry *e) {
  size_t n = DTYPES[e->dtype].size;
  int k;
  for (k = 0; k < e->ndim; k++) n *= e->shape[k];
  return n;
}

/* The header's JSON, unpadded. */
static void emit_header(sink *s, const bp_st_entry *t, size_t n,
                        const char *const *meta, size_t nmeta) {
  size_t i, at = 0;
  int k;
  emit(s, "{", 1);
  if (nmeta > 0) {
    emits(s, "\"__metadata__\":{");
    for (i = 0; i < nmeta; i++) {
      if (i > 0) emit(s, ",", 1);
      emit_string(s, meta[2 * i]);
      emit(s, ":", 1);
      emit_string(s, meta[2 * i + 1]);
    }
    emit(s, "}", 1);
  }
  for (i = 0; i < n; i++) {
    if (i > 0 || nmeta > 0) emit(s, ",", 1);
    emit_string(s, t[i].name);
    emits(s, ":{\"dtype\":\"");
    emits(s, DTYPES[t[i].dtype].name);
    emits(s, "\",\"shape\":[");
    for (k = 0; k < t[i].ndim; k++) {
      if (k > 0) emit(s, ",", 1);
      emitu(s, t[i].shape[k]);
    }
    emits(s, "],\"data_offsets\":[");
    emitu(s, at);
    emit(s, ",", 1);
    at += entry_bytes(&t[i]);
    emitu(s, at);
    emits(s, "]}");
  }
  emit(s, "}", 1);
}

static int entry_by_name(const void *a, const void *b) {
  return strcmp((*(const bp_st_entry *const *)a)->name,
                (*(const bp_st_entry *const *)b)->name);
}

/* Names valid UTF-8, distinct, not "__metadata__"; dtypes writable. */
static bp_status check_entries(const bp_st_entry *t, size_t n,
                               const char *const *meta, size_t nmeta,
                               bp_error *err) {
  const bp_st_entry **s;
  size_t i;
  for (i = 0; i < n; i++) {
    if (t[i].dtype != BP_ST_F32 && t[i].dtype != BP_ST_U8 &&
        t[i].dtype != BP_ST_I64)
      return bp_fail(err, BP_EINVAL, "tensor '%.60s': cannot write dtype %s",
                     t[i].name, bp_st_dtype_name(t[i].dtype));
    if (!valid_utf8(t[i].name))
      return bp_fail(err, BP_EINVAL, "tensor name '%.60s' is not valid "
                     "UTF-8", t[i].name);
    if (strcmp(t[i].name, "__metadata__") == 0)
      return bp_fail(err, BP_EINVAL, "a tensor cannot be called "
                     "'__metadata__' (the format keeps that name)");
  }
  for (i = 0; i < 2 * nmeta; i++)
    if (!valid_utf8(meta[i]))
      return bp_fail(err, BP_EINVAL, "metadata %s '%.60s' is not valid "
                     "UTF-8", i % 2 ? "value" : "key", meta[i]);
  s = bp_malloc((n + 1) * sizeof *s);
  if (s == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  for (i = 0; i < n; i++) s[i] = &t[i];
  qsort(s, n, sizeof *s, entry_by_name);
  for (i = 1; i < n; i++)
    if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
      bp_status st = bp_fail(err, BP_EINVAL, "tensor '%.60s' twice",
                             s[i]->name);
      free(s);
      return st;
    }
  free(s);
  return BP_OK;
}

bp_status bp_st_encode(const bp_st_entry *t, size_t n,
                       const char *const *meta, size_t nmeta,
                       unsigned char **buf, size_t *size, bp_error *err) {
  sink s = {NULL, 0};
  size_t hlen, data = 0, i, j;
  unsigned char *p;
  bp_status st = check_entries(t, n, meta, nmeta, err);
  if (st != BP_OK) return st;
  emit_header(&s, t, n, meta, nmeta);
  hlen = (s.n + 7) / 8 * 8;          /* 8 + hlen: a multiple of 8 */
  for (i = 0; i < n; i++) data += entry_bytes(&t[i]);
  *size = 8 + hlen + data;
  *buf = p = bp_malloc(*size);
  if (p == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  p = bp_put32(p, (uint32_t)hlen);
  p = bp_put32(p, (uint32_t)((uint64_t)hlen >> 32));
  s.p = (char *)p;
  s.n = 0;
  emit_header(&s, t, n, meta, nmeta);
  memset(p + s.n, ' ', hlen - s.n);
  p += hlen;
  for (i = 0; i < n; i++) {
    size_t m = entry_bytes(&t[i]) / DTYPES[t[i].dtype].size;
    if (t[i].dtype == BP_ST_U8) {
      memcpy(p, t[i].data, m);
      p += m;
    } else if (t[i].dtype == BP_ST_F32) {
      for (j = 0; j < m; j++) p = bp_putf(p, ((const float *)t[i].data)[j]);
    } else {
      for (j = 0; j < m; j++) {
        uint64_t v = (uint64_t)((const int64_t *)t[i].data)[j];
        p = bp_put32(p, (uint32_t)v);
        p = bp_put32(p, (uint32_t)(v >> 32));
      }
    }
  }
  return BP_OK;
}

bp_status bp_st_write(const char *path, const bp_st_entry *t, size_t n,
                      const char *const *meta, size_t nmeta, bp_error *err) {
  unsigned char *buf;
  size_t size;
  bp_status st = bp_st_encode(t, n, meta, nmeta, &buf, &size, err);
  if (st != BP_OK) return st;
  st = bp_file_write(path, buf, size, err);
  free(buf);
  return st;
}
