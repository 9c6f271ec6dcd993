/* file.c: whole files in and out (see file.h). */
#if !defined(BP_NO_POSIX) && \
    (defined(__unix__) || defined(__unix) || \
     (defined(__APPLE__) && defined(__MACH__)))
#define _POSIX_C_SOURCE 200809L   /* O_CLOEXEC, O_NOFOLLOW, fsync */
#define BP_POSIX 1
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef BP_POSIX
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "base/alloc.h"
#include "io/file.h"

bp_status bp_file_read(const char *path, unsigned char **buf, size_t *n,
                       bp_error *err) {
  FILE *f = fopen(path, "rb");
  long size;
  if (f == NULL)
    return bp_fail(err, BP_EIO, "cannot open '%s': %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  *buf = bp_malloc(size > 0 ? (size_t)size : 1);
  if (*buf == NULL) {
    fclose(f);
    return bp_fail(err, BP_ENOMEM, "out of memory reading '%s'", path);
  }
  if (fread(*buf, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    free(*buf);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  fclose(f);
  *n = (size_t)size;
  return BP_OK;
}

/* --- the temporary file ------------------------------------------------ */

#define ATTEMPTS 100     /* names tried before giving up, as mkstemp's */
#define SUFFIX 22        /* "." 16 hex digits ".tmp" and the zero byte */

static uint64_t mix(uint64_t z) {        /* splitmix64's finalizer */
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* What differs between two processes, two threads, two calls: the time,
** the process id, and addresses on this thread's stack and heap. Not a
** secret: the exclusive creation is what makes the file ours; the name
** only has to differ from other savers' so that they rarely retry. */
static uint64_t seed(const void *heap) {
  uint64_t s = mix((uint64_t)time(NULL)) ^ mix((uint64_t)clock() + 1);
  int local = 0;
#ifdef BP_POSIX
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
    s ^= mix((uint64_t)ts.tv_nsec << 20 ^ (uint64_t)ts.tv_sec);
  s ^= mix((uint64_t)getpid() + 0x9E3779B97F4A7C15ull);
#endif
  s ^= mix((uint64_t)(uintptr_t)heap) ^ mix((uint64_t)(uintptr_t)&local << 1);
  return s;
}

/* "<path>.<16 hex digits>.tmp" into tmp (plen + SUFFIX bytes). */
static void temp_name(char *tmp, const char *path, size_t plen, uint64_t r) {
  static const char HEX[] = "0123456789abcdef";
  int k;
  memcpy(tmp, path, plen);
  tmp[plen] = '.';
  for (k = 0; k < 16; k++) tmp[plen + 1 + k] = HEX[(r >> (4 * k)) & 15];
  memcpy(tmp + plen + 17, ".tmp", 5);
}

#ifdef BP_POSIX

/* Create the temporary file exclusively: O_EXCL fails on any existing
** name, a symbolic link included (never followed); on EEXIST, the next
** name. Returns the descriptor, or -1 with errno set. */
static int temp_open(char *tmp, const char *path, size_t plen) {
  uint64_t s = seed(tmp);
  int i, fd = -1, flags = O_WRONLY | O_CREAT | O_EXCL;
#ifdef O_NOFOLLOW
  flags |= O_NOFOLLOW;
#endif
#ifdef O_CLOEXEC
  flags |= O_CLOEXEC;
#endif
  for (i = 0; i < ATTEMPTS; i++) {
    temp_name(tmp, path, plen, mix(s + (uint64_t)i * 0x9E3779B97F4A7C15ull));
    fd = open(tmp, flags, 0666);         /* the umask applies, as fopen's */
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;                             /* errno is EEXIST */
}

/* Write all n bytes, then fsync and close: 0, or -1 with errno set. */
static int temp_fill(int fd, const unsigned char *p, size_t n) {
  int saved;
  while (n > 0) {
    ssize_t k = write(fd, p, n < ((size_t)1 << 30) ? n : ((size_t)1 << 30));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      if (k == 0) errno = EIO;
      goto fail;
    }
    p += k;
    n -= (size_t)k;
  }
  if (fsync(fd) != 0) goto fail;
  return close(fd);
fail:
  saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

/* fsync the directory holding path (the rename is durable only then),
** with buf (at least strlen(path) + 2 bytes) for its name. A file system
** that cannot sync a directory (EINVAL) has nothing more to do. */
static int sync_dir(char *buf, const char *path) {
  const char *slash = strrchr(path, '/');
  int fd, r, saved;
  if (slash == NULL) {
    strcpy(buf, ".");
  } else {
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    memcpy(buf, path, len);
    buf[len] = '\0';
  }
  fd = open(buf, O_RDONLY);
  if (fd < 0) return errno == EACCES ? 0 : -1;  /* searchable, unreadable */
  r = fsync(fd);
  saved = errno;
  close(fd);
  errno = saved;
  return r == 0 || errno == EINVAL ? 0 : -1;
}

bp_status bp_file_write(const char *path, const void *data, size_t n,
                        bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + SUFFIX);
  int fd;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  fd = temp_open(tmp, path, plen);
  if (fd < 0 || temp_fill(fd, data, n) != 0 || rename(tmp, path) != 0) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    if (fd >= 0) remove(tmp);     /* ours: made by the exclusive open */
    free(tmp);
    return st;
  }
  if (sync_dir(tmp, path) != 0) {
    bp_status st = bp_fail(err, BP_EIO, "'%s' was written, but its "
                           "directory could not be synced to disk: %s",
                           path, strerror(errno));
    free(tmp);
    return st;
  }
  free(tmp);
  return BP_OK;
}

#else   /* C99 alone */

/* The first name of the sequence that no file holds yet, opened. */
static FILE *temp_open(char *tmp, const char *path, size_t plen) {
  uint64_t s = seed(tmp);
  int i;
  for (i = 0; i < ATTEMPTS; i++) {
    FILE *probe;
    temp_name(tmp, path, plen, mix(s + (uint64_t)i * 0x9E3779B97F4A7C15ull));
    probe = fopen(tmp, "rb");
    if (probe == NULL) return fopen(tmp, "wb");
    fclose(probe);
  }
  errno = EEXIST;
  return NULL;
}

bp_status bp_file_write(const char *path, const void *data, size_t n,
                        bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + SUFFIX);
  FILE *f;
  int ok;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  f = temp_open(tmp, path, plen);
  if (f == NULL) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    free(tmp);
    return st;
  }
  ok = fwrite(data, 1, n, f) == n;
  ok = (fflush(f) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (ok && rename(tmp, path) != 0) {
#if defined(_WIN32)
    /* Windows will not rename over an existing file. Elsewhere rename
    ** replaces a file atomically, and a failure is a real error: removing
    ** path there would delete the previous file for nothing. */
    remove(path);
    ok = rename(tmp, path) == 0;
#else
    ok = 0;
#endif
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
