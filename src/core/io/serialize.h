/*
** serialize.h: saving and loading networks in backprop's own format.
** A file holds the topology and the weights, never code. All numbers are
** little-endian, whatever the machine:
**
**   8 bytes   magic "\x89BPNET\r\n" (the \r\n catches text-mode mangling)
**   u32       format version (1)
**   u32       number of layers L
**   L times:  u32 kind, u32 record length R, then R bytes:
**               u32 in, u32 out, f32 alpha   (R >= 12)
**               then, for the layers added after the foundation (kinds 8
**               and up; the first seven keep 12-byte records):
**               u32 kh, kw, sh, sw, ph, pw, span, f32 beta, eps
**               (36 bytes; missing ones read as 0), then the layer's
**               non-trainable state, nstate x f32 (BatchNorm: running
**               mean, running variance; R >= 48 + 4 nstate)
**               extra bytes, from a later minor revision, are skipped
**   u64       number of parameter floats P (no padding)
**   P x f32   each layer's parameters in order: weight (out x in, row-major)
**             then bias
**   u32       CRC-32 (IEEE) of every byte before it
**
** New layers extend the length-prefixed records, so the format stays
** version 1: a file of the foundation's layers is byte for byte what it
** was, and an older build reading a newer file names the unknown kind.
**
** Every length is checked against the file size before it is used. Saving
** writes "<path>.tmp" and renames it over path, so an interrupted save
** leaves the previous file intact.
*/
#ifndef BP_SERIALIZE_H
#define BP_SERIALIZE_H

#include "nn/net.h"
#include "base/status.h"

#define BP_FORMAT_VERSION 1

bp_status bp_net_save(const bp_net *net, const char *path, bp_error *err);
/* On success *net is built and owns its memory (free with bp_net_free). */
bp_status bp_net_load(bp_net *net, const char *path, bp_error *err);

#endif
