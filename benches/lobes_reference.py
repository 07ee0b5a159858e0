"""The brain-scale pipeline in numpy / scipy / scikit-learn, as PAPER.md section 2 and the authors'
code describe it, on one bundled SAE and its firings: the histogram over the chunks of documents
not held out, an affinity, SpectralClustering of it and of the angular similarity of decoder rows
(random_state=42), AMI, LogisticRegression(max_iter=1000) on the first 80% of features, and the
two null tests. Prints one JSON line with the results and the seconds per stage.

    python3 benches/lobes_reference.py DECODER.safetensors FIRINGS.safetensors [--k 2] [--affinity phi] [--null-trials 100]
"""
import argparse
import json
import time

import numpy as np
from safetensors.numpy import load_file
from sklearn.cluster import SpectralClustering
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_mutual_info_score, balanced_accuracy_score


def affinity(H, n, kind):
    H = H.astype(np.float64)
    d = np.diag(H)
    n1_, n_1 = d[:, None], d[None, :]
    n10, n01, n00 = n1_ - H, n_1 - H, n - n1_ - n_1 + H
    with np.errstate(divide="ignore", invalid="ignore"):
        a = {
            "smc": lambda: (H + n00) / n,
            "jaccard": lambda: H / (n1_ + n_1 - H),
            "dice": lambda: 2 * H / (n1_ + n_1),
            "overlap": lambda: H / np.minimum(n1_, n_1),
            "phi": lambda: (H * n00 - n10 * n01) / np.sqrt(n1_ * (n - n1_) * n_1 * (n - n_1)),
        }[kind]()
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    return a + 1 if kind == "phi" else a


def histogram(f, chunks, n):
    """H = F^T F over the given chunks, F the chunks x n 0/1 matrix of firings, formed densely a block
    of chunks at a time (float32 products are exact below 2^24 counts), as numpy code does it. The
    bundle stores F as bits (`bits`) or as CSR (`indptr`, `indices`)."""
    H = np.zeros((n, n), dtype=np.float32)
    for s in range(0, len(chunks), 4096):
        block = chunks[s : s + 4096]
        if "bits" in f:
            F = np.unpackbits(f["bits"][block], axis=1, bitorder="little")[:, :n].astype(np.float32)
        else:
            indptr, indices = f["indptr"].astype(np.int64), f["indices"]
            F = np.zeros((len(block), n), dtype=np.float32)
            for r, c in enumerate(block):
                F[r, indices[indptr[c] : indptr[c + 1]]] = 1
        H += F.T @ F
    return H.round().astype(np.int64)


def balanced_accuracy(X, labels, split):
    clf = LogisticRegression(max_iter=1000).fit(X[:split], labels[:split])
    return balanced_accuracy_score(labels[split:], clf.predict(X[split:]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("decoder")
    p.add_argument("firings")
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--affinity", default="phi")
    p.add_argument("--null-trials", type=int, default=100)
    a = p.parse_args()
    seconds = {}
    t = time.perf_counter()
    f = load_file(a.firings)
    train = np.flatnonzero(~f["doc_heldout"].astype(bool)[f["chunk_doc"]])
    W = load_file(a.decoder)["W_dec"].astype(np.float64)
    N = W.shape[0]
    H, n_train = histogram(f, train, N), len(train)
    seconds["histogram"] = time.perf_counter() - t
    t = time.perf_counter()
    A = affinity(H, n_train, a.affinity)
    lc = SpectralClustering(n_clusters=a.k, affinity="precomputed", assign_labels="kmeans", random_state=42).fit(A).labels_
    seconds["cooccurrence lobes"] = time.perf_counter() - t
    t = time.perf_counter()
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    G = 1 - np.arccos(np.clip(U @ U.T, -1, 1)) / np.pi
    lg = SpectralClustering(n_clusters=a.k, affinity="precomputed", assign_labels="kmeans", random_state=42).fit(G).labels_
    seconds["geometric lobes"] = time.perf_counter() - t
    t = time.perf_counter()
    ami = adjusted_mutual_info_score(lc, lg)
    split = int(0.8 * N)
    bacc = balanced_accuracy(W, lc, split)
    seconds["agreement"] = time.perf_counter() - t
    t = time.perf_counter()
    rng = np.random.default_rng(0)
    ami_null = [adjusted_mutual_info_score(lc, rng.permutation(lg)) for _ in range(a.null_trials)]
    seconds["AMI null"] = time.perf_counter() - t
    t = time.perf_counter()
    bacc_null = []
    for _ in range(a.null_trials):
        R = rng.standard_normal(W.shape)
        R /= np.linalg.norm(R, axis=1, keepdims=True)
        bacc_null.append(balanced_accuracy(R, lc, split))
    seconds["classifier null"] = time.perf_counter() - t
    seconds["total"] = sum(seconds.values())
    sigma = lambda v, null: (v - np.mean(null)) / np.std(null) if null else None
    print(json.dumps({"n": N, "k": a.k, "affinity": a.affinity, "ami": ami, "balanced_accuracy": bacc,
                      "ami_sigma": sigma(ami, ami_null), "bacc_sigma": sigma(bacc, bacc_null),
                      "labels_cooccurrence": lc.tolist(), "seconds": seconds}))


if __name__ == "__main__":
    main()
