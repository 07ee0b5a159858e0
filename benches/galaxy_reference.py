#!/usr/bin/env python3
"""The authors' pipeline for the galaxy spectrum, timed: numpy/scipy exactly as PAPER.md section 3
describes (np.cov, np.linalg.eigvalsh, scipy.stats.linregress over ranks 11..150, log-volume), plus
an isotropic Gaussian cloud of the same N and d. Test and benchmark tool only (pip install numpy
scipy safetensors).

  galaxy_reference.py FILE [TENSOR]      prints one JSON object: slope, log_volume, seconds
"""
import json
import sys
import time

import numpy as np
import scipy.stats


def load(path, tensor):
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith(".npz"):
        return np.load(path)[tensor or "W_dec"]
    from safetensors.numpy import load_file
    tensors = load_file(path)
    return tensors[tensor] if tensor else next(iter(tensors.values()))


def spectrum(W):
    return np.sort(np.linalg.eigvalsh(np.cov(W, rowvar=False)))[::-1]


def main():
    path, tensor = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    t0 = time.perf_counter()
    W = load(path, tensor)
    t1 = time.perf_counter()
    eig = spectrum(W)
    ranks = np.arange(11, 151)
    fit = scipy.stats.linregress(np.log10(ranks), np.log10(eig[10:150]))
    ci = scipy.stats.t.ppf(0.975, len(ranks) - 2) * fit.stderr
    log_volume = float(np.sum(np.log(eig[10:150])))
    t2 = time.perf_counter()
    n, d = W.shape
    iso = spectrum(np.random.default_rng(0).standard_normal((n, d)) * np.sqrt(np.trace(np.cov(W, rowvar=False)) / d))
    iso_fit = scipy.stats.linregress(np.log10(ranks), np.log10(iso[10:150]))
    t3 = time.perf_counter()
    print(json.dumps({
        "n": n, "d": d, "slope": fit.slope, "ci95": [fit.slope - ci, fit.slope + ci], "log_volume": log_volume,
        "isotropic_slope": iso_fit.slope,
        "seconds": {"load": t1 - t0, "spectrum_and_fit": t2 - t1, "isotropic": t3 - t2, "total": t3 - t0},
    }))


if __name__ == "__main__":
    main()
