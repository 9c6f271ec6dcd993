/*
** alloc.h: every allocation of the core goes through these functions,
** which count them: bp_alloc_count() lets a test prove that a training or
** inference loop allocates nothing. The count is a statistic, never read
** by the library itself; with GCC or clang it is updated atomically (gemm
** workers may allocate).
*/
#ifndef BP_ALLOC_H
#define BP_ALLOC_H

#include <stddef.h>

/* Aligned (64 bytes: SIMD loads never straddle cache lines), zero-filled
** float storage; NULL on failure or overflow. Free with bp_free. */
float *bp_alloc(size_t n);
void bp_free(float *p);
/* malloc and calloc (free with free()). */
void *bp_malloc(size_t bytes);
void *bp_calloc(size_t n, size_t size);
unsigned long bp_alloc_count(void);

#ifdef BP_ALLOC_FAULTS
/* Test builds only (compiled with -DBP_ALLOC_FAULTS: make memcheck's
** malloc-failure sweep, memcheck/lfaults.c): the allocation that brings
** bp_alloc_count() to n returns NULL; n = 0 fails none. Normal builds
** have neither this function nor the check. */
void bp_alloc_fail_at(unsigned long n);
#endif

#endif
