/*
** safetensors_read.c: libFuzzer target for the safetensors reader
** (bp_st_parse, io/safetensors.c), which takes a buffer.
**
** A file must be refused with a message naming it, or parsed into a
** description that holds what safetensors.h promises:
**   - each tensor's bytes lie in the data and match its dtype and shape;
**   - together the tensors cover the data exactly, in some order;
**   - bp_st_find finds each tensor by its name, and no other;
** and it must survive a round trip: its values (floats as float32, the
** integer dtypes as int64, as the reader converts them) and metadata,
** written with bp_st_encode and parsed again, come back the same, bit for
** bit, under the same names and shapes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io/safetensors.h"

#define MAX_VALUES ((uint64_t)1 << 20)   /* round trip only below this */
#define WHAT "fuzz.safetensors"

static int by_offsets(const void *a, const void *b) {
  const bp_st_tensor *x = *(const bp_st_tensor *const *)a;
  const bp_st_tensor *y = *(const bp_st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static void check_layout(const bp_st_file *f) {
  const bp_st_tensor **order;
  size_t i, at = 0;
  for (i = 0; i < f->ntensors; i++) {
    const bp_st_tensor *t = &f->tensors[i];
    uint64_t numel = 1;
    int k;
    for (k = 0; k < t->ndim; k++) {
      fuzz_check(t->shape[k] == 0 || numel <= UINT64_MAX / t->shape[k],
                 "shape overflows");
      numel *= t->shape[k];
    }
    fuzz_check(numel == t->numel, "numel %llu for a shape of %llu",
               (unsigned long long)t->numel, (unsigned long long)numel);
    fuzz_check(t->begin <= t->end && t->end <= f->data_len,
               "tensor '%s' at [%lu, %lu) outside %lu bytes", t->name,
               (unsigned long)t->begin, (unsigned long)t->end,
               (unsigned long)f->data_len);
    fuzz_check(t->end - t->begin == numel * bp_st_dtype_size(t->dtype),
               "tensor '%s': %lu bytes for %llu values of %s", t->name,
               (unsigned long)(t->end - t->begin), (unsigned long long)numel,
               bp_st_dtype_name(t->dtype));
    fuzz_check(bp_st_find(f, t->name) == t, "bp_st_find('%s') finds another",
               t->name);
  }
  /* In the order of their offsets, each starts where the one before
  ** ends (as the reference implementation checks). */
  order = malloc((f->ntensors + 1) * sizeof *order);
  fuzz_check(order != NULL, "out of memory");
  for (i = 0; i < f->ntensors; i++) order[i] = &f->tensors[i];
  qsort(order, f->ntensors, sizeof *order, by_offsets);
  for (i = 0; i < f->ntensors; i++) {
    fuzz_check(order[i]->begin == at, "tensor '%s' starts at %lu, the data "
               "before it ends at %lu", order[i]->name,
               (unsigned long)order[i]->begin, (unsigned long)at);
    at = order[i]->end;
  }
  fuzz_check(at == f->data_len, "tensors end at %lu of %lu bytes",
             (unsigned long)at, (unsigned long)f->data_len);
  free(order);
}

/* What the round trip writes for tensor t: F32, I64, or nothing (0). */
static int entry(const bp_st_file *f, const bp_st_tensor *t, bp_st_entry *e,
                 size_t *shape) {
  uint64_t i;
  int k;
  e->name = t->name;
  e->ndim = t->ndim;
  e->shape = shape;
  for (k = 0; k < t->ndim; k++) shape[k] = (size_t)t->shape[k];
  if (bp_st_is_float(t->dtype)) {
    float *v = malloc(t->numel * sizeof *v + 1);
    fuzz_check(v != NULL, "out of memory");
    fuzz_check(bp_st_floats(f, t, v), "a float tensor gives no floats");
    e->dtype = BP_ST_F32;
    e->data = v;
    return 1;
  } else {
    int64_t *v = malloc(t->numel * sizeof *v + 1);
    fuzz_check(v != NULL, "out of memory");
    for (i = 0; i < t->numel; i++)
      if (!bp_st_int(f, t, i, &v[i])) {
        free(v);
        return 0;                 /* F8, or a U64 above INT64_MAX */
      }
    e->dtype = BP_ST_I64;
    e->data = v;
    return 1;
  }
}

static void round_trip(const bp_st_file *f) {
  bp_st_entry *e = calloc(f->ntensors + 1, sizeof *e);
  size_t *shapes, n = 0, i;
  const char **meta = malloc((2 * f->nmeta + 1) * sizeof *meta);
  unsigned char *buf;
  size_t size;
  bp_st_file g;
  bp_error err;
  fuzz_check(e != NULL && meta != NULL, "out of memory");
  shapes = malloc((f->ntensors + 1) * 8 * sizeof *shapes);
  fuzz_check(shapes != NULL, "out of memory");
  for (i = 0; i < f->ntensors; i++) {
    fuzz_check(f->tensors[i].ndim <= 8, "more than 8 dimensions");
    n += entry(f, &f->tensors[i], &e[n], shapes + 8 * i);
  }
  for (i = 0; i < f->nmeta; i++) {
    meta[2 * i] = f->meta[i].key;
    meta[2 * i + 1] = f->meta[i].value;
  }
  fuzz_check(bp_st_encode(e, n, meta, f->nmeta, &buf, &size, &err) == BP_OK,
             "cannot write what was read: %s", err.msg);
  fuzz_check(bp_st_parse(&g, buf, size, WHAT, &err) == BP_OK,
             "cannot read what was written: %s", err.msg);
  fuzz_check(g.ntensors == n && g.nmeta == f->nmeta, "%lu tensors, %lu "
             "metadata back for %lu, %lu", (unsigned long)g.ntensors,
             (unsigned long)g.nmeta, (unsigned long)n,
             (unsigned long)f->nmeta);
  for (i = 0; i < f->nmeta; i++)
    fuzz_check(strcmp(g.meta[i].key, meta[2 * i]) == 0 &&
               strcmp(g.meta[i].value, meta[2 * i + 1]) == 0,
               "metadata %lu changed", (unsigned long)i);
  for (i = 0; i < n; i++) {
    const bp_st_tensor *t = bp_st_find(&g, e[i].name);
    int k;
    fuzz_check(t != NULL, "tensor '%s' lost", e[i].name);
    fuzz_check(t->dtype == e[i].dtype && t->ndim == e[i].ndim,
               "tensor '%s' changed dtype or rank", e[i].name);
    for (k = 0; k < t->ndim; k++)
      fuzz_check(t->shape[k] == e[i].shape[k], "tensor '%s' changed shape",
                 e[i].name);
    if (t->dtype == BP_ST_F32) {
      float *v = malloc(t->numel * sizeof *v + 1);
      fuzz_check(v != NULL && bp_st_floats(&g, t, v), "floats");
      fuzz_check(t->numel == 0 || memcmp(v, e[i].data, t->numel * sizeof *v)
                 == 0, "tensor '%s' changed values", e[i].name);
      free(v);
    } else {
      uint64_t j;
      for (j = 0; j < t->numel; j++) {
        int64_t v;
        fuzz_check(bp_st_int(&g, t, j, &v) &&
                   v == ((const int64_t *)e[i].data)[j],
                   "tensor '%s' changed value %llu", e[i].name,
                   (unsigned long long)j);
      }
    }
  }
  bp_st_free(&g);
  free(buf);
  for (i = 0; i < n; i++) free((void *)e[i].data);
  free(e);
  free(shapes);
  free(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bp_st_file f;
  bp_error err;
  uint64_t values = 0;
  size_t i;
  if (bp_st_parse(&f, data, size, WHAT, &err) != BP_OK) {
    fuzz_check(strstr(err.msg, WHAT) != NULL || strstr(err.msg, "memory"),
               "an error that does not name the file: %s", err.msg);
    bp_st_free(&f);
    return 0;
  }
  check_layout(&f);
  for (i = 0; i < f.ntensors; i++) values += f.tensors[i].numel;
  if (values <= MAX_VALUES) round_trip(&f);
  bp_st_free(&f);
  return 0;
}
