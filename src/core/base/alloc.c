/* alloc.c: the core's one counted allocator (see alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define ALIGN 64

static unsigned long allocs;

/* Atomic with GCC and clang: gemm workers may allocate. */
#if defined(__GNUC__)
#define LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#define INC(p) (__atomic_add_fetch(p, 1, __ATOMIC_RELAXED))
#else
#define LOAD(p) (*(p))
#define STORE(p, v) (*(p) = (v))
#define INC(p) (++*(p))
#endif

#ifdef BP_ALLOC_FAULTS
/* Test builds only (see alloc.h): the count at which an allocation
** fails, 0 for none. */
static unsigned long fail_at;

void bp_alloc_fail_at(unsigned long n) {
  STORE(&fail_at, n);
}
#endif

/* Count an allocation; 0 when it is to fail. */
static int counted(void) {
  unsigned long n = INC(&allocs);
#ifdef BP_ALLOC_FAULTS
  if (n == LOAD(&fail_at)) return 0;
#else
  (void)n;
#endif
  return 1;
}

unsigned long bp_alloc_count(void) {
  return LOAD(&allocs);
}

void *bp_malloc(size_t bytes) {
  return counted() ? malloc(bytes) : NULL;
}

void *bp_calloc(size_t n, size_t size) {
  return counted() ? calloc(n, size) : NULL;
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
