/*
** model_load.c: libFuzzer target for the model file reader
** (bp_net_load_sections, io/serialize.c and io/model_v1.c).
**
** Each input is loaded twice: as it is, and with its last four bytes
** replaced by the right CRC-32, so that mutations get past the checksum
** into the records, the parameter count and the sections. A load must
** fail with a message naming the file, or succeed; a network that loads
** must then
**   - save (with the sections it was loaded with) and load again, and
**     the second save must give the same bytes as the first;
**   - give the same outputs as the reloaded copy, bit for bit, on a batch
**     shaped from its first layer, in eval mode and in training mode (same
**     seed), and backpropagate ones through both.
** Batches whose activations would exceed a few MB are skipped: a file may
** legally describe a huge network, and the fuzzer's memory limit is not
** a finding.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/crc32.h"
#include "io/serialize.h"
#include "nn/net.h"

#define BATCH 2
#define MAX_FLOATS ((size_t)1 << 18)   /* per sample, any layer */

static const char *const SECTIONS[] = {"predictor", "checkpoint"};
#define NSECTIONS 2

/* The first size setting among those that give a network's input width. */
static size_t input_width(const bp_layer *l) {
  static const char *const names[] = {"in_features", "in_channels",
                                      "num_features", "normalized_shape",
                                      "num_parameters"};
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    const bp_setting *s = bp_setting_find(c, names[i]);
    if (s != NULL) return *(const size_t *)bp_setting_cptr(l, s);
  }
  return 3;
}

/* A per-sample input shape the network accepts, with every layer's
** activations and workspace of a sane size; 0 if none of the candidates
** (width; width x 5; width x 6 x 6) fits. */
static int pick_shape(bp_net *net, bp_shape *in) {
  size_t w = input_width(&net->layers[0]), i;
  int c;
  if (w == 0 || w > 4096) return 0;
  for (c = 1; c <= 3; c++) {
    bp_shape out;
    bp_error err;
    int ok = 1;
    in->ndim = c;
    in->d[0] = w;
    in->d[1] = in->d[2] = c == 2 ? 5 : 6;
    if (bp_net_out_shape(net, BATCH, in, &out, &err) != BP_OK) continue;
    for (i = 0; ok && i <= net->nlayers; i++) {
      const bp_layer_class *k;
      ok = bp_shape_numel(&net->probe[i]) <= MAX_FLOATS;
      if (!ok || i == net->nlayers) break;
      k = bp_layer_class_of(net->layers[i].kind);
      if (k->work != NULL)
        ok = k->work(&net->layers[i], &net->probe[i], BATCH) <= 16 * MAX_FLOATS;
      if (ok && k->saved != NULL)
        ok = k->saved(&net->layers[i], &net->probe[i], BATCH) <= 16 * MAX_FLOATS;
    }
    if (ok) return 1;
  }
  return 0;
}

/* Forward x through net in the given mode, then backward ones; the
** output (malloc'd) into *y and its length into *ny. Returns 0 when the
** network refuses the input (an Embedding's ids): not a finding. */
static int run(bp_net *net, int training, const float *x, const bp_shape *in,
               float **y, size_t *ny) {
  bp_rng rng;
  bp_shape out;
  bp_error err;
  const float *dx;
  float *dy;
  size_t i;
  bp_rng_seed(&rng, 7);
  net->training = training;
  net->rng = &rng;
  if (bp_net_forward(net, x, BATCH, in, &err) != BP_OK) {
    net->rng = NULL;
    return 0;
  }
  *ny = BATCH * bp_net_out(net);
  *y = malloc(*ny * sizeof **y + 1);
  fuzz_check(*y != NULL, "out of memory");
  memcpy(*y, bp_net_output(net), *ny * sizeof **y);
  out = net->shape[net->nlayers];
  dy = bp_net_dy_buffer(net);
  for (i = 0; i < *ny; i++) dy[i] = 1.0f;
  fuzz_check(bp_net_backward(net, dy, BATCH, &out, &dx, &err) == BP_OK,
             "backward failed after forward: %s", err.msg);
  net->rng = NULL;
  return 1;
}

/* Outputs of a and b on the same batch agree bit for bit (both modes). */
static void same_outputs(bp_net *a, bp_net *b) {
  bp_shape in;
  size_t n, i;
  float *x;
  int mode;
  if (!pick_shape(a, &in)) return;
  n = BATCH * bp_shape_numel(&in);
  x = malloc(n * sizeof *x);
  fuzz_check(x != NULL, "out of memory");
  /* Ids 1..3 fit any Embedding; the others see a spread of values. */
  for (i = 0; i < n; i++)
    x[i] = a->layers[0].kind == BP_EMBEDDING ? 1.0f : (float)(i % 7) * 0.5f - 1.5f;
  for (mode = 0; mode <= 1; mode++) {
    float *ya = NULL, *yb = NULL;
    size_t na = 0, nb = 0;
    int ra = run(a, mode, x, &in, &ya, &na);
    int rb = run(b, mode, x, &in, &yb, &nb);
    fuzz_check(ra == rb, "one copy ran, the other did not (mode %d)", mode);
    fuzz_check(na == nb && (na == 0 || memcmp(ya, yb, na * sizeof *ya) == 0),
               "reloaded network computes something else (mode %d)", mode);
    free(ya);
    free(yb);
  }
  free(x);
}

static bp_status load(bp_net *net, const char *path, bp_section *known,
                      unsigned char **file, bp_error *err) {
  size_t k;
  memset(net, 0, sizeof *net);
  memset(known, 0, NSECTIONS * sizeof *known);   /* required: 0 */
  for (k = 0; k < NSECTIONS; k++) known[k].name = SECTIONS[k];
  return bp_net_load_sections(net, path, known, NSECTIONS, file, err);
}

/* Save net with the sections it came with; the file's bytes. */
static unsigned char *save(const bp_net *net, const bp_section *known,
                           const char *name, size_t *n) {
  bp_section s[NSECTIONS];
  size_t ns = 0, k;
  bp_error err;
  const char *path = fuzz_path(name);
  for (k = 0; k < NSECTIONS; k++)
    if (known[k].data != NULL) s[ns++] = known[k];
  fuzz_check(bp_net_save_sections(net, path, s, ns, &err) == BP_OK,
             "cannot save a network that loaded: %s", err.msg);
  return fuzz_slurp(path, n);
}

static void one(const uint8_t *data, size_t size) {
  const char *path = fuzz_write("input.bp", data, size);
  bp_section known[NSECTIONS], again[NSECTIONS];
  unsigned char *file = NULL, *file2 = NULL, *b1, *b2;
  bp_net net, net2;
  bp_error err;
  size_t n1, n2, k;
  if (load(&net, path, known, &file, &err) != BP_OK) {
    fuzz_check(strstr(err.msg, path) != NULL || strstr(err.msg, "memory"),
               "load error without the file's name: %s", err.msg);
    return;
  }
  b1 = save(&net, known, "saved1.bp", &n1);
  fuzz_check(load(&net2, fuzz_path("saved1.bp"), again, &file2, &err) == BP_OK,
             "a saved network does not load: %s", err.msg);
  for (k = 0; k < NSECTIONS; k++)
    fuzz_check(again[k].len == known[k].len && (known[k].len == 0 ||
               memcmp(again[k].data, known[k].data, known[k].len) == 0),
               "section '%s' changed by a save", SECTIONS[k]);
  b2 = save(&net2, again, "saved2.bp", &n2);
  fuzz_check(n1 == n2 && memcmp(b1, b2, n1) == 0,
             "saving a reloaded network gives other bytes (%lu vs %lu)",
             (unsigned long)n1, (unsigned long)n2);
  same_outputs(&net, &net2);
  free(b1);
  free(b2);
  free(file);
  free(file2);
  bp_net_free(&net);
  bp_net_free(&net2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *fixed;
  uint32_t crc;
  one(data, size);
  if (size < 4) return 0;
  fixed = malloc(size);
  fuzz_check(fixed != NULL, "out of memory");
  memcpy(fixed, data, size);
  crc = bp_crc32(0, fixed, size - 4);
  fixed[size - 4] = (uint8_t)crc;
  fixed[size - 3] = (uint8_t)(crc >> 8);
  fixed[size - 2] = (uint8_t)(crc >> 16);
  fixed[size - 1] = (uint8_t)(crc >> 24);
  if (memcmp(fixed, data, size) != 0) one(fixed, size);
  free(fixed);
  return 0;
}
