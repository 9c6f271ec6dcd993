/* update.c: update.h's choice of loops, by the active ISA (cpu.h). */
#include "base/cpu.h"
#include "kernels/update_kern.h"

#ifdef BP_UPDATE_SIMD
#define PICK(name, args)                                  \
  switch (bp_isa_active()) {                              \
  case BP_ISA_AVX512: name##_avx512 args; return;         \
  case BP_ISA_AVX2: name##_avx2 args; return;             \
  default: name##_portable args; return;                  \
  }
#else
#define PICK(name, args) name##_portable args;
#endif

void bp_upd_adam(size_t n, const bp_upd_adam_k *k, float *p, const float *g,
                 float *m, float *v, float *vmax) {
  PICK(bp_upd_adam, (n, k, p, g, m, v, vmax))
}

void bp_upd_rmsprop(size_t n, const bp_upd_rmsprop_k *k, float *p,
                    const float *g, float *v, float *mean, float *buf) {
  PICK(bp_upd_rmsprop, (n, k, p, g, v, mean, buf))
}

void bp_upd_adagrad(size_t n, float clr, float wd, float eps, float *p,
                    const float *g, float *sum) {
  PICK(bp_upd_adagrad, (n, clr, wd, eps, p, g, sum))
}

void bp_upd_rprop(size_t n, const bp_upd_rprop_k *k, float *p,
                  const float *g, float *prev, float *step) {
  PICK(bp_upd_rprop, (n, k, p, g, prev, step))
}
