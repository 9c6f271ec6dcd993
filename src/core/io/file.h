/*
** file.h: whole files in and out, for every file the library writes (the
** model file, checkpoints, and through the binding the SVG plots).
**
** bp_file_write replaces path whole or not at all, even with other
** processes saving to the same path and across power loss. Where the
** platform is POSIX it creates a temporary file beside path with a name
** of its own ("<path>.<16 hex digits>.tmp", exclusive: O_CREAT|O_EXCL,
** which never follows a symbolic link, a new name drawn on EEXIST), writes
** it, fsyncs it, renames it over path and fsyncs the directory, so a
** reader sees the old file or the new one, never a mixture, and no save
** can write through a link someone placed at a predictable name. Every
** failure removes the temporary file and leaves path as it was.
**
** Elsewhere (a plain C99 build: -DBP_NO_POSIX, or a platform without
** unistd.h) the same steps run with the C library alone: the name is drawn
** the same way and skipped when a file of that name exists, but C99 cannot
** create a file exclusively nor sync it, so two processes drawing the same
** name at the same moment, or power loss, are not covered there.
*/
#ifndef BP_FILE_H
#define BP_FILE_H

#include <stddef.h>

#include "base/status.h"

/* The whole file at path into *buf (bp_malloc'd, at least 1 byte; free
** with free()) and its length into *n. */
bp_status bp_file_read(const char *path, unsigned char **buf, size_t *n,
                       bp_error *err);

/* Replace path with the n bytes at data (see above). */
bp_status bp_file_write(const char *path, const void *data, size_t n,
                        bp_error *err);

#endif
