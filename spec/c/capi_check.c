/*
** capi_check.c: the C API (include/backprop.h) against bad input, and
** its results against themselves; spec/capi_spec.lua builds it with
** AddressSanitizer and UBSan (make capi-check) and runs it.
**
**   capi_check DIR    prints "ok - ..." or "not ok - ..." a check, exits
**                     1 if any failed; writes DIR/fit.bpnet and
**                     DIR/conv.bpnet, which the spec compares with the
**                     same training done in Lua, byte for byte.
**
** Every failing call must return its status with a message naming the
** function and the problem, and leave the network usable: after each
** one, the network still runs (see usable()).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backprop.h"

static int failures, checks;

static void check(int ok, const char *what, const char *detail) {
  checks++;
  if (ok) {
    printf("ok - %s\n", what);
  } else {
    failures++;
    printf("not ok - %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  }
}

/* The call returned `want` and the message holds `piece`. */
static void fails(backprop_net *net, backprop_status got, backprop_status want,
                  const char *piece, const char *what) {
  char detail[512];
  const char *msg = backprop_error(net);
  snprintf(detail, sizeof detail, "status %d (want %d), message \"%s\" "
           "(want it to hold \"%s\")", (int)got, (int)want, msg, piece);
  check(got == want && strstr(msg, piece) != NULL, what, detail);
}

static void succeeds(backprop_net *net, backprop_status got, const char *what) {
  check(got == BACKPROP_OK && backprop_error(net)[0] == '\0', what,
        backprop_error(net));
}

static const float X4[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float Y4[4] = {0, 1, 1, 0};

/* The 2-4-1 network of xor.c, seeded. */
static backprop_net *xor_net(uint64_t seed) {
  backprop_net *net = backprop_new();
  if (net == NULL) {
    printf("not ok - backprop_new: out of memory\n");
    exit(1);
  }
  backprop_seed(net, seed);
  backprop_add(net, "Linear", "2 4");
  backprop_add(net, "Sigmoid", NULL);
  backprop_add(net, "Linear", "4 1");
  backprop_add(net, "Sigmoid", NULL);
  return net;
}

/* After a failure: the network still answers. */
static void usable(backprop_net *net, const char *after) {
  float out[4];
  char what[160];
  snprintf(what, sizeof what, "still runs after: %s", after);
  succeeds(net, backprop_forward(net, X4, 4, 2, out, 4), what);
}

static void null_handle(void) {
  float out[1];
  double loss;
  size_t n;
  check(backprop_error(NULL) != NULL && strstr(backprop_error(NULL), "NULL"),
        "backprop_error(NULL) says the network is NULL", NULL);
  check(backprop_seed(NULL, 1) == BACKPROP_EINVAL &&
            backprop_add(NULL, "ReLU", NULL) == BACKPROP_EINVAL &&
            backprop_set_input_shape(NULL, 0, NULL) == BACKPROP_EINVAL &&
            backprop_set_training(NULL, 0) == BACKPROP_EINVAL &&
            backprop_set_threads(NULL, 1) == BACKPROP_EINVAL &&
            backprop_output_size(NULL, 2, &n) == BACKPROP_EINVAL &&
            backprop_forward(NULL, X4, 1, 2, out, 1) == BACKPROP_EINVAL &&
            backprop_set_loss(NULL, "MSELoss", NULL) == BACKPROP_EINVAL &&
            backprop_set_optimizer(NULL, "SGD", NULL) == BACKPROP_EINVAL &&
            backprop_set_lr(NULL, 0.1) == BACKPROP_EINVAL &&
            backprop_train_step(NULL, X4, 4, 2, Y4, &loss) == BACKPROP_EINVAL &&
            backprop_fit(NULL, X4, 4, 2, Y4, NULL, &loss) == BACKPROP_EINVAL &&
            backprop_save(NULL, "x") == BACKPROP_EINVAL &&
            backprop_load(NULL, "x") == BACKPROP_EINVAL,
        "every function refuses a NULL network with BACKPROP_EINVAL", NULL);
  backprop_free(NULL);
}

static void layers(void) {
  backprop_net *net = backprop_new();
  float out[4];
  size_t n = 0;
  fails(net, backprop_forward(net, X4, 4, 2, out, 4), BACKPROP_EINVAL,
        "backprop_forward: the network has no layers", "a network without layers");
  fails(net, backprop_add(net, "Lineer", "2 4"), BACKPROP_EINVAL,
        "backprop_add: unknown layer 'Lineer'", "an unknown layer");
  fails(net, backprop_add(net, NULL, NULL), BACKPROP_EINVAL,
        "the layer's name is NULL", "a NULL layer name");
  fails(net, backprop_add(net, "Linear", "in_features=2"), BACKPROP_EINVAL,
        "backprop_add: Linear: out_features is missing", "a missing setting");
  fails(net, backprop_add(net, "Linear", "2 0"), BACKPROP_EINVAL,
        "backprop_add: Linear: out_features must be a positive integer, got 0",
        "a size out of range (the core's check)");
  fails(net, backprop_add(net, "Linear", "2.5 4"), BACKPROP_EINVAL,
        "in_features must be a non-negative integer, got \"2.5\"",
        "a fractional size");
  fails(net, backprop_add(net, "Linear", "2 four"), BACKPROP_EINVAL,
        "out_features must be a finite number, got \"four\"", "a word for a number");
  fails(net, backprop_add(net, "Linear", "2 nan"), BACKPROP_EINVAL,
        "out_features must be a finite number, got \"nan\"", "nan for a size");
  fails(net, backprop_add(net, "Linear", "2 4 bias=1"), BACKPROP_EINVAL,
        "Linear: no setting 'bias' (it takes in_features, out_features)",
        "an unknown setting, listing the known ones");
  fails(net, backprop_add(net, "Linear", "2 4 8"), BACKPROP_EINVAL,
        "takes at most 2 settings", "too many values");
  fails(net, backprop_add(net, "Linear", "in_features=2 4"), BACKPROP_EINVAL,
        "a value without a name (\"4\") after named ones",
        "a bare value after a named one");
  fails(net, backprop_add(net, "Linear", "2 4 in_features=3"), BACKPROP_EINVAL,
        "in_features is given twice", "a setting given twice");
  fails(net, backprop_add(net, "Linear", "in_features= 2 out_features=4"),
        BACKPROP_EINVAL, "expected name=value, got \"in_features=\"",
        "a space after =");
  fails(net, backprop_add(net, "Dropout", "p=1.5"), BACKPROP_EINVAL,
        "backprop_add: Dropout: p must be", "a float out of range");
  fails(net, backprop_add(net, "ReLU", "1"), BACKPROP_EINVAL,
        "takes at most 0 settings", "settings for a layer that takes none");
  fails(net, backprop_add(net, "MaxPool2d", "kernel_size=2,2,2"),
        BACKPROP_EINVAL, "kernel_size takes at most 2 values",
        "three values for a size of two dims");
  succeeds(net, backprop_add(net, "Linear", "  in_features=2\tout_features=4 "),
           "named settings, any spaces");
  succeeds(net, backprop_add(net, "LeakyReLU", "negative_slope=0.2"),
           "a float setting");
  succeeds(net, backprop_add(net, "Linear", "4 1"), "positional settings");
  succeeds(net, backprop_output_size(net, 2, &n), "backprop_output_size");
  check(n == 1, "the output size is Linear(4 -> 1)'s", NULL);
  succeeds(net, backprop_forward(net, X4, 4, 2, out, 4), "forward");
  fails(net, backprop_add(net, "ReLU", NULL), BACKPROP_EINVAL,
        "layers can only be added before", "a layer after the network ran");
  usable(net, "a layer after the network ran");
  backprop_free(net);
}

static void forward_errors(void) {
  backprop_net *net = xor_net(1);
  float out[4], bad[8];
  size_t dims[3] = {1, 1, 2};
  memcpy(bad, X4, sizeof bad);
  bad[5] = NAN;
  fails(net, backprop_forward(net, X4, 2, 3, out, 4), BACKPROP_EINVAL,
        "backprop_forward: layer 1 (Linear) expected input with 2 features, got 3 (input shape 2x3)",
        "the wrong input width");
  usable(net, "the wrong input width");
  fails(net, backprop_forward(net, X4, 4, 2, out, 3), BACKPROP_EINVAL,
        "y holds 3 floats, the output is 4 (4 samples of 1)", "a short output buffer");
  fails(net, backprop_forward(net, X4, 4, 2, NULL, 4), BACKPROP_EINVAL,
        "y holds 0 floats", "a NULL output buffer");
  fails(net, backprop_forward(net, NULL, 4, 2, out, 4), BACKPROP_EINVAL,
        "the input is NULL", "a NULL input");
  fails(net, backprop_forward(net, X4, 0, 2, out, 4), BACKPROP_EINVAL,
        "n and in must be positive", "no samples");
  fails(net, backprop_forward(net, bad, 4, 2, out, 4), BACKPROP_EINVAL,
        "the input contains nan at row 3, element 2 (shape 4x2)", "a NaN input");
  usable(net, "a NaN input");
  fails(net, backprop_set_input_shape(net, 4, dims), BACKPROP_EINVAL,
        "ndim must be 0 to 3, got 4", "an input shape of 4 dims");
  dims[0] = 0;
  fails(net, backprop_set_input_shape(net, 1, dims), BACKPROP_EINVAL,
        "dims[0] must be 1 to", "a zero dim");
  dims[0] = 1;
  succeeds(net, backprop_set_input_shape(net, 3, dims), "an input shape 1x1x2");
  fails(net, backprop_forward(net, X4, 4, 3, out, 4), BACKPROP_EINVAL,
        "in is 3, but the input shape is 1x1x2 (2 floats a sample)",
        "in against the input shape");
  fails(net, backprop_forward(net, X4, 4, 2, out, 4), BACKPROP_EINVAL,
        "(input shape 4x1x1x2)", "a shape Linear does not take");
  succeeds(net, backprop_set_input_shape(net, 0, NULL), "back to vectors");
  usable(net, "a shape Linear does not take");
  fails(net, backprop_set_threads(net, 0), BACKPROP_EINVAL,
        "n must be 1 to 256, got 0", "zero threads");
  backprop_free(net);
}

static void training_errors(void) {
  backprop_net *net = xor_net(1);
  double loss;
  float y[4], labels[4] = {1, 2, 3, 1};
  memcpy(y, Y4, sizeof y);
  fails(net, backprop_train_step(net, X4, 4, 2, Y4, &loss), BACKPROP_EINVAL,
        "backprop_train_step: no loss (backprop_set_loss first)", "no loss");
  fails(net, backprop_set_loss(net, "MSE", NULL), BACKPROP_EINVAL,
        "backprop_set_loss: unknown loss 'MSE'", "an unknown loss");
  fails(net, backprop_set_loss(net, "MSELoss", "delta=2"), BACKPROP_EINVAL,
        "backprop_set_loss: MSELoss: no option 'delta' (it takes reduction)",
        "an option of another loss");
  fails(net, backprop_set_loss(net, "MSELoss", "reduction=avg"), BACKPROP_EINVAL,
        "reduction must be mean, sum or none, got \"avg\"", "a bad reduction");
  fails(net, backprop_set_loss(net, "HuberLoss", "delta=0"), BACKPROP_EINVAL,
        "delta is 0, expected a positive finite number", "delta 0 (the core's check)");
  fails(net, backprop_set_loss(net, "CrossEntropyLoss", "weight=1,-2"),
        BACKPROP_EINVAL, "weight 2 is -2, expected a positive finite number",
        "a negative class weight");
  fails(net, backprop_set_loss(net, "CrossEntropyLoss", "0.1"), BACKPROP_EINVAL,
        "expected name=value, got \"0.1\"", "a loss option without a name");
  succeeds(net, backprop_set_loss(net, "MSELoss", "reduction=sum"), "MSELoss, sum");
  fails(net, backprop_train_step(net, X4, 4, 2, Y4, &loss), BACKPROP_EINVAL,
        "no optimizer (backprop_set_optimizer first)", "no optimizer");
  fails(net, backprop_set_lr(net, 0.1), BACKPROP_EINVAL,
        "backprop_set_lr: no optimizer", "set_lr without an optimizer");
  fails(net, backprop_set_optimizer(net, "sgd", NULL), BACKPROP_EINVAL,
        "unknown optimizer 'sgd'", "an unknown optimizer");
  fails(net, backprop_set_optimizer(net, "SGD", "betas=0.9,0.99"), BACKPROP_EINVAL,
        "backprop_set_optimizer: SGD: no option 'betas' (it takes lr, momentum, "
        "dampening, weight_decay, nesterov)", "an option of another optimizer");
  fails(net, backprop_set_optimizer(net, "Adam", "betas=0.9"), BACKPROP_EINVAL,
        "betas must be two numbers, like betas=0.9,0.999", "one beta");
  fails(net, backprop_set_optimizer(net, "SGD", "nesterov=yes"), BACKPROP_EINVAL,
        "nesterov must be true or false, got \"yes\"", "a bad boolean");
  fails(net, backprop_set_optimizer(net, "SGD", "lr=-1"), BACKPROP_EINVAL,
        "lr must be >= 0, got -1", "a negative lr (the core's check)");
  fails(net, backprop_set_optimizer(net, "SGD", "nesterov=true"), BACKPROP_EINVAL,
        "nesterov needs momentum > 0", "nesterov without momentum");
  succeeds(net, backprop_set_optimizer(net, "SGD", "lr=0.5 momentum=0.9 nesterov=true"),
           "SGD with Nesterov momentum");
  fails(net, backprop_set_lr(net, -0.5), BACKPROP_EINVAL, "lr must be >= 0, got -0.5",
        "a negative lr");
  succeeds(net, backprop_set_lr(net, 0.25), "set_lr");
  fails(net, backprop_train_step(net, X4, 4, 3, Y4, &loss), BACKPROP_EINVAL,
        "backprop_train_step: layer 1 (Linear) expected input with 2 features, got 3",
        "train_step with the wrong width");
  y[2] = INFINITY;
  fails(net, backprop_train_step(net, X4, 4, 2, y, &loss), BACKPROP_EINVAL,
        "the target contains inf at row 3, element 1", "an infinite target");
  fails(net, backprop_train_step(net, X4, 4, 2, NULL, &loss), BACKPROP_EINVAL,
        "the target is NULL", "a NULL target");
  succeeds(net, backprop_train_step(net, X4, 4, 2, Y4, &loss), "train_step");
  check(loss > 0 && isfinite(loss), "train_step gives the loss", NULL);
  fails(net, backprop_fit(net, X4, 4, 2, Y4, "epochs=0", &loss), BACKPROP_EINVAL,
        "backprop_fit: epochs must be a positive integer, got \"0\"", "zero epochs");
  fails(net, backprop_fit(net, X4, 4, 2, Y4, "batch=2", &loss), BACKPROP_EINVAL,
        "no option 'batch' (it takes epochs, batch_size, shuffle)", "an unknown fit option");
  succeeds(net, backprop_fit(net, X4, 4, 2, Y4, "epochs=3 batch_size=2 shuffle=false", &loss),
           "fit");
  /* Class labels: 3 classes, a label out of range. */
  backprop_free(net);
  net = backprop_new();
  backprop_add(net, "Linear", "2 3");
  succeeds(net, backprop_set_loss(net, "CrossEntropyLoss", "weight=1,2"),
           "CrossEntropyLoss with two class weights");
  succeeds(net, backprop_set_optimizer(net, "Adam", "lr=0.01"), "Adam");
  fails(net, backprop_train_step(net, X4, 4, 2, labels, &loss), BACKPROP_EINVAL,
        "weight has 2 value(s), expected one per class", "weights for 2 of 3 classes");
  succeeds(net, backprop_set_loss(net, "CrossEntropyLoss", "label_smoothing=0.1"),
           "CrossEntropyLoss with smoothing");
  labels[3] = 4;
  fails(net, backprop_train_step(net, X4, 4, 2, labels, &loss), BACKPROP_EINVAL,
        "label 4 is 4, expected an integer class in 1..3", "a label out of range");
  labels[3] = 3;
  succeeds(net, backprop_train_step(net, X4, 4, 2, labels, &loss), "labels");
  backprop_free(net);
}

static void files(const char *dir) {
  backprop_net *net = xor_net(1);
  char path[1024];
  FILE *f;
  snprintf(path, sizeof path, "%s/missing/none.bpnet", dir);
  fails(net, backprop_load(net, path), BACKPROP_EIO, "backprop_load: ",
        "loading a missing file");
  usable(net, "loading a missing file");
  fails(net, backprop_save(net, path), BACKPROP_EIO, "backprop_save: ",
        "saving into a missing directory");
  snprintf(path, sizeof path, "%s/garbage.bpnet", dir);
  f = fopen(path, "wb");
  if (f != NULL) {
    fputs("not a model file, but long enough to be read as one", f);
    fclose(f);
  }
  fails(net, backprop_load(net, path), BACKPROP_EFORMAT, "backprop_load: ",
        "loading a file that is not a model");
  usable(net, "loading a file that is not a model");
  fails(net, backprop_load(net, NULL), BACKPROP_EINVAL, "path is NULL", "a NULL path");
  backprop_free(net);
}

/* Two networks, same seed and calls: same bits; more threads: same bits. */
static void determinism(void) {
  float x[64 * 32], y[64 * 8], a[64 * 8], b[64 * 8];
  backprop_net *n1, *n2;
  double l1 = 0, l2 = 0;
  int i, k;
  for (i = 0; i < 64 * 32; i++) x[i] = (float)sin(i * 0.37);
  for (i = 0; i < 64 * 8; i++) y[i] = (float)cos(i * 0.11);
  for (k = 0; k < 2; k++) {
    backprop_net **net = k == 0 ? &n1 : &n2;
    *net = backprop_new();
    backprop_seed(*net, 42);
    backprop_add(*net, "Linear", "32 256");
    backprop_add(*net, "Tanh", NULL);
    backprop_add(*net, "Linear", "256 8");
    backprop_set_loss(*net, "MSELoss", NULL);
    backprop_set_optimizer(*net, "Adam", "lr=0.001");
  }
  succeeds(n2, backprop_set_threads(n2, 2), "two threads");
  for (i = 0; i < 5; i++) {
    backprop_train_step(n1, x, 64, 32, y, &l1);
    backprop_train_step(n2, x, 64, 32, y, &l2);
  }
  backprop_forward(n1, x, 64, 32, a, sizeof a / sizeof *a);
  backprop_forward(n2, x, 64, 32, b, sizeof b / sizeof *b);
  check(l1 == l2 && memcmp(a, b, sizeof a) == 0,
        "the same seed and steps give the same bits, on 1 thread or 2", NULL);
  backprop_free(n1);
  backprop_free(n2);
}

/* What the spec retrains in Lua: fit with shuffling, class labels, Adam. */
static void fit_file(const char *dir) {
  float x[10 * 3], labels[10];
  char path[1024];
  double loss = 0;
  int i;
  backprop_net *net = backprop_new();
  for (i = 0; i < 30; i++) x[i] = (float)((i * 7 % 11) - 5) / 4.0f;
  for (i = 0; i < 10; i++) labels[i] = (float)(i % 3 + 1);
  backprop_seed(net, 3);
  backprop_add(net, "Linear", "3 8");
  backprop_add(net, "ReLU", NULL);
  backprop_add(net, "Linear", "8 3");
  backprop_set_loss(net, "CrossEntropyLoss", "label_smoothing=0.1");
  backprop_set_optimizer(net, "Adam", "lr=0.01 betas=0.9,0.99");
  succeeds(net, backprop_fit(net, x, 10, 3, labels, "epochs=5 batch_size=4", &loss),
           "fit, 5 epochs of batches of 4, shuffled");
  printf("# fit loss %.17g\n", loss);
  snprintf(path, sizeof path, "%s/fit.bpnet", dir);
  succeeds(net, backprop_save(net, path), "save fit.bpnet");
  backprop_free(net);
}

/* A small CNN with a Residual block over an input shape of 1x4x4. */
static void conv_file(const char *dir) {
  size_t dims[3] = {1, 4, 4}, n = 0;
  float x[2 * 16], y[2 * 2];
  char path[1024];
  int i;
  backprop_net *net = backprop_new();
  for (i = 0; i < 32; i++) x[i] = (float)(i % 5) / 5.0f;
  backprop_seed(net, 9);
  backprop_add(net, "Conv2d", "1 2 kernel_size=3 padding=1");
  backprop_add(net, "ReLU", NULL);
  backprop_add(net, "Conv2d", "2 2 3 padding=1");
  succeeds(net, backprop_add(net, "Residual", "span=4"),
           "a Residual added (its span is checked when the network is built)");
  fails(net, backprop_output_size(net, 16, &n), BACKPROP_EINVAL,
        "backprop_output_size: layer 4 (Residual) spans 4 layers, but only 3 come before it",
        "a Residual spanning more layers than there are");
  backprop_free(net);
  net = backprop_new();
  backprop_seed(net, 9);
  backprop_add(net, "Conv2d", "1 2 kernel_size=3 padding=1");
  backprop_add(net, "ReLU", NULL);
  backprop_add(net, "Conv2d", "2 2 3 padding=1");
  backprop_add(net, "Residual", "span=1");
  backprop_add(net, "MaxPool2d", "2");
  backprop_add(net, "Flatten", NULL);
  backprop_add(net, "Linear", "8 2");
  fails(net, backprop_forward(net, x, 2, 16, y, 4), BACKPROP_EINVAL,
        "(input shape 2x16)", "a CNN given vectors");
  succeeds(net, backprop_set_input_shape(net, 3, dims), "input shape 1x4x4");
  succeeds(net, backprop_output_size(net, 16, &n), "output size of the CNN");
  check(n == 2, "the CNN gives 2 outputs a sample", NULL);
  succeeds(net, backprop_set_loss(net, "MSELoss", NULL), "MSELoss");
  succeeds(net, backprop_set_optimizer(net, "SGD", "lr=0.1"), "SGD");
  for (i = 0; i < 4; i++) y[i] = (float)i;
  for (i = 0; i < 3; i++)
    succeeds(net, backprop_train_step(net, x, 2, 16, y, NULL), "a CNN step");
  succeeds(net, backprop_set_training(net, 0), "eval mode");
  succeeds(net, backprop_forward(net, x, 2, 16, y, 4), "the CNN's forward");
  for (i = 0; i < 4; i++) printf("# conv out %.9g\n", y[i]);
  snprintf(path, sizeof path, "%s/conv.bpnet", dir);
  succeeds(net, backprop_save(net, path), "save conv.bpnet");
  backprop_free(net);
  net = backprop_new();
  succeeds(net, backprop_load(net, path), "load conv.bpnet");
  fails(net, backprop_add(net, "ReLU", NULL), BACKPROP_EINVAL,
        "layers can only be added before", "a layer after loading");
  backprop_free(net);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  check(strcmp(backprop_version(), BACKPROP_VERSION) == 0,
        "backprop_version() is the header's BACKPROP_VERSION", backprop_version());
  null_handle();
  layers();
  forward_errors();
  training_errors();
  files(dir);
  determinism();
  fit_file(dir);
  conv_file(dir);
  printf("# %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
