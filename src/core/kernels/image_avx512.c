/* image_avx512.c: the AVX-512 loops of image.h (image_simd.h). */
#include "kernels/image_kern.h"

#ifdef BP_ISA_X86   /* cpu.h: elsewhere only the portable loops run */
#include <immintrin.h>

#define VW 16
#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define NAME(name) name##_avx512
#include "kernels/image_simd.h"
#else
typedef int bp_image_avx512_none;   /* ISO C: no empty file */
#endif
