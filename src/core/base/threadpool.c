/*
** threadpool.c: the thread pool (see threadpool.h). Workers wait for a new job
** generation: they spin briefly first (a training loop hands out a job
** every few microseconds, and a sleeping thread takes tens of
** microseconds to wake), then sleep on a condition variable so an idle
** pool costs no CPU.
*/
#include <pthread.h>
#include <stdlib.h>

#include "base/threadpool.h"
#include "base/alloc.h"

#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)

#if defined(__x86_64__) || defined(__i386__)
#define PAUSE() __builtin_ia32_pause()
#else
#define PAUSE() ((void)0)
#endif

#define SPIN 4000                    /* polls before sleeping, ~50 us */
#define STACK (4u << 20)             /* gemm's packing buffers live there */

struct bp_pool {
  size_t n;                          /* threads, the caller included */
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long gen;                 /* job number; workers wait for a new one */
  size_t ntasks, pending;            /* pending: workers not finished */
  bp_task_fn *fn;
  void *arg;
  int stop, busy;
};

typedef struct worker_arg {
  bp_pool *p;
  size_t id;
} worker_arg;

/* Thread id of n runs tasks id, id + n, id + 2n, ... */
static void run_share(bp_task_fn *fn, void *arg, size_t id, size_t n,
                      size_t ntasks) {
  size_t i;
  for (i = id; i < ntasks; i += n) fn(arg, i, ntasks);
}

static void *worker(void *wa) {
  bp_pool *p = ((worker_arg *)wa)->p;
  size_t id = ((worker_arg *)wa)->id;
  unsigned long seen = 0;
  free(wa);
  for (;;) {
    int i;
    bp_task_fn *fn;
    void *arg;
    size_t ntasks;
    for (i = 0; i < SPIN && LOAD(&p->gen) == seen && !LOAD(&p->stop); i++)
      PAUSE();
    pthread_mutex_lock(&p->mu);
    while (p->gen == seen && !p->stop) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    seen = p->gen;
    fn = p->fn;
    arg = p->arg;
    ntasks = p->ntasks;
    pthread_mutex_unlock(&p->mu);
    run_share(fn, arg, id, p->n, ntasks);
    if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL) == 0) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void stop_workers(bp_pool *p, size_t started) {
  size_t i;
  pthread_mutex_lock(&p->mu);
  STORE(&p->stop, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < started; i++) pthread_join(p->th[i], NULL);
}

bp_status bp_pool_new(size_t nthreads, bp_pool **pool, bp_error *err) {
  bp_pool *p;
  pthread_attr_t attr;
  size_t i;
  *pool = NULL;
  if (nthreads < 1 || nthreads > BP_POOL_MAX)
    return bp_fail(err, BP_EINVAL, "thread count must be 1 to %d, got %lu",
                   BP_POOL_MAX, (unsigned long)nthreads);
  p = bp_calloc(1, sizeof *p);
  if (p == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  p->n = nthreads;
  p->th = bp_calloc(nthreads, sizeof *p->th);
  if (p->th == NULL) {
    free(p);
    return bp_fail(err, BP_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, STACK);
  for (i = 0; i + 1 < nthreads; i++) {
    worker_arg *wa = bp_malloc(sizeof *wa);
    if (wa != NULL) {
      wa->p = p;
      wa->id = i + 1;
    }
    if (wa == NULL || pthread_create(&p->th[i], &attr, worker, wa) != 0) {
      free(wa);
      pthread_attr_destroy(&attr);
      stop_workers(p, i);
      p->n = 0;
      bp_pool_free(p);
      return bp_fail(err, BP_ENOMEM, "could not start thread %lu of %lu",
                     (unsigned long)(i + 2), (unsigned long)nthreads);
    }
  }
  pthread_attr_destroy(&attr);
  *pool = p;
  return BP_OK;
}

void bp_pool_free(bp_pool *p) {
  if (p == NULL) return;
  if (p->n > 1) stop_workers(p, p->n - 1);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->th);
  free(p);
}

size_t bp_pool_size(const bp_pool *p) { return p == NULL ? 1 : p->n; }

void bp_pool_run(bp_pool *p, size_t ntasks, bp_task_fn *fn, void *arg) {
  size_t i;
  int spin;
  if (p == NULL || p->n < 2 || ntasks < 2 || LOAD(&p->busy)) {
    for (i = 0; i < ntasks; i++) fn(arg, i, ntasks);
    return;
  }
  STORE(&p->busy, 1);
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->ntasks = ntasks;
  STORE(&p->pending, p->n - 1);
  STORE(&p->gen, p->gen + 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  run_share(fn, arg, 0, p->n, ntasks);
  for (spin = 0; spin < SPIN && LOAD(&p->pending) != 0; spin++) PAUSE();
  if (LOAD(&p->pending) != 0) {
    pthread_mutex_lock(&p->mu);
    while (LOAD(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
  STORE(&p->busy, 0);
}
