//! The CLI end to end: `analyze galaxy` prints the documented JSON and matches the numpy/scipy
//! golden numbers; bad arguments exit with 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn sae_geometry(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sae-geometry"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = sae_geometry(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn golden_case(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("tests/golden/galaxy_golden.json")).unwrap();
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn galaxy_json_has_the_documented_fields_and_matches_numpy() {
    let out = json(&["analyze", "galaxy", "tests/golden/galaxy_powerlaw.npy"]);
    let case = golden_case("powerlaw");
    let fit = case["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["first"] == 11 && f["last"] == 150)
        .unwrap();
    assert_eq!(out["n"], 1200);
    assert_eq!(out["d"], 200);
    let eig: Vec<f64> = out["eigenvalues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(eig.len(), 200);
    assert!(eig.windows(2).all(|w| w[0] >= w[1]), "descending");
    let p = &out["power_law"];
    // The product's promise: slope within 1e-4 relative of scipy; it is far closer.
    assert!(rel(p["slope"].as_f64().unwrap(), fit["slope"].as_f64().unwrap()) < 1e-6);
    assert!(rel(p["ci95"][0].as_f64().unwrap(), fit["ci95"][0].as_f64().unwrap()) < 1e-6);
    assert!(rel(p["ci95"][1].as_f64().unwrap(), fit["ci95"][1].as_f64().unwrap()) < 1e-6);
    assert_eq!(p["first_rank"], 11);
    assert_eq!(p["last_rank"], 150);
    assert!(
        rel(
            out["log_volume"].as_f64().unwrap(),
            fit["log_volume"].as_f64().unwrap()
        ) < 1e-8
    );
    // At n/d = 6 the isotropic cloud's spectrum is not flat (Marchenko-Pastur), but far flatter than the data's.
    assert!(out["isotropic_slope"].as_f64().unwrap() > p["slope"].as_f64().unwrap() / 2.0);
    assert_eq!(out["tensor"], "galaxy_powerlaw.npy");
}

#[test]
fn ranks_and_seed_are_honoured() {
    let out = json(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--ranks",
        "1..100",
        "--seed",
        "5",
    ]);
    let case = golden_case("powerlaw");
    let fit = case["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["first"] == 1 && f["last"] == 100)
        .unwrap();
    assert_eq!(out["power_law"]["first_rank"], 1);
    assert!(
        rel(
            out["power_law"]["slope"].as_f64().unwrap(),
            fit["slope"].as_f64().unwrap()
        ) < 1e-6
    );
    assert_eq!(out["params"]["seed"], 5);
    let again = json(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--ranks",
        "1..100",
        "--seed",
        "5",
    ]);
    assert_eq!(out, again, "the same input and seed give identical JSON");
    let other = json(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--ranks",
        "1..100",
        "--seed",
        "6",
    ]);
    assert_ne!(
        out["isotropic_slope"], other["isotropic_slope"],
        "the seed drives the isotropic reference"
    );
}

#[test]
fn bad_arguments_exit_with_2() {
    for args in [
        vec![
            "analyze",
            "galaxy",
            "tests/golden/galaxy_powerlaw.npy",
            "--ranks",
            "150..11",
        ],
        vec![
            "analyze",
            "galaxy",
            "tests/golden/galaxy_powerlaw.npy",
            "--ranks",
            "eleven",
        ],
        vec!["analyze", "galaxy", "no/such/file.npy"],
        vec![
            "analyze",
            "galaxy",
            "tests/golden/galaxy_powerlaw.npy",
            "--tensor",
            "W_dec",
        ],
    ] {
        let out = sae_geometry(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[test]
fn inspect_lists_arrays_and_metadata() {
    let out = json(&["inspect", "public/data/minilm-l6-token-embeddings.safetensors"]);
    assert_eq!(out["format"], "safetensors");
    assert_eq!(out["arrays"][0]["name"], "embeddings.word_embeddings.weight");
    assert_eq!(out["arrays"][0]["shape"], serde_json::json!([30522, 384]));
    assert_eq!(out["arrays"][0]["dtype"], "f16");
    assert!(out["metadata"]["source_sha256"].as_str().unwrap().len() == 64);
}

#[test]
fn inspect_lists_a_gemma_scope_style_npz() {
    let out = json(&["inspect", "tests/golden/formats/params_compressed.npz"]);
    assert_eq!(out["format"], "npz");
    let names: Vec<&str> = out["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for name in ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}
