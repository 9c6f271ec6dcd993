/* serialize.c: the model file format (see serialize.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "io/bytes.h"
#include "io/crc32.h"
#include "io/file.h"
#include "io/model_v1.h"
#include "io/serialize.h"

static const unsigned char MAGIC[8] = {0x89, 'B', 'P', 'N', 'E', 'T', '\r',
                                       '\n'};

/* Parameter floats of a network, without padding. */
static size_t count_floats(const bp_net *net) {
  size_t i, n = 0;
  int k;
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++) n += net->layers[i].p[k].numel;
  return n;
}

/* Bytes of a setting's value in a file. */
static size_t value_len(bp_type t) {
  return t == BP_PAIR ? 8 : 4;
}

/* --- writing: into one memory buffer, then one fwrite ---------------- */

static size_t record_len(const bp_layer *l) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  size_t n = 4 + 4 + 4 * l->nstate;
  int k;
  for (k = 0; k < c->nsettings; k++)
    n += 2 + strlen(c->settings[k].name) + value_len(c->settings[k].type);
  return n;
}

static unsigned char *put_record(unsigned char *p, const bp_layer *l) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  size_t j;
  int k;
  p = bp_put32(p, (uint32_t)l->kind);
  p = bp_put32(p, (uint32_t)record_len(l));
  p = bp_put32(p, (uint32_t)c->nsettings);
  for (k = 0; k < c->nsettings; k++) {
    const bp_setting *s = &c->settings[k];
    const void *v = bp_setting_cptr(l, s);
    size_t len = strlen(s->name);
    *p++ = (unsigned char)len;
    memcpy(p, s->name, len);
    p += len;
    *p++ = (unsigned char)s->type;
    if (s->type == BP_FLOAT) {
      p = bp_putf(p, *(const float *)v);
    } else {
      p = bp_put32(p, (uint32_t)((const size_t *)v)[0]);
      if (s->type == BP_PAIR) p = bp_put32(p, (uint32_t)((const size_t *)v)[1]);
    }
  }
  p = bp_put32(p, (uint32_t)l->nstate);
  for (j = 0; j < l->nstate; j++) p = bp_putf(p, l->state[j]);
  return p;
}

/* Bytes of the section list (version 3): count, then each section. */
static size_t sections_len(const bp_section *sec, size_t ns) {
  size_t n = 4, i;
  for (i = 0; i < ns; i++) n += 1 + strlen(sec[i].name) + 1 + 8 + sec[i].len;
  return n;
}

static unsigned char *put_sections(unsigned char *p, const bp_section *sec,
                                   size_t ns) {
  size_t i;
  p = bp_put32(p, (uint32_t)ns);
  for (i = 0; i < ns; i++) {
    size_t len = strlen(sec[i].name);
    *p++ = (unsigned char)len;
    memcpy(p, sec[i].name, len);
    p += len;
    *p++ = sec[i].required ? 1 : 0;
    p = bp_put64(p, (uint64_t)sec[i].len);
    if (sec[i].len > 0) memcpy(p, sec[i].data, sec[i].len);
    p += sec[i].len;
  }
  return p;
}

bp_status bp_net_save_sections(const bp_net *net, const char *path,
                               const bp_section *sec, size_t ns,
                               bp_error *err) {
  size_t nf = count_floats(net), size, i, j;
  unsigned char *buf, *p;
  bp_status st;
  int k;
  for (i = 0; i < ns; i++) {
    size_t len = strlen(sec[i].name);
    if (len == 0 || len > 255)
      return bp_fail(err, BP_EINVAL, "section name '%s' must have 1 to 255 "
                     "bytes", sec[i].name);
    for (j = 0; j < i; j++)
      if (strcmp(sec[i].name, sec[j].name) == 0)
        return bp_fail(err, BP_EINVAL, "section '%s' twice", sec[i].name);
  }
  size = 8 + 4 + 4 + 8 + nf * 4 + sections_len(sec, ns) + 4;
  for (i = 0; i < net->nlayers; i++) size += 8 + record_len(&net->layers[i]);
  buf = bp_malloc(size);
  if (buf == NULL) return bp_fail(err, BP_ENOMEM, "out of memory saving");
  memcpy(buf, MAGIC, 8);
  p = bp_put32(buf + 8, BP_FORMAT_VERSION);
  p = bp_put32(p, (uint32_t)net->nlayers);
  for (i = 0; i < net->nlayers; i++) p = put_record(p, &net->layers[i]);
  p = bp_put64(p, (uint64_t)nf);
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++)
      for (j = 0; j < net->layers[i].p[k].numel; j++)
        p = bp_putf(p, net->layers[i].p[k].data[j]);
  p = put_sections(p, sec, ns);
  bp_put32(p, bp_crc32(0, buf, size - 4));
  st = bp_file_write(path, buf, size, err);
  free(buf);
  return st;
}

bp_status bp_net_save(const bp_net *net, const char *path, bp_error *err) {
  return bp_net_save_sections(net, path, NULL, 0, err);
}

/* --- reading: the whole file in memory, a cursor that checks bounds --- */

/* The settings and state of a version 2 record (see serialize.h) into l;
** *newer is set when the record holds a setting this build does not
** know. rec is left at the state, checked to fill the record exactly. */
static bp_status v2_record(bp_layer *l, uint32_t kind, bp_reader *rec,
                           int *newer, bp_error *why) {
  const bp_layer_class *c = bp_layer_class_of((bp_kind)kind);
  unsigned long given = 0;
  uint32_t n, i, nstate = 0;
  bp_status st = bp_layer_start(l, (bp_kind)kind, why);
  if (st != BP_OK) return st;
  if (!bp_get32(rec, &n) || n > bp_left(rec) / 6)
    return bp_fail(why, BP_EFORMAT, "record too short for its settings");
  for (i = 0; i < n; i++) {
    char name[256];
    unsigned len, type;
    const bp_setting *s;
    uint32_t a = 0, b = 0;
    if (!bp_get8(rec, &len) || bp_left(rec) < len)
      return bp_fail(why, BP_EFORMAT, "record too short for its settings");
    memcpy(name, rec->p, len);
    name[len] = '\0';
    rec->p += len;
    if (!bp_get8(rec, &type) || bp_left(rec) < value_len((bp_type)type))
      return bp_fail(why, BP_EFORMAT, "record too short for its settings");
    if (strlen(name) != len)
      return bp_fail(why, BP_EFORMAT, "a setting name with a zero byte");
    s = bp_setting_find(c, name);
    if (s == NULL) {
      *newer = 1;
      return bp_fail(why, BP_EFORMAT, "setting '%s' that this build does "
                     "not know", name);
    }
    if ((unsigned)s->type != type)
      return bp_fail(why, BP_EFORMAT, "setting '%s' of type %u, expected %d",
                     name, type, (int)s->type);
    if (given & (1ul << (s - c->settings)))
      return bp_fail(why, BP_EFORMAT, "setting '%s' twice", name);
    given |= 1ul << (s - c->settings);
    bp_get32(rec, &a);
    if (s->type == BP_FLOAT) {
      memcpy(bp_setting_ptr(l, s), &a, sizeof(float));
      continue;
    }
    if (s->type == BP_PAIR) bp_get32(rec, &b);
    ((size_t *)bp_setting_ptr(l, s))[0] = a;
    if (s->type == BP_PAIR) ((size_t *)bp_setting_ptr(l, s))[1] = b;
  }
  st = bp_layer_defaults(l, given, why);
  if (st == BP_OK) st = bp_layer_init(l, why);
  if (st != BP_OK) return st;
  if (!bp_get32(rec, &nstate) || nstate != l->nstate)
    return bp_fail(why, BP_EFORMAT, "%lu state values, expected %lu",
                   (unsigned long)nstate, (unsigned long)l->nstate);
  if (bp_left(rec) != 4 * (size_t)nstate)
    return bp_fail(why, BP_EFORMAT, "record of %lu bytes for %lu state "
                   "values", (unsigned long)bp_left(rec),
                   (unsigned long)nstate);
  return BP_OK;
}

#define TRUNCATED(what) \
  bp_fail(err, BP_EFORMAT, "'%s' is truncated (%s)", path, what)

/* Layer i's record at r into *l, r moved past it; *state gets where its
** state values start. */
static bp_status record(const char *path, uint32_t version, bp_reader *r,
                        uint32_t i, bp_layer *l, const unsigned char **state,
                        bp_error *err) {
  uint32_t kind, len;
  const bp_layer_class *c;
  bp_reader rec;
  bp_error why;
  bp_status st;
  int newer = 0;
  if (!bp_get32(r, &kind) || !bp_get32(r, &len) || len > bp_left(r))
    return TRUNCATED("layers");
  rec.p = r->p;
  rec.end = r->p + len;
  r->p += len;
  c = bp_layer_class_of((bp_kind)kind);
  if (c == NULL)
    return bp_fail(err, BP_EFORMAT, "'%s' has layer %lu of unknown kind %lu "
                   "(written by a newer backprop?)", path,
                   (unsigned long)i + 1, (unsigned long)kind);
  st = version == 1 ? bp_v1_record(l, kind, &rec, &why)
                    : v2_record(l, kind, &rec, &newer, &why);
  *state = rec.p;
  if (st == BP_OK) return BP_OK;
  if (newer)
    return bp_fail(err, BP_EFORMAT, "'%s' has layer %lu (%s) with a %s "
                   "(written by a newer backprop?)", path,
                   (unsigned long)i + 1, c->name, why.msg);
  return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (layer %lu (%s): %s)",
                 path, (unsigned long)i + 1, c->name, why.msg);
}

/* The header: version and layer count, checked against the file. */
static bp_status header(const char *path, bp_reader *r, uint32_t *version,
                        uint32_t *nl, bp_error *err) {
  if (bp_left(r) < 8 || memcmp(r->p, MAGIC, 8) != 0)
    return bp_fail(err, BP_EFORMAT, "'%s' is not a backprop model file", path);
  r->p += 8;
  if (!bp_get32(r, version) || !bp_get32(r, nl)) return TRUNCATED("header");
  if (*version < 1 || *version > BP_FORMAT_VERSION)
    return bp_fail(err, BP_EFORMAT, "'%s' has format version %lu; this build "
                   "reads versions 1 to %d", path, (unsigned long)*version,
                   BP_FORMAT_VERSION);
  if (*nl > bp_left(r) / 8) return TRUNCATED("layers");
  if (*nl == 0) return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (no layers)",
                               path);
  return BP_OK;
}

/* The section list of a version 3 file, at r after the weights: each
** header checked against the bytes left; r is left after the list. */
static bp_status section_lengths(const char *path, bp_reader *r,
                                 bp_error *err) {
  uint32_t ns = 0, i;
  if (!bp_get32(r, &ns)) return TRUNCATED("sections");
  if (ns > BP_MAX_SECTIONS)
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (%lu sections, at most "
                   "%d)", path, (unsigned long)ns, BP_MAX_SECTIONS);
  for (i = 0; i < ns; i++) {
    unsigned len = 0, flags = 0;
    uint64_t n = 0;
    if (!bp_get8(r, &len) || bp_left(r) < len) return TRUNCATED("sections");
    r->p += len;
    if (!bp_get8(r, &flags) || !bp_get64(r, &n) || n > bp_left(r))
      return TRUNCATED("sections");
    r->p += n;
  }
  return BP_OK;
}

/* Whether the name of len bytes at p is `name`. */
static int named(const unsigned char *p, unsigned len, const char *name) {
  return strlen(name) == len && memcmp(p, name, len) == 0;
}

/* The sections of a file section_lengths() accepted, at r: names of 1 to
** 255 bytes without a zero byte, each once; those in known[0..nk) point
** into the file, a required one this build does not know refuses it. */
static bp_status sections(const char *path, bp_reader *r, bp_section *known,
                          size_t nk, bp_error *err) {
  const unsigned char *name[BP_MAX_SECTIONS];
  unsigned nlen[BP_MAX_SECTIONS];
  uint32_t ns = 0, i, j;
  size_t k;
  bp_get32(r, &ns);
  for (i = 0; i < ns; i++) {
    unsigned flags = 0;
    uint64_t n = 0;
    bp_get8(r, &nlen[i]);
    name[i] = r->p;
    r->p += nlen[i];
    bp_get8(r, &flags);
    bp_get64(r, &n);
    if (nlen[i] == 0 || memchr(name[i], 0, nlen[i]) != NULL)
      return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (section %lu has no "
                     "name, or a zero byte in it)", path, (unsigned long)i + 1);
    for (j = 0; j < i; j++)
      if (nlen[j] == nlen[i] && memcmp(name[j], name[i], nlen[i]) == 0)
        return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (section '%.*s' "
                       "twice)", path, (int)nlen[i], (const char *)name[i]);
    for (k = 0; k < nk && !named(name[i], nlen[i], known[k].name); k++) {}
    if (k < nk) {
      known[k].data = r->p;
      known[k].len = (size_t)n;
    } else if (flags & 1) {
      return bp_fail(err, BP_EFORMAT, "'%s' has a section '%.*s' that this "
                     "build does not know (written by a newer backprop?)",
                     path, (int)nlen[i], (const char *)name[i]);
    }
    r->p += n;
  }
  return BP_OK;
}

/* Everything that can be checked without allocating, in this order:
** the lengths (each record's, the weights' and each section's against
** the bytes left), the checksum, so that damage is reported as such, then
** each record and the parameter count against the topology, and the
** sections (the known ones into known[]). */
static bp_status check(const char *path, const unsigned char *buf,
                       size_t size, bp_section *known, size_t nk,
                       bp_error *err) {
  bp_reader r;
  const unsigned char *list = NULL;       /* the sections, version 3 */
  uint32_t version, nl, i, len = 0, crc = 0;
  uint64_t nf = 0, want = 0;
  bp_status st;
  r.p = buf;
  r.end = buf + size;
  st = header(path, &r, &version, &nl, err);
  if (st != BP_OK) return st;
  for (i = 0; i < nl; i++) {
    if (bp_left(&r) < 8) return TRUNCATED("layers");
    r.p += 4;
    bp_get32(&r, &len);
    if (len > bp_left(&r)) return TRUNCATED("layers");
    r.p += len;
  }
  if (!bp_get64(&r, &want)) return TRUNCATED("parameter count");
  if (want > bp_left(&r) / 4) return TRUNCATED("weights");
  r.p += 4 * want;
  if (version >= 3) {
    list = r.p;
    st = section_lengths(path, &r, err);
    if (st != BP_OK) return st;
  }
  if (bp_left(&r) < 4) return TRUNCATED(version >= 3 ? "checksum" : "weights");
  if (bp_left(&r) > 4)
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (trailing bytes)", path);
  bp_get32(&r, &crc);
  if (crc != bp_crc32(0, buf, size - 4))
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (checksum mismatch)",
                   path);
  r.p = buf + 16;
  for (i = 0; i < nl; i++) {
    bp_layer l;
    const unsigned char *state;
    int k;
    st = record(path, version, &r, i, &l, &state, err);
    if (st != BP_OK) return st;
    for (k = 0; k < l.nparams; k++) nf += l.p[k].numel;
  }
  if (want != nf)
    return bp_fail(err, BP_EFORMAT, "'%s' is corrupt (%llu parameters for a "
                   "topology of %llu)", path, (unsigned long long)want,
                   (unsigned long long)nf);
  if (list == NULL) return BP_OK;
  r.p = list;
  return sections(path, &r, known, nk, err);
}

/* A file that check() accepted. */
static bp_status build(bp_net *net, const char *path,
                       const unsigned char *buf, size_t size, bp_error *err) {
  bp_reader r, sr;
  bp_error why;
  uint32_t version, nl, i;
  bp_layer *layers;
  const unsigned char **state;    /* where each layer's state starts */
  bp_status st = BP_OK;
  size_t j;
  int k;
  r.p = buf;
  r.end = buf + size;
  header(path, &r, &version, &nl, err);
  layers = bp_calloc(nl, sizeof *layers);
  state = bp_calloc(nl, sizeof *state);
  if (layers == NULL || state == NULL) st = bp_fail(err, BP_ENOMEM,
                                                     "out of memory");
  for (i = 0; st == BP_OK && i < nl; i++)
    st = record(path, version, &r, i, &layers[i], &state[i], err);
  if (st == BP_OK) {           /* fails on spans that do not nest */
    bp_status ns = bp_net_init(net, layers, nl, &why);
    if (ns == BP_ENOMEM) st = bp_fail(err, ns, "%s", why.msg);
    else if (ns != BP_OK)
      st = bp_fail(err, BP_EFORMAT, "'%s' is corrupt (%s)", path, why.msg);
  }
  free(layers);
  if (st != BP_OK) {
    free(state);
    return st;
  }
  for (i = 0; i < nl; i++) {
    sr.p = state[i];
    sr.end = buf + size;
    for (j = 0; j < net->layers[i].nstate; j++)
      bp_getf(&sr, &net->layers[i].state[j]);
  }
  free(state);
  r.p += 8;                       /* the parameter count, checked */
  for (i = 0; i < net->nlayers; i++)
    for (k = 0; k < net->layers[i].nparams; k++)
      for (j = 0; j < net->layers[i].p[k].numel; j++)
        bp_getf(&r, &net->layers[i].p[k].data[j]);
  return BP_OK;
}

bp_status bp_net_load_sections(bp_net *net, const char *path,
                               bp_section *known, size_t nk,
                               unsigned char **file, bp_error *err) {
  unsigned char *buf = NULL;
  size_t size = 0, k;
  bp_status st;
  for (k = 0; k < nk; k++) {
    known[k].data = NULL;
    known[k].len = 0;
  }
  st = bp_file_read(path, &buf, &size, err);
  if (st != BP_OK) return st;
  st = check(path, buf, size, known, nk, err);
  if (st == BP_OK) st = build(net, path, buf, size, err);
  if (st == BP_OK && file != NULL) {
    *file = buf;
    return BP_OK;
  }
  for (k = 0; k < nk; k++) known[k].data = NULL;
  free(buf);
  return st;
}

bp_status bp_net_load(bp_net *net, const char *path, bp_error *err) {
  return bp_net_load_sections(net, path, NULL, 0, NULL, err);
}
