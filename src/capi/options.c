/*
** options.c: reading the settings strings of the C API (backprop.h):
** entries separated by spaces, each name=value or a bare value, a value
** being a number, a word or a list of numbers separated by commas. What a
** name means, and which values it takes, is for the caller: the schemas
** of the core (layer settings, optimizer fields, loss options).
*/
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capi.h"

int bp_capi_next(const char **s, capi_entry *e, bp_error *err) {
  const char *p = *s, *eq, *end;
  if (p == NULL) return 0;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '\0') {
    *s = p;
    return 0;
  }
  for (end = p; *end != '\0' && !isspace((unsigned char)*end); end++) {}
  *s = end;
  eq = memchr(p, '=', (size_t)(end - p));
  e->name[0] = '\0';
  if (eq != NULL) {
    size_t n = (size_t)(eq - p);
    if (n == 0 || n >= sizeof e->name || eq + 1 == end) {
      bp_fail(err, BP_EINVAL, "expected name=value, got \"%.*s\" (no spaces "
              "around =)", (int)(end - p), p);
      return -1;
    }
    memcpy(e->name, p, n);
    e->name[n] = '\0';
    p = eq + 1;
  }
  e->value = p;
  e->len = (size_t)(end - p);
  return 1;
}

int bp_capi_is(const capi_entry *e, const char *word) {
  return strlen(word) == e->len && memcmp(e->value, word, e->len) == 0;
}

/* The number at s (len bytes): strtod, which reads the locale's decimal
** point; a host that set another locale still writes "0.5", so a '.' is
** tried as that point too (as Lua's lua_str2number does). */
static int number(const char *s, size_t len, double *v) {
  char buf[64], *end;
  const char *point;
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  *v = strtod(buf, &end);
  if (*end == '.' && (point = localeconv()->decimal_point)[0] != '.') {
    *end = point[0];
    *v = strtod(buf, &end);
  }
  return *end == '\0' && isfinite(*v);
}

bp_status bp_capi_list(const capi_entry *e, double *v, size_t max, size_t *n,
                       bp_error *err) {
  const char *p = e->value, *stop = e->value + e->len;
  *n = 0;
  for (;;) {
    const char *comma = memchr(p, ',', (size_t)(stop - p));
    const char *end = comma != NULL ? comma : stop;
    if (*n == max)
      return bp_fail(err, BP_EINVAL, "%s takes at most %lu value%s, got "
                     "\"%.*s\"", e->name, (unsigned long)max,
                     max == 1 ? "" : "s", (int)e->len, e->value);
    if (!number(p, (size_t)(end - p), &v[*n]))
      return bp_fail(err, BP_EINVAL, "%s must be %s, got \"%.*s\"", e->name,
                     max == 1 ? "a finite number" : "finite numbers",
                     (int)e->len, e->value);
    ++*n;
    if (comma == NULL) return BP_OK;
    p = comma + 1;
  }
}

bp_status bp_capi_number(const capi_entry *e, double *v, bp_error *err) {
  size_t n;
  return bp_capi_list(e, v, 1, &n, err);
}

bp_status bp_capi_bool(const capi_entry *e, int *v, bp_error *err) {
  if (bp_capi_is(e, "true") || bp_capi_is(e, "false")) {
    *v = bp_capi_is(e, "true");
    return BP_OK;
  }
  return bp_fail(err, BP_EINVAL, "%s must be true or false, got \"%.*s\"",
                 e->name, (int)e->len, e->value);
}
