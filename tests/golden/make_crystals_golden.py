"""Golden values for the atom scale (PAPER.md section 1), from scikit-learn / numpy / scipy.

Inputs (committed):
  - glove: the bundled GloVe 6B 50d crystal set (public/data/crystals-glove-6b-50d.safetensors and
    its words JSON), the paper's 12 tasks, all pairs in the vocabulary (7,297 pairs, d = 50);
  - minilm: a subset of the bundled MiniLM-L6 layer-0 crystal set, the first PAIRS_PER_TASK pairs of
    each of the 12 tasks, written here to tests/golden/crystals/minilm-l0-subset.npy (f32, the f16
    values exactly) and minilm-l0-subset-words.json (the crystal-set JSON: words, last tokens,
    tasks).
Output: tests/golden/crystals/golden.json, checked by tests/golden_crystals.rs:
  - LinearDiscriminantAnalysis() (solver 'svd'): explained_variance_ratio_, the projection
    transform(X) (every 5th pair, compared per component up to sign), and with solver 'eigen', shrinkage 'auto';
  - silhouette_score of the raw difference vectors and of the first n = 2..classes-1 LDA
    components (tolerance 1e-4 asked, 1e-8 checked), and with sample_size=1500, random_state=0;
  - per task, the quad scores before and after LDA: count, median relative error, median cosine,
    the best and worst quads (pair indices);
  - the word-length distractor: PCA(1) of StandardScaler()-scaled differences against the length
    difference of the last tokens (WordPiece '##' stripped), scipy.stats.linregress r and slope.

    python3 tests/golden/make_crystals_golden.py
"""
import json
import os

import numpy as np
from safetensors.numpy import load_file
from scipy.stats import linregress
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DATA = os.path.join(ROOT, "public", "data")
OUT = os.path.join(os.path.dirname(__file__), "crystals")
PAPER_TASKS = [
    "country-capital", "country-currency", "english-french", "english-german", "english-spanish",
    "landmark-country", "person-instrument", "person-occupation", "person-sport", "present-past",
    "product-company", "singular-plural",
]
PAIRS_PER_TASK = 100
LIST = 5
STEP = 5  # projections are stored for every STEP-th pair


def token_length(t):
    if t.startswith("##"):
        t = t[2:]
    if t[:1] in ("\u2581", "\u0120"):
        t = t[1:]
    return len(t)


def quads(U, pairs, list_len=LIST):
    """Every quad of two pairs with four distinct words and non-zero edges."""
    norms2 = np.einsum("ij,ij->i", U, U)
    keep = np.flatnonzero(norms2 > 0)
    U, pairs, n2 = U[keep], pairs[keep], norms2[keep]
    G = U @ U.T
    n = np.sqrt(n2)
    i, j = np.triu_indices(len(U), 1)
    a, b = pairs[i, 0], pairs[i, 1]
    c, d = pairs[j, 0], pairs[j, 1]
    ok = (a != c) & (a != d) & (b != c) & (b != d)
    i, j = i[ok], j[ok]
    dot = G[i, j]
    dist = np.sqrt(np.maximum(n2[i] + n2[j] - 2 * dot, 0))
    rel = dist / ((n[i] + n[j]) / 2)
    cos = np.clip(dot / (n[i] * n[j]), -1, 1)
    order = np.lexsort((j, i, rel))
    worst = np.lexsort((j, i, -rel))
    pick = lambda o: [[int(keep[i[k]]), int(keep[j[k]]), float(rel[k]), float(cos[k])] for k in o[:list_len]]
    return {
        "quads": int(len(rel)),
        "zero_edges": int(len(norms2) - len(keep)),
        "median_relative_error": float(np.median(rel)) if len(rel) else None,
        "median_cosine": float(np.median(cos)) if len(cos) else None,
        "best": pick(order),
        "worst": pick(worst),
    }


def analyse(vectors, words_json):
    tasks = [t for t in words_json["tasks"] if t["name"] in PAPER_TASKS and t["pairs"]]
    pairs = np.concatenate([np.array(t["pairs"], dtype=np.int64).reshape(-1, 2) for t in tasks])
    labels = np.concatenate([np.full(len(t["pairs"]), k) for k, t in enumerate(tasks)])
    X = vectors.astype(np.float64)
    D = X[pairs[:, 0]] - X[pairs[:, 1]]
    classes = len(tasks)
    lda = LinearDiscriminantAnalysis().fit(D, labels)
    P = lda.transform(D)
    out = {
        "tasks": [t["name"] for t in tasks],
        "pairs": int(len(D)),
        "explained_variance_ratio": lda.explained_variance_ratio_.tolist(),
        "projection_step": STEP,
        "projection": P[::STEP].tolist(),
        "silhouette_raw": float(silhouette_score(D, labels)),
        "silhouette_lda": {str(m): float(silhouette_score(P[:, :m], labels)) for m in range(2, classes)},
        "silhouette_raw_sampled": float(silhouette_score(D, labels, sample_size=1500, random_state=0)),
        "silhouette_lda_sampled": float(silhouette_score(P, labels, sample_size=1500, random_state=0)),
    }
    shrunk = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(D, labels)
    out["projection_shrinkage_auto"] = shrunk.transform(D)[::STEP].tolist()
    out["explained_variance_ratio_shrinkage_auto"] = shrunk.explained_variance_ratio_.tolist()
    S = lda.scalings_[:, : classes - 1]
    out["parallelogram"] = {}
    start = 0
    for t in tasks:
        p = len(t["pairs"])
        tp = pairs[start : start + p]
        out["parallelogram"][t["name"]] = {
            "before": quads(D[start : start + p], tp),
            "after": quads(D[start : start + p] @ S, tp),
        }
        start += p
    last = words_json.get("last_token") or words_json["words"]
    dlen = np.array([token_length(last[b]) - token_length(last[a]) for a, b in pairs], dtype=np.float64)
    pc0 = PCA(n_components=1).fit_transform(StandardScaler().fit_transform(D))[:, 0]
    fit = linregress(dlen, pc0)
    out["word_length"] = {"r": float(fit.rvalue), "slope": float(fit.slope), "intercept": float(fit.intercept)}
    return out


def minilm_subset():
    words_json = json.load(open(os.path.join(DATA, "crystals-minilm-l6-words.json")))
    acts = load_file(os.path.join(DATA, "crystals-minilm-l6-layer0.safetensors"))["activations"]
    keep, index, tasks = [], {}, []
    for t in words_json["tasks"]:
        if t["name"] not in PAPER_TASKS:
            continue
        sub = []
        for a, b in t["pairs"][:PAIRS_PER_TASK]:
            for w in (a, b):
                if w not in index:
                    index[w] = len(keep)
                    keep.append(w)
            sub.append([index[a], index[b]])
        tasks.append({"name": t["name"], "pairs": sub, "total": len(sub), "dropped": 0})
    subset = {
        "source": words_json["source"] + f" (golden subset: first {PAIRS_PER_TASK} pairs per task, layer 0)",
        "words": [words_json["words"][w] for w in keep],
        "last_token": [words_json["last_token"][w] for w in keep],
        "tasks": tasks,
        "metadata": {"model": "all-MiniLM-L6-v2", "layer": "0"},
    }
    vectors = acts[keep].astype(np.float32)
    np.save(os.path.join(OUT, "minilm-l0-subset.npy"), vectors)
    with open(os.path.join(OUT, "minilm-l0-subset-words.json"), "w") as f:
        json.dump(subset, f)
    return vectors, subset


def main():
    os.makedirs(OUT, exist_ok=True)
    glove_words = json.load(open(os.path.join(DATA, "crystals-glove-6b-50d-words.json")))
    glove = load_file(os.path.join(DATA, "crystals-glove-6b-50d.safetensors"))["activations"]
    vectors, subset = minilm_subset()
    golden = {"glove": analyse(glove, glove_words), "minilm": analyse(vectors, subset)}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)
    for k, v in golden.items():
        print(k, v["pairs"], "silhouette raw", round(v["silhouette_raw"], 4), "lda", {m: round(s, 4) for m, s in v["silhouette_lda"].items()}, "word length r", round(v["word_length"]["r"], 4))


if __name__ == "__main__":
    main()
