#!/usr/bin/python3
"""Generate spec/reference/layers_ref.lua, PyTorch results for the layers of
issue 3. Run from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 spec/reference/make_layers_reference.py > spec/reference/layers_ref.lua

Every case writes its inputs, weights and the upstream gradient R (the
objective is sum(y * R)), then PyTorch's output and gradients, all float32,
so spec/layers_reference_spec.lua rebuilds each layer through
net:parameters() and compares without PyTorch. Ids and shapes are 1-based /
Lua-style where they reach the Lua side (Embedding ids are written 1-based).
Dropout is not here: its masks come from our own generator.
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float32)


def values(shape, seed):
    """Deterministic float32 values in about [-2, 2] (no RNG involved)."""
    n = int(np.prod(shape))
    v = [math.sin(1.7 * (i + 1) + seed) * 2.0 * math.cos(0.3 * i + seed * 0.7)
         for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(shape)


def lua(v, indent="    "):
    if isinstance(v, torch.Tensor):
        v = v.detach().numpy()
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return str(np.float32(v))
        if v.ndim == 1:
            return "{ " + ", ".join(str(np.float32(x)) for x in v) + " }"
        return "{ " + ", ".join(lua(x, indent) for x in v) + " }"
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(lua(x, indent) for x in v) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + " }"
    raise TypeError(type(v))


def run(module, x, seed, params=(), train=True, grad_x=True):
    """Forward x through module, backward R; returns a dict."""
    module.train(train)
    x = x.clone().requires_grad_(grad_x)
    y = module(x)
    R = values(y.shape, seed + 100)
    (y * R).sum().backward()
    out = {"x": x.detach(), "R": R, "y": y.detach()}
    if grad_x:
        out["dx"] = x.grad
    out["dparams"] = [p.grad for p in params]
    return out


CASES = []


def case(name, ctor, args, module, x, seed, params, **kw):
    given = [p.detach().clone() for p in params]
    r = run(module, x, seed, params, **kw)
    r["name"], r["ctor"], r["args"], r["params"] = name, ctor, args, given
    CASES.append(r)
    return r


# Conv2d: 3 shapes of kernel, stride and padding
for i, (cin, cout, k, s, p, hw) in enumerate([
        (2, 3, 3, 1, 1, (5, 5)),
        (2, 3, 3, 2, 1, (6, 5)),
        (3, 2, (2, 3), (1, 2), (1, 0), (4, 7))]):
    m = nn.Conv2d(cin, cout, k, stride=s, padding=p)
    with torch.no_grad():
        m.weight.copy_(values(m.weight.shape, 10 + i) * 0.3)
        m.bias.copy_(values(m.bias.shape, 20 + i) * 0.3)
    kk = list(k) if isinstance(k, tuple) else k
    ss = list(s) if isinstance(s, tuple) else s
    pp = list(p) if isinstance(p, tuple) else p
    case("conv%d" % (i + 1), "Conv2d", [cin, cout, kk, {"stride": ss, "padding": pp}],
         m, values((2, cin) + hw, 30 + i), 40 + i, [m.weight, m.bias])

# Pools
for i, (cls, ctor, k, s, p) in enumerate([
        (nn.MaxPool2d, "MaxPool2d", 2, 2, 0),
        (nn.MaxPool2d, "MaxPool2d", 3, 2, 1),
        (nn.AvgPool2d, "AvgPool2d", 2, 2, 0),
        (nn.AvgPool2d, "AvgPool2d", 3, 2, 1),
        (nn.AvgPool2d, "AvgPool2d", (2, 3), (1, 2), (1, 1))]):
    m = cls(k, stride=s, padding=p)
    kk = list(k) if isinstance(k, tuple) else k
    ss = list(s) if isinstance(s, tuple) else s
    pp = list(p) if isinstance(p, tuple) else p
    case("pool%d" % (i + 1), ctor, [kk, {"stride": ss, "padding": pp}], m,
         values((2, 2, 6, 7), 50 + i), 60 + i, [])

# BatchNorm: train (batch statistics, running statistics after 2 passes)
# then eval (running statistics)
for i, (cls, ctor, shape, mom) in enumerate([
        (nn.BatchNorm1d, "BatchNorm1d", (5, 3), 0.1),
        (nn.BatchNorm1d, "BatchNorm1d", (4, 3, 2), 0.3),
        (nn.BatchNorm2d, "BatchNorm2d", (3, 2, 3, 4), 0.1)]):
    C = shape[1]
    m = cls(C, momentum=mom)
    with torch.no_grad():
        m.weight.copy_(1.0 + 0.5 * values((C,), 70 + i))
        m.bias.copy_(0.5 * values((C,), 80 + i))
    x1, x2 = values(shape, 90 + i), values(shape, 95 + i) + 0.5
    given = [m.weight.detach().clone(), m.bias.detach().clone()]
    m.train()
    with torch.no_grad():
        m(x1)                               # first pass: running stats move
    r = run(m, x2, 100 + i, [m.weight, m.bias], train=True)
    m.eval()
    for p in (m.weight, m.bias):
        p.grad = None
    e = run(m, x2, 110 + i, [m.weight, m.bias], train=False)
    CASES.append({"name": "bn%d" % (i + 1), "ctor": ctor, "args": [C, {"momentum": mom}],
                  "params": given, "x1": x1, "x": x2, "R": r["R"], "y": r["y"],
                  "dx": r["dx"], "dparams": r["dparams"],
                  "running_mean": m.running_mean.clone(),
                  "running_var": m.running_var.clone(),
                  "eval_R": e["R"], "eval_y": e["y"], "eval_dx": e["dx"],
                  "eval_dparams": e["dparams"]})

# LayerNorm over the last dim
for i, shape in enumerate([(3, 5), (2, 3, 4)]):
    D = shape[-1]
    m = nn.LayerNorm(D)
    with torch.no_grad():
        m.weight.copy_(1.0 + 0.5 * values((D,), 120 + i))
        m.bias.copy_(0.5 * values((D,), 130 + i))
    case("ln%d" % (i + 1), "LayerNorm", [D], m, values(shape, 140 + i), 150 + i,
         [m.weight, m.bias])

# Activations on values in [-4, 4] (and beyond Softplus's threshold)
xa = torch.linspace(-4.0, 4.0, 17).reshape(1, 17) + 0.05
for name, ctor, args, m in [
        ("gelu", "GELU", [], nn.GELU()),
        ("elu", "ELU", [], nn.ELU()),
        ("elu_alpha", "ELU", [0.7], nn.ELU(alpha=0.7)),
        ("silu", "SiLU", [], nn.SiLU()),
        ("softplus", "Softplus", [], nn.Softplus()),
        ("softplus_beta", "Softplus", [2.0, 3.0], nn.Softplus(beta=2.0, threshold=3.0)),
        ("identity", "Identity", [], nn.Identity())]:
    case(name, ctor, args, m, xa, 160, [])

# Embedding: ids written 1-based
m = nn.Embedding(6, 3)
with torch.no_grad():
    m.weight.copy_(values((6, 3), 170))
ids = torch.tensor([[1, 5, 0, 5], [2, 2, 3, 4]])
y = m(ids)
R = values(y.shape, 171)
(y * R).sum().backward()
CASES.append({"name": "embedding", "ctor": "Embedding", "args": [6, 3],
              "params": [values((6, 3), 170)], "x": (ids + 1).float(), "R": R,
              "y": y.detach(), "dparams": [m.weight.grad]})

print("-- Generated by spec/reference/make_layers_reference.py with PyTorch %s:" % torch.__version__)
print("--   /usr/bin/python3 spec/reference/make_layers_reference.py > spec/reference/layers_ref.lua")
print("-- Do not edit by hand. float32 throughout; objective sum(y * R).")
print("return {")
for c in CASES:
    print("  {")
    for k in ["name", "ctor", "args", "params", "x1", "x", "R", "y", "dx", "dparams",
              "running_mean", "running_var", "eval_R", "eval_y", "eval_dx", "eval_dparams"]:
        if k in c:
            print("    %s = %s," % (k, lua(c[k])))
    print("  },")
print("}")
