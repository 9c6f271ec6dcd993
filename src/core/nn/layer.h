/*
** layer.h: the layer contract.
** A layer maps a batch of n samples x, each of per-sample shape `in` (up to
** three dims: features, or L x features, or C x H x W; the batch dim is
** kept apart), to a batch y of per-sample shape `out`, which its shape()
** computes or rejects with a message naming the mismatch.
**
** Its class gives forward and backward side by side: backward receives the
** x and y of the forward pass and dy = dL/dy, adds dL/dparams into the
** layer's gradient slices (gradients accumulate until zeroed, as in Torch
** and PyTorch) and, when dx is not NULL, writes dx = dL/dx. Neither can
** fail: the network checks shapes (and, through check_input, values such
** as Embedding's ids) before calling them.
**
** Memory a pass needs comes from the network's scratch block, laid out
** once per batch size (no allocation in a steady training loop):
**   saved: per layer, kept from forward to backward (Dropout's mask,
**          BatchNorm's batch statistics, MaxPool's argmax);
**   work:  shared by all layers, valid during one call only (im2col).
**
** Parameters live in the network's one parameter buffer and one gradient
** buffer; non-trainable state (BatchNorm's running statistics) in a third
** buffer, saved with the model but never touched by optimizers. A layer
** only holds pointers to its slices (KANN's design). Layers are saved by
** kind tag, never by function pointer.
*/
#ifndef BP_LAYER_H
#define BP_LAYER_H

#include <stddef.h>

#include "base/rng.h"
#include "base/status.h"

/* Values are written to model files: append, never renumber. */
typedef enum {
  BP_LINEAR = 1,
  BP_SIGMOID = 2,
  BP_TANH = 3,
  BP_RELU = 4,
  BP_LEAKY_RELU = 5,
  BP_SOFTMAX = 6,
  BP_LOG_SOFTMAX = 7,
  BP_CONV2D = 8,
  BP_MAXPOOL2D = 9,
  BP_AVGPOOL2D = 10,
  BP_FLATTEN = 11,
  BP_DROPOUT = 12,
  BP_BATCHNORM1D = 13,
  BP_BATCHNORM2D = 14,
  BP_LAYERNORM = 15,
  BP_EMBEDDING = 16,
  BP_GELU = 17,
  BP_ELU = 18,
  BP_SILU = 19,
  BP_SOFTPLUS = 20,
  BP_IDENTITY = 21,
  BP_RESIDUAL = 22,
  BP_NKINDS
} bp_kind;

/* Kinds up to here are what format version 1 could hold. */
#define BP_LAST_V1_KIND BP_LOG_SOFTMAX

#define BP_MAXPARAMS 2
#define BP_SAMPLE_DIMS 3

/* Shape of one sample (the batch dim is separate). */
typedef struct bp_shape {
  int ndim;
  size_t d[BP_SAMPLE_DIMS];
} bp_shape;

size_t bp_shape_numel(const bp_shape *s);
int bp_shape_equal(const bp_shape *a, const bp_shape *b);
/* "8x1x28x28" (n first; n = 0 leaves it out) into buf. */
void bp_shape_fmt(size_t n, const bp_shape *s, char *buf, size_t len);

typedef struct bp_param {
  float *data, *grad;   /* slices of the network's buffers */
  int ndim;
  size_t shape[4];
  size_t numel;
} bp_param;

/* The thread pool (written elsewhere); NULL runs everything inline. */
struct bp_pool;

/* An optimizer's update, handed to the layers of a backward pass that
** fuses it (bp_net_backward_update; train/ makes one from an optimizer).
** A layer never needs to know which optimizer it is. */
typedef struct bp_update {
  /* Update the m parameters at p, a slice of the network's parameter
  ** buffer, given their gradients g: what the optimizer's step does to
  ** them, bit for bit. */
  void (*apply)(const struct bp_update *u, float *p, const float *g,
                size_t m);
  const void *opt;        /* the optimizer, for apply */
  const float *params;    /* the parameter buffer p points into */
  /* 1 when the update is p -= lr * g with no state (plain SGD): a layer
  ** may then apply it itself (bp_upd_sgd of kernels/small.h), even as it
  ** sums each gradient, the same bits as apply after writing them. */
  int plain;
  float lr;
} bp_update;

/* What a pass gives each layer. */
typedef struct bp_ctx {
  int training;          /* 1: Dropout drops, BatchNorm uses batch stats */
  bp_rng *rng;           /* Dropout's masks (the per-Lua-state generator) */
  struct bp_pool *pool;  /* NULL for now */
  float *work;           /* shared workspace, valid during one call */
  float *saved;          /* this layer's forward-to-backward memory */
  /* Backward only; NULL unless the pass fuses an update (only when every
  ** layer with parameters has a class with fuses_update). The layer then
  ** WRITES its gradients instead of adding to them (they were not zeroed)
  ** and calls update->apply on each parameter slice after its last read
  ** of it: bit for bit what zero_grad, backward and the optimizer's step
  ** would do, with the parameters touched once while still in cache. */
  const bp_update *update;
} bp_ctx;

/* Settings. Which fields a kind uses is documented next to each; a
** setting a kind does not use stays 0 (so files compare bit for bit). */
typedef struct bp_layer {
  bp_kind kind;
  size_t in, out;      /* Linear features; Conv2d channels; Embedding
                          num x dim; BatchNorm/LayerNorm features (in) */
  float alpha;         /* LeakyReLU slope; ELU alpha; Dropout p;
                          Softplus beta */
  float beta;          /* Softplus threshold; BatchNorm momentum */
  float eps;           /* BatchNorm, LayerNorm */
  size_t kh, kw, sh, sw, ph, pw;   /* Conv2d, pools: kernel, stride, pad */
  size_t span;         /* Residual: layers in its body, just before it */
  int nparams;
  bp_param p[BP_MAXPARAMS];
  size_t nstate;       /* floats of non-trainable state */
  float *state;        /* slice of the network's state buffer */
} bp_layer;

typedef struct bp_layer_class {
  const char *name;
  /* Output shape for input shape `in`, or an error (message without the
  ** layer's name: the caller adds it). n is the batch, for messages and
  ** for checks that depend on it (BatchNorm needs 2 values to train). */
  bp_status (*shape)(const bp_layer *l, const bp_ctx *c, size_t n,
                     const bp_shape *in, bp_shape *out, bp_error *err);
  void (*forward)(const bp_layer *l, const bp_ctx *c, const float *x,
                  float *y, size_t n, const bp_shape *in);
  void (*backward)(const bp_layer *l, const bp_ctx *c, const float *x,
                   const float *y, const float *dy, float *dx, size_t n,
                   const bp_shape *in);
  /* Check the settings and fill p[] (data = NULL, shapes) and nstate; the
  ** network assigns slices. */
  bp_status (*describe)(bp_layer *l, bp_error *err);
  /* Initialize parameters and state; next is the layer that follows (NULL
  ** if none), whose activation picks Xavier or He scaling. NULL if the
  ** layer has neither. */
  void (*reset)(bp_layer *l, const bp_layer *next, bp_rng *rng);
  /* Floats of saved and work memory for n samples; NULL means none. */
  size_t (*saved)(const bp_layer *l, const bp_shape *in, size_t n);
  size_t (*work)(const bp_layer *l, const bp_shape *in, size_t n);
  /* Check input values before forward; NULL if any finite value works. */
  bp_status (*check_input)(const bp_layer *l, const float *x, size_t n,
                           const bp_shape *in, bp_error *err);
  int same_shape;      /* output shape is always the input shape */
  int fuses_update;    /* backward honours bp_ctx.update */
} bp_layer_class;

const bp_layer_class *bp_layer_class_of(bp_kind kind);  /* NULL if unknown */

/* Check a layer's settings (filled in *l, other fields 0) and describe its
** parameters. */
bp_status bp_layer_init(bp_layer *l, bp_error *err);
/* The foundation's constructor, for the kinds that only need in, out and
** alpha. */
bp_status bp_layer_make(bp_layer *l, bp_kind kind, size_t in, size_t out,
                        float alpha, bp_error *err);

/* Pieces the classes share. */
bp_status bp_describe_none(bp_layer *l, bp_error *err);
bp_status bp_shape_same(const bp_layer *l, const bp_ctx *c, size_t n,
                        const bp_shape *in, bp_shape *out, bp_error *err);
/* Uniform(-bound, bound) into n floats. */
void bp_fill_uniform(float *p, size_t n, double bound, bp_rng *rng);
/* Xavier or He bound for fan_in/fan_out, picked by the next layer. */
double bp_init_bound(const bp_layer *next, size_t fan_in, size_t fan_out);

/* The classes, one file per family. */
extern const bp_layer_class bp_linear_class;
extern const bp_layer_class bp_sigmoid_class, bp_tanh_class, bp_relu_class,
    bp_leaky_relu_class, bp_gelu_class, bp_elu_class, bp_silu_class,
    bp_softplus_class, bp_identity_class;
extern const bp_layer_class bp_softmax_class, bp_log_softmax_class;
extern const bp_layer_class bp_conv2d_class;
extern const bp_layer_class bp_maxpool2d_class, bp_avgpool2d_class;
extern const bp_layer_class bp_flatten_class, bp_residual_class;
extern const bp_layer_class bp_dropout_class;
extern const bp_layer_class bp_batchnorm1d_class, bp_batchnorm2d_class,
    bp_layernorm_class;
extern const bp_layer_class bp_embedding_class;

#endif
