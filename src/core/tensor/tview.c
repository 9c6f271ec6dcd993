/* tview.c: views and strided elementwise kernels (see tview.h). */
#include <math.h>
#include <string.h>

#include "tensor/tview.h"
#include "tensor/walk.h"

/* Move t's data pointer by off elements, whatever its type. */
static void shift(bp_tensor *v, size_t off) {
  if (v->data != NULL) v->data += off;
  if (v->u8 != NULL) v->u8 += off;
}

void bp_narrow(const bp_tensor *t, int d, size_t start, size_t len,
               bp_tensor *v) {
  *v = *t;
  v->owns = 0;
  shift(v, start * t->stride[d]);
  v->shape[d] = len;
  v->numel = t->numel / t->shape[d] * len;
}

void bp_select(const bp_tensor *t, int d, size_t i, bp_tensor *v) {
  int k;
  *v = *t;
  v->owns = 0;
  shift(v, i * t->stride[d]);
  for (k = d; k + 1 < t->ndim; k++) {
    v->shape[k] = t->shape[k + 1];
    v->stride[k] = t->stride[k + 1];
  }
  v->ndim = t->ndim - 1;
  v->numel = t->numel / t->shape[d];
}

int bp_broadcast_shape(int na, const size_t *sa, int nb, const size_t *sb,
                       int *ny, size_t *sy) {
  int n = na > nb ? na : nb, i;
  for (i = 0; i < n; i++) {       /* i counts from the right */
    size_t a = i < na ? sa[na - 1 - i] : 1, b = i < nb ? sb[nb - 1 - i] : 1;
    if (a != b && a != 1 && b != 1) return 0;
    sy[n - 1 - i] = a == 1 ? b : a;
  }
  *ny = n;
  return 1;
}

void bp_expand(const bp_tensor *x, int ny, const size_t *sy, bp_tensor *v) {
  int lead = ny - x->ndim, i;
  *v = *x;
  v->owns = 0;
  v->ndim = ny;
  v->numel = 1;
  for (i = 0; i < ny; i++) {
    int k = i - lead;               /* x's dimension, if it has one */
    v->shape[i] = sy[i];
    v->stride[i] = k >= 0 && x->shape[k] == sy[i] ? x->stride[k] : 0;
    v->numel *= sy[i];
  }
}

void bp_scalar_view(float *s, int ndim, const size_t *shape, bp_tensor *v) {
  bp_tensor_view(v, s, ndim, shape);
  memset(v->stride, 0, sizeof v->stride);
}

size_t bp_extent(const bp_tensor *t) {
  size_t e = 1;
  int i;
  for (i = 0; i < t->ndim; i++) e += (t->shape[i] - 1) * t->stride[i];
  return e;
}

int bp_overlap(const bp_tensor *a, const bp_tensor *b) {
  /* A storage holds one element type, so mixed types never share one. */
  if (a->dtype != b->dtype) return 0;
  if (a->dtype == BP_UINT8)
    return a->u8 < b->u8 + bp_extent(b) && b->u8 < a->u8 + bp_extent(a);
  return a->data < b->data + bp_extent(b) && b->data < a->data + bp_extent(a);
}

unsigned char bp_to_u8(float v) {
  if (v >= 255.0f) return 255;
  return v > 0.0f ? (unsigned char)v : 0;   /* NaN compares false: 0 */
}

void bp_copy(bp_tensor *y, const bp_tensor *x) {
  const size_t *st[2];
  bp_walk w;
  st[0] = y->stride;
  st[1] = x->stride;
  bp_walk_init(&w, y->ndim, y->shape, 2, st);
  do {
    size_t i, n = w.n, sy = w.inner[0], sx = w.inner[1];
    if (y->dtype == BP_FLOAT32 && x->dtype == BP_FLOAT32) {
      float *py = y->data + w.off[0];
      const float *px = x->data + w.off[1];
      if (sy == 1 && sx == 1) memcpy(py, px, n * sizeof *py);
      else for (i = 0; i < n; i++) py[i * sy] = px[i * sx];
    } else if (y->dtype == BP_FLOAT32) {
      float *py = y->data + w.off[0];
      const unsigned char *px = x->u8 + w.off[1];
      for (i = 0; i < n; i++) py[i * sy] = (float)px[i * sx];
    } else if (x->dtype == BP_FLOAT32) {
      unsigned char *py = y->u8 + w.off[0];
      const float *px = x->data + w.off[1];
      for (i = 0; i < n; i++) py[i * sy] = bp_to_u8(px[i * sx]);
    } else {
      unsigned char *py = y->u8 + w.off[0];
      const unsigned char *px = x->u8 + w.off[1];
      if (sy == 1 && sx == 1) memcpy(py, px, n);
      else for (i = 0; i < n; i++) py[i * sy] = px[i * sx];
    }
  } while (bp_walk_next(&w));
}

void bp_fill(bp_tensor *y, float v) {
  const size_t *st[1];
  unsigned char b = bp_to_u8(v);
  bp_walk w;
  st[0] = y->stride;
  bp_walk_init(&w, y->ndim, y->shape, 1, st);
  do {
    size_t i, n = w.n, s = w.inner[0];
    if (y->dtype == BP_FLOAT32)
      for (i = 0; i < n; i++) y->data[w.off[0] + i * s] = v;
    else
      for (i = 0; i < n; i++) y->u8[w.off[0] + i * s] = b;
  } while (bp_walk_next(&w));
}

/* One inner run of a binary op: the switch stays outside the loops. */
#define RUN(expr)                                  \
  for (i = 0; i < n; i++) {                        \
    float u = pa[i * sa], v = pb[i * sb];          \
    py[i * sy] = (expr);                           \
  }
#define TEST(expr)                                 \
  for (i = 0; i < n; i++) {                        \
    float u = pa[i * sa], v = pb[i * sb];          \
    pm[i * sy] = (unsigned char)(expr);            \
  }

void bp_binary(bp_binop op, const bp_tensor *a, const bp_tensor *b,
               bp_tensor *y) {
  const size_t *st[3];
  bp_walk w;
  st[0] = y->stride;
  st[1] = a->stride;
  st[2] = b->stride;
  bp_walk_init(&w, y->ndim, y->shape, 3, st);
  do {
    size_t i, n = w.n, sy = w.inner[0], sa = w.inner[1], sb = w.inner[2];
    const float *pa = a->data + w.off[1], *pb = b->data + w.off[2];
    float *py = y->dtype == BP_FLOAT32 ? y->data + w.off[0] : NULL;
    unsigned char *pm = y->dtype == BP_UINT8 ? y->u8 + w.off[0] : NULL;
    switch (op) {
      case BP_ADD: RUN(u + v) break;
      case BP_SUB: RUN(u - v) break;
      case BP_MUL: RUN(u * v) break;
      case BP_DIV: RUN(u / v) break;
      case BP_POW: RUN(powf(u, v)) break;
      case BP_GT: TEST(u > v) break;
      case BP_LT: TEST(u < v) break;
      case BP_GE: TEST(u >= v) break;
      case BP_LE: TEST(u <= v) break;
      case BP_EQ: TEST(u == v) break;
      case BP_NE: TEST(u != v) break;
    }
  } while (bp_walk_next(&w));
}

#define MAP(expr)                                  \
  for (i = 0; i < n; i++) {                        \
    float u = px[i * sx];                          \
    py[i * sy] = (expr);                           \
  }

void bp_unary(bp_unop op, const bp_tensor *x, float lo, float hi,
              bp_tensor *y) {
  const size_t *st[2];
  bp_walk w;
  st[0] = y->stride;
  st[1] = x->stride;
  bp_walk_init(&w, y->ndim, y->shape, 2, st);
  do {
    size_t i, n = w.n, sy = w.inner[0], sx = w.inner[1];
    const float *px = x->data + w.off[1];
    float *py = y->data + w.off[0];
    switch (op) {
      case BP_EXP: MAP(expf(u)) break;
      case BP_LOG: MAP(logf(u)) break;
      case BP_SQRT: MAP(sqrtf(u)) break;
      case BP_ABS: MAP(fabsf(u)) break;
      case BP_NEG: MAP(-u) break;
      case BP_CLAMP: MAP(u < lo ? lo : u > hi ? hi : u) break;
    }
  } while (bp_walk_next(&w));
}
