/*
** inflate.c: gzip members (RFC 1952) and the DEFLATE decoder (RFC 1951)
** inside them: stored, fixed-Huffman and dynamic-Huffman blocks.
**
** Output goes into one buffer: a 32 KB history window followed by room for
** a chunk. A pull decodes until the chunk is full (a match may run up to
** SLACK bytes past it), hands the new bytes out, and the next pull slides
** the last 32 KB down. Decoding stops only between symbols, so the state to
** resume is small: which block part we are in, and a stored block's count.
**
** Huffman codes are decoded with one table lookup on the next FAST bits;
** longer codes go through a second-level table for their FAST-bit prefix.
** Bits come least significant first from a 64-bit buffer. The buffer never
** holds bits the input does not have, so a code needing more bits than are
** left means the input is truncated.
*/
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/crc32.h"
#include "io/inflate.h"
#include "tensor/tensor.h"

#define WSIZE 32768u            /* DEFLATE's largest distance */
#define CHUNK 131072u           /* new bytes per pull */
#define LIMIT (WSIZE + CHUNK)
#define SLACK (258u + 8u)       /* one longest match, plus 8-byte copies */
#define INSIZE 65536u

#define LFAST 10                /* root bits of the literal/length table */
#define DFAST 8                 /* ... of the distance table */
#define CFAST 7                 /* code-length codes are at most 7 bits */
/* Each second-level table belongs to at least one code longer than FAST
** bits and has at most 2^(15 - FAST) entries, which bounds the sizes. */
#define LCAP ((1u << LFAST) + 288u * (1u << (15 - LFAST)))
#define DCAP ((1u << DFAST) + 32u * (1u << (15 - DFAST)))
#define CCAP (1u << CFAST)

/* Table entry: bits 0-4 code length (0 = no such code), bit 5 = points to
** a second-level table with (bits 8-11) index bits, bits 16-31 the symbol
** or the second-level table's offset. */
#define E_SUB 0x20u

enum { S_HEADER, S_BLOCK, S_STORED, S_HUFF, S_TRAILER, S_DONE };

struct bp_gunzip {
  FILE *f;
  int eof, ioerr;
  size_t in_pos, in_len;
  unsigned long long in_base;     /* file offset of in[0] */
  uint64_t bb;                    /* bit buffer; bits above bc are zero */
  unsigned bc;
  int state, final, members;
  size_t stored_left;
  const uint32_t *lit, *dist;     /* current block's tables */
  int fixed_ready;
  bp_status failed;               /* sticky: a damaged stream stays failed */
  bp_error failmsg;
  uint32_t crc, isize;            /* of the current member so far */
  unsigned long long mtotal;      /* bytes of the current member so far */
  size_t out_pos, crc_pos;        /* crc, isize, mtotal cover out[..crc_pos) */
  size_t stop;                    /* this pull decodes until out_pos >= stop */
  uint32_t dlit[LCAP], ddist[DCAP], flit[LCAP], fdist[DCAP];
  unsigned char in[INSIZE];
  unsigned char out[LIMIT + SLACK];
};

static const unsigned short LBASE[29] = {
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
  67, 83, 99, 115, 131, 163, 195, 227, 258};
static const unsigned char LEXT[29] = {
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
  5, 5, 5, 5, 0};
static const unsigned short DBASE[30] = {
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
  769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const unsigned char DEXT[30] = {
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
  11, 11, 12, 12, 13, 13};
/* The order code-length code lengths are sent in (RFC 1951, 3.2.7). */
static const unsigned char CLORDER[19] = {
  16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* --- errors ---------------------------------------------------------- */

static unsigned long long where(const bp_gunzip *z) {
  return z->in_base + z->in_pos - z->bc / 8;
}

static bp_status corrupt(bp_gunzip *z, bp_error *err, const char *what) {
  return bp_fail(err, BP_EFORMAT, "corrupt gzip data: %s (near byte %llu "
                 "of the file)", what, where(z));
}

/* The input ran out (or could not be read) where more was needed. */
static bp_status truncated(bp_gunzip *z, bp_error *err, const char *what) {
  if (z->ioerr)
    return bp_fail(err, BP_EIO, "read error: %s", strerror(z->ioerr));
  return bp_fail(err, BP_EFORMAT, "truncated gzip file: it ends inside %s "
                 "(after %llu bytes)", what, z->in_base + z->in_len);
}

/* --- input ----------------------------------------------------------- */

static int fill(bp_gunzip *z) {
  if (z->eof) return 0;
  z->in_base += z->in_len;
  z->in_pos = 0;
  z->in_len = fread(z->in, 1, INSIZE, z->f);
  if (z->in_len == 0) {
    z->eof = 1;
    if (ferror(z->f)) z->ioerr = errno ? errno : EIO;
    return 0;
  }
  return 1;
}

/* Top the bit buffer up to at least 57 bits, or to what the input has. */
static void refill(bp_gunzip *z) {
  if (z->in_len - z->in_pos >= 8) {
    const unsigned char *p = z->in + z->in_pos;
    uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                 (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
                 (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
                 (uint64_t)p[7] << 56;
    unsigned nb = (63 - z->bc) >> 3;          /* whole bytes that fit */
    z->bb |= w << z->bc;
    z->in_pos += nb;
    z->bc += nb * 8;
    z->bb &= ((uint64_t)1 << z->bc) - 1;      /* keep only counted bits */
    return;
  }
  while (z->bc <= 56) {
    if (z->in_pos == z->in_len && !fill(z)) break;
    z->bb |= (uint64_t)z->in[z->in_pos++] << z->bc;
    z->bc += 8;
  }
}

/* n (<= 32) bits into *v; 0 if the input ends first. */
static int getbits(bp_gunzip *z, unsigned n, unsigned *v) {
  if (z->bc < n) {
    refill(z);
    if (z->bc < n) return 0;
  }
  *v = (unsigned)(z->bb & (((uint64_t)1 << n) - 1));
  z->bb >>= n;
  z->bc -= n;
  return 1;
}

/* One byte in byte mode (after align): from the bit buffer, then the
** input. -1 at the end of the input. */
static int getbyte(bp_gunzip *z) {
  if (z->bc >= 8) {
    int c = (int)(z->bb & 0xFF);
    z->bb >>= 8;
    z->bc -= 8;
    return c;
  }
  if (z->in_pos == z->in_len && !fill(z)) return -1;
  return z->in[z->in_pos++];
}

static void align(bp_gunzip *z) {
  z->bb >>= z->bc & 7;
  z->bc &= ~7u;
}

/* --- Huffman tables -------------------------------------------------- */

static unsigned reverse(unsigned code, unsigned len) {
  unsigned r = 0;
  while (len--) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

/* Build tab (cap entries, `fast` root bits) for the code lengths lens[0..n)
** (each <= 15). Returns NULL or what is wrong with the code. As zlib does,
** an incomplete code is accepted only when it is a single 1-bit code (or
** no code at all, for distances) and not for the code-length code; the
** missing codes stay invalid entries. */
static const char *build(uint32_t *tab, size_t cap, const unsigned char *lens,
                         unsigned n, unsigned fast, int codelens) {
  unsigned count[16] = {0}, next[16], code[16], s, len, maxlen = 0;
  unsigned char sub[1u << LFAST];
  unsigned mask = (1u << fast) - 1, i;
  long left = 1;
  size_t off = (size_t)1 << fast;

  for (s = 0; s < n; s++) count[lens[s]]++;
  for (len = 1; len <= 15; len++) {
    if (count[len]) maxlen = len;
    left = left * 2 - count[len];
    if (left < 0) return "over-subscribed Huffman code";
  }
  if (left > 0 && maxlen != 0 && (codelens || maxlen != 1))
    return "incomplete Huffman code";
  next[1] = 0;
  for (len = 2; len <= 15; len++) next[len] = (next[len - 1] + count[len - 1]) << 1;

  memset(tab, 0, ((size_t)1 << fast) * sizeof *tab);
  memset(sub, 0, (size_t)1 << fast);
  /* Second-level tables: sized by the longest code under each prefix. */
  memcpy(code, next, sizeof code);
  for (s = 0; s < n; s++) {
    len = lens[s];
    if (len > fast) {
      unsigned p = reverse(code[len]++, len) & mask;
      if (len > sub[p]) sub[p] = (unsigned char)len;
    } else if (len) {
      code[len]++;
    }
  }
  for (i = 0; i <= mask; i++) {
    if (sub[i]) {
      unsigned sb = sub[i] - fast;
      if (off + ((size_t)1 << sb) > cap) return "Huffman table overflow";
      memset(tab + off, 0, ((size_t)1 << sb) * sizeof *tab);
      tab[i] = (uint32_t)(off << 16) | E_SUB | (sb << 8);
      off += (size_t)1 << sb;
    }
  }
  for (s = 0; s < n; s++) {
    unsigned r;
    len = lens[s];
    if (len == 0) continue;
    r = reverse(next[len]++, len);
    if (len <= fast) {
      for (i = r; i <= mask; i += 1u << len) tab[i] = (s << 16) | len;
    } else {
      uint32_t e = tab[r & mask];
      size_t base = e >> 16;
      unsigned sb = (e >> 8) & 15;
      for (i = r >> fast; i < (1u << sb); i += 1u << (len - fast))
        tab[base + i] = (s << 16) | len;
    }
  }
  return NULL;
}

/* Look up the next code: the entry, whose length may be 0 (invalid) or
** more than the bits we have (truncated); the caller checks. */
static uint32_t lookup(const uint32_t *tab, unsigned fast, uint64_t bb) {
  uint32_t e = tab[bb & ((1u << fast) - 1)];
  if (e & E_SUB)
    e = tab[(e >> 16) + ((bb >> fast) & ((1u << ((e >> 8) & 15)) - 1))];
  return e;
}

static bp_status fixed_tables(bp_gunzip *z, bp_error *err) {
  unsigned char lens[288];
  if (!z->fixed_ready) {
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    if (build(z->flit, LCAP, lens, 288, LFAST, 0)) return corrupt(z, err, "fixed table");
    memset(lens, 5, 32);   /* 30 and 31 are never valid, but complete the code */
    if (build(z->fdist, DCAP, lens, 32, DFAST, 0)) return corrupt(z, err, "fixed table");
    z->fixed_ready = 1;
  }
  z->lit = z->flit;
  z->dist = z->fdist;
  return BP_OK;
}

static bp_status dynamic_tables(bp_gunzip *z, bp_error *err) {
  unsigned char lens[286 + 30], cl[19];
  uint32_t ctab[CCAP];
  unsigned hlit, hdist, hclen, i, n, v;
  const char *why;
  if (!getbits(z, 5, &hlit) || !getbits(z, 5, &hdist) || !getbits(z, 4, &hclen))
    return truncated(z, err, "a block header");
  hlit += 257;
  hdist += 1;
  hclen += 4;
  if (hlit > 286 || hdist > 30)
    return corrupt(z, err, "too many length or distance codes");
  memset(cl, 0, sizeof cl);
  for (i = 0; i < hclen; i++) {
    if (!getbits(z, 3, &v)) return truncated(z, err, "a block header");
    cl[CLORDER[i]] = (unsigned char)v;
  }
  if ((why = build(ctab, CCAP, cl, 19, CFAST, 1)) != NULL)
    return corrupt(z, err, why);
  n = hlit + hdist;
  for (i = 0; i < n;) {
    uint32_t e;
    unsigned len, sym, rep, val = 0;
    if (z->bc < 16) refill(z);
    e = lookup(ctab, CFAST, z->bb);
    len = e & 31;
    if (len == 0) return corrupt(z, err, "invalid code-length code");
    if (len > z->bc) return truncated(z, err, "a block header");
    z->bb >>= len;
    z->bc -= len;
    sym = e >> 16;
    if (sym < 16) {
      lens[i++] = (unsigned char)sym;
      continue;
    }
    if (sym == 16) {
      if (i == 0) return corrupt(z, err, "repeated code length with no previous length");
      val = lens[i - 1];
      if (!getbits(z, 2, &rep)) return truncated(z, err, "a block header");
      rep += 3;
    } else if (sym == 17) {
      if (!getbits(z, 3, &rep)) return truncated(z, err, "a block header");
      rep += 3;
    } else {
      if (!getbits(z, 7, &rep)) return truncated(z, err, "a block header");
      rep += 11;
    }
    if (i + rep > n) return corrupt(z, err, "code lengths run past their count");
    memset(lens + i, (int)val, rep);
    i += rep;
  }
  if (lens[256] == 0) return corrupt(z, err, "no end-of-block code");
  if ((why = build(z->dlit, LCAP, lens, hlit, LFAST, 0)) != NULL ||
      (why = build(z->ddist, DCAP, lens + hlit, hdist, DFAST, 0)) != NULL)
    return corrupt(z, err, why);
  z->lit = z->dlit;
  z->dist = z->ddist;
  return BP_OK;
}

/* --- blocks ---------------------------------------------------------- */

static bp_status block_header(bp_gunzip *z, bp_error *err) {
  unsigned v, len, nlen;
  if (!getbits(z, 3, &v)) return truncated(z, err, "a block header");
  z->final = v & 1;
  switch (v >> 1) {
  case 0:
    align(z);
    if (!getbits(z, 16, &len) || !getbits(z, 16, &nlen))
      return truncated(z, err, "a block header");
    if (len != (~nlen & 0xFFFFu))
      return corrupt(z, err, "stored block length does not match its complement");
    z->stored_left = len;
    z->state = S_STORED;
    return BP_OK;
  case 1:
    z->state = S_HUFF;
    return fixed_tables(z, err);
  case 2:
    z->state = S_HUFF;
    return dynamic_tables(z, err);
  default:
    return corrupt(z, err, "invalid block type 3");
  }
}

static void end_block(bp_gunzip *z) {
  z->state = z->final ? S_TRAILER : S_BLOCK;
}

static bp_status stored(bp_gunzip *z, bp_error *err) {
  size_t pos = z->out_pos;
  while (z->stored_left > 0 && pos < z->stop) {
    size_t k;
    if (z->bc >= 8) {          /* bytes already in the bit buffer first */
      z->out[pos++] = (unsigned char)z->bb;
      z->bb >>= 8;
      z->bc -= 8;
      z->stored_left--;
      continue;
    }
    if (z->in_pos == z->in_len && !fill(z)) {
      z->out_pos = pos;
      return truncated(z, err, "a stored block");
    }
    k = z->in_len - z->in_pos;
    if (k > z->stored_left) k = z->stored_left;
    if (k > z->stop - pos) k = z->stop - pos;
    memcpy(z->out + pos, z->in + z->in_pos, k);
    z->in_pos += k;
    pos += k;
    z->stored_left -= k;
  }
  z->out_pos = pos;
  if (z->stored_left == 0) end_block(z);
  return BP_OK;
}

/* Literals and matches until the chunk is full or the block ends. The bit
** buffer lives in locals here: the output stores go through unsigned char
** pointers, which would otherwise force it back to memory each time. */
static bp_status huffman(bp_gunzip *z, bp_error *err) {
  const uint32_t *lit = z->lit, *dist = z->dist;
  unsigned char *out = z->out;
  size_t pos = z->out_pos, stop = z->stop;
  uint64_t bb = z->bb;
  unsigned bc = z->bc;
  const char *bad = NULL;
  int trunc = 0;

  while (pos < stop) {
    uint32_t e;
    unsigned len, sym, n, length, d;
    if (bc < 48) {             /* 48 bits: the longest length/distance pair */
      z->bb = bb;
      z->bc = bc;
      refill(z);
      bb = z->bb;
      bc = z->bc;
    }
    e = lookup(lit, LFAST, bb);
    len = e & 31;
    if (len == 0) { bad = "invalid literal/length code"; break; }
    if (len > bc) { trunc = 1; break; }
    bb >>= len;
    bc -= len;
    sym = e >> 16;
    if (sym < 256) {
      out[pos++] = (unsigned char)sym;
      continue;
    }
    if (sym == 256) {
      end_block(z);
      break;
    }
    sym -= 257;
    if (sym >= 29) { bad = "invalid length symbol"; break; }
    n = LEXT[sym];
    if (n > bc) { trunc = 1; break; }
    length = LBASE[sym] + (unsigned)(bb & ((1u << n) - 1));
    bb >>= n;
    bc -= n;
    e = lookup(dist, DFAST, bb);
    len = e & 31;
    if (len == 0) { bad = "invalid distance code"; break; }
    if (len > bc) { trunc = 1; break; }
    bb >>= len;
    bc -= len;
    sym = e >> 16;
    if (sym >= 30) { bad = "invalid distance symbol"; break; }
    n = DEXT[sym];
    if (n > bc) { trunc = 1; break; }
    d = DBASE[sym] + (unsigned)(bb & ((1u << n) - 1));
    bb >>= n;
    bc -= n;
    if (d > z->mtotal + (pos - z->crc_pos)) {
      bad = "distance too far back";
      break;
    }
    {
      unsigned char *dst = out + pos;
      const unsigned char *src = dst - d;
      unsigned i;
      if (d >= 8) {            /* may write up to 7 bytes past: SLACK */
        for (i = 0; i < length; i += 8) memcpy(dst + i, src + i, 8);
      } else if (d == 1) {
        memset(dst, src[0], length);
      } else {
        for (i = 0; i < length; i++) dst[i] = src[i];
      }
      pos += length;
    }
  }
  z->bb = bb;
  z->bc = bc;
  z->out_pos = pos;
  if (bad) return corrupt(z, err, bad);
  if (trunc) return truncated(z, err, "compressed data");
  return BP_OK;
}

/* --- gzip members ---------------------------------------------------- */

/* Fold the bytes decoded since the last call into the member's CRC. */
static void sync(bp_gunzip *z) {
  size_t k = z->out_pos - z->crc_pos;
  z->crc = bp_crc32(z->crc, z->out + z->crc_pos, k);
  z->isize += (uint32_t)k;
  z->mtotal += k;
  z->crc_pos = z->out_pos;
}

/* A member header; `first` is its first byte when already read, else -1. */
static bp_status header(bp_gunzip *z, int first, bp_error *err) {
  unsigned char h[10];
  uint32_t hcrc;
  int i, c, flg;
  for (i = 0; i < 10; i++) {
    c = (i == 0 && first >= 0) ? first : getbyte(z);
    if (c < 0) {
      if (i == 0 && z->members > 0 && !z->ioerr) {   /* clean end of file */
        z->state = S_DONE;
        return BP_OK;
      }
      return truncated(z, err, "a gzip header");
    }
    h[i] = (unsigned char)c;
    if (i == 1 && (h[0] != 0x1F || h[1] != 0x8B)) {
      if (z->members == 0)
        return bp_fail(err, BP_EFORMAT, "not a gzip file (it starts with "
                       "0x%02x 0x%02x, expected 0x1f 0x8b)", h[0], h[1]);
      return corrupt(z, err, "unexpected bytes after the end of a gzip member");
    }
  }
  if (h[2] != 8)
    return corrupt(z, err, "unknown compression method (only 8, deflate, exists)");
  flg = h[3];
  if (flg & 0xE0) return corrupt(z, err, "reserved header flags are set");
  hcrc = bp_crc32(0, h, 10);
  if (flg & 4) {               /* FEXTRA: 2-byte length, then that many bytes */
    unsigned char x[2];
    unsigned xlen;
    for (i = 0; i < 2; i++) {
      if ((c = getbyte(z)) < 0) return truncated(z, err, "a gzip header");
      x[i] = (unsigned char)c;
    }
    hcrc = bp_crc32(hcrc, x, 2);
    xlen = x[0] | (unsigned)x[1] << 8;
    while (xlen--) {
      unsigned char b;
      if ((c = getbyte(z)) < 0) return truncated(z, err, "a gzip header");
      b = (unsigned char)c;
      hcrc = bp_crc32(hcrc, &b, 1);
    }
  }
  for (i = 0; i < 2; i++) {    /* FNAME, FCOMMENT: zero-terminated */
    if (flg & (i == 0 ? 8 : 16)) {
      unsigned char b;
      do {
        if ((c = getbyte(z)) < 0) return truncated(z, err, "a gzip header");
        b = (unsigned char)c;
        hcrc = bp_crc32(hcrc, &b, 1);
      } while (b != 0);
    }
  }
  if (flg & 2) {               /* FHCRC: low 16 bits of the header's CRC-32 */
    int lo = getbyte(z), hi = getbyte(z);
    if (lo < 0 || hi < 0) return truncated(z, err, "a gzip header");
    if ((unsigned)(lo | hi << 8) != (hcrc & 0xFFFFu))
      return corrupt(z, err, "header CRC mismatch");
  }
  z->members++;
  z->crc = 0;
  z->isize = 0;
  z->mtotal = 0;
  z->crc_pos = z->out_pos;
  z->state = S_BLOCK;
  return BP_OK;
}

static bp_status trailer(bp_gunzip *z, bp_error *err) {
  unsigned char t[8];
  uint32_t crc, isize;
  int i, c;
  sync(z);
  align(z);
  for (i = 0; i < 8; i++) {
    if ((c = getbyte(z)) < 0) return truncated(z, err, "a gzip trailer");
    t[i] = (unsigned char)c;
  }
  crc = t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  isize = t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
  if (crc != z->crc)
    return bp_fail(err, BP_EFORMAT, "corrupt gzip data: CRC-32 mismatch in "
                   "member %d (stored %08lx, computed %08lx)", z->members,
                   (unsigned long)crc, (unsigned long)z->crc);
  if (isize != z->isize)
    return bp_fail(err, BP_EFORMAT, "corrupt gzip data: member %d holds %lu "
                   "bytes (mod 2^32) but its trailer says %lu", z->members,
                   (unsigned long)z->isize, (unsigned long)isize);
  return header(z, -1, err);   /* another member, or the end */
}

bp_gunzip *bp_gunzip_open(FILE *f, bp_error *err) {
  bp_gunzip *z = bp_calloc(1, sizeof *z);
  if (z == NULL) {
    bp_fail(err, BP_ENOMEM, "out of memory for the gzip decoder");
    return NULL;
  }
  z->f = f;
  z->state = S_HEADER;
  return z;
}

bp_status bp_gunzip_read(bp_gunzip *z, const unsigned char **out, size_t *n,
                         bp_error *err) {
  return bp_gunzip_read_max(z, CHUNK, out, n, err);
}

bp_status bp_gunzip_read_max(bp_gunzip *z, size_t max,
                             const unsigned char **out, size_t *n,
                             bp_error *err) {
  size_t start;
  bp_status st = BP_OK;
  *out = NULL;
  *n = 0;
  if (z->failed != BP_OK) {
    if (err) *err = z->failmsg;
    return z->failed;
  }
  if (z->out_pos > WSIZE) {    /* keep the last 32 KB as history */
    memmove(z->out, z->out + z->out_pos - WSIZE, WSIZE);
    z->out_pos = z->crc_pos = WSIZE;
  }
  start = z->out_pos;
  z->stop = start + (max == 0 ? 1 : max < CHUNK ? max : CHUNK);
  while (st == BP_OK && z->out_pos < z->stop && z->state != S_DONE) {
    switch (z->state) {
    case S_HEADER: st = header(z, -1, err); break;
    case S_BLOCK: st = block_header(z, err); break;
    case S_STORED: st = stored(z, err); break;
    case S_HUFF: st = huffman(z, err); break;
    case S_TRAILER: st = trailer(z, err); break;
    }
  }
  if (st != BP_OK) {
    z->failed = st;
    if (err) z->failmsg = *err;
    else z->failmsg.msg[0] = '\0';
    return st;
  }
  sync(z);
  *out = z->out + start;
  *n = z->out_pos - start;
  return BP_OK;
}

void bp_gunzip_close(bp_gunzip *z) {
  free(z);
}
