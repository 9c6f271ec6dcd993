/*
** layer.h: the layer contract.
** A layer maps a batch x (n x in) to y (n x out). Its class gives forward
** and backward side by side: backward receives the x and y of the forward
** pass and dy = dL/dy, adds dL/dparams into the layer's gradient slices
** (gradients accumulate until zeroed, as in Torch and PyTorch) and, when dx
** is not NULL, writes dx = dL/dx. Neither can fail: the network checks
** shapes before calling them.
**
** Parameters live in the network's one parameter buffer and one gradient
** buffer; a layer only holds pointers to its slices (KANN's design).
** Layers are saved by kind tag, never by function pointer.
*/
#ifndef BP_LAYER_H
#define BP_LAYER_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

/* Values are written to model files: append, never renumber. */
typedef enum {
  BP_LINEAR = 1,
  BP_SIGMOID = 2,
  BP_TANH = 3,
  BP_RELU = 4,
  BP_LEAKY_RELU = 5,
  BP_SOFTMAX = 6,
  BP_LOG_SOFTMAX = 7,
  BP_NKINDS
} bp_kind;

#define BP_MAXPARAMS 2

typedef struct bp_param {
  float *data, *grad;   /* slices of the network's buffers */
  int ndim;
  size_t shape[2];
  size_t numel;
} bp_param;

typedef struct bp_layer {
  bp_kind kind;
  size_t in, out;      /* features per sample; 0 = same as the input */
  float alpha;         /* LeakyReLU's negative slope */
  int nparams;
  bp_param p[BP_MAXPARAMS];
} bp_layer;

typedef struct bp_layer_class {
  const char *name;
  void (*forward)(const bp_layer *l, const float *x, float *y, size_t n,
                  size_t width);
  void (*backward)(const bp_layer *l, const float *x, const float *y,
                   const float *dy, float *dx, size_t n, size_t width);
  /* Fill p[] with data = NULL and the shapes; the network assigns slices. */
  void (*describe)(bp_layer *l);
  /* Initialize parameters; next is the layer that follows (NULL if none),
  ** whose activation picks Xavier or He scaling. NULL if no parameters. */
  void (*reset)(bp_layer *l, const bp_layer *next, bp_rng *rng);
} bp_layer_class;

/* `width` is the feature count of x, needed by layers whose in is 0. */

const bp_layer_class *bp_layer_class_of(bp_kind kind);  /* NULL if unknown */

/* Check a layer's settings and describe its parameters. */
bp_status bp_layer_make(bp_layer *l, bp_kind kind, size_t in, size_t out,
                        float alpha, bp_error *err);

/* describe() for layers without parameters. */
void bp_describe_none(bp_layer *l);

/* The classes, one file per family. */
extern const bp_layer_class bp_linear_class;
extern const bp_layer_class bp_sigmoid_class, bp_tanh_class, bp_relu_class,
    bp_leaky_relu_class;
extern const bp_layer_class bp_softmax_class, bp_log_softmax_class;

#endif
