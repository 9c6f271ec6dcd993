/* image_avx2.c: the AVX2 loops of image.h (image_simd.h). */
#include "kernels/image_kern.h"

#ifdef BP_ISA_X86   /* cpu.h: elsewhere only the portable loops run */
#include <immintrin.h>

#define VW 8
#define TARGET __attribute__((target("avx2,fma")))
#define NAME(name) name##_avx2
#include "kernels/image_simd.h"
#else
typedef int bp_image_avx2_none;   /* ISO C: no empty file */
#endif
