/*
** image.h: the loops of the image layers (nn/conv.c, nn/norm.c,
** nn/pool2d.c) over N x C x H x W batches: im2col and its adjoint, 2 x 2
** max pooling, and the per-channel sums and passes of batch
** normalization. SIMD (AVX-512 or AVX2, chosen at run time like the gemm
** kernels, cpu.h) with a portable version.
**
** Every result is the same bits on every ISA: copies, maxima and
** elementwise maths are lane by lane (no fused multiply-add), and the
** sums are kept in 16 double-precision lanes, lane k % 16 taking the k-th
** value of each plane, folded in a fixed tree at the end; the portable
** loops keep the same 16 lanes in an array.
*/
#ifndef BP_IMAGE_H
#define BP_IMAGE_H

#include <stddef.h>

/* A window of kh x kw with stride sh, sw and zero padding ph, pw over c
** planes of h x w, giving ho x wo outputs per plane. */
typedef struct bp_img_win {
  size_t c, h, w, kh, kw, sh, sw, ph, pw, ho, wo;
} bp_img_win;

/* col[((ch kh + i) kw + j) ldc + oy wo + ox] = the sample x at plane ch,
** row oy sh + i - ph, column ox sw + j - pw (0 outside the plane). */
void bp_im2col(const bp_img_win *g, const float *x, float *col, size_t ldc);
/* Its adjoint: dx = 0, then dx[...] += col[...] for the same pairs, in
** the order of the rows of col. The entries of col for positions outside
** the plane may be set to 0 (col is scratch). */
void bp_col2im(const bp_img_win *g, float *col, size_t ldc, float *dx);

/* 2 x 2 max pooling with stride 2 over planes of h x w (h, w >= 2): y the
** maximum of each window, arg the position of its first maximum in the
** plane (as a float): the window read row by row, a value taken when it
** is greater than the best so far (so NaN never is; a window of NaN gives
** -inf at its first position). */
void bp_max2x2(size_t planes, size_t h, size_t w, const float *x, float *y,
               float *arg);
/* Its gradient: dx = 0 + dy at each window's arg, 0 elsewhere (the whole
** plane is written). */
void bp_max2x2_grad(size_t planes, size_t h, size_t w, const float *arg,
                    const float *dy, float *dx);

/* Sums over n planes of len floats, plane i at x + i stride, in double:
** s[0] = sum of d and s[1] = sum of d^2, d = x - c (c: a shift that
** keeps the variance sum - sum^2 / count from cancelling). */
void bp_img_moments(size_t n, size_t len, size_t stride, const float *x,
                    float c, double s[2]);
/* The same planes of x and dy: s[0] = sum of dy, s[1] = sum of
** dy (x - c), in double. */
void bp_img_moments2(size_t n, size_t len, size_t stride, const float *x,
                     const float *dy, float c, double s[2]);
/* y = x a + b over the planes (y laid out as x). */
void bp_img_affine(size_t n, size_t len, size_t stride, const float *x,
                   float a, float b, float *y);
/* Batch normalization's input gradient over the planes:
** dx = k ((dy - a) - ((x - m) s) b). */
void bp_img_bn_grad(size_t n, size_t len, size_t stride, const float *x,
                    const float *dy, float m, float s, float a, float b,
                    float k, float *dx);

#endif
