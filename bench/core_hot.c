/*
** core_hot.c: the per-sample hot paths of issue 4 measured in C, without
** Lua in the loop:
**   classic  30-16-1 sigmoid, MSE, plain SGD lr 0.01, shuffled, through
**            a trainer's epochs (bp_trainer_run) at batch 1 and batch 32
**            (samples/s);
**   game     16-32-32-4 (Tanh between), bp_net_forward of one sample
**            (ns/call).
** The data are synthetic (569 x 30 like the breast-cancer set, values
** from the library's generator): the work per sample does not depend on
** them. `make bench-core` builds it (build/bench/core_hot) and runs it.
** BENCH_SECONDS (default 1) sets the time per measurement; BENCH_ONLY=b1,
** b32 or game runs one of them (for perf record).
*/
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/loss.h"
#include "nn/net.h"
#include "train/optim.h"
#include "base/rng.h"
#include "tensor/tensor.h"
#include "train/train.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const bp_error *err) {
  fprintf(stderr, "core_hot: %s\n", err->msg);
  exit(1);
}

/* Linear(in, out) layers with `act` between them (none after the last
** when last_act is 0). */
static void build(bp_net *net, const size_t *w, size_t nw, bp_kind act,
                  int last_act, bp_rng *rng) {
  bp_layer l[16];
  size_t i, k = 0;
  bp_error err;
  for (i = 0; i + 1 < nw; i++) {
    double sizes[2];
    sizes[0] = (double)w[i];
    sizes[1] = (double)w[i + 1];
    if (bp_layer_make(&l[k++], BP_LINEAR, sizes, 2, &err) != BP_OK)
      die(&err);
    if ((i + 2 < nw || last_act) &&
        bp_layer_make(&l[k++], act, NULL, 0, &err) != BP_OK)
      die(&err);
  }
  if (bp_net_init(net, l, k, &err) != BP_OK) die(&err);
  bp_net_reset(net, rng);
}

/* *loss is the loss of epoch 10, for checking that a change kept the
** results (bit for bit where the maths did not change). */
static double classic(size_t batch, double seconds, double *loss) {
  enum { N = 569, F = 30 };
  static const size_t widths[] = {30, 16, 1};
  static float X[N * F], Y[N];
  bp_rng rng;
  bp_net net;
  bp_optim opt;
  bp_loss_spec lf;
  bp_trainer tr;
  bp_samples xs = {X, NULL, 1.0f};
  bp_train_sum sum;
  bp_shape in = {1, {F, 0, 0}};
  bp_error err;
  size_t i, epochs = 0;
  double t0, t, l;
  bp_rng_seed(&rng, 1);
  for (i = 0; i < (size_t)N * F; i++)
    X[i] = (float)(4.0 * bp_rng_uniform(&rng) - 2.0);
  for (i = 0; i < N; i++) Y[i] = X[i * F] + X[i * F + 1] > 0 ? 1.0f : 0.0f;
  build(&net, widths, 3, BP_SIGMOID, 1, &rng);
  bp_optim_defaults(&opt, BP_SGD);
  opt.lr = 0.01;
  if (bp_optim_init(&opt, net.nparams, &err) != BP_OK) die(&err);
  bp_loss_spec_init(&lf, BP_MSE);
  if (bp_trainer_init(&tr, &net, &lf, &opt, N, &in, 1, batch, &err) != BP_OK)
    die(&err);
  tr.shuffle = 1;
  tr.rng = &rng;
  t0 = now();
  do {
    if (bp_trainer_run(&tr, &xs, Y, 0, 0, &sum, &err) != BP_OK) die(&err);
    l = sum.total / sum.weight;
    if (++epochs == 10) *loss = l;
    t = now() - t0;
  } while (t < seconds || epochs < 10);
  bp_trainer_free(&tr);
  bp_optim_free(&opt);
  bp_net_free(&net);
  return (double)(epochs * N) / t;
}

static double game(double seconds, float *sum) {
  static const size_t widths[] = {16, 32, 32, 4};
  bp_rng rng;
  bp_net net;
  bp_shape in = {1, {16, 0, 0}};
  bp_error err;
  float x[16];
  size_t i, calls = 0, k;
  double t0, t;
  bp_rng_seed(&rng, 2);
  build(&net, widths, 4, BP_TANH, 0, &rng);
  net.training = 0;
  for (i = 0; i < 16; i++) x[i] = (float)bp_rng_uniform(&rng);
  if (bp_net_forward(&net, x, 1, &in, &err) != BP_OK) die(&err);
  *sum = bp_net_output(&net)[0];
  t0 = now();
  do {
    for (k = 0; k < 10000; k++) {
      if (bp_net_forward(&net, x, 1, &in, &err) != BP_OK) die(&err);
      x[k & 15] = bp_net_output(&net)[k & 3];  /* each call needs the last */
    }
    calls += 10000;
    t = now() - t0;
  } while (t < seconds);
  bp_net_free(&net);
  return 1e9 * t / (double)calls;
}

static int wanted(const char *name) {
  const char *only = getenv("BENCH_ONLY");
  return only == NULL || strstr(only, name) != NULL;
}

int main(void) {
  const char *s = getenv("BENCH_SECONDS");
  double seconds = s ? atof(s) : 1.0, l, r;
  float sum;
  if (wanted("b1")) {
    r = classic(1, seconds, &l);
    printf("classic 30-16-1, batch 1:  %10.0f samples/s  (epoch 10 loss "
           "%.9g)\n", r, l);
  }
  if (wanted("b32")) {
    r = classic(32, seconds, &l);
    printf("classic 30-16-1, batch 32: %10.0f samples/s  (epoch 10 loss "
           "%.9g)\n", r, l);
  }
  if (wanted("game")) {
    r = game(seconds, &sum);
    printf("game 16-32-32-4 forward, n = 1: %8.1f ns/call  (first output "
           "%.9g)\n", r, (double)sum);
  }
  return 0;
}
