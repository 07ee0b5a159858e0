//! Golden tests of the clustering entropy and its PCA against numpy / scipy / scikit-learn
//! (tests/golden/make_entropy_golden.py), on 1200 real rows of the bundled layer-3 MiniLM decoder,
//! with numpy's sample and resample indices (so the RNGs need not agree).
//!
//! Tolerances (relative):
//! - PCA: explained variance 1e-9; components, up to sign, 1e-7 absolute per entry (unit
//!   vectors); the sign itself must be sklearn's (`svd_flip`); scaler mean and scale 1e-12;
//!   scores 1e-9 of the largest score.
//! - entropy: every term (per resample `H_G`, `H_knn`, `mean ln(rho + 0.01)`, `sum ln lambda`, and
//!   `gaussian`, `knn_mean`, `clustering`, `ci95`, `per_bootstrap`) 1e-3, the floor; the
//!   observed errors are printed (`--nocapture`) and must also stay below 1e-8, far inside it.
//!
//! `cargo test --release --test golden_entropy -- --ignored --nocapture bench` times the defaults
//! on the whole bundled layer-3 decoder and a PCA at d = 2304.

use std::path::PathBuf;
use std::time::Instant;

use sae_geometry::geometry::entropy::{clustering_entropy, clustering_entropy_with_indices, EntropyParams};
use sae_geometry::geometry::pca::{pca, pca_standardized, Pca};
use sae_geometry::geometry::stats::seeded_rng;
use sae_geometry::Matrix;
use serde_json::Value;

/// The floor for every entropy term.
const FLOOR: f64 = 1e-3;
/// What the implementation actually achieves (rounding only), checked to catch regressions.
const ACHIEVED: f64 = 1e-8;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(golden_dir().join("entropy_golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn read_matrix(name: &str) -> Matrix {
    let bytes = std::fs::read(golden_dir().join(name)).unwrap();
    sae_geometry::formats::read_matrix(&bytes, name, None)
        .unwrap()
        .matrix
}

fn read_f64(name: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(golden_dir().join(name)).unwrap();
    let a = sae_geometry::formats::npy::read(&bytes).unwrap();
    (a.shape.clone(), a.to_f64_vec())
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(f64::MIN_POSITIVE)
}

/// The sampled rows as their own matrix.
fn sampled(m: &Matrix, sample: &[usize]) -> Matrix {
    let data = sample.iter().flat_map(|&r| m.row(r).to_vec()).collect();
    Matrix::new(sample.len(), m.cols(), data).unwrap()
}

fn check_pca(what: &str, p: &Pca, want_ev: &[f64], comps_file: &str) {
    let (shape, comps) = read_f64(comps_file);
    let (k, d) = (shape[0], shape[1]);
    assert_eq!((p.components.len(), p.mean.len()), (k, d), "{what}");
    let mut worst_ev = 0f64;
    for (g, w) in p.explained_variance.iter().zip(want_ev) {
        worst_ev = worst_ev.max(rel(*g, *w));
    }
    let (mut worst_c, mut flips) = (0f64, 0);
    for j in 0..k {
        let want = &comps[j * d..(j + 1) * d];
        let got = &p.components[j];
        let dot: f64 = got.iter().zip(want).map(|(a, b)| a * b).sum();
        if dot < 0.0 {
            flips += 1;
        }
        let s = dot.signum();
        for (a, b) in got.iter().zip(want) {
            worst_c = worst_c.max((a - s * b).abs());
        }
    }
    eprintln!("{what}: explained variance worst relative error {worst_ev:e}, components worst {worst_c:e}");
    assert!(worst_ev < 1e-9, "{what}: explained variance {worst_ev:e}");
    assert!(worst_c < 1e-7, "{what}: components {worst_c:e}");
    assert_eq!(flips, 0, "{what}: sklearn's svd_flip signs");
}

#[test]
fn pca_matches_sklearn() {
    let g = golden();
    let m = read_matrix(g["input"].as_str().unwrap());
    assert_eq!((m.rows(), m.cols()), (1200, 384));
    let sub = sampled(&m, &indices(&g["sample"]));
    let pcs = g["pcs"].as_u64().unwrap() as usize;

    let scaled = pca_standardized(&sub, pcs, &mut |_| {}).unwrap();
    let gs = &g["pca_scaled"];
    check_pca(
        "z-scored PCA",
        &scaled,
        &floats(&gs["explained_variance"]),
        gs["components"].as_str().unwrap(),
    );
    let scale = scaled.scale.as_ref().unwrap();
    for (a, b) in scaled.mean.iter().zip(floats(&gs["scaler_mean"])) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "mean {a} {b}");
    }
    for (a, b) in scale.iter().zip(floats(&gs["scaler_scale"])) {
        assert!(rel(*a, b) < 1e-12, "scale {a} {b}");
    }
    let scores = scaled.transform(&sub).unwrap();
    let head: Vec<Vec<f64>> = gs["scores_head"].as_array().unwrap().iter().map(floats).collect();
    let top = head.iter().flatten().fold(0f64, |a, v| a.max(v.abs()));
    let mut worst = 0f64;
    for (i, row) in head.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            worst = worst.max((scores[i * pcs + j] - w).abs() / top);
        }
    }
    eprintln!("z-scored PCA: scores worst error {worst:e} of the largest");
    assert!(worst < 1e-9);

    let plain = pca(&sub, pcs, &mut |_| {}).unwrap();
    let gp = &g["pca_plain"];
    check_pca(
        "plain PCA",
        &plain,
        &floats(&gp["explained_variance"]),
        gp["components"].as_str().unwrap(),
    );
    assert!(plain.scale.is_none());
    for (a, b) in plain.mean.iter().zip(floats(&gp["mean"])) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3));
    }
}

#[test]
fn entropy_terms_match_numpy() {
    let g = golden();
    let m = read_matrix(g["input"].as_str().unwrap());
    let sample = indices(&g["sample"]);
    let boots: Vec<Vec<usize>> = g["bootstraps"].as_array().unwrap().iter().map(indices).collect();
    for case in g["entropy"].as_array().unwrap() {
        let k = case["k"].as_u64().unwrap() as usize;
        let params = EntropyParams {
            pcs: g["pcs"].as_u64().unwrap() as usize,
            k,
            offset: g["offset"].as_f64().unwrap(),
            ..Default::default()
        };
        let detail = clustering_entropy_with_indices(&m, &sample, &boots, &params, &mut |_| {}).unwrap();
        let e = &detail.entropy;
        assert_eq!((e.samples, e.pcs, e.bootstrap, e.k), (1000, 50, 5, k));
        let mut worst = 0f64;
        let mut check = |what: String, got: f64, want: f64| {
            let r = rel(got, want);
            assert!(
                r < FLOOR,
                "k = {k} {what}: got {got}, want {want} (relative {r:e})"
            );
            worst = worst.max(r);
        };
        for (b, (t, w)) in detail
            .terms
            .iter()
            .zip(case["terms"].as_array().unwrap())
            .enumerate()
        {
            check(format!("H_G[{b}]"), t.gaussian, w["gaussian"].as_f64().unwrap());
            check(format!("H_knn[{b}]"), t.knn, w["knn"].as_f64().unwrap());
            check(
                format!("mean ln(rho)[{b}]"),
                t.mean_log_rho,
                w["mean_log_rho"].as_f64().unwrap(),
            );
            check(
                format!("sum ln(lambda)[{b}]"),
                t.sum_log_lambda,
                w["sum_log_lambda"].as_f64().unwrap(),
            );
        }
        for (b, (got, want)) in e
            .per_bootstrap
            .iter()
            .zip(floats(&case["per_bootstrap"]))
            .enumerate()
        {
            check(format!("per_bootstrap[{b}]"), *got, want);
        }
        check("gaussian".into(), e.gaussian, case["gaussian"].as_f64().unwrap());
        check("knn_mean".into(), e.knn_mean, case["knn_mean"].as_f64().unwrap());
        check(
            "clustering".into(),
            e.clustering,
            case["clustering"].as_f64().unwrap(),
        );
        let ci = floats(&case["ci95"]);
        check("ci95[0]".into(), e.ci95[0], ci[0]);
        check("ci95[1]".into(), e.ci95[1], ci[1]);
        eprintln!(
            "k = {k}: clustering {:.6} (numpy {:.6}), worst relative error over all terms {worst:e}",
            e.clustering,
            case["clustering"].as_f64().unwrap()
        );
        assert!(worst < ACHIEVED, "k = {k}: {worst:e}");
    }
}

/// Gaussian rows, or tight clusters around random centres (same n, d).
fn cloud(n: usize, d: usize, clusters: Option<usize>, seed: u64) -> Matrix {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = seed_rng(seed);
    let centres: Vec<f64> = (0..clusters.unwrap_or(0) * d)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z
        })
        .collect();
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            let z: f64 = StandardNormal.sample(&mut rng);
            let v = match clusters {
                Some(c) => centres[(i % c) * d + j] + 0.01 * z,
                None => z * (1.0 + j as f64 / d as f64),
            };
            data.push(v as f32);
        }
    }
    Matrix::new(n, d, data).unwrap()
}

fn seed_rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    seeded_rng(seed)
}

#[test]
fn a_gaussian_cloud_is_far_less_clustered_than_a_mixture() {
    let params = EntropyParams {
        samples: 1500,
        pcs: 30,
        bootstrap: 8,
        ..Default::default()
    };
    let gauss = clustering_entropy(&cloud(2000, 48, None, 1), &params, &mut |_| {}).unwrap();
    let mixed = clustering_entropy(&cloud(2000, 48, Some(40), 2), &params, &mut |_| {}).unwrap();
    eprintln!(
        "Gaussian: {:.2} [{:.2}, {:.2}]; 40-cluster mixture: {:.2} [{:.2}, {:.2}]",
        gauss.clustering, gauss.ci95[0], gauss.ci95[1], mixed.clustering, mixed.ci95[0], mixed.ci95[1]
    );
    // (The paper's estimator is not zero on a Gaussian: 63% of a resample's points have a copy at
    // distance 0, whose ln(0 + 0.01) is far below a Gaussian's typical ln(rho). What matters is the
    // gap: here about 50 nats at d = 30.)
    assert!(mixed.ci95[0] > gauss.ci95[1] + 20.0);
    assert!(mixed.clustering > gauss.clustering + 40.0);
}

#[test]
#[ignore]
fn bench_entropy_defaults_on_the_layer3_decoder_and_pca_at_2304() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("public/data/minilm-l6-topk4096-layer3.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let m = sae_geometry::formats::read_matrix(&bytes, "layer3.safetensors", None)
        .unwrap()
        .matrix;
    let runs = 3;
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..runs {
        let t = Instant::now();
        let e = clustering_entropy(&m, &EntropyParams::default(), &mut |_| {}).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        result = Some(e);
    }
    let e = result.unwrap();
    eprintln!(
        "entropy, defaults, {} x {}: {best:.3} s (best of {runs}); clustering {:.3} [{:.3}, {:.3}], samples {}",
        m.rows(),
        m.cols(),
        e.clustering,
        e.ci95[0],
        e.ci95[1],
        e.samples
    );
    // PCA to 100 of 5000 rows in 2304 dimensions (a Gemma-sized sample).
    let big = cloud(5000, 2304, None, 3);
    let t = Instant::now();
    let p = pca_standardized(&big, 100, &mut |_| {}).unwrap();
    eprintln!(
        "z-scored PCA, 5000 x 2304 -> 100: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(p.components.len(), 100);
}
