/*
** threadpool.c: the thread pool (see threadpool.h).
**
** A job's tasks are claimed, not dealt: the caller and every worker take
** the next unclaimed task until none is left, so a thread the system has
** descheduled (a machine busier than its cores) holds up only a task it
** already took, and the caller never waits for a worker that has not
** started: it does that share itself. Task 0 is the caller's from the
** start, so with the workers awake each thread keeps meeting the same
** part of the data (about 10% of a 2-thread MLP step). What a task
** computes depends on its index alone, so who runs it never changes a
** bit.
**
** The claims are one 64-bit word: the job's number, its task count and
** the next task to take, changed by compare-and-swap. A claim succeeds
** only while the word still names the job the claimer saw, and a job
** ends only when all of its tasks are done, so a worker that wakes late
** can take nothing from a later job. The caller writes fn and arg before
** it publishes the word (release); a worker reads them after its claim
** (acquire), while the task it holds keeps the job alive. Finished tasks
** are counted; the caller returns when the count reaches the task count.
**
** Workers wait for a job in two stages: polling for up to SPIN_NS after
** their last one (a training step hands out a product every few
** microseconds, and a sleeping thread takes tens of microseconds to
** wake), then asleep on a condition variable, so an idle pool costs no
** CPU. The caller, out of tasks to claim, waits for those others hold
** the same way. Polling never holds a core another thread of ours needs:
** every few microseconds the poller yields (sched_yield). Who sleeps is
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

/* The claim word: job number (32 bits), task count and next task (16
** bits each). */
typedef unsigned long long claim_t;
#define TASK_MAX 0xFFFFu
#define CLAIM(job, ntasks, next) \
  (((claim_t)(job) << 32) | ((claim_t)(ntasks) << 16) | (claim_t)(next))
#define JOB_OF(c) ((unsigned long)((c) >> 32))
#define COUNT_OF(c) ((size_t)(((c) >> 16) & TASK_MAX))
#define NEXT_OF(c) ((size_t)((c) & TASK_MAX))

/* What a worker knows of itself, behind a thread-specific key (which
** scratch buffer is its own). */
typedef struct self {
  const struct bp_pool *p;
  size_t id;                 /* 1 .. n - 1; the caller is 0 */
} self;

struct bp_pool {
  size_t n;                  /* threads, the caller included */
  pthread_t *th;
  self *selves;              /* n - 1, one per worker */
  float **scratch;           /* n buffers of scratch_floats, or NULL */
  size_t scratch_floats;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  unsigned long gen;         /* job number; workers wait for a new one */
  claim_t claim;             /* CLAIM(gen, ntasks, next task) */
  size_t finished;           /* tasks of the job done */
  bp_task_fn *fn;
  void *arg;
  int sleepers;              /* workers asleep on wake */
  int waiting;               /* the caller asleep on done */
  int stop, busy;
};

static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static int self_ok;

static void self_init(void) { self_ok = pthread_key_create(&self_key, NULL) == 0; }

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

static int all_done(bp_pool *p, unsigned long ntasks) {
  return LOAD(&p->finished) == ntasks;
}

/* The next task of job `job`, or -1 when it has none left or is over. */
static long take(bp_pool *p, unsigned long job, size_t *ntasks) {
  claim_t c = LOAD(&p->claim);
  for (;;) {
    if (JOB_OF(c) != job || NEXT_OF(c) >= COUNT_OF(c)) return -1;
    if (__atomic_compare_exchange_n(&p->claim, &c, c + 1, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      *ntasks = COUNT_OF(c);
      return (long)NEXT_OF(c);
    }
  }
}

/* Tasks of job `job` while there are any to take. */
static void run_tasks(bp_pool *p, unsigned long job) {
  size_t ntasks;
  long i;
  while ((i = take(p, job, &ntasks)) >= 0) {
    p->fn(p->arg, (size_t)i, ntasks);
    if (__atomic_add_fetch(&p->finished, 1, __ATOMIC_SEQ_CST) == ntasks &&
        LOAD_SC(&p->waiting)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void *worker(void *arg) {
  self *me = arg;
  bp_pool *p = (bp_pool *)me->p;
  unsigned long seen = 0;
  if (self_ok) pthread_setspecific(self_key, me);
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
    seen = LOAD(&p->gen);
    run_tasks(p, seen);
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
  pthread_once(&self_once, self_init);
  p->n = nthreads;
  p->th = bp_calloc(nthreads, sizeof *p->th);
  p->selves = bp_calloc(nthreads, sizeof *p->selves);
  if (p->th == NULL || p->selves == NULL) {
    free(p->th);
    free(p->selves);
    free(p);
    return bp_fail(err, BP_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, STACK);
  for (i = 0; i + 1 < nthreads; i++) {
    p->selves[i].p = p;
    p->selves[i].id = i + 1;
    if (pthread_create(&p->th[i], &attr, worker, &p->selves[i]) != 0) {
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
  size_t i;
  if (p == NULL) return;
  if (p->n > 1) stop_workers(p, p->n - 1);
  for (i = 0; p->scratch != NULL && i < p->n; i++) bp_free(p->scratch[i]);
  free(p->scratch);
  free(p->selves);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->th);
  free(p);
}

size_t bp_pool_size(const bp_pool *p) {
  return p == NULL || LOAD(&p->busy) ? 1 : p->n;
}

/* Allocated under the lock, all at once, published by scratch_floats. */
float *bp_pool_scratch(bp_pool *p, size_t floats) {
  const self *me;
  size_t id = 0, i;
  if (p == NULL) return NULL;
  if (LOAD(&p->scratch_floats) == 0) {
    pthread_mutex_lock(&p->mu);
    if (p->scratch_floats == 0 && (p->scratch = bp_calloc(p->n, sizeof *p->scratch)) != NULL) {
      for (i = 0; i < p->n && (p->scratch[i] = bp_alloc(floats)) != NULL; i++) {}
      if (i == p->n) {
        STORE(&p->scratch_floats, floats);
      } else {
        while (i-- > 0) bp_free(p->scratch[i]);
        free(p->scratch);
        p->scratch = NULL;
      }
    }
    pthread_mutex_unlock(&p->mu);
  }
  if (LOAD(&p->scratch_floats) < floats) return NULL;
  me = self_ok ? pthread_getspecific(self_key) : NULL;
  if (me != NULL && me->p == p) id = me->id;
  return p->scratch[id];
}

void bp_pool_run(bp_pool *p, size_t ntasks, bp_task_fn *fn, void *arg) {
  size_t i;
  unsigned long job;
  if (p == NULL || p->n < 2 || ntasks < 2 || ntasks > TASK_MAX ||
      LOAD(&p->busy)) {
    for (i = 0; i < ntasks; i++) fn(arg, i, ntasks);
    return;
  }
  STORE(&p->busy, 1);
  p->fn = fn;
  p->arg = arg;
  STORE(&p->finished, 0);
  job = (p->gen + 1) & 0xFFFFFFFFul;
  /* Task 0 is the caller's before the job is published, so an awake
  ** worker takes task 1, and each thread meets the same part of the data
  ** job after job (a product's rows, then their update) in its own cache;
  ** tasks a late worker leaves go to whoever is free. */
  STORE_SC(&p->claim, CLAIM(job, ntasks, 1));   /* publishes fn and arg */
  STORE_SC(&p->gen, job);                        /* what the workers poll */
  if (LOAD_SC(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
  }
  fn(arg, 0, ntasks);
  __atomic_add_fetch(&p->finished, 1, __ATOMIC_SEQ_CST);
  run_tasks(p, job);
  if (!poll_for(p, all_done, ntasks)) {
    pthread_mutex_lock(&p->mu);
    STORE_SC(&p->waiting, 1);
    while (LOAD_SC(&p->finished) != ntasks) pthread_cond_wait(&p->done, &p->mu);
    STORE_SC(&p->waiting, 0);
    pthread_mutex_unlock(&p->mu);
  }
  STORE(&p->busy, 0);
}

void bp_pool_split(bp_pool *p, size_t most, bp_task_fn *fn, void *arg) {
  size_t nt = bp_pool_size(p);
  if (nt > most) nt = most;
  if (nt < 2) fn(arg, 0, 1);
  else bp_pool_run(p, nt, fn, arg);
}

void bp_pool_piece(size_t m, size_t unit, size_t t, size_t nt, size_t *lo,
                   size_t *hi) {
  size_t units = (m + unit - 1) / unit;
  *lo = units * t / nt * unit;
  *hi = units * (t + 1) / nt * unit;
  if (*hi > m) *hi = m;
  if (*lo > *hi) *lo = *hi;
}
