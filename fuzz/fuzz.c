/* fuzz.c: scratch files and checks for the libFuzzer targets (fuzz.h). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];

/* Remove the scratch directory and what the targets left in it (a save
** may leave its temporary file when the target aborts mid-way). */
static void cleanup(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[512];
  if (d == NULL) return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(dir);
}

/* Each name's path is built once and kept, so paths of different names
** stay valid together. */
const char *fuzz_path(const char *name) {
  static struct { const char *name; char path[512]; } known[8];
  size_t i;
  if (dir[0] == '\0') {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (base == NULL) base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/backprop-fuzz.XXXXXX", base ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(cleanup);
  }
  for (i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (known[i].name == NULL) {
      known[i].name = name;
      snprintf(known[i].path, sizeof known[i].path, "%s/%s", dir, name);
    }
    if (strcmp(known[i].name, name) == 0) return known[i].path;
  }
  fuzz_fail(__FILE__, __LINE__, "name", "too many scratch names");
  return NULL;
}

const char *fuzz_write(const char *name, const void *data, size_t size) {
  const char *path = fuzz_path(name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    perror("fuzz: writing the scratch file");
    abort();
  }
  return path;
}

unsigned char *fuzz_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf = NULL;
  size_t cap = 0, got;
  fuzz_check(f != NULL, "cannot open %s", path);
  *n = 0;
  do {
    if (*n == cap) {
      cap = cap ? 2 * cap : 4096;
      buf = realloc(buf, cap);
      fuzz_check(buf != NULL, "out of memory reading %s", path);
    }
    got = fread(buf + *n, 1, cap - *n, f);
    *n += got;
  } while (got > 0);
  fclose(f);
  return buf;
}

void fuzz_fail(const char *file, int line, const char *cond,
               const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}
