/*
** fuzz.h: what the libFuzzer targets in fuzz/ share (README.md, "Checking
** memory and fuzzing").
**
** The readers under test take a path, so each input is written to a
** scratch file first: one per process, in a private directory removed at
** exit, rewritten for every input. fuzz_check is the targets' assert: an
** invariant that does not hold is a finding, reported as a crash.
*/
#ifndef BP_FUZZ_H
#define BP_FUZZ_H

#include <stddef.h>

/* The path of scratch file `name` ("input", "saved") in the process's
** directory. */
const char *fuzz_path(const char *name);
/* Write size bytes to scratch file `name`; returns its path. */
const char *fuzz_write(const char *name, const void *data, size_t size);
/* The whole file at path (malloc'd, free it), its length in *n. */
unsigned char *fuzz_slurp(const char *path, size_t *n);

/* Abort with the message when cond is false. */
#define fuzz_check(cond, ...) \
  ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))
void fuzz_fail(const char *file, int line, const char *cond,
               const char *fmt, ...);

#endif
