/*
** layer.h: the layer contract.
** A layer maps a batch of n samples x, each of per-sample shape `in` (up to
** three dims: features, or L x features, or C x H x W; the batch dim is
** kept apart), to a batch y of per-sample shape `out`, which its shape()
** computes or rejects with a message naming the mismatch.
**
** Each kind of layer is one class, in a file of its own family (linear.c,
** activation.c, ...), listed once in the registry (registry.c) under its
** kind. The class gives forward and backward side by side: backward
** receives the x and y of the forward pass and dy = dL/dy, adds
** dL/dparams into the layer's gradient slices (gradients accumulate until
** zeroed, as in Torch and PyTorch) and, when dx is not NULL, writes dx =
** dL/dx. Neither can fail: the network checks shapes (and, through
** check_input, values such as Embedding's ids) before calling them.
**
** Settings (Linear's sizes, Dropout's p) live in a small struct of the
** class's own, kept in the layer's settings block and described by the
** class's schema: one entry per setting, with its name (the Lua argument
** or option), type, default and bounds. Everything that handles settings
** without knowing the layer works from the schema: the checks (done once,
** here, by bp_layer_init), the Lua constructors, the descriptions
** ("Conv2d(1 -> 32, kernel 3, stride 1, padding 1)") and the model file.
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
** kind tag and settings by name, never by function pointer or offset.
*/
#ifndef BP_LAYER_H
#define BP_LAYER_H

#include <stddef.h>

#include "base/rng.h"
#include "base/status.h"

/* Values are written to model files: append, never renumber; each has
** its class in registry.c. */
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
  BP_PRELU = 23,
  BP_NKINDS
} bp_kind;

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

/* --- settings --------------------------------------------------------- */

/* Types of settings. The numbers are written to model files. */
typedef enum {
  BP_SIZE = 1,    /* size_t */
  BP_PAIR = 2,    /* two size_t, h then w (Lua: a number for both, or {h, w}) */
  BP_FLOAT = 3    /* float, always finite */
} bp_type;

/* Bounds of a setting (every value of a pair), combined with |. */
#define BP_MIN 1u     /* value >= min */
#define BP_ABOVE 2u   /* value > min */
#define BP_MAX 4u     /* value <= max */

/* Sizes are at most this whatever their bounds (files store 32 bits). */
#define BP_SIZE_LIMIT ((size_t)1 << 31)

typedef struct bp_setting {
  const char *name;     /* the Lua argument or option: "in_features" */
  bp_type type;
  size_t off;           /* where it is in the class's settings struct */
  int required;         /* no default: constructors take it first */
  double def;           /* the default (when not required) ... */
  const char *same_as;  /* ... or that of this earlier setting (a pool's
                           stride defaults to its kernel_size) */
  unsigned bounds;      /* BP_MIN, BP_ABOVE, BP_MAX */
  double min, max;
  /* In descriptions: NULL shows the value alone, "->" joins it to the one
  ** before ("Linear(3 -> 2)"), a word goes first ("kernel 3"). */
  const char *label;
} bp_setting;

/* A layer's settings block: the class's settings struct T lives in it;
** BP_SETTINGS(T, l) reads it, BP_SETTINGS_FIT(T) fails to compile when T
** does not fit. */
typedef union bp_settings {
  size_t z[8];
  double d;
  unsigned char bytes[64];
} bp_settings;

#define BP_SETTINGS(T, l) ((const T *)(const void *)&(l)->set)
#define BP_SETTINGS_FIT(T) \
  typedef char bp_settings_fit_##T[sizeof(T) <= sizeof(bp_settings) ? 1 : -1]
/* The number of entries of a schema array, for bp_layer_class.nsettings. */
#define BP_NSETTINGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --- layers ----------------------------------------------------------- */

typedef struct bp_param {
  float *data, *grad;   /* slices of the network's buffers */
  int ndim;
  size_t shape[4];
  size_t numel;
} bp_param;

/* The thread pool (written elsewhere); NULL runs everything inline. */
struct bp_pool;
/* A layer of the fused per-sample step (kernels/small.h). */
struct bp_dense;

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
  /* A layer with a span (class span(), Residual) also reads the input of
  ** the span layers before it: its shape (shape), its values (forward),
  ** and where backward writes its gradient (the network adds that to the
  ** gradient of that input). NULL for other layers. */
  const bp_shape *skip_shape;
  const float *skip;
  float *skip_grad;
  /* Backward only; NULL unless the pass fuses an update (only when every
  ** layer with parameters has a class with fuses_update). The layer then
  ** WRITES its gradients instead of adding to them (they were not zeroed)
  ** and calls update->apply on each parameter slice after its last read
  ** of it: bit for bit what zero_grad, backward and the optimizer's step
  ** would do, with the parameters touched once while still in cache. */
  const bp_update *update;
} bp_ctx;

typedef struct bp_layer {
  bp_kind kind;
  bp_settings set;     /* the class's settings struct (see its schema) */
  int nparams;
  bp_param p[BP_MAXPARAMS];
  size_t nstate;       /* floats of non-trainable state */
  float *state;        /* slice of the network's state buffer */
} bp_layer;

typedef struct bp_layer_class {
  const char *name;
  const bp_setting *settings;   /* the schema, in constructor order */
  int nsettings;
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
  /* Checks that involve several settings (each one alone is checked
  ** against the schema first), then p[] (data = NULL, shapes) and nstate;
  ** the network assigns slices. NULL: no parameters, no state. */
  bp_status (*describe)(bp_layer *l, bp_error *err);
  /* Initialize parameters and state; next is the layer that follows (NULL
  ** if none), whose init_slope picks Xavier or He scaling. NULL if the
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
  /* Forward fusion, for small batches: an activation whose values the
  ** product kernels can compute from their registers says which it is
  ** (a bp_act of kernels/vmath.h, 0 for none); a layer that can run such
  ** an activation after itself has forward_act, which writes y and z =
  ** act(y), the same bits as the two forwards, and returns 1, or returns
  ** 0 and writes nothing when the batch does not suit it. */
  int fuses_as;
  int (*forward_act)(const bp_layer *l, const bp_ctx *c, const float *x,
                     float *y, float *z, size_t n, int act);
  /* Its mirror in backward, called before the activation's own backward
  ** (y: this layer's output, the activation's input; dz: the gradient of
  ** the activation's output): writes dy = the activation's backward of dz
  ** (the gradient of y), then runs this layer's backward from it, the same
  ** bits as the two backwards, and returns 1; or returns 0 and writes
  ** nothing. dx may be dz's own array. */
  int (*backward_act)(const bp_layer *l, const bp_ctx *c, const float *x,
                      const float *y, const float *dz, float *dy, float *dx,
                      size_t n, int act);
  /* The fused per-sample step (nn/chain.c, kernels/small.h): a network
  ** of dense products, each followed by at most one activation, trains a
  ** sample at a time in two kernel calls. A dense layer (Linear) fills d's
  ** sizes and parameter and gradient slices; an activation those kernels
  ** compute sets d->act and d->slope. NULL: not part of such a chain. */
  void (*dense)(const bp_layer *l, struct bp_dense *d);
  void (*dense_act)(const bp_layer *l, struct bp_dense *d);
  /* The ReLU family: the negative slope, for the He initialization of
  ** the layer before (bp_init_bound). NULL for others. */
  double (*init_slope)(const bp_layer *l);
  /* Residual: how many layers before it form its body (see bp_ctx.skip).
  ** NULL for others. A layer with a span is made by composition, never
  ** by a constructor of its own. */
  size_t (*span)(const bp_layer *l);
} bp_layer_class;

const bp_layer_class *bp_layer_class_of(bp_kind kind);  /* NULL if unknown */

/* A layer of this kind with every setting 0; set them (bp_setting_find,
** bp_setting_ptr), then bp_layer_defaults and bp_layer_init. Fails on an
** unknown kind. */
bp_status bp_layer_start(bp_layer *l, bp_kind kind, bp_error *err);
/* Defaults for the settings whose bit is clear in `given` (bit k for
** setting k); fails naming a required one that is missing. */
bp_status bp_layer_defaults(bp_layer *l, unsigned long given, bp_error *err);
/* Check every setting against the schema, then the class's describe. */
bp_status bp_layer_init(bp_layer *l, bp_error *err);
/* All three, the first nv settings from v[] in schema order (a pair's
** two values from one), the rest by default: bp_layer_make(&l, BP_LINEAR,
** (double[]){3, 2}, 2, &err). */
bp_status bp_layer_make(bp_layer *l, bp_kind kind, const double *v, int nv,
                        bp_error *err);

/* The setting called name, or NULL. */
const bp_setting *bp_setting_find(const bp_layer_class *c, const char *name);
/* Where setting s is in l: size_t[1] for BP_SIZE, size_t[2] for BP_PAIR,
** float[1] for BP_FLOAT. */
void *bp_setting_ptr(bp_layer *l, const bp_setting *s);
const void *bp_setting_cptr(const bp_layer *l, const bp_setting *s);
/* "Conv2d(1 -> 32, kernel 3, stride 1, padding 1)" from the schema. */
void bp_layer_text(const bp_layer *l, char *buf, size_t len);

/* Pieces the classes share. */
bp_status bp_shape_same(const bp_layer *l, const bp_ctx *c, size_t n,
                        const bp_shape *in, bp_shape *out, bp_error *err);
/* Uniform(-bound, bound) into n floats. */
void bp_fill_uniform(float *p, size_t n, double bound, bp_rng *rng);
/* Xavier or He bound for fan_in/fan_out, picked by the next layer. */
double bp_init_bound(const bp_layer *next, size_t fan_in, size_t fan_out);

#endif
