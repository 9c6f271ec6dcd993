"""bench/baselines/torch_bench.py WORKLOAD THREADS: the PyTorch baseline.

Run with /usr/bin/python3 (Debian's python3-torch). WORKLOAD is one of
classic_b1, classic_b32, fmnist, fmnist_adam, cnn, game. Same networks, hyperparameters,
initial weights ($BENCH_DIR/*_init.txt), data and visiting order as
bench/ours/*.lua; prints one RESULT line for bench/run.lua. float32
throughout, torch.set_num_threads(THREADS), wall-clock time.
"""

import gzip
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

DIR = os.environ["BENCH_DIR"]


def env_number(name, default):
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def read_blocks(path):
    """Exchange file blocks ("name rows cols" then the numbers) as arrays."""
    tok = open(path).read().split()
    out, i = {}, 0
    while i < len(tok):
        name, rows, cols = tok[i], int(tok[i + 1]), int(tok[i + 2])
        n = rows * cols
        out[name] = np.array(tok[i + 3:i + 3 + n], dtype=np.float64).reshape(rows, cols)
        i += 3 + n
    return out


def load_params(net, blocks):
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for k, lin in enumerate(linears, 1):
            lin.weight.copy_(torch.from_numpy(blocks["W%d" % k]).float())
            lin.bias.copy_(torch.from_numpy(blocks["b%d" % k].reshape(-1)).float())


def best_of(f, min_time, max_reps):
    best, total, reps, result = float("inf"), 0.0, 0, None
    while True:
        t0 = time.perf_counter()
        result = f()
        t = time.perf_counter() - t0
        best = min(best, t)
        total += t
        reps += 1
        if total >= min_time or reps >= max_reps:
            return best, result, reps


def result(**fields):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parts = ["RESULT"]
    for k in ("workload", "name", "metric", "value", "acc", "loss", "check", "reps"):
        if k in fields:
            v = fields[k]
            parts.append("%s=%s" % (k, ("%.9g" % v) if isinstance(v, float) else v))
    parts.append("rss_kb=%d" % rss)
    if fields.get("note"):
        parts.append("note=" + fields["note"])
    print(" ".join(parts), flush=True)


def classic(batch, name):
    epochs = int(env_number("BENCH_CLASSIC_EPOCHS", 100))
    data = read_blocks(os.path.join(DIR, "classic_data.txt"))
    init = read_blocks(os.path.join(DIR, "classic_init.txt"))
    X = torch.from_numpy(data["X"]).float()
    Y = torch.from_numpy(data["Y"]).float()
    n = X.shape[0]
    net = nn.Sequential(nn.Linear(30, 16), nn.Sigmoid(), nn.Linear(16, 1), nn.Sigmoid())
    mse = nn.MSELoss()
    # Rows sliced beforehand, as a PyTorch user with a fixed order would.
    batches = [(X[s:s + batch], Y[s:s + batch]) for s in range(0, n, batch)]

    def train():
        load_params(net, init)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        total = 0.0
        for _ in range(epochs):
            total = 0.0
            for xb, yb in batches:
                opt.zero_grad()
                loss = mse(net(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
        return total / n

    t, last, reps = best_of(train, env_number("BENCH_MIN_TIME", 1.0), 20)
    with torch.no_grad():
        acc = ((net(X) >= 0.5).float() == Y).float().mean().item()
    result(workload="classic_b%d" % batch, name=name, metric="samples/s",
           value=n * epochs / t, reps=reps, loss=last, acc=acc,
           note="loop over pre-sliced batches")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def train_epochs(net, opt, loss_fn, X, Y, epochs):
    """Epochs over X, Y in order, batches of 64: each epoch's seconds, and
    the last epoch's mean loss."""
    n = X.shape[0]
    times, last = [], 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        total = 0.0
        for s in range(0, n, 64):
            xb, yb = X[s:s + 64], Y[s:s + 64]
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        times.append(time.perf_counter() - t0)
        last = total / n
    return times, last


def fmnist(name, workload="fmnist"):
    epochs = int(env_number("BENCH_EPOCHS", 2))
    root = os.environ.get("BENCH_FMNIST", "/usr/share/datasets/fashion-mnist")
    order = read_blocks(os.path.join(DIR, "fmnist_order.txt"))["perm"].reshape(-1).astype(np.int64) - 1
    init = read_blocks(os.path.join(DIR, "fmnist_init.txt"))
    X = torch.from_numpy(read_idx(root + "/train-images-idx3-ubyte.gz").reshape(-1, 784)[order]
                         .astype(np.float32) / 255)
    Y = torch.from_numpy(read_idx(root + "/train-labels-idx1-ubyte.gz")[order].astype(np.int64))
    TX = torch.from_numpy(read_idx(root + "/t10k-images-idx3-ubyte.gz").reshape(-1, 784)
                          .astype(np.float32) / 255)
    TY = torch.from_numpy(read_idx(root + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    load_params(net, init)
    ce = nn.CrossEntropyLoss()
    if workload == "fmnist_adam":        # bench/ours/optim.lua's Adam, PyTorch's defaults
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    times, last = train_epochs(net, opt, ce, X, Y, epochs)
    with torch.no_grad():
        acc = (net(TX).argmax(1) == TY).float().mean().item()
    result(workload=workload, name=name, metric="s/epoch", value=min(times),
           reps=epochs, loss=last, acc=acc,
           note="best of %d epochs; acc on the test set; OPENBLAS_NUM_THREADS=%s" % (epochs, os.environ.get("OPENBLAS_NUM_THREADS", "unset")))


def cnn(name):
    """bench/ours/cnn.lua's CNN, training run and test, from its weights."""
    rows = int(env_number("BENCH_CNN_ROWS", 6400))
    epochs = int(env_number("BENCH_CNN_EPOCHS", 2))
    root = os.environ.get("BENCH_FMNIST", "/usr/share/datasets/fashion-mnist")
    X = torch.from_numpy(read_idx(root + "/train-images-idx3-ubyte.gz")[:rows]
                         .reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    Y = torch.from_numpy(read_idx(root + "/train-labels-idx1-ubyte.gz")[:rows].astype(np.int64))
    TX = torch.from_numpy(read_idx(root + "/t10k-images-idx3-ubyte.gz")[:2000]
                          .reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    TY = torch.from_numpy(read_idx(root + "/t10k-labels-idx1-ubyte.gz")[:2000].astype(np.int64))
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    blocks = read_blocks(os.path.join(DIR, "cnn_init.txt"))
    with torch.no_grad():
        for k, p in enumerate(net.parameters(), 1):
            p.copy_(torch.from_numpy(blocks["P%d" % k].reshape(p.shape)).float())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times, last = train_epochs(net, opt, nn.CrossEntropyLoss(), X, Y, epochs)
    net.eval()
    with torch.no_grad():
        acc = (net(TX).argmax(1) == TY).float().mean().item()
    result(workload="cnn", name=name, metric="s/epoch", value=min(times) * 60000 / rows,
           reps=epochs, loss=last, acc=acc,
           note="best of %d epochs of %d images, scaled to 60000; acc on 2000 test images" % (epochs, rows))


def game(name):
    calls = int(env_number("BENCH_GAME_CALLS", 200000))
    init = read_blocks(os.path.join(DIR, "game_init.txt"))
    inputs = read_blocks(os.path.join(DIR, "game_inputs.txt"))["X"].tolist()
    net = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                        nn.Linear(32, 4), nn.Tanh())
    load_params(net, init)
    ni = len(inputs)

    def one(x):                     # a Python list in, 4 Python floats out
        return net(torch.tensor(x)).tolist()

    with torch.no_grad():
        check = sum(sum(one(x)) for x in inputs)
        rounds = max(int(env_number("BENCH_GAME_ROUNDS", 100)), 1)
        per, best = max(calls // rounds, 1), float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            for k in range(per):
                one(inputs[k % ni])
            best = min(best, time.perf_counter() - t0)
    result(workload="game", name=name, metric="ns/call", value=best / per * 1e9,
           reps=rounds, check=check,
           note="no_grad, torch.tensor(list) in, .tolist() out, from Python")


def main():
    workload, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    name = "pytorch-%dT" % threads
    if workload.startswith("classic_b"):
        classic(int(workload[len("classic_b"):]), name)
    elif workload in ("fmnist", "fmnist_adam"):
        fmnist(name, workload)
    elif workload == "cnn":
        cnn(name)
    elif workload == "game":
        game(name)
    else:
        sys.exit("unknown workload " + workload)


if __name__ == "__main__":
    main()
