/* image_kern.h: the per-ISA loops behind image.h (internal). */
#ifndef BP_IMAGE_KERN_H
#define BP_IMAGE_KERN_H

#include "base/cpu.h"
#include "kernels/image.h"

#define BP_IMAGE_DECL(isa)                                                  \
  void bp_im2col_##isa(const bp_img_win *g, const float *x, float *col,     \
                       size_t ldc);                                         \
  void bp_col2im_##isa(const bp_img_win *g, float *col, size_t ldc,   \
                       float *dx);                                          \
  void bp_max2x2_##isa(size_t planes, size_t h, size_t w, const float *x,   \
                       float *y, float *arg);                               \
  void bp_max2x2_grad_##isa(size_t planes, size_t h, size_t w,              \
                            const float *arg, const float *dy, float *dx);  \
  void bp_img_moments_##isa(size_t n, size_t len, size_t stride,            \
                            const float *x, float c, double s[2]);          \
  void bp_img_moments2_##isa(size_t n, size_t len, size_t stride,           \
                             const float *x, const float *dy, float c,      \
                             double s[2]);                                  \
  void bp_img_affine_##isa(size_t n, size_t len, size_t stride,             \
                           const float *x, float a, float b, float *y);     \
  void bp_img_bn_grad_##isa(size_t n, size_t len, size_t stride,            \
                            const float *x, const float *dy, float m,       \
                            float s, float a, float b, float k, float *dx);

BP_IMAGE_DECL(portable)
BP_IMAGE_DECL(avx2)
BP_IMAGE_DECL(avx512)

/* The 16 lanes of a sum folded: halves added, then quarters, ... */
static inline double bp_img_fold(const double *t) {
  double u[8];
  int i;
  for (i = 0; i < 8; i++) u[i] = t[i] + t[i + 8];
  for (i = 0; i < 4; i++) u[i] = u[i] + u[i + 4];
  for (i = 0; i < 2; i++) u[i] = u[i] + u[i + 2];
  return u[0] + u[1];
}

#endif
