"""Golden values for the brain scale (PAPER.md section 2): co-occurrence histogram, the five
affinities, and spectral clustering, from scikit-learn / numpy on committed inputs.

Input (committed): the bundled MiniLM layer-3 firings and decoder in public/data, restricted to the
first N_FEATURES features; the histogram counts the chunks of documents that are not held out.
Output: tests/golden/lobes/golden.json, checked by tests/golden_lobes.rs:
  - histogram: exact (integers), via row sums and sampled entries;
  - affinities: sampled entries and row sums, to 1e-6 (absolute; entries are at most 2);
  - spectral labels of SpectralClustering(affinity='precomputed', assign_labels='kmeans',
    random_state=42) for several (affinity, k): ours must reach AMI >= 0.95 against them;
  - the embedding's eigenvalues (1 - the Laplacian's smallest, descending), to 1e-6.

    python3 tests/golden/make_lobes_golden.py
"""
import json
import os
import struct

import numpy as np
import scipy.sparse.csgraph
from safetensors.numpy import load_file
from sklearn.cluster import SpectralClustering

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DATA = os.path.join(ROOT, "public", "data")
OUT = os.path.join(os.path.dirname(__file__), "lobes")
N_FEATURES = 1500
LAYER = 3
rng = np.random.default_rng(0)


def metadata(path):
    raw = open(path, "rb").read(8 + 100000)
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + n]).get("__metadata__", {})


def firings():
    path = os.path.join(DATA, f"minilm-l6-topk4096-layer{LAYER}-cooccurrence.safetensors")
    t = load_file(path)
    assert metadata(path)["encoding"] == "bitset"
    fired = np.unpackbits(t["bits"], axis=1, bitorder="little").astype(bool)
    train = ~t["doc_heldout"].astype(bool)[t["chunk_doc"]]
    return fired[train][:, :N_FEATURES]


def affinities(H, n):
    H = H.astype(np.float64)
    n11 = H
    d = np.diag(H)
    n1_, n_1 = d[:, None], d[None, :]
    n10, n01 = n1_ - n11, n_1 - n11
    n00 = n - n1_ - n_1 + n11
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "smc": (n11 + n00) / n,
            "jaccard": n11 / (n1_ + n_1 - n11),
            "dice": 2 * n11 / (n1_ + n_1),
            "overlap": n11 / np.minimum(n1_, n_1),
            "phi": (n11 * n00 - n10 * n01) / np.sqrt(n1_ * (n - n1_) * n_1 * (n - n_1)),
        }
    return {k: np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0) for k, v in out.items()}


def angular(W):
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    return 1 - np.arccos(np.clip(U @ U.T, -1, 1)) / np.pi


def embedding_eigenvalues(A, k):
    L = scipy.sparse.csgraph.laplacian(A, normed=True)
    return sorted((1 - np.linalg.eigvalsh(L)[:k]).tolist(), reverse=True)


def main():
    F = firings()
    n = F.shape[0]
    Fi = F.astype(np.int64)
    H = Fi.T @ Fi
    aff = affinities(H, n)
    W = load_file(os.path.join(DATA, f"minilm-l6-topk4096-layer{LAYER}.safetensors"))["W_dec"][:N_FEATURES]
    W = W.astype(np.float64)
    geo = angular(W)
    pairs = rng.integers(0, N_FEATURES, size=(3000, 2))
    pairs[:20, 1] = pairs[:20, 0]  # some diagonal entries
    golden = {
        "layer": LAYER,
        "n_features": N_FEATURES,
        "n_chunks": int(n),
        "histogram": {
            "row_sums": H.sum(axis=1).tolist(),
            "pairs": pairs.tolist(),
            "values": [int(H[i, j]) for i, j in pairs],
        },
        "affinities": {
            k: {"row_sums": v.sum(axis=1).tolist(), "values": [float(v[i, j]) for i, j in pairs]}
            for k, v in list(aff.items()) + [("angular", geo)]
        },
        "spectral": [],
    }
    configs = [("phi", 2), ("phi", 3), ("phi", 4), ("phi", 8), ("jaccard", 2), ("jaccard", 4), ("dice", 3),
               ("overlap", 2), ("smc", 2), ("angular", 2), ("angular", 4), ("angular", 8)]
    for name, k in configs:
        A = geo if name == "angular" else aff[name] + (1.0 if name == "phi" else 0.0)
        labels = SpectralClustering(n_clusters=k, affinity="precomputed", assign_labels="kmeans",
                                    random_state=42).fit(A).labels_
        golden["spectral"].append({
            "affinity": name, "k": k, "labels": labels.tolist(),
            "eigenvalues": embedding_eigenvalues(A, k),
            "sizes": np.bincount(labels, minlength=k).tolist(),
        })
        print(name, k, np.bincount(labels, minlength=k).tolist())
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
