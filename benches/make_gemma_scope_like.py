"""Writes a Gemma Scope-shaped params.npz (65,536 features x 2,304 dimensions, f32, stored as
np.savez does: W_enc, W_dec, b_enc, b_dec, threshold; 1.2 GB) for benches/stream_browser.mjs.
The decoder rows are unit-norm Gaussians with column scales rank^-0.5 (a power-law spectrum).

    python3 benches/make_gemma_scope_like.py /tmp/params.npz [N]
"""
import sys

import numpy as np

n, d = (int(sys.argv[2]) if len(sys.argv) > 2 else 65536), 2304
rng = np.random.default_rng(0)
scale = (np.arange(1, d + 1) ** -0.5).astype(np.float32)
w_dec = rng.standard_normal((n, d), dtype=np.float32) * scale
w_dec /= np.linalg.norm(w_dec, axis=1, keepdims=True)
np.savez(sys.argv[1], W_enc=np.ascontiguousarray(w_dec.T), W_dec=w_dec, b_enc=np.zeros(n, np.float32),
         b_dec=np.zeros(d, np.float32), threshold=np.full(n, 0.05, np.float32))
