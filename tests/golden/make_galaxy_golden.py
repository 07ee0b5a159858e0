#!/usr/bin/env python3
"""Golden data for the galaxy scale (paper section 3) of sae-geometry.

Requires python3 with numpy and scipy (made with numpy 2.4.6, scipy 1.17.1; the versions used are
recorded in the JSON). Run from anywhere:

    python3 tests/golden/make_galaxy_golden.py

Writes, next to this script:
  galaxy_powerlaw.npy  1200 x 200 f32: Gaussian scaled by r^-0.4 along principal direction r,
                       randomly rotated, plus a nonzero mean (planted spectrum ~ r^-0.8).
  galaxy_small.npy     40 x 12 f32 (few rows; fitted over ranks 2..10).
  galaxy_wide.npy      100 x 180 f32 (N < d: the centred covariance has rank 99, eigenvalues
                       100..180 are zero up to rounding).
  galaxy_golden.json   numpy/scipy reference values (see below); read by tests/golden_galaxy.rs.

Reference computation, per matrix W (exactly what the Rust code promises to reproduce):
  C    = np.cov(W.astype(np.float64), rowvar=False)
  eigs = np.linalg.eigvalsh(C)[::-1]                      (descending)
  for ranks first..last (1-based, inclusive):
    fit  = scipy.stats.linregress(np.log10(ranks), np.log10(eigs[first-1:last]))
    t975 = scipy.stats.t.ppf(0.975, n - 2),  ci95 = slope -+ t975 * stderr
    log_volume = np.sum(np.log(eigs[first-1:last]))
Rank ranges where an eigenvalue is zero up to rounding (<= max(eigs) * d * eps, numpy's
matrix_rank tolerance) are recorded as expected errors (kind "non-positive-eigenvalue" and the
first such rank), together with what numpy itself returns there (log10 of the negative rounding
noise gives a NaN slope).

Also: scipy.stats.t.ppf(p, dof) for several (p, dof) pairs, for student_t_quantile.
"""

import json
import os
import sys

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = np.finfo(np.float64).eps


def random_rotation(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix


def planted(rng, n, d, exponent, mean_scale):
    """Rows ~ N(mu, Q diag(r^(2*exponent)) Q^T): spectrum ~ r^(2*exponent)."""
    z = rng.standard_normal((n, d))
    z *= np.arange(1, d + 1, dtype=np.float64) ** exponent
    mu = mean_scale * (1.0 + rng.standard_normal(d))
    return (z @ random_rotation(rng, d).T + mu).astype(np.float32)


def spectrum(w):
    c = np.cov(w.astype(np.float64), rowvar=False)
    return np.linalg.eigvalsh(c)[::-1].copy()


def fit(eigs, first, last):
    tol = eigs.max() * len(eigs) * EPS
    seg = eigs[first - 1:last]
    ranks = np.arange(first, last + 1, dtype=np.float64)
    zero = np.nonzero(~(seg > tol))[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        res = scipy.stats.linregress(np.log10(ranks), np.log10(seg))
        lv = float(np.sum(np.log(seg)))
    out = {"first": first, "last": last}
    if len(zero):
        out["error"] = {
            "kind": "non-positive-eigenvalue",
            "rank": int(first + zero[0]),
            "value": float(seg[zero[0]]),
            "numpy_slope_is_finite": bool(np.isfinite(res.slope)),
            "numpy_log_volume_is_finite": bool(np.isfinite(lv)),
        }
        return out
    t975 = float(scipy.stats.t.ppf(0.975, len(seg) - 2))
    out.update(
        slope=float(res.slope),
        intercept=float(res.intercept),
        r_value=float(res.rvalue),
        p_value=float(res.pvalue),
        stderr=float(res.stderr),
        intercept_stderr=float(res.intercept_stderr),
        t975=t975,
        ci95=[float(res.slope - t975 * res.stderr), float(res.slope + t975 * res.stderr)],
        log_volume=lv,
    )
    return out


def main():
    rng = np.random.default_rng(20240910)
    cases = [
        ("powerlaw", planted(rng, 1200, 200, -0.4, 0.5), [(11, 150), (1, 100), (5, 50), (1, 200)]),
        ("small", planted(rng, 40, 12, -0.6, 2.0), [(2, 10), (1, 12), (3, 5)]),
        ("wide", planted(rng, 100, 180, -0.4, 0.5), [(11, 60), (1, 99), (5, 50), (11, 150), (1, 100), (99, 101)]),
    ]
    out = {
        "generator": "tests/golden/make_galaxy_golden.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cases": [],
    }
    for name, w, ranges in cases:
        fname = f"galaxy_{name}.npy"
        np.save(os.path.join(HERE, fname), w)
        w = np.load(os.path.join(HERE, fname))  # exactly the committed values
        eigs = spectrum(w)
        n, d = w.shape
        out["cases"].append({
            "name": name,
            "file": fname,
            "n": n,
            "d": d,
            "zero_tolerance": float(eigs.max() * d * EPS),
            "eigenvalues": [float(v) for v in eigs],
            "fits": [fit(eigs, a, b) for a, b in ranges],
        })
    # The wide case must fail at rank 100 for 11..150 (rank N = 100 is the first zero one).
    wide = out["cases"][2]
    err = next(f for f in wide["fits"] if (f["first"], f["last"]) == (11, 150))["error"]
    assert err["rank"] == 100, err
    assert wide["eigenvalues"][98] > 1e6 * wide["zero_tolerance"]  # rank 99 is clearly nonzero

    pairs = [
        (0.975, 1), (0.975, 2), (0.975, 3), (0.975, 7), (0.975, 10), (0.975, 26), (0.975, 44),
        (0.975, 46), (0.975, 98), (0.975, 138), (0.975, 198), (0.975, 1000), (0.975, 5e4),
        (0.975, 2e5), (0.975, 1e6), (0.025, 30), (0.995, 3), (0.9, 0.5), (0.05, 2.5), (1e-10, 4),
        (0.999999, 7), (0.3, 1000), (0.75, 5e4), (0.999, 2e5), (1e-6, 5e5), (0.6, 12), (0.99, 1.5),
    ]
    out["t_quantiles"] = [{"p": p, "dof": float(k), "value": float(scipy.stats.t.ppf(p, k))} for p, k in pairs]

    with open(os.path.join(HERE, "galaxy_golden.json"), "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", ", ".join(c["file"] for c in out["cases"]), "and galaxy_golden.json", file=sys.stderr)


if __name__ == "__main__":
    main()
