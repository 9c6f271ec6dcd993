/*
** putfile.c: see putfile.h (TEMPORARY: to be replaced by the shared
** atomic writer of the model-file work).
*/
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L   /* open, fdopen, fsync, getpid */
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "base/alloc.h"
#include "io/putfile.h"

/* What differs by platform: creating a file that must not exist yet,
** flushing it to the disk, and making the directory entry durable. */
#if !defined(_WIN32)

static FILE *create_new(const char *name) {
  int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
  FILE *f;
  if (fd < 0) return NULL;
  f = fdopen(fd, "wb");
  if (f == NULL) {
    close(fd);
    remove(name);
  }
  return f;
}

static int to_disk(FILE *f) {
  return fflush(f) == 0 && fsync(fileno(f)) == 0;
}

/* Flush the directory holding path, so the rename itself is durable
** (best effort: some file systems refuse it). */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = NULL;
  int fd;
  if (slash != NULL) {
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if ((dir = bp_malloc(len + 1)) == NULL) return;
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  fd = open(dir != NULL ? dir : ".", O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(dir);
}

static unsigned long process_id(void) {
  return (unsigned long)getpid();
}

#else

static FILE *create_new(const char *name) {
  return fopen(name, "wbx");        /* "x": fails if it exists */
}

static int to_disk(FILE *f) {
  return fflush(f) == 0;
}

static void sync_dir(const char *path) {
  (void)path;
}

static unsigned long process_id(void) {
  return 0;
}

#endif

bp_status bp_putfile(const char *path, const void *buf, size_t n,
                     bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + 24);
  unsigned long seed;
  FILE *f = NULL;
  int tries, ok, saved;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  /* A name nobody else uses: creating it fails rather than open another
  ** writer's file or follow a symlink; then the next name is tried. */
  seed = process_id() * 2654435761ul ^ (unsigned long)time(NULL) ^
         (unsigned long)(size_t)tmp;
  for (tries = 0; tries < 100 && f == NULL; tries++) {
    seed = seed * 1103515245ul + 12345ul;
    snprintf(tmp, plen + 24, "%s.%08lx.tmp", path, seed & 0xffffffffu);
    f = create_new(tmp);
    if (f == NULL && errno != EEXIST) break;
  }
  if (f == NULL) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    free(tmp);
    return st;
  }
  ok = fwrite(buf, 1, n, f) == n && to_disk(f);
  saved = errno;
  ok = fclose(f) == 0 && ok;
#if defined(_WIN32)
  if (ok) remove(path);             /* Windows will not rename over a file */
#endif
  if (ok && rename(tmp, path) != 0) {
    saved = errno;
    ok = 0;
  }
  if (!ok) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(saved != 0 ? saved : EIO));
    remove(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  sync_dir(path);
  return BP_OK;
}
