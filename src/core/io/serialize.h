/*
** serialize.h: saving and loading networks in backprop's own format.
** A file holds the topology and the weights, never code. All numbers are
** little-endian, whatever the machine:
**
**   8 bytes   magic "\x89BPNET\r\n" (the \r\n catches text-mode mangling)
**   u32       format version (3)
**   u32       number of layers L
**   L times:  u32 kind (layer.h), u32 record length R, then R bytes:
**               u32 number of settings S, then S times:
**                 u8 name length, the name (the Lua option: "stride"),
**                 u8 type (1 size, 2 pair, 3 float), then the value:
**                 u32, or u32 h and u32 w, or f32
**               u32 number of state values, then that many f32 (the
**               layer's non-trainable state: BatchNorm's running mean,
**               then running variance)
**   u64       number of parameter floats P (no padding)
**   P x f32   each layer's parameters in order (Linear: weight, out x in
**             row-major, then bias)
**   u32       number of sections S (at most BP_MAX_SECTIONS), then S
**             times: u8 name length (1-255), the name, u8 flags (bit 0:
**             required), u64 length N, N bytes
**   u32       CRC-32 (IEEE) of every byte before it
**
** Sections carry what travels with a network but is not the network: the
** binding's predictor metadata ("predictor": scaler, class names, the
** user's values) and checkpoints ("checkpoint": optimizer, scheduler and
** generator states, the epoch), each an opaque run of bytes here (the
** binding's lsave.c encodes them). A reader takes the sections it knows
** and skips the others, unless one is marked required: then it refuses the
** file, as it refuses a layer it does not know.
**
** Settings are written by the class's schema (layer.h), every one of
** them, so a new setting or a new layer needs no change here. A setting
** missing from a record takes its default: files written before it was
** added still load. A setting this build does not know (a file from a
** newer backprop) is an error naming it, as is an unknown kind: it may
** change what the layer computes, so it is never skipped.
**
** Version 2 files (the same without the section list) and version 1
** files (12-byte records of in, out, alpha for kinds 1-7, fixed 48-byte
** records and the state for the others; see model_v1.c) still load.
**
** Loading reads the file once, checks every count and length against the
** bytes there are and then the checksum before it allocates anything
** whose size the file claims. Saving replaces the file whole or not at
** all (bp_file_write, io/file.h).
*/
#ifndef BP_SERIALIZE_H
#define BP_SERIALIZE_H

#include "base/status.h"
#include "nn/net.h"

#define BP_FORMAT_VERSION 3
#define BP_MAX_SECTIONS 64

/* A section: its name (1 to 255 bytes, no zero byte), whether a reader
** that does not know it must refuse the file, and its bytes. */
typedef struct bp_section {
  const char *name;
  int required;
  const unsigned char *data;
  size_t len;
} bp_section;

bp_status bp_net_save(const bp_net *net, const char *path, bp_error *err);
/* The same with ns sections, each name once. */
bp_status bp_net_save_sections(const bp_net *net, const char *path,
                               const bp_section *sections, size_t ns,
                               bp_error *err);
/* On success *net is built and owns its memory (free with bp_net_free). */
bp_status bp_net_load(bp_net *net, const char *path, bp_error *err);
/* The same, and the sections named in known[0..nk): on success each one's
** data and len are set (data NULL when the file has none), pointing into
** *file, the file's bytes, which the caller frees with free(). */
bp_status bp_net_load_sections(bp_net *net, const char *path,
                               bp_section *known, size_t nk,
                               unsigned char **file, bp_error *err);

#endif
