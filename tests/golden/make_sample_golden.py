#!/usr/bin/env python3
"""Golden data for a galaxy analysis of a random sample of rows (the browser's memory budget, the
CLI's `--sample N`).

Requires python3 with numpy and scipy. Run from anywhere:

    python3 tests/golden/make_sample_golden.py

Reads galaxy_powerlaw.npy (1200 x 200 f32, made by make_galaxy_golden.py) and writes, next to
this script:
  galaxy_powerlaw_decoder.safetensors  the same matrix stored transposed as `decoder.weight`
                                       (200 x 1200, PyTorch's layout; read back transposed)
  galaxy_sample_golden.json            for each (sample, seed): the rows numpy keeps,
                                       idx = sorted(np.random.RandomState(seed).choice(1200, sample,
                                       replace=False)), and the spectrum of W[idx] exactly as
                                       make_galaxy_golden.py computes it (np.cov, eigvalsh,
                                       linregress over ranks 11..150, log-volume).
"""

import json
import os
import struct

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, name, array):
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = {name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    w = np.load(os.path.join(HERE, "galaxy_powerlaw.npy"))
    write_safetensors(os.path.join(HERE, "galaxy_powerlaw_decoder.safetensors"), "decoder.weight", w.T)
    cases = []
    for sample, seed in [(500, 7), (151, 0), (1199, 3)]:
        idx = np.sort(np.random.RandomState(seed).choice(w.shape[0], sample, replace=False))
        eigs = np.linalg.eigvalsh(np.cov(w[idx].astype(np.float64), rowvar=False))[::-1]
        first, last = 11, 150
        ranks = np.arange(first, last + 1, dtype=np.float64)
        res = scipy.stats.linregress(np.log10(ranks), np.log10(eigs[first - 1:last]))
        cases.append({
            "sample": sample,
            "seed": seed,
            "indices": [int(i) for i in idx],
            "eigenvalues": [float(v) for v in eigs],
            "slope": float(res.slope),
            "intercept": float(res.intercept),
            "log_volume": float(np.sum(np.log(eigs[first - 1:last]))),
        })
    out = {
        "generator": "tests/golden/make_sample_golden.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "input": "galaxy_powerlaw.npy",
        "cases": cases,
    }
    with open(os.path.join(HERE, "galaxy_sample_golden.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
