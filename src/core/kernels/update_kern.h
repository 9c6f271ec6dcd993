/* update_kern.h: the per-ISA loops behind update.h (internal). */
#ifndef BP_UPDATE_KERN_H
#define BP_UPDATE_KERN_H

#include "base/cpu.h"
#include "kernels/update.h"

#define BP_UPDATE_DECL(isa)                                                  \
  void bp_upd_adam_##isa(size_t n, const bp_upd_adam_k *k, float *p,         \
                         const float *g, float *m, float *v, float *vmax);   \
  void bp_upd_rmsprop_##isa(size_t n, const bp_upd_rmsprop_k *k, float *p,   \
                            const float *g, float *v, float *mean,           \
                            float *buf);                                     \
  void bp_upd_adagrad_##isa(size_t n, float clr, float wd, float eps,        \
                            float *p, const float *g, float *sum);           \
  void bp_upd_rprop_##isa(size_t n, const bp_upd_rprop_k *k, float *p,       \
                          const float *g, float *prev, float *step);

BP_UPDATE_DECL(portable)
BP_UPDATE_DECL(avx2)
BP_UPDATE_DECL(avx512)

#endif
