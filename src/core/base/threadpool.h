/*
** threadpool.h: a small pthread pool, a value its owner creates and frees (one
** per Lua state in the binding; nothing global). bp_pool_run is a
** parallel-for whose threads (the caller among them) claim the tasks one
** at a time, so a task must compute what its index says whatever thread
** runs it: work split by task index is then deterministic.
**
** One caller at a time: a pool is not shared between threads that call
** bp_pool_run concurrently (a Lua state is single-threaded). A call made
** from inside a task runs its tasks serially on that thread.
*/
#ifndef BP_POOL_H
#define BP_POOL_H

#include <stddef.h>

#include "base/status.h"

typedef struct bp_pool bp_pool;

typedef void bp_task_fn(void *arg, size_t task, size_t ntasks);

#define BP_POOL_MAX 256

/* nthreads in 1..BP_POOL_MAX, the caller included (nthreads - 1 workers
** are started; 1 starts none). */
bp_status bp_pool_new(size_t nthreads, bp_pool **pool, bp_error *err);
void bp_pool_free(bp_pool *pool);   /* joins the workers; NULL is fine */
/* Threads, the caller included: 1 for NULL, and 1 inside a task (work
** there runs on that thread alone). */
size_t bp_pool_size(const bp_pool *pool);

/* fn(arg, i, ntasks) for every i < ntasks, each once, on whichever
** thread claims it first (possibly all on the caller); returns when all
** are done. NULL pool, one thread, or more than 65535 tasks: runs them in
** order here. */
void bp_pool_run(bp_pool *pool, size_t ntasks, bp_task_fn *fn, void *arg);

/* The calling thread's scratch buffer of the pool: floats floats (the
** same count on every call), 64-byte aligned, valid until bp_pool_free.
** The first call allocates one for every thread of the pool, so which
** thread ends up running which task never decides when memory is
** allocated. NULL for a NULL pool, on failure, or for a larger count
** than the first call's. */
float *bp_pool_scratch(bp_pool *pool, size_t floats);

/* fn over min(pool size, most) tasks; fn(arg, 0, 1) here when that is
** below 2 (most is what the work can use: its items, its size / grain). */
void bp_pool_split(bp_pool *pool, size_t most, bp_task_fn *fn, void *arg);

/* Task t of nt's piece [*lo, *hi) of m items cut in whole units (the
** last piece ends at m; a piece may be empty). */
void bp_pool_piece(size_t m, size_t unit, size_t t, size_t nt, size_t *lo,
                   size_t *hi);

#endif
