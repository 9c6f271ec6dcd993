/*
** model_v1.c: layer records of format version 1, the files backprop wrote
** before settings were saved by name. Frozen: version 1 never gains a
** layer or a setting, so nothing here changes when one is added (settings
** it does not hold take their defaults).
**
** A version 1 record held fixed slots shared by every kind: u32 in, u32
** out, f32 alpha (12 bytes, all the first seven kinds wrote), then for
** kinds 8 and up u32 kh, kw, sh, sw, ph, pw, span, f32 beta, eps (36 more
** bytes, 0 when missing) and the layer's state; longer records were
** skipped over. MAP says which slot held which setting.
*/
#include <string.h>

#include "io/model_v1.h"

enum { IN, OUT, ALPHA, KH, KW, SH, SW, PH, PW, SPAN, BETA, EPS, NSLOTS };

static const struct {
  bp_kind kind;
  const char *setting;
  int slot;            /* a pair takes this slot and the next */
} MAP[] = {
  {BP_LINEAR, "in_features", IN}, {BP_LINEAR, "out_features", OUT},
  {BP_LEAKY_RELU, "negative_slope", ALPHA},
  {BP_CONV2D, "in_channels", IN}, {BP_CONV2D, "out_channels", OUT},
  {BP_CONV2D, "kernel_size", KH}, {BP_CONV2D, "stride", SH},
  {BP_CONV2D, "padding", PH},
  {BP_MAXPOOL2D, "kernel_size", KH}, {BP_MAXPOOL2D, "stride", SH},
  {BP_MAXPOOL2D, "padding", PH},
  {BP_AVGPOOL2D, "kernel_size", KH}, {BP_AVGPOOL2D, "stride", SH},
  {BP_AVGPOOL2D, "padding", PH},
  {BP_DROPOUT, "p", ALPHA},
  {BP_BATCHNORM1D, "num_features", IN}, {BP_BATCHNORM1D, "eps", EPS},
  {BP_BATCHNORM1D, "momentum", BETA},
  {BP_BATCHNORM2D, "num_features", IN}, {BP_BATCHNORM2D, "eps", EPS},
  {BP_BATCHNORM2D, "momentum", BETA},
  {BP_LAYERNORM, "normalized_shape", IN}, {BP_LAYERNORM, "eps", EPS},
  {BP_EMBEDDING, "num_embeddings", IN}, {BP_EMBEDDING, "embedding_dim", OUT},
  {BP_ELU, "alpha", ALPHA},
  {BP_SOFTPLUS, "beta", ALPHA}, {BP_SOFTPLUS, "threshold", BETA},
  {BP_RESIDUAL, "span", SPAN},
};

bp_status bp_v1_record(bp_layer *l, uint32_t kind, bp_reader *rec,
                       bp_error *why) {
  const bp_layer_class *c = bp_layer_class_of((bp_kind)kind);
  uint32_t w[NSLOTS];
  unsigned long given = 0;
  bp_status st;
  size_t i;
  int k, n = kind <= BP_LOG_SOFTMAX ? 3 : NSLOTS;
  memset(w, 0, sizeof w);
  if (c == NULL || kind > BP_RESIDUAL)
    return bp_fail(why, BP_EINVAL, "unknown kind %lu", (unsigned long)kind);
  if (bp_left(rec) < 12)
    return bp_fail(why, BP_EFORMAT, "record too short");
  if (bp_left(rec) < 4 * NSLOTS) n = 3;
  for (k = 0; k < n; k++) bp_get32(rec, &w[k]);
  st = bp_layer_start(l, (bp_kind)kind, why);
  for (i = 0; st == BP_OK && i < sizeof MAP / sizeof MAP[0]; i++) {
    const bp_setting *s;
    void *p;
    if (MAP[i].kind != (bp_kind)kind) continue;
    s = bp_setting_find(c, MAP[i].setting);
    p = bp_setting_ptr(l, s);
    if (s->type == BP_FLOAT) {
      memcpy(p, &w[MAP[i].slot], sizeof(float));
    } else {
      ((size_t *)p)[0] = w[MAP[i].slot];
      if (s->type == BP_PAIR) ((size_t *)p)[1] = w[MAP[i].slot + 1];
    }
    given |= 1ul << (s - c->settings);
  }
  if (st == BP_OK) st = bp_layer_defaults(l, given, why);
  if (st == BP_OK) st = bp_layer_init(l, why);
  if (st == BP_OK && bp_left(rec) / 4 < l->nstate)
    st = bp_fail(why, BP_EFORMAT, "record too short for its state");
  return st;
}
