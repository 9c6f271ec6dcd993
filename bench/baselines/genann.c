/*
** bench/baselines/genann.c WORKLOAD: a genann-style baseline, written for
** this benchmark (genann itself is not packaged in Debian). It follows
** genann 1.0 (github.com/codeplea/genann, zlib licence) as its defaults
** run it: one weight array in genann's layout (per neuron, a bias weight
** on a constant input of -1, then the input weights), doubles, the
** cached sigmoid genann_init picks for hidden and output neurons (a 4096-
** entry table over [-15, 15), rounded to the nearest entry), and
** genann_train's loops: forward (genann_run), output deltas
** (t - o) o (1 - o), hidden deltas through the output weights, then
** w += lr * delta * input, one sample per call. genann's step drops the
** 2 of d(p - y)^2/dp, so lr 0.02 equals our 0.01 on the mean squared
** error of one output. The table sigmoid makes its loss close to, not
** equal to, ours.
**
** WORKLOAD: classic_b1 or classic_step (the same loop: genann has only
** the per-sample genann_train call). 30-16-1, the samples in file order,
** weights from $BENCH_DIR/classic_init.txt, BENCH_CLASSIC_EPOCHS epochs
** (100), repeated from the same weights until BENCH_MIN_TIME seconds (1)
** have gone by; the best repetition is reported.
*/
#include "bench.h"

#include <math.h>

#define NIN 30
#define NHID 16
#define LOOKUP_SIZE 4096

/* genann_act_sigmoid_cached and its table (genann_init_sigmoid_lookup). */
static const double dom_min = -15.0, dom_max = 15.0;
static double interval, lookup[LOOKUP_SIZE];

static void init_lookup(void) {
  const double f = (dom_max - dom_min) / LOOKUP_SIZE;
  int i;
  interval = LOOKUP_SIZE / (dom_max - dom_min);
  for (i = 0; i < LOOKUP_SIZE; ++i)
    lookup[i] = 1.0 / (1.0 + exp(-(dom_min + f * i)));
}

static double act(double a) {
  size_t j;
  if (a < dom_min) return lookup[0];
  if (a >= dom_max) return lookup[LOOKUP_SIZE - 1];
  j = (size_t)((a - dom_min) * interval + 0.5);
  if (j >= LOOKUP_SIZE) return lookup[LOOKUP_SIZE - 1];
  return lookup[j];
}

/* genann's arrays for 30-16-1: weights (hidden neurons, then the output
** neuron, each bias first), outputs (inputs, hidden, output) and deltas
** (hidden, output). */
typedef struct net {
  double weight[(NIN + 1) * NHID + (NHID + 1)];
  double output[NIN + NHID + 1];
  double delta[NHID + 1];
} net;

/* genann_run. */
static double run(net *n, const double *x) {
  const double *w = n->weight, *in = n->output;
  double *o = n->output + NIN, sum;
  int j, k;
  memcpy(n->output, x, sizeof(double) * NIN);
  for (j = 0; j < NHID; ++j) {
    sum = *w++ * -1.0;
    for (k = 0; k < NIN; ++k) sum += *w++ * in[k];
    *o++ = act(sum);
  }
  in += NIN;
  sum = *w++ * -1.0;
  for (k = 0; k < NHID; ++k) sum += *w++ * in[k];
  *o = act(sum);
  return *o;
}

/* genann_train for one hidden layer and one output. */
static double train(net *n, const double *x, double t, double lr) {
  double o = run(n, x), *w;
  const double *h = n->output + NIN, *ww = n->weight + (NIN + 1) * NHID;
  int j, k;
  n->delta[NHID] = (t - o) * o * (1.0 - o);
  for (j = 0; j < NHID; ++j)
    n->delta[j] = h[j] * (1.0 - h[j]) * (n->delta[NHID] * ww[j + 1]);
  w = n->weight + (NIN + 1) * NHID;          /* the output neuron */
  *w++ += n->delta[NHID] * lr * -1.0;
  for (k = 1; k < NHID + 1; ++k) *w++ += n->delta[NHID] * lr * h[k - 1];
  w = n->weight;                              /* the hidden neurons */
  for (j = 0; j < NHID; ++j) {
    *w++ += n->delta[j] * lr * -1.0;
    for (k = 1; k < NIN + 1; ++k) *w++ += n->delta[j] * lr * n->output[k - 1];
  }
  return o;
}

/* Our W1 b1 W2 b2 in genann's layout: bias weight = -b. */
static void set_weights(net *n, const bench_block *b, int nb) {
  const bench_block *W1 = bench_find(b, nb, "W1"), *b1 = bench_find(b, nb, "b1");
  const bench_block *W2 = bench_find(b, nb, "W2"), *b2 = bench_find(b, nb, "b2");
  double *w = n->weight;
  int j, k;
  for (j = 0; j < NHID; ++j) {
    *w++ = -b1->v[j];
    for (k = 0; k < NIN; ++k) *w++ = W1->v[j * NIN + k];
  }
  *w++ = -b2->v[0];
  for (k = 0; k < NHID; ++k) *w++ = W2->v[k];
}

int main(int argc, char **argv) {
  bench_block d[2], w[4];
  int epochs = (int)bench_env("BENCH_CLASSIC_EPOCHS", 100), reps = 0, right = 0;
  double min_time = bench_env("BENCH_MIN_TIME", 1), best = 1e30, total = 0, loss = 0;
  const bench_block *X, *Y;
  static net n;
  int i, e;
  if (argc != 2 || (strcmp(argv[1], "classic_b1") != 0 && strcmp(argv[1], "classic_step") != 0))
    bench_die("usage: genann classic_b1|classic_step");
  init_lookup();
  bench_read("classic_data.txt", d, 2);
  bench_read("classic_init.txt", w, 4);
  X = bench_find(d, 2, "X");
  Y = bench_find(d, 2, "Y");
  do {
    double t0, t;
    set_weights(&n, w, 4);
    t0 = bench_now();
    for (e = 0; e < epochs; e++) {
      loss = 0;
      for (i = 0; i < X->rows; i++) {
        double o = train(&n, X->v + (size_t)i * NIN, Y->v[i], 0.02), diff = o - Y->v[i];
        loss += diff * diff;
      }
      loss /= X->rows;
    }
    t = bench_now() - t0;
    if (t < best) best = t;
    total += t;
    reps++;
  } while (total < min_time && reps < 20);
  for (i = 0; i < X->rows; i++)
    right += (run(&n, X->v + (size_t)i * NIN) >= 0.5 ? 1 : 0) == (int)Y->v[i];
  printf("RESULT workload=%s name=genann-style metric=samples/s value=%.9g acc=%.9g loss=%.9g "
         "reps=%d rss_kb=%ld note=genann 1.0's loops rewritten in C (not packaged): doubles, "
         "table sigmoid, one genann_train per sample, lr 0.02 (= our 0.01)\n",
         argv[1], (double)X->rows * epochs / best, (double)right / X->rows, loss, reps,
         bench_rss_kb());
  return 0;
}
