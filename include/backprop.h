/*
** backprop.h: the backprop core from plain C (or C++).
**
** The same networks, losses, optimizers, training loop and model files as
** the Lua module (docs/API.md), through one opaque handle, backprop_net.
** Layers, losses and optimizers are named as in Lua ("Linear",
** "CrossEntropyLoss", "Adam"), and so are their settings, given as a
** string of name=value pairs:
**
**   backprop_net *net = backprop_new();
**   backprop_add(net, "Linear", "in_features=2 out_features=4");
**   backprop_add(net, "Sigmoid", NULL);
**   backprop_add(net, "Linear", "4 1");          (as bp.Linear(4, 1))
**   backprop_add(net, "Sigmoid", NULL);
**   backprop_set_loss(net, "MSELoss", NULL);
**   backprop_set_optimizer(net, "SGD", "lr=2");
**   for (i = 0; i < 5000; i++) backprop_train_step(net, x, 4, 2, y, &loss);
**   backprop_forward(net, x, 4, 2, out, 4);
**   backprop_save(net, "xor.bpnet");              (bp.load reads it in Lua)
**   backprop_free(net);
**
** Settings strings. Entries are separated by spaces; each is name=value
** or, for a layer's settings, a bare value taking the next setting in
** the order of the Lua constructor's arguments (required ones first). A
** value is a number, true or false, a word (reduction=sum), or a list of
** numbers separated by commas: a size of two dims (kernel_size=3,5; or
** kernel_size=3 for both), a pair (betas=0.9,0.999), class weights
** (weight=1,2,0.5). NULL or "" gives every default. Names and values are
** checked as Lua checks them: an unknown name, a missing required
** setting or a value out of range is an error naming it.
**
** Errors. Every function that can fail returns a backprop_status;
** BACKPROP_OK is 0. On failure backprop_error(net) gives a one-line
** message naming the function and the problem, such as
** "backprop_forward: layer 1 (Linear) expected input with 2 features, got
** 3 (input shape 4x3)", and the network is left as it was before the
** call (but a backprop_fit that fails keeps the updates of the batches
** before). Nothing here prints, exits or aborts on bad input.
**
** Data. Inputs are float arrays of n samples, `in` floats each, row after
** row (C order). A sample is a vector of `in` features unless
** backprop_set_input_shape gave it more dims (channels x height x width
** for Conv2d). Targets: n x (outputs) floats, or for CrossEntropyLoss and
** NLLLoss one class label per sample, 1-based, as floats (1.0f, 2.0f, ...).
** Inputs and targets must be finite.
**
** Randomness and determinism. Each network has its own generator (seed
** 5489 until backprop_seed): the weights are drawn from it when the
** network is first used (forward, training, save, setting an optimizer),
** and fit's shuffling and Dropout draw from it afterwards. The same seed,
** layers and calls give the same weights bit for bit, and the same as
** Lua's bp.manual_seed(seed) and the same calls there.
**
** Threads. Networks share nothing (the kernels' instruction-set choice,
** made once, and an allocation counter are the only process-wide values,
** and both are atomic): different threads may use different networks at
** the same time. One network is used by one thread at a time.
**
** Link with -lbackprop -lm -pthread (pkg-config --libs backprop), or
** statically with libbackprop.a. The library's internal symbols all start
** with bp_; the shared library exports only the functions below.
*/
#ifndef BACKPROP_H
#define BACKPROP_H

#include <stddef.h>
#include <stdint.h>

/* This header's version: the library's is backprop_version(). */
#define BACKPROP_VERSION_MAJOR 0
#define BACKPROP_VERSION_MINOR 1
#define BACKPROP_VERSION_PATCH 0
#define BACKPROP_VERSION "0.1.0"

/* What the shared library exports (it is built with -fvisibility=hidden). */
#ifndef BP_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define BP_API __attribute__((visibility("default")))
#else
#define BP_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum backprop_status {
  BACKPROP_OK = 0,
  BACKPROP_ENOMEM = 1,   /* out of memory */
  BACKPROP_EINVAL = 2,   /* a bad argument, name, setting, shape or value,
                            or a call out of order (training without a
                            loss) */
  BACKPROP_EIO = 3,      /* a file could not be opened, read or written */
  BACKPROP_EFORMAT = 4   /* a file is not a backprop model, or is damaged */
} backprop_status;

typedef struct backprop_net backprop_net;

/* "0.1.0": the version of the library linked, which may be newer than
** this header's BACKPROP_VERSION when linked as a shared library. */
BP_API const char *backprop_version(void);

/* --- the handle ---------------------------------------------------------- */

/* A network with no layers: add some, or load a file. NULL only when out
** of memory. */
BP_API backprop_net *backprop_new(void);
/* Frees the network and everything it holds. NULL is fine. */
BP_API void backprop_free(backprop_net *net);
/* The message of the last call on net that failed, "" if the last call
** succeeded; valid until the next call on net. Never NULL (for net NULL:
** a message saying so). */
BP_API const char *backprop_error(const backprop_net *net);

/* --- building ------------------------------------------------------------ */

/* Seeds the network's generator, as bp.manual_seed(seed): weights not
** drawn yet, fit's shuffling and Dropout's masks draw from it. */
BP_API backprop_status backprop_seed(backprop_net *net, uint64_t seed);
/* Appends a layer: its name as in Lua (docs/API.md, "Layers and networks"
** and "More layers": "Linear", "Conv2d", "ReLU", "Dropout", ...) and its
** settings by the names of the Lua constructor's arguments
** ("in_features=784 out_features=128", or "784 128"). "Residual" with
** "span=k" makes the k layers before it a residual block (what Lua's
** bp.Residual of those layers builds; a span that does not fit is
** reported when the network is built). Only before the network is first
** used; a network from backprop_load takes no more layers. */
BP_API backprop_status backprop_add(backprop_net *net, const char *layer,
                                    const char *settings);
/* The shape of one input sample: ndim (1 to 3) sizes, such as {1, 28, 28}
** for a Conv2d over 28x28 grey images. The `in` of the calls below must
** then be their product. ndim 0 goes back to the default: a vector of
** `in` features. */
BP_API backprop_status backprop_set_input_shape(backprop_net *net, int ndim,
                                                const size_t *dims);
/* Training mode (1, the default, as in PyTorch and Lua: Dropout drops,
** BatchNorm uses and updates batch statistics) or evaluation mode (0). */
BP_API backprop_status backprop_set_training(backprop_net *net, int training);
/* Threads for large products and updates, the caller's included (1, the
** default, runs everything on it); results are the same bits for any
** count. As bp.set_num_threads, but for this network only. */
BP_API backprop_status backprop_set_threads(backprop_net *net, int n);

/* --- running ------------------------------------------------------------- */

/* Floats per output sample for input samples of `in` floats. */
BP_API backprop_status backprop_output_size(backprop_net *net, size_t in,
                                            size_t *out);
/* y = the network applied to x, n samples of `in` floats: n x (output
** size) floats into y, which holds ylen floats. In the network's mode
** (backprop_set_training). */
BP_API backprop_status backprop_forward(backprop_net *net, const float *x,
                                        size_t n, size_t in, float *y,
                                        size_t ylen);

/* --- training ------------------------------------------------------------ */

/* The loss training minimizes, by its Lua name ("MSELoss", "L1Loss",
** "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
** "NLLLoss") and options ("reduction=sum", "label_smoothing=0.1",
** "delta=2", "weight=1,2,3", "pos_weight=2"). */
BP_API backprop_status backprop_set_loss(backprop_net *net, const char *loss,
                                         const char *options);
/* The optimizer, by its Lua name ("SGD", "Adam", "AdamW", "RMSprop",
** "Adagrad", "Rprop") and options ("lr=0.1 momentum=0.9 nesterov=true",
** "lr=0.001 betas=0.9,0.999 weight_decay=0.01"); defaults are PyTorch's.
** Its state (momentum, moments, step count) starts afresh. */
BP_API backprop_status backprop_set_optimizer(backprop_net *net,
                                              const char *optimizer,
                                              const char *options);
/* Changes the optimizer's learning rate between steps (a schedule),
** keeping its state, as opt.lr = lr in Lua. */
BP_API backprop_status backprop_set_lr(backprop_net *net, double lr);
/* One update on the batch x (n samples of `in` floats) with targets y:
** forward, loss, backward and the optimizer's step, as net:train_step in
** Lua. *loss (if not NULL) gets the batch's loss before the update. */
BP_API backprop_status backprop_train_step(backprop_net *net, const float *x,
                                           size_t n, size_t in,
                                           const float *y, double *loss);
/* Epochs of minibatch training over the whole data set (x: n samples of
** `in` floats, y: their targets), in C from start to end, as net:fit in
** Lua with the same options: "epochs=10 batch_size=32 shuffle=true"
** (defaults 1, 32, true). *loss (if not NULL) gets the last epoch's loss
** (the mean over its samples, for a mean reduction). Leaves the network in
** training mode. */
BP_API backprop_status backprop_fit(backprop_net *net, const float *x,
                                    size_t n, size_t in, const float *y,
                                    const char *options, double *loss);

/* --- files --------------------------------------------------------------- */

/* Writes the network (layers and weights) in backprop's model format,
** which bp.load reads in Lua; the file is replaced whole or not at all. */
BP_API backprop_status backprop_save(backprop_net *net, const char *path);
/* Replaces the network's layers and weights with a file's (net:save or
** backprop_save, any format version). The loss and the optimizer's
** settings stay; its state starts afresh. */
BP_API backprop_status backprop_load(backprop_net *net, const char *path);

#ifdef __cplusplus
}
#endif

#endif
