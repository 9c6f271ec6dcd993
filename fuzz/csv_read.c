/*
** csv_read.c: libFuzzer target for the CSV reader (io/csv.c).
**
** The input's first byte picks the options, the rest is the file:
**   bits 0-2  the separator (, ; tab space | : , ,)
**   bit 3     header line
**   bit 4     text columns written one-hot (else as ids)
**   bit 5     "NA" and "?" also mark missing cells
**   bit 6     every column BP_CSV_AUTO (else they cycle AUTO, NUMBER, SKIP)
**   bit 7     number mode: the rest is one cell, checked against strtod
** A file is opened, scanned and filled as read_csv does. Whatever the
** bytes, that must end in a clean error or in tensors, and then:
**   - a fill after a successful scan succeeds (the file did not change);
**   - each text column's categories are distinct, in byte order;
**   - ids lie in 1..ncat, one-hot rows hold exactly one 1, and the
**     missing cells counted by the scan are the ones the fill marks;
**   - in number mode, a cell that is a plain decimal number ([+-]digits
**     [.digits][e[+-]digits], spaces around) reads as (float)strtod of it,
**     whether the fast path or strtod converted it (with Lua's one
**     exception: "-0" is the integer 0, so +0.0).
*/
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/csv.h"

#define MAX_FLOATS ((size_t)1 << 22)   /* the fill's tensor, at most */
#define MISSING (-7.0f)                 /* never an id, found by count */

static const char SEPS[8] = {',', ';', '\t', ' ', '|', ':', ',', ','};

/* s[0..n) is a decimal literal with optional spaces around it. */
static int decimal(const char *s, size_t n) {
  size_t i = 0, d = 0;
  while (i < n && s[i] == ' ') i++;
  while (n > i && s[n - 1] == ' ') n--;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  while (i < n && isdigit((unsigned char)s[i])) i++, d++;
  if (i < n && s[i] == '.')
    for (i++; i < n && isdigit((unsigned char)s[i]); i++) d++;
  if (d == 0) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t e = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && isdigit((unsigned char)s[i])) i++, e++;
    if (e == 0) return 0;
  }
  return i == n;
}

/* Number mode: one cell, no header; its value against strtod's. */
static void one_number(const uint8_t *data, size_t size) {
  char *cell = malloc(size + 2);
  bp_error err;
  bp_csv *r;
  double ref;
  float got = 0, want;
  bp_csv_dest d = {NULL, 1, 0};
  const char *path;
  fuzz_check(cell != NULL, "out of memory");
  memcpy(cell, data, size);
  cell[size] = '\0';
  if (!decimal(cell, size) || strlen(cell) != size) {
    free(cell);
    return;
  }
  ref = strtod(cell, NULL);
  /* Lua reads "-0" (an integer) as 0, so +0.0; "-0.0" stays -0.0. */
  if (ref == 0 && strpbrk(cell, ".eE") == NULL) ref = 0;
  want = (float)ref;
  cell[size] = '\n';
  path = fuzz_write("cell.csv", cell, size + 1);
  free(cell);
  r = bp_csv_open(path, ',', 0, &err, NULL);
  fuzz_check(r != NULL, "one number does not open: %s", err.msg);
  if (bp_csv_scan(r, &err, NULL) != BP_OK) {
    /* Only a value out of float32's range may be refused. */
    fuzz_check(!(fabs(ref) < 0x1.ffffffp+127), "number %.17g refused: %s",
               ref, err.msg);
    bp_csv_close(r);
    return;
  }
  fuzz_check(bp_csv_rows(r) == 1 && !bp_csv_column(r, 0)->text,
             "a number read as text or as %lu rows",
             (unsigned long)bp_csv_rows(r));
  d.base = &got;
  fuzz_check(bp_csv_fill(r, &d, 0.0f, &err) == BP_OK, "fill: %s", err.msg);
  fuzz_check(memcmp(&got, &want, sizeof got) == 0,
             "read %.9g, strtod gives %.9g (%.17g)", (double)got,
             (double)want, ref);
  bp_csv_close(r);
}

/* Column j's categories: distinct and sorted by bytes. */
static void check_categories(const bp_csv *r, size_t j) {
  size_t id, plen = 0, len;
  const char *prev = NULL;
  for (id = 1; id <= bp_csv_column(r, j)->ncat; id++) {
    const char *s = bp_csv_category(r, j, id, &len);
    int c;
    fuzz_check(s != NULL, "category %lu of column %lu missing",
               (unsigned long)id, (unsigned long)j);
    if (prev != NULL) {
      c = memcmp(prev, s, plen < len ? plen : len);
      fuzz_check(c < 0 || (c == 0 && plen < len),
                 "categories of column %lu not distinct and in byte order",
                 (unsigned long)j);
    }
    prev = s;
    plen = len;
  }
  fuzz_check(bp_csv_category(r, j, id, &len) == NULL, "category past ncat");
}

/* Column j's mode under options opt. */
static int mode(uint8_t opt, size_t j) {
  return (opt & 64) ? BP_CSV_AUTO : (int)(j % 3);
}

static void one_file(uint8_t opt, const uint8_t *data, size_t size) {
  const char *path = fuzz_write("input.csv", data, size);
  int header = (opt >> 3) & 1, onehot = (opt >> 4) & 1, kind;
  bp_csv *r;
  bp_csv_dest *dest;
  bp_error err;
  size_t ncols, rows, width = 0, j, i, at;
  float *x;
  r = bp_csv_open(path, SEPS[opt & 7], header, &err, &kind);
  if (r == NULL) return;
  ncols = bp_csv_ncols(r);
  fuzz_check(ncols >= 1, "opened with no column");
  for (j = 0; j < ncols; j++) {
    size_t len;
    fuzz_check((bp_csv_name(r, j, &len) != NULL) == header,
               "column names without a header, or none with one");
    bp_csv_mode(r, j, mode(opt, j));
  }
  if ((opt & 32) && (bp_csv_na(r, "NA", 2, &err) != BP_OK ||
                     bp_csv_na(r, "?", 1, &err) != BP_OK)) {
    bp_csv_close(r);
    return;
  }
  if (bp_csv_scan(r, &err, &kind) != BP_OK) {
    bp_csv_close(r);
    return;
  }
  rows = bp_csv_rows(r);
  dest = calloc(ncols, sizeof *dest);
  fuzz_check(dest != NULL, "out of memory");
  for (j = 0; j < ncols; j++) {
    const bp_csv_col *c = bp_csv_column(r, j);
    if (c->text) check_categories(r, j);
    width += c->text && onehot ? c->ncat : 1;
  }
  if (rows == 0 || width > MAX_FLOATS / rows) {
    free(dest);
    bp_csv_close(r);
    return;
  }
  x = calloc(rows * width, sizeof *x);
  fuzz_check(x != NULL, "out of memory");
  for (j = 0, at = 0; j < ncols; j++) {
    const bp_csv_col *c = bp_csv_column(r, j);
    dest[j].base = x + at;
    dest[j].stride = width;
    dest[j].onehot = onehot;
    at += c->text && onehot ? c->ncat : 1;
  }
  fuzz_check(bp_csv_fill(r, dest, MISSING, &err) == BP_OK,
             "fill failed after a scan: %s", err.msg);
  for (j = 0; j < ncols; j++) {
    const bp_csv_col *c = bp_csv_column(r, j);
    size_t missing = 0, k;
    if (!c->text || mode(opt, j) == BP_CSV_SKIP) continue;
    for (i = 0; i < rows; i++) {
      const float *cell = dest[j].base + i * width;
      if (onehot) {
        size_t ones = 0;
        for (k = 0; k < c->ncat; k++) {
          fuzz_check(cell[k] == 0.0f || cell[k] == 1.0f, "one-hot value %g",
                     (double)cell[k]);
          ones += cell[k] == 1.0f;
        }
        fuzz_check(ones <= 1, "%lu ones in a one-hot row", (unsigned long)ones);
        missing += ones == 0;
      } else if (*cell == MISSING) {
        missing++;
      } else {
        fuzz_check(*cell >= 1.0f && *cell <= (float)c->ncat &&
                   *cell == floorf(*cell), "id %g of %lu", (double)*cell,
                   (unsigned long)c->ncat);
      }
    }
    fuzz_check(missing == c->missing, "scan counted %lu missing cells in "
               "column %lu, fill wrote %lu", (unsigned long)c->missing,
               (unsigned long)j, (unsigned long)missing);
  }
  free(x);
  free(dest);
  bp_csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 128) one_number(data + 1, size - 1);
  else one_file(data[0], data + 1, size - 1);
  return 0;
}
