//! Golden-file tests: files written by real numpy / safetensors (see
//! `tests/golden/formats/make_format_fixtures.py`) must decode to the values in `expected.json`.
//!
//! The `export_for_numpy` test (ignored by default) writes files with this crate's writers so the
//! script's `--check DIR` mode can confirm numpy and safetensors read them back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sae_geometry::formats::{self, npy, npz, safetensors, Array, Dtype, FileKind, FormatError};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/formats")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}; run make_format_fixtures.py"))
}

fn expected() -> Value {
    serde_json::from_slice(&load("expected.json")).unwrap()
}

fn files() -> Vec<Value> {
    expected()["files"].as_array().unwrap().clone()
}

fn shape_of(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn data_of(v: &Value) -> Vec<f64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect()
}

/// Checks dtype, shape and values: exactly as f32 for f16/bf16/f32 and integers, to the last bit
/// or so for f64 (serde_json's default float parsing may be off by one ulp).
fn check_array(file: &str, name: &str, got: &Array, want: &Value) {
    assert_eq!(
        got.dtype.to_string(),
        want["dtype"].as_str().unwrap(),
        "{file}:{name} dtype"
    );
    assert_eq!(got.shape, shape_of(want), "{file}:{name} shape");
    let (got, want_v) = (got.to_f64_vec(), data_of(want));
    assert_eq!(got.len(), want_v.len(), "{file}:{name} length");
    for (k, (g, w)) in got.iter().zip(&want_v).enumerate() {
        if want["dtype"] == "f64" {
            assert!((g - w).abs() <= 1e-15 * w.abs(), "{file}:{name}[{k}]: {g} vs {w}");
        } else {
            assert_eq!(*g as f32, *w as f32, "{file}:{name}[{k}]");
        }
    }
}

/// Checks `read_matrix` against the expected stored array (transposed or not).
fn check_matrix(file: &str, bytes: &[u8], spec: &Value, arrays: &Value) {
    let tensor = spec["tensor"].as_str().unwrap();
    let m = formats::read_matrix(bytes, file, None).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(m.tensor, tensor, "{file}");
    assert_eq!(m.transposed, spec["transposed"].as_bool().unwrap(), "{file}");
    let (rows, cols) = (
        spec["rows"].as_u64().unwrap() as usize,
        spec["cols"].as_u64().unwrap() as usize,
    );
    assert_eq!((m.matrix.rows(), m.matrix.cols()), (rows, cols), "{file}");
    let stored = &arrays[tensor];
    assert_eq!(m.source_dtype.to_string(), stored["dtype"].as_str().unwrap());
    let values = data_of(stored);
    for i in 0..rows {
        for j in 0..cols {
            let want = if m.transposed {
                values[j * rows + i]
            } else {
                values[i * cols + j]
            };
            assert_eq!(m.matrix.row(i)[j], want as f32, "{file} [{i},{j}]");
        }
    }
    // Naming the tensor explicitly gives the same matrix.
    let again = formats::read_matrix(bytes, file, Some(tensor)).unwrap();
    assert_eq!(again, m);
}

#[test]
fn every_golden_file_is_described() {
    let described: Vec<String> = files()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".npy") || n.ends_with(".npz") || n.ends_with(".safetensors"))
        .collect();
    on_disk.sort();
    let mut d = described.clone();
    d.sort();
    assert_eq!(d, on_disk);
    let total: u64 = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 100_000, "golden files take {total} bytes");
}

#[test]
fn npy_golden_files() {
    let mut seen = 0;
    for f in files().iter().filter(|f| f["kind"] == "npy") {
        let file = f["file"].as_str().unwrap();
        let bytes = load(file);
        assert_eq!(
            formats::detect_kind(&bytes, "no-extension").unwrap(),
            FileKind::Npy,
            "{file}"
        );
        if let Some(kind) = f["error"].as_str() {
            let e = npy::read(&bytes).unwrap_err();
            assert_eq!(e.kind(), kind, "{file}: {e}");
            assert_eq!(formats::read_matrix(&bytes, file, None).unwrap_err().kind(), kind);
            seen += 1;
            continue;
        }
        let a = npy::read(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        check_array(file, file, &a, f);
        let version = if file.starts_with("v2") {
            2
        } else if file.starts_with("v3") {
            3
        } else {
            1
        };
        assert_eq!(npy::read_header(&bytes).unwrap().version, (version, 0), "{file}");
        match formats::read_matrix(&bytes, file, None) {
            Ok(m) => {
                assert_eq!(a.shape.len(), 2);
                assert_eq!((m.matrix.rows(), m.matrix.cols()), (a.shape[0], a.shape[1]));
                assert_eq!(m.matrix.as_slice(), a.to_f32_vec().as_slice());
                assert_eq!(m.tensor, file);
            }
            Err(e) => {
                assert_ne!(a.shape.len(), 2, "{file}: {e}");
                assert_eq!(e.kind(), "not-a-matrix");
            }
        }
        // Our writer reproduces numpy's bytes exactly for v1 f32/f64/i32/f16 files.
        if version == 1 {
            assert_eq!(npy::write(&a), bytes, "{file}: writer differs from np.save");
        }
        seen += 1;
    }
    assert!(seen >= 9, "{seen}");
}

#[test]
fn npz_golden_files() {
    let mut seen = 0;
    for f in files().iter().filter(|f| f["kind"] == "npz") {
        let file = f["file"].as_str().unwrap();
        let bytes = load(file);
        assert_eq!(formats::detect_kind(&bytes, "x").unwrap(), FileKind::Npz);
        let arrays = f["arrays"].as_object().unwrap();
        let mut names = npz::list(&bytes).unwrap();
        names.sort();
        let mut want: Vec<String> = arrays.keys().cloned().collect();
        want.sort();
        assert_eq!(names, want, "{file}");
        for (name, spec) in arrays {
            check_array(file, name, &npz::read(&bytes, name).unwrap(), spec);
        }
        let entries = npz::entries(&bytes).unwrap();
        assert_eq!(entries.len(), arrays.len());
        check_matrix(file, &bytes, &f["matrix"], &f["arrays"]);
        let e = npz::read(&bytes, "nope").unwrap_err();
        assert_eq!(e.kind(), "missing-tensor");
        seen += 1;
    }
    assert_eq!(seen, 3);

    // Gemma Scope style: W_enc is (d, N), so asking for it as a matrix works but is not transposed;
    // b_enc is 1-D and is not a matrix.
    let bytes = load("params_compressed.npz");
    let m = formats::read_matrix(&bytes, "params.npz", Some("W_enc")).unwrap();
    assert_eq!((m.matrix.rows(), m.matrix.cols(), m.transposed), (5, 12, false));
    let e = formats::read_matrix(&bytes, "params.npz", Some("b_enc")).unwrap_err();
    assert_eq!(
        e,
        FormatError::NotAMatrix {
            name: "b_enc".into(),
            shape: vec![12]
        }
    );
}

#[test]
fn safetensors_golden_files() {
    let mut seen = 0;
    for f in files().iter().filter(|f| f["kind"] == "safetensors") {
        let file = f["file"].as_str().unwrap();
        let bytes = load(file);
        assert_eq!(formats::detect_kind(&bytes, "x").unwrap(), FileKind::Safetensors);
        let meta: BTreeMap<String, String> = serde_json::from_value(f["metadata"].clone()).unwrap();
        assert_eq!(safetensors::metadata(&bytes).unwrap(), meta, "{file}");
        for (name, spec) in f["arrays"].as_object().unwrap() {
            check_array(file, name, &safetensors::read(&bytes, name).unwrap(), spec);
            let listed = safetensors::list(&bytes).unwrap();
            let (_, dtype, shape) = listed.iter().find(|(n, _, _)| n == name).unwrap();
            assert_eq!(
                (dtype.to_string(), shape.clone()),
                (spec["dtype"].as_str().unwrap().to_string(), shape_of(spec))
            );
        }
        check_matrix(file, &bytes, &f["matrix"], &f["arrays"]);
        let m = formats::read_matrix(&bytes, file, None).unwrap();
        assert_eq!(m.metadata, meta);
        seen += 1;
    }
    assert_eq!(seen, 3);

    // Asking for a tensor that is not there names what is.
    let e = formats::read_matrix(&load("sae_f16.safetensors"), "sae.safetensors", Some("W_dec")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("decoder.weight (5x12 F16)") && msg.contains("encoder.weight (12x5 F16)"),
        "{msg}"
    );
}

#[test]
fn corrupted_golden_files_fail_cleanly() {
    // Every prefix of every golden file is an error (never a panic), and flipping any single
    // byte is either an error or a successful read.
    for f in files() {
        let file = f["file"].as_str().unwrap();
        let bytes = load(file);
        for cut in 0..bytes.len() {
            let _ = formats::read_matrix(&bytes[..cut], file, None)
                .map(|m| panic!("{file} cut at {cut} read as {m:?}"));
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            let _ = formats::read_matrix(&b, file, None);
            // The lower-level entry points must not panic either.
            let _ = npy::read(&b);
            let _ = npz::entries(&b).map(|_| npz::read(&b, "W_dec"));
            let _ = safetensors::metadata(&b);
            for (name, _, _) in safetensors::list(&b).unwrap_or_default() {
                let _ = safetensors::read(&b, &name);
            }
        }
    }
}

/// Writes files with this crate's writers into `$SAE_FORMATS_EXPORT_DIR`, for
/// `python3 tests/golden/formats/make_format_fixtures.py --check DIR`.
#[test]
#[ignore]
fn export_for_numpy() {
    let Ok(out) = std::env::var("SAE_FORMATS_EXPORT_DIR") else {
        return;
    };
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    let vals: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    let w = Array::f32(vec![3, 4], vals.clone());
    let h = Array::f16_from_f32(vec![4, 3], &vals);
    let b = Array::bf16_from_f32(vec![12], &vals);
    let i = Array {
        dtype: Dtype::I64,
        shape: vec![2],
        data: formats::ArrayData::I64(vec![-1, 1 << 40]),
    };
    std::fs::write(out.join("rust_f32.npy"), npy::write(&w)).unwrap();
    std::fs::write(out.join("rust_f16.npy"), npy::write(&h)).unwrap();
    std::fs::write(
        out.join("rust_stored.npz"),
        npz::write(&[("W_dec", &w), ("n", &i)], false),
    )
    .unwrap();
    std::fs::write(
        out.join("rust_compressed.npz"),
        npz::write(&[("W_dec", &w), ("n", &i)], true),
    )
    .unwrap();
    let meta = BTreeMap::from([("model".to_string(), "rust".to_string())]);
    std::fs::write(
        out.join("rust.safetensors"),
        safetensors::write(&[("W_dec", &w), ("dec16", &h), ("bf", &b), ("n", &i)], &meta),
    )
    .unwrap();
}
