/*
** csv.h: CSV files (RFC 4180) read straight into float tensors, in two
** streaming passes so that nothing but the result and a read buffer is
** held: bp_csv_scan reads every record once to count the rows, check the
** fields and learn each column's kind (numbers, or text with its distinct
** values); the caller then allocates the tensors, and bp_csv_fill reads the
** file again and writes the values in place.
**
** Records end at \n, \r\n or a lone \r; blank lines are skipped; a UTF-8
** byte-order mark before the first record is dropped. A field may be
** double-quoted, and then holds separators, line breaks and "" for one
** quote; only spaces may follow its closing quote. Spaces around an
** unquoted field are not part of it. Numbers are read as Lua's tonumber
** reads them (decimal or hexadecimal, rounded once to double, then to
** float32); an empty field, or one equal to a marker given with
** bp_csv_na, is a missing cell.
**
** Errors name the line (of the record's first byte) and the column (its
** header name, or its 1-based number), and quote at most a short prefix of
** a bad cell, however long it is.
*/
#ifndef BP_CSV_H
#define BP_CSV_H

#include <stddef.h>

#include "base/status.h"

/* What bp_csv_scan makes of a column (set with bp_csv_mode). */
enum {
  BP_CSV_NUMBER,   /* numbers; text in it is an error (the default) */
  BP_CSV_AUTO,     /* numbers if every cell is one, else text */
  BP_CSV_SKIP      /* not read at all */
};

/* What went wrong, for a caller that adds advice to the message. */
enum {
  BP_CSV_EOTHER,
  BP_CSV_ETEXT,     /* text in a BP_CSV_NUMBER column */
  BP_CSV_ESEP       /* the file seems to use another separator */
};

typedef struct bp_csv bp_csv;

/* What the scan found in one column. */
typedef struct bp_csv_col {
  int text;                       /* holds text: its cells are categories */
  size_t missing;                 /* missing cells */
  unsigned long long missing_line;  /* line of the first one (0: none) */
  size_t ncat;                    /* distinct values of a text column */
} bp_csv_col;

/* Where bp_csv_fill writes a column: for row i, at base + i * stride; a
** text column writes 1 at base[id - 1] (onehot) or the id itself, where
** ids number its distinct values 1..ncat in byte order. base NULL: the
** column is not written. */
typedef struct bp_csv_dest {
  float *base;
  size_t stride;
  int onehot;
} bp_csv_dest;

/* Open path and read its first record: the column names when header is
** true, else the first data row (only to count the columns). sep is one
** byte other than '"', \r and \n. NULL with err set on failure, with
** *kind (if not NULL) set to BP_CSV_ESEP when the first line is a single
** field that contains another common separator. */
bp_csv *bp_csv_open(const char *path, char sep, int header, bp_error *err,
                    int *kind);
size_t bp_csv_ncols(const bp_csv *r);
/* Column j's header name (0-based j), or NULL without a header. */
const char *bp_csv_name(const bp_csv *r, size_t j, size_t *len);
void bp_csv_mode(bp_csv *r, size_t j, int mode);
/* A cell equal to s is missing too ("NA", "?"). */
bp_status bp_csv_na(bp_csv *r, const char *s, size_t len, bp_error *err);

/* The first pass. On failure *kind says what kind of error it was. */
bp_status bp_csv_scan(bp_csv *r, bp_error *err, int *kind);
size_t bp_csv_rows(const bp_csv *r);
const bp_csv_col *bp_csv_column(const bp_csv *r, size_t j);
/* Value `id` (1..ncat) of the text column j. */
const char *bp_csv_category(const bp_csv *r, size_t j, size_t id,
                            size_t *len);

/* The second pass: dest[j] for every column; a missing cell of a number
** column (or of a text column written as ids) gets `missing`, of a one-hot
** column nothing. Fails if the file changed since the scan. */
bp_status bp_csv_fill(bp_csv *r, const bp_csv_dest *dest, float missing,
                      bp_error *err);

void bp_csv_close(bp_csv *r);   /* NULL is fine */

#endif
