/* alloc.c: the core's one counted allocator (see alloc.h). */
#if defined(__linux__)
#define _DEFAULT_SOURCE 1     /* madvise */
#include <sys/mman.h>
#endif
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

#define HUGE_PAGE ((size_t)2 << 20)

/* Large blocks in huge pages where the system has them (Linux, THP in
** "madvise" mode): their first touch takes one fault per 2 MB instead of
** one per 4 KB (a new 180 MB tensor took 3x the time of copying its
** bytes, nearly all of it in faults). */
static void *huge(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p != NULL && bytes >= 4 * HUGE_PAGE) {
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
  }
#else
  (void)bytes;
#endif
  return p;
}

void *bp_calloc(size_t n, size_t size) {
  return counted() ? huge(calloc(n, size), n * size) : NULL;
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
