#!/usr/bin/python3
"""Generate spec/reference/torch_ref.lua, reference results from PyTorch.

Run from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 spec/reference/make_reference.py > spec/reference/torch_ref.lua

Everything is float32, with the inputs and weights written out below, so
spec/reference_spec.lua rebuilds the same networks through
net:parameters() and compares, without needing PyTorch:
  * 3-4-2 networks, one per activation family (hidden Sigmoid, Tanh, ReLU,
    LeakyReLU(0.1); heads Sigmoid, Softmax, LogSoftmax): outputs, and for
    each applicable loss (MSE; BCE on (0, 1) outputs; cross-entropy with
    labels 1..C, converted to torch's 0-based) the loss, the gradient of
    every parameter and of the input;
  * optimizer trajectories: 3 full-batch steps of SGD and Adam variants on
    the Tanh network with MSE, the parameters after each step.
float32 values are written as the shortest decimal that round-trips them
(numpy's str of a float32), hyperparameters (Python floats) with repr().
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)

X = [[0.5, -1.0, 1.5],
     [-0.25, 0.75, -1.25],
     [1.0, 0.2, -0.6],
     [-1.5, -0.4, 0.3],
     [0.1, 1.2, 0.9]]
W1 = [[0.3, -0.5, 0.8],
      [-0.7, 0.2, 0.4],
      [0.6, 0.9, -0.3],
      [-0.2, -0.6, -0.9]]
B1 = [0.1, -0.2, 0.05, 0.3]
W2 = [[0.5, -0.4, 0.3, 0.7],
      [-0.6, 0.8, -0.2, 0.1]]
B2 = [0.05, -0.1]
Y_MSE = [[0.2, -0.3], [0.5, 0.1], [-0.4, 0.6], [0.9, -0.8], [0.0, 0.3]]
Y_BCE = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.25, 0.75]]
LABELS = [1, 2, 2, 1, 2]            # 1-based, as backprop takes them

ACT = {
    "Sigmoid": lambda z: torch.sigmoid(z),
    "Tanh": lambda z: torch.tanh(z),
    "ReLU": lambda z: F.relu(z),
    "LeakyReLU": lambda z, a: F.leaky_relu(z, a),
    "Softmax": lambda z: F.softmax(z, dim=-1),
    "LogSoftmax": lambda z: F.log_softmax(z, dim=-1),
}

# name, layers (as backprop constructors), losses that apply
NETS = [
    ("sigmoid", [("Linear", 3, 4), ("Sigmoid",), ("Linear", 4, 2)], ["mse", "ce"]),
    ("tanh", [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 2)], ["mse", "ce"]),
    ("relu", [("Linear", 3, 4), ("ReLU",), ("Linear", 4, 2)], ["mse", "ce"]),
    ("leaky_relu", [("Linear", 3, 4), ("LeakyReLU", 0.1), ("Linear", 4, 2)], ["mse", "ce"]),
    ("sigmoid_head", [("Linear", 3, 4), ("Sigmoid",), ("Linear", 4, 2), ("Sigmoid",)], ["mse", "bce"]),
    ("softmax_head", [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 2), ("Softmax",)], ["mse", "bce"]),
    ("log_softmax_head", [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 2), ("LogSoftmax",)], ["mse", "ce"]),
]

OPTIMIZERS = [
    ("sgd", "SGD", {"lr": 0.1}),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}),
    ("sgd_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
    ("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd_momentum_weight_decay_nesterov", "SGD",
     {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True}),
    ("adam", "Adam", {}),
    ("adam_lr", "Adam", {"lr": 0.05}),
    ("adam_weight_decay", "Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("adam_betas_eps", "Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}),
]
OPTIM_NET, OPTIM_LOSS, OPTIM_STEPS = "tanh", "mse", 3


def t(v):
    return torch.tensor(v, dtype=torch.float32)


def params():
    return [t(W1).requires_grad_(), t(B1).requires_grad_(),
            t(W2).requires_grad_(), t(B2).requires_grad_()]


def forward(layers, ps, x):
    k = 0
    for layer in layers:
        if layer[0] == "Linear":
            x = F.linear(x, ps[k], ps[k + 1])
            k += 2
        elif layer[0] == "LeakyReLU":
            x = ACT["LeakyReLU"](x, layer[1])
        else:
            x = ACT[layer[0]](x)
    return x


def loss_of(kind, out):
    if kind == "mse":
        return F.mse_loss(out, t(Y_MSE))
    if kind == "bce":
        return F.binary_cross_entropy(out, t(Y_BCE))
    return F.cross_entropy(out, torch.tensor([c - 1 for c in LABELS]))


def lua(v, indent=""):
    """A Lua literal for numbers, strings, booleans, lists, dicts, tensors."""
    if isinstance(v, torch.Tensor):
        assert v.dtype == torch.float32
        v = v.detach().numpy().tolist()
        v = _f32(v)
    if isinstance(v, np.float32):
        return str(v)               # shortest decimal that round-trips float32
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        if all(not isinstance(e, (list, tuple, dict, torch.Tensor)) for e in v):
            return "{ " + ", ".join(lua(e) for e in v) + " }"
        inner = indent + "  "
        return "{\n" + "".join(inner + lua(e, inner) + ",\n" for e in v) + indent + "}"
    if isinstance(v, dict):
        inner = indent + "  "
        return "{\n" + "".join("%s%s = %s,\n" % (inner, k, lua(e, inner))
                               for k, e in v.items()) + indent + "}"
    raise TypeError(type(v))


def _f32(v):
    if isinstance(v, list):
        return [_f32(e) for e in v]
    return np.float32(v)


def layer_lua(layer):
    return list(layer)


def main():
    x0 = t(X)
    # ReLU inputs must stay clear of the kink for the comparison to mean much
    z = F.linear(x0, t(W1), t(B1))
    assert z.abs().min().item() > 0.05, z

    nets = []
    for name, layers, losses in NETS:
        ps = params()
        out = forward(layers, ps, x0)
        entry = {"name": name, "layers": [layer_lua(l) for l in layers],
                 "output": out, "losses": {}}
        for kind in losses:
            ps = params()
            x = t(X).requires_grad_()
            loss = loss_of(kind, forward(layers, ps, x))
            loss.backward()
            entry["losses"][kind] = {"loss": np.float32(loss.item()),
                                     "grads": [p.grad for p in ps],
                                     "dx": x.grad}
        nets.append(entry)

    layers = [l for n, l, _ in NETS if n == OPTIM_NET][0]
    trajectories = []
    for name, kind, opts in OPTIMIZERS:
        ps = params()
        cls = torch.optim.SGD if kind == "SGD" else torch.optim.Adam
        kw = dict(opts)
        if kind == "SGD" and "lr" not in kw:
            raise ValueError("SGD needs lr")
        opt = cls(ps, foreach=False, **kw)
        after, losses = [], []
        for _ in range(OPTIM_STEPS):
            opt.zero_grad()
            loss = loss_of(OPTIM_LOSS, forward(layers, ps, t(X)))
            loss.backward()
            opt.step()
            losses.append(np.float32(loss.item()))
            after.append([p.detach().clone() for p in ps])
        lua_opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}
        trajectories.append({"name": name, "optimizer": kind, "options": lua_opts,
                             "losses": losses, "params": after})

    ref = {
        "x": t(X), "params": [t(W1), t(B1), t(W2), t(B2)],
        "targets": {"mse": t(Y_MSE), "bce": t(Y_BCE), "ce": LABELS},
        "nets": nets,
        "optim": {"net": OPTIM_NET, "loss": OPTIM_LOSS, "steps": OPTIM_STEPS,
                  "cases": trajectories},
    }
    sys.stdout.write(
        "-- Generated by spec/reference/make_reference.py with PyTorch %s:\n"
        "--   /usr/bin/python3 spec/reference/make_reference.py > spec/reference/torch_ref.lua\n"
        "-- Do not edit by hand. float32 throughout; labels are 1-based.\n"
        "return %s\n" % (torch.__version__, lua(ref)))


if __name__ == "__main__":
    main()
