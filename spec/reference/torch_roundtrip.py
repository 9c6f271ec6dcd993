#!/usr/bin/python3
"""The live round trip between backprop and PyTorch, for the MLP (with
BatchNorm, a Residual block and Dropout) and the small CNN of
interchange_nets.lua:

  1. backprop trains the network (torch_roundtrip.lua, a Lua process) and
     saves it with net:save_safetensors, with its eval-mode outputs and
     net:torch_code();
  2. PyTorch builds the module from that code, load_state_dict(strict=True)
     from the file, and its eval-mode outputs must agree with backprop's to
     float32 rounding;
  3. PyTorch goes on training (Adam, 20 epochs), saves state_dict() as
     safetensors (num_batches_tracked included) and its outputs;
  4. backprop loads that file (strict) into a new network, and its outputs
     must agree with PyTorch's; it then trains one more epoch.

Then it writes the fixtures the specs use without Python
(spec/fixtures/pytorch/): NAME.safetensors (PyTorch's state_dict after
step 3), NAME_bf16.safetensors (the same in bfloat16), NAME_io.safetensors
(x, and `expected`: PyTorch's outputs), and dtypes.safetensors (F64, F16,
BF16 and integer tensors with PyTorch's float32 conversions).

    /usr/bin/python3 spec/reference/torch_roundtrip.py [--no-fixtures]
    /usr/bin/python3 spec/reference/torch_roundtrip.py --check-code DIR
        for each DIR/NAME.py (a net:torch_code()), NAME.safetensors (the
        network's weights) and NAME_io.safetensors (x, y: its eval-mode
        output; `ids` when x holds Embedding ids): the module loads the
        weights strictly and gives the same outputs (spec/pytorch_spec.lua
        runs this for a network of every layer kind)

Run from the repository root after `make` (Debian's python3-torch). The
files are written with safetensors_fallback.py (Debian has no
python3-safetensors); with the package installed, step 3 also writes a
file with safetensors.torch.save_file and backprop loads that too.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_fallback import load_file, save_file  # noqa: E402

TOL = 1e-5       # |backprop - PyTorch| <= TOL * (1 + |PyTorch|): float32 rounding
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHAPES = {"mlp": (6,), "cnn": (1, 8, 8)}


def data(name):
    """Three classes, learnable, deterministic (no generator)."""
    shape = SHAPES[name]
    n_train, n_test = 96, 12
    n = n_train + n_test
    size = int(np.prod(shape))
    y = np.array([i % 3 for i in range(n)])
    x = np.array([[math.sin(1.3 * i + 0.7 * j) * 0.8 + (0.3 if j % 3 == y[i] else -0.15)
                   for j in range(size)] for i in range(n)], dtype=np.float32)
    x = x.reshape((n,) + shape)
    return {"x_train": x[:n_train], "y_train": (y[:n_train] + 1).astype(np.float32),
            "x_test": x[n_train:]}


def lua(mode, name, d):
    env = dict(os.environ, LUA_PATH="src/?.lua;src/?/init.lua;;", LUA_CPATH=os.environ.get("BACKPROP_MODDIR", "build") + "/?.so;;")
    env.pop("LUA_PATH_5_4", None)
    env.pop("LUA_CPATH_5_4", None)
    # make asan: its module needs the ASan runtime, which the spec preloads
    # into Lua processes only (not into this one).
    if os.environ.get("BACKPROP_LUA_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["BACKPROP_LUA_PRELOAD"]
    subprocess.run([os.environ.get("LUA", "lua5.4"), "spec/reference/torch_roundtrip.lua", mode, name, d],
                   env=env, check=True)


def agree(what, ours, theirs):
    dev = float(np.max(np.abs(ours.astype(np.float64) - theirs) / (1 + np.abs(theirs))))
    assert dev <= TOL, "%s: backprop and PyTorch differ by %.3g" % (what, dev)
    print("ok %s: max deviation %.2g" % (what, dev))


def roundtrip(name, d):
    save_file(data(name), os.path.join(d, name + "_data.safetensors"))
    lua("train", name, d)                                          # 1
    scope = {}
    with open(os.path.join(d, name + ".py")) as f:
        exec(f.read(), scope)
    model = scope["model"]
    state = {k: torch.from_numpy(v) for k, v in load_file(os.path.join(d, name + "_bp.safetensors")).items()}
    model.load_state_dict(state, strict=True)                      # 2
    io = load_file(os.path.join(d, name + "_data.safetensors"))
    x_test = torch.from_numpy(io["x_test"])
    with torch.no_grad():
        agree(name + ", backprop's training in PyTorch", load_file(os.path.join(d, name + "_bp_out.safetensors"))["y"],
              model.eval()(x_test).numpy())
    torch.manual_seed(0)                                           # 3
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(io["x_train"]), torch.from_numpy(io["y_train"]).long() - 1
    for _ in range(20):
        for i in range(0, len(x), 16):
            opt.zero_grad()
            loss = F.cross_entropy(model(x[i:i + 16]), y[i:i + 16])
            loss.backward()
            opt.step()
    print("PyTorch trained %s 20 more epochs: loss %.4f" % (name, loss.item()))
    with torch.no_grad():
        expected = model.eval()(x_test).numpy()
    save_file(model.state_dict(), os.path.join(d, name + "_torch.safetensors"), {"format": "pt"})
    lua("load", name, d)                                           # 4
    agree(name + ", PyTorch's training in backprop", load_file(os.path.join(d, name + "_bp_after.safetensors"))["y"],
          expected)
    try:
        from safetensors.torch import save_file as package_save
    except ImportError:
        package_save = None
    if package_save:
        package_save(model.state_dict(), os.path.join(d, name + "_torch.safetensors"))
        lua("load", name, d)
        agree(name + ", safetensors package's file in backprop",
              load_file(os.path.join(d, name + "_bp_after.safetensors"))["y"], expected)
    return model, io["x_test"], expected


def dtypes():
    """Values in every float dtype and some integers, with PyTorch's own
    conversions to float32 (`<name>.as_f32`)."""
    g = torch.Generator().manual_seed(3)
    v = torch.randn(40, generator=g, dtype=torch.float64) * 3
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 1e-40, 1e-45, 3e38, 1e39, -1e39, 65504.0, 65520.0,
                            6e-8, 2e-8, 1e-5, math.inf, -math.inf, math.nan], dtype=torch.float64)
    v = torch.cat([v, special, v * 1e-6 + 1 / 3])
    t = {"f64": v, "f32": v.float(), "f16": v.half(), "bf16": v.bfloat16(),
         "i64": torch.tensor([[0, -1, 7], [16777216, -16777216, 3]], dtype=torch.int64),
         "i32": torch.tensor([5, -9], dtype=torch.int32), "i16": torch.tensor([-300], dtype=torch.int16),
         "i8": torch.tensor([-128, 127], dtype=torch.int8), "u8": torch.tensor([0, 255, 9], dtype=torch.uint8),
         "bool": torch.tensor([True, False, True]), "scalar": torch.tensor(2.5)}
    for k in list(t):
        if k not in ("u8", "bool"):
            t[k + ".as_f32"] = t[k].float()
    return t


def check_code(d):
    for f in sorted(os.listdir(d)):
        if not f.endswith(".py"):
            continue
        name = f[:-3]
        scope = {}
        with open(os.path.join(d, f)) as src:
            exec(src.read(), scope)
        model = scope["model"]
        state = load_file(os.path.join(d, name + ".safetensors"))
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
        io = load_file(os.path.join(d, name + "_io.safetensors"))
        x = torch.from_numpy(io["x"])
        if "ids" in io:
            x = x.long() - 1                       # backprop's ids are 1-based
        with torch.no_grad():
            agree(name + ": net:torch_code() in PyTorch", io["y"], model.eval()(x).numpy())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-code":
        check_code(sys.argv[2])
        return
    os.chdir(ROOT)
    write = "--no-fixtures" not in sys.argv[1:]
    d = tempfile.mkdtemp()
    out = "spec/fixtures/pytorch"
    try:
        for name in ("mlp", "cnn"):
            model, x_test, expected = roundtrip(name, d)
            if write:
                os.makedirs(out, exist_ok=True)
                shutil.copy(os.path.join(d, name + "_torch.safetensors"), os.path.join(out, name + ".safetensors"))
                state = model.state_dict()
                save_file({k: (v.bfloat16() if v.is_floating_point() else v) for k, v in state.items()},
                          os.path.join(out, name + "_bf16.safetensors"))
                save_file({"x": x_test, "expected": expected}, os.path.join(out, name + "_io.safetensors"),
                          {"written_by": "spec/reference/torch_roundtrip.py", "torch": torch.__version__})
        if write:
            save_file(dtypes(), os.path.join(out, "dtypes.safetensors"))
            print("wrote the fixtures in " + out)
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
