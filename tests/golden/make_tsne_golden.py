#!/usr/bin/env python3
"""Golden data for Barnes-Hut t-SNE (src/geometry/tsne.rs) against scikit-learn's TSNE.

Requires python3 with numpy, scikit-learn and safetensors (made with numpy 2.4.6,
scikit-learn 1.9.1, safetensors 0.8.0; the versions used are recorded in the JSON).
Run from the repository root or anywhere:

    python3 tests/golden/make_tsne_golden.py

Input: the first 1500 rows of the bundled layer-3 MiniLM-L6 TopK SAE decoder
(public/data/minilm-l6-topk4096-layer3.safetensors, tensor W_dec, 4096 x 384 f16), as f32
(f16 -> f32 is exact).

Writes into tests/golden/tsne/:
  x.npy        1500 x 384 f32: those rows.
  golden.json  read by tests/golden_tsne.rs:
    n, d, perplexity, n_neighbors       (k = min(n - 1, int(3 * perplexity + 1)) = 91)
    p_sum, p_nnz                        sum and stored-entry count of sklearn's joint P
    conditional[i] (i < 5)              {"indices", "values"}: row i of the conditional P
                                        (sklearn's _binary_search_perplexity), neighbours sorted
                                        by index as sklearn's CSR rows are
    joint[i] (i < 5)                    {"indices", "values"}: row i of the symmetrised joint P
                                        (sklearn.manifold._t_sne._joint_probabilities_nn)
    kl_divergence, n_iter               TSNE(random_state=0, init='pca', method='barnes_hut')
                                        .kl_divergence_ and .n_iter_ (all other parameters at
                                        their defaults: perplexity 30, early_exaggeration 12,
                                        learning_rate 'auto', max_iter 1000, angle 0.5)
    trustworthiness                     sklearn.manifold.trustworthiness(x, embedding,
                                        n_neighbors=10) of sklearn's embedding
    seconds                             wall time of sklearn's fit (for reference only)

The distances are exactly what TSNE feeds to its binary search: NearestNeighbors(n_neighbors=k)
.fit(x).kneighbors_graph(mode='distance'), squared (for f32 input sklearn returns
sqrt-in-f32 distances of f32-rounded squared distances; tsne.rs reproduces that rounding).
"""

import json
import os
import sys
import time

import numpy as np
import sklearn
from safetensors.numpy import load_file
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.manifold._utils import _binary_search_perplexity
from sklearn.neighbors import NearestNeighbors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "tsne")

N = 1500
PERPLEXITY = 30.0
CHECK_ROWS = 5


def row(csr, i):
    lo, hi = csr.indptr[i], csr.indptr[i + 1]
    idx = np.asarray(csr.indices[lo:hi])
    val = np.asarray(csr.data[lo:hi], dtype=np.float64)
    order = np.argsort(idx, kind="stable")
    return {"indices": [int(j) for j in idx[order]], "values": [float(v) for v in val[order]]}


def main():
    os.makedirs(OUT, exist_ok=True)
    w = load_file(os.path.join(ROOT, "public", "data", "minilm-l6-topk4096-layer3.safetensors"))
    x = np.ascontiguousarray(w["W_dec"][:N].astype(np.float32))
    np.save(os.path.join(OUT, "x.npy"), x)

    n, d = x.shape
    k = min(n - 1, int(3.0 * PERPLEXITY + 1))

    # The sparse input similarities, exactly as TSNE._fit computes them.
    dist = NearestNeighbors(n_neighbors=k, metric="euclidean").fit(x).kneighbors_graph(mode="distance")
    dist.data **= 2
    dist.sort_indices()
    cond = _binary_search_perplexity(
        dist.data.reshape(n, -1).astype(np.float32), PERPLEXITY, 0
    )
    p = _joint_probabilities_nn(dist.copy(), PERPLEXITY, 0).tocsr()
    p.sort_indices()

    conditional = []
    for i in range(CHECK_ROWS):
        lo, hi = dist.indptr[i], dist.indptr[i + 1]
        conditional.append(
            {
                "indices": [int(j) for j in dist.indices[lo:hi]],
                "values": [float(v) for v in cond[i]],
            }
        )
    joint = [row(p, i) for i in range(CHECK_ROWS)]

    t0 = time.time()
    tsne = TSNE(n_components=2, random_state=0, init="pca", method="barnes_hut")
    emb = tsne.fit_transform(x)
    seconds = time.time() - t0
    tw = trustworthiness(x, emb, n_neighbors=10)

    golden = {
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
        },
        "n": int(n),
        "d": int(d),
        "perplexity": PERPLEXITY,
        "n_neighbors": int(k),
        "p_sum": float(p.sum()),
        "p_nnz": int(p.nnz),
        "conditional": conditional,
        "joint": joint,
        "kl_divergence": float(tsne.kl_divergence_),
        "n_iter": int(tsne.n_iter_),
        "learning_rate": float(tsne.learning_rate_),
        "trustworthiness": float(tw),
        "seconds": seconds,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(
        f"kl {tsne.kl_divergence_:.6f}  n_iter {tsne.n_iter_}  trustworthiness {tw:.6f}  "
        f"fit {seconds:.1f}s  p_sum {p.sum():.12f}  nnz {p.nnz}"
    )


if __name__ == "__main__":
    main()
