/*
** csv.c: CSV files into float tensors (see csv.h).
**
** The file is read in chunks into one buffer. A record is tokenized only
** when it lies whole in the buffer: the tokenizer reports when it runs
** off the end, and the reader then moves the record's start to the front
** of the buffer, reads more (growing the buffer only for a record longer
** than it) and tokenizes the record again from its start. So fields are
** spans of the buffer, and a record is processed all at once or not at
** all.
**
** Numbers: a short decimal (at most 19 significant digits, a power of ten
** up to 22 away) is exact in double arithmetic and converted directly
** (Clinger's fast path: one correctly rounded multiply or divide); every
** other form goes through strtod, with the locale's decimal point tried as
** Lua does. Either way the double is the one Lua's tonumber gives, so the
** float32 stored is too.
**
** Text cells are categories: one open-addressing hash table keyed by
** (column, bytes) over an arena of the distinct strings; after the scan
** they are sorted per column and numbered 1..n.
*/
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/csv.h"

/* Bytes read at a time. The fuzz build (fuzz/csv_read.c) makes it tiny so
** that records cross the buffer's end, and grow it, all the time. */
#ifndef BP_CSV_CHUNK
#define BP_CSV_CHUNK ((size_t)1 << 20)
#endif
#define CHUNK ((size_t)BP_CSV_CHUNK)
#define QUOTE 40                  /* bytes of a cell quoted in a message */

typedef struct field {
  const char *p;      /* the content: inside the quotes of a quoted field */
  size_t n;
  int quoted, esc;    /* esc: holds "" pairs still to be unescaped */
} field;

typedef struct cat {  /* one distinct value of a text column */
  uint64_t hash;      /* 0: empty slot */
  size_t off, len;    /* in the arena */
  size_t col, id;
} cat;

/* A growable byte array (names, markers, category strings, scratch). */
typedef struct bytes {
  char *p;
  size_t len, cap;
} bytes;

struct bp_csv {
  FILE *f;
  char sep;
  int header;
  unsigned char stop[256];        /* bytes that end an unquoted field */
  char *buf;
  size_t cap, len, pos;
  int eof, ioerr;
  unsigned long long line;        /* line number of buf[pos] */
  field *fld;                     /* the current record */
  size_t fcap, nf;
  unsigned long long rline;       /* its first line */
  const char *rstart, *rend;      /* its bytes */
  size_t ncols;
  bytes names;                    /* header names, one after another */
  size_t *name_off;
  int *mode;
  bp_csv_col *col;
  bytes na;                       /* missing markers, NUL-separated */
  size_t nna;
  cat *cats;                      /* hash table, cats_cap slots */
  size_t cats_cap, ncats;
  bytes arena;
  size_t *sorted, *first;         /* slots by (column, bytes); per column */
  bytes scratch, num;             /* unescaped cells; numbers for strtod */
  size_t rows;
  int scanned;
};

enum { T_REC, T_END, T_MORE, T_ERR };

/* --- memory ---------------------------------------------------------- */

/* *p holds *cap items of `size` bytes; make room for `need`. */
static int reserve(void **p, size_t *cap, size_t need, size_t size) {
  size_t c = *cap ? *cap : 16;
  void *q;
  if (need <= *cap) return 1;
  while (c < need) {
    if (c > SIZE_MAX / 2 / size) return 0;
    c *= 2;
  }
  q = bp_malloc(c * size);
  if (q == NULL) return 0;
  if (*cap) memcpy(q, *p, *cap * size);
  free(*p);
  *p = q;
  *cap = c;
  return 1;
}

static int append(bytes *b, const char *s, size_t n) {
  void *p = b->p;
  if (n > SIZE_MAX - b->len - 1 || !reserve(&p, &b->cap, b->len + n + 1, 1))
    return 0;
  b->p = p;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 1;
}

static bp_status nomem(bp_error *err) {
  return bp_fail(err, BP_ENOMEM, "out of memory");
}

/* --- messages -------------------------------------------------------- */

/* s (n bytes) quoted for a message: at most QUOTE bytes, cut at a UTF-8
** character boundary, then "..." and the full length. */
static const char *excerpt(const char *s, size_t n, char *out, size_t size) {
  size_t k = n;
  if (n <= QUOTE) {
    snprintf(out, size, "'%.*s'", (int)n, s);
    return out;
  }
  k = QUOTE;
  while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
  snprintf(out, size, "'%.*s...' (%lu bytes)", (int)k, s, (unsigned long)n);
  return out;
}

/* "column 'name'" or "column 3". */
static const char *colname(const bp_csv *r, size_t j, char *out, size_t size) {
  char q[QUOTE + 40];
  size_t len;
  const char *name = bp_csv_name(r, j, &len);
  if (name == NULL) snprintf(out, size, "column %lu", (unsigned long)j + 1);
  else snprintf(out, size, "column %s", excerpt(name, len, q, sizeof q));
  return out;
}

static const char *sepname(char c) {
  switch (c) {
  case ',': return "','";
  case ';': return "';'";
  case '\t': return "tab";
  case '|': return "'|'";
  default: return "the separator";
  }
}

/* --- input ----------------------------------------------------------- */

/* Keep buf[pos..len) and read more after it: 0 at the end of the file. */
static int refill(bp_csv *r) {
  size_t keep = r->len - r->pos, got;
  if (r->eof) return 0;
  if (keep > 0) memmove(r->buf, r->buf + r->pos, keep);
  r->len = keep;
  r->pos = 0;
  if (r->cap - r->len < CHUNK) {
    void *p = r->buf;
    if (!reserve(&p, &r->cap, r->len + CHUNK, 1)) return -1;
    r->buf = p;
  }
  got = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
  r->len += got;
  if (got == 0) {
    r->eof = 1;
    if (ferror(r->f)) r->ioerr = errno ? errno : EIO;
    return 0;
  }
  return 1;
}

/* Back to the first byte of the file (after the byte-order mark). */
static bp_status rewind_file(bp_csv *r, bp_error *err) {
  errno = 0;
  if (fseek(r->f, 0, SEEK_SET) != 0)
    return bp_fail(err, BP_EIO, "cannot go back to its start (it is read "
                   "twice, so it must be a regular file): %s",
                   strerror(errno ? errno : EIO));
  r->len = r->pos = 0;
  r->eof = 0;
  r->line = 1;
  if (refill(r) < 0) return nomem(err);
  while (r->len - r->pos < 3 && refill(r) > 0) {}
  if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
    r->pos += 3;
  return BP_OK;
}

/* --- records --------------------------------------------------------- */

static int add_field(bp_csv *r, const char *p, size_t n, int quoted,
                     int esc) {
  if (r->nf >= r->fcap) {
    void *f = r->fld;
    /* After the first record the columns are known: more fields are only
    ** counted (the record is then refused). */
    if (r->ncols > 0) {
      r->nf++;
      return 1;
    }
    if (!reserve(&f, &r->fcap, r->nf + 1, sizeof *r->fld)) return 0;
    r->fld = f;
  }
  r->fld[r->nf].p = p;
  r->fld[r->nf].n = n;
  r->fld[r->nf].quoted = quoted;
  r->fld[r->nf].esc = esc;
  r->nf++;
  return 1;
}

static int is_blank(const bp_csv *r, char c) {
  return c == ' ' || (c == '\t' && r->sep != '\t');
}

/* Tokenize the record at buf[pos]: T_REC (fields in fld, pos past it),
** T_END, T_MORE (it runs past the buffer: nothing changed), T_ERR. */
static int tokenize(bp_csv *r, bp_error *err) {
  const char *p = r->buf + r->pos, *e = r->buf + r->len;
  unsigned long long line = r->line;
  int at_eof = r->eof;
  char sep = r->sep;
  for (;;) {                    /* blank lines */
    const char *q = p;
    while (q < e && is_blank(r, *q)) q++;
    if (q == e) {
      if (!at_eof) return T_MORE;
      r->pos = r->len;
      r->line = line;
      return T_END;
    }
    if (*q == '\n') {
      p = q + 1;
      line++;
    } else if (*q == '\r') {
      if (q + 1 == e && !at_eof) return T_MORE;
      p = q + 1 + (q + 1 < e && q[1] == '\n');
      line++;
    } else {
      break;
    }
  }
  r->nf = 0;
  r->rline = line;
  r->rstart = p;
  for (;;) {                    /* one field */
    const char *s = p;
    while (s < e && is_blank(r, *s)) s++;
    if (s < e && *s == '"') {
      const char *c = s + 1, *q;
      int esc = 0;
      p = c;
      for (;;) {
        const char *k;
        q = memchr(p, '"', (size_t)(e - p));
        if (q == NULL) {
          if (!at_eof) return T_MORE;
          bp_fail(err, BP_EFORMAT, "line %llu: unterminated quote (the "
                  "quoted field never ends)", r->rline);
          return T_ERR;
        }
        for (k = p; k < q; k++)   /* line breaks inside the quotes */
          if (*k == '\n' || (*k == '\r' && (k + 1 == q || k[1] != '\n'))) line++;
        if (q + 1 == e && !at_eof) return T_MORE;
        if (q + 1 < e && q[1] == '"') {
          esc = 1;
          p = q + 2;
          continue;
        }
        break;
      }
      p = q + 1;
      while (p < e && is_blank(r, *p)) p++;
      if (p == e && !at_eof) return T_MORE;
      if (p < e && *p != sep && *p != '\n' && *p != '\r') {
        char cn[QUOTE + 60], x[QUOTE + 40];
        const char *t = p;
        while (t < e && *t != sep && *t != '\n' && *t != '\r') t++;
        bp_fail(err, BP_EFORMAT, "line %llu, %s: text after the closing "
                "quote: %s (a quote inside a field must be doubled, and the "
                "whole field quoted)", line, colname(r, r->nf, cn, sizeof cn),
                excerpt(s, (size_t)(t - s), x, sizeof x));
        return T_ERR;
      }
      if (!add_field(r, c, (size_t)(q - c), 1, esc)) {
        nomem(err);
        return T_ERR;
      }
    } else {
      const unsigned char *u = (const unsigned char *)s;
      while ((const char *)u < e && !r->stop[*u]) u++;
      p = (const char *)u;
      if (p == e && !at_eof) return T_MORE;
      if (!add_field(r, s, (size_t)(p - s), 0, 0)) {
        nomem(err);
        return T_ERR;
      }
    }
    if (p == e) break;
    if (*p == sep) {
      p++;
      continue;
    }
    r->rend = p;
    if (*p == '\r') {
      if (p + 1 == e && !at_eof) return T_MORE;
      p += 1 + (p + 1 < e && p[1] == '\n');
    } else {
      p++;
    }
    line++;
    r->pos = (size_t)(p - r->buf);
    r->line = line;
    return T_REC;
  }
  r->rend = p;
  r->pos = (size_t)(p - r->buf);
  r->line = line;
  return T_REC;
}

/* The next record: T_REC, T_END or T_ERR. */
static int next_record(bp_csv *r, bp_error *err) {
  for (;;) {
    int t = tokenize(r, err), got;
    if (t == T_END && r->ioerr) {   /* the end came from a failed read */
      bp_fail(err, BP_EIO, "read error: %s", strerror(r->ioerr));
      return T_ERR;
    }
    if (t != T_MORE) return t;
    got = refill(r);
    if (got < 0) {
      nomem(err);
      return T_ERR;
    }
    if (got == 0 && r->ioerr) {
      bp_fail(err, BP_EIO, "read error: %s", strerror(r->ioerr));
      return T_ERR;
    }
  }
}

/* --- cells ----------------------------------------------------------- */

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* The content of field f: unescaped ("" -> ") into the scratch buffer
** when needed; unquoted fields lose surrounding spaces. */
static int content(bp_csv *r, const field *f, const char **s, size_t *n) {
  const char *p = f->p;
  size_t k = f->n, i;
  if (!f->quoted) {
    while (k > 0 && is_space(*p)) p++, k--;
    while (k > 0 && is_space(p[k - 1])) k--;
  }
  if (!f->esc) {
    *s = p;
    *n = k;
    return 1;
  }
  r->scratch.len = 0;
  for (i = 0; i < k; i++) {
    if (!append(&r->scratch, p + i, 1)) return 0;
    if (p[i] == '"') i++;       /* the second quote of a pair */
  }
  *s = r->scratch.p;
  *n = r->scratch.len;
  return 1;
}

static const double P10[23] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
  1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Slow path: strtod on a copy, as Lua's l_str2d does (no "inf" or "nan";
** the locale's decimal point when '.' does not work). */
static int slow_number(bp_csv *r, const char *s, size_t n, double *v) {
  char *end, *dot;
  if (memchr(s, 'n', n) || memchr(s, 'N', n)) return 0;
  r->num.len = 0;
  if (!append(&r->num, s, n)) return -1;
  *v = strtod(r->num.p, &end);
  if (end == r->num.p + n && n > 0) return 1;
  dot = strchr(r->num.p, '.');
  if (dot == NULL) return 0;
  *dot = localeconv()->decimal_point[0];
  *v = strtod(r->num.p, &end);
  return end == r->num.p + n && n > 0;
}

/* The number in s (n bytes): 1 and *v, 0 for text, -1 out of memory. */
static int number(bp_csv *r, const char *s, size_t n, double *v) {
  const char *p = s, *e = s + n;
  uint64_t m = 0;
  int neg = 0, digits = 0, sig = 0, exp10 = 0, ex = 0, eneg = 0, isfloat = 0;
  while (p < e && is_space(*p)) p++;
  while (e > p && is_space(e[-1])) e--;
  if (p == e) return 0;
  s = p;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  for (; p < e && (unsigned)(*p - '0') < 10; p++, digits++) {
    if (sig < 19) {
      m = m * 10 + (uint64_t)(*p - '0');
      sig += m != 0;
    } else {
      goto slow;
    }
  }
  if (p < e && *p == '.') {
    isfloat = 1;
    for (p++; p < e && (unsigned)(*p - '0') < 10; p++, digits++) {
      if (sig < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        sig += m != 0;
        exp10--;
      } else {
        goto slow;
      }
    }
  }
  if (digits == 0) goto slow;   /* "0x1F", ".", "-", text */
  if (p < e && (*p == 'e' || *p == 'E')) {
    int ed = 0;
    isfloat = 1;
    p++;
    if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    for (; p < e && (unsigned)(*p - '0') < 10; p++, ed++)
      if (ex < 10000) ex = ex * 10 + (*p - '0');
    if (ed == 0) return 0;
    exp10 += eneg ? -ex : ex;
  }
  if (p != e) goto slow;
  if (m == 0) {
    /* Lua reads "-0" as the integer 0, so +0.0; "-0.0" and "-0e1" as -0.0. */
    *v = neg && isfloat ? -0.0 : 0.0;
    return 1;
  }
  if (m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
    double d = (double)m;
    d = exp10 < 0 ? d / P10[-exp10] : d * P10[exp10];
    *v = neg ? -d : d;
    return 1;
  }
slow:
  return slow_number(r, s, (size_t)(e - s), v);
}

static int is_missing(const bp_csv *r, const char *s, size_t n) {
  const char *m = r->na.p;
  size_t i;
  if (n == 0) return 1;
  for (i = 0; i < r->nna; i++) {
    size_t k = strlen(m);
    if (k == n && memcmp(m, s, n) == 0) return 1;
    m += k + 1;
  }
  return 0;
}

/* --- categories ------------------------------------------------------ */

static uint64_t hash(size_t col, const char *s, size_t n) {
  uint64_t h = 1469598103934665603u ^ ((uint64_t)col * 0x9E3779B97F4A7C15u);
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h ? h : 1;
}

static cat *lookup(const bp_csv *r, size_t col, const char *s, size_t n,
                   uint64_t h) {
  size_t mask = r->cats_cap - 1, i = (size_t)h & mask;
  for (;; i = (i + 1) & mask) {
    cat *c = &r->cats[i];
    if (c->hash == 0 ||
        (c->hash == h && c->col == col && c->len == n &&
         memcmp(r->arena.p + c->off, s, n) == 0))
      return c;
  }
}

/* Add s to column col's values if it is new; 0 when out of memory. */
static int add_cat(bp_csv *r, size_t col, const char *s, size_t n) {
  uint64_t h = hash(col, s, n);
  cat *c;
  if (r->cats_cap == 0 || (r->ncats + 1) * 2 > r->cats_cap) {
    size_t cap = r->cats_cap ? r->cats_cap * 2 : 64, i;
    cat *old = r->cats, *t;
    if (cap > SIZE_MAX / sizeof *t) return 0;
    t = bp_calloc(cap, sizeof *t);
    if (t == NULL) return 0;
    r->cats = t;
    i = r->cats_cap;
    r->cats_cap = cap;
    while (i-- > 0)
      if (old[i].hash) *lookup(r, old[i].col, r->arena.p + old[i].off,
                               old[i].len, old[i].hash) = old[i];
    free(old);
  }
  c = lookup(r, col, s, n, h);
  if (c->hash) return 1;
  c->off = r->arena.len;
  if (!append(&r->arena, s, n)) return 0;
  c->hash = h;
  c->len = n;
  c->col = col;
  c->id = 0;
  r->ncats++;
  r->col[col].ncat++;
  return 1;
}

/* qsort has no context argument: the comparison reads the strings through
** a table of pointers built for the sort. */
typedef struct sortkey {
  const char *s;
  size_t len, col, slot;
} sortkey;

static int compare(const void *a, const void *b) {
  const sortkey *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c;
  if (x->col != y->col) return x->col < y->col ? -1 : 1;
  c = memcmp(x->s, y->s, n);
  if (c != 0) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Number each column's values 1..n in byte order. */
static bp_status number_cats(bp_csv *r, bp_error *err) {
  sortkey *k;
  size_t i, n = 0, j;
  free(r->sorted);
  free(r->first);
  r->sorted = bp_malloc((r->ncats + 1) * sizeof *r->sorted);
  r->first = bp_malloc((r->ncols + 1) * sizeof *r->first);
  k = bp_malloc((r->ncats + 1) * sizeof *k);
  if (r->sorted == NULL || r->first == NULL || k == NULL) {
    free(k);
    return nomem(err);
  }
  for (i = 0; i < r->cats_cap; i++) {
    cat *c = &r->cats[i];
    if (c->hash == 0) continue;
    k[n].s = r->arena.p + c->off;
    k[n].len = c->len;
    k[n].col = c->col;
    k[n].slot = i;
    n++;
  }
  qsort(k, n, sizeof *k, compare);
  for (j = 0, i = 0; j <= r->ncols; j++) {
    r->first[j] = i;
    while (i < n && k[i].col == j) {
      r->sorted[i] = k[i].slot;
      r->cats[k[i].slot].id = i - r->first[j] + 1;
      i++;
    }
  }
  free(k);
  return BP_OK;
}

/* --- opening --------------------------------------------------------- */

/* The first record is one field: if it holds another common separator
** (outside quotes), the file most likely uses that one. */
static char other_separator(const bp_csv *r, size_t *count) {
  static const char cands[] = ",;\t|";
  char best = 0;
  size_t i, most = 0;
  for (i = 0; cands[i]; i++) {
    const char *p;
    size_t k = 0;
    int quoted = 0;
    if (cands[i] == r->sep) continue;
    for (p = r->rstart; p < r->rend; p++) {
      if (*p == '"') quoted = !quoted;
      else if (*p == cands[i] && !quoted) k++;
    }
    if (k > most) {
      most = k;
      best = cands[i];
    }
  }
  *count = most;
  return best;
}

bp_csv *bp_csv_open(const char *path, char sep, int header, bp_error *err,
                    int *kind) {
  bp_csv *r;
  int t;
  size_t j;
  if (kind) *kind = BP_CSV_EOTHER;
  if (sep == '"' || sep == '\r' || sep == '\n') {
    bp_fail(err, BP_EINVAL, "the separator cannot be a quote or a line break");
    return NULL;
  }
  r = bp_calloc(1, sizeof *r);
  if (r == NULL) {
    nomem(err);
    return NULL;
  }
  r->sep = sep;
  r->header = header;
  r->stop[(unsigned char)sep] = r->stop['\n'] = r->stop['\r'] = 1;
  r->f = fopen(path, "rb");
  if (r->f == NULL) {
    bp_fail(err, BP_EIO, "cannot open: %s", strerror(errno));
    bp_csv_close(r);
    return NULL;
  }
  if (rewind_file(r, err) != BP_OK) {
    bp_csv_close(r);
    return NULL;
  }
  t = next_record(r, err);
  if (t == T_END) {
    bp_fail(err, BP_EFORMAT, "no data rows (the file is empty)");
    t = T_ERR;
  }
  if (t == T_ERR) {
    bp_csv_close(r);
    return NULL;
  }
  if (r->nf == 1) {
    size_t count;
    char other = other_separator(r, &count);
    if (other) {
      bp_fail(err, BP_EFORMAT, "with the separator %s its first line is a "
              "single field, but it contains %s %lu time%s: the file seems "
              "to use %s", sepname(sep), sepname(other),
              (unsigned long)count, count == 1 ? "" : "s", sepname(other));
      if (kind) *kind = BP_CSV_ESEP;
      bp_csv_close(r);
      return NULL;
    }
  }
  r->ncols = r->nf;
  r->mode = bp_calloc(r->ncols, sizeof *r->mode);
  r->col = bp_calloc(r->ncols, sizeof *r->col);
  r->name_off = bp_calloc(r->ncols + 1, sizeof *r->name_off);
  if (r->mode == NULL || r->col == NULL || r->name_off == NULL) {
    nomem(err);
    bp_csv_close(r);
    return NULL;
  }
  if (header) {
    for (j = 0; j < r->ncols; j++) {
      const char *s;
      size_t n;
      r->name_off[j] = r->names.len;
      if (!content(r, &r->fld[j], &s, &n) || !append(&r->names, s, n)) {
        nomem(err);
        bp_csv_close(r);
        return NULL;
      }
    }
    r->name_off[r->ncols] = r->names.len;
  }
  return r;
}

size_t bp_csv_ncols(const bp_csv *r) { return r->ncols; }

const char *bp_csv_name(const bp_csv *r, size_t j, size_t *len) {
  if (!r->header || j >= r->ncols) return NULL;
  *len = r->name_off[j + 1] - r->name_off[j];
  return r->names.p + r->name_off[j];
}

void bp_csv_mode(bp_csv *r, size_t j, int mode) {
  if (j < r->ncols) r->mode[j] = mode;
}

bp_status bp_csv_na(bp_csv *r, const char *s, size_t len, bp_error *err) {
  if (memchr(s, '\0', len) != NULL)
    return bp_fail(err, BP_EINVAL, "a missing-value marker cannot hold a "
                   "zero byte");
  /* Each marker is followed by its NUL (the "" appended counts one). */
  if (!append(&r->na, s, len) || !append(&r->na, "", 1)) return nomem(err);
  r->nna++;
  return BP_OK;
}

/* --- the two passes -------------------------------------------------- */

/* Rewind and step over the header: the next record is the first row. */
static bp_status to_data(bp_csv *r, bp_error *err) {
  bp_status st = rewind_file(r, err);
  if (st != BP_OK) return st;
  if (r->header && next_record(r, err) != T_REC)
    return bp_fail(err, BP_EFORMAT, "the file changed while it was read");
  return BP_OK;
}

static bp_status ragged(bp_csv *r, bp_error *err) {
  return bp_fail(err, BP_EFORMAT, "line %llu has %lu field%s, expected %lu",
                 r->rline, (unsigned long)r->nf, r->nf == 1 ? "" : "s",
                 (unsigned long)r->ncols);
}

static bp_status bad_cell(bp_csv *r, size_t j, const char *s, size_t n,
                          const char *what, bp_error *err) {
  char cn[QUOTE + 60], x[QUOTE + 40];
  return bp_fail(err, BP_EFORMAT, "line %llu, %s: %s is %s", r->rline,
                 colname(r, j, cn, sizeof cn), excerpt(s, n, x, sizeof x),
                 what);
}

/* Doubles from here up round to infinity as float32 (FLT_MAX and half
** an ulp, a tie that rounds to the even infinity). */
#define F32_INF 0x1.ffffffp+127

/* A number that float32 can hold: BP_OK, else an error. */
static bp_status check_finite(bp_csv *r, size_t j, const char *s, size_t n,
                              double v, bp_error *err) {
  if (!isfinite(v)) return bad_cell(r, j, s, n, "not a finite number", err);
  if (fabs(v) >= F32_INF)
    return bad_cell(r, j, s, n, "too large for float32 (at most about "
                    "3.4e38)", err);
  return BP_OK;
}

/* One pass of the scan; *again when a BP_CSV_AUTO column turned out to
** hold text (the pass must then be run again to collect its values). */
static bp_status scan_pass(bp_csv *r, bp_error *err, int *kind, int *again) {
  bp_status st;
  size_t j;
  int t;
  *again = 0;
  r->rows = 0;
  for (j = 0; j < r->ncols; j++) {
    r->col[j].missing = r->col[j].ncat = 0;
    r->col[j].missing_line = 0;
  }
  if (r->cats_cap) memset(r->cats, 0, r->cats_cap * sizeof *r->cats);
  r->ncats = 0;
  r->arena.len = 0;
  if ((st = to_data(r, err)) != BP_OK) return st;
  while ((t = next_record(r, err)) == T_REC) {
    if (r->nf != r->ncols) return ragged(r, err);
    for (j = 0; j < r->ncols; j++) {
      bp_csv_col *c = &r->col[j];
      const char *s;
      size_t n;
      double v;
      int isnum;
      if (r->mode[j] == BP_CSV_SKIP) continue;
      if (!content(r, &r->fld[j], &s, &n)) return nomem(err);
      if (is_missing(r, s, n)) {
        if (c->missing++ == 0) c->missing_line = r->rline;
        continue;
      }
      if (c->text) {
        if (!add_cat(r, j, s, n)) return nomem(err);
        continue;
      }
      if ((isnum = number(r, s, n, &v)) < 0) return nomem(err);
      if (isnum) {
        if ((st = check_finite(r, j, s, n, v, err)) != BP_OK) return st;
        continue;
      }
      if (r->mode[j] == BP_CSV_NUMBER) {
        *kind = BP_CSV_ETEXT;
        return bad_cell(r, j, s, n, "not a number", err);
      }
      c->text = 1;             /* BP_CSV_AUTO: start again, collecting */
      *again = 1;
      return BP_OK;
    }
    r->rows++;
  }
  if (t == T_ERR) return BP_EFORMAT;
  return BP_OK;
}

bp_status bp_csv_scan(bp_csv *r, bp_error *err, int *kind) {
  int again = 1, k = BP_CSV_EOTHER;
  bp_status st = BP_OK;
  size_t j;
  r->scanned = 0;
  for (j = 0; j < r->ncols; j++) r->col[j].text = 0;
  while (again && st == BP_OK) st = scan_pass(r, err, &k, &again);
  if (kind) *kind = k;
  if (st != BP_OK) return st;
  if ((st = number_cats(r, err)) != BP_OK) return st;
  r->scanned = 1;
  return BP_OK;
}

size_t bp_csv_rows(const bp_csv *r) { return r->rows; }

const bp_csv_col *bp_csv_column(const bp_csv *r, size_t j) {
  return j < r->ncols ? &r->col[j] : NULL;
}

const char *bp_csv_category(const bp_csv *r, size_t j, size_t id,
                            size_t *len) {
  const cat *c;
  if (!r->scanned || j >= r->ncols || id < 1 || id > r->col[j].ncat)
    return NULL;
  c = &r->cats[r->sorted[r->first[j] + id - 1]];
  *len = c->len;
  return r->arena.p + c->off;
}

static bp_status changed(bp_error *err) {
  return bp_fail(err, BP_EFORMAT, "the file changed while it was read");
}

bp_status bp_csv_fill(bp_csv *r, const bp_csv_dest *dest, float missing,
                      bp_error *err) {
  size_t row = 0, j;
  bp_status st;
  int t;
  if (!r->scanned)
    return bp_fail(err, BP_EINVAL, "bp_csv_fill before bp_csv_scan");
  if ((st = to_data(r, err)) != BP_OK) return st;
  while ((t = next_record(r, err)) == T_REC) {
    if (r->nf != r->ncols || row == r->rows) return changed(err);
    for (j = 0; j < r->ncols; j++) {
      const bp_csv_dest *d = &dest[j];
      float *cell;
      const char *s;
      size_t n;
      double v;
      if (d->base == NULL || r->mode[j] == BP_CSV_SKIP) continue;
      cell = d->base + row * d->stride;
      if (!content(r, &r->fld[j], &s, &n)) return nomem(err);
      if (is_missing(r, s, n)) {
        if (!(r->col[j].text && d->onehot)) *cell = missing;
        continue;
      }
      if (r->col[j].text) {
        cat *c = r->cats_cap ? lookup(r, j, s, n, hash(j, s, n)) : NULL;
        if (c == NULL || c->hash == 0) return changed(err);
        if (d->onehot) cell[c->id - 1] = 1.0f;
        else *cell = (float)c->id;
        continue;
      }
      if (number(r, s, n, &v) != 1 || !(fabs(v) < F32_INF))
        return changed(err);
      *cell = (float)v;
    }
    row++;
  }
  if (t == T_ERR) return BP_EFORMAT;
  if (row != r->rows) return changed(err);
  return BP_OK;
}

void bp_csv_close(bp_csv *r) {
  if (r == NULL) return;
  if (r->f) fclose(r->f);
  free(r->buf);
  free(r->fld);
  free(r->names.p);
  free(r->name_off);
  free(r->mode);
  free(r->col);
  free(r->na.p);
  free(r->cats);
  free(r->arena.p);
  free(r->sorted);
  free(r->first);
  free(r->scratch.p);
  free(r->num.p);
  free(r);
}
