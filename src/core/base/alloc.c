/* alloc.c: the core's one counted allocator (see alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define ALIGN 64

static unsigned long allocs;

static void counted(void) {
#if defined(__GNUC__)
  __atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
#else
  allocs++;
#endif
}

unsigned long bp_alloc_count(void) {
#if defined(__GNUC__)
  return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
#else
  return allocs;
#endif
}

void *bp_malloc(size_t bytes) {
  counted();
  return malloc(bytes);
}

void *bp_calloc(size_t n, size_t size) {
  counted();
  return calloc(n, size);
}

/* C99 has no aligned_alloc: over-allocate, align by hand and keep the
** original pointer just below the aligned block for bp_free. */
float *bp_alloc(size_t n) {
  size_t extra = ALIGN + sizeof(void *);
  unsigned char *raw, *p;
  if (n == 0) n = 1;
  if (n > (SIZE_MAX - extra) / sizeof(float)) return NULL;
  raw = bp_calloc(1, n * sizeof(float) + extra);
  if (raw == NULL) return NULL;
  p = raw + sizeof(void *);
  p += (ALIGN - (uintptr_t)p % ALIGN) % ALIGN;
  memcpy(p - sizeof(void *), &raw, sizeof raw);
  return (float *)(void *)p;
}

void bp_free(float *p) {
  void *raw;
  if (p == NULL) return;
  memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
  free(raw);
}
