#!/usr/bin/python3
"""Generate spec/reference/losses_ref.lua, loss values and gradients from PyTorch.

Run from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 spec/reference/make_losses.py > spec/reference/losses_ref.lua

Each case is one loss with its options (as backprop takes them: labels
1-based, weights as lists), one prediction and target, and under each
reduction:
  * "mean" and "sum": the loss and d(loss)/d(prediction);
  * "none": the per-element (or per-sample) losses, d(sum)/d(prediction)
    (what loss:backward() returns) and d(sum(g * losses))/d(prediction)
    for a fixed g (what loss:backward(g) returns).
spec/losses_reference_spec.lua replays them without needing PyTorch.
float32 values are written as the shortest decimal that round-trips them.
"""
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_reference import lua  # noqa: E402  (same literal writer)

torch.set_default_dtype(torch.float32)

# 4 x 3 scores with small, mid and large values, and a column of extremes
# for the losses that must stay stable (logits of +-60 overflow exp in float).
SCORES = [[0.5, -1.25, 2.0],
          [-0.3, 0.8, -2.5],
          [1.7, 0.05, -0.6],
          [-1.1, 3.2, 0.4]]
EXTREME = [[60.0, -60.0, 0.0],
           [-35.0, 35.0, 1e-3],
           [100.0, -100.0, 5.0],
           [-0.25, 0.25, -8.0]]
TARGET = [[0.2, -1.0, 3.1],        # regression targets: some residuals
          [-0.3, 2.4, -2.0],       # beyond delta, some inside
          [0.9, 0.05, -0.7],
          [-3.0, 3.0, 0.9]]
PROBS = [[0.9, 0.2, 0.6],
         [0.05, 0.7, 0.35],
         [0.5, 0.999, 0.01],
         [0.3, 0.45, 0.8]]
SOFT = [[1.0, 0.0, 0.25],
        [0.0, 1.0, 0.5],
        [1.0, 1.0, 0.0],
        [0.75, 0.0, 1.0]]
LABELS = [3, 2, 1, 2]               # 1-based
WEIGHT = [0.5, 2.0, 1.25]
POS_WEIGHT = [3.0, 0.5, 1.0]
G = [[0.5, -1.0, 2.0],              # outer gradient for "none" (4 x 3)
     [1.5, 0.25, -0.75],
     [-2.0, 1.0, 0.5],
     [0.1, 3.0, -1.5]]
G_ROWS = [0.5, -1.5, 2.0, 0.25]     # outer gradient for per-sample losses


def t(v):
    return torch.tensor(v, dtype=torch.float32)


def labels0():
    return torch.tensor([c - 1 for c in LABELS])


def log_probs():
    return torch.log_softmax(t(SCORES), dim=1).detach()


# name, backprop constructor, options (backprop's), torch module factory,
# prediction, target (as written for backprop), torch target
CASES = [
    ("mse", "MSELoss", {}, lambda r: nn.MSELoss(reduction=r), SCORES, TARGET),
    ("l1", "L1Loss", {}, lambda r: nn.L1Loss(reduction=r), SCORES, TARGET),
    ("huber", "HuberLoss", {}, lambda r: nn.HuberLoss(reduction=r), SCORES, TARGET),
    ("huber_delta_0.5", "HuberLoss", {"delta": 0.5},
     lambda r: nn.HuberLoss(reduction=r, delta=0.5), SCORES, TARGET),
    ("huber_delta_2", "HuberLoss", {"delta": 2.0},
     lambda r: nn.HuberLoss(reduction=r, delta=2.0), SCORES, TARGET),
    ("bce", "BCELoss", {}, lambda r: nn.BCELoss(reduction=r), PROBS, SOFT),
    ("bce_logits", "BCEWithLogitsLoss", {},
     lambda r: nn.BCEWithLogitsLoss(reduction=r), SCORES, SOFT),
    ("bce_logits_extreme", "BCEWithLogitsLoss", {},
     lambda r: nn.BCEWithLogitsLoss(reduction=r), EXTREME, SOFT),
    ("bce_logits_pos_weight", "BCEWithLogitsLoss", {"pos_weight": POS_WEIGHT},
     lambda r: nn.BCEWithLogitsLoss(reduction=r, pos_weight=t(POS_WEIGHT)), SCORES, SOFT),
    ("bce_logits_pos_weight_extreme", "BCEWithLogitsLoss", {"pos_weight": POS_WEIGHT},
     lambda r: nn.BCEWithLogitsLoss(reduction=r, pos_weight=t(POS_WEIGHT)), EXTREME, SOFT),
    ("ce", "CrossEntropyLoss", {}, lambda r: nn.CrossEntropyLoss(reduction=r), SCORES, LABELS),
    ("ce_extreme", "CrossEntropyLoss", {}, lambda r: nn.CrossEntropyLoss(reduction=r),
     EXTREME, LABELS),
    ("ce_weight", "CrossEntropyLoss", {"weight": WEIGHT},
     lambda r: nn.CrossEntropyLoss(reduction=r, weight=t(WEIGHT)), SCORES, LABELS),
    ("ce_smoothing", "CrossEntropyLoss", {"label_smoothing": 0.1},
     lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1), SCORES, LABELS),
    ("ce_weight_smoothing", "CrossEntropyLoss", {"weight": WEIGHT, "label_smoothing": 0.3},
     lambda r: nn.CrossEntropyLoss(reduction=r, weight=t(WEIGHT), label_smoothing=0.3),
     SCORES, LABELS),
    ("nll", "NLLLoss", {}, lambda r: nn.NLLLoss(reduction=r), "logp", LABELS),
    ("nll_weight", "NLLLoss", {"weight": WEIGHT},
     lambda r: nn.NLLLoss(reduction=r, weight=t(WEIGHT)), "logp", LABELS),
]


def run(make, reduction, pred, target, labels):
    x = pred.clone().requires_grad_()
    y = labels0() if labels else t(target)
    out = make(reduction)(x, y)
    return x, out


def main():
    cases = []
    for name, ctor, opts, make, pred, target in CASES:
        labels = ctor in ("CrossEntropyLoss", "NLLLoss")
        p = log_probs() if pred == "logp" else t(pred)
        case = {"name": name, "loss": ctor, "options": opts,
                "prediction": p, "target": target}
        for reduction in ("mean", "sum", "none"):
            x, out = run(make, reduction, p, target, labels)
            if reduction == "none":
                out.sum().backward()
                r = {"value": out.detach(), "grad": x.grad.clone()}
                x, out = run(make, reduction, p, target, labels)
                g = t(G_ROWS) if labels else t(G)
                out.backward(g)
                r["outer"] = g
                r["grad_outer"] = x.grad.clone()
            else:
                out.backward()
                r = {"value": np.float32(out.item()), "grad": x.grad.clone()}
            case[reduction] = r
        cases.append(case)
    sys.stdout.write(
        "-- Generated by spec/reference/make_losses.py with PyTorch %s:\n"
        "--   /usr/bin/python3 spec/reference/make_losses.py > spec/reference/losses_ref.lua\n"
        "-- Do not edit by hand. float32 throughout; labels are 1-based.\n"
        "return %s\n" % (torch.__version__, lua(cases)))


if __name__ == "__main__":
    main()
