/*
** net.h: a network is a chain of layers with one parameter buffer, one
** gradient buffer and one state buffer (non-trainable values such as
** BatchNorm's running statistics), allocated once when it is built, so
** views into them (Lua's net:parameters()) stay valid for the network's
** lifetime. A network can also run on a slice of another's buffers
** (bp_net_init_shared, bp_net_share): that is how a module put into a
** container keeps working on the container's parameters.
**
** Containers are flattened when a network is built: a nested Sequential
** is just its layers, and Residual(body) is the body's layers followed by
** a Residual layer whose span counts them (residual.c). So every
** parameter, of any depth of nesting, sits in the one buffer, and the
** file format stays a flat list of layer records.
**
** bp_net_init works out once what the passes need to know about the
** layers (bp_step: which pairs fuse, which layers read an earlier
** activation, where each Residual's gradient joins, how deep each layer
** is nested), so forward, backward and the scratch layout walk that plan
** and never ask what kind a layer is.
**
** The activations of the last forward pass are kept for backward in a
** scratch block that also holds each layer's saved memory, the residual
** gradients and the shared workspace. It grows with the batch and is
** otherwise reused: a steady training loop allocates nothing.
*/
#ifndef BP_NET_H
#define BP_NET_H

#include <stddef.h>

#include "nn/layer.h"
#include "base/rng.h"
#include "base/status.h"

/* What the network knows about layer i, from bp_net_init. */
typedef struct bp_step {
  const bp_layer_class *cls;
  /* Forward: the class's forward_act also runs layer i + 1, the
  ** activation act (a bp_act; 0: no fusion), when it accepts the batch. */
  int act;
  size_t span;          /* class span(): also reads act[i - span] */
  /* Layers with a span whose body starts at layer i (their gradient
  ** joins that of its input): net->join[join0 .. join0 + njoin). */
  size_t join0, njoin;
  int depth;            /* bodies around layer i (for text) ... */
  int opens;            /* ... and how many of them start at it */
  size_t poff, soff;    /* its parameters and state in the buffers */
} bp_step;

typedef struct bp_net {
  size_t nlayers;
  bp_layer *layers;
  bp_step *step;         /* per layer */
  size_t *join;          /* see bp_step.join0 */
  int fuses_sgd;         /* every layer with parameters can fuse an
                            optimizer's update (class fuses_update) */
  /* The fused per-sample step (nn/chain.h): the network as ndense dense
  ** layers when it is such a chain (else 0), laid out in the scratch
  ** block (NULL before the first layout). chain_off (tests) keeps every
  ** step on the general path; chain_steps counts the plan's. */
  struct bp_dense *dense;
  size_t ndense;
  int chain_off;
  unsigned long chain_steps;
  size_t nparams;        /* floats in params and grads, padding included */
  float *params, *grads;
  size_t nstate;         /* floats in state, padding included */
  float *state;
  int shared;            /* the three belong to another network (a
                            slice of its buffers): bp_net_free leaves them */
  int training;          /* 1 (the default, as PyTorch) or 0 for eval */
  bp_rng *rng;           /* Dropout's masks in training mode; the owner
                            sets it (the binding: the Lua state's RNG) */
  struct bp_pool *pool;  /* NULL: run inline */
  /* state of the last forward pass */
  size_t batch;          /* its samples; 0 when there is none to backprop */
  bp_shape *shape;       /* nlayers + 1 per-sample shapes */
  bp_shape *probe;       /* the same, for checks that keep the above */
  float **act;           /* nlayers + 1 arrays: act[0] is a copy of the input */
  float **saved;         /* per layer, forward to backward (or NULL) */
  float **skip;          /* per layer with a span, its skip_grad */
  float *delta[2];       /* ping-pong buffers for gradients between layers */
  float *work;           /* shared workspace */
  float *scratch;        /* one block holding all of the above */
  size_t scratch_cap;
  /* The plan above (shapes and scratch layout) holds for plan_n samples
  ** of shape shape[0] in mode plan_training when planned is 1: a forward
  ** with the same batch skips planning (every check it makes would pass
  ** again: they depend on nothing else). */
  int planned, plan_training;
  size_t plan_n;
} bp_net;

/* Copy the layer descriptions (from bp_layer_init) and allocate. */
bp_status bp_net_init(bp_net *net, const bp_layer *layers, size_t nlayers,
                      bp_error *err);
/* The same on buffers of another network: params and grads hold nparams
** floats, state nstate, laid out as net's own would be. This is the
** slice of a network whose layers from some index on are these: layers
** are padded alike, so consecutive layers occupy one contiguous slice
** (bp_step.poff, soff say where each starts). bp_net_free leaves them. */
bp_status bp_net_init_shared(bp_net *net, const bp_layer *layers,
                             size_t nlayers, float *params, float *grads,
                             float *state, bp_error *err);
/* Move a built network onto such a slice (freeing its own buffers unless
** they were already another's). The values are not copied. */
void bp_net_share(bp_net *net, float *params, float *grads, float *state);
void bp_net_free(bp_net *net);              /* idempotent */
/* Fresh weights and state: each layer's init picked by the layer after. */
void bp_net_reset(bp_net *net, bp_rng *rng);
void bp_net_zero_grad(bp_net *net);
/* The same over net->pool (which must be live) for large networks. */
void bp_net_zero_grad_mt(bp_net *net);

/* Output shape for a batch of n samples of shape `in`, or an error naming
** the first layer that disagrees (for a one-layer network, just why). */
bp_status bp_net_out_shape(bp_net *net, size_t n, const bp_shape *in,
                           bp_shape *out, bp_error *err);
/* Forward n samples of shape `in`; bp_net_output then points at the
** result (valid until the next forward). */
bp_status bp_net_forward(bp_net *net, const float *x, size_t n,
                         const bp_shape *in, bp_error *err);
const float *bp_net_output(const bp_net *net);
/* Plan a forward of n samples of shape `in` and point *x at where it
** reads them from (valid until the next call of bp_net_forward or this):
** a caller that writes the batch there (bp_train_epoch gathers shuffled
** samples) and passes it to bp_net_forward saves a copy. Fails as
** bp_net_forward would on a bad shape. */
bp_status bp_net_input_buffer(bp_net *net, size_t n, const bp_shape *in,
                              float **x, bp_error *err);
size_t bp_net_out(const bp_net *net);   /* floats per output sample */
/* Room for n x (output floats) where a loss may write dy for
** bp_net_backward without allocating (one of the ping-pong buffers that
** the last layer does not write). Valid after a forward. */
float *bp_net_dy_buffer(bp_net *net);
/* Backpropagate dy (n samples of the last forward's output shape). Adds
** to grads; if dx is not NULL, *dx points at dL/dinput (valid until the
** next call). */
bp_status bp_net_backward(bp_net *net, const float *dy, size_t n,
                          const bp_shape *s, const float **dx, bp_error *err);
/* zero_grad, backward and an optimizer's update (see bp_update) in one
** pass, with the same results bit for bit: each layer writes its
** gradients and updates its parameters as soon as it no longer reads
** them, so the parameters and gradients are touched once while still in
** cache. Only when fuses_sgd (every layer with parameters supports it);
** the caller makes the update (train/optim.h) and counts the step. */
bp_status bp_net_backward_update(bp_net *net, const float *dy, size_t n,
                                 const bp_shape *s, const bp_update *update,
                                 bp_error *err);

#endif
