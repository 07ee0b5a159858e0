#!/usr/bin/env python3
"""Golden data for the clustering entropy (PAPER.md section 3) and the PCA behind it.

Requires python3 with numpy, scipy, scikit-learn and safetensors (made with numpy 2.4.6,
scipy 1.17.1, scikit-learn 1.9.1, safetensors 0.8.0; the versions used are recorded in the JSON).
Run from the repository root or anywhere:

    python3 tests/golden/make_entropy_golden.py

Input: the first 1200 rows of the bundled layer-3 MiniLM-L6 TopK SAE decoder
(public/data/minilm-l6-topk4096-layer3.safetensors, tensor W_dec, 4096 x 384 f16).

Writes, next to this script:
  entropy_input.npy           1200 x 384 f16: those rows, exactly as stored (f16 -> f64 is exact).
  entropy_pca_scaled.npy      50 x 384 f64: PCA(50, svd_solver='full') components of the z-scored
                              sample (StandardScaler), sklearn's sign convention.
  entropy_pca_plain.npy       50 x 384 f64: the same without z-scoring.
  entropy_golden.json         the sample and resample indices, the explained variances, and every
                              term of the entropy for k = 1 and k = 3 (read by
                              tests/golden_entropy.rs).

Reference computation (PAPER.md, "Clustering entropy"), with samples = 1000, pcs = 50,
bootstrap = 5, offset = 0.01:
  sample  = sorted(rng.choice(1200, 1000, replace=False))          (numpy default_rng, seed below)
  boots   = [rng.integers(0, 1000, 1000) for _ in range(5)]        (positions into the sample)
  X       = W[sample].astype(float64)
  Y       = PCA(50, svd_solver='full').fit_transform(StandardScaler().fit_transform(X))
  for each resample idx:  P = Y[idx]  (n = 1000 points, d = 50)
    rho_i   = distance to the k-th nearest other point of P (cdist, own entry excluded; resampled
              duplicates are at distance 0)
    lambda  = np.linalg.eigvalsh(np.cov(P, rowvar=False))           (ddof = 1)
    psi     = -gamma + sum_{j=1..k} 1/j  (= scipy.special.digamma(k + 1)), literally as PAPER.md
    H_knn   = d * mean(ln(rho + 0.01)) + mean(ln(lambda)) + ln(n - 1) - psi
    H_G     = d/2 (1 + ln 2 pi) + 1/2 sum(ln(lambda))
  gaussian = mean(H_G), knn_mean = mean(H_knn), clustering = gaussian - knn_mean
  c_b      = H_G - H_knn per resample
  ci95     = clustering -+ t.ppf(0.975, B - 1) * std(c, ddof=1) / sqrt(B)
             (= scipy.stats.t.interval(0.95, B - 1, loc=mean(c), scale=scipy.stats.sem(c)))
The k = 1 distances are cross-checked with sklearn's NearestNeighbors, the k-th neighbour by a
full sort of the cdist rows (the paper's way).
"""

import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.special
import scipy.stats
import sklearn
from safetensors.numpy import load_file
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.join(ROOT, "public", "data", "minilm-l6-topk4096-layer3.safetensors")
ROWS, SAMPLES, PCS, BOOTSTRAP, OFFSET, SEED = 1200, 1000, 50, 5, 0.01, 20241024


def paper_psi(k):
    return -np.euler_gamma + sum(1.0 / j for j in range(1, k + 1))


def entropy_terms(y, boots, k):
    d = y.shape[1]
    out = []
    for idx in boots:
        p = y[idx]
        n = len(p)
        dist = scipy.spatial.distance.cdist(p, p)
        np.fill_diagonal(dist, np.inf)  # the point itself; its resampled copies stay at 0
        rho = np.sort(dist, axis=1)[:, k - 1]
        if k == 1:
            nn = NearestNeighbors(n_neighbors=2).fit(p)
            dd, ii = nn.kneighbors(p)
            # dd[:, 0] is the point itself (or a copy of it, also at 0), dd[:, 1] the nearest other
            # entry. sklearn's brute force uses the Gram trick, so its zeros come out as ~1e-7
            # (the square root of rounding noise): agreement to 1e-6 only.
            assert np.allclose(rho, dd[:, 1], rtol=1e-9, atol=1e-6), np.max(np.abs(rho - dd[:, 1]))
        lam = np.linalg.eigvalsh(np.cov(p, rowvar=False))
        assert lam.min() > 0
        psi = paper_psi(k)
        assert abs(psi - scipy.special.digamma(k + 1)) < 1e-14
        mean_log_rho = float(np.mean(np.log(rho + OFFSET)))
        sum_log_lambda = float(np.sum(np.log(lam)))
        knn = d * mean_log_rho + sum_log_lambda / d + math.log(n - 1) - psi
        gauss = d / 2 * (1 + math.log(2 * math.pi)) + 0.5 * sum_log_lambda
        out.append({
            "gaussian": gauss,
            "knn": knn,
            "mean_log_rho": mean_log_rho,
            "sum_log_lambda": sum_log_lambda,
            "duplicates_at_zero": int(np.sum(rho == 0)),
        })
    hg = np.array([t["gaussian"] for t in out])
    hk = np.array([t["knn"] for t in out])
    c = hg - hk
    b = len(out)
    clustering = float(hg.mean() - hk.mean())
    t975 = float(scipy.stats.t.ppf(0.975, b - 1))
    half = t975 * float(np.std(c, ddof=1)) / math.sqrt(b)
    lo, hi = scipy.stats.t.interval(0.95, b - 1, loc=c.mean(), scale=scipy.stats.sem(c))
    assert abs(lo - (clustering - half)) < 1e-9 and abs(hi - (clustering + half)) < 1e-9
    return {
        "k": k,
        "psi": paper_psi(k),
        "terms": out,
        "gaussian": float(hg.mean()),
        "knn_mean": float(hk.mean()),
        "clustering": clustering,
        "per_bootstrap": [float(v) for v in c],
        "t975": t975,
        "ci95": [clustering - half, clustering + half],
    }


def main():
    w = load_file(SOURCE)["W_dec"]
    assert w.dtype == np.float16 and w.shape == (4096, 384), (w.dtype, w.shape)
    w = np.ascontiguousarray(w[:ROWS])
    np.save(os.path.join(HERE, "entropy_input.npy"), w)
    w = np.load(os.path.join(HERE, "entropy_input.npy"))  # exactly the committed values

    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(ROWS, SAMPLES, replace=False))
    boots = [rng.integers(0, SAMPLES, SAMPLES) for _ in range(BOOTSTRAP)]

    x = w[sample].astype(np.float64)
    scaler = StandardScaler()
    z = scaler.fit_transform(x)
    pca = PCA(n_components=PCS, svd_solver="full")
    y = pca.fit_transform(z)
    plain = PCA(n_components=PCS, svd_solver="full").fit(x)
    np.save(os.path.join(HERE, "entropy_pca_scaled.npy"), np.ascontiguousarray(pca.components_, dtype=np.float64))
    np.save(os.path.join(HERE, "entropy_pca_plain.npy"), np.ascontiguousarray(plain.components_, dtype=np.float64))
    ev = pca.explained_variance_
    # Gaps between consecutive explained variances (relative to the largest): the components'
    # accuracy is about eps * lambda_1 / gap.
    gaps = np.diff(ev[::-1])[::-1] if len(ev) > 1 else np.array([])

    out = {
        "generator": "tests/golden/make_entropy_golden.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "source": "public/data/minilm-l6-topk4096-layer3.safetensors W_dec rows 0..1200",
        "input": "entropy_input.npy",
        "rows": ROWS,
        "d": int(w.shape[1]),
        "seed": SEED,
        "samples": SAMPLES,
        "pcs": PCS,
        "bootstrap": BOOTSTRAP,
        "offset": OFFSET,
        "sample": [int(v) for v in sample],
        "bootstraps": [[int(v) for v in b] for b in boots],
        "pca_scaled": {
            "components": "entropy_pca_scaled.npy",
            "explained_variance": [float(v) for v in ev],
            "scaler_mean": [float(v) for v in scaler.mean_],
            "scaler_scale": [float(v) for v in scaler.scale_],
            "min_relative_gap": float(np.min(np.abs(gaps)) / ev[0]) if len(gaps) else None,
            # Scores of the first 5 sampled rows (PCA.transform of the z-scored rows).
            "scores_head": [[float(v) for v in r] for r in y[:5]],
        },
        "pca_plain": {
            "components": "entropy_pca_plain.npy",
            "explained_variance": [float(v) for v in plain.explained_variance_],
            "mean": [float(v) for v in plain.mean_],
        },
        "entropy": [entropy_terms(y, boots, k) for k in (1, 3)],
    }
    with open(os.path.join(HERE, "entropy_golden.json"), "w") as f:
        json.dump(out, f, allow_nan=False)
        f.write("\n")
    for e in out["entropy"]:
        print(f"k = {e['k']}: clustering {e['clustering']:.6f} ci95 {e['ci95']}", file=sys.stderr)
    print("wrote entropy_input.npy, entropy_pca_*.npy and entropy_golden.json", file=sys.stderr)


if __name__ == "__main__":
    main()
