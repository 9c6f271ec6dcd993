#!/usr/bin/python3
"""Generate spec/reference/optim_ref.lua, optimizer references from PyTorch.

Run from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 spec/reference/make_optim.py > spec/reference/optim_ref.lua

Reuses the inputs, weights and the 3-4-2 Tanh network with MSE loss of
make_reference.py (spec/reference_spec.lua checks that case's forward and
gradients), and records, for spec/optim_ref_spec.lua:
  * trajectories: the loss before and the parameters after each of STEPS
    full-batch steps, for every optimizer and option combination
    (torch.optim, foreach=False, the update order our core follows);
  * direct: one parameter vector stepped with given gradients, for
    precision (beta2 = 0.9999, alpha = 0.9999) and for moments that decay
    into the subnormal range (see DIRECT);
  * clipped: trajectories of SGD/Adam with clip_grad_norm_ or
    clip_grad_value_ between backward and step (what fit's clip options do);
  * clip: the gradients of one backward pass, clip_grad_norm_'s total norm
    and the clipped gradients for several norm types, and clip_grad_value_;
  * schedules: the learning rate at construction and after each step of
    torch.optim.lr_scheduler schedulers (ReduceLROnPlateau fed a fixed
    sequence of metric values).
float32 values are written as the shortest decimal that round-trips them,
Python floats (hyperparameters, learning rates) with repr().
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as R  # noqa: E402  (same inputs and helpers)

STEPS = 6
NET, LOSS = "tanh", "mse"

# name, torch class, options as backprop takes them (tuples become {a, b})
OPTIMIZERS = [
    # betas[2] = 0.8 forgets fast, so amsgrad's running maximum matters
    ("adam_fast", "Adam", {"lr": 0.1, "betas": (0.9, 0.8)}),
    ("adam_amsgrad", "Adam", {"lr": 0.1, "betas": (0.9, 0.8), "amsgrad": True}),
    ("adam_amsgrad_weight_decay", "Adam",
     {"lr": 0.1, "betas": (0.9, 0.8), "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", "AdamW", {}),
    ("adamw_lr", "AdamW", {"lr": 0.05}),
    ("adamw_weight_decay", "AdamW", {"lr": 0.05, "weight_decay": 0.5}),
    ("adamw_betas_eps", "AdamW", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}),
    ("adamw_fast", "AdamW", {"lr": 0.1, "betas": (0.9, 0.8), "weight_decay": 0.5}),
    ("adamw_amsgrad", "AdamW", {"lr": 0.1, "betas": (0.9, 0.8), "amsgrad": True, "weight_decay": 0.5}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop_alpha_eps", "RMSprop", {"alpha": 0.9, "eps": 1e-3}),
    ("rmsprop_momentum", "RMSprop", {"momentum": 0.9}),
    ("rmsprop_centered", "RMSprop", {"centered": True}),
    ("rmsprop_weight_decay", "RMSprop", {"weight_decay": 0.5}),
    ("rmsprop_all", "RMSprop",
     {"lr": 0.005, "alpha": 0.95, "eps": 1e-6, "weight_decay": 0.1, "momentum": 0.5, "centered": True}),
    ("adagrad", "Adagrad", {}),
    ("adagrad_lr", "Adagrad", {"lr": 0.1}),
    ("adagrad_lr_decay", "Adagrad", {"lr": 0.1, "lr_decay": 0.5}),
    ("adagrad_weight_decay", "Adagrad", {"lr": 0.1, "weight_decay": 0.5}),
    ("adagrad_initial_accumulator", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3}),
    ("rprop", "Rprop", {}),
    ("rprop_lr", "Rprop", {"lr": 0.1}),
    ("rprop_etas", "Rprop", {"lr": 0.1, "etas": (0.3, 1.5)}),
    ("rprop_step_sizes", "Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (0.05, 0.2)}),
]

# name, torch class, options, clipping: ("norm", max_norm, norm_type) or ("value", v)
CLIPPED = [
    ("sgd_clip_norm", "SGD", {"lr": 0.5}, ("norm", 0.1, 2.0)),
    ("sgd_clip_norm_inf", "SGD", {"lr": 0.5, "momentum": 0.9}, ("norm", 0.02, math.inf)),
    ("adam_clip_norm_1", "Adam", {"lr": 0.05}, ("norm", 0.2, 1.0)),
    ("sgd_clip_value", "SGD", {"lr": 0.5}, ("value", 0.03)),
]

# Direct updates of one parameter vector of DIRECT_N floats, zero at first,
# from given gradients (no network): segments of (steps, gradient), the
# parameters recorded after each segment. "varied": three steps with
# gradients of magnitudes 1e-4 to 1e2; with the parameters at 0 the first
# step's result is the update itself, full float precision (issue 10:
# 1 - beta2 and 1 - alpha rounded from float were off by 8e-6 relative
# for 0.9999). "fading": one step with such gradients, then 300 with
# gradients mostly 0 or tiny (1e-20 .. 1e-44, some subnormal), so the
# moments decay into the subnormal range (checked below), then two normal
# steps again.
DIRECT_N = 37
DIRECT = [
    ("adam_beta2_9999", "Adam", {"lr": 0.1, "betas": (0.9, 0.9999)}, "varied"),
    ("adam_amsgrad_beta2_9999_weight_decay", "Adam",
     {"lr": 0.1, "betas": (0.9, 0.9999), "amsgrad": True, "weight_decay": 0.1}, "varied"),
    ("adamw_beta2_9999", "AdamW", {"lr": 0.1, "betas": (0.9, 0.9999), "weight_decay": 0.1}, "varied"),
    ("rmsprop_alpha_9999", "RMSprop", {"lr": 0.01, "alpha": 0.9999}, "varied"),
    ("rmsprop_alpha_9999_centered_momentum", "RMSprop",
     {"lr": 0.01, "alpha": 0.9999, "centered": True, "momentum": 0.5, "weight_decay": 0.1}, "varied"),
    ("adagrad_direct", "Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}, "varied"),
    ("rprop_direct", "Rprop", {"lr": 0.01}, "varied"),
    ("adam_subnormal", "Adam", {"lr": 0.01, "betas": (0.6, 0.6)}, "fading"),
    ("adam_amsgrad_subnormal", "Adam", {"lr": 0.01, "betas": (0.6, 0.6), "amsgrad": True}, "fading"),
    ("adamw_amsgrad_subnormal", "AdamW",
     {"lr": 0.01, "betas": (0.6, 0.6), "amsgrad": True, "weight_decay": 0.1}, "fading"),
    ("rmsprop_subnormal", "RMSprop", {"lr": 0.01, "alpha": 0.6}, "fading"),
    ("rmsprop_centered_momentum_subnormal", "RMSprop",
     {"lr": 0.01, "alpha": 0.6, "centered": True, "momentum": 0.6}, "fading"),
]
# state entries that hold a decaying moment, per optimizer
MOMENTS = {"Adam": ["exp_avg", "exp_avg_sq"], "AdamW": ["exp_avg", "exp_avg_sq"],
           "RMSprop": ["square_avg", "grad_avg", "momentum_buffer"]}

# max_norm, norm_type: below and above the gradient's norm
CLIP_NORMS = [(0.05, 2.0), (100.0, 2.0), (0.1, 1.0), (0.01, math.inf), (0.05, 3.0), (0.05, 0.5)]
CLIP_VALUES = [0.01, 0.05]

PLATEAU_MIN = [1.0, 0.9, 0.895, 0.894, 0.89, 0.95, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.69, 0.69,
               0.69, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAU_MAX = [0.1, 0.2, 0.25, 0.28, 0.5, 0.5, 0.55, 0.61, 0.6, 0.59, 0.9, 0.9, 0.9, 0.9]

# name, torch class, options as backprop takes them, steps (or metric values)
SCHEDULES = [
    ("step", "StepLR", {"step_size": 3, "gamma": 0.5}, 10),
    ("step_default_gamma", "StepLR", {"step_size": 2}, 7),
    ("multistep", "MultiStepLR", {"milestones": [2, 5, 6], "gamma": 0.1}, 8),
    ("exponential", "ExponentialLR", {"gamma": 0.9}, 8),
    ("cosine", "CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}, 14),
    ("cosine_default", "CosineAnnealingLR", {"T_max": 4}, 10),
    ("plateau", "ReduceLROnPlateau",
     {"factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_lr": 0.02}, PLATEAU_MIN),
    ("plateau_default", "ReduceLROnPlateau", {}, PLATEAU_MIN),
    ("plateau_patience_0_abs", "ReduceLROnPlateau",
     {"patience": 0, "threshold_mode": "abs", "threshold": 0.005, "factor": 0.3}, PLATEAU_MIN),
    ("plateau_max", "ReduceLROnPlateau",
     {"mode": "max", "threshold_mode": "abs", "threshold": 0.1, "patience": 1, "factor": 0.2}, PLATEAU_MAX),
    ("plateau_max_rel", "ReduceLROnPlateau",
     {"mode": "max", "patience": 1, "factor": 0.5, "eps": 0.02}, PLATEAU_MAX),
]
SCHEDULE_LR = 0.1


def layers():
    return [l for n, l, _ in R.NETS if n == NET][0]


def loss_value(ps):
    return R.loss_of(LOSS, R.forward(layers(), ps, R.t(R.X)))


def torch_kwargs(opts):
    return dict(opts)


def lua_opts(opts):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}


def trajectory(kind, opts, clip=None):
    ps = R.params()
    opt = getattr(torch.optim, kind)(ps, foreach=False, **torch_kwargs(opts))
    losses, after, smallest = [], [], math.inf
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_value(ps)
        loss.backward()
        smallest = min(smallest, min(p.grad.abs().min().item() for p in ps))
        if clip and clip[0] == "norm":
            torch.nn.utils.clip_grad_norm_(ps, clip[1], clip[2])
        elif clip:
            torch.nn.utils.clip_grad_value_(ps, clip[1])
        opt.step()
        losses.append(np.float32(loss.item()))
        after.append([p.detach().clone() for p in ps])
    return losses, after, smallest


def direct_gradients():
    """The gradient vectors of the direct cases, fixed by a seed."""
    rng = np.random.default_rng(12)

    def varied():
        g = rng.choice([-1.0, 1.0], DIRECT_N) * 10.0 ** rng.uniform(-4, 2, DIRECT_N)
        g[[5, 20]] = 0.0
        return torch.tensor(g, dtype=torch.float32)
    tiny = np.zeros(DIRECT_N)
    tiny[[1, 8, 15, 22, 29]] = [1e-20, -1e-25, 1e-30, 1e-40, -1e-44]
    tiny = torch.tensor(tiny, dtype=torch.float32)
    assert 0 < abs(tiny[22].item()) < np.finfo(np.float32).tiny
    g1, g2, g3 = varied(), varied(), varied()
    return {"varied": [(1, g1), (1, g2), (1, g3)],
            "fading": [(1, g1), (100, tiny), (100, tiny), (100, tiny), (1, g2), (1, g3)]}


def direct(kind, opts, segments):
    p = torch.zeros(DIRECT_N, requires_grad=True)
    opt = getattr(torch.optim, kind)([p], foreach=False, **torch_kwargs(opts))
    after, subnormal = [], False
    for steps, g in segments:
        for _ in range(steps):
            p.grad = g.clone()
            opt.step()
            for key in MOMENTS.get(kind, []):
                s = opt.state[p].get(key)
                if s is not None:
                    a = s.abs()
                    subnormal = subnormal or bool(((a > 0) & (a < np.finfo(np.float32).tiny)).any())
        after.append(p.detach().clone())
    return after, subnormal


def clip_cases():
    def grads():
        ps = R.params()
        loss_value(ps).backward()
        return ps
    base = [p.grad.clone() for p in grads()]
    norms = []
    for max_norm, p in CLIP_NORMS:
        ps = grads()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, p)
        norms.append({"max_norm": max_norm, "norm_type": "inf" if math.isinf(p) else p,
                      "total_norm": float(total), "grads": [q.grad for q in ps]})
    values = []
    for v in CLIP_VALUES:
        ps = grads()
        torch.nn.utils.clip_grad_value_(ps, v)
        values.append({"clip_value": v, "grads": [q.grad for q in ps]})
    return {"grads": base, "norm": norms, "value": values}


def schedule(kind, opts, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=SCHEDULE_LR)
    sched = getattr(torch.optim.lr_scheduler, kind)(opt, **opts)
    lrs = [opt.param_groups[0]["lr"]]
    metrics = steps if isinstance(steps, list) else None
    for i in range(len(steps) if metrics else steps):
        opt.step()
        if metrics:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    entry = {"name": kind, "options": opts, "lrs": lrs}
    if metrics:
        entry["metrics"] = metrics
    return entry


def main():
    cases = []
    for name, kind, opts in OPTIMIZERS:
        losses, after, smallest = trajectory(kind, opts)
        # Rprop looks at gradient signs: a gradient within float32 noise of
        # 0 (about 1e-8 here) could flip and make the comparison meaningless.
        assert kind != "Rprop" or smallest > 1e-6, (name, smallest)
        cases.append({"name": name, "optimizer": kind, "options": lua_opts(opts),
                      "losses": losses, "params": after})
    grads = direct_gradients()
    directs = []
    for name, kind, opts, which in DIRECT:
        after, subnormal = direct(kind, opts, grads[which])
        # the fading cases must reach the subnormal range in PyTorch's state
        assert subnormal == (which == "fading"), (name, subnormal)
        directs.append({"name": name, "optimizer": kind, "options": lua_opts(opts),
                        "steps": [n for n, _ in grads[which]],
                        "grads": [g for _, g in grads[which]], "params": after})
    clipped = []
    for name, kind, opts, clip in CLIPPED:
        losses, after, _ = trajectory(kind, opts, clip)
        c = ({"clip_grad_norm": {"max_norm": clip[1],
                                 "norm_type": "inf" if math.isinf(clip[2]) else clip[2]}}
             if clip[0] == "norm" else {"clip_grad_value": clip[1]})
        clipped.append({"name": name, "optimizer": kind, "options": lua_opts(opts),
                        "clip": c, "losses": losses, "params": after})
    schedules = []
    for name, kind, opts, steps in SCHEDULES:
        e = schedule(kind, opts, steps)
        e["name"], e["scheduler"], e["options"] = name, kind, lua_opts(opts)
        schedules.append(e)
    ref = {"net": NET, "loss": LOSS, "steps": STEPS, "cases": cases, "direct": directs, "clipped": clipped,
           "clip": clip_cases(), "schedule_lr": SCHEDULE_LR, "schedules": schedules}
    sys.stdout.write(
        "-- Generated by spec/reference/make_optim.py with PyTorch %s:\n"
        "--   /usr/bin/python3 spec/reference/make_optim.py > spec/reference/optim_ref.lua\n"
        "-- Do not edit by hand. Parameters and gradients are float32; the\n"
        "-- network, inputs and targets are those of torch_ref.lua. \"inf\" as a\n"
        "-- norm_type stands for math.huge.\n"
        "return %s\n" % (torch.__version__, R.lua(ref)))


if __name__ == "__main__":
    main()
