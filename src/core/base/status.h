/*
** status.h: how the core reports failure.
** Every fallible core function returns a bp_status and, on failure, writes a
** one-line message into a bp_error the caller owns. The core never prints,
** exits or asserts on user input; the binding turns the message into a Lua
** error after it has released what it allocated.
*/
#ifndef BP_STATUS_H
#define BP_STATUS_H

typedef enum {
  BP_OK = 0,
  BP_ENOMEM,    /* an allocation failed */
  BP_EINVAL,    /* an argument is out of range or shapes disagree */
  BP_EIO,       /* a file could not be opened, read or written */
  BP_EFORMAT    /* a file is not a backprop model, or is damaged */
} bp_status;

typedef struct bp_error {
  char msg[256];
} bp_error;

/* Formats a message into err (if not NULL) and returns code, so callers can
** write `return bp_fail(err, BP_EINVAL, "...", ...);`. */
bp_status bp_fail(bp_error *err, bp_status code, const char *fmt, ...);

#endif
