#!/usr/bin/env python3
"""Writes authors_histogram.npz in the layout of the authors' co-occurrence files
(github ejmichaud/feature-geometry): `histogram` int32 N x N with H[i][j] = number of chunks where
features i and j both fire (H[i][i] = chunks where i fires), and `n_chunks`. Small (N = 30,
200 chunks). Test tool only; needs numpy.   python3 tests/golden/convert/make_histogram_fixture.py
"""
from pathlib import Path

import numpy as np

rng = np.random.default_rng(41)
n_chunks, n = 200, 30
rates = rng.uniform(0.02, 0.5, n)
rates[3] = 0.0  # a feature that never fires
fires = (rng.random((n_chunks, n)) < rates).astype(np.int32)
histogram = fires.T @ fires
np.savez(Path(__file__).parent / "authors_histogram.npz", histogram=histogram.astype(np.int32), n_chunks=np.int64(n_chunks))
print("wrote authors_histogram.npz", histogram.shape, int(histogram.max()))
