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

#[test]
fn galaxy_json_has_the_clustering_entropy() {
    let out = json(&["analyze", "galaxy", "tests/golden/galaxy_powerlaw.npy"]);
    let e = &out["entropy"];
    // Defaults: 5000 samples (all 1200 rows here), 100 PCs, 30 resamples, k = 1.
    assert_eq!(
        (&e["samples"], &e["pcs"], &e["bootstrap"], &e["k"]),
        (&1200.into(), &100.into(), &30.into(), &1.into())
    );
    let (c, lo, hi) = (
        e["clustering"].as_f64().unwrap(),
        e["ci95"][0].as_f64().unwrap(),
        e["ci95"][1].as_f64().unwrap(),
    );
    assert!(lo < c && c < hi, "{e}");
    let (g, k) = (e["gaussian"].as_f64().unwrap(), e["knn_mean"].as_f64().unwrap());
    assert!((g - k - c).abs() < 1e-9 * c.abs().max(1.0));
    assert_eq!(out["params"]["entropy"]["pcs"], 100);
    // The isotropic reference's entropy, with the same settings.
    let iso = &out["isotropic_entropy"];
    assert_eq!((&iso["samples"], &iso["pcs"], &iso["bootstrap"]), (&1200.into(), &100.into(), &30.into()));
    assert!(iso["clustering"].as_f64().unwrap().is_finite());

    let small = json(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--entropy-samples",
        "500",
        "--entropy-pcs",
        "20",
        "--entropy-bootstrap",
        "4",
        "--entropy-k",
        "2",
        "--seed",
        "3",
    ]);
    let e = &small["entropy"];
    assert_eq!(
        (&e["samples"], &e["pcs"], &e["bootstrap"], &e["k"]),
        (&500.into(), &20.into(), &4.into(), &2.into())
    );
    assert_eq!(e["per_bootstrap"].as_array().unwrap().len(), 4);
    assert_eq!(small["params"]["entropy"]["seed"], 3);

    let none = json(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--no-entropy",
    ]);
    assert!(none["entropy"].is_null() && none["params"]["entropy"].is_null() && none["isotropic_entropy"].is_null());
    assert_eq!(none["power_law"], out["power_law"]);

    // Too many components for d = 200: exit 2, saying what to change.
    let bad = sae_geometry(&[
        "analyze",
        "galaxy",
        "tests/golden/galaxy_powerlaw.npy",
        "--entropy-pcs",
        "300",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--entropy-pcs"));
}

/// Options that keep the layers test quick (160 rows per fixture).
const LAYER_OPTS: [&str; 6] = ["--entropy-pcs", "20", "--entropy-bootstrap", "5", "--seed", "1"];

#[test]
fn galaxy_layers_rows_from_files_and_from_a_manifest() {
    let mut args = vec![
        "analyze",
        "galaxy-layers",
        "tests/fixtures/layers/layer6.safetensors",
        "tests/fixtures/layers/layer0.safetensors",
    ];
    args.extend(LAYER_OPTS);
    let files = json(&args);
    let rows = files.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // Input order; the layer from each file's metadata.
    assert_eq!(rows[0]["layer"], 6);
    assert_eq!(rows[1]["layer"], 0);
    assert_eq!(rows[0]["file"], "tests/fixtures/layers/layer6.safetensors");
    for r in rows {
        assert_eq!(
            (&r["n"], &r["d"], &r["tensor"]),
            (&160.into(), &384.into(), &"W_dec".into())
        );
        let slope = r["slope"].as_f64().unwrap();
        assert!(r["ci95"][0].as_f64().unwrap() < slope && slope < r["ci95"][1].as_f64().unwrap());
        assert!(r["log_volume"].as_f64().unwrap().is_finite());
        assert!(r["isotropic_slope"].as_f64().is_some());
        assert_eq!(r["entropy"]["pcs"], 20);
        assert_eq!(r["entropy"]["samples"], 160);
        assert!(r["entropy"]["clustering"].as_f64().unwrap().is_finite());
    }
    // The same numbers as `analyze galaxy` on that file.
    let mut one = vec!["analyze", "galaxy", "tests/fixtures/layers/layer0.safetensors"];
    one.extend(LAYER_OPTS);
    let single = json(&one);
    assert_eq!(rows[1]["slope"], single["power_law"]["slope"]);
    assert_eq!(rows[1]["entropy"], single["entropy"]);
    assert_eq!(rows[1]["isotropic_entropy"], single["isotropic_entropy"]);

    // The manifest: grouped points datasets only, by layer; the cooccurrence and ungrouped
    // entries are skipped.
    let mut args = vec!["analyze", "galaxy-layers", "tests/fixtures/layers/manifest.json"];
    args.extend(LAYER_OPTS);
    let listed = json(&args);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!((&listed[0]["layer"], &listed[1]["layer"]), (&0.into(), &6.into()));
    assert_eq!(
        (&listed[0]["id"], &listed[0]["group"]),
        (&"test-layer0".into(), &"minilm-test".into())
    );
    assert_eq!(listed[0]["slope"], rows[1]["slope"]);
    assert_eq!(listed[1]["entropy"], rows[0]["entropy"]);
    assert_eq!(listed[1]["isotropic_slope"], rows[0]["isotropic_slope"]);

    // --group filters; a manifest mixed with files and an unknown group are errors.
    let mut args = vec![
        "analyze",
        "galaxy-layers",
        "tests/fixtures/layers/manifest.json",
        "--group",
        "nope",
    ];
    args.extend(LAYER_OPTS);
    assert_eq!(sae_geometry(&args).status.code(), Some(2));
    let mixed = sae_geometry(&[
        "analyze",
        "galaxy-layers",
        "tests/fixtures/layers/manifest.json",
        "tests/fixtures/layers/layer0.safetensors",
    ]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("not both"));
}

/// `analyze lobes` on the bundled layer-3 SAE: the documented JSON; the same lobes from the
/// authors' `.npz` histogram (built here from the same chunks) and from its `convert histogram`
/// bundle; clear errors for mismatched inputs and bad options.
#[test]
fn lobes_json_from_a_bundle_an_npz_histogram_and_a_converted_histogram() {
    use sae_geometry::formats::{bundle::Firings, npz, Array};
    use sae_geometry::geometry::cooccurrence::cooccurrence_histogram;
    let data = root().join("public/data");
    let decoder = data.join("minilm-l6-topk4096-layer3.safetensors");
    let bundle = data.join("minilm-l6-topk4096-layer3-cooccurrence.safetensors");
    let (d, b) = (decoder.to_str().unwrap(), bundle.to_str().unwrap());
    let r = json(&["analyze", "lobes", d, b, "--k", "2", "--null-trials", "3"]);
    for key in ["k", "affinity", "labels_cooccurrence", "labels_geometry", "ami", "balanced_accuracy", "null", "specialisation"] {
        assert!(!r[key].is_null(), "missing {key}: {r}");
    }
    for key in ["ami_mean", "ami_std", "ami_sigma", "bacc_mean", "bacc_std", "bacc_sigma"] {
        assert!(r["null"][key].is_number(), "null.{key}");
    }
    assert_eq!(r["k"], 2);
    assert_eq!(r["affinity"], "phi");
    assert_eq!(r["labels_cooccurrence"].as_array().unwrap().len(), 4096);
    let bacc = r["balanced_accuracy"].as_f64().unwrap();
    assert!(bacc > 0.6 && bacc <= 1.0, "balanced accuracy {bacc}");
    assert!(r["null"]["bacc_sigma"].as_f64().unwrap() > 3.0);

    // The authors' format: histogram (int32, N x N) and n_chunks, over the chunks not held out.
    let firings = Firings::from_safetensors(&std::fs::read(&bundle).unwrap()).unwrap();
    let chunks: Vec<&[u32]> = (0..firings.n_chunks())
        .filter(|&c| !firings.doc_heldout[firings.chunk_doc[c] as usize])
        .map(|c| firings.chunk(c))
        .collect();
    let h = cooccurrence_histogram(4096, &chunks, &mut |_| {}).unwrap();
    let counts: Vec<i32> = h.counts.iter().map(|&c| c as i32).collect();
    let dir = std::env::temp_dir().join(format!("sae-geometry-lobes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let npz_path = dir.join("cooccurrence.npz");
    let histogram = Array::i32(vec![4096, 4096], counts);
    let n_chunks = Array::i32(vec![], vec![h.n_chunks as i32]);
    std::fs::write(&npz_path, npz::write(&[("histogram", &histogram), ("n_chunks", &n_chunks)], true)).unwrap();
    let p = npz_path.to_str().unwrap();
    let from_npz = json(&["analyze", "lobes", d, p, "--k", "2", "--null-trials", "0"]);
    assert_eq!(from_npz["labels_cooccurrence"], r["labels_cooccurrence"]);
    assert_eq!(from_npz["ami"], r["ami"]);
    assert_eq!(from_npz["cooccurrence_source"], "histogram");
    assert!(from_npz["specialisation"].is_null());
    let converted = dir.join("cooccurrence.safetensors");
    let out = sae_geometry(&["convert", "histogram", p, "--out", converted.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_converted = json(&["analyze", "lobes", d, converted.to_str().unwrap(), "--k", "2", "--null-trials", "0"]);
    assert_eq!(from_converted["labels_cooccurrence"], r["labels_cooccurrence"]);

    // Several k at once: an array, one embedding for the largest.
    let many = json(&["analyze", "lobes", d, b, "--k", "2..3", "--null-trials", "0", "--brief"]);
    assert_eq!(many.as_array().unwrap().len(), 2);
    assert_eq!(many[0]["ami"], r["ami"]);
    assert!(many[1]["labels_cooccurrence"].as_array().unwrap().is_empty());

    let other = data.join("minilm-l6-token-embeddings.safetensors");
    let out = sae_geometry(&["analyze", "lobes", other.to_str().unwrap(), b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the same SAE"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = sae_geometry(&["analyze", "lobes", d, d]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a co-occurrence bundle"));
    let out = sae_geometry(&["analyze", "lobes", d, b, "--affinity", "cosine"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("phi, jaccard, dice, overlap, smc"));
    let out = sae_geometry(&["analyze", "lobes", d, b, "--k", "two"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a range (2..8)"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn crystals_from_a_crystal_set_and_from_vectors_with_a_vocabulary_and_task_files() {
    let dir = root().join("tests/golden/crystals");
    let vectors = dir.join("minilm-l0-subset.npy");
    let words = dir.join("minilm-l0-subset-words.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    let set = json(&["analyze", "crystals", vectors.to_str().unwrap(), "--words", words.to_str().unwrap()]);
    let g = &golden["minilm"];
    assert!(rel(set["silhouette_raw"].as_f64().unwrap(), g["silhouette_raw"].as_f64().unwrap()) < 1e-6);
    for key in ["tasks", "silhouette_raw", "silhouette_lda", "parallelogram", "word_length"] {
        assert!(!set[key].is_null(), "{key} is missing");
    }
    // Keys in numeric order in the text ("2" .. "11"), not string order.
    let text = String::from_utf8(
        sae_geometry(&["analyze", "crystals", vectors.to_str().unwrap(), "--words", words.to_str().unwrap()]).stdout,
    )
    .unwrap();
    assert!(text.contains(r#""silhouette_lda":{"2":"#), "{}", &text[..300.min(text.len())]);
    assert!(set["parallelogram"]["country-capital"]["after"]["median_cosine"].as_f64().is_some());

    // The same words as a vocabulary (one a line) and the tasks as {"input", "output"} files, plus
    // one pair whose word is not in the vocabulary (dropped and counted).
    let set_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&words).unwrap()).unwrap();
    let tmp = std::env::temp_dir().join(format!("crystals-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let vocab: Vec<&str> = set_json["words"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    std::fs::write(tmp.join("words.txt"), vocab.join("\n") + "\n").unwrap();
    let mut args = vec!["analyze".to_string(), "crystals".into(), vectors.display().to_string(), "--vocab".into()];
    args.push(tmp.join("words.txt").display().to_string());
    for task in set_json["tasks"].as_array().unwrap() {
        let mut pairs: Vec<serde_json::Value> = task["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| serde_json::json!({"input": vocab[p[0].as_u64().unwrap() as usize], "output": vocab[p[1].as_u64().unwrap() as usize]}))
            .collect();
        pairs.push(serde_json::json!({"input": "qwxzv", "output": "Vienna"}));
        let path = tmp.join(format!("{}.json", task["name"].as_str().unwrap()));
        std::fs::write(&path, serde_json::to_string(&pairs).unwrap()).unwrap();
        args.push(path.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plain = json(&args);
    assert_eq!(plain["silhouette_raw"], set["silhouette_raw"]);
    assert_eq!(plain["silhouette_lda"], set["silhouette_lda"]);
    assert_eq!(plain["parallelogram"], set["parallelogram"]);
    let first = &plain["tasks"][0];
    assert_eq!((first["pairs_used"].as_u64(), first["pairs_dropped"].as_u64()), (Some(100), Some(1)));

    // Errors a user can act on.
    let short = tmp.join("short.txt");
    std::fs::write(&short, "a\nb\n").unwrap();
    let out = sae_geometry(&["analyze", "crystals", vectors.to_str().unwrap(), "--vocab", short.to_str().unwrap(), args[5]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 words (lines) for"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = sae_geometry(&["analyze", "crystals", "public/data/manifest.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--layer"));
    let out = sae_geometry(&["analyze", "crystals", vectors.to_str().unwrap(), "--words", words.to_str().unwrap(), "--shrinkage", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let out = sae_geometry(&["analyze", "crystals", vectors.to_str().unwrap(), "--words", words.to_str().unwrap(), "--max-components", "40"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 1 and 11"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn crystal_search_lists_clusters_and_refuses_bad_subsets() {
    let decoder = "public/data/minilm-l6-topk4096-layer3.safetensors";
    let r = json(&["analyze", "crystal-search", decoder, "--features", "0..120", "--k", "60", "--top", "5"]);
    assert_eq!(r["m"], 120);
    assert_eq!(r["pairs"].as_u64().unwrap() + r["skipped_pairs"].as_u64().unwrap(), 120 * 119 / 2);
    let clusters = r["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty() && clusters.len() <= 5);
    let medians: Vec<f64> = clusters.iter().map(|c| c["median_relative_error"].as_f64().unwrap()).collect();
    assert!(medians.windows(2).all(|w| w[0] <= w[1]), "clusters are listed best first: {medians:?}");
    let by_norm = json(&["analyze", "crystal-search", decoder, "--features", "norm:40", "--k", "20"]);
    assert_eq!(by_norm["m"], 40);
    for bad in [["--features", "5..5"], ["--features", "0,1,1,2"], ["--features", "0..5000"], ["--features", "norm:x"]] {
        let out = sae_geometry(&["analyze", "crystal-search", decoder, bad[0], bad[1]]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty());
    }
}

/// `bench paper` refuses an unknown workload or runner before writing or running anything, naming
/// the ones it has.
#[test]
fn bench_paper_names_its_workloads_and_runners() {
    let dir = std::env::temp_dir().join("sae-geometry-bench-paper-refusal");
    let d = dir.display().to_string();
    let out = sae_geometry(&["bench", "paper", "--workloads", "galaxy-16k,nope", "--dir", &d]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"nope\"") && err.contains("galaxy-16k, galaxy-65k, lobes-20k, lobes-200k, crystals"), "{err}");
    let out = sae_geometry(&["bench", "paper", "--runners", "native,gpu", "--dir", &d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("python, native, browser"));
    assert!(!dir.exists(), "nothing written before the arguments are checked");
}

/// Issue 10, determinism: each analysis run twice on the same inputs with the same seed prints
/// byte-identical JSON (galaxy with the clustering entropy, lobes with nulls, crystals with
/// sampled silhouettes, crystal search, t-SNE); a different seed changes what it draws.
#[test]
fn every_analysis_prints_identical_json_for_the_same_inputs_and_seed() {
    let data = root().join("public/data");
    let decoder = data.join("minilm-l6-topk4096-layer3.safetensors");
    let bundle = data.join("minilm-l6-topk4096-layer3-cooccurrence.safetensors");
    let crystals = root().join("tests/golden/crystals");
    let (vectors, words) = (crystals.join("minilm-l0-subset.npy"), crystals.join("minilm-l0-subset-words.json"));
    let (d, b, v, w) = (decoder.to_str().unwrap(), bundle.to_str().unwrap(), vectors.to_str().unwrap(), words.to_str().unwrap());
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("galaxy", vec!["analyze", "galaxy", d, "--seed", "SEED", "--entropy-samples", "1000", "--entropy-bootstrap", "3"]),
        ("lobes", vec!["analyze", "lobes", d, b, "--k", "3", "--null-trials", "2", "--seed", "SEED"]),
        ("crystals", vec!["analyze", "crystals", v, "--words", w, "--silhouette-sample", "300", "--seed", "SEED"]),
        ("crystal search", vec!["analyze", "crystal-search", d, "--features", "0..60", "--k", "30", "--seed", "SEED"]),
    ];
    for (what, args) in runs {
        let with_seed = |seed: &str| -> Vec<u8> {
            let args: Vec<&str> = args.iter().map(|a| if *a == "SEED" { seed } else { a }).collect();
            let out = sae_geometry(&args);
            assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        };
        let (first, again, other) = (with_seed("5"), with_seed("5"), with_seed("6"));
        assert!(first == again, "{what}: the same inputs and seed give byte-identical JSON");
        assert!(first != other, "{what}: another seed draws differently");
    }
}
