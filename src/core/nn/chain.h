/*
** chain.h: the fused per-sample step, a plan a network makes for itself.
** A network that is a chain of dense layers (Linear), each followed by at
** most one activation the small kernels compute (Sigmoid, Tanh, ReLU,
** LeakyReLU, Identity: the classes with the dense and dense_act hooks of
** layer.h), trains one sample in two kernel calls (kernels/small.h,
** bp_dense_fwd and bp_dense_bwd) around the loss: no pass through the
** layer classes, activations in the network's small scratch arrays,
** gradients applied as they are formed. Every value is the same bits as
** the general path (bp_net_forward, bp_loss, bp_net_backward_update):
** spec/fused_step_spec.lua compares them. Other networks have no plan
** and take the general path; the plan has no API beyond this file.
*/
#ifndef BP_CHAIN_H
#define BP_CHAIN_H

#include "kernels/small.h"
#include "nn/loss.h"
#include "nn/net.h"

/* For bp_net_init: net->ndense, the dense layers of the plan when the
** layers form such a chain (else 0). The plan itself (net->dense, with
** the parameter slices and activations) is laid out in the network's
** scratch block, bp_chain_bytes of it (in training mode, with room for
** bp_chain_train's copies), and pointed by bp_chain_point once the
** scratch and the parameter buffers are in place (again after either
** moves). */
void bp_chain_plan(bp_net *net);
size_t bp_chain_bytes(const bp_net *net);
void bp_chain_point(bp_net *net);

/* Whether a step of n samples can take the plan (one sample, and the
** network has one that tests have not turned off). */
int bp_chain_fits(const bp_net *net, size_t n);

/* One training step on one sample x (the network's input width) with
** target y, after bp_net_input_buffer planned a batch of one (which lays
** the plan out): forward, lf's loss (*loss) and, when it is finite,
** backward with the update: the SGD rule when `sgd` is not NULL
** (kernels/small.h; m: the optimizer's momentum buffer, parallel to
** net->params, or NULL), else the hook u on each parameter tensor. When
** `last` is set (the end of a run of steps), the gradients are written to
** the network's gradient buffer and x copied to its input, leaving the
** network as the general path would; in between, the gradient buffer is
** not written. A non-finite loss updates nothing (the caller reports
** it). */
bp_status bp_chain_step(bp_net *net, const float *x, const float *y,
                        const bp_loss_spec *lf, const bp_update *u,
                        const bp_sgd_rule *sgd, float *m, int last,
                        double *loss, bp_error *err);

/* Steps like bp_chain_step's with `sgd` (not last: no gradients written)
** for the samples of `run` (kernels/small.h, bp_dense_train; its dz and
** g1 set here), in one kernel call on copies of the layers laid out for
** it in the scratch block (a training layout): the weights of layers
** whose rows are not a multiple of 16 floats apart, every bias, and their
** momentum buffers; copied back after. Returns bp_dense_train's result. */
int bp_chain_train(bp_net *net, const bp_sgd_rule *sgd, float *m,
                   bp_dense_run *run);

#endif
