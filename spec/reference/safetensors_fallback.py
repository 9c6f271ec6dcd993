"""The safetensors format in a few lines of Python, for where the
safetensors package is not installed (Debian 12 has no python3-safetensors):
save_file and load_file as safetensors.numpy's, for numpy arrays and torch
tensors. The files are what the package writes: the same header, tensors
ordered as it orders them (by dtype, then name), padded as it pads.

    from safetensors_fallback import save_file, load_file
    save_file(model.state_dict(), "model.safetensors")
    state = {k: torch.from_numpy(v) for k, v in load_file("m.safetensors").items()}
    model.load_state_dict(state)

torch_roundtrip.py and onnx_reference.py write the fixtures with it.
"""
import json
import struct

import numpy as np

# The package's dtype order (it writes larger enum values first).
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
         "I32", "U32", "F32", "F64", "I64", "U64"]
NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
         "U16": np.uint16, "F16": np.float16, "I32": np.int32, "U32": np.uint32,
         "F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64}


def _array(t):
    """(dtype name, little-endian contiguous numpy array) of a tensor."""
    if hasattr(t, "detach"):                         # a torch tensor
        import torch
        t = t.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:                # numpy has no bfloat16
            return "BF16", t.view(torch.int16).numpy().astype("<i2")
        t = t.numpy()
    a = np.asarray(t, order="C")           # (keeps a 0-d array 0-d)
    for name, dt in NUMPY.items():
        if a.dtype == dt:
            return name, a.astype(a.dtype.newbyteorder("<"))
    raise TypeError("no safetensors dtype for %s" % a.dtype)


def save_file(tensors, path, metadata=None):
    arrays = {name: _array(t) for name, t in tensors.items()}
    names = sorted(arrays, key=lambda n: (-ORDER.index(arrays[n][0]), n))
    header, at = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name in names:
        dtype, a = arrays[name]
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [at, at + a.nbytes]}
        at += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)                  # 8 + len: a multiple of 8
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name in names:
            f.write(arrays[name][1].tobytes())


def load_file(path):
    """name -> numpy array (BF16 converted to float32, exactly)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = data[8 + n + begin:8 + n + end]
        if e["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, np.dtype(NUMPY[e["dtype"]]).newbyteorder("<"))
        out[name] = a.reshape(e["shape"]).copy()
    return out


def load_metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})
