/*
** threadpool.c: the thread pool (see threadpool.h).
**
** A job is handed over without a lock: the caller writes fn, arg and
** ntasks, then publishes a new generation number; a worker that sees it
** reads them (acquire/release ordering). Workers wait for a generation in
** two stages: polling for up to SPIN_NS after their last job (a training
** step hands out a product every few microseconds, and a sleeping thread
** takes tens of microseconds to wake), then asleep on a condition
** variable, so an idle pool costs no CPU. The caller, done with its own
** share, waits for the workers the same way.
**
** Polling never holds a core another thread of ours needs: every few
** microseconds the poller yields (sched_yield), so when the system has
** put the caller and a worker on one core (a loaded machine), the one
** with work runs instead of the one waiting for it. Who sleeps is
** counted (sleepers, waiting), so a handover between threads that are
** both awake makes no system call.
*/
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "base/threadpool.h"
#include "base/alloc.h"

#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
/* Each side writes its flag then reads the other's (store-load order). */
#define LOAD_SC(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define STORE_SC(p, v) __atomic_store_n(p, v, __ATOMIC_SEQ_CST)

#if defined(__x86_64__) || defined(__i386__)
#define PAUSE() __builtin_ia32_pause()
#else
#define PAUSE() ((void)0)
#endif

#define SPIN_NS 50000L     /* polling before sleeping */
#define YIELD_POLLS 16     /* polls (a few microseconds) between yields */
#define STACK (4u << 20)   /* gemm's packing buffers live there */

struct bp_pool {
  size_t n;                  /* threads, the caller included */
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long gen;         /* job number; workers wait for a new one */
  size_t ntasks, pending;    /* pending: workers not finished */
  bp_task_fn *fn;
  void *arg;
  int sleepers;              /* workers asleep on wake */
  int waiting;               /* the caller asleep on done */
  int stop, busy;
};

typedef struct worker_arg {
  bp_pool *p;
  size_t id;
} worker_arg;

static long elapsed_ns(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Polls until done(p, v) or SPIN_NS have passed; 1 if done. */
static int poll_for(bp_pool *p, int (*done)(bp_pool *, unsigned long),
                    unsigned long v) {
  struct timespec t0;
  int i;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    for (i = 0; i < YIELD_POLLS; i++) {
      if (done(p, v)) return 1;
      PAUSE();
    }
    if (elapsed_ns(&t0) >= SPIN_NS) return done(p, v);
    sched_yield();
  }
}

static int new_job(bp_pool *p, unsigned long seen) {
  return LOAD(&p->gen) != seen || LOAD(&p->stop);
}

static int all_done(bp_pool *p, unsigned long unused) {
  (void)unused;
  return LOAD(&p->pending) == 0;
}

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
    if (!poll_for(p, new_job, seen)) {
      pthread_mutex_lock(&p->mu);
      STORE_SC(&p->sleepers, p->sleepers + 1);
      while (LOAD_SC(&p->gen) == seen && !LOAD(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
      STORE_SC(&p->sleepers, p->sleepers - 1);
      pthread_mutex_unlock(&p->mu);
    }
    if (LOAD(&p->stop)) return NULL;
    seen = LOAD(&p->gen);    /* acquire: fn, arg and ntasks are this job's */
    run_share(p->fn, p->arg, id, p->n, p->ntasks);
    if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_SEQ_CST) == 0 &&
        LOAD_SC(&p->waiting)) {
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
      const char *why = wa == NULL ? " (out of memory)" : "";
      free(wa);
      pthread_attr_destroy(&attr);
      stop_workers(p, i);
      p->n = 0;
      bp_pool_free(p);
      return bp_fail(err, BP_ENOMEM, "could not start thread %lu of %lu%s",
                     (unsigned long)(i + 2), (unsigned long)nthreads, why);
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
  if (p == NULL || p->n < 2 || ntasks < 2 || LOAD(&p->busy)) {
    for (i = 0; i < ntasks; i++) fn(arg, i, ntasks);
    return;
  }
  STORE(&p->busy, 1);
  p->fn = fn;
  p->arg = arg;
  p->ntasks = ntasks;
  STORE(&p->pending, p->n - 1);
  __atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST);   /* publishes the job */
  if (LOAD_SC(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  run_share(fn, arg, 0, p->n, ntasks);
  if (!poll_for(p, all_done, 0)) {
    pthread_mutex_lock(&p->mu);
    STORE_SC(&p->waiting, 1);
    while (LOAD_SC(&p->pending) != 0) pthread_cond_wait(&p->done, &p->mu);
    STORE_SC(&p->waiting, 0);
    pthread_mutex_unlock(&p->mu);
  }
  STORE(&p->busy, 0);
}
