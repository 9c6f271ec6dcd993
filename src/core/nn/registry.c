/*
** registry.c: every layer class, indexed by its kind (layer.h). Adding a
** layer is its file, its kind in layer.h and its line here: the Lua
** constructor, its description and its model-file record all come from
** the class's schema.
*/
#include "nn/layer.h"

extern const bp_layer_class bp_linear_class, bp_sigmoid_class, bp_tanh_class,
    bp_relu_class, bp_leaky_relu_class, bp_softmax_class,
    bp_log_softmax_class, bp_conv2d_class, bp_maxpool2d_class,
    bp_avgpool2d_class, bp_flatten_class, bp_dropout_class,
    bp_batchnorm1d_class, bp_batchnorm2d_class, bp_layernorm_class,
    bp_embedding_class, bp_gelu_class, bp_elu_class, bp_silu_class,
    bp_softplus_class, bp_identity_class, bp_residual_class, bp_prelu_class;

static const bp_layer_class *const CLASSES[] = {
  [BP_LINEAR] = &bp_linear_class,
  [BP_SIGMOID] = &bp_sigmoid_class,
  [BP_TANH] = &bp_tanh_class,
  [BP_RELU] = &bp_relu_class,
  [BP_LEAKY_RELU] = &bp_leaky_relu_class,
  [BP_SOFTMAX] = &bp_softmax_class,
  [BP_LOG_SOFTMAX] = &bp_log_softmax_class,
  [BP_CONV2D] = &bp_conv2d_class,
  [BP_MAXPOOL2D] = &bp_maxpool2d_class,
  [BP_AVGPOOL2D] = &bp_avgpool2d_class,
  [BP_FLATTEN] = &bp_flatten_class,
  [BP_DROPOUT] = &bp_dropout_class,
  [BP_BATCHNORM1D] = &bp_batchnorm1d_class,
  [BP_BATCHNORM2D] = &bp_batchnorm2d_class,
  [BP_LAYERNORM] = &bp_layernorm_class,
  [BP_EMBEDDING] = &bp_embedding_class,
  [BP_GELU] = &bp_gelu_class,
  [BP_ELU] = &bp_elu_class,
  [BP_SILU] = &bp_silu_class,
  [BP_SOFTPLUS] = &bp_softplus_class,
  [BP_IDENTITY] = &bp_identity_class,
  [BP_RESIDUAL] = &bp_residual_class,
  [BP_PRELU] = &bp_prelu_class,
};

/* Kinds are appended, so a kind without its line here is the last one,
** and the table comes out one short: this fails to compile. (A line
** deleted in the middle leaves a hole, which the binding refuses when it
** registers the constructors.) */
typedef char every_kind_has_a_class
    [sizeof CLASSES / sizeof CLASSES[0] == BP_NKINDS ? 1 : -1];

const bp_layer_class *bp_layer_class_of(bp_kind kind) {
  if ((int)kind <= 0 || kind >= BP_NKINDS) return NULL;
  return CLASSES[kind];
}
