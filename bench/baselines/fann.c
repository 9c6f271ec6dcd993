/*
** bench/baselines/fann.c WORKLOAD: the FANN 2.2 baseline (floatfann, float32),
** called from C. WORKLOAD is classic_b1, classic_b32 or game.
**
** Classic recipe: 30-16-1, FANN_SIGMOID with steepness 0.5 (= the logistic
** function 1/(1+e^-x)), FANN_ERRORFUNC_LINEAR, no momentum, samples in file
** order, weights from $BENCH_DIR/classic_init.txt. FANN's update is
** lr * (y - p) * f'(.) * input: it drops the 2 of d(p-y)^2/dp, so its
** learning rate is 0.02 to equal our lr 0.01 on the mean squared error.
**   classic_b1: fann_train_epoch with FANN_TRAIN_INCREMENTAL (one update per
**     sample).
**   classic_b32: FANN_TRAIN_BATCH applies one update per call to
**     fann_train_epoch, so the epoch is split into subsets of 32 made
**     beforehand (fann_subset_train_data) and fann_train_epoch runs on each:
**     the gradient averaged over 32 samples, one update.
** One difference stays: FANN clips the sigmoid value to [0.01, 0.99] in the
** derivative (its flat-spot fix), so its loss is close to, not equal to, ours.
**
** Game net: 16-32-32-4, FANN_SIGMOID_SYMMETRIC with steepness 1 (= tanh) on
** every layer, fann_run on a float array, the 4 outputs copied out.
*/
#include "bench.h"

#include <floatfann.h>

static int is_bias(const int *start, const int *size, int nl, unsigned neuron, int *layer, int *unit) {
  int l;
  for (l = 0; l < nl; l++) {
    if ((int)neuron >= start[l] && (int)neuron <= start[l] + size[l]) {
      *layer = l;
      *unit = (int)neuron - start[l];
      return *unit == size[l];
    }
  }
  bench_die("neuron %u is in no layer", neuron);
  return 0;
}

/* Sets every connection from blocks W1 b1 W2 b2 ... (W is out x in). */
static void set_weights(struct fann *ann, const int *size, int nl, const bench_block *b, int nb) {
  unsigned i, n = fann_get_total_connections(ann);
  struct fann_connection *c = malloc(sizeof *c * n);
  int start[8], l;
  if (c == NULL) bench_die("out of memory");
  start[0] = 0;
  for (l = 1; l < nl; l++) start[l] = start[l - 1] + size[l - 1] + 1;
  fann_get_connection_array(ann, c);
  for (i = 0; i < n; i++) {
    int fl, fu, tl, tu, bias = is_bias(start, size, nl, c[i].from_neuron, &fl, &fu);
    char wname[8], bname[8];
    is_bias(start, size, nl, c[i].to_neuron, &tl, &tu);
    if (tl != fl + 1) bench_die("connection %u skips a layer", i);
    snprintf(wname, sizeof wname, "W%d", tl);
    snprintf(bname, sizeof bname, "b%d", tl);
    c[i].weight = bias ? (fann_type)bench_find(b, nb, bname)->v[tu]
                       : (fann_type)bench_find(b, nb, wname)->v[tu * size[fl] + fu];
  }
  fann_set_weight_array(ann, c, n);
  free(c);
}

/* classic_step: fann_train, one call per sample, in a C loop (what
** fann_train_epoch does for FANN_TRAIN_INCREMENTAL, called sample by
** sample as a program training online would). */
static void classic(int batch, int per_call) {
  bench_block d[2], w[4];
  int size[3] = {30, 16, 1};
  int epochs = (int)bench_env("BENCH_CLASSIC_EPOCHS", 100);
  double min_time = bench_env("BENCH_MIN_TIME", 1), best = 1e30, total = 0, loss = 0;
  int reps = 0, i, j, e, right = 0, nsub;
  char name[32];
  const bench_block *X, *Y;
  struct fann_train_data *data, **sub;
  struct fann *ann;
  int n;
  bench_read("classic_data.txt", d, 2);
  bench_read("classic_init.txt", w, 4);
  X = bench_find(d, 2, "X");
  Y = bench_find(d, 2, "Y");
  n = X->rows;
  data = fann_create_train((unsigned)n, 30, 1);
  for (i = 0; i < n; i++) {
    for (j = 0; j < 30; j++) data->input[i][j] = (fann_type)X->v[i * 30 + j];
    data->output[i][0] = (fann_type)Y->v[i];
  }
  nsub = (n + batch - 1) / batch;
  sub = malloc(sizeof *sub * (size_t)nsub);
  for (i = 0; i < nsub; i++)
    sub[i] = fann_subset_train_data(data, (unsigned)(i * batch),
                                    (unsigned)(i * batch + batch <= n ? batch : n - i * batch));

  ann = fann_create_standard(3, 30, 16, 1);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  fann_set_activation_steepness_hidden(ann, 0.5);
  fann_set_activation_steepness_output(ann, 0.5);
  fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
  fann_set_learning_rate(ann, 0.02f);
  fann_set_learning_momentum(ann, 0.0f);
  fann_set_training_algorithm(ann, batch == 1 ? FANN_TRAIN_INCREMENTAL : FANN_TRAIN_BATCH);

  do {
    double t0, t;
    set_weights(ann, size, 3, w, 4);
    t0 = bench_now();
    for (e = 0; e < epochs; e++) {
      if (per_call) {
        fann_reset_MSE(ann);
        for (i = 0; i < n; i++) fann_train(ann, data->input[i], data->output[i]);
        loss = fann_get_MSE(ann);
      } else if (batch == 1) {
        loss = fann_train_epoch(ann, data);
      } else {
        loss = 0;
        for (i = 0; i < nsub; i++)
          loss += fann_train_epoch(ann, sub[i]) * fann_length_train_data(sub[i]);
        loss /= n;
      }
    }
    t = bench_now() - t0;
    if (t < best) best = t;
    total += t;
    reps++;
  } while (total < min_time && reps < 20);

  for (i = 0; i < n; i++) {
    fann_type *o = fann_run(ann, data->input[i]);
    right += ((o[0] >= 0.5f) ? 1 : 0) == (int)data->output[i][0];
  }
  if (per_call) snprintf(name, sizeof name, "classic_step");
  else snprintf(name, sizeof name, "classic_b%d", batch);
  printf("RESULT workload=%s name=fann metric=samples/s value=%.9g acc=%.9g "
         "loss=%.9g reps=%d rss_kb=%ld note=%s\n", name,
         (double)n * epochs / best, (double)right / n, loss, reps, bench_rss_kb(),
         per_call ? "fann_train per sample from C, lr 0.02 (= our 0.01)"
         : batch == 1 ? "FANN_TRAIN_INCREMENTAL, lr 0.02 (= our 0.01)"
                      : "FANN_TRAIN_BATCH on subsets of 32, lr 0.02 (= our 0.01)");
}

static void game(void) {
  bench_block w[6], in[1];
  int size[4] = {16, 32, 32, 4};
  long calls = (long)bench_env("BENCH_GAME_CALLS", 200000), k;
  int rounds = (int)bench_env("BENCH_GAME_ROUNDS", 100);
  long per = calls / (rounds > 0 ? rounds : 1);
  double check = 0, best = 1e30, sink = 0;
  fann_type *x, out[4];
  int ni, i, j, r;
  struct fann *ann = fann_create_standard(4, 16, 32, 32, 4);
  bench_read("game_init.txt", w, 6);
  bench_read("game_inputs.txt", in, 1);
  ni = in[0].rows;
  x = malloc(sizeof *x * (size_t)ni * 16);
  for (i = 0; i < ni * 16; i++) x[i] = (fann_type)in[0].v[i];
  fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_steepness_hidden(ann, 1);
  fann_set_activation_steepness_output(ann, 1);
  set_weights(ann, size, 4, w, 6);
  for (i = 0; i < ni; i++) {
    fann_type *o = fann_run(ann, x + i * 16);
    for (j = 0; j < 4; j++) check += o[j];
  }
  if (per < 1) per = 1;
  for (r = 0; r < rounds; r++) {
    double t0 = bench_now(), t;
    for (k = 0; k < per; k++) {
      fann_type *o = fann_run(ann, x + (k % ni) * 16);
      memcpy(out, o, sizeof out);
      sink += out[0];
    }
    t = bench_now() - t0;
    if (t < best) best = t;
  }
  printf("RESULT workload=game name=fann metric=ns/call value=%.9g check=%.9g reps=%d "
         "rss_kb=%ld note=fann_run from C, the 4 outputs copied out\n",
         best / (double)per * 1e9, check, rounds, bench_rss_kb());
  fprintf(stderr, "fann game: output sink %g\n", sink);   /* keeps the loop */
}

int main(int argc, char **argv) {
  if (argc != 2) bench_die("usage: fann classic_b1|classic_b32|classic_step|game");
  if (strcmp(argv[1], "game") == 0) game();
  else if (strcmp(argv[1], "classic_step") == 0) classic(1, 1);
  else if (strncmp(argv[1], "classic_b", 9) == 0) classic(atoi(argv[1] + 9), 0);
  else bench_die("unknown workload %s", argv[1]);
  return 0;
}
