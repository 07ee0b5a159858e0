//! Golden tests of the adjusted mutual information (src/geometry/ami.rs) and of the logistic
//! regression with its balanced accuracy (src/geometry/logistic.rs) against scikit-learn 1.9.1
//! (tests/golden/make_agreement_golden.py), on 1200 real rows of the bundled layer-3 MiniLM
//! decoder and KMeans / quantile / unbalanced labelings of them (tests/golden/agreement/).
//!
//! Tolerances:
//! - AMI, MI, EMI and both entropies: 1e-9 absolute for every pair (the observed errors are
//!   printed with `--nocapture`; they are rounding only, ~1e-15).
//! - logistic regression (fitted on the first 960 rows with the default `LogisticParams`, i.e.
//!   sklearn's `LogisticRegression(max_iter=1000)` with a tighter gradient tolerance):
//!   balanced accuracy on the last 240 rows within 0.01 of sklearn's; our objective at our
//!   solution <= sklearn's objective at its solution * (1 + 1e-6); predicted test labels equal
//!   to sklearn's on >= 99% of the rows; and our objective function evaluated at sklearn's
//!   coef_ / intercept_ equal to sklearn's value to 1e-12 relative (same objective).
//! - what is actually achieved, checked to catch regressions: the optimiser follows scipy's
//!   L-BFGS-B path, so the iteration count equals sklearn's `n_iter_`, every coefficient and
//!   intercept is within 1e-8 of sklearn's (observed ~1e-13), and the test predictions and
//!   balanced accuracy are sklearn's (the latter to 1e-12, summation order).
//!
//! `cargo test --release --test golden_agreement -- --ignored --nocapture bench` times a fit on
//! 3277 x 384 with 8 classes.

use std::path::PathBuf;

use sae_geometry::geometry::ami::{
    adjusted_mutual_info_score, entropy, expected_mutual_info, mutual_info_score, AmiNull,
};
use sae_geometry::geometry::logistic::{
    balanced_accuracy, fit_logistic, LogisticModel, LogisticParams, StopReason,
};
use serde_json::Value;

const AMI_TOL: f64 = 1e-9;
const BALANCED_ACCURACY_TOL: f64 = 0.01;
const OBJECTIVE_REL_TOL: f64 = 1e-6;
const MIN_PREDICTION_AGREEMENT: f64 = 0.99;
/// Achieved: largest absolute difference of a coefficient or intercept from sklearn's.
const ACHIEVED_COEF: f64 = 1e-8;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join("agreement")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(golden_dir().join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A little-endian C-order `.npy` array: its shape and raw data bytes, checked to have `descr`.
fn read_npy(name: &str, descr: &str) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(golden_dir().join(name)).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an .npy file");
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(
        header.contains(&format!("'descr': '{descr}'")),
        "{name}: {header}"
    );
    assert!(header.contains("'fortran_order': False"), "{name}: {header}");
    let open = header.find("'shape': (").unwrap() + "'shape': (".len();
    let close = open + header[open..].find(')').unwrap();
    let shape: Vec<usize> = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let data = bytes[start + header_len..].to_vec();
    assert_eq!(data.len(), shape.iter().product::<usize>() * 4, "{name}");
    (shape, data)
}

fn read_u32(name: &str) -> Vec<u32> {
    let (_, data) = read_npy(name, "<u4");
    data.chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `x.npy` (f32) as f64, with its row and column counts.
fn read_x() -> (Vec<f64>, usize, usize) {
    let (shape, data) = read_npy("x.npy", "<f4");
    let x = data
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    (x, shape[0], shape[1])
}

fn labels(name: &str) -> Vec<u32> {
    read_u32(&format!("labels_{name}.npy"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap()
}

#[test]
fn ami_mi_entropy_match_sklearn() {
    let g = golden();
    let mut worst = 0.0f64;
    for case in g["ami"].as_array().unwrap() {
        let (name_t, name_p) = (
            case["labels_true"].as_str().unwrap(),
            case["labels_pred"].as_str().unwrap(),
        );
        let (t, p) = (labels(name_t), labels(name_p));
        let checks = [
            ("ami", adjusted_mutual_info_score(&t, &p).unwrap()),
            ("mi", mutual_info_score(&t, &p).unwrap()),
            ("emi", expected_mutual_info(&t, &p).unwrap()),
            ("entropy_true", entropy(&t).unwrap()),
            ("entropy_pred", entropy(&p).unwrap()),
            ("ami", AmiNull::new(&t, &p).unwrap().observed()),
        ];
        for (key, ours) in checks {
            let err = (ours - f(case, key)).abs();
            worst = worst.max(err);
            assert!(
                err <= AMI_TOL,
                "{name_t} vs {name_p}: {key} = {ours}, sklearn {} (error {err:e})",
                f(case, key)
            );
        }
    }
    println!("AMI / MI / EMI / entropy: largest absolute error {worst:e}");
}

/// sklearn's coef_ and intercept_ as one of our models (to evaluate our objective there).
fn sklearn_model(case: &Value, d: usize) -> LogisticModel {
    let coef: Vec<f64> = case["coef"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let intercepts: Vec<f64> = case["intercept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let classes = case["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    LogisticModel {
        classes,
        n_features: d,
        weights: coef,
        intercepts,
        iterations: 0,
        evaluations: 0,
        converged: true,
        stop_reason: StopReason::GradientTolerance,
        objective: f64::NAN,
        gradient_max_abs: f64::NAN,
    }
}

#[test]
fn logistic_regression_matches_sklearn() {
    let g = golden();
    let (x, n, d) = read_x();
    for case in g["logistic"].as_array().unwrap() {
        let name = case["labels"].as_str().unwrap();
        let y = labels(name);
        assert_eq!(y.len(), n);
        let train = case["train_rows"].as_u64().unwrap() as usize;
        let (x_train, x_test) = x.split_at(train * d);
        let (y_train, y_test) = y.split_at(train);
        let model = fit_logistic(x_train, train, d, y_train, &LogisticParams::default()).unwrap();
        assert!(model.converged, "{name}: {:?}", model.stop_reason);

        let reference = sklearn_model(case, d);
        assert_eq!(model.classes, reference.classes, "{name}: classes_");
        let sk_objective = f(case, "objective");
        let ours_at_sklearn = reference.objective(x_train, train, y_train, 1.0).unwrap();
        assert!(
            (ours_at_sklearn - sk_objective).abs() <= 1e-12 * sk_objective.abs(),
            "{name}: our objective at sklearn's solution {ours_at_sklearn} vs sklearn {sk_objective}"
        );
        assert!(
            model.objective <= sk_objective * (1.0 + OBJECTIVE_REL_TOL),
            "{name}: our objective {} above sklearn's {sk_objective}",
            model.objective
        );

        let predicted = model.predict(x_test, n - train).unwrap();
        let sk_predicted: Vec<u32> = case["predicted_test"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let agree = predicted
            .iter()
            .zip(&sk_predicted)
            .filter(|(a, b)| a == b)
            .count() as f64
            / predicted.len() as f64;
        assert!(
            agree >= MIN_PREDICTION_AGREEMENT,
            "{name}: predictions agree on {agree}"
        );
        let bacc = balanced_accuracy(y_test, &predicted).unwrap();
        let sk_bacc = f(case, "balanced_accuracy_test");
        assert!(
            (bacc - sk_bacc).abs() <= BALANCED_ACCURACY_TOL,
            "{name}: balanced accuracy {bacc} vs sklearn {sk_bacc}"
        );
        // Our balanced accuracy of sklearn's own predictions is sklearn's number exactly.
        let bacc_of_sklearn = balanced_accuracy(y_test, &sk_predicted).unwrap();
        assert!((bacc_of_sklearn - sk_bacc).abs() <= 1e-15);

        let coef_diff = max_abs_diff(&model.weights, &reference.weights)
            .max(max_abs_diff(&model.intercepts, &reference.intercepts));
        let coef_scale = reference.weights.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            coef_diff <= ACHIEVED_COEF,
            "{name}: coefficients differ from sklearn's by {coef_diff:e}"
        );
        assert_eq!(
            model.iterations as u64,
            case["n_iter"].as_u64().unwrap(),
            "{name}: iterations"
        );
        assert_eq!(predicted, sk_predicted, "{name}: predicted test labels");
        assert!(
            (bacc - sk_bacc).abs() <= 1e-12,
            "{name}: balanced accuracy {bacc} vs {sk_bacc}"
        );
        println!(
            "{name}: iterations {} (sklearn {}), objective {:.15} (sklearn {sk_objective:.15}, \
             difference {:e}), max |coef - sklearn| {coef_diff:e} (max |coef| {coef_scale:.3}), \
             predictions agree {agree}, balanced accuracy {bacc} (sklearn {sk_bacc})",
            model.iterations,
            case["n_iter"],
            model.objective,
            model.objective - sk_objective,
        );
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// xorshift64* uniform in [0, 1), so that the timing needs no RNG crate.
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
#[ignore]
fn bench_logistic_3277x384_k8() {
    let (n, d, k) = (3277usize, 384usize, 8u32);
    let mut rng = Uniform(0x9E37_79B9_7F4A_7C15);
    // Class means on the unit-ish scale of a decoder row plus noise, 8 classes.
    let means: Vec<f64> = (0..k as usize * d).map(|_| rng.next() - 0.5).collect();
    let y: Vec<u32> = (0..n).map(|i| i as u32 % k).collect();
    let mut x = Vec::with_capacity(n * d);
    for &c in &y {
        for j in 0..d {
            x.push(0.15 * means[c as usize * d + j] + (rng.next() - 0.5));
        }
    }
    for (label, tol) in [("tol 1e-4 (default = sklearn)", 1e-4), ("tol 1e-8", 1e-8)] {
        let params = LogisticParams {
            tol,
            ..LogisticParams::default()
        };
        let start = std::time::Instant::now();
        let model = fit_logistic(&x, n, d, &y, &params).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{n} x {d}, {k} classes, {label}: {seconds:.3} s, {} iterations, {} evaluations, \
             {:?}",
            model.iterations, model.evaluations, model.stop_reason
        );
    }
}
