/*
** xor.c: examples/xor.lua in plain C, through backprop.h: the classic
** recipe (2 inputs, 4 sigmoid hidden units, 1 sigmoid output, squared
** error, plain gradient descent on the whole 4-sample batch), then the
** trained network saved to a file that Lua's bp.load reads.
**
**   make c-example                        (builds against build/lib, runs it)
**   cc xor.c $(pkg-config --cflags --libs backprop) -o xor && ./xor [file]
**
** The same seed and steps as examples/xor.lua give the same weights, bit
** for bit, so the same file.
*/
#include <stdio.h>

#include "backprop.h"

/* Stop with the network's message when a call fails. */
#define TRY(call)                                              \
  do {                                                         \
    if ((call) != BACKPROP_OK) {                               \
      fprintf(stderr, "xor: %s\n", backprop_error(net));       \
      backprop_free(net);                                      \
      return 1;                                                \
    }                                                          \
  } while (0)

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "xor.bpnet";
  static const float x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
  static const float y[4] = {0, 1, 1, 0};
  float out[4];
  double loss;
  int epoch, i, right = 0;
  backprop_net *net = backprop_new();
  if (net == NULL) {
    fprintf(stderr, "xor: out of memory\n");
    return 1;
  }
  TRY(backprop_seed(net, 1));
  TRY(backprop_add(net, "Linear", "2 4"));
  TRY(backprop_add(net, "Sigmoid", NULL));
  TRY(backprop_add(net, "Linear", "in_features=4 out_features=1"));
  TRY(backprop_add(net, "Sigmoid", NULL));
  TRY(backprop_set_loss(net, "MSELoss", NULL));
  TRY(backprop_set_optimizer(net, "SGD", "lr=2"));

  for (epoch = 1; epoch <= 5000; epoch++) {
    TRY(backprop_train_step(net, x, 4, 2, y, &loss));
    if (epoch % 1000 == 0) printf("epoch %4d  loss %.6f\n", epoch, loss);
  }

  TRY(backprop_forward(net, x, 4, 2, out, 4));
  for (i = 0; i < 4; i++) {
    int want = (int)y[i];
    right += (out[i] >= 0.5f) == (want == 1);
    /* %.9g: every float's digits, so the output can be compared exactly */
    printf("%d xor %d = %d   network says %.9g\n", (int)x[2 * i],
           (int)x[2 * i + 1], want, out[i]);
  }
  printf("accuracy %.2f (seed 1)\n", right / 4.0);
  TRY(backprop_save(net, path));
  printf("saved %s (backprop %s)\n", path, backprop_version());
  backprop_free(net);
  return right == 4 ? 0 : 1;
}
