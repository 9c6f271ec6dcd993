#!/usr/bin/python3
"""Generate spec/reference/prelu_ref.lua, PyTorch's results for PReLU. Run
from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 spec/reference/make_prelu_reference.py > spec/reference/prelu_ref.lua

Each case gives the constructor's arguments, the slopes, the input x and
the upstream gradient R (the objective is sum(y * R)), then PyTorch's
output, dL/dx and dL/dslopes, all float32, for spec/prelu_spec.lua.
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float32)


def values(shape, seed):
    """Deterministic float32 values in about [-2, 2] (no RNG involved), as
    make_layers_reference.py draws them."""
    n = int(np.prod(shape))
    v = [math.sin(1.7 * (i + 1) + seed) * 2.0 * math.cos(0.3 * i + seed * 0.7)
         for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(shape)


def lua(v):
    if isinstance(v, torch.Tensor):
        v = v.detach().numpy()
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return repr(float(np.float32(v)))
        return "{ " + ", ".join(lua(x) for x in v) + " }"
    if isinstance(v, np.floating):        # exact: the float32's own value
        return repr(float(v))
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(lua(x) for x in v) + " }"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v + '"'
    raise TypeError(type(v))


# name, num_parameters, init, input shape (batch first), seed
CASES = [
    ("one slope, vectors", 1, 0.25, (4, 5), 1),
    ("one slope, images", 1, 0.1, (2, 3, 4, 4), 2),
    ("a slope per feature", 5, 0.25, (4, 5), 3),
    ("a slope per channel, images", 3, 0.2, (2, 3, 4, 4), 4),
    ("a slope per channel, sequences", 2, 0.3, (3, 2, 6), 5),
]

print("-- Written by make_prelu_reference.py (PyTorch %s); do not edit." % torch.__version__)
print("return {")
for name, num, init, shape, seed in CASES:
    m = nn.PReLU(num_parameters=num, init=init)
    with torch.no_grad():                 # distinct slopes, some negative
        m.weight.copy_(init + 0.4 * values((num,), 10 + seed))
    slopes = m.weight.detach().clone()
    x = values(shape, 20 + seed).requires_grad_(True)
    y = m(x)
    R = values(y.shape, 30 + seed)
    (y * R).sum().backward()
    print("  {")
    print("    name = %s, num_parameters = %d, init = %s," % (lua(name), num, repr(init)))
    print("    init_weight = %s," % lua(nn.PReLU(num, init=init).weight))
    print("    slopes = %s," % lua(slopes))
    print("    x = %s," % lua(x))
    print("    R = %s," % lua(R))
    print("    y = %s," % lua(y))
    print("    dx = %s," % lua(x.grad))
    print("    dslopes = %s," % lua(m.weight.grad))
    print("  },")
print("}")
