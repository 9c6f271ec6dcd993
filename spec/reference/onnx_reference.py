#!/usr/bin/python3
"""backprop's ONNX export checked from outside, with Debian's python3-onnx
(1.12; it has no reference evaluator and onnxruntime is not in Debian, so
the graphs run here on a small numpy evaluator of exactly the operators
the export writes, each written from the ONNX operator specification).

For each network of interchange_nets.lua (exported by onnx_export.lua):
onnx.checker.check_model with full_check (which also runs shape
inference), the inferred output shape against the declared one, then the
graph run on the input batch against backprop's own forward.

    /usr/bin/python3 spec/reference/onnx_reference.py
        exports into a temporary directory, checks, and writes the fixtures
        spec/fixtures/onnx/<name>.onnx and <name>.safetensors (the input x
        and the evaluator's output `expected`), which spec/onnx_spec.lua
        compares with without Python
    /usr/bin/python3 spec/reference/onnx_reference.py --check DIR
        checks the exports already in DIR (spec/onnx_spec.lua runs this
        when python3-onnx is installed); writes nothing

Run from the repository root after `make`. Needs numpy and onnx only.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_fallback import load_file, save_file  # noqa: E402

F32 = np.float32
TOL = 2e-5        # |ours - evaluator| <= TOL * (1 + |evaluator|): float32 rounding


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def windows(x, a, pad_value):
    """x (N, C, H, W) padded; yields (i, j, view) for each kernel offset,
    view being the strided (N, C, Ho, Wo) slice that offset reads."""
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pad_value)
    ho = (xp.shape[2] - kh) // sh + 1
    wo = (xp.shape[3] - kw) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]


def conv(x, w, b, a):
    assert a.get("group", 1) == 1 and a.get("dilations", [1, 1]) == [1, 1]
    y = 0.0
    for i, j, v in windows(x.astype(np.float64), a, 0.0):
        y = y + np.einsum("nchw,oc->nohw", v, w[:, :, i, j].astype(np.float64))
    return y + b.reshape(1, -1, 1, 1)


def maxpool(x, a):
    return np.max(np.stack([v for _, _, v in windows(x, a, -np.inf)]), axis=0)


def avgpool(x, a):
    assert a.get("count_include_pad", 0) == 1
    kh, kw = a["kernel_shape"]
    return np.sum(np.stack([v.astype(np.float64) for _, _, v in windows(x, a, 0.0)]), axis=0) / (kh * kw)


def softmax(x, axis, log):
    z = x.astype(np.float64) - np.max(x, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def normalize(x, axis, eps):
    axes = tuple(range(axis, x.ndim))
    x = x.astype(np.float64)
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


ERF = np.vectorize(math.erf)


def run(model, x):
    """The model's output for input x: each node in order (the graph is
    topologically sorted, as ONNX requires)."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a, i = attrs(node), [env[n] for n in node.input]
        op = node.op_type
        if op == "Gemm":
            assert a == {"transB": 1}
            y = i[0].astype(np.float64) @ i[1].T.astype(np.float64) + i[2]
        elif op == "Conv":
            y = conv(i[0], i[1], i[2], a)
        elif op == "MaxPool":
            y = maxpool(i[0], a)
        elif op == "AveragePool":
            y = avgpool(i[0], a)
        elif op == "BatchNormalization":
            xx, scale, bias, mean, var = i
            shp = (1, -1) + (1,) * (xx.ndim - 2)
            y = ((xx - mean.reshape(shp)) / np.sqrt(var.reshape(shp).astype(np.float64) + a.get("epsilon", 1e-5))
                 * scale.reshape(shp) + bias.reshape(shp))
        elif op == "LayerNormalization":
            y = normalize(i[0], a["axis"] % i[0].ndim, a["epsilon"]) * i[1] + i[2]
        elif op == "ReduceMean":
            y = np.mean(i[0].astype(np.float64), axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op in ("Add", "Sub", "Mul", "Div"):
            l, r = i[0].astype(np.float64), i[1].astype(np.float64)
            y = {"Add": l + r, "Sub": l - r, "Mul": l * r, "Div": l / r}[op]
        elif op == "Sqrt":
            y = np.sqrt(i[0].astype(np.float64))
        elif op == "Erf":
            y = ERF(i[0].astype(np.float64))
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-i[0].astype(np.float64)))
        elif op == "Tanh":
            y = np.tanh(i[0].astype(np.float64))
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "LeakyRelu":
            y = np.where(i[0] >= 0, i[0], a["alpha"] * i[0].astype(np.float64))
        elif op == "Elu":
            y = np.where(i[0] > 0, i[0], a["alpha"] * np.expm1(i[0].astype(np.float64)))
        elif op == "PRelu":
            y = np.where(i[0] >= 0, i[0], i[1] * i[0].astype(np.float64))
        elif op == "Softplus":
            y = np.logaddexp(0, i[0].astype(np.float64))
        elif op == "Greater":
            y = i[0] > i[1]
        elif op == "Where":
            y = np.where(i[0], i[1], i[2])
        elif op in ("Softmax", "LogSoftmax"):
            y = softmax(i[0], a["axis"], op == "LogSoftmax")
        elif op == "Identity":
            y = i[0]
        elif op == "Flatten":
            y = i[0].reshape(int(np.prod(i[0].shape[:a["axis"]])), -1)
        elif op == "Cast":
            assert a["to"] == onnx.TensorProto.INT64
            y = i[0].astype(np.int64)
        elif op == "Gather":
            assert a.get("axis", 0) == 0
            y = i[0][i[1]]
        else:
            raise ValueError("no evaluator for " + op)
        # every float value is float32 in the graph
        env[node.output[0]] = y.astype(F32) if y.dtype.kind == "f" else y
    return env[model.graph.output[0].name]


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(path, io):
    """Check the model at path against io's x and y; returns the
    evaluator's output."""
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    out = inferred.graph.output[0]
    assert dims(out) == dims(model.graph.output[0]), (path, dims(out))
    assert dims(model.graph.input[0])[0] == "batch", path
    x, ours = io["x"], io["y"]
    got = run(model, x)
    assert got.shape == ours.shape, (path, got.shape, ours.shape)
    dev = np.max(np.abs(got.astype(np.float64) - ours) / (1 + np.abs(got)))
    assert dev <= TOL, "%s: backprop and the ONNX graph differ by %.3g" % (path, dev)
    ops = sorted({n.op_type for n in model.graph.node})
    print("ok %s: opset %d, %d nodes (%s), max deviation %.2g" % (
        os.path.basename(path), model.opset_import[0].version, len(model.graph.node),
        " ".join(ops), dev))
    return got


def check_dir(d):
    names = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".onnx"))
    assert names, "no .onnx file in " + d
    return {n: check(os.path.join(d, n + ".onnx"), load_file(os.path.join(d, n + ".safetensors")))
            for n in names}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_dir(sys.argv[2])
        return
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    os.chdir(root)
    env = dict(os.environ, LUA_PATH="src/?.lua;src/?/init.lua;;", LUA_CPATH="build/?.so;;")
    env.pop("LUA_PATH_5_4", None)
    env.pop("LUA_CPATH_5_4", None)
    tmp = tempfile.mkdtemp()
    try:
        subprocess.run(["lua5.4", "spec/reference/onnx_export.lua", tmp], env=env, check=True)
        outputs = check_dir(tmp)
        out = "spec/fixtures/onnx"
        os.makedirs(out, exist_ok=True)
        for name, y in outputs.items():
            shutil.copy(os.path.join(tmp, name + ".onnx"), os.path.join(out, name + ".onnx"))
            x = load_file(os.path.join(tmp, name + ".safetensors"))["x"]
            save_file({"x": x, "expected": y}, os.path.join(out, name + ".safetensors"),
                      {"written_by": "spec/reference/onnx_reference.py", "onnx": onnx.__version__})
        print("wrote %d models to %s" % (len(outputs), out))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
