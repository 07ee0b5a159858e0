//! Lobe- and crystal-scale edge cases (tests/fixtures/edge_lobes, made by make_edge_lobes.py):
//! features that never or always fire (authors' `.npz` histogram and the app's bundle), k against
//! the number of features and of distinct features, histograms with nothing firing, no chunks,
//! negative counts, the wrong shape or NaN / infinity; word vectors that repeat, are zero or hold
//! NaN, a task of one pair, fewer pairs than the LDA needs. Each gives what expected.json says,
//! through the library path the CLI takes (`lobes_from_bytes`; `read_vectors_with_vocabulary`,
//! `with_task_files`, `crystal_analysis`) and through the CLI itself (exit code 0 and JSON whose
//! numbers are numbers, or exit code 2 and a message naming the problem, never a panic).
//!
//! Tolerances: labels and lobe sizes exact (scikit-learn's); AMI, balanced accuracy and
//! silhouettes relative 1e-9 (as the galaxy edge cases of tests/edge_cases.rs); the embeddings'
//! eigenvalues 1e-6 absolute (the affinities are stored in f32, as tests/golden_lobes.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use sae_geometry::analysis::crystals::{crystal_analysis, read_vectors_with_vocabulary, with_task_files, CrystalParams};
use sae_geometry::analysis::lobes::lobes_from_bytes;
use sae_geometry::analysis::AnalysisError;
use sae_geometry::geometry::affinity::Affinity;
use sae_geometry::geometry::lobes::LobeParams;
use serde_json::{Map, Value};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edge_lobes")
}

fn expected(scale: &str) -> Map<String, Value> {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all[scale].as_object().unwrap().clone()
}

fn close(a: f64, b: f64) -> bool {
    a.is_finite() && (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// The error is of the expected kind and its message names the problem.
fn check_error(name: &str, want: &Value, e: &AnalysisError, wrong: &mut Vec<String>) {
    let kind = want["kind"].as_str().unwrap();
    let message = e.to_string();
    if e.kind() != kind {
        wrong.push(format!("{name}: got {} ({message}), expected {kind}", e.kind()));
    }
    for word in want["names"].as_array().unwrap() {
        let word = word.as_str().unwrap();
        if !message.to_lowercase().contains(&word.to_lowercase()) {
            wrong.push(format!("{name}: the message does not name '{word}': {message}"));
        }
    }
}

/// Runs the CLI; on success returns its JSON, on failure checks exit code 2, `error: `, the
/// words of `names`, and that nothing panicked.
fn cli(name: &str, args: &[String], want: &Value, wrong: &mut Vec<String>) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sae-geometry")).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("panicked") {
        wrong.push(format!("{name}: the CLI panicked: {stderr}"));
        return None;
    }
    match (want["kind"].as_str(), out.status.code()) {
        (None, Some(0)) => Some(serde_json::from_slice(&out.stdout).unwrap()),
        (Some(_), Some(2)) => {
            for word in want["names"].as_array().unwrap() {
                let word = word.as_str().unwrap().to_lowercase();
                if !stderr.starts_with("error: ") || !stderr.to_lowercase().contains(&word) {
                    wrong.push(format!("{name}: the CLI's message does not name '{word}': {stderr}"));
                }
            }
            None
        }
        (kind, code) => {
            wrong.push(format!("{name}: the CLI exited with {code:?} ({stderr}), expected {}", kind.unwrap_or("success")));
            None
        }
    }
}

/// Every number of a report is a number: serde_json writes NaN and infinities as null, which
/// only an absent optional field may be.
fn no_nulls(name: &str, v: &Value, path: &str, optional: &[&str], wrong: &mut Vec<String>) {
    match v {
        Value::Null if !optional.iter().any(|o| path.ends_with(o)) => wrong.push(format!("{name}: {path} is null (NaN?)")),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| no_nulls(name, x, &format!("{path}[{i}]"), optional, wrong)),
        Value::Object(o) => o.iter().for_each(|(k, x)| no_nulls(name, x, &format!("{path}.{k}"), optional, wrong)),
        _ => {}
    }
}

#[test]
fn each_lobes_edge_case_gives_sklearns_numbers_or_its_named_error() {
    let cases = expected("lobes");
    assert!(cases.len() >= 25, "the lobe edge-case set is complete");
    let mut wrong = Vec::new();
    for (name, want) in &cases {
        let (decoder, cooccurrence) = (want["decoder"].as_str().unwrap(), want["cooccurrence"].as_str().unwrap());
        let affinity = Affinity::parse(want["affinity"].as_str().unwrap()).unwrap();
        let k = want["k"].as_u64().unwrap() as usize;
        let params = LobeParams { k, affinity, null_trials: 0, ..LobeParams::default() };
        let d = std::fs::read(dir().join(decoder)).unwrap();
        let c = std::fs::read(dir().join(cooccurrence)).unwrap();
        let got = lobes_from_bytes((&d, decoder, None), (&c, cooccurrence), &[affinity], &[k], &params, false, &mut |_, _| {});
        match (want["kind"].as_str(), got) {
            (Some(kind), Ok(_)) => wrong.push(format!("{name}: lobes where scikit-learn has none ({kind} expected)")),
            (Some(_), Err(e)) => check_error(name, want, &e, &mut wrong),
            (None, Err(e)) => wrong.push(format!("{name}: {} ({e}), expected scikit-learn's numbers", e.kind())),
            (None, Ok(run)) => {
                let r = &run.reports[0];
                let a = &r.agreement;
                let labels = |l: &[u32]| l.iter().map(|&x| x as u64).collect::<Vec<_>>();
                if labels(&a.labels_cooccurrence) != ints(&want["labels_cooccurrence"]) {
                    wrong.push(format!("{name}: co-occurrence labels {:?}, scikit-learn {}", a.labels_cooccurrence, want["labels_cooccurrence"]));
                }
                if labels(&a.labels_geometry) != ints(&want["labels_geometry"]) {
                    wrong.push(format!("{name}: geometric labels {:?}, scikit-learn {}", a.labels_geometry, want["labels_geometry"]));
                }
                let sizes: Vec<u64> = a.lobe_sizes.iter().map(|&s| s as u64).collect();
                if sizes != ints(&want["lobe_sizes"]) {
                    wrong.push(format!("{name}: lobe sizes {sizes:?}, scikit-learn {}", want["lobe_sizes"]));
                }
                for (what, value) in [("ami", a.ami), ("balanced_accuracy", a.balanced_accuracy)] {
                    let w = want[what].as_f64().unwrap();
                    if !close(value, w) {
                        wrong.push(format!("{name}: {what} {value}, scikit-learn {w}"));
                    }
                }
                for (what, values) in
                    [("eigenvalues_cooccurrence", &r.eigenvalues_cooccurrence), ("eigenvalues_geometry", &r.eigenvalues_geometry)]
                {
                    let w = floats(&want[what]);
                    if values.len() != w.len() || values.iter().zip(&w).any(|(x, y)| !((x - y).abs() <= 1e-6)) {
                        wrong.push(format!("{name}: {what} {values:?}, numpy {w:?}"));
                    }
                }
            }
        }
        let args: Vec<String> = ["analyze", "lobes"]
            .iter()
            .map(|s| s.to_string())
            .chain([dir().join(decoder).display().to_string(), dir().join(cooccurrence).display().to_string()])
            .chain(["--k".into(), k.to_string(), "--affinity".into(), want["affinity"].as_str().unwrap().into()])
            .chain(["--null-trials".into(), "0".into()])
            .collect();
        if let Some(json) = cli(name, &args, want, &mut wrong) {
            no_nulls(name, &json, "", &["null", "ami_null", "bacc_null", "specialisation"], &mut wrong);
            if json["ami"].as_f64().is_none_or(|v| !close(v, want["ami"].as_f64().unwrap())) {
                wrong.push(format!("{name}: the CLI's ami {}, scikit-learn {}", json["ami"], want["ami"]));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_crystals_edge_case_gives_sklearns_numbers_or_its_named_error() {
    let cases = expected("crystals");
    assert!(cases.len() >= 8, "the crystal edge-case set is complete");
    let mut wrong = Vec::new();
    for (name, want) in &cases {
        let vectors_name = want["vectors"].as_str().unwrap();
        let vectors = std::fs::read(dir().join(vectors_name)).unwrap();
        let vocab = std::fs::read_to_string(dir().join(want["vocab"].as_str().unwrap())).unwrap();
        let tasks: Vec<&str> = want["tasks"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let files: Vec<(String, String)> = tasks
            .iter()
            .map(|t| (Path::new(t).file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(dir().join(t)).unwrap()))
            .collect();
        let got = read_vectors_with_vocabulary(&vectors, vectors_name, None, &vocab).and_then(|mut data| {
            with_task_files(&mut data, &files)?;
            crystal_analysis(&data, vectors_name, &CrystalParams::default(), false, &mut |_, _| {})
        });
        match (want["kind"].as_str(), got) {
            (Some(kind), Ok(_)) => wrong.push(format!("{name}: a report where scikit-learn has none ({kind} expected)")),
            (Some(_), Err(e)) => check_error(name, want, &e, &mut wrong),
            (None, Err(e)) => wrong.push(format!("{name}: {} ({e}), expected scikit-learn's numbers", e.kind())),
            (None, Ok(r)) => {
                if r.pairs as u64 != want["pairs"].as_u64().unwrap() {
                    wrong.push(format!("{name}: {} pairs, expected {}", r.pairs, want["pairs"]));
                }
                let raw = want["silhouette_raw"].as_f64().unwrap();
                if !close(r.silhouette_raw, raw) {
                    wrong.push(format!("{name}: raw silhouette {}, scikit-learn {raw}", r.silhouette_raw));
                }
                if r.parallelogram_components as u64 != want["lda_components"].as_u64().unwrap() {
                    wrong.push(format!("{name}: {} LDA components, scikit-learn {}", r.parallelogram_components, want["lda_components"]));
                }
                let lda = want["silhouette_lda"].as_object().unwrap();
                let keys: Vec<String> = r.silhouette_lda.keys().map(|k| k.to_string()).collect();
                if keys != lda.keys().cloned().collect::<Vec<_>>() {
                    wrong.push(format!("{name}: LDA silhouettes for {keys:?}, scikit-learn for {:?}", lda.keys()));
                }
                for (m, s) in &r.silhouette_lda {
                    let w = lda.get(&m.to_string()).and_then(Value::as_f64);
                    if w.is_none_or(|w| !close(*s, w)) {
                        wrong.push(format!("{name}: silhouette of {m} LDA components {s}, scikit-learn {w:?}"));
                    }
                }
            }
        }
        let mut args: Vec<String> = vec!["analyze".into(), "crystals".into(), dir().join(vectors_name).display().to_string()];
        args.extend(["--vocab".into(), dir().join(want["vocab"].as_str().unwrap()).display().to_string()]);
        args.extend(tasks.iter().map(|t| dir().join(t).display().to_string()));
        if let Some(json) = cli(name, &args, want, &mut wrong) {
            let optional =
                ["median_relative_error", "median_cosine", "word_length", "word_length_error", "layer", "tasks", "max_components", "shrinkage", "silhouette_sample"];
            no_nulls(name, &json, "", &optional, &mut wrong);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The number of features is read from the header alone (the worker refuses, before reading the
/// data, what the tab's memory budget cannot hold): the `.npz`'s histogram shape, a bundle's
/// metadata; a decoder says nothing.
#[test]
fn cooccurrence_features_come_from_the_header() {
    use sae_geometry::analysis::budget::{lobes_refusal, MemoryBudget};
    use sae_geometry::analysis::lobes::cooccurrence_features;
    for (file, n) in [("plain.npz", Some(20)), ("never_fires.safetensors", Some(20)), ("five.npz", Some(5)), ("decoder20.npy", None)] {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        assert_eq!(cooccurrence_features(&bytes, file), n, "{file}");
    }
    let tab = MemoryBudget { bytes: 1 << 30 };
    assert!(lobes_refusal(20, tab).is_none());
    let why = lobes_refusal(16_384, tab).unwrap();
    assert!(why.contains("at most 9") && why.contains("sae-geometry analyze lobes"), "{why}");
}
