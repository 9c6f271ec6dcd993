/* update_avx2.c: the AVX2 loops of update.h (update_rules.h): 8 lanes. */
#include "kernels/update_kern.h"

#ifdef BP_ISA_X86   /* cpu.h: elsewhere only the portable loops run */
#include <immintrin.h>

#define VW 8
#define TARGET __attribute__((target("avx2")))
#define NAME(name) name##_avx2
#include "kernels/update_rules.h"
#else
typedef int bp_update_avx2_none;   /* ISO C: no empty file */
#endif
