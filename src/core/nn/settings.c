/*
** settings.c: a layer's settings through its class's schema (layer.h):
** defaults, the one place they are checked, and their description. Nothing
** here knows any layer.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

const bp_setting *bp_setting_find(const bp_layer_class *c, const char *name) {
  int k;
  for (k = 0; k < c->nsettings; k++)
    if (strcmp(c->settings[k].name, name) == 0) return &c->settings[k];
  return NULL;
}

void *bp_setting_ptr(bp_layer *l, const bp_setting *s) {
  return l->set.bytes + s->off;
}

const void *bp_setting_cptr(const bp_layer *l, const bp_setting *s) {
  return l->set.bytes + s->off;
}

bp_status bp_layer_start(bp_layer *l, bp_kind kind, bp_error *err) {
  memset(l, 0, sizeof *l);
  if (bp_layer_class_of(kind) == NULL)
    return bp_fail(err, BP_EINVAL, "unknown layer kind %d", (int)kind);
  l->kind = kind;
  return BP_OK;
}

bp_status bp_layer_defaults(bp_layer *l, unsigned long given, bp_error *err) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  int k;
  for (k = 0; k < c->nsettings; k++) {
    const bp_setting *s = &c->settings[k];
    void *p = bp_setting_ptr(l, s);
    if (given & (1ul << k)) continue;
    if (s->required)
      return bp_fail(err, BP_EINVAL, "%s is missing", s->name);
    if (s->same_as != NULL) {
      memcpy(p, bp_setting_cptr(l, bp_setting_find(c, s->same_as)),
             s->type == BP_FLOAT ? sizeof(float)
                                 : (s->type == BP_PAIR ? 2 : 1) * sizeof(size_t));
    } else if (s->type == BP_FLOAT) {
      *(float *)p = (float)s->def;
    } else {
      size_t *z = p;
      z[0] = (size_t)s->def;
      if (s->type == BP_PAIR) z[1] = z[0];
    }
  }
  return BP_OK;
}

/* "must be between 0 and 1", "must be positive", ... for a float. */
static bp_status float_fail(const bp_setting *s, double v, bp_error *err) {
  char what[96];
  unsigned b = s->bounds;
  if ((b & BP_MIN) && (b & BP_MAX))
    snprintf(what, sizeof what, "between %g and %g", s->min, s->max);
  else if ((b & BP_ABOVE) && (b & BP_MAX))
    snprintf(what, sizeof what, "greater than %g and at most %g", s->min,
             s->max);
  else if ((b & BP_ABOVE) && s->min == 0)
    snprintf(what, sizeof what, "positive");
  else if (b & BP_ABOVE)
    snprintf(what, sizeof what, "greater than %g", s->min);
  else if (b & BP_MIN)
    snprintf(what, sizeof what, "at least %g", s->min);
  else
    snprintf(what, sizeof what, "at most %g", s->max);
  return bp_fail(err, BP_EINVAL, "%s must be %s, got %g", s->name, what, v);
}

static bp_status check_float(const bp_setting *s, float f, bp_error *err) {
  double v = f;
  unsigned b = s->bounds;
  if (!isfinite(v))
    return bp_fail(err, BP_EINVAL, "%s must be a finite number, got %g",
                   s->name, v);
  if (((b & BP_MIN) && v < s->min) || ((b & BP_ABOVE) && v <= s->min) ||
      ((b & BP_MAX) && v > s->max))
    return float_fail(s, v, err);
  return BP_OK;
}

/* One size; `which` is 0 for a size or a square pair, else 1 or 2 (the
** message names kernel_size[2]). */
static bp_status check_size(const bp_setting *s, size_t v, int which,
                            bp_error *err) {
  char name[64];
  double max = (s->bounds & BP_MAX) && s->max < (double)BP_SIZE_LIMIT
                   ? s->max : (double)BP_SIZE_LIMIT;
  if (which) snprintf(name, sizeof name, "%s[%d]", s->name, which);
  else snprintf(name, sizeof name, "%s", s->name);
  if ((s->bounds & BP_MIN) && (double)v < s->min) {
    if (s->min == 1)
      return bp_fail(err, BP_EINVAL, "%s must be a positive integer, got %lu",
                     name, (unsigned long)v);
    return bp_fail(err, BP_EINVAL, "%s must be at least %g, got %lu", name,
                   s->min, (unsigned long)v);
  }
  if ((s->bounds & BP_ABOVE) && (double)v <= s->min)
    return bp_fail(err, BP_EINVAL, "%s must be greater than %g, got %lu",
                   name, s->min, (unsigned long)v);
  if ((double)v > max)
    return bp_fail(err, BP_EINVAL, "%s must be at most %.0f, got %lu", name,
                   max, (unsigned long)v);
  return BP_OK;
}

static bp_status check(const bp_layer *l, const bp_setting *s, bp_error *err) {
  const void *p = bp_setting_cptr(l, s);
  const size_t *z = p;
  bp_status st;
  switch (s->type) {
    case BP_FLOAT:
      return check_float(s, *(const float *)p, err);
    case BP_PAIR:
      if (z[0] == z[1]) return check_size(s, z[0], 0, err);
      st = check_size(s, z[0], 1, err);
      return st != BP_OK ? st : check_size(s, z[1], 2, err);
    default:
      return check_size(s, z[0], 0, err);
  }
}

bp_status bp_layer_init(bp_layer *l, bp_error *err) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  int k;
  if (c == NULL)
    return bp_fail(err, BP_EINVAL, "unknown layer kind %d", (int)l->kind);
  for (k = 0; k < c->nsettings; k++) {
    bp_status st = check(l, &c->settings[k], err);
    if (st != BP_OK) return st;
  }
  l->nparams = 0;
  l->nstate = 0;
  l->state = NULL;
  memset(l->p, 0, sizeof l->p);
  return c->describe != NULL ? c->describe(l, err) : BP_OK;
}

bp_status bp_layer_make(bp_layer *l, bp_kind kind, const double *v, int nv,
                        bp_error *err) {
  const bp_layer_class *c;
  bp_status st = bp_layer_start(l, kind, err);
  int k;
  if (st != BP_OK) return st;
  c = bp_layer_class_of(kind);
  if (nv > c->nsettings)
    return bp_fail(err, BP_EINVAL, "%s takes at most %d settings, got %d",
                   c->name, c->nsettings, nv);
  for (k = 0; k < nv; k++) {
    const bp_setting *s = &c->settings[k];
    void *p = bp_setting_ptr(l, s);
    if (s->type == BP_FLOAT) {
      *(float *)p = (float)v[k];
      continue;
    }
    if (!(v[k] >= 0 && v[k] <= (double)BP_SIZE_LIMIT && v[k] == floor(v[k])))
      return bp_fail(err, BP_EINVAL, "%s must be a non-negative integer, got "
                     "%g", s->name, v[k]);
    ((size_t *)p)[0] = (size_t)v[k];
    if (s->type == BP_PAIR) ((size_t *)p)[1] = (size_t)v[k];
  }
  st = bp_layer_defaults(l, (1ul << nv) - 1, err);
  return st != BP_OK ? st : bp_layer_init(l, err);
}

/* --- descriptions ----------------------------------------------------- */

/* Append s to buf (len bytes, *at used so far), cutting at the end. */
static void put(char *buf, size_t len, size_t *at, const char *s) {
  size_t n = strlen(s);
  if (*at + 1 >= len) return;
  if (n > len - 1 - *at) n = len - 1 - *at;
  memcpy(buf + *at, s, n);
  *at += n;
  buf[*at] = '\0';
}

/* A setting's value: "0.5", "3", or "3x2" for a pair that is not square. */
static void value(const bp_layer *l, const bp_setting *s, char *v, size_t n) {
  const void *p = bp_setting_cptr(l, s);
  const size_t *z = p;
  if (s->type == BP_FLOAT)
    snprintf(v, n, "%g", (double)*(const float *)p);
  else if (s->type == BP_PAIR && z[0] != z[1])
    snprintf(v, n, "%lux%lu", (unsigned long)z[0], (unsigned long)z[1]);
  else
    snprintf(v, n, "%lu", (unsigned long)z[0]);
}

void bp_layer_text(const bp_layer *l, char *buf, size_t len) {
  const bp_layer_class *c = bp_layer_class_of(l->kind);
  size_t at = 0;
  char v[64];
  int k;
  buf[0] = '\0';
  put(buf, len, &at, c->name);
  for (k = 0; k < c->nsettings; k++) {
    const bp_setting *s = &c->settings[k];
    if (s->label != NULL && strcmp(s->label, "->") == 0) {
      put(buf, len, &at, " -> ");
    } else {
      put(buf, len, &at, k == 0 ? "(" : ", ");
      if (s->label != NULL) {
        put(buf, len, &at, s->label);
        put(buf, len, &at, " ");
      }
    }
    value(l, s, v, sizeof v);
    put(buf, len, &at, v);
  }
  if (c->nsettings > 0) put(buf, len, &at, ")");
}
