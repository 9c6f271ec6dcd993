/*
** bench/baselines/bench.h: what the C bench programs share, header-only:
** reading the exchange files bench/ours/export.lua writes into $BENCH_DIR
** (blocks "name rows cols" followed by rows*cols numbers), a wall clock,
** and the RESULT line bench/run.lua parses.
*/
#ifndef BENCH_H
#define BENCH_H

#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct bench_block {
  char name[64];
  int rows, cols;
  double *v;                          /* rows*cols, row-major */
} bench_block;

static void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static double bench_env(const char *name, double fallback) {
  const char *s = getenv(name);
  char *end;
  double v;
  if (s == NULL || *s == '\0') return fallback;
  v = strtod(s, &end);
  return *end == '\0' ? v : fallback;
}

/* Reads up to max blocks of $BENCH_DIR/file; returns how many. */
static int bench_read(const char *file, bench_block *b, int max) {
  char path[4096];
  const char *dir = getenv("BENCH_DIR");
  FILE *f;
  int n = 0;
  if (dir == NULL) bench_die("BENCH_DIR is not set (run bench/run.lua)");
  snprintf(path, sizeof path, "%s/%s", dir, file);
  f = fopen(path, "r");
  if (f == NULL) bench_die("cannot open %s", path);
  while (n < max && fscanf(f, "%63s %d %d", b[n].name, &b[n].rows, &b[n].cols) == 3) {
    long k, size = (long)b[n].rows * b[n].cols;
    b[n].v = malloc(sizeof(double) * (size_t)size);
    if (b[n].v == NULL) bench_die("out of memory");
    for (k = 0; k < size; k++)
      if (fscanf(f, "%lf", &b[n].v[k]) != 1) bench_die("%s: block %s is short", path, b[n].name);
    n++;
  }
  fclose(f);
  return n;
}

static const bench_block *bench_find(const bench_block *b, int n, const char *name) {
  int i;
  for (i = 0; i < n; i++)
    if (strcmp(b[i].name, name) == 0) return &b[i];
  bench_die("no block %s", name);
  return NULL;
}

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long bench_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

#endif
