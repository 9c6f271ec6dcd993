/* update.c: update.h's choice of loops, by the active ISA (cpu.h). */
#include "base/cpu.h"
#include "kernels/update_kern.h"

void bp_upd_adam(size_t n, const bp_upd_adam_k *k, float *p, const float *g,
                 float *m, float *v, float *vmax) {
  BP_ISA_CALL(bp_upd_adam, (n, k, p, g, m, v, vmax))
}

void bp_upd_rmsprop(size_t n, const bp_upd_rmsprop_k *k, float *p,
                    const float *g, float *v, float *mean, float *buf) {
  BP_ISA_CALL(bp_upd_rmsprop, (n, k, p, g, v, mean, buf))
}

void bp_upd_adagrad(size_t n, float clr, float wd, float eps, float *p,
                    const float *g, float *sum) {
  BP_ISA_CALL(bp_upd_adagrad, (n, clr, wd, eps, p, g, sum))
}

void bp_upd_rprop(size_t n, const bp_upd_rprop_k *k, float *p,
                  const float *g, float *prev, float *step) {
  BP_ISA_CALL(bp_upd_rprop, (n, k, p, g, prev, step))
}
