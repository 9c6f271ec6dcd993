/* image.c: image.h's choice of loops, by the active ISA (cpu.h). */
#include "kernels/image_kern.h"

void bp_im2col(const bp_img_win *g, const float *x, float *col, size_t ldc) {
  BP_ISA_CALL(bp_im2col, (g, x, col, ldc))
}

void bp_col2im(const bp_img_win *g, float *col, size_t ldc, float *dx) {
  BP_ISA_CALL(bp_col2im, (g, col, ldc, dx))
}

void bp_max2x2(size_t planes, size_t h, size_t w, const float *x, float *y,
               float *arg) {
  BP_ISA_CALL(bp_max2x2, (planes, h, w, x, y, arg))
}

void bp_max2x2_grad(size_t planes, size_t h, size_t w, const float *arg,
                    const float *dy, float *dx) {
  BP_ISA_CALL(bp_max2x2_grad, (planes, h, w, arg, dy, dx))
}

void bp_img_moments(size_t n, size_t len, size_t stride, const float *x,
                    float c, double s[2]) {
  BP_ISA_CALL(bp_img_moments, (n, len, stride, x, c, s))
}

void bp_img_moments2(size_t n, size_t len, size_t stride, const float *x,
                     const float *dy, float c, double s[2]) {
  BP_ISA_CALL(bp_img_moments2, (n, len, stride, x, dy, c, s))
}

void bp_img_affine(size_t n, size_t len, size_t stride, const float *x,
                   float a, float b, float *y) {
  BP_ISA_CALL(bp_img_affine, (n, len, stride, x, a, b, y))
}

void bp_img_bn_grad(size_t n, size_t len, size_t stride, const float *x,
                    const float *dy, float m, float s, float a, float b,
                    float k, float *dx) {
  BP_ISA_CALL(bp_img_bn_grad, (n, len, stride, x, dy, m, s, a, b, k, dx))
}
