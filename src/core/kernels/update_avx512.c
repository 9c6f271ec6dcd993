/* update_avx512.c: the AVX-512 loops of update.h (update_rules.h): 16
** lanes. */
#include "kernels/update_kern.h"

#ifdef BP_ISA_X86   /* cpu.h: elsewhere only the portable loops run */
#include <immintrin.h>

#define VW 16
#define TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx2")))
#define NAME(name) name##_avx512
#include "kernels/update_rules.h"
#else
typedef int bp_update_avx512_none;   /* ISO C: no empty file */
#endif
