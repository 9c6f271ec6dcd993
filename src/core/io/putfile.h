/*
** putfile.h: write a whole file so that no reader ever sees it half
** written, and a failed write leaves what was at the path before.
**
** TEMPORARY (branch interchange): the model-file work is adding the
** project's one shared atomic writer (unique temporary file, fsync,
** rename). Once both are merged, the callers of bp_putfile (safetensors.c,
** the ONNX export in src/lua/lio.c) switch to it and this file goes.
*/
#ifndef BP_PUTFILE_H
#define BP_PUTFILE_H

#include <stddef.h>

#include "base/status.h"

/* The n bytes at buf become the file at path: written to a new file of a
** unique name in the same directory (created exclusively, so no other
** writer's file and no symlink is ever followed), flushed to the disk,
** then renamed over path. On failure the temporary file is removed. */
bp_status bp_putfile(const char *path, const void *buf, size_t n,
                     bp_error *err);

#endif
