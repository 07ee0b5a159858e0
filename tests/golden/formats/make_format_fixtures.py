#!/usr/bin/env python3
"""Writes the golden format fixtures for `tests/formats.rs`.

Run from anywhere: `python3 tests/golden/formats/make_format_fixtures.py`.

`--check DIR` instead reads the files that this crate's writers put in DIR (see the ignored
`export_for_numpy` test in tests/formats.rs) with numpy and safetensors, and checks their values:

    SAE_FORMATS_EXPORT_DIR=/tmp/x cargo test --test formats -- --ignored export_for_numpy
    python3 tests/golden/formats/make_format_fixtures.py --check /tmp/x
Needs numpy and safetensors (the numpy API; torch is not needed).
Every file is tiny (well under 100 KB in total) and deterministic.
Values are recorded in expected.json as float64 of what was actually stored
(so f16/bf16 rounding is already applied).
"""
import json
import os
import struct
import sys

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def values(n, seed):
    """Deterministic, exactly representable-ish values without an RNG dependency."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n)


def bf16_bits(a32):
    """float32 array -> uint16 array of bfloat16 bits (truncating the low 16 bits)."""
    bits = np.ascontiguousarray(a32, dtype="<f4").view("<u4")
    return (bits >> 16).astype("<u2")


def bf16_to_f32(b16):
    return (b16.astype("<u4") << 16).view("<f4")


def entry(file, kind, dtype, shape, data, **extra):
    d = {"file": file, "kind": kind, "dtype": dtype, "shape": list(shape),
         "data": [float(x) for x in np.asarray(data).ravel(order="C")]}
    d.update(extra)
    return d


def write_safetensors_by_hand(fname, tensors, metadata):
    """tensors: list of (name, dtype_str, shape, raw_bytes). Mirrors safetensors' layout:
    8-byte LE header length, JSON header padded with spaces to 8 bytes, then data."""
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    blobs = []
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(fname, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    expected = {"files": []}
    files = expected["files"]

    # --- npy v1, four dtypes -------------------------------------------------
    a = values(12, 1).astype("<f4").reshape(3, 4)
    np.save(path("v1_f32.npy"), a)
    files.append(entry("v1_f32.npy", "npy", "f32", a.shape, a))

    a = values(10, 2).astype("<f2").reshape(5, 2)
    np.save(path("v1_f16.npy"), a)
    files.append(entry("v1_f16.npy", "npy", "f16", a.shape, a.astype(np.float64)))

    a = values(6, 3).astype("<f8").reshape(2, 3)
    np.save(path("v1_f64.npy"), a)
    files.append(entry("v1_f64.npy", "npy", "f64", a.shape, a))

    a = np.arange(-3, 5, dtype="<i4").reshape(2, 4)
    np.save(path("v1_i32.npy"), a)
    files.append(entry("v1_i32.npy", "npy", "i32", a.shape, a))

    a = np.arange(7, dtype="<f4")
    np.save(path("v1_f32_1d.npy"), a)
    files.append(entry("v1_f32_1d.npy", "npy", "f32", a.shape, a))

    a = np.array(2.5, dtype="<f4")
    np.save(path("v1_f32_scalar.npy"), a)
    files.append(entry("v1_f32_scalar.npy", "npy", "f32", a.shape, a))

    # --- npy v2 header ------------------------------------------------------------
    a = values(8, 4).astype("<f4").reshape(4, 2)
    with open(path("v2_f32.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    files.append(entry("v2_f32.npy", "npy", "f32", a.shape, a))

    # --- npy v3 header (utf-8 header) ---------------------------------------------
    a = values(6, 5).astype("<f4").reshape(3, 2)
    with open(path("v3_f32.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(3, 0))
    files.append(entry("v3_f32.npy", "npy", "f32", a.shape, a))

    # --- fortran order and big endian: both must be refused -------------------------
    a = np.asfortranarray(values(6, 6).astype("<f4").reshape(2, 3))
    np.save(path("fortran_f32.npy"), a)
    files.append({"file": "fortran_f32.npy", "kind": "npy", "error": "fortran-order"})

    a = values(6, 7).astype(">f4").reshape(2, 3)
    np.save(path("big_endian_f32.npy"), a)
    files.append({"file": "big_endian_f32.npy", "kind": "npy", "error": "unsupported-dtype"})

    # --- npz mimicking Gemma Scope params.npz (N=12 features, d=5) --------------------
    N, d = 12, 5
    params = {
        "W_enc": values(d * N, 10).astype("<f4").reshape(d, N),
        "W_dec": values(N * d, 11).astype("<f4").reshape(N, d),
        "b_enc": values(N, 12).astype("<f4"),
        "b_dec": values(d, 13).astype("<f4"),
        "threshold": np.abs(values(N, 14)).astype("<f4"),
    }
    np.savez(path("params_stored.npz"), **params)
    np.savez_compressed(path("params_compressed.npz"), **params)
    arrays = {k: {"dtype": "f32", "shape": list(v.shape), "data": [float(x) for x in v.ravel()]}
              for k, v in params.items()}
    for fname in ("params_stored.npz", "params_compressed.npz"):
        files.append({"file": fname, "kind": "npz", "arrays": arrays,
                      "matrix": {"tensor": "W_dec", "transposed": False, "rows": N, "cols": d}})

    # An npz with one 2-D array under a non-standard name (default choice: the only 2-D array).
    m = values(3 * 4, 15).astype("<f4").reshape(3, 4)
    np.savez(path("single_matrix.npz"), vecs=m, labels=np.arange(3, dtype="<i8"))
    files.append({"file": "single_matrix.npz", "kind": "npz",
                  "arrays": {"vecs": {"dtype": "f32", "shape": [3, 4], "data": [float(x) for x in m.ravel()]},
                             "labels": {"dtype": "i64", "shape": [3], "data": [0.0, 1.0, 2.0]}},
                  "matrix": {"tensor": "vecs", "transposed": False, "rows": 3, "cols": 4}})

    # --- safetensors with metadata and a torch-style decoder.weight (d, N) -----------
    N, d = 12, 5
    dec = values(d * N, 20).astype("<f4").reshape(d, N)   # (d, N) like nn.Linear(N, d).weight
    enc = values(N * d, 21).astype("<f4").reshape(N, d)
    meta = {"model": "tiny-test", "layer": "3", "d_sae": str(N)}
    dec16 = dec.astype("<f2")
    save_file({"decoder.weight": dec16, "encoder.weight": enc.astype("<f2"),
               "decoder.bias": values(d, 22).astype("<f2")},
              path("sae_f16.safetensors"), metadata=meta)
    files.append({"file": "sae_f16.safetensors", "kind": "safetensors", "metadata": meta,
                  "arrays": {"decoder.weight": {"dtype": "f16", "shape": [d, N],
                                                "data": [float(x) for x in dec16.astype(np.float64).ravel()]}},
                  "matrix": {"tensor": "decoder.weight", "transposed": True, "rows": N, "cols": d}})

    # bf16: numpy has no bfloat16, so write the file by hand (same layout safetensors uses).
    dec_b = bf16_bits(dec)
    bias_b = bf16_bits(values(d, 22).astype("<f4"))
    write_safetensors_by_hand(path("sae_bf16.safetensors"),
                              [("decoder.weight", "BF16", (d, N), dec_b.tobytes()),
                               ("decoder.bias", "BF16", (d,), bias_b.tobytes())],
                              meta)
    files.append({"file": "sae_bf16.safetensors", "kind": "safetensors", "metadata": meta,
                  "arrays": {"decoder.weight": {"dtype": "bf16", "shape": [d, N],
                                                "data": [float(x) for x in bf16_to_f32(dec_b).ravel()]}},
                  "matrix": {"tensor": "decoder.weight", "transposed": True, "rows": N, "cols": d}})

    # f32 safetensors with W_dec (N, d) plus other tensors, no metadata.
    wdec = values(N * d, 23).astype("<f4").reshape(N, d)
    save_file({"W_dec": wdec, "W_enc": wdec.T.copy(), "b_dec": np.zeros(d, dtype="<f4"),
               "count": np.array([1, 2, 3], dtype="<i8")}, path("sae_f32.safetensors"))
    files.append({"file": "sae_f32.safetensors", "kind": "safetensors", "metadata": {},
                  "arrays": {"W_dec": {"dtype": "f32", "shape": [N, d], "data": [float(x) for x in wdec.ravel()]},
                             "count": {"dtype": "i64", "shape": [3], "data": [1.0, 2.0, 3.0]}},
                  "matrix": {"tensor": "W_dec", "transposed": False, "rows": N, "cols": d}})

    with open(path("expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def check(d):
    """Reads files written by the Rust writers with numpy / safetensors and checks the values."""
    from safetensors import safe_open

    vals = np.arange(12, dtype=np.float32) * 0.25 - 1.0
    w = vals.reshape(3, 4)
    a = np.load(os.path.join(d, "rust_f32.npy"))
    assert a.dtype == np.dtype("<f4") and a.shape == (3, 4) and np.array_equal(a, w), a
    a = np.load(os.path.join(d, "rust_f16.npy"))
    assert a.dtype == np.dtype("<f2") and np.array_equal(a, vals.astype("<f2").reshape(4, 3)), a
    for name in ("rust_stored.npz", "rust_compressed.npz"):
        z = np.load(os.path.join(d, name))
        assert sorted(z.files) == ["W_dec", "n"], z.files
        assert np.array_equal(z["W_dec"], w)
        assert z["n"].dtype == np.dtype("<i8") and list(z["n"]) == [-1, 1 << 40]
    path_st = os.path.join(d, "rust.safetensors")
    with safe_open(path_st, framework="np") as f:
        assert f.metadata() == {"model": "rust"}, f.metadata()
        assert np.array_equal(f.get_tensor("W_dec"), w)
        t = f.get_tensor("dec16")
        assert t.dtype == np.float16 and np.array_equal(t, vals.astype("<f2").reshape(4, 3))
        assert list(f.get_tensor("n")) == [-1, 1 << 40]
    with open(path_st, "rb") as fh:
        raw = fh.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    bf = header["bf"]
    assert bf["dtype"] == "BF16" and bf["shape"] == [12], bf
    s, e = bf["data_offsets"]
    bits = np.frombuffer(raw[8 + n + s:8 + n + e], dtype="<u2")
    assert np.array_equal(bf16_to_f32(bits), vals), bits  # these values are exact in bf16
    print("ok: numpy and safetensors read every file the Rust writers made")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main()
