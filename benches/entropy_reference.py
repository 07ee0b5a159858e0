#!/usr/bin/env python3
"""The clustering entropy the paper's way (numpy / scipy / scikit-learn), timed: the reference for
the entropy line of docs/BENCHMARKS.md.

    python3 benches/entropy_reference.py [FILE.safetensors] [--tensor W_dec] [--runs 1]

Default FILE: public/data/minilm-l6-topk4096-layer3.safetensors (4096 x 384 f16). PAPER.md
section 3 with its defaults: sample 5000 rows without replacement (all rows if fewer), z-score
(StandardScaler), PCA(100) (svd_solver='full'); 30 bootstrap resamples with replacement; for each,
cdist of the resample to itself and a full row sort for the nearest other point (k = 1, the
point's own zero excluded), np.cov eigenvalues, H_knn and H_G; clustering = mean(H_G) -
mean(H_knn) with the t interval (29 dof) of the per-resample values (see
src/geometry/entropy.rs for the formula choices; tests/golden/make_entropy_golden.py is the same
computation on a small input, checked term by term against the Rust code).

Prints the time of the entropy computation (after the file is loaded; best of --runs) and its
result. numpy's RNG differs from ours, so the value agrees with `sae-geometry` only up to the
resampling noise (the interval).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats
import sklearn
from safetensors.numpy import load_file
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clustering_entropy(w, samples=5000, pcs=100, bootstrap=30, k=1, offset=0.01, seed=0):
    rng = np.random.default_rng(seed)
    n = w.shape[0]
    idx = np.arange(n) if n <= samples else np.sort(rng.choice(n, samples, replace=False))
    x = w[idx].astype(np.float64)
    y = PCA(n_components=pcs, svd_solver="full").fit_transform(StandardScaler().fit_transform(x))
    s, d = y.shape
    psi = -np.euler_gamma + sum(1.0 / j for j in range(1, k + 1))
    hg, hk = [], []
    for _ in range(bootstrap):
        p = y[rng.integers(0, s, s)]
        dist = scipy.spatial.distance.cdist(p, p)
        np.fill_diagonal(dist, np.inf)
        rho = np.sort(dist, axis=1)[:, k - 1]
        lam = np.linalg.eigvalsh(np.cov(p, rowvar=False))
        sum_log_lambda = float(np.sum(np.log(lam)))
        hk.append(d * float(np.mean(np.log(rho + offset))) + sum_log_lambda / d + math.log(s - 1) - psi)
        hg.append(d / 2 * (1 + math.log(2 * math.pi)) + 0.5 * sum_log_lambda)
    hg, hk = np.array(hg), np.array(hk)
    c = hg - hk
    clustering = float(hg.mean() - hk.mean())
    half = float(scipy.stats.t.ppf(0.975, bootstrap - 1)) * float(np.std(c, ddof=1)) / math.sqrt(bootstrap)
    return clustering, (clustering - half, clustering + half), s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=os.path.join(ROOT, "public/data/minilm-l6-topk4096-layer3.safetensors"))
    ap.add_argument("--tensor", default="W_dec")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--isotropic", action="store_true",
                    help="also the entropy of an isotropic Gaussian cloud of the same shape (as the app's reference)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    w = load_file(args.file)[args.tensor]
    best = math.inf
    for _ in range(args.runs):
        t = time.perf_counter()
        clustering, ci, s = clustering_entropy(w)
        if args.isotropic:
            iso = np.random.default_rng(1).standard_normal((min(w.shape[0], 5000), w.shape[1]))
            iso_clustering, _, _ = clustering_entropy(iso)
        best = min(best, time.perf_counter() - t)
    if args.json:
        out = {"n": w.shape[0], "d": w.shape[1], "seconds": best, "clustering": clustering, "ci95": list(ci)}
        if args.isotropic:
            out["isotropic_clustering"] = iso_clustering
        print(json.dumps(out))
        return
    print(
        f"{os.path.basename(args.file)} {w.shape[0]} x {w.shape[1]}: entropy (numpy {np.__version__}, "
        f"scipy {scipy.__version__}, sklearn {sklearn.__version__}) {best:.2f} s (best of {args.runs}); "
        f"clustering {clustering:.3f} [{ci[0]:.3f}, {ci[1]:.3f}], samples {s}",
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
