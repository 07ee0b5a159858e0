"""The atom scale as the authors' Python would compute it (PAPER.md section 1), on a bundled crystal
set: difference vectors of the paper's 12 tasks, LinearDiscriminantAnalysis(n_components=M),
silhouette_score of the raw differences and of the first n = 2..M LDA components, each task's quad
scores (relative error and cosine of every pair of pairs with four distinct words) before and
after LDA with numpy, and the word-length distractor (StandardScaler, PCA(1), linregress).
Prints JSON: the numbers the CLI prints, and the seconds of each stage.

    python3 benches/crystals_reference.py VECTORS.safetensors WORDS.json [--silhouette-sample S]
"""
import argparse
import json
import time

import numpy as np
from safetensors.numpy import load_file
from scipy.stats import linregress
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

PAPER_TASKS = {
    "country-capital", "country-currency", "english-french", "english-german", "english-spanish",
    "landmark-country", "person-instrument", "person-occupation", "person-sport", "present-past",
    "product-company", "singular-plural",
}


def token_length(t):
    t = t[2:] if t.startswith("##") else t
    return len(t[1:] if t[:1] in ("\u2581", "\u0120") else t)


def quad_medians(U, pairs):
    """Median relative error and cosine over all quads, a block of rows of the Gram matrix at a time."""
    n2 = np.einsum("ij,ij->i", U, U)
    keep = n2 > 0
    U, pairs, n2 = U[keep], pairs[keep], n2[keep]
    n = np.sqrt(n2)
    rel, cos = [], []
    for s in range(0, len(U), 512):
        G = U[s : s + 512] @ U.T
        i, j = np.nonzero(np.arange(s, s + len(G))[:, None] < np.arange(len(U))[None, :])
        a, b = pairs[s + i, 0], pairs[s + i, 1]
        c, d = pairs[j, 0], pairs[j, 1]
        ok = (a != c) & (a != d) & (b != c) & (b != d)
        i, j = i[ok], j[ok]
        dot = G[i, j]
        rel.append(np.sqrt(np.maximum(n2[s + i] + n2[j] - 2 * dot, 0)) / ((n[s + i] + n[j]) / 2))
        cos.append(np.clip(dot / (n[s + i] * n[j]), -1, 1))
    rel, cos = np.concatenate(rel), np.concatenate(cos)
    return (float(np.median(rel)), float(np.median(cos))) if len(rel) else (None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    ap.add_argument("words")
    ap.add_argument("--silhouette-sample", type=int, default=None)
    args = ap.parse_args()
    seconds = {}
    t = time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        seconds[name] = now - t
        t = now

    words = json.load(open(args.words))
    X = load_file(args.vectors)["activations"].astype(np.float64)
    tasks = [t for t in words["tasks"] if t["name"] in PAPER_TASKS and t["pairs"]]
    pairs = np.concatenate([np.array(t["pairs"]).reshape(-1, 2) for t in tasks])
    labels = np.concatenate([np.full(len(t["pairs"]), k) for k, t in enumerate(tasks)])
    D = X[pairs[:, 0]] - X[pairs[:, 1]]
    lap("load")
    M = len(tasks) - 1
    lda = LinearDiscriminantAnalysis(n_components=M).fit(D, labels)
    P = lda.transform(D)
    lap("lda")
    kw = {"sample_size": args.silhouette_sample, "random_state": 0} if args.silhouette_sample else {}
    out = {"pairs": int(len(D)), "silhouette_raw": float(silhouette_score(D, labels, **kw))}
    out["silhouette_lda"] = {str(m): float(silhouette_score(P[:, :m], labels, **kw)) for m in range(2, M + 1)}
    lap("silhouettes")
    S = lda.scalings_[:, :M]
    out["parallelogram"] = {}
    start = 0
    for task in tasks:
        p = len(task["pairs"])
        tp, U = pairs[start : start + p], D[start : start + p]
        (br, bc), (ar, ac) = quad_medians(U, tp), quad_medians(U @ S, tp)
        out["parallelogram"][task["name"]] = {"before": [br, bc], "after": [ar, ac]}
        start += p
    lap("parallelograms")
    last = words.get("last_token") or words["words"]
    dlen = np.array([token_length(last[b]) - token_length(last[a]) for a, b in pairs], dtype=np.float64)
    pc0 = PCA(n_components=1).fit_transform(StandardScaler().fit_transform(D))[:, 0]
    out["word_length_r"] = float(linregress(dlen, pc0).rvalue)
    lap("word length")
    out["seconds"] = seconds
    print(json.dumps(out))


if __name__ == "__main__":
    main()
