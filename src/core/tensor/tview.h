/*
** tview.h: views without copies (narrow, select, broadcast) and the strided
** elementwise kernels that read them. Views are pure descriptor arithmetic:
** they point into the storage of their base and never own it (the caller
** keeps the owner alive). Indices here are 0-based and checked by the
** caller; the kernels never fail.
*/
#ifndef BP_TVIEW_H
#define BP_TVIEW_H

#include <stddef.h>

#include "tensor/tensor.h"

/* v = elements start..start+len-1 of t along dimension d. */
void bp_narrow(const bp_tensor *t, int d, size_t start, size_t len,
               bp_tensor *v);
/* v = t at index i of dimension d, that dimension removed (t->ndim >= 2). */
void bp_select(const bp_tensor *t, int d, size_t i, bp_tensor *v);

/* numpy broadcasting: align the shapes on the right; each pair of sizes
** must be equal or contain a 1. Returns 0 if they cannot be broadcast,
** else 1 with the result shape in (ny, sy). */
int bp_broadcast_shape(int na, const size_t *sa, int nb, const size_t *sb,
                       int *ny, size_t *sy);
/* v = x seen with shape (ny, sy), which x's shape broadcasts to: stride 0
** along the dimensions x lacks or has as 1. */
void bp_expand(const bp_tensor *x, int ny, const size_t *sy, bp_tensor *v);
/* v = the float at s, seen as a tensor of the given shape (strides 0). */
void bp_scalar_view(float *s, int ndim, const size_t *shape, bp_tensor *v);

/* Highest offset t can reach, plus one: the span of storage it covers. */
size_t bp_extent(const bp_tensor *t);
/* Whether the storage spans of a and b intersect (same element type). */
int bp_overlap(const bp_tensor *a, const bp_tensor *b);

/* Float to uint8: truncated toward zero after clamping to 0..255; NaN
** gives 0. (uint8 to float is exact.) */
unsigned char bp_to_u8(float v);

/* y = x elementwise, converting the element type when they differ. Same
** shape, any strides; x must not partly overlap y (see bp_overlap). */
void bp_copy(bp_tensor *y, const bp_tensor *x);
/* Every element of y = v (converted with bp_to_u8 for uint8). */
void bp_fill(bp_tensor *y, float v);

typedef enum {
  BP_ADD, BP_SUB, BP_MUL, BP_DIV, BP_POW,      /* float32 result */
  BP_GT, BP_LT, BP_GE, BP_LE, BP_EQ, BP_NE     /* uint8 0/1 result */
} bp_binop;

/* y = a op b elementwise. a and b are float32 with y's shape (expand them
** first to broadcast); y is float32, or uint8 for the comparisons. */
void bp_binary(bp_binop op, const bp_tensor *a, const bp_tensor *b,
               bp_tensor *y);

typedef enum { BP_EXP, BP_LOG, BP_SQRT, BP_ABS, BP_NEG, BP_CLAMP } bp_unop;

/* y = op(x) elementwise over float32 tensors of one shape. BP_CLAMP
** limits to [lo, hi] (NaN stays NaN); lo and hi are unused otherwise. */
void bp_unary(bp_unop op, const bp_tensor *x, float lo, float hi,
              bp_tensor *y);

#endif
