/* status.c: error messages for the core (see status.h). */
#include <stdarg.h>
#include <stdio.h>

#include "base/status.h"

bp_status bp_fail(bp_error *err, bp_status code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
