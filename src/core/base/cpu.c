/*
** cpu.c: instruction-set detection and the active-ISA switch.
**
** The active ISA is the core's one piece of process-wide mutable state, on
** purpose: bp_gemm keeps its context-free signature, and reading the
** environment on every call would cost more than a small product. It only
** picks between kernels that compute the same function (results differ by
** float rounding between ISAs, never by thread or call), it is written
** once at first use, and later only by bp_isa_set, which tests and
** benchmarks call. Loads and stores are atomic, so a race is harmless.
*/
#include <stdlib.h>
#include <string.h>

#include "base/atomic.h"
#include "base/cpu.h"

static int active = -1;   /* -1: not chosen yet */

static const char *const names[BP_ISA_COUNT] = {"portable", "avx2", "avx512"};

const char *bp_isa_name(bp_isa isa) {
  return (unsigned)isa < BP_ISA_COUNT ? names[isa] : "unknown";
}

int bp_isa_parse(const char *name, bp_isa *isa) {
  int i;
  for (i = 0; i < BP_ISA_COUNT; i++)
    if (strcmp(name, names[i]) == 0) {
      *isa = (bp_isa)i;
      return 1;
    }
  return 0;
}

int bp_cpu_has(bp_isa isa) {
  switch (isa) {
  case BP_ISA_PORTABLE: return 1;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  /* __builtin_cpu_supports also checks that the OS saves the wide
  ** registers (XCR0), so a CPU with AVX-512 under an OS without it is
  ** reported as lacking it. */
  case BP_ISA_AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case BP_ISA_AVX512:
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  default: return 0;
  }
}

static bp_isa choose(void) {
  const char *env = getenv("BACKPROP_ISA");
  bp_isa isa;
  int i;
  if (env != NULL && bp_isa_parse(env, &isa) && bp_cpu_has(isa)) return isa;
  for (i = BP_ISA_COUNT - 1; i > 0; i--)
    if (bp_cpu_has((bp_isa)i)) return (bp_isa)i;
  return BP_ISA_PORTABLE;
}

bp_isa bp_isa_active(void) {
  int a = BP_LOAD_RELAXED(&active);
  if (a < 0) {
    a = (int)choose();
    BP_STORE_RELAXED(&active, a);
  }
  return (bp_isa)a;
}

bp_status bp_isa_set(bp_isa isa, bp_isa *prev, bp_error *err) {
  bp_isa old = bp_isa_active();
  if (!bp_cpu_has(isa))
    return bp_fail(err, BP_EINVAL, "this CPU cannot run the %s kernels",
                   bp_isa_name(isa));
  BP_STORE_RELAXED(&active, (int)isa);
  if (prev != NULL) *prev = old;
  return BP_OK;
}
