#!/usr/bin/python3
"""Reference folds for bp.data.kfold: scikit-learn's KFold and
StratifiedKFold (shuffle=False, where the folds are fully determined) on
a few label vectors, written as spec/reference/folds_ref.lua so the specs
run without Python.

Run from the repository root: /usr/bin/python3 spec/reference/make_folds.py
"""
import numpy as np
import sklearn
from sklearn.model_selection import KFold, StratifiedKFold

CASES = [
    # (k, labels): labels in order of the rows
    (3, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]),
    (5, [0, 1] * 11 + [1, 1, 1]),
    (4, [3, 1, 2, 3, 3, 1, 2, 3, 3, 3, 1, 2, 3, 2, 3, 1, 3]),
    (2, [2, 2, 1, 1, 1]),
    (10, [i % 3 + 1 for i in range(53)]),
    (3, [1] * 40 + [2] * 7 + [3] * 3),
]


def lua_list(xs):
    return "{" + ", ".join(str(int(x)) for x in xs) + "}"


def main():
    out = ["-- Made by spec/reference/make_folds.py (scikit-learn %s); do not edit."
           % sklearn.__version__,
           "-- Validation rows (1-based, ascending) of each fold.", "return {"]
    for k, y in CASES:
        y = np.array(y)
        x = np.zeros((len(y), 1))
        kf = [test + 1 for _, test in KFold(k).split(x, y)]
        skf = [test + 1 for _, test in StratifiedKFold(k).split(x, y)]
        out.append("  {k = %d, y = %s," % (k, lua_list(y)))
        out.append("   kfold = {%s}," % ", ".join(lua_list(t) for t in kf))
        out.append("   stratified = {%s}}," % ", ".join(lua_list(t) for t in skf))
    out.append("}")
    with open("spec/reference/folds_ref.lua", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
