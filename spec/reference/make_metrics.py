#!/usr/bin/python3
"""Make spec/reference/metrics_ref.lua: bp.metrics cases with the values
scikit-learn computes for them.

Run from the repository root: /usr/bin/python3 spec/reference/make_metrics.py
(Debian's python3-sklearn; the output is committed, so the specs never need
Python). Inputs are rounded to float32 first, since that is what a backprop
tensor holds; scikit-learn then works on those exact values in float64.

Conventions mapped onto scikit-learn's:
- one output column: y_pred = (p >= threshold), the score for ROC AUC is p,
  log_loss gets p (the probability of class 1);
- C columns: y_pred = argmax + 1 (first on ties), labels 1..C;
- scores that are not probabilities go through a softmax (in float64)
  before roc_auc_score(multi_class="ovr") and log_loss, as bp.metrics does;
- two columns: the ROC score is column 2 minus column 1;
- log_loss: eps = 1e-15 and labels = 1..C (so an absent class is no error).
"""
import numpy as np
from sklearn import metrics as M

rng = np.random.default_rng(20261205)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def softmax(v):
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def is_prob(v):
    return bool((v >= 0).all() and (np.abs(v.sum(axis=1) - 1) <= 1e-3).all())


def prf(y, yp, labels, out, prefix=""):
    for avg in ("macro", "weighted", "micro"):
        for name, f in (("precision", M.precision_score), ("recall", M.recall_score),
                        ("f1", M.f1_score)):
            out[f"{name}_{avg}"] = f(y, yp, average=avg, zero_division=0)
    for name, f in (("precision", M.precision_score), ("recall", M.recall_score),
                    ("f1", M.f1_score)):
        out[f"{name}_none"] = list(f(y, yp, average=None, labels=labels, zero_division=0))


def binary_case(name, p, y, threshold=0.5):
    p, y = f32(p), np.asarray(y, dtype=np.int64)
    yp = (p >= threshold).astype(np.int64)
    e = {"accuracy": M.accuracy_score(y, yp)}
    for nm, f in (("precision", M.precision_score), ("recall", M.recall_score), ("f1", M.f1_score)):
        e[f"{nm}_binary"] = f(y, yp, zero_division=0)
        e[f"{nm}_binary_pos0"] = f(y, yp, pos_label=0, zero_division=0)
    prf(y, yp, [0, 1], e)
    e["roc_auc"] = M.roc_auc_score(y, p)
    e["log_loss"] = M.log_loss(y, p, eps=1e-15, labels=[0, 1])
    e["confusion"] = M.confusion_matrix(y, yp, labels=[0, 1]).tolist()
    return {"name": name, "kind": "binary", "threshold": threshold,
            "pred": [[v] for v in p], "target": y.tolist(), "expected": e}


def multi_case(name, v, y):
    v, y = f32(v), np.asarray(y, dtype=np.int64)
    c = v.shape[1]
    labels = list(range(1, c + 1))
    yp = v.argmax(axis=1) + 1
    prob = v if is_prob(v) else softmax(v)
    e = {"accuracy": M.accuracy_score(y, yp)}
    prf(y, yp, labels, e)
    if c == 2:
        for nm, f in (("precision", M.precision_score), ("recall", M.recall_score),
                      ("f1", M.f1_score)):
            e[f"{nm}_binary"] = f(y, yp, pos_label=2, zero_division=0)
        e["roc_auc"] = M.roc_auc_score(y == 2, v[:, 1] - v[:, 0])
    elif len(set(y.tolist())) == c:
        e["roc_auc_macro"] = M.roc_auc_score(y, prob, multi_class="ovr", average="macro",
                                             labels=labels)
        e["roc_auc_weighted"] = M.roc_auc_score(y, prob, multi_class="ovr", average="weighted",
                                                labels=labels)
    e["log_loss"] = M.log_loss(y, prob, eps=1e-15, labels=labels)
    e["confusion"] = M.confusion_matrix(y, yp, labels=labels).tolist()
    return {"name": name, "kind": "multi", "pred": v.tolist(), "target": y.tolist(),
            "expected": e}


def regression_case(name, pred, target):
    pred, target = f32(pred), f32(target)
    e = {"mae": M.mean_absolute_error(target, pred),
         "mse": M.mean_squared_error(target, pred),
         "rmse": M.mean_squared_error(target, pred, squared=False),
         "r2": M.r2_score(target, pred)}
    return {"name": name, "kind": "regression", "pred": pred.tolist(),
            "target": target.tolist(), "expected": e}


def cases():
    out = []
    # Binary: probabilities that lean towards the truth.
    y = rng.integers(0, 2, 60)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, 60), 0.001, 0.999)
    out.append(binary_case("binary probabilities", p, y))
    out.append(binary_case("binary, threshold 0.3", p, y, 0.3))
    # Ties in the scores (rounded to tenths): AUC with tied ranks.
    y = rng.integers(0, 2, 50)
    p = np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, 50), 0, 1), 1)
    out.append(binary_case("binary, tied scores", p, y))
    # Four classes, probabilities from a softmax.
    y = rng.integers(1, 5, 80)
    logits = rng.normal(0, 1, (80, 4))
    logits[np.arange(80), y - 1] += 1.2
    out.append(multi_case("4 classes, probabilities", softmax(logits), y))
    # The same classes as raw scores (what a Linear layer gives
    # CrossEntropyLoss): not probabilities.
    out.append(multi_case("4 classes, raw scores", logits * 2.5 - 1, y))
    # Three classes, class 3 never predicted: its precision is 0.
    y = rng.integers(1, 4, 40)
    s = rng.normal(0, 1, (40, 3))
    s[:, 2] -= 10
    out.append(multi_case("3 classes, one never predicted", softmax(s), y))
    # Two softmax columns for a binary problem.
    y = rng.integers(1, 3, 45)
    s = rng.normal(0, 1, (45, 2))
    s[np.arange(45), y - 1] += 0.8
    out.append(multi_case("2 columns", s, y))
    # Regression: one output, and three.
    t = rng.normal(3, 2, 70)
    out.append(regression_case("regression, one output", t + rng.normal(0, 0.7, 70), t))
    t = rng.normal(0, 1, (50, 3)) * [1, 10, 0.1]
    out.append(regression_case("regression, three outputs",
                               t + rng.normal(0, 0.5, (50, 3)) * [1, 4, 0.05], t))
    return out


def lua(v, ind=""):
    if isinstance(v, dict):
        inner = ind + "  "
        items = [f"{inner}[{lua(k)}] = {lua(v[k], inner)}," for k in sorted(v)]
        return "{\n" + "\n".join(items) + "\n" + ind + "}"
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], (list, tuple, dict)):
            inner = ind + "  "
            return "{\n" + "\n".join(inner + lua(x, inner) + "," for x in v) + "\n" + ind + "}"
        return "{ " + ", ".join(lua(x) for x in v) + " }"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v)) if float(v) == float(v) else "0/0"


def main():
    import sklearn
    body = lua({"sklearn": sklearn.__version__, "cases": cases()})
    with open("spec/reference/metrics_ref.lua", "w") as f:
        f.write("-- Made by spec/reference/make_metrics.py (scikit-learn %s); do not edit.\n"
                % sklearn.__version__)
        f.write("return " + body + "\n")


if __name__ == "__main__":
    main()
