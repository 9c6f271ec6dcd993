/*
** net.h: a network is a chain of layers with one parameter buffer and one
** gradient buffer, allocated once when it is built, so views into them
** (Lua's net:parameters()) stay valid for the network's lifetime.
** The activations of the last forward pass are kept for backward in a
** scratch block that grows with the batch and is otherwise reused: a
** steady training loop allocates nothing.
*/
#ifndef BP_NET_H
#define BP_NET_H

#include <stddef.h>

#include "layer.h"
#include "rng.h"
#include "status.h"

typedef struct bp_net {
  size_t nlayers;
  bp_layer *layers;
  size_t nparams;        /* floats in params and grads, padding included */
  float *params, *grads;
  /* state of the last forward pass */
  size_t batch;          /* its rows; 0 when there is none to backpropagate */
  size_t *width;         /* nlayers + 1 feature counts */
  float **act;           /* nlayers + 1 arrays: act[0] is a copy of the input */
  float *delta[2];       /* ping-pong buffers for gradients between layers */
  float *scratch;        /* one block holding act[] and delta[] */
  size_t scratch_cap;
} bp_net;

/* Copy the layer descriptions (from bp_layer_make) and allocate. */
bp_status bp_net_init(bp_net *net, const bp_layer *layers, size_t nlayers,
                      bp_error *err);
void bp_net_free(bp_net *net);              /* idempotent */
/* Fresh weights: each layer's init picked by the layer after it. */
void bp_net_reset(bp_net *net, bp_rng *rng);
void bp_net_zero_grad(bp_net *net);

/* Output width for inputs of `width` features, or an error naming the
** first layer that disagrees. */
bp_status bp_net_out_width(const bp_net *net, size_t width, size_t *out,
                           bp_error *err);
/* Forward n samples of `width` features; bp_net_output then points at the
** result (valid until the next forward). */
bp_status bp_net_forward(bp_net *net, const float *x, size_t n, size_t width,
                         bp_error *err);
const float *bp_net_output(const bp_net *net);
size_t bp_net_out(const bp_net *net);       /* output width of last forward */
/* Room for n x (output width) floats where a loss may write dy for
** bp_net_backward without allocating (one of the ping-pong buffers that
** the last layer does not write). Valid after a forward. */
float *bp_net_dy_buffer(bp_net *net);
/* Backpropagate dy (n x output width of the last forward). Adds to grads;
** if dx is not NULL, *dx points at dL/dinput (valid until the next call). */
bp_status bp_net_backward(bp_net *net, const float *dy, size_t n,
                          size_t width, const float **dx, bp_error *err);

#endif
