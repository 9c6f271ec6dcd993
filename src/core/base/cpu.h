/*
** cpu.h: which SIMD instruction set the kernels use.
** The library is built with plain flags (no -march): the fast kernels are
** compiled with per-function target attributes and chosen at run time, so
** one binary runs fast on a new CPU and never faults on an old one.
*/
#ifndef BP_CPU_H
#define BP_CPU_H

#include "base/status.h"

typedef enum {
  BP_ISA_PORTABLE = 0,   /* plain C, any CPU */
  BP_ISA_AVX2 = 1,       /* AVX2 + FMA (x86-64 since Haswell / Zen) */
  BP_ISA_AVX512 = 2      /* AVX-512 F, BW, DQ, VL */
} bp_isa;

#define BP_ISA_COUNT 3

const char *bp_isa_name(bp_isa isa);
/* "portable", "avx2", "avx512" -> isa; 0 if the name is unknown. */
int bp_isa_parse(const char *name, bp_isa *isa);
/* Whether this CPU (and this build) can run isa. */
int bp_cpu_has(bp_isa isa);

/* The ISA the kernels use. On first use: the best one the CPU has, or the
** one named by the environment variable BACKPROP_ISA (read once; an
** unknown or unsupported name falls back to the best). */
bp_isa bp_isa_active(void);
/* Switch every kernel to isa (tests and benchmarks); *prev gets the old one.
** Fails, naming the ISA, if the CPU lacks it. */
bp_status bp_isa_set(bp_isa isa, bp_isa *prev, bp_error *err);

/* The statement name_avx512 args, name_avx2 args or name_portable args, by
** the active ISA: the dispatch of kernels built in three versions (the
** SIMD ones exist where BP_ISA_X86 is defined). */
#if defined(__GNUC__) && defined(__x86_64__)
#define BP_ISA_X86 1
#define BP_ISA_CALL(name, args)                           \
  switch (bp_isa_active()) {                              \
  case BP_ISA_AVX512: name##_avx512 args; break;          \
  case BP_ISA_AVX2: name##_avx2 args; break;              \
  default: name##_portable args; break;                   \
  }
#else
#define BP_ISA_CALL(name, args) name##_portable args;
#endif

#endif
