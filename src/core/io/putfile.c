/*
** putfile.c: see putfile.h (TEMPORARY: to be replaced by the shared
** atomic writer of the model-file work).
*/
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L   /* open, fsync, getpid */
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

#if !defined(_WIN32)

/* Write all n bytes to fd, retrying short writes and interruptions. */
static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/* Flush the directory holding path, so the rename itself is durable. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir;
  int fd;
  if (slash == NULL) {
    dir = NULL;
  } else {
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    dir = bp_malloc(len + 1);
    if (dir == NULL) return;
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  fd = open(dir != NULL ? dir : ".", O_RDONLY);
  if (fd >= 0) {
    fsync(fd);          /* best effort: some file systems refuse it */
    close(fd);
  }
  free(dir);
}

bp_status bp_putfile(const char *path, const void *buf, size_t n,
                     bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + 40);
  unsigned long seed;
  int fd = -1, tries, ok, saved;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  /* A name nobody else uses: O_EXCL fails rather than open another
  ** writer's file or follow a symlink; then the next name is tried. */
  seed = (unsigned long)getpid() * 2654435761ul ^ (unsigned long)time(NULL) ^
         (unsigned long)(size_t)tmp;
  for (tries = 0; tries < 100 && fd < 0; tries++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    snprintf(tmp, plen + 40, "%s.%08lx.tmp", path, (seed >> 16) & 0xffffffffu);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    free(tmp);
    return st;
  }
  ok = write_all(fd, buf, n) && fsync(fd) == 0;
  saved = errno;
  ok = close(fd) == 0 && ok;
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

#else  /* Windows: no O_EXCL-by-name dance; write beside, then replace */

bp_status bp_putfile(const char *path, const void *buf, size_t n,
                     bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + 5);
  FILE *f;
  int ok;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  f = fopen(tmp, "wb");
  ok = f != NULL && fwrite(buf, 1, n, f) == n;
  if (f != NULL) ok = fclose(f) == 0 && ok;
  if (ok) {
    remove(path);
    ok = rename(tmp, path) == 0;
  }
  if (!ok) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    remove(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return BP_OK;
}

#endif
