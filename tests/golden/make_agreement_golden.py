#!/usr/bin/env python3
"""Golden data for the adjusted mutual information (src/geometry/ami.rs) and the logistic
regression with balanced accuracy (src/geometry/logistic.rs), read by
tests/golden_agreement.rs.

Requires python3 with numpy, scipy, scikit-learn and safetensors (made with numpy 2.4.6,
scipy 1.17.1, scikit-learn 1.9.1; the versions used are recorded in the JSON). Run from the
repository root or anywhere:

    python3 tests/golden/make_agreement_golden.py

Input: the first 1200 rows of the bundled layer-3 MiniLM-L6 TopK SAE decoder
(public/data/minilm-l6-topk4096-layer3.safetensors, tensor W_dec, 4096 x 384 f16).

Writes into tests/golden/agreement/:
  x.npy               1200 x 384 f32: those rows (f16 -> f32 is exact). Everything below uses
                      x.astype(float64) (sklearn would otherwise fit in float32).
  labels_k2.npy       uint32, KMeans(2, random_state=0, n_init=10) labels of x.
  labels_k4.npy       uint32, KMeans(4, ...) labels.
  labels_k7.npy       uint32, KMeans(7, ...) labels.
  labels_skew.npy     uint32, a heavily unbalanced labeling: 0 for rows whose norm is below the
                      95th percentile, else 1 + (row index mod 3) (so ~95% / ~1.7% x 3).
  labels_bins.npy     uint32, the first coordinate cut into 5 quantile bins, with label values
                      10, 20, ..., 50 (not contiguous, not starting at 0).
  golden.json         for every AMI pair: adjusted_mutual_info_score (arithmetic),
                      mutual_info_score, both label entropies and the expected mutual
                      information; for the 2- and 4-class logistic problems:
                      LogisticRegression(max_iter=1000) fitted on rows [0, 960) (the first
                      80% by index), its coef_, intercept_, n_iter_, the objective
                      (1/n) sum log-loss + ||W||^2 / (2 C n) at its solution (sklearn's own
                      LinearModelLoss, cross-checked with numpy), the predicted labels of rows
                      [960, 1200) and their balanced_accuracy_score.

Tolerances checked by tests/golden_agreement.rs: AMI, MI, EMI and entropies 1e-9 absolute;
logistic: balanced accuracy within 0.01 of sklearn's, our objective at our solution <= sklearn's
objective at its solution * (1 + 1e-6), predicted test labels agreeing on >= 99% of rows.
"""

import json
import os

import numpy as np
import scipy
import sklearn
from safetensors.numpy import load_file
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._linear_loss import LinearModelLoss
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
from sklearn.metrics import (
    adjusted_mutual_info_score,
    balanced_accuracy_score,
    mutual_info_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.metrics.cluster._expected_mutual_info_fast import expected_mutual_information
from sklearn.metrics.cluster._supervised import _entropy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "agreement")
SOURCE = os.path.join(ROOT, "public", "data", "minilm-l6-topk4096-layer3.safetensors")
ROWS = 1200
TRAIN = 960  # first 80% by index
C = 1.0


def save_u32(name, labels):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(labels, dtype=np.uint32))
    return np.load(os.path.join(OUT, name))


def kmeans_labels(x, k):
    return KMeans(n_clusters=k, random_state=0, n_init=10).fit(x).labels_


def ami_entry(name_true, name_pred, labels):
    t, p = labels[name_true], labels[name_pred]
    cont = contingency_matrix(t, p, sparse=True)
    return {
        "labels_true": name_true,
        "labels_pred": name_pred,
        "ami": float(adjusted_mutual_info_score(t, p, average_method="arithmetic")),
        "mi": float(mutual_info_score(t, p)),
        "emi": float(expected_mutual_information(cont, len(t))),
        "entropy_true": float(_entropy(t)),
        "entropy_pred": float(_entropy(p)),
    }


def objective(x, y, coef, intercept):
    """sklearn's lbfgs objective: mean log-loss + ||W||^2 / (2 C n)."""
    n = x.shape[0]
    classes = np.unique(y)
    if len(classes) == 2:
        loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=True)
        w = np.concatenate([coef.ravel(), intercept])
        target = (y == classes[1]).astype(np.float64)
    else:
        loss = LinearModelLoss(
            base_loss=HalfMultinomialLoss(n_classes=len(classes)), fit_intercept=True
        )
        w = np.hstack([coef, intercept[:, None]])
        target = np.searchsorted(classes, y).astype(np.float64)
    value = float(loss.loss(w, x, target, l2_reg_strength=1.0 / (C * n)))
    # Cross-check with plain numpy.
    z = x @ coef.T + intercept
    if len(classes) == 2:
        z = z[:, 0]
        pointwise = np.logaddexp(0, z) - target * z
    else:
        lse = np.logaddexp.reduce(z, axis=1)
        pointwise = lse - z[np.arange(n), target.astype(int)]
    plain = pointwise.mean() + np.sum(coef**2) / (2 * C * n)
    assert abs(plain - value) <= 1e-12 * max(1.0, abs(value)), (plain, value)
    return value


def logistic_entry(x, name, y):
    xtr, ytr, xte, yte = x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]
    model = LogisticRegression(max_iter=1000).fit(xtr, ytr)
    pred = model.predict(xte)
    return {
        "labels": name,
        "train_rows": TRAIN,
        "classes": [int(c) for c in model.classes_],
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "n_iter": int(model.n_iter_[0]),
        "objective": objective(xtr, ytr, model.coef_, model.intercept_),
        "predicted_test": [int(v) for v in pred],
        "balanced_accuracy_test": float(balanced_accuracy_score(yte, pred)),
        "train_accuracy": float(np.mean(model.predict(xtr) == ytr)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    w = load_file(SOURCE)["W_dec"]
    assert w.dtype == np.float16 and w.shape == (4096, 384), (w.dtype, w.shape)
    np.save(os.path.join(OUT, "x.npy"), np.ascontiguousarray(w[:ROWS], dtype=np.float32))
    x = np.load(os.path.join(OUT, "x.npy")).astype(np.float64)  # exactly the committed values

    labels = {
        "k2": save_u32("labels_k2.npy", kmeans_labels(x, 2)),
        "k4": save_u32("labels_k4.npy", kmeans_labels(x, 4)),
        "k7": save_u32("labels_k7.npy", kmeans_labels(x, 7)),
    }
    norms = np.linalg.norm(x, axis=1)
    skew = np.where(norms < np.percentile(norms, 95), 0, 1 + np.arange(ROWS) % 3)
    labels["skew"] = save_u32("labels_skew.npy", skew)
    edges = np.quantile(x[:, 0], [0.2, 0.4, 0.6, 0.8])
    labels["bins"] = save_u32("labels_bins.npy", 10 * (1 + np.searchsorted(edges, x[:, 0])))

    pairs = [
        ("k4", "k7"),
        ("k7", "k4"),
        ("k2", "k4"),
        ("k4", "k4"),
        ("k7", "skew"),
        ("skew", "bins"),
        ("bins", "k2"),
        ("k4", "bins"),
    ]
    golden = {
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
        },
        "rows": ROWS,
        "cluster_sizes": {
            k: {str(int(a)): int(b) for a, b in zip(*np.unique(v, return_counts=True))}
            for k, v in labels.items()
        },
        "ami": [ami_entry(a, b, labels) for a, b in pairs],
        "logistic": [logistic_entry(x, "k2", labels["k2"]), logistic_entry(x, "k4", labels["k4"])],
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    for e in golden["ami"]:
        print(e["labels_true"], e["labels_pred"], e["ami"], e["mi"], e["emi"])
    for e in golden["logistic"]:
        print(e["labels"], "n_iter", e["n_iter"], "objective", e["objective"],
              "bacc", e["balanced_accuracy_test"], "train acc", e["train_accuracy"])


if __name__ == "__main__":
    main()
