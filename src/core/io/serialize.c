/* serialize.c: the model file format (see serialize.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/crc32.h"
#include "io/serialize.h"
#include "tensor/tensor.h"

static const unsigned char MAGIC[8] = {0x89, 'B', 'P', 'N', 'E', 'T', '\r',
                                       '\n'};

/* --- writing: into one memory buffer, then one fwrite ---------------- */

static unsigned char *put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
  return p + 4;
}

static unsigned char *putf(unsigned char *p, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  return put32(p, v);
}

static size_t count_floats(const bp_net *net) {
  size_t i, n = 0;
  int k;
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++) n += net->layers[i].p[k].numel;
  return n;
}

/* Bytes after in, out, alpha in a layer record (see serialize.h). */
#define EXTRA 36

static size_t record_len(const bp_layer *l) {
  return l->kind <= BP_LAST_V1_KIND ? 12 : 12 + EXTRA + 4 * l->nstate;
}

static bp_status write_all(const char *path, const unsigned char *buf,
                           size_t n, bp_error *err) {
  size_t plen = strlen(path);
  char *tmp = bp_malloc(plen + 5);
  FILE *f;
  int ok;
  if (tmp == NULL) return bp_fail(err, BP_ENOMEM, "out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  f = fopen(tmp, "wb");
  if (f == NULL) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
    free(tmp);
    return st;
  }
  ok = fwrite(buf, 1, n, f) == n;
  ok = (fflush(f) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (ok && rename(tmp, path) != 0) {
#if defined(_WIN32)
    /* Windows will not rename over an existing file. Elsewhere rename
    ** replaces a file atomically, and a failure is a real error: removing
    ** path there would delete the previous model (or an empty directory
    ** named path) for nothing. */
    remove(path);
    ok = rename(tmp, path) == 0;
#else
    ok = 0;
#endif
  }
  if (!ok) {
    bp_status st = bp_fail(err, BP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    remove(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return BP_OK;
}

bp_status bp_net_save(const bp_net *net, const char *path, bp_error *err) {
  size_t nf = count_floats(net), size, i, j;
  unsigned char *buf, *p;
  bp_status st;
  int k;
  size = 8 + 4 + 4 + 8 + nf * 4 + 4;
  for (i = 0; i < net->nlayers; i++) size += 8 + record_len(&net->layers[i]);
  buf = bp_malloc(size);
  if (buf == NULL) return bp_fail(err, BP_ENOMEM, "out of memory saving");
  memcpy(buf, MAGIC, 8);
  p = put32(buf + 8, BP_FORMAT_VERSION);
  p = put32(p, (uint32_t)net->nlayers);
  for (i = 0; i < net->nlayers; i++) {
    const bp_layer *l = &net->layers[i];
    p = put32(p, (uint32_t)l->kind);
    p = put32(p, (uint32_t)record_len(l));
    p = put32(p, (uint32_t)l->in);
    p = put32(p, (uint32_t)l->out);
    p = putf(p, l->alpha);
    if (l->kind > BP_LAST_V1_KIND) {
      p = put32(p, (uint32_t)l->kh);
      p = put32(p, (uint32_t)l->kw);
      p = put32(p, (uint32_t)l->sh);
      p = put32(p, (uint32_t)l->sw);
      p = put32(p, (uint32_t)l->ph);
      p = put32(p, (uint32_t)l->pw);
      p = put32(p, (uint32_t)l->span);
      p = putf(p, l->beta);
      p = putf(p, l->eps);
      for (j = 0; j < l->nstate; j++) p = putf(p, l->state[j]);
    }
  }
  p = put32(p, (uint32_t)nf);
  p = put32(p, (uint32_t)((uint64_t)nf >> 32));
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++)
      for (j = 0; j < net->layers[i].p[k].numel; j++)
        p = putf(p, net->layers[i].p[k].data[j]);
  p = put32(p, bp_crc32(0, buf, size - 4));
  st = write_all(path, buf, size, err);
  free(buf);
  return st;
}

/* --- reading: the whole file in memory, a cursor that checks bounds --- */

typedef struct reader {
  const unsigned char *p, *end;
} reader;

static int get32(reader *r, uint32_t *v) {
  if (r->end - r->p < 4) return 0;
  *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
       (uint32_t)r->p[3] << 24;
  r->p += 4;
  return 1;
}

static int getf(reader *r, float *f) {
  uint32_t v;
  if (!get32(r, &v)) return 0;
  memcpy(f, &v, 4);
  return 1;
}

static bp_status read_file(const char *path, unsigned char **buf, size_t *n,
                           bp_error *err) {
  FILE *f = fopen(path, "rb");
  long size;
  if (f == NULL)
    return bp_fail(err, BP_EIO, "cannot open '%s': %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  *buf = bp_malloc(size > 0 ? (size_t)size : 1);
  if (*buf == NULL) {
    fclose(f);
    return bp_fail(err, BP_ENOMEM, "out of memory reading '%s'", path);
  }
  if (fread(*buf, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    free(*buf);
    return bp_fail(err, BP_EIO, "cannot read '%s'", path);
  }
  fclose(f);
  *n = (size_t)size;
  return BP_OK;
}

#define TRUNCATED(what) \
  bp_fail(err, BP_EFORMAT, "'%s' is truncated (%s)", path, what)

static bp_status parse(bp_net *net, const char *path, const unsigned char *buf,
                       size_t size, bp_error *err) {
  reader r;
  bp_error why;
  uint32_t version, nl, lo, hi, crc = 0, i;
  bp_layer *layers;
  const unsigned char **state;    /* where each layer's state starts */
  bp_status st;
  size_t j, nf;
  int k;
  if (size < 8 || memcmp(buf, MAGIC, 8) != 0)
    return bp_fail(err, BP_EFORMAT, "'%s' is not a backprop model file", path);
  r.p = buf + 8;
  r.end = buf + size;
  if (!get32(&r, &version)) return TRUNCATED("header");
  if (version != BP_FORMAT_VERSION)
    return bp_fail(err, BP_EFORMAT, "'%s' has format version %lu; this build "
                   "reads version %d", path, (unsigned long)version,
                   BP_FORMAT_VERSION);
  if (!get32(&r, &nl)) return TRUNCATED("header");
  if (nl == 0 || nl > (size_t)(r.end - r.p) / 8) return TRUNCATED("layers");
  layers = bp_calloc(nl, sizeof *layers);
  state = bp_calloc(nl, sizeof *state);
  if (layers == NULL || state == NULL) {
    free(layers);
    free(state);
    return bp_fail(err, BP_ENOMEM, "out of memory");
  }
  for (i = 0; i < nl; i++) {
    uint32_t kind, len, in, out, g[7] = {0, 0, 0, 0, 0, 0, 0};
    float alpha, beta = 0.0f, eps = 0.0f;
    bp_layer *l = &layers[i];
    reader rec;
    int q;
    if (!get32(&r, &kind) || !get32(&r, &len) || len > (size_t)(r.end - r.p)) {
      free(layers);
      free(state);
      return TRUNCATED("layers");
    }
    rec.p = r.p;
    rec.end = r.p + len;
    r.p += len;
    if (!get32(&rec, &in) || !get32(&rec, &out) || !getf(&rec, &alpha)) {
      free(layers);
      free(state);
      return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (layer %lu record too "
                     "short)", path, (unsigned long)i + 1);
    }
    if (bp_layer_class_of((bp_kind)kind) == NULL) {
      free(layers);
      free(state);
      return bp_fail(err, BP_EFORMAT, "'%s' has layer %lu of unknown kind %lu "
                     "(written by a newer backprop?)", path,
                     (unsigned long)i + 1, (unsigned long)kind);
    }
    if (kind <= BP_LAST_V1_KIND) {
      st = bp_layer_make(l, (bp_kind)kind, in, out, alpha, &why);
    } else {
      if ((size_t)(rec.end - rec.p) >= EXTRA) {
        for (q = 0; q < 7; q++) get32(&rec, &g[q]);
        getf(&rec, &beta);
        getf(&rec, &eps);
      }
      l->kind = (bp_kind)kind;
      l->in = in;
      l->out = out;
      l->alpha = alpha;
      l->kh = g[0];
      l->kw = g[1];
      l->sh = g[2];
      l->sw = g[3];
      l->ph = g[4];
      l->pw = g[5];
      l->span = g[6];
      l->beta = beta;
      l->eps = eps;
      st = bp_layer_init(l, &why);
      if (st == BP_OK && (size_t)(rec.end - rec.p) / 4 < l->nstate)
        st = bp_fail(&why, BP_EFORMAT, "record too short for its state");
      state[i] = rec.p;
    }
    if (st != BP_OK) {
      free(layers);
      free(state);
      return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (layer %lu: %s)", path,
                     (unsigned long)i + 1, why.msg);
    }
  }
  st = bp_net_init(net, layers, nl, err);
  free(layers);
  if (st != BP_OK) {
    free(state);
    return st;
  }
  for (i = 0; i < nl; i++) {
    reader sr;
    sr.p = state[i];
    sr.end = buf + size;
    for (j = 0; j < net->layers[i].nstate; j++)
      getf(&sr, &net->layers[i].state[j]);
  }
  free(state);
  if (!get32(&r, &lo) || !get32(&r, &hi)) {
    bp_net_free(net);
    return TRUNCATED("parameter count");
  }
  nf = count_floats(net);
  if (hi != 0 || lo != nf) {
    bp_net_free(net);
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (%lu parameters for a "
                   "topology of %lu)", path, (unsigned long)lo,
                   (unsigned long)nf);
  }
  if ((size_t)(r.end - r.p) / 4 < nf + 1) {
    bp_net_free(net);
    return TRUNCATED("weights");
  }
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++)
      for (j = 0; j < net->layers[i].p[k].numel; j++)
        getf(&r, &net->layers[i].p[k].data[j]);
  get32(&r, &crc);
  if (r.p != r.end || crc != bp_crc32(0, buf, size - 4)) {
    bp_net_free(net);
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (%s)", path,
                   r.p != r.end ? "trailing bytes" : "checksum mismatch");
  }
  return BP_OK;
}

bp_status bp_net_load(bp_net *net, const char *path, bp_error *err) {
  unsigned char *buf = NULL;
  size_t size = 0;
  bp_status st = read_file(path, &buf, &size, err);
  if (st != BP_OK) return st;
  st = parse(net, path, buf, size, err);
  free(buf);
  return st;
}
