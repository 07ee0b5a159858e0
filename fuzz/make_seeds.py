#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets to fuzz/seeds/<target>/ (committed; each < 100 kB).

Run from the repository root: python3 fuzz/make_seeds.py. Needs numpy and safetensors.

The seeds are real files: the repository's fixtures (tests/fixtures/**, tests/golden/**),
the app's manifest, word-pair task files, and small files written here the way the tools that
make them do (np.save / np.savez / np.savez_compressed, safetensors.numpy.save, the layout of
the app's co-occurrence bundle and of `sae-geometry convert histogram`), plus a few chunks cut
from the real co-occurrence bundle in public/data. scripts/fuzz.sh runs this before fuzzing;
tests/fuzz_replay.rs mutates these seeds.
"""

import glob
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np
from safetensors.numpy import save as st_save, load as st_load
from safetensors import safe_open

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")
MAX_SEED = 100_000
TARGETS = ["npy", "npz", "safetensors", "cooccurrence", "wordpairs", "manifest", "matrix"]

rng = np.random.default_rng(20241)


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_SEED:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy_bytes(a, fortran=False, version=None):
    buf = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npz_bytes(arrays, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def repo_files(patterns):
    out = []
    for p in patterns:
        out += sorted(glob.glob(os.path.join(ROOT, p), recursive=True))
    return [f for f in out if os.path.isfile(f) and os.path.getsize(f) <= MAX_SEED]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)

    # --- npy -------------------------------------------------------------------------------
    npys = {}
    npys["f32_16x8"] = npy_bytes(rng.standard_normal((16, 8)).astype("<f4"))
    npys["f16_4x3"] = npy_bytes(rng.standard_normal((4, 3)).astype("<f2"))
    npys["f64_3x2"] = npy_bytes(rng.standard_normal((3, 2)))
    npys["i64_5"] = npy_bytes(np.arange(5, dtype="<i8"))
    npys["i32_2x2"] = npy_bytes(np.arange(4, dtype="<i4").reshape(2, 2))
    npys["u1_3"] = npy_bytes(np.array([1, 2, 3], dtype="u1"))
    npys["u2_3"] = npy_bytes(np.array([1, 2, 3], dtype="<u2"))
    npys["u4_3"] = npy_bytes(np.array([1, 2, 3], dtype="<u4"))
    npys["bool_4"] = npy_bytes(np.array([True, False, True, True]))
    npys["scalar"] = npy_bytes(np.float32(1.5))
    npys["empty_0x4"] = npy_bytes(np.zeros((0, 4), dtype="<f4"))
    npys["fortran_3x4"] = npy_bytes(rng.standard_normal((3, 4)).astype("<f4"), fortran=True)
    npys["fortran_2x3x2"] = npy_bytes(rng.standard_normal((2, 3, 2)).astype("<f4"), fortran=True)
    npys["v2_f32"] = npy_bytes(np.ones((2, 3), dtype="<f4"), version=(2, 0))
    npys["v3_f32"] = npy_bytes(np.ones((2, 3), dtype="<f4"), version=(3, 0))
    npys["big_endian"] = npy_bytes(np.ones((2, 2), dtype=">f4"))
    npys["nan_inf"] = npy_bytes(np.array([[np.nan, np.inf], [-np.inf, 0.0]], dtype="<f4"))
    npys["three_d"] = npy_bytes(np.ones((2, 2, 2), dtype="<f4"))
    for name, data in npys.items():
        put("npy", name + ".npy", data)
        put("matrix", name + ".npy", data)
    for f in repo_files(["tests/fixtures/malformed/*.npy", "tests/golden/formats/*.npy",
                         "tests/golden/galaxy_small.npy", "tests/golden/agreement/labels_k2.npy"]):
        data = open(f, "rb").read()
        put("npy", "repo-" + os.path.basename(f), data)
        put("matrix", "repo-" + os.path.basename(f), data)

    # --- npz -------------------------------------------------------------------------------
    d_model, n_feat = 8, 16
    gemma = {
        "W_dec": rng.standard_normal((n_feat, d_model)).astype("<f4"),
        "W_enc": rng.standard_normal((d_model, n_feat)).astype("<f4"),
        "b_enc": np.zeros(n_feat, dtype="<f4"),
        "b_dec": np.zeros(d_model, dtype="<f4"),
        "threshold": np.full(n_feat, 0.1, dtype="<f4"),
    }
    npzs = {
        "gemma_scope_params_stored": npz_bytes(gemma, False),
        "gemma_scope_params_compressed": npz_bytes(gemma, True),
        "single_f16": npz_bytes({"x": rng.standard_normal((5, 4)).astype("<f2")}, False),
        "decoder_weight": npz_bytes({"decoder.weight": rng.standard_normal((4, 6)).astype("<f4")}, True),
        "empty_archive": npz_bytes({}, False),
    }
    for name, data in npzs.items():
        put("npz", name + ".npz", data)
        put("matrix", name + ".npz", data)
    for f in repo_files(["tests/fixtures/malformed/*.npz", "tests/golden/formats/*.npz"]):
        data = open(f, "rb").read()
        put("npz", "repo-" + os.path.basename(f), data)
        put("matrix", "repo-" + os.path.basename(f), data)
    # A zip member that is not an .npy, and a directory entry.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
        z.writestr("dir/", "")
        z.writestr("a.npy", npys["f32_16x8"])
    put("npz", "odd_members.npz", buf.getvalue())

    # --- safetensors -----------------------------------------------------------------------
    sts = {}
    sts["saelens_f16"] = st_save({
        "W_dec": rng.standard_normal((n_feat, d_model)).astype("<f2"),
        "W_enc": rng.standard_normal((d_model, n_feat)).astype("<f2"),
        "b_enc": np.zeros(n_feat, dtype="<f2"),
        "b_dec": np.zeros(d_model, dtype="<f2"),
    }, metadata={"model_name": "tiny", "hook_point": "blocks.0.hook_resid_post"})
    sts["saelens_f32"] = st_save({"W_dec": rng.standard_normal((n_feat, d_model)).astype("<f4")})
    sts["decoder_weight_f32"] = st_save({"decoder.weight": rng.standard_normal((d_model, n_feat)).astype("<f4")})
    sts["mixed_dtypes"] = st_save({
        "a": np.arange(6, dtype="<i8").reshape(2, 3), "b": np.arange(3, dtype="i1"),
        "c": np.ones((2, 2), dtype="<f8"), "d": np.arange(4, dtype="<u2"),
    })
    sts["scalar_and_empty"] = st_save({"s": np.array(3.0, dtype="<f4"), "e": np.zeros((0, 3), dtype="<f4")})
    for name, data in sts.items():
        put("safetensors", name + ".safetensors", data)
        put("matrix", name + ".safetensors", data)
    for f in repo_files(["tests/fixtures/malformed/*.safetensors", "tests/golden/formats/*.safetensors"]):
        data = open(f, "rb").read()
        put("safetensors", "repo-" + os.path.basename(f), data)
        put("matrix", "repo-" + os.path.basename(f), data)

    # --- co-occurrence ---------------------------------------------------------------------
    # The authors' histogram .npz: `histogram` (N x N int64) and `n_chunks`.
    n, chunks = 12, 40
    fires = rng.random((chunks, n)) < 0.3
    hist = (fires.T.astype(np.int64) @ fires.astype(np.int64))
    put("cooccurrence", "authors_histogram.npz",
        npz_bytes({"histogram": hist, "n_chunks": np.array(chunks, dtype=np.int64)}, True))
    put("cooccurrence", "authors_histogram_stored_i32.npz",
        npz_bytes({"histogram": hist.astype("<i4"), "n_chunks": np.array(chunks)}, False))
    for f in repo_files(["tests/golden/convert/*.npz"]):
        put("cooccurrence", "repo-" + os.path.basename(f), open(f, "rb").read())
    # The `sae-geometry convert histogram` bundle: the upper triangle as CSR.
    indptr, indices, counts = [0], [], []
    for i in range(n):
        for j in range(i, n):
            if hist[i, j]:
                indices.append(j)
                counts.append(hist[i, j])
        indptr.append(len(indices))
    put("cooccurrence", "histogram_bundle.safetensors", st_save({
        "indptr": np.array(indptr, dtype="<u4"), "indices": np.array(indices, dtype="<u2"),
        "counts": np.array(counts, dtype="<u2"),
    }, metadata={"kind": "cooccurrence-histogram", "n_features": str(n), "n_chunks": str(chunks),
                 "layout": "upper triangle (j >= i) as CSR; diagonal = chunks where the feature fires"}))

    # The app's firings bundle, both encodings (the layout of src/formats/bundle.rs).
    def bundle(csr, n_features, chunk_sets, chunk_doc, doc_category, heldout, categories):
        meta = {"kind": "cooccurrence", "n_features": str(n_features), "chunk_tokens": "256",
                "threshold": "0", "categories": json.dumps(categories),
                "encoding": "csr" if csr else "bitset"}
        t = {"chunk_doc": np.array(chunk_doc, dtype="<u4"),
             "doc_category": np.array(doc_category, dtype="<u2"),
             "doc_heldout": np.array(heldout, dtype="u1")}
        if csr:
            ip = np.cumsum([0] + [len(s) for s in chunk_sets]).astype("<u4")
            t["indptr"] = ip
            t["indices"] = np.array([f for s in chunk_sets for f in sorted(s)], dtype="<u2")
        else:
            row = (n_features + 7) // 8
            bits = np.zeros((len(chunk_sets), row), dtype="u1")
            for c, s in enumerate(chunk_sets):
                for f in s:
                    bits[c, f // 8] |= 1 << (f % 8)
            t["bits"] = bits
        return st_save(t, metadata=meta)

    sets = [sorted(np.flatnonzero(r).tolist()) for r in fires[:10]]
    docs = [c // 3 for c in range(10)]
    put("cooccurrence", "firings_csr.safetensors",
        bundle(True, n, sets, docs, [0, 1, 0, 1], [0, 0, 1, 0], ["code", "news"]))
    put("cooccurrence", "firings_bitset.safetensors",
        bundle(False, n, sets, docs, [0, 1, 0, 1], [0, 0, 1, 0], ["code", "news"]))
    # A few chunks of the real MiniLM layer-0 bundle (4096 features, bitset), re-encoded both ways.
    real = os.path.join(ROOT, "public/data/minilm-l6-topk4096-layer0-cooccurrence.safetensors")
    if os.path.exists(real):
        with safe_open(real, "np") as f:
            meta = f.metadata()
            bits = f.get_tensor("bits")[:8]
            chunk_doc = f.get_tensor("chunk_doc")[:8]
            doc_category = f.get_tensor("doc_category")
            heldout = f.get_tensor("doc_heldout")
        used = sorted(set(chunk_doc.tolist()))
        remap = {d: i for i, d in enumerate(used)}
        nf = int(meta["n_features"])
        sets = [[b * 8 + k for b in range(bits.shape[1]) for k in range(8) if bits[c, b] >> k & 1]
                for c in range(bits.shape[0])]
        cats = json.loads(meta["categories"])
        args = (nf, sets, [remap[d] for d in chunk_doc.tolist()],
                [int(doc_category[d]) for d in used], [int(heldout[d]) for d in used], cats)
        put("cooccurrence", "minilm_layer0_8chunks_csr.safetensors", bundle(True, *args))
        put("cooccurrence", "minilm_layer0_8chunks_bitset.safetensors", bundle(False, *args))

    # --- word pairs ------------------------------------------------------------------------
    pairs_dir = "/work/shared/data/word-pairs"
    for f in sorted(glob.glob(os.path.join(pairs_dir, "*.json"))):
        pairs = json.load(open(f))
        put("wordpairs", os.path.basename(f), json.dumps(pairs[:40], ensure_ascii=False))
    put("wordpairs", "unicode.json", json.dumps([{"input": "Zürich", "output": "Schweiz"},
                                                 {"input": "東京", "output": "日本"}], ensure_ascii=False))
    put("wordpairs", "escapes.json", '[{"input": "a\\u00e9\\n", "output": "\\ud83d\\ude00"}]')
    put("wordpairs", "empty_word.json", '[{"input": " ", "output": "x"}]')
    put("wordpairs", "extra_keys.json", '[{"input": "a", "output": "b", "note": [1, 2.5e300, null]}]')
    put("wordpairs", "empty_list.json", "[]")
    # The crystal word lists of the app (public/data/*-words.json), cut to a small valid prefix.
    for f in sorted(glob.glob(os.path.join(ROOT, "public/data/*-words.json"))):
        w = json.load(open(f))
        small = {k: (v[:20] if isinstance(v, list) else v) for k, v in w.items()}
        if isinstance(small.get("tasks"), list):
            small["tasks"] = [dict(t, pairs=t.get("pairs", [])[:5]) for t in small["tasks"][:3]]
        put("wordpairs", "crystal-" + os.path.basename(f), json.dumps(small, ensure_ascii=False))

    # --- manifest --------------------------------------------------------------------------
    for f in repo_files(["public/data/manifest.json", "tests/fixtures/layers/manifest.json"]):
        put("manifest", "repo-" + f.replace(ROOT + "/", "").replace("/", "-"), open(f, "rb").read())
    m = json.load(open(os.path.join(ROOT, "public/data/manifest.json")))
    if m.get("datasets"):
        one = dict(m, datasets=m["datasets"][:2])
        put("manifest", "two_datasets.json", json.dumps(one, indent=1))
        dup = dict(m, datasets=[m["datasets"][0], m["datasets"][0]])
        put("manifest", "duplicate_id.json", json.dumps(dup))
        bad = dict(m, datasets=[dict(m["datasets"][0], file="../../etc/passwd")])
        put("manifest", "unsafe_path.json", json.dumps(bad))
    put("manifest", "empty.json", '{"datasets": []}')

    total = 0
    for t in TARGETS:
        files = glob.glob(os.path.join(OUT, t, "*"))
        size = sum(os.path.getsize(f) for f in files)
        total += size
        print(f"{t:13s} {len(files):3d} seeds {size / 1024:8.1f} kB")
    print(f"total {total / 1024:.1f} kB in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
