/*
** inflate.h: gzip decompression (RFC 1952 members holding RFC 1951 DEFLATE
** data), written for reading data sets: the output comes out in chunks of
** about 128 KB, so a caller can convert it straight into its final buffer
** and never holds the whole decompressed file. Every member's CRC-32 and
** length are checked; damaged or truncated input is an error, never a read
** past the input or the window.
*/
#ifndef BP_INFLATE_H
#define BP_INFLATE_H

#include <stddef.h>
#include <stdio.h>

#include "base/status.h"

typedef struct bp_gunzip bp_gunzip;

/* A decoder reading f from its current position (the caller keeps f open
** and closes it after bp_gunzip_close). NULL with err set on failure. */
bp_gunzip *bp_gunzip_open(FILE *f, bp_error *err);

/* The next decompressed bytes: *out and *n (valid until the next call);
** *n == 0 once every member has been decoded and verified. Concatenated
** members are read as one stream, as gzip -d does. */
bp_status bp_gunzip_read(bp_gunzip *z, const unsigned char **out, size_t *n,
                         bp_error *err);

/* The same, decoding only until about max bytes are out (at least 1; a
** match may run up to 257 bytes past max): a reader that knows how much
** it wants stops at the first byte past it instead of decoding, say, a
** 4 GiB member that follows its data. */
bp_status bp_gunzip_read_max(bp_gunzip *z, size_t max,
                             const unsigned char **out, size_t *n,
                             bp_error *err);

void bp_gunzip_close(bp_gunzip *z);   /* NULL is fine */

#endif
